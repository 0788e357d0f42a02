#!/usr/bin/env bash
# Transport tests of vd_server (issue #8 section 2) through tests/support/echo_server, with real
# clients: curl (HTTP/1.1, --http2-prior-knowledge, TLS with ALPN h2 and http/1.1), nghttp,
# and /usr/bin/python3 with python3-h2 for raw frames (h2raw.py). Servers listen on 127.0.0.1
# port 0 (the kernel picks a free port; echo_server prints it) and are killed on exit.
# Usage: test_transport.sh ECHO_SERVER
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
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
passed=0
failed=0

for tool in curl nghttp openssl "$py"; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL: $tool is missing (scripts/deps.sh installs it)"
        exit 1
    fi
done
if ! "$py" -c 'import h2' 2>/dev/null; then
    echo "FAIL: python3-h2 is missing (scripts/deps.sh installs it)"
    exit 1
fi

ok() {
    passed=$((passed + 1))
}
bad() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}
# check DESC COMMAND...: passes when the command succeeds.
check() {
    desc=$1
    shift
    if "$@"; then
        ok
    else
        bad "$desc"
    fi
}
# jq-less JSON assertion on a file: jhas FILE PY-EXPR (j is the parsed object).
jhas() {
    "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}

# start NAME ARGS...: run echo_server in the background; sets addr_NAME and pid_NAME.
start() {
    name=$1
    shift
    : >"$tmp/$name.out"
    "$bin" --listen 127.0.0.1:0 --log "$tmp/$name.log" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    p=$!
    pids="$pids $p"
    eval "pid_$name=$p"
    for _ in $(seq 100); do
        a=$(awk '/^listening /{print $2; exit}' "$tmp/$name.out")
        if [ -n "$a" ]; then
            eval "addr_$name=$a"
            return 0
        fi
        if ! kill -0 "$p" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "FAIL: echo_server $name did not start:"
    cat "$tmp/$name.err"
    exit 1
}

# wait_for FILE TEXT: bounded wait until FILE contains TEXT.
wait_for() {
    for _ in $(seq 200); do
        if grep -q "$2" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# req NAME CURL-ARGS...: curl into $tmp/NAME.{body,hdr}; status code in $code.
req() {
    n=$1
    shift
    code=$(curl -sS -o "$tmp/$n.body" -D "$tmp/$n.hdr" -w '%{http_code}' --max-time 20 "$@" 2>"$tmp/$n.cerr")
}
hdr() { # hdr NAME HEADER: value of a response header (case-insensitive), CR stripped
    grep -i "^$2:" "$tmp/$1.hdr" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'
}

head -c 2000 /dev/zero | tr '\0' 'a' >"$tmp/big"     # over --body-max 1024
head -c 3000 /dev/zero | tr '\0' 'h' >"$tmp/bighdr"  # over --header-max 2048

# --- cleartext server: HTTP/1.1 and h2c --------------------------------------------------------
start a --workers 2 --queue 4 --body-max 1024 --header-max 2048 --max-streams 6 \
    --request-timeout 1500
A=$addr_a

req h1 -X POST "http://$A/hello?x=1" -d 'hi there'
check "HTTP/1.1 echo status" [ "$code" = 200 ]
check "HTTP/1.1 echo fields" jhas "$tmp/h1.body" \
    'j["protocol"]=="http/1.1" and j["method"]=="POST" and j["path"]=="/hello" and j["query"]=="x=1" and j["body"]=="hi there" and not j["tls"]'
check "generated request id echoed" [ "$(hdr h1 x-request-id)" = "$(jhas "$tmp/h1.body" True && "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["request_id"])' "$tmp/h1.body")" ]
check "generated request id is 32 hex" grep -Eqi '^x-request-id: [0-9a-f]{32}' "$tmp/h1.hdr"

req h2c --http2-prior-knowledge "http://$A/echo" -d 'over h2c'
check "h2c echo" jhas "$tmp/h2c.body" 'j["protocol"]=="h2c" and j["body"]=="over h2c"'
check "h2c status line" grep -q '^HTTP/2 200' "$tmp/h2c.hdr"
check "h2c answers larger than the socket takes, read late" "$py" "$here/h2raw.py" late-reader "$A"

req inl --http2-prior-knowledge "http://$A/inline" -d 'inline'
check "inline route" jhas "$tmp/inl.body" 'j["body"]=="inline"'

check "nghttp GET" sh -c "nghttp 'http://$A/nghttp?q=1' >'$tmp/ng.body' 2>'$tmp/ng.err'"
check "nghttp echo" jhas "$tmp/ng.body" 'j["protocol"]=="h2c" and j["path"]=="/nghttp"'
check "nghttp POST" sh -c "echo -n posted >'$tmp/ngd'; nghttp -d '$tmp/ngd' 'http://$A/p' >'$tmp/ng2.body'"
check "nghttp POST body" jhas "$tmp/ng2.body" 'j["body"]=="posted" and j["method"]=="POST"'

# Keep-alive: two requests, one connection (HTTP/1.1 and h2c).
conns=$(curl -sS -o /dev/null -o /dev/null -w '%{num_connects} ' "http://$A/1" "http://$A/2")
check "HTTP/1.1 keep-alive ($conns)" [ "$conns" = "1 0 " ]
# (nghttp: curl 7.88.1 cannot reuse a prior-knowledge connection, curl/curl#10634.)
check "h2c two requests" sh -c "nghttp 'http://$A/ka1' 'http://$A/ka2' >/dev/null"
check "h2c two requests on one connection" "$py" -c '
import json, sys
j = [json.loads(l) for l in open(sys.argv[1])]
r = [x["remote"] for x in j if x["route"] == "/echo" and x["protocol"] == "h2c"][-2:]
sys.exit(0 if len(r) == 2 and r[0] == r[1] else 1)' "$tmp/a.log"
req chunked "http://$A/c" -H 'Transfer-Encoding: chunked' -d 'in chunks'
check "chunked body within the limit" jhas "$tmp/chunked.body" 'j["body"]=="in chunks"'

# X-Request-Id: a sane one is kept, anything else replaced.
req rid "http://$A/r" -H 'X-Request-Id: client.id_42-x'
check "sane request id kept" [ "$(hdr rid x-request-id)" = client.id_42-x ]
req rid2 --http2-prior-knowledge "http://$A/r" -H 'X-Request-Id: bad id"<script>'
check "insane request id replaced" grep -Eqi '^x-request-id: [0-9a-f]{32}' "$tmp/rid2.hdr"
long=$(head -c 129 /dev/zero | tr '\0' 'a')
req rid3 "http://$A/r" -H "X-Request-Id: $long"
check "129-char request id replaced" grep -Eqi '^x-request-id: [0-9a-f]{32}' "$tmp/rid3.hdr"

# 401 from on_headers, before the body is read; the token never reaches the log.
req auth1 -X POST "http://$A/auth?token=SECRET456" --data-binary @"$tmp/big"
check "HTTP/1.1 401 before the body ($code)" [ "$code" = 401 ]
check "401 WWW-Authenticate" [ "$(hdr auth1 www-authenticate)" = Bearer ]
check "401 problem+json" jhas "$tmp/auth1.body" 'j["status"]==401 and j["type"]=="about:blank"'
req auth2 --http2-prior-knowledge "http://$A/auth"
check "h2c 401" [ "$code" = 401 ]
req auth3 --http2-prior-knowledge "http://$A/auth" -H 'Authorization: Bearer SECRET123' -d x
check "authorized request served ($code)" [ "$code" = 200 ]

# Body limit: Content-Length (checked before reading), chunked (while reading), HTTP/2.
req big1 "http://$A/echo" --data-binary @"$tmp/big"
check "413 with Content-Length ($code)" [ "$code" = 413 ]
check "413 problem+json" jhas "$tmp/big1.body" 'j["status"]==413 and j["title"]=="Payload Too Large"'
check "413 content type" [ "$(hdr big1 content-type)" = application/problem+json ]
req big2 "http://$A/echo" -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big"
check "413 chunked ($code)" [ "$code" = 413 ]
req big3 --http2-prior-knowledge "http://$A/echo" --data-binary @"$tmp/big"
check "413 over h2c ($code)" [ "$code" = 413 ]
check "413 over h2c body" jhas "$tmp/big3.body" 'j["status"]==413'

# Header limit.
req hdr1 "http://$A/echo" -H "X-Big: $(cat "$tmp/bighdr")"
check "431 HTTP/1.1 ($code)" [ "$code" = 431 ]
check "431 problem+json" jhas "$tmp/hdr1.body" 'j["status"]==431'
req hdr2 --http2-prior-knowledge "http://$A/echo" -H "X-Big: $(cat "$tmp/bighdr")"
check "431 h2c ($code)" [ "$code" = 431 ]
check "request line or pseudo-headers over the limit: 431" "$py" "$here/h2raw.py" huge "$A"
check "server alive after the limits" sh -c "curl -sf 'http://$A/alive' >/dev/null"

# Raw frames and sockets.
check "mangled preface and non-HTTP bytes close at once" "$py" "$here/h2raw.py" preface "$A"
check "rapid reset gets GOAWAY(ENHANCE_YOUR_CALM)" "$py" "$here/h2raw.py" rapid-reset "$A"
check "streams past SETTINGS_MAX_CONCURRENT_STREAMS refused" "$py" "$here/h2raw.py" streams "$A" 6
check "queue full: 503 with Retry-After" "$py" "$here/h2raw.py" queue-full "$A" 4
check "bodies in progress bounded by a byte budget: 503" "$py" "$here/h2raw.py" budget "$A" 5
check "streams without their bodies hold no slot" "$py" "$here/h2raw.py" bodiless "$A" 6 4
check "slow clients: 408 and closed" "$py" "$here/h2raw.py" slowloris "$A"
check "HTTP/1.1 pipelining, 100-continue, 400, clients gone" "$py" "$here/h2raw.py" http1 "$A"
req head -I "http://$A/h"
check "HEAD: 200 with the length of the body" sh -c "[ '$code' = 200 ] && grep -qi '^content-length: [1-9]' '$tmp/head.hdr'"
check "HEAD: no body sent" grep -q '"method":"HEAD","route":"/echo","status":200,"bytes":0' "$tmp/a.log"
req h10 --http1.0 "http://$A/ten"
check "HTTP/1.0" jhas "$tmp/h10.body" 'j["protocol"]=="http/1.0"'
check "HTTP/1.0 closes" grep -qi '^connection: close' "$tmp/h10.hdr"
check "server alive after the raw cases" sh -c "curl -sf --http2-prior-knowledge 'http://$A/alive' >/dev/null"

# HTTP/1.1 queue full: 4 slow requests hold every in-flight slot (seen in /stats, an inline
# route that takes no slot), the fifth gets 503 with Retry-After.
for i in 1 2 3 4; do
    curl -sS --max-time 20 -o /dev/null "http://$A/slow?ms=2500" &
    qpids="${qpids:-} $!"
done
full=0
for _ in $(seq 200); do
    curl -sS "http://$A/stats" -o "$tmp/stats.json"
    if jhas "$tmp/stats.json" 'j["in_flight"]==4'; then
        full=1
        break
    fi
    sleep 0.05
done
check "four slow requests in flight" [ "$full" = 1 ]
req q503 "http://$A/echo" -d 'one too many'
check "HTTP/1.1 503 when the queue is full ($code)" [ "$code" = 503 ]
check "503 Retry-After" [ "$(hdr q503 retry-after)" = 1 ]
check "503 problem+json" jhas "$tmp/q503.body" 'j["status"]==503'
for p in $qpids; do
    wait "$p"
done
curl -sS "http://$A/stats" -o "$tmp/stats.json"
check "stats: counters" jhas "$tmp/stats.json" \
    'j["workers_ready"] and j["requests"]>=40 and j["requests_h2"]>=10 and j["requests_http1"]>=20 and j["rejected_queue_full"]>=2 and j["rejected_too_large"]>=5 and j["timeouts"]>=3 and j["protocol_errors"]>=5 and j["in_flight"]==0 and j["queue_depth"]==0 and j["connections_open"]>=1'
check "client gone mid-request logged as 499" grep -q '"status":499' "$tmp/a.log"

# Access log: one JSON line per request with the fields; no secrets, no query strings.
check "access log lines are JSON with every field" "$py" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 20, len(lines)
for l in lines:
    j = json.loads(l)
    for k in ("time", "request_id", "remote", "protocol", "method", "route", "status", "bytes", "latency_ms"):
        assert k in j, (k, l)
    assert j["remote"].startswith("127.0.0.1:"), l
assert any(json.loads(l).get("note") == "echo" for l in lines)
assert any(json.loads(l)["request_id"] == "client.id_42-x" for l in lines)
' "$tmp/a.log"
check "no token or query string in the log" sh -c "! grep -q 'SECRET\\|token=\\|x=1' '$tmp/a.log'"

# --- idle keep-alive connections ----------------------------------------------------------------
start i --idle-timeout 300 --request-timeout 1000
check "idle connections closed" "$py" "$here/h2raw.py" idle "$addr_i"
check "clients that stop reading are dropped" "$py" "$here/h2raw.py" stall "$addr_i"
kill -TERM "$pid_i"

# --- max connections ----------------------------------------------------------------------------
start m --max-conns 2 --request-timeout 5000
check "connections past max_connections closed" "$py" "$here/h2raw.py" max-conns "$addr_m" 2
kill -TERM "$pid_m"

# --- TLS: ALPN h2 and http/1.1, SIGHUP reload ---------------------------------------------------
mkcert() { # mkcert NAME CN
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
        -keyout "$tmp/$1.key" -out "$tmp/$1.crt" 2>/dev/null
}
mkcert one first.test
mkcert two second.test
cp "$tmp/one.crt" "$tmp/tls.crt"
cp "$tmp/one.key" "$tmp/tls.key"
start t --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key"
T=$addr_t
req th2 -k --http2 "https://$T/tls" -d 'secret'
check "TLS ALPN h2" jhas "$tmp/th2.body" 'j["protocol"]=="h2" and j["tls"] and j["body"]=="secret"'
req th1 -k --http1.1 "https://$T/tls" -d 'secret1'
check "TLS ALPN http/1.1" jhas "$tmp/th1.body" 'j["protocol"]=="http/1.1" and j["tls"]'
req tno -k --no-alpn "https://$T/noalpn" -d 'plain'
check "TLS without ALPN: HTTP/1.1 sniffed" jhas "$tmp/tno.body" 'j["protocol"]=="http/1.1" and j["tls"] and j["body"]=="plain"'
check "nghttp over TLS" sh -c "nghttp 'https://$T/ng' >'$tmp/tng.body' 2>/dev/null"
check "nghttp over TLS echo" jhas "$tmp/tng.body" 'j["protocol"]=="h2"'
check "TLS 1.1 refused" sh -c "! openssl s_client -connect '$T' -tls1_1 </dev/null >/dev/null 2>&1"
subject() {
    openssl s_client -connect "$T" </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null
}
check "first certificate served" sh -c "[ \"\$(echo '$(subject)')\" != '' ] && echo '$(subject)' | grep -q first.test"
cp "$tmp/two.crt" "$tmp/tls.crt"
cp "$tmp/two.key" "$tmp/tls.key"
kill -HUP "$pid_t"
check "SIGHUP: on_reload called" wait_for "$tmp/t.err" "reloaded 1"
check "SIGHUP: new certificate served" sh -c "echo '$(subject)' | grep -q second.test"
req th3 -k --http2 "https://$T/after" -d 'again'
check "TLS served after reload" jhas "$tmp/th3.body" 'j["protocol"]=="h2"'
echo 'not a key' >"$tmp/tls.key"
kill -HUP "$pid_t"
check "SIGHUP with a bad key: reported" wait_for "$tmp/t.err" "TLS reload failed"
check "SIGHUP with a bad key: old certificate kept" sh -c "echo '$(subject)' | grep -q second.test"

# --- deferred answers (vd_server_defer): completed by another thread, before or after `handle`
# returns; the worker takes the next request meanwhile -------------------------------------------
start f --workers 1 --queue 64
F=$addr_f
req f1 "http://$F/deferred?ms=0" -d 'now'
check "deferred, completed at once: HTTP/1.1 200" jhas "$tmp/f1.body" 'j["path"]=="/deferred" and j["body"]=="now"'
req f2 --http2-prior-knowledge "http://$F/deferred?ms=300" -d 'later'
check "deferred, completed later: h2c 200" jhas "$tmp/f2.body" 'j["protocol"]=="h2c" and j["body"]=="later"'
# One worker, three answers each deferred 1.5 s: all three in about 1.5 s, not 4.5 (the worker
# does not wait), and each stream gets its own body.
check "deferred answers do not hold the worker" "$py" - "$F" <<'EOF2'
import subprocess, sys, time, json
t = time.monotonic()
ps = [subprocess.Popen(["curl", "-sS", "--max-time", "20", "--http2-prior-knowledge",
                        "http://%s/deferred?ms=1500" % sys.argv[1], "-d", "n%d" % i],
                       stdout=subprocess.PIPE) for i in range(3)]
bodies = sorted(json.loads(p.communicate()[0])["body"] for p in ps)
took = time.monotonic() - t
assert bodies == ["n0", "n1", "n2"], bodies
assert took < 4.0, took
EOF2
check "many deferred answers over h2c (h2load)" sh -c "h2load -n 2000 -c 4 -m 16 -d '$tmp/f1.body' 'http://$F/deferred' | grep -q '2000 succeeded, 0 failed, 0 errored'"
# A client gone while its answer is deferred: logged as 499 once completed, nothing leaks.
curl -sS --max-time 0.3 --http2-prior-knowledge "http://$F/deferred?ms=1000" -o /dev/null 2>/dev/null || true
check "deferred answer to a client gone: 499" wait_for "$tmp/f.log" '"route":"/deferred","status":499'
check "deferred answers logged with their note" grep -q '"note":"deferred"' "$tmp/f.log"
# SIGTERM while an answer is deferred: it is still sent, then the server exits 0.
curl -sS --max-time 20 -o "$tmp/f3.body" -w '%{http_code}' "http://$F/deferred?ms=1500" -d drain >"$tmp/f3.code" &
c3=$!
sleep 0.5
kill -TERM "$pid_f"
wait "$c3"
check "drain: a deferred answer in flight completed" [ "$(cat "$tmp/f3.code")" = 200 ]
wait "$pid_f"
rc=$?
check "drain with a deferred answer: server exited 0 ($rc)" [ "$rc" = 0 ]

# --- SIGTERM drain: requests in flight complete, then the server exits ---------------------------
start d --grace 8000
D=$addr_d
curl -sS --max-time 20 -o "$tmp/d1.body" -w '%{http_code}' "http://$D/slow?ms=1500" >"$tmp/d1.code" &
c1=$!
curl -sS --max-time 20 --http2-prior-knowledge -o "$tmp/d2.body" -w '%{http_code}' \
    "http://$D/slow?ms=1500" >"$tmp/d2.code" &
c2=$!
for _ in $(seq 200); do
    [ "$(grep -c 'slow start' "$tmp/d.err" 2>/dev/null)" -ge 2 ] && break
    sleep 0.05
done
kill -TERM "$pid_d"
wait "$c1"
wait "$c2"
check "drain: HTTP/1.1 request in flight completed" [ "$(cat "$tmp/d1.code")" = 200 ]
check "drain: h2c request in flight completed" [ "$(cat "$tmp/d2.code")" = 200 ]
check "drain: bodies complete" jhas "$tmp/d2.body" 'j["path"]=="/slow"'
wait "$pid_d"
rc=$?
check "drain: server exited 0 ($rc)" [ "$rc" = 0 ]
check "drain: server said stopped" grep -q stopped "$tmp/d.err"
check "drain: no longer accepting" sh -c "! curl -s --max-time 5 'http://$D/x' >/dev/null"

# Workers run under SCHED_BATCH (3 in /proc/PID/task/TID/stat, field 41), the network thread
# (the main one) under the default policy (0): a worker that becomes runnable does not preempt
# the threads an answer waits on. (ThreadSanitizer adds a thread of its own.)
policy() { sed 's/^.*) //' "$1" | awk '{print $39}'; }
batch=0
for st in /proc/"$pid_a"/task/*/stat; do
    [ "$(policy "$st")" = 3 ] && batch=$((batch + 1))
done
check "server a: its 2 workers under SCHED_BATCH ($batch)" [ "$batch" = 2 ]
check "server a: the network thread under the default policy" \
    [ "$(policy /proc/"$pid_a"/task/"$pid_a"/stat)" = 0 ]
kill -TERM "$pid_a" "$pid_t"
wait "$pid_a"
check "server a exited 0 on SIGTERM" [ $? = 0 ]
wait "$pid_t"
check "TLS server exited 0 on SIGTERM" [ $? = 0 ]
wait "$pid_m"
check "server m exited 0 on SIGTERM" [ $? = 0 ]
wait "$pid_i"
check "server i exited 0 on SIGTERM" [ $? = 0 ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
