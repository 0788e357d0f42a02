#!/bin/sh
# End-to-end test of `verdict verify` against a test PKI made on the spot by mkpki: a chain from
# an unpinned root is rejected unless it is configured with --extra-roots / VERDICT_EXTRA_ROOTS,
# and an expired VCEK is rejected with an expiry reason even then.
# usage: test_cli_testpki.sh VERDICT_BINARY MKPKI_BINARY
set -u
bin=$1
mkpki=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

expect() {
    want=$1 desc=$2; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $desc: exit $got, expected $want"
        sed 's/^/  | /' "$tmp/out" "$tmp/err" | head -30
    fi
}

contains() {
    if grep -q -- "$2" "$tmp/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1: output lacks '$2'"
        sed 's/^/  | /' "$tmp/out" | head -30
    fi
}

for product in Milan Genoa Turin; do
    d="$tmp/$product"
    mkdir -p "$d"
    if ! "$mkpki" "$d" "$product"; then
        echo "FAIL: mkpki $product"
        failed=$((failed + 1))
        continue
    fi
    certs="--certs $d/vcek.pem --certs $d/chain.pem"
    expect 1 "$product: unpinned root rejected by default" -- "$bin" verify --report "$d/report.bin" $certs
    contains "$product: reason" "chain.ark"
    contains "$product: not pinned" "not a pinned AMD ARK"
    expect 0 "$product: root configured with --extra-roots" -- "$bin" verify --report "$d/report.bin" $certs --extra-roots "$d/ark.pem"
    contains "$product: extra root named" "configured extra root"
    expect 0 "$product: root configured with VERDICT_EXTRA_ROOTS" -- env VERDICT_EXTRA_ROOTS="$d/ark.pem" "$bin" verify --report "$d/report.bin" $certs
    expect 1 "$product: expired VCEK" -- "$bin" verify --report "$d/report_expired.bin" --certs "$d/expired_vcek.pem" --certs "$d/chain.pem" --extra-roots "$d/ark.pem"
    contains "$product: expiry reason" "VCEK expired"
    expect 1 "$product: report signed by another key" -- "$bin" verify --report "$d/report_expired.bin" $certs --extra-roots "$d/ark.pem"
    contains "$product: signature reason" "report.signature"
done
# A test root does not anchor another test PKI's chain.
expect 1 "foreign extra root" -- "$bin" verify --report "$tmp/Milan/report.bin" --certs "$tmp/Milan/vcek.pem" --certs "$tmp/Milan/chain.pem" --extra-roots "$tmp/Genoa/ark.pem"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
