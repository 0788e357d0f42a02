#!/usr/bin/env bash
# Transport ceiling of vd_server (no appraisal): h2load against tests/support/echo_server on
# loopback, h2c at several connections x streams, HTTP/1.1 and TLS (h2). Prints one line per
# run: requests/s, failures, mean and max latency, and the server's peak RSS. Figures only;
# nothing is asserted. Usage: bench/bench_server.sh BUILD_DIR [REQUESTS]
set -euo pipefail
build=${1:?usage: bench_server.sh BUILD_DIR [REQUESTS]}
n=${2:-50000}
bin=$build/tests/echo_server
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
head -c 6000 /dev/urandom | base64 -w0 >"$tmp/body" # about the size of a report with certs

serve() {
    "$bin" --listen 127.0.0.1:0 --queue 4096 --log /dev/null "$@" >"$tmp/out" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do
        addr=$(awk '/^listening /{print $2; exit}' "$tmp/out")
        [ -n "$addr" ] && return 0
        sleep 0.05
    done
    echo "echo_server did not start" >&2
    exit 1
}
run() { # run LABEL H2LOAD-ARGS...
    label=$1
    shift
    out=$(h2load -n "$n" -d "$tmp/body" "$@" 2>&1)
    rps=$(echo "$out" | awk '/^finished in/{print $4}')
    fails=$(echo "$out" | awk '/^requests:/{print $10}')
    lat=$(echo "$out" | awk '/^time for request:/{print $6 " mean, " $5 " max"}')
    rss=$(awk '/VmHWM/{print $2 " kB"}' "/proc/$pid/status")
    printf '%-28s %10s req/s  %s failed  %s  peak RSS %s\n' "$label" "$rps" "$fails" "$lat" "$rss"
}

serve
for cm in "1 1" "4 10" "10 100"; do
    set -- $cm
    run "h2c ${1}x$2" -c "$1" -m "$2" "http://$addr/echo"
done
run "http/1.1 10 connections" --h1 -c 10 "http://$addr/echo"
kill "$pid"
wait "$pid" 2>/dev/null || true
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench \
    -keyout "$tmp/k" -out "$tmp/c" 2>/dev/null
serve --tls-cert "$tmp/c" --tls-key "$tmp/k"
run "h2 over TLS 10x100" -c 10 -m 100 "https://$addr/echo"
