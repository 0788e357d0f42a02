#!/bin/sh
# The policy playground's files as `verdict serve` answers them (issue #14), with curl: /ui/ and
# its files, byte for byte the sources, under a Content-Security-Policy of default-src 'self' and
# X-Content-Type-Options: nosniff; / redirects to /ui/; names outside the compiled set are 404;
# the page names no external asset; POST /v1/policies:validate; POST /v1/policies:init drafts
# from a real envelope and refuses a tampered one; ui.enabled = false (file or VERDICT_UI) turns
# the page off while the API stays up.
# usage: test_ui_serve.sh VERDICT_BINARY UI_SOURCE_DIR VECTORS_DIR
set -u
bin=$1
ui=$2
. "$(dirname "$0")/../cli/lib.sh"
need_vectors "$3"
export VERDICT_ADMIN_TOKEN=ui-serve-test-admin-token
. "$(dirname "$0")/server_lib.sh"

# get PATH: status code to stdout, headers to $tmp/h, body to $tmp/b
get() {
    curl -sS -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' "http://$addr$1"
}

# header_is NAME VALUE: the last answer's header NAME is VALUE (case-insensitive name)
header_is() {
    got=$(tr -d '\r' <"$tmp/h" | sed -n "s/^$1: //Ip" | head -n 1)
    expect_cmd 0 "$1 is $2 (got $got)" -- test "$got" = "$2"
}

csp="default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

start_server "$tmp/on"
expect_cmd 0 "GET /ui/ is 200" -- test "$(get /ui/)" = 200
header_is content-type "text/html; charset=utf-8"
header_is content-security-policy "$csp"
header_is x-content-type-options nosniff
expect_cmd 0 "/ui/ is index.html byte for byte" -- cmp "$tmp/b" "$ui/index.html"
for f in index.html app.js style.css; do
    expect_cmd 0 "GET /ui/$f is 200" -- test "$(get "/ui/$f")" = 200
    header_is content-security-policy "$csp"
    header_is x-content-type-options nosniff
    expect_cmd 0 "/ui/$f is the source byte for byte" -- cmp "$tmp/b" "$ui/$f"
done
get /ui/app.js >/dev/null
header_is content-type "text/javascript; charset=utf-8"
get /ui/style.css >/dev/null
header_is content-type "text/css; charset=utf-8"
expect_cmd 0 "GET / redirects" -- test "$(get /)" = 302
header_is location /ui/
expect_cmd 0 "GET /ui redirects" -- test "$(get /ui)" = 302
header_is location /ui/
expect_cmd 0 "HEAD /ui/ is 200" -- curl -sS --fail -I "http://$addr/ui/"
expect_cmd 0 "an unknown file is 404" -- test "$(get /ui/secret.txt)" = 404
expect_cmd 0 "a known name with an unserved type is 404" -- test "$(get /ui/app.js.map)" = 404
expect_cmd 0 "an encoded slash is 404" -- test "$(get /ui/..%2fapi.c)" = 404
expect_cmd 0 "a path below /ui/x/ is 404" -- test "$(get /ui/x/index.html)" = 404
expect_cmd 0 "POST /ui/ is 405" -- test "$(curl -sS -o /dev/null -w '%{http_code}' \
    -X POST "http://$addr/ui/")" = 405
# No external asset: nothing the page loads comes from another origin.
expect_cmd 1 "no external URL in src/href/url()" -- grep -EiIn \
    '(src|href|action)=["'"'"']?(https?:)?//|url\(|@import' \
    "$ui/index.html" "$ui/app.js" "$ui/style.css"
expect_cmd 1 "no inline script or style" -- grep -EiIn '<script>|<style|[[:space:]]style=|[[:space:]]on[a-z]+=' \
    "$ui/index.html"
# Validation: compiles only.
auth="authorization: Bearer $VERDICT_ADMIN_TOKEN"
expect_cmd 0 "validate: a good policy" -- curl -sS --fail -H "$auth" \
    -H 'content-type: application/json' --data '{"policy":"name: ok\nsnp:\n  vmpl: 0\n"}' \
    "http://$addr/v1/policies:validate"
output_has "valid, named" out '"valid":true,"name":"ok"'
expect_cmd 0 "validate: an unknown key" -- curl -sS -o "$tmp/v.json" -w '%{http_code}' \
    -H "$auth" -H 'content-type: application/json' \
    --data '{"policy":"name: bad\nsnp:\n  bogus: 1\n"}' "http://$addr/v1/policies:validate"
output_has "400" out 400
expect_cmd 0 "marked at line 3, column 3" -- grep -q '"line":3,"column":3' "$tmp/v.json"
expect_cmd 0 "validate needs a token" -- test "$(curl -sS -o /dev/null -w '%{http_code}' \
    -H 'content-type: application/json' --data '{"policy":"name: x\n"}' \
    "http://$addr/v1/policies:validate")" = 401
expect_cmd 0 "validate refuses other members" -- test "$(curl -sS -o /dev/null \
    -w '%{http_code}' -H "$auth" -H 'content-type: application/json' \
    --data '{"policy":"name: x\n","x":1}' "http://$addr/v1/policies:validate")" = 400
# Draft from evidence: a genuine envelope gives a policy pinning its measurement, which compiles
# (validate) and affirms it (dry run); a tampered report gives 422 and no policy.
/usr/bin/python3 - "$vec/veraison-tsm/sevsnp-tsm-report.json" "$tmp" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
b = env["outblob"]
raw = bytearray(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)))
open(sys.argv[2] + "/measurement", "w").write(raw[0x90:0xC0].hex())
json.dump({"name": "drafted", "evidence": {"tsm": env}}, open(sys.argv[2] + "/init.json", "w"))
raw[0x90] ^= 1  # the measurement, under the signature
env["outblob"] = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
json.dump({"name": "drafted", "evidence": {"tsm": env}}, open(sys.argv[2] + "/bad.json", "w"))
PY
post() { # PATH FILE: status code to stdout, body to $tmp/b
    curl -sS -o "$tmp/b" -w '%{http_code}' -H "$auth" -H 'content-type: application/json' \
        --data-binary @"$2" "http://$addr$1"
}
expect_cmd 0 "init from a genuine envelope is 200" -- test "$(post /v1/policies:init "$tmp/init.json")" = 200
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2],"w").write(d["policy"])' \
    "$tmp/b" "$tmp/drafted.yaml"
expect_cmd 0 "the draft pins the measurement" -- grep -q "value: $(cat "$tmp/measurement")" "$tmp/drafted.yaml"
expect_cmd 0 "the draft is named as asked" -- grep -q '^name: drafted$' "$tmp/drafted.yaml"
/usr/bin/python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); b["policy"]=open(sys.argv[2]).read(); b.pop("name"); json.dump(b,open(sys.argv[3],"w"))' \
    "$tmp/init.json" "$tmp/drafted.yaml" "$tmp/dry.json"
expect_cmd 0 "the draft dry-runs" -- test "$(post /v1/policies:test "$tmp/dry.json")" = 200
expect_cmd 0 "the draft affirms its evidence" -- grep -q '"status":"affirming"' "$tmp/b"
expect_cmd 0 "init from a tampered report is 422" -- test "$(post /v1/policies:init "$tmp/bad.json")" = 422
expect_cmd 0 "422 names the failing check" -- grep -q 'report.signature' "$tmp/b"
expect_cmd 1 "422 carries no policy" -- grep -q 'snp:' "$tmp/b"
printf '{"evidence":{"tsm":%s}}' "$(cat "$vec/veraison-tsm/sevsnp-tsm-report.json")" >"$tmp/noname.json"
expect_cmd 0 "init without a name is 400" -- test "$(post /v1/policies:init "$tmp/noname.json")" = 400
expect_cmd 0 "init needs a token" -- test "$(curl -sS -o /dev/null -w '%{http_code}' \
    -H 'content-type: application/json' --data-binary @"$tmp/init.json" \
    "http://$addr/v1/policies:init")" = 401
stop_server

# Off in the configuration file: every playground path is 404, the API answers.
printf 'ui:\n  enabled: false\n' >"$tmp/off.yaml"
start_server "$tmp/off" --config "$tmp/off.yaml"
for p in / /ui /ui/ /ui/index.html /ui/app.js; do
    expect_cmd 0 "ui.enabled false: $p is 404" -- test "$(get "$p")" = 404
done
expect_cmd 0 "ui.enabled false: the API answers" -- test "$(get /healthz)" = 200
stop_server
VERDICT_UI=false start_server "$tmp/off-env"
expect_cmd 0 "VERDICT_UI=false: /ui/ is 404" -- test "$(get /ui/)" = 404
stop_server
finish
