# Shared by bench/run, bench/profile_server.sh and bench/bench_memory.sh (sourced; the caller
# sets `build`, `tmp` and `py`):
#   bench_bodies VECTORS          $tmp/warm.json (the Turin report with its three certificates,
#                                 what relying parties send), $tmp/cold.json (the report alone)
#                                 and $tmp/kds/ (what the mock KDS serves for that chip)
#   bench_kds                     the mock KDS on $tmp/kds; sets kds_pid, kds_url
#   bench_serve DIR ARGS...       `verdict serve` in DIR on a free loopback port, with the
#                                 in-flight bound raised to 4096 (the highest h2load level holds
#                                 1,024 streams) and prefixed by the array serve_wrap (e.g.
#                                 valgrind); sets srv_pid, srv_dir, addr
#   bench_stop                    SIGTERM the server and wait
#   bench_cleanup                 the server, the mock KDS and $tmp (the scripts' EXIT trap)
serve_wrap=()
srv_pid=
kds_pid=

bench_bodies() {
    "$py" - "$1" "$tmp" <<'PYEOF'
import base64, json, os, sys
v, t = sys.argv[1], sys.argv[2]
rd = lambda p: open(v + "/" + p, "rb").read()
report = rd("mstav-tests/turin_attestation_report.bin")
certs = [rd(p).decode() for p in ("mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
                                  "amd-roots-mstav/turin_ark.pem")]
b64 = base64.b64encode(report).decode()
# What relying parties send (tests/api/test_clients.sh): the report and its certificates.
json.dump({"evidence": {"report": b64, "certs": certs}}, open(t + "/warm.json", "w"))
# The report alone: the service finds the chip's VCEK and chain (cache, then KDS).
json.dump({"evidence": {"report": b64}}, open(t + "/cold.json", "w"))
# The mock KDS: Turin's VCEK is keyed by CHIP_ID[0..7] (the query, the TCB, is not matched).
kds = t + "/kds"
os.makedirs(kds)
open(kds + "/vcek.pem", "w").write(certs[0])
open(kds + "/chain.pem", "w").write(certs[1] + certs[2])
hwid = report[0x1A0:0x1A8].hex()
json.dump({"/vcek/v1/Turin/" + hwid: "vcek.pem", "/vcek/v1/Turin/cert_chain": "chain.pem"},
          open(kds + "/routes.json", "w"))
PYEOF
}

bench_kds() {
    local root port=
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    "$py" "$root/tests/mock_kds/mock_kds.py" "$tmp/kds" --lifetime 1800 >"$tmp/kds.out" 2>/dev/null &
    kds_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$tmp/kds.out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "$(basename "$0"): the mock KDS did not start" >&2; exit 1; }
    kds_url=http://127.0.0.1:$port
}

bench_serve() {
    local dir=$1
    shift
    mkdir -p "$dir"
    : >"$dir/stdout" # read below before the server's shell may have opened it (pipefail)
    (cd "$dir" && VERDICT_QUEUE=4096 exec "${serve_wrap[@]}" "$build/verdict" serve \
        --listen 127.0.0.1:0 --db "$dir/verdict.db" "$@" >"$dir/stdout" 2>"$dir/stderr") &
    srv_pid=$!
    srv_dir=$dir
    addr=
    for _ in $(seq 600); do # a minute: under valgrind the start is slow
        addr=$(sed -n 's|.*listening on https\{0,1\}://\([^ ]*\).*|\1|p' "$dir/stdout" | head -n 1)
        [ -n "$addr" ] && return 0
        sleep 0.1
    done
    echo "$(basename "$0"): the server did not start" >&2
    cat "$dir/stderr" >&2
    exit 1
}

bench_stop() {
    if [ -n "$srv_pid" ]; then
        kill -TERM "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
        srv_pid=
    fi
}

bench_cleanup() {
    bench_stop
    if [ -n "$kds_pid" ]; then
        kill "$kds_pid" 2>/dev/null || true
        wait "$kds_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
