#!/bin/sh
# End-to-end test of `verdict verify`: the real binary on the real vectors. Asserts exit codes
# (0 genuine, 1 rejected, 2 usage/input, 3 collateral missing) and the JSON contract.
# usage: test_cli_verify.sh VERDICT_BINARY VECTORS_DIR
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
need_vectors "$2"
at=2026-06-01T00:00:00Z

turin="--report $vec/mstav-tests/turin_attestation_report.bin --certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/turin_ask.pem --certs $vec/amd-roots-mstav/turin_ark.pem"

# Genuine evidence, every product and report version we have.
expect 0 "turin v5" -- verify $turin
expect 0 "turin v5 json" -- verify $turin --json --at $at
json_has "turin json" "j['status']=='genuine' and j['product']=='Turin' and j['report_version']==5 and j['signing_key']=='VCEK'"
json_has "turin tcb" "j['tcb']['reported']=={'raw':'0x5100000004010101','bootloader':1,'tee':1,'snp':4,'microcode':81,'fmc':1}"
json_has "turin checks" "all(c['result'] in ('pass','skip') for c in j['checks']) and {'report.signature','chain.ark','binding.tcb','binding.chip_id'} <= {c['name'] for c in j['checks']} and all(c['detail'] for c in j['checks'])"
expect 0 "milan v2 go-sev-guest" -- verify --report $vec/gosevguest-milan/attestation.bin --certs $vec/gosevguest-milan/vcek.der --certs $vec/gosevguest-milan/cert_chain_milan_vcek.pem --at $at
expect 0 "milan v2 hex text" -- verify --report $vec/virtee-sev/report_milan.hex --certs $vec/virtee-sev/vcek_milan.der --certs $vec/virtee-sev/cert_chain_milan --at $at
expect 0 "milan v2 trustee" -- verify --report $vec/trustee-snp/test-report.bin --certs $vec/trustee-snp/test-vcek.der --certs $vec/amd-roots-trustee/milan_ask_ark_asvk.pem --at $at
expect 0 "milan v3" -- verify --report $vec/mstav-tests/milan_attestation_report.bin --certs $vec/mstav-tests/milan_vcek.pem --certs $vec/mstav-tests/milan_ask.pem --certs $vec/amd-roots-mstav/milan_ark.pem --at $at
expect 0 "genoa v3" -- verify --report $vec/mstav-tests/genoa_attestation_report.bin --certs $vec/mstav-tests/genoa_vcek.pem --certs $vec/mstav-tests/genoa_ask.pem --certs $vec/amd-roots-mstav/genoa_ark.pem --at $at
expect 0 "genoa v3 cert table" -- verify --report $vec/veraison-tsm/derived/outblob_report.bin --cert-table $vec/veraison-tsm/derived/auxblob_certtable.bin --at $at --json
json_has "genoa table json" "j['product']=='Genoa' and any(c['name']=='evidence.cert_table' and c['result']=='pass' for c in j['checks'])"
# The configfs-tsm JSON envelope: outblob is the report, auxblob the cert table.
expect 0 "genoa configfs-tsm envelope" -- verify --report $vec/veraison-tsm/sevsnp-tsm-report.json --at $at --json
json_has "envelope json" "j['product']=='Genoa' and any(c['name']=='evidence.cert_table' and c['result']=='pass' for c in j['checks'])"
expect 0 "genoa configfs-tsm envelope, CBOR" -- verify --report $vec/veraison-tsm/sevsnp-tsm-report.cbor --at $at --json
json_has "CBOR envelope: Genoa from its cert table" "j['product'] == 'Genoa' and j['status'] == 'genuine'"
# Revocation (issue #7): chain.revocation is in every result; AMD's real Genoa CRL (it lists the
# retired ASK 0x020001, not today's 0x020002) passes inside its window, is stale after it.
json_has "revocation in every result" "any(c['name']=='chain.revocation' and c['result']=='skip' and 'none available' in c['detail'] for c in j['checks'])"
genoa_table="--report $vec/veraison-tsm/derived/outblob_report.bin --cert-table $vec/veraison-tsm/derived/auxblob_certtable.bin"
expect 0 "genoa real CRL in its window" -- verify $genoa_table --crl-file $vec/amd-crls/genoa_crl.der --at 2025-06-01 --crl fail-closed
output_has "genoa real CRL pass" out "ASK serial 0x020002 is not in ARK-Genoa's CRL"
expect 0 "genoa real CRL stale, fail-open" -- verify $genoa_table --crl-file $vec/amd-crls/genoa_crl.der --at $at
output_has "genoa real CRL stale" out "stale since 2025-11-03"
expect 3 "genoa real CRL stale, fail-closed" -- verify $genoa_table --crl-file $vec/amd-crls/genoa_crl.der --at $at --crl fail-closed
expect 0 "milan CRL does not speak for Genoa" -- verify $genoa_table --crl-file $vec/amd-crls/milan_crl.der --at 2025-06-01
output_has "milan CRL unusable for Genoa" out "none of the 1 given is usable"
printf '{"outblob": 5}' >"$tmp/bad.json"
expect 2 "malformed envelope" -- verify --report "$tmp/bad.json"
output_has "malformed envelope reason" err '"outblob" must be a base64 string'
vlek="--report $vec/trustee-snp/test-vlek-report.bin --certs $vec/trustee-snp/test-vlek.der --certs $vec/gosevguest-milan/cert_chain_milan_vlek.pem"
expect 0 "vlek at 2025-06-01" -- verify $vlek --at 2025-06-01
expect 1 "vlek today (expired)" -- verify $vlek --json
json_has "vlek expiry reason" "j['status']=='rejected' and 'expired' in j['reason'] and j['signing_key']=='VLEK'"

# Rejections: exit 1 with the reason.
expect 1 "patched vcek" -- verify --report $vec/trustee-snp/test-report.bin --certs $vec/trustee-snp/test-vcek-invalid-legacy.der --certs $vec/amd-roots-trustee/milan_ask_ark_asvk.pem --at $at
for m in reportdata_bitflip policy_debug_bit reported_tcb_ucode chip_id_bitflip sig_r_bitflip sig_r_pad_nonzero reserved_0x330 truncated_1183; do
    expect 1 "turin $m" -- verify --report $vec/negative-derived/turin_v5__$m.bin --certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/turin_ask.pem --certs $vec/amd-roots-mstav/turin_ark.pem --at $at
    expect 1 "genoa $m" -- verify --report $vec/negative-derived/genoa_v3__$m.bin --cert-table $vec/veraison-tsm/derived/auxblob_certtable.bin --at $at
    expect 1 "milan $m" -- verify --report $vec/negative-derived/milan_v2__$m.bin --certs $vec/gosevguest-milan/vcek.der --certs $vec/gosevguest-milan/cert_chain_milan_vcek.pem --at $at
done
expect 1 "truncated json" -- verify --report $vec/negative-derived/turin_v5__truncated_1183.bin --json
json_has "truncated reason" "j['status']=='rejected' and 'length 1183' in j['reason'] and j['report_version'] is None"
printf 'not a report' >"$tmp/junk"
expect 1 "junk report" -- verify --report "$tmp/junk"
# Wrong product: a Genoa VCEK and chain for a Turin report.
expect 1 "wrong product" -- verify --report $vec/mstav-tests/turin_attestation_report.bin --certs $vec/mstav-tests/genoa_vcek.pem --certs $vec/mstav-tests/genoa_ask.pem --certs $vec/amd-roots-mstav/genoa_ark.pem --at $at --json
json_has "wrong product reason" "any(c['name']=='cert.product' and c['result']=='fail' for c in j['checks'])"
# A Genoa chain cannot have issued a Turin VCEK: its ASK is simply not there.
expect 3 "foreign chain" -- verify --report $vec/mstav-tests/turin_attestation_report.bin --certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/genoa_ask.pem --certs $vec/amd-roots-mstav/genoa_ark.pem --at $at

# Collateral missing: exit 3 and the KDS URL.
expect 3 "no certificates" -- verify --report $vec/mstav-tests/turin_attestation_report.bin --at $at --json
json_has "missing url" "j['status']=='collateral-missing' and 'https://kdsintf.amd.com/vcek/v1/Turin/59790fb1c39f35c1?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81' in j['missing']"
expect 3 "custom kds url" -- verify --report $vec/mstav-tests/turin_attestation_report.bin --kds-url http://127.0.0.1:9 --json
json_has "kds url used" "'http://127.0.0.1:9/vcek/v1/Turin/' in j['missing']"
expect 3 "no ark" -- verify --report $vec/mstav-tests/turin_attestation_report.bin --certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/turin_ask.pem --at $at
expect 3 "v2 without vcek" -- verify --report $vec/gosevguest-milan/attestation.bin --at $at
expect 3 "v2 with --product" -- verify --report $vec/gosevguest-milan/attestation.bin --product Milan --at $at --json
json_has "v2 product hint" "j['product']=='Milan' and j['product_source']=='hint' and '/vcek/v1/Milan/' in j['missing']"

# Usage and input errors: exit 2.
expect 2 "no args" -- verify
expect 2 "no command" --
expect 2 "unknown command" -- frobnicate
expect 2 "unknown flag" -- verify $turin --frobnicate
expect 2 "missing report file" -- verify --report "$tmp/does-not-exist"
expect 2 "bad time" -- verify $turin --at yesterday
expect 2 "bad product" -- verify $turin --product Naples
expect 2 "bad certs file" -- verify $turin --certs "$tmp/junk"
expect 2 "missing extra roots" -- verify $turin --extra-roots "$tmp/does-not-exist"
expect 0 "help" -- verify --help
output_has "help names --crl" out "--crl MODE"
output_has "help names the exit codes" out "exit codes: 0"

# A usage error: the one line that matters and a hint, not the whole usage.
expect 2 "unknown flag, short message" -- verify $turin --frobnicate
output_has "unknown flag line" err "verdict verify: unknown or incomplete option '--frobnicate'"
output_has "help hint" err "Try 'verdict verify --help'"
if grep -q "usage:" "$tmp/err" || [ "$(wc -l <"$tmp/err")" -ne 2 ]; then
    failed=$((failed + 1)); echo "FAIL: usage error prints more than two lines"; sed 's/^/  | /' "$tmp/err"
else passed=$((passed + 1)); fi

# Files that are not regular files (issue #7, defect 10): refused at once, with the reason.
mkfifo "$tmp/fifo"
expect_cmd 2 "--report FIFO does not block" -- timeout 30 "$bin" verify --report "$tmp/fifo"
output_has "FIFO message" err "--report $tmp/fifo: is a FIFO, not a file"
expect 2 "--report directory" -- verify --report "$tmp"
output_has "directory message" err "--report $tmp: is a directory, not a file"
expect 2 "--certs directory" -- verify $turin --certs "$tmp"
output_has "certs directory message" err "--certs $tmp: is a directory, not a file"
# Odd-length hex is said to be so, not a wrong report length.
printf '0102030\n' >"$tmp/odd.hex"
expect 2 "odd-length hex report" -- verify --report "$tmp/odd.hex"
output_has "odd hex message" err "odd number of digits (7)"
# A garbage PEM: one sentence naming the file, not OpenSSL's error queue.
printf -- '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n' >"$tmp/garbage.pem"
expect 2 "garbage PEM" -- verify $turin --certs "$tmp/garbage.pem"
output_has "garbage PEM message" err "verdict verify: --certs $tmp/garbage.pem: no certificate could be read (expected PEM or DER)"
if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
    failed=$((failed + 1)); echo "FAIL: garbage PEM prints more than one line"; sed 's/^/  | /' "$tmp/err"
else passed=$((passed + 1)); fi
# An empty or malformed report was never verified: no "verified at" line.
: >"$tmp/empty"
expect 1 "empty report" -- verify --report "$tmp/empty" --certs $vec/mstav-tests/turin_vcek.pem
if grep -q "verified at" "$tmp/out"; then
    failed=$((failed + 1)); echo "FAIL: empty report prints a verified-at line"
else passed=$((passed + 1)); fi

# The default database is in the user's cache directory, never the working directory.
mkdir -p "$tmp/cwd"
(
    cd "$tmp/cwd" && unset VERDICT_DB && XDG_CACHE_HOME="$tmp/xdg" \
        "$bin" verify --report $vec/mstav-tests/turin_attestation_report.bin --offline --at $at >/dev/null 2>&1
    exit 0
)
if [ -f "$tmp/xdg/verdict/verdict.db" ] && [ ! -e "$tmp/cwd/verdict.db" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: default database not in \$XDG_CACHE_HOME/verdict"; ls -la "$tmp/cwd" "$tmp/xdg" 2>&1 | head; fi
(
    cd "$tmp/cwd" && unset VERDICT_DB XDG_CACHE_HOME && HOME="$tmp/home" \
        "$bin" verify --report $vec/mstav-tests/turin_attestation_report.bin --offline --at $at >/dev/null 2>&1
    exit 0
)
if [ -f "$tmp/home/.cache/verdict/verdict.db" ] && [ ! -e "$tmp/cwd/verdict.db" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: default database not in ~/.cache/verdict"; fi

finish
