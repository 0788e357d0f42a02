#!/usr/bin/env bash
# Server memory with many distinct endorsement keys (issue #9: "server RSS below 64 MiB with
# 10,000 distinct cached endorsement keys and 1,000 concurrent streams"). Figures only.
#
#   bench/bench_memory.sh [--build DIR] [--keys N] [--json FILE]
#
# mkpki --many writes N /v1/attest bodies from N test-PKI chips (each its own VCEK, the test ARK
# given to the server with --extra-roots); every one is appraised once (warming the parsed-
# certificate cache and the certificate cache with N VCEKs), then h2load holds 16 x 64 = 1,024
# streams in flight on one of them. Prints the server's RSS after the keys and its peak (VmHWM).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
keys=10000
json=
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench_memory.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
py=/usr/bin/python3
build=$(cd "$build" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/verdict-bench.XXXXXX")
. "$here/bench_lib.sh"
trap bench_cleanup EXIT

echo "bench_memory: $keys chips from the test PKI (mkpki --many)..." >&2
"$build/tests/mkpki" --many "$tmp" "$keys"
bench_serve "$tmp/srv" --offline --extra-roots "$tmp/ark.pem"
kib() { awk -v k="$1" '$1 == k ":" {print $2}' "/proc/$srv_pid/status"; }
rss_start=$(kib VmRSS)

echo "bench_memory: appraising each once..." >&2
# Four HTTP/1.1 keep-alive clients share the bodies; every answer must be 200 and affirming.
"$py" - "$addr" "$tmp/bodies.jsonl" >"$tmp/warm.json" <<'EOF'
import http.client, json, sys, threading
addr, path = sys.argv[1], sys.argv[2]
bodies = open(path).read().splitlines()
host, port = addr.rsplit(":", 1)
counts = {}
lock = threading.Lock()
def run(part):
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    for b in part:
        c.request("POST", "/v1/attest", b, {"content-type": "application/json"})
        r = c.getresponse()
        status = json.loads(r.read()).get("status") if r.status == 200 else "http %d" % r.status
        with lock:
            counts[status] = counts.get(status, 0) + 1
threads = [threading.Thread(target=run, args=(bodies[i::4],)) for i in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(counts))
EOF
rss_keys=$(kib VmRSS)
head -n 1 "$tmp/bodies.jsonl" >"$tmp/one.json"
h2load -n 8000 -c 16 -m 64 -d "$tmp/one.json" -H 'content-type: application/json' \
    "http://$addr/v1/attest" >"$tmp/h2.out" 2>&1 || true
rss_after=$(kib VmRSS)
hwm=$(kib VmHWM)
h2=$(awk '/^requests:/{print $8 " of " $2 " succeeded"}' "$tmp/h2.out")
answers=$(cat "$tmp/warm.json")
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }
echo "server RSS: $(mib "$rss_start") MiB at start, $(mib "$rss_keys") MiB after $keys distinct keys" \
    "$answers, $(mib "$rss_after") MiB after 1,024 streams in flight (h2load 16x64: $h2); peak" \
    "$(mib "$hwm") MiB"
if [ -n "$json" ]; then
    "$py" -c 'import json,sys; a=sys.argv; json.dump({"keys": int(a[1]), "answers": json.loads(a[2]), "rss_start_kib": int(a[3]), "rss_after_keys_kib": int(a[4]), "rss_after_streams_kib": int(a[5]), "peak_rss_kib": int(a[6])}, open(a[7], "w"))' \
        "$keys" "$answers" "$rss_start" "$rss_keys" "$rss_after" "$hwm" "$json"
fi
