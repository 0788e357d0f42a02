#!/bin/sh
# End-to-end test of `verdict verify` against a test PKI made on the spot by mkpki: a chain from
# an unpinned root is rejected unless it is configured with --extra-roots / VERDICT_EXTRA_ROOTS,
# and an expired VCEK is rejected with an expiry reason even then. Azure vTPM evidence from the
# same PKI binds a challenge and a key in its quote (verify --challenge-binding).
# usage: test_cli_testpki.sh VERDICT_BINARY MKPKI_BINARY
set -u
bin=$1
mkpki=$2
. "$(dirname "$0")/lib.sh"

for product in Milan Genoa Turin; do
    d="$tmp/$product"
    mkdir -p "$d"
    if ! "$mkpki" "$d" "$product"; then
        echo "FAIL: mkpki $product"
        failed=$((failed + 1))
        continue
    fi
    certs="--certs $d/vcek.pem --certs $d/chain.pem"
    expect_cmd 1 "$product: unpinned root rejected by default" -- "$bin" verify --report "$d/report.bin" $certs
    output_has "$product: reason" out "chain.ark"
    output_has "$product: not pinned" out "not a pinned AMD ARK"
    expect_cmd 0 "$product: root configured with --extra-roots" -- "$bin" verify --report "$d/report.bin" $certs --extra-roots "$d/ark.pem"
    output_has "$product: extra root named" out "configured extra root"
    expect_cmd 0 "$product: root configured with VERDICT_EXTRA_ROOTS" -- env VERDICT_EXTRA_ROOTS="$d/ark.pem" "$bin" verify --report "$d/report.bin" $certs
    expect_cmd 1 "$product: expired VCEK" -- "$bin" verify --report "$d/report_expired.bin" --certs "$d/expired_vcek.pem" --certs "$d/chain.pem" --extra-roots "$d/ark.pem"
    output_has "$product: expiry reason" out "VCEK expired"
    expect_cmd 1 "$product: report signed by another key" -- "$bin" verify --report "$d/report_expired.bin" $certs --extra-roots "$d/ark.pem"
    output_has "$product: signature reason" out "report.signature"
    # Revocation with --certs (issue #7, defect 1): no network, but a CRL given with --crl-file
    # or already in the cache is used, and chain.revocation is in every result.
    roots="--extra-roots $d/ark.pem"
    expect_cmd 0 "$product: no CRL known" -- "$bin" verify --report "$d/report.bin" $certs $roots
    output_has "$product: revocation skipped" out "chain.revocation"
    expect_cmd 3 "$product: no CRL known, fail-closed" -- "$bin" verify --report "$d/report.bin" $certs $roots --crl fail-closed
    expect_cmd 1 "$product: revoked ASK (--crl-file PEM)" -- "$bin" verify --report "$d/report.bin" $certs $roots --crl-file "$d/crl_revoked.pem"
    output_has "$product: revocation reason" out "is revoked by ARK-$product's CRL"
    expect_cmd 1 "$product: revoked ASK (--crl-file DER, fail-closed)" -- "$bin" verify --report "$d/report.bin" $certs $roots --crl-file "$d/crl_revoked.der" --crl fail-closed
    expect_cmd 0 "$product: clean CRL" -- "$bin" verify --report "$d/report.bin" $certs $roots --crl-file "$d/crl_clean.pem" --crl fail-closed
    output_has "$product: revocation passed" out "is not in ARK-$product's CRL"
    expect_cmd 2 "$product: --crl-file that is no CRL" -- "$bin" verify --report "$d/report.bin" $certs $roots --crl-file "$d/vcek.pem"
    db="$d/cache.db"
    { cat "$d/chain.pem"; echo "# crl $product vcek"; cat "$d/crl_revoked.pem"; } > "$d/bundle.pem"
    expect_cmd 0 "$product: import chain and CRL" -- "$bin" certs import "$d/bundle.pem" --db "$db" $roots
    expect_cmd 1 "$product: revoked ASK from the cache with --certs" -- "$bin" verify --report "$d/report.bin" $certs $roots --db "$db" --crl fail-closed
    output_has "$product: cached revocation reason" out "is revoked by ARK-$product's CRL"
    # An older CRL imported later does not un-revoke it (defect 2).
    { echo "# crl $product vlek"; cat "$d/crl_clean.pem"; } > "$d/older.pem"
    expect_cmd 0 "$product: import an older CRL" -- "$bin" certs import "$d/older.pem" --db "$db" $roots
    expect_cmd 1 "$product: still revoked after the older import" -- "$bin" verify --report "$d/report.bin" $certs $roots --db "$db"
done
# Azure vTPM evidence from the test PKI (mkpki --vtpm) whose quote binds a verdict challenge
# and a public key as SHA-384(challenge || key): verify --challenge-binding (vtpm.h).
d="$tmp/Milan"
head -c 64 /dev/urandom > "$d/challenge.bin"
challenge=$(base64 -w0 < "$d/challenge.bin")
challenge_hex=$(od -An -v -tx1 < "$d/challenge.bin" | tr -d ' \n')
printf 'public key A' > "$d/key_a"
printf 'public key B' > "$d/key_b"
roots="--extra-roots $d/ark.pem"
expect_cmd 0 "vTPM: mkpki --vtpm" -- "$mkpki" --vtpm "$d" "$d/vtpm.json" --challenge "$challenge" --runtime-data "$d/key_a"
expect_cmd 0 "vTPM: challenge and key bound" -- "$bin" verify --report "$d/vtpm.json" --certs "$d/chain.pem" $roots --nonce "$challenge_hex" --runtime-data "$d/key_a" --challenge-binding
output_has "vTPM: freshness names the binding" out "SHA-384 of the 64-byte challenge and the runtime data"
expect_cmd 1 "vTPM: another key" -- "$bin" verify --report "$d/vtpm.json" --certs "$d/chain.pem" $roots --nonce "$challenge_hex" --runtime-data "$d/key_b" --challenge-binding
output_has "vTPM: another key fails tpm.nonce" out "fail  tpm.nonce"
expect_cmd 1 "vTPM: the challenge compared exactly" -- "$bin" verify --report "$d/vtpm.json" --certs "$d/chain.pem" $roots --nonce "$challenge_hex"
expect_cmd 1 "vTPM: without the test root" -- "$bin" verify --report "$d/vtpm.json" --certs "$d/chain.pem" --nonce "$challenge_hex" --runtime-data "$d/key_a" --challenge-binding
output_has "vTPM: unpinned root" out "chain.ark"
expect_cmd 2 "vTPM: --challenge-binding needs --nonce" -- "$bin" verify --report "$d/vtpm.json" --certs "$d/chain.pem" $roots --challenge-binding

# A test root does not anchor another test PKI's chain.
expect_cmd 1 "foreign extra root" -- "$bin" verify --report "$tmp/Milan/report.bin" --certs "$tmp/Milan/vcek.pem" --certs "$tmp/Milan/chain.pem" --extra-roots "$tmp/Genoa/ark.pem"

finish
