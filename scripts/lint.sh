#!/usr/bin/env bash
# Static analysis, as CI runs it (scripts/test.sh calls this after the format check):
# clang-tidy 14 with the checks of .clang-tidy (bugprone, cert, clang-analyzer, concurrency)
# and cppcheck 2.10, over the project's C (verifier, certcache, policies, bench; not the tests
# nor the fuzz corpora). Both must be clean: any finding fails the script. A finding that is a
# true false positive gets a NOLINT(check) or cppcheck-suppress comment with its reason.
# Needs clang-tidy and cppcheck (scripts/deps.sh). Usage: scripts/lint.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-lint}
jobs=${VD_LINT_JOBS:-2}
sources='^(verifier|certcache|policies|bench)/.*\.c$'

# compile_commands.json from a configure of its own (clang, so the flags are the analyzer's).
cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
mapfile -t files < <(git ls-files '*.c' | grep -E "$sources")

echo "== clang-tidy (${#files[@]} files, -j$jobs)"
status=0
printf '%s\n' "${files[@]}" |
    xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet --use-color=false \
        2>/dev/null >"$build/clang-tidy.log" || status=1
# clang-tidy prints "N warnings generated" for system headers on stderr; the findings (errors,
# as .clang-tidy makes every warning one) are on stdout.
if [ "$status" -ne 0 ] || grep -q ': error: ' "$build/clang-tidy.log"; then
    grep -A3 ': error: ' "$build/clang-tidy.log" || cat "$build/clang-tidy.log"
    echo "clang-tidy: findings above"
    exit 1
fi

echo "== cppcheck"
# --library=posix and the project's include directory; missing system headers are not ours
# to analyse (missingIncludeSystem); readdirCalled asks for readdir_r, which glibc deprecates
# (readdir is safe on a stream no other thread uses); memleak in bench/, whose setup failures
# return from main without freeing (as bench/.clang-tidy). Inline suppressions carry reasons.
cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
    --std=c11 --library=posix --inline-suppr -j "$jobs" -D_DEFAULT_SOURCE -D__GNUC__ \
    --suppress=missingIncludeSystem --suppress=readdirCalled \
    "--suppress=memleak:bench/*" -I include \
    "${files[@]}"
echo "lint: clean"
