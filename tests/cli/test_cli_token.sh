#!/bin/sh
# End-to-end test of result tokens: EARs signed by the library (tests/support/earsign) for every
# algorithm, checked by `verdict token verify` and, independently, by ear_kbs_check.py (PyJWT,
# python3-cryptography and openssl, with a Trustee KBS's acceptance checks); `verdict token jwks`
# and `verdict token rotate` (old tokens keep verifying); JWKS from a file, from a loopback URL
# and through an OpenID configuration; and the refusals (tampering, alg none, wrong key, expired,
# wrong nonce, not affirming).
# usage: test_cli_token.sh VERDICT_BINARY EARSIGN_BINARY
set -u
bin=$1
earsign=$2
. "$(dirname "$0")/lib.sh"
check="/usr/bin/python3 $(dirname "$0")/ear_kbs_check.py"
server_pid=
trap 'if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; fi; rm -rf "$tmp"' EXIT
nonce=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
nonce_b64=$(printf '%s' "$nonce" | /usr/bin/python3 -c 'import sys,base64; print(base64.b64encode(bytes.fromhex(sys.stdin.read())).decode())')

for alg in ES256 ES384 EdDSA; do
    key="$tmp/$alg.pem"
    expect_cmd 0 "$alg: sign" -- "$earsign" "$key" --alg "$alg" --nonce-hex "$nonce" --policy prod --version 2
    cp "$tmp/out" "$tmp/$alg.jwt"
    expect 0 "$alg: jwks" -- token jwks --signing-key "$key"
    cp "$tmp/out" "$tmp/$alg.jwks"
    expect_cmd 0 "$alg: key file is 0600" -- sh -c "[ \"\$(stat -c %a '$key')\" = 600 ]"
    expect 0 "$alg: verify" -- token verify "@$tmp/$alg.jwt" --jwks "$tmp/$alg.jwks" --nonce "$nonce_b64"
    output_has "$alg: signature line" out "signature: ok (alg $alg"
    output_has "$alg: nonce line" out "nonce:     ok"
    output_has "$alg: submod line" out "submod SEVSNP: affirming"
    output_has "$alg: verdict" out "token: affirming"
    expect_cmd 0 "$alg: independent KBS-style check" -- $check --token "$tmp/$alg.jwt" --jwks "$tmp/$alg.jwks" --key "$key" --nonce-hex "$nonce"
done

# Token from stdin and as an argument; JSON output.
key="$tmp/ES256.pem"
tok=$(cat "$tmp/ES256.jwt")
expect_cmd 0 "verify from stdin" -- sh -c "\"$bin\" token verify - --jwks '$tmp/ES256.jwks' <'$tmp/ES256.jwt'"
expect 0 "verify literal, JSON" -- token verify "$tok" --jwks "$tmp/ES256.jwks" --json
json_has "JSON result" "j['valid'] and j['affirming'] and j['submods']['SEVSNP']['status'] == 'affirming' and j['claims']['submods']['SEVSNP']['ear.appraisal-policy-id'] == 'policy:SEVSNP/prod@v2'"
expect 0 "a JWKS file holding one JWK" -- token verify "$tok" --jwks "$tmp/ES256.jwks"
/usr/bin/python3 -c "import json; print(json.dumps(json.load(open('$tmp/ES256.jwks'))['keys'][0]))" >"$tmp/one.jwk"
expect 0 "a lone JWK" -- token verify "$tok" --jwks "$tmp/one.jwk"
expect 0 "a file:// JWKS" -- token verify "$tok" --jwks "file://$tmp/ES256.jwks"
expect_cmd 0 "VERDICT_JWKS" -- env VERDICT_JWKS="$tmp/ES256.jwks" "$bin" token verify "$tok"

# Refusals: exit 1, and the independent checker agrees.
expect 1 "wrong nonce" -- token verify "$tok" --jwks "$tmp/ES256.jwks" --nonce AAAAAAAAAAA=
output_has "wrong nonce line" out "nonce:     FAILED"
expect 1 "another key's JWKS" -- token verify "$tok" --jwks "$tmp/ES384.jwks"
output_has "unknown kid" out "unknown-kid"
expect_cmd 0 "independent: another key's JWKS rejected" -- $check --token "$tmp/ES256.jwt" --jwks "$tmp/ES384.jwks" --expect reject
expect 1 "expired" -- token verify "$tok" --jwks "$tmp/ES256.jwks" --at 2099-01-01T00:00:00Z
output_has "expired line" out "token: invalid (expired)"
expect 0 "leeway inside" -- token verify "$(cat "$tmp/ES256.jwt")" --jwks "$tmp/ES256.jwks" --leeway 0
/usr/bin/python3 - "$tmp/ES256.jwt" "$tmp" <<'EOF'
import base64, json, sys
tok = open(sys.argv[1]).read().strip()
h, p, s = tok.split(".")
d = lambda x: json.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
e = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=").decode()
claims = d(p)
claims["submods"]["SEVSNP"]["ear.status"] = "affirming"
claims["submods"]["SEVSNP"]["ear.trustworthiness-vector"]["hardware"] = 97
open(sys.argv[2] + "/tampered.jwt", "w").write("%s.%s.%s" % (h, e(claims), s))
hdr = d(h)
hdr["alg"] = "none"
open(sys.argv[2] + "/none.jwt", "w").write("%s.%s." % (e(hdr), p))
hdr["alg"] = "HS256"
open(sys.argv[2] + "/hs256.jwt", "w").write("%s.%s.%s" % (e(hdr), p, s))
EOF
for t in tampered none hs256; do
    expect 1 "$t token" -- token verify "@$tmp/$t.jwt" --jwks "$tmp/ES256.jwks"
    expect_cmd 0 "independent: $t token rejected" -- $check --token "$tmp/$t.jwt" --jwks "$tmp/ES256.jwks" --expect reject
done
expect_cmd 0 "sign contraindicated" -- "$earsign" "$key" --status affirming --claim executables=33 --claim hardware=97 --problem "measurement not recognised"
cp "$tmp/out" "$tmp/contra.jwt"
expect 1 "contraindicated token is valid but not affirming" -- token verify "@$tmp/contra.jwt" --jwks "$tmp/ES256.jwks"
output_has "contraindicated submod" out "submod SEVSNP: contraindicated: measurement not recognised"
output_has "contraindicated verdict" out "token: not affirming"
expect_cmd 0 "independent: affirming.rego refuses it" -- $check --token "$tmp/contra.jwt" --jwks "$tmp/ES256.jwks" --expect reject

# Usage and input errors: exit 2.
expect 2 "no JWKS" -- token verify "$tok"
expect 2 "missing token file" -- token verify "@$tmp/absent.jwt" --jwks "$tmp/ES256.jwks"
echo '{"keys": 5}' >"$tmp/bad.jwks"
expect 2 "not a JWKS" -- token verify "$tok" --jwks "$tmp/bad.jwks"
expect 2 "bad nonce" -- token verify "$tok" --jwks "$tmp/ES256.jwks" --nonce '%%%'
expect 2 "http to a non-loopback host" -- token verify "$tok" --jwks http://192.0.2.1/jwks.json
output_has "http refusal" err "only https URLs"
expect 2 "two tokens" -- token verify "$tok" "$tok" --jwks "$tmp/ES256.jwks"
expect 2 "unknown subcommand" -- token frobnicate

# Rotation: the new key signs, the old token still verifies against the new JWKS.
old_kid=$(/usr/bin/python3 -c "import json; print(json.load(open('$tmp/ES256.jwks'))['keys'][0]['kid'])")
expect 0 "rotate" -- token rotate --signing-key "$key" --alg EdDSA
output_has "rotate message" out "old key $old_kid stays published"
expect 0 "jwks after rotation" -- token jwks --signing-key "$key"
cp "$tmp/out" "$tmp/rotated.jwks"
json_has "both keys published" "len(j['keys']) == 2 and j['keys'][1]['kid'] == '$old_kid' and j['keys'][0]['alg'] == 'EdDSA'"
expect_cmd 0 "retired list is 0600" -- sh -c "[ \"\$(stat -c %a '$key.retired.json')\" = 600 ]"
expect 0 "old token, new JWKS" -- token verify "$tok" --jwks "$tmp/rotated.jwks"
expect_cmd 0 "independent: old token, new JWKS" -- $check --token "$tmp/ES256.jwt" --jwks "$tmp/rotated.jwks"
expect_cmd 0 "sign with the new key" -- "$earsign" "$key"
cp "$tmp/out" "$tmp/new.jwt"
expect 0 "new token, new JWKS" -- token verify "@$tmp/new.jwt" --jwks "$tmp/rotated.jwks"
output_has "new token alg" out "alg EdDSA"
expect_cmd 0 "independent: new token" -- $check --token "$tmp/new.jwt" --jwks "$tmp/rotated.jwks" --key "$key"
expect 1 "new token, old JWKS" -- token verify "@$tmp/new.jwt" --jwks "$tmp/ES256.jwks"
expect 2 "rotate a missing key" -- token rotate --signing-key "$tmp/absent.pem"
expect 2 "rotate to an unknown alg" -- token rotate --signing-key "$key" --alg RS256

# JWKS over HTTP from loopback, directly and through an OpenID configuration.
mkdir -p "$tmp/www/.well-known"
cp "$tmp/rotated.jwks" "$tmp/www/.well-known/jwks.json"
/usr/bin/python3 - "$tmp/www" "$tmp/port" <<'EOF' &
import functools, http.server, os, sys
root, portfile = sys.argv[1], sys.argv[2]
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=root))
port = srv.server_address[1]
with open(os.path.join(root, ".well-known", "openid-configuration"), "w") as f:
    f.write('{"issuer": "http://127.0.0.1:%d", "jwks_uri": "http://127.0.0.1:%d/.well-known/jwks.json"}' % (port, port))
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
EOF
server_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$tmp/port" 2>/dev/null)
base="http://127.0.0.1:$port"
expect 0 "JWKS URL" -- token verify "$tok" --jwks "$base/.well-known/jwks.json"
expect 0 "OpenID configuration URL" -- token verify "@$tmp/new.jwt" --jwks "$base/.well-known/openid-configuration"
expect 2 "JWKS URL 404" -- token verify "$tok" --jwks "$base/nothing.json"
output_has "404 message" err "HTTP status 404"
kill "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
server_pid=

finish
