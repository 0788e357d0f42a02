# Shared helpers for the end-to-end CLI tests (sourced, POSIX sh). The sourcing script sets
# `bin` (the verdict binary) first. Provides a scratch directory $tmp (removed on exit), pass
# and fail counters, and:
#   need_vectors DIR             $vec = DIR (or $VERDICT_VECTORS); skip (77) if absent, fail in CI
#   expect CODE DESC -- ARGS...  run "$bin" ARGS, compare the exit code
#   expect_cmd CODE DESC -- CMD  run any command, compare the exit code
#   output_has DESC out|err TEXT the last run's stdout or stderr holds TEXT
#   json_has DESC PY-EXPR        Python expression over the last stdout as JSON: `j` the object,
#                                `a` its "appraisal", `chk(name)` that appraisal check
#   finish                       print "N passed, M failed" and exit accordingly
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
# Never reach AMD's KDS nor leave a database behind, also when run by hand.
export VERDICT_OFFLINE="${VERDICT_OFFLINE:-1}"
export VERDICT_DB="${VERDICT_DB:-$tmp/verdict.db}"

need_vectors() {
    vec=${VERDICT_VECTORS:-$1}
    if [ ! -d "$vec" ]; then
        if [ -n "${CI:-}" ]; then
            echo "vectors missing at $vec (required in CI)"
            exit 1
        fi
        echo "vectors missing at $vec: skipping"
        exit 77
    fi
}

expect_cmd() {
    want=$1 desc=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $desc: exit $got, expected $want"
        sed 's/^/  | /' "$tmp/out" "$tmp/err" | head -30
    fi
}

expect() {
    want=$1 desc=$2
    shift 3
    expect_cmd "$want" "$desc" -- "$bin" "$@"
}

output_has() {
    if grep -qF -- "$3" "$tmp/$2"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1: $2 lacks: $3"
        sed 's/^/  | /' "$tmp/$2" | head -20
    fi
}

json_has() {
    if python3 -c "
import json, sys
j = json.load(open('$tmp/out'))
a = j.get('appraisal')
def chk(n):
    return next((c for c in a['checks'] if c['name'] == n), None)
sys.exit(0 if ($2) else 1)"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1: JSON lacks: $2"
        head -60 "$tmp/out" | sed 's/^/  | /'
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
