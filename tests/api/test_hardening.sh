#!/bin/sh
# Hardening of `verdict serve` (issue #10, SECURITY.md): secret files that group or others may
# read are refused at start with the file, its mode and the chmod that fixes it; TLS is 1.2 or
# 1.3 only, and TLS 1.2 offers ECDHE with AEAD ciphers only (no CBC, no static RSA).
# usage: test_hardening.sh VERDICT_BINARY
set -u
bin=$1
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/server_lib.sh"

# serve_refused DESC FILE-TEXT ARGS...: serve must exit non-zero, naming FILE-TEXT and the fix.
serve_refused() {
    desc=$1 text=$2
    shift 2
    expect 2 "$desc: refused" -- serve --listen 127.0.0.1:0 --db "$tmp/keys/verdict.db" "$@"
    output_has "$desc: names the file and mode" err "$text"
    output_has "$desc: says how to fix it" err "chmod 600"
}

# A first start generates the signing key and the challenge secret 0600.
start_server "$tmp/keys" --signing-key "$tmp/keys/signing.pem" --nonce-secret "$tmp/keys/nonce"
stop_server
expect_cmd 0 "generated key is 0600" -- test "$(stat -c %a "$tmp/keys/signing.pem")" = 600
expect_cmd 0 "generated secret is 0600" -- test "$(stat -c %a "$tmp/keys/nonce")" = 600

keys="--signing-key $tmp/keys/signing.pem --nonce-secret $tmp/keys/nonce"
chmod 644 "$tmp/keys/signing.pem"
# shellcheck disable=SC2086
serve_refused "world-readable signing key" "signing key $tmp/keys/signing.pem has mode 0644" $keys
chmod 600 "$tmp/keys/signing.pem"
chmod 640 "$tmp/keys/nonce"
# shellcheck disable=SC2086
serve_refused "group-readable challenge secret" "challenge secret $tmp/keys/nonce has mode 0640" \
    $keys
chmod 600 "$tmp/keys/nonce"

# TLS: a throwaway P-256 certificate; its key world-readable first.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
chmod 604 "$tmp/tls.key"
# shellcheck disable=SC2086
serve_refused "world-readable TLS key" "TLS key $tmp/tls.key has mode 0604" $keys \
    --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key"
chmod 600 "$tmp/tls.key"
# shellcheck disable=SC2086
start_server "$tmp/keys" $keys --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key"

# tls_try DESC CODE ARGS...: an s_client handshake (SECLEVEL=0 on the client, so a refusal is
# the server's own), expected to succeed (0) or fail (1).
tls_try() {
    desc=$1 want=$2
    shift 2
    expect_cmd "$want" "$desc" -- sh -c 'openssl s_client -connect "$0" "$@" </dev/null 2>&1 |
        grep -q "Cipher is [A-Z0-9]"' "$addr" "$@"
}
tls_try "TLS 1.3 accepted" 0 -tls1_3
tls_try "TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256 accepted" 0 -tls1_2 \
    -cipher 'ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0'
tls_try "TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305 accepted" 0 -tls1_2 \
    -cipher 'ECDHE-ECDSA-CHACHA20-POLY1305:@SECLEVEL=0'
tls_try "TLS 1.1 refused" 1 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
tls_try "TLS 1.0 refused" 1 -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
tls_try "TLS 1.2 CBC (ECDHE-ECDSA-AES128-SHA) refused" 1 -tls1_2 \
    -cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0'
tls_try "TLS 1.2 CBC (ECDHE-ECDSA-AES256-SHA384) refused" 1 -tls1_2 \
    -cipher 'ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0'
tls_try "TLS 1.2 without forward secrecy (AES128-GCM-SHA256) refused" 1 -tls1_2 \
    -cipher 'AES128-GCM-SHA256:@SECLEVEL=0'
expect_cmd 0 "the server is still up" -- curl -sS --fail --cacert "$tmp/tls.crt" \
    "https://$addr/healthz"
stop_server
finish
