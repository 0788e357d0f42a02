#!/bin/sh
# `verdict serve` with real clients, as the README tour uses them: curl over HTTP/1.1, over h2c
# (--http2-prior-knowledge) and over TLS (ALPN h2 and http/1.1, a throwaway certificate), and
# nghttp; a real vector appraised through each; the token checked with `verdict token verify`
# against the served JWKS; an admin policy round trip; SIGTERM stops the server cleanly.
# usage: test_clients.sh VERDICT_BINARY VECTORS_DIR
set -u
bin=$1
. "$(dirname "$0")/../cli/lib.sh"
need_vectors "$2"
export VERDICT_ADMIN_TOKEN=clients-test-admin-token
. "$(dirname "$0")/server_lib.sh"

# The request body for the Turin vector with its certificates.
/usr/bin/python3 - "$vec" >"$tmp/turin.json" <<'EOF'
import base64, json, sys
v = sys.argv[1]
rd = lambda p: open(v + "/" + p, "rb").read()
print(json.dumps({"evidence": {
    "report": base64.b64encode(rd("mstav-tests/turin_attestation_report.bin")).decode(),
    "certs": [rd(p).decode() for p in ("mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
                                        "amd-roots-mstav/turin_ark.pem")]}}))
EOF

status_of() { # FILE: the "status" member of a JSON answer
    /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$1"
}

start_server "$tmp/plain"
expect_cmd 0 "curl HTTP/1.1" -- curl -sS --fail --http1.1 -o "$tmp/h1.json" \
    -H 'content-type: application/json' --data-binary @"$tmp/turin.json" "http://$addr/v1/attest"
expect_cmd 0 "HTTP/1.1 affirming" -- test "$(status_of "$tmp/h1.json")" = affirming
expect_cmd 0 "curl h2c" -- curl -sS --fail --http2-prior-knowledge -o "$tmp/h2.json" \
    -w '%{http_version}' -H 'content-type: application/json' \
    --data-binary @"$tmp/turin.json" "http://$addr/v1/attest"
output_has "h2c was HTTP/2" out "2"
expect_cmd 0 "h2c affirming" -- test "$(status_of "$tmp/h2.json")" = affirming
expect_cmd 0 "nghttp" -- nghttp -n -H ':method: POST' -H 'content-type: application/json' \
    -d "$tmp/turin.json" "http://$addr/v1/attest"
expect_cmd 0 "nghttp answer" -- nghttp -H ':method: POST' -H 'content-type: application/json' \
    -d "$tmp/turin.json" "http://$addr/v1/attest"
output_has "nghttp got a token" out '"token"'
# The token, checked as a relying party would, against the served JWKS.
curl -sS "http://$addr/.well-known/jwks.json" >"$tmp/jwks.json"
token=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$tmp/h2.json")
expect 0 "token verify with the JWKS file" -- token verify "$token" --jwks "$tmp/jwks.json"
expect 0 "token verify with the JWKS URL" -- token verify "$token" --jwks "http://$addr/.well-known/jwks.json"
other=$(printf '%s' "$token" | sed 's/\.[^.]*$/.AAAA/')
expect 1 "a token with a wrong signature" -- token verify "$other" --jwks "$tmp/jwks.json"
# Admin: a policy added with the token, then used.
printf 'name: clients\nsnp:\n  vmpl: 0\n' >"$tmp/p.yaml"
expect_cmd 0 "PUT policy without token is 401" -- sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @$tmp/p.yaml http://$addr/v1/policies/clients)\" = 401"
expect_cmd 0 "PUT policy with the admin token" -- curl -sS --fail -X PUT \
    -H "authorization: Bearer $VERDICT_ADMIN_TOKEN" --data-binary @"$tmp/p.yaml" \
    "http://$addr/v1/policies/clients"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["policy"]="clients"; print(json.dumps(d))' \
    "$tmp/turin.json" >"$tmp/turin-policy.json"
expect_cmd 0 "attest with the policy" -- curl -sS --fail -o "$tmp/pol.json" \
    -H 'content-type: application/json' --data-binary @"$tmp/turin-policy.json" "http://$addr/v1/attest"
expect_cmd 0 "policy applied" -- /usr/bin/python3 -c \
    'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["policy_applied"] and d["appraisal"]["policy"] == "clients" else 1)' "$tmp/pol.json"
stop_server

# TLS: a throwaway self-signed certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
start_server "$tmp/tls" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key"
expect_cmd 0 "curl over TLS, ALPN h2" -- curl -sS --fail --cacert "$tmp/tls.crt" \
    -o "$tmp/tls2.json" -w '%{http_version}' -H 'content-type: application/json' \
    --data-binary @"$tmp/turin.json" "https://$addr/v1/attest"
output_has "TLS h2" out "2"
expect_cmd 0 "TLS h2 affirming" -- test "$(status_of "$tmp/tls2.json")" = affirming
expect_cmd 0 "curl over TLS, HTTP/1.1" -- curl -sS --fail --http1.1 --cacert "$tmp/tls.crt" \
    -o "$tmp/tls1.json" -H 'content-type: application/json' \
    --data-binary @"$tmp/turin.json" "https://$addr/v1/attest"
expect_cmd 0 "TLS HTTP/1.1 affirming" -- test "$(status_of "$tmp/tls1.json")" = affirming
expect_cmd 0 "healthz over TLS" -- curl -sS --fail --cacert "$tmp/tls.crt" "https://$addr/healthz"
kill -TERM "$srv_pid"
wait "$srv_pid"
rc=$?
srv_pid=
expect_cmd 0 "SIGTERM: exit 0" -- test "$rc" -eq 0
finish
