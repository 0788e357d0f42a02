#!/usr/bin/env bash
# The whole test suite, as CI runs it: format check, static analysis (clang-tidy, cppcheck), a
# -Werror build with every cmocka suite and the CLI end-to-end test, the same under ASan+UBSan
# (server tests included), the same under ThreadSanitizer, and a short run of every fuzzer.
# Needs the packages from scripts/deps.sh. Set VD_TEST_QUICK=1 to skip the static analysis,
# sanitizer and fuzz stages locally.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== format check (clang-format, .clang-format)"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

if [ "${VD_TEST_QUICK:-0}" != 1 ]; then
    echo "== static analysis (scripts/lint.sh: clang-tidy, cppcheck)"
    VD_LINT_JOBS="$jobs" scripts/lint.sh build-lint
fi

echo "== build and test (-Werror)"
cmake -S . -B build-test -DVD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-test -j"$jobs"
(cd build-test && ctest --output-on-failure -j"$jobs")

if [ "${VD_TEST_QUICK:-0}" = 1 ]; then
    exit 0
fi

echo "== build and test under ASan + UBSan"
cmake -S . -B build-asan -DVD_WERROR=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DVD_SANITIZE="address;undefined" >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")

# ThreadSanitizer: the whole suite again (issue #10), the server's tests among them (the real
# transport and the real `verdict serve`, their network thread, workers, audit writer and
# hand-back queue). TSan and ASan cannot share a build; OpenSSL is uninstrumented (tests/tsan.supp).
echo "== build and test under ThreadSanitizer"
cmake -S . -B build-tsan -DVD_WERROR=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DVD_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs"
(cd build-tsan && ctest --output-on-failure -j"$jobs")

if [ -f tests/fuzz/CMakeLists.txt ]; then
    echo "== fuzz smoke (libFuzzer, bounded time per target)"
    cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DVD_BUILD_FUZZERS=ON -DVD_BUILD_TESTS=OFF \
        -DVD_SANITIZE="address;undefined" -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build build-fuzz -j"$jobs"
    ctest --test-dir build-fuzz/tests/fuzz --output-on-failure
fi
