#!/usr/bin/env bash
# Instructions per warm appraisal, end to end: `verdict serve` under callgrind while h2load sends
# a fixed number of warm /v1/attest requests (the body relying parties send: the Turin report and
# its three certificates, as in bench/run). Instruction counts do not depend on what else the
# machine runs, unlike requests per second: this is the figure to compare before and after a
# change to the request path (docs/performance.md). Figures only; nothing is asserted.
#
#   bench/profile_server.sh [--build DIR] [--vectors DIR] [-n REQUESTS] [-c CONNS] [-m STREAMS]
#                           [--out FILE.callgrind] [-- SERVE-ARGS...]
#
# Prints the instructions (Ir) of the whole server process (all threads: network, workers, audit
# writer) per request, and the top functions inclusive/exclusive (callgrind_annotate). The
# server is started with instrumentation off, warmed with 50 requests, then measured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
vectors=${VERDICT_VECTORS:-$root/../shared/vectors}
n=200
conns=2
streams=8
cgout=
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --vectors) vectors=$2; shift 2 ;;
    -n) n=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    -m) streams=$2; shift 2 ;;
    --out) cgout=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "profile_server.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
py=/usr/bin/python3
for need in valgrind callgrind_control callgrind_annotate h2load; do
    command -v "$need" >/dev/null || { echo "profile_server.sh: $need is missing" >&2; exit 2; }
done
build=$(cd "$build" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/verdict-bench.XXXXXX")
. "$here/bench_lib.sh"
trap bench_cleanup EXIT
[ -n "$cgout" ] || cgout=$tmp/callgrind.out

bench_bodies "$vectors"
bench_kds
serve_wrap=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$cgout")
bench_serve "$tmp/srv" --kds-url "$kds_url" "$@"
vg=$(pgrep -P "$srv_pid" -f callgrind || echo "$srv_pid")
h2() { h2load -d "$tmp/warm.json" -H 'content-type: application/json' "$@" "http://$addr/v1/attest"; }
callgrind_control -i on "$vg" >/dev/null 2>&1
h2 -n 50 -c "$conns" -m "$streams" >"$tmp/warm.out" 2>&1
callgrind_control -z "$vg" >/dev/null 2>&1
h2 -n "$n" -c "$conns" -m "$streams" >"$tmp/h2.out" 2>&1
callgrind_control -d "$vg" >/dev/null 2>&1
callgrind_control -i off "$vg" >/dev/null 2>&1
ok=$(awk '/^requests:/{print $8}' "$tmp/h2.out")
[ "$ok" = "$n" ] || { echo "profile_server.sh: $ok of $n succeeded" >&2; cat "$tmp/h2.out" >&2; }
# The dump is written next to the requested file, with the suffix .1.
dump=$cgout.1
total=$(awk '/^summary:/{print $2}' "$dump")
echo "requests $n (h2c ${conns}x$streams), server instructions $total, per request $((total / n))"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n 1,45p
callgrind_annotate "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n 1,30p
