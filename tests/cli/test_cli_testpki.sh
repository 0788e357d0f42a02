#!/bin/sh
# End-to-end test of `verdict verify` against a test PKI made on the spot by mkpki: a chain from
# an unpinned root is rejected unless it is configured with --extra-roots / VERDICT_EXTRA_ROOTS,
# and an expired VCEK is rejected with an expiry reason even then.
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
done
# A test root does not anchor another test PKI's chain.
expect_cmd 1 "foreign extra root" -- "$bin" verify --report "$tmp/Milan/report.bin" --certs "$tmp/Milan/vcek.pem" --certs "$tmp/Milan/chain.pem" --extra-roots "$tmp/Genoa/ark.pem"

finish
