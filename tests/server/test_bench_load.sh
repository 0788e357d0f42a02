#!/usr/bin/env bash
# bench/bench_load.c, the paced load of bench/run, against tests/support/echo_server on
# 127.0.0.1: every request is sent and its answer counted (2xx and not), the log has a line per
# request in due order, Poisson arrivals too, a server killed mid-run gives errors and exit 1
# rather than a hang, and usage errors exit 2. Behaviour only: nothing here is timed.
# Usage: test_bench_load.sh ECHO_SERVER BENCH_LOAD
set -u
echo_bin=$1
load=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
failed=0
bad() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}
# jhas FILE PY-EXPR: the JSON object in FILE (as j) satisfies the expression.
jhas() {
    "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}
# start NAME: echo_server in the background; sets addr and pid.
start() {
    "$echo_bin" --listen 127.0.0.1:0 --log "$tmp/$1.log" >"$tmp/$1.out" 2>"$tmp/$1.err" &
    pid=$!
    pids="$pids $pid"
    addr=
    for _ in $(seq 100); do
        addr=$(awk '/^listening /{print $2; exit}' "$tmp/$1.out")
        [ -n "$addr" ] && return 0
        sleep 0.1
    done
    echo "FAIL: echo_server did not start"
    cat "$tmp/$1.err"
    exit 1
}
"$py" -c 'import json; print(json.dumps({"evidence": {"report": "x" * 9000}}))' >"$tmp/body.json"

start a
# Constant rate over 3 connections: 300 answers, 2xx, one log line each, in due order.
"$load" --url "http://$addr/echo" --body "$tmp/body.json" --rate 400 --requests 300 \
    --connections 3 --log "$tmp/uniform.log" >"$tmp/uniform.json"
rc=$?
[ $rc -eq 0 ] || bad "uniform: exit $rc"
jhas "$tmp/uniform.json" 'j["requests"] == 300 and j["succeeded"] == 300 and j["errors"] == 0 and j["non_2xx"] == 0 and j["arrivals"] == "uniform" and j["connections"] == 3 and 0 <= j["p50_ms"] <= j["p99_ms"] <= j["max_ms"]' ||
    bad "uniform: $(cat "$tmp/uniform.json")"
"$py" - "$tmp/uniform.log" <<'PY' || bad "uniform: the log"
import sys
rows = [l.split() for l in open(sys.argv[1])]
due = [int(r[0]) for r in rows]
assert len(rows) == 300, len(rows)
assert all(r[1] == "200" and int(r[2]) >= 0 for r in rows), rows[:3]
assert due == sorted(due) and due[-1] - due[0] > 0.5e6, (due[0], due[-1])  # 300 at 400/s
PY
# The server saw every request with its whole body.
n=$(grep -c '"/echo"' "$tmp/a.log")
[ "$n" -eq 300 ] || bad "uniform: the server logged $n requests, not 300"

# Poisson arrivals, one connection.
"$load" --url "http://$addr/echo" --body "$tmp/body.json" --rate 500 --requests 200 \
    --connections 1 --poisson --seed 7 >"$tmp/poisson.json" || bad "poisson: exit $?"
jhas "$tmp/poisson.json" 'j["succeeded"] == 200 and j["errors"] == 0 and j["arrivals"] == "poisson"' ||
    bad "poisson: $(cat "$tmp/poisson.json")"

# Answers that are not 2xx are answers: counted, not errors.
"$load" --url "http://$addr/auth" --body "$tmp/body.json" --rate 500 --requests 50 \
    >"$tmp/auth.json" || bad "401s: exit $?"
jhas "$tmp/auth.json" 'j["succeeded"] == 0 and j["non_2xx"] == 50 and j["errors"] == 0' ||
    bad "401s: $(cat "$tmp/auth.json")"

# The server dies mid-run: the rest are errors, exit 1, well before the timeout.
start b
"$load" --url "http://$addr/echo" --body "$tmp/body.json" --rate 200 --requests 1000 \
    --connections 2 --timeout 30 >"$tmp/killed.json" &
lpid=$!
sleep 1
kill -9 "$pid"
wait "$pid" 2>/dev/null
t0=$(date +%s)
wait "$lpid"
rc=$?
[ $rc -eq 1 ] || bad "killed server: exit $rc, not 1"
[ $(($(date +%s) - t0)) -lt 20 ] || bad "killed server: bench_load took until its timeout"
jhas "$tmp/killed.json" 'j["errors"] > 0 and j["succeeded"] + j["errors"] == 1000' ||
    bad "killed server: $(cat "$tmp/killed.json")"

# Nothing listens: every request is an error.
"$load" --url "http://$addr/echo" --body "$tmp/body.json" --rate 100 --requests 10 \
    >"$tmp/refused.json"
rc=$?
[ $rc -eq 1 ] || bad "refused: exit $rc, not 1"
jhas "$tmp/refused.json" 'j["errors"] == 10' || bad "refused: $(cat "$tmp/refused.json")"

# Usage errors.
for args in "--body $tmp/body.json --rate 10 --requests 1" \
    "--url https://$addr/ --body $tmp/body.json --rate 10 --requests 1" \
    "--url http://$addr/ --body $tmp/body.json --rate 0 --requests 1" \
    "--url http://$addr/ --body $tmp/missing --rate 10 --requests 1"; do
    # shellcheck disable=SC2086 # the arguments are meant to split
    "$load" $args >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] || bad "usage ($args): exit $rc, not 2"
done

if [ "$failed" -ne 0 ]; then
    echo "$failed failed"
    exit 1
fi
echo "bench_load: all passed"
