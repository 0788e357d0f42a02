#!/bin/sh
# End-to-end test of `verdict policy init`: from every genuine real vector (and a test PKI) the
# written policy validates and affirms the evidence it came from, with every check passing;
# evidence that is not genuine is refused (exit 1, the failed check named), unreadable files
# exit 2, missing certificates 3; --measure policies hold exactly what `verdict measure` prints,
# one labelled entry per vCPU count and --label set, and affirm a report with that measurement.
# usage: test_cli_policy_init.sh VERDICT_BINARY VECTORS_DIR MKPKI
set -u
bin=$1
mkpki=$3
. "$(dirname "$0")/lib.sh"
need_vectors "$2"
export VERDICT_DB="$tmp/none.db" # never touch a real store
at=2026-06-01T00:00:00Z

# name|evidence flags (every genuine pair of ../shared/vectors/README.md, and the TSM envelope)
cat >"$tmp/vectors" <<EOV
gsg-milan|--from-report $vec/gosevguest-milan/attestation.bin --certs $vec/gosevguest-milan/vcek.der --certs $vec/gosevguest-milan/cert_chain_milan_vcek.pem --at $at
virtee-milan|--from-report $vec/virtee-sev/report_milan.hex --certs $vec/virtee-sev/vcek_milan.der --certs $vec/virtee-sev/cert_chain_milan --at $at
trustee-milan|--from-report $vec/trustee-snp/test-report.bin --certs $vec/trustee-snp/test-vcek.der --certs $vec/amd-roots-trustee/milan_ask_ark_asvk.pem --at $at
trustee-vlek|--from-report $vec/trustee-snp/test-vlek-report.bin --certs $vec/trustee-snp/test-vlek.der --certs $vec/gosevguest-milan/cert_chain_milan_vlek.pem --at 2025-06-01T00:00:00Z
mstav-milan|--from-report $vec/mstav-tests/milan_attestation_report.bin --certs $vec/mstav-tests/milan_vcek.pem --certs $vec/mstav-tests/milan_ask.pem --certs $vec/amd-roots-mstav/milan_ark.pem --at $at
mstav-genoa|--from-report $vec/mstav-tests/genoa_attestation_report.bin --certs $vec/mstav-tests/genoa_vcek.pem --certs $vec/mstav-tests/genoa_ask.pem --certs $vec/amd-roots-mstav/genoa_ark.pem --at $at
mstav-turin|--from-report $vec/mstav-tests/turin_attestation_report.bin --certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/turin_ask.pem --certs $vec/amd-roots-mstav/turin_ark.pem --at $at
veraison-genoa|--from-report $vec/veraison-tsm/derived/outblob_report.bin --cert-table $vec/veraison-tsm/derived/auxblob_certtable.bin --at $at
veraison-envelope|--from-report $vec/veraison-tsm/sevsnp-tsm-report.json --at $at
EOV

# ---- from every genuine report: validates, affirms itself with every check passing ----------
n=0
while IFS='|' read -r name args; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    expect 0 "init $name" -- policy init $args --name "$name" --label "known good $name" --out "$tmp/$name.yaml"
    expect 0 "validate $name" -- policy validate "$tmp/$name.yaml"
    output_has "validate $name" out "policy \"$name\" is valid"
    test_args=$(printf '%s' "$args" | sed 's/--from-report/--report/')
    # shellcheck disable=SC2086
    expect 0 "$name affirms itself" -- policy test --policy "$tmp/$name.yaml" $test_args --json
    json_has "$name every check passes" "a['status'] == 'affirming' and len(a['checks']) >= 11 and all(c['result'] == 'pass' for c in a['checks']) and 'known good $name' in chk('policy.measurement')['detail']"
    # stdout and --out write the same text.
    # shellcheck disable=SC2086
    expect 0 "init $name to stdout" -- policy init $args --name "$name" --label "known good $name"
    expect_cmd 0 "$name stdout equals --out" -- sh -c "'$bin' policy init $args --name '$name' --label 'known good $name' | cmp - '$tmp/$name.yaml'"
done <"$tmp/vectors"
[ "$n" -eq 9 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: $n vectors"; }

# Pinned: the Turin policy refuses the Genoa report (product, TCB, measurement).
genoa_test="--report $vec/mstav-tests/genoa_attestation_report.bin --certs $vec/mstav-tests/genoa_vcek.pem --certs $vec/mstav-tests/genoa_ask.pem --certs $vec/amd-roots-mstav/genoa_ark.pem --at $at"
# shellcheck disable=SC2086
expect 1 "turin policy refuses genoa" -- policy test --policy "$tmp/mstav-turin.yaml" $genoa_test --json
json_has "refused on product and measurement" "chk('policy.product')['result'] == 'fail' and chk('policy.measurement')['result'] == 'fail'"
# DEBUG was on in the go-sev-guest report: allowed, with a warning; off elsewhere: forbidden.
grep -q "    debug: allowed.*WARNING" "$tmp/gsg-milan.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: gsg debug not allowed with a warning"; }
grep -q "    debug: forbidden" "$tmp/mstav-turin.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: turin debug not forbidden"; }
grep -q "  id_key_digests: \[0356215882a8" "$tmp/trustee-milan.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: trustee ID block not pinned"; }
# Default name: product and the measurement's first digits.
expect 0 "default name" -- policy init --from-report "$vec/veraison-tsm/sevsnp-tsm-report.json" --at $at
output_has "default name" out "name: genoa-7699e6ac"

# ---- refusals ------------------------------------------------------------------------------
gsg_certs="--certs $vec/gosevguest-milan/vcek.der --certs $vec/gosevguest-milan/cert_chain_milan_vcek.pem --at $at"
# shellcheck disable=SC2086
expect 1 "bit flip refused" -- policy init --from-report "$vec/negative-derived/milan_v2__reportdata_bitflip.bin" $gsg_certs --out "$tmp/never.yaml"
output_has "bit flip reason" err "the evidence is not genuine (report.signature:"
output_has "bit flip: nothing written" err "no policy written"
[ ! -e "$tmp/never.yaml" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: a policy was written for forged evidence"; }
# shellcheck disable=SC2086
expect 1 "debug bit flip refused" -- policy init --from-report "$vec/negative-derived/milan_v2__policy_debug_bit.bin" $gsg_certs
output_has "debug flip reason" err "not genuine (report.signature"
turin_certs="--certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/turin_ask.pem --certs $vec/amd-roots-mstav/turin_ark.pem --at $at"
# shellcheck disable=SC2086
expect 1 "reserved bytes refused" -- policy init --from-report "$vec/negative-derived/turin_v5__reserved_0x330.bin" $turin_certs
output_has "reserved reason" err "not genuine (report.signature_format"
# shellcheck disable=SC2086
expect 1 "truncated refused" -- policy init --from-report "$vec/negative-derived/turin_v5__truncated_1183.bin" $turin_certs
output_has "truncated reason" err "not genuine (report.format"
expect 1 "patched VCEK refused" -- policy init --from-report "$vec/trustee-snp/test-report.bin" --certs "$vec/trustee-snp/test-vcek-invalid-new.der" --certs "$vec/amd-roots-trustee/milan_ask_ark_asvk.pem" --at $at
output_has "patched VCEK reason" err "not genuine (chain.endorsement_key"
expect 1 "expired VLEK refused" -- policy init --from-report "$vec/trustee-snp/test-vlek-report.bin" --certs "$vec/trustee-snp/test-vlek.der" --certs "$vec/gosevguest-milan/cert_chain_milan_vlek.pem" --at 2026-06-01T00:00:00Z
output_has "expired VLEK reason" err "not genuine (chain.validity"
# Missing certificates, offline, empty cache: 3.
expect 3 "no certificates" -- policy init --from-report "$vec/mstav-tests/turin_attestation_report.bin" --offline --at $at --db "$tmp/empty.db"
output_has "collateral reason" err "collateral unavailable"
# Unreadable input: 2.
expect 2 "missing report" -- policy init --from-report "$tmp/none.bin" $gsg_certs
output_has "missing report named" err "none.bin"
expect 2 "missing certs file" -- policy init --from-report "$vec/gosevguest-milan/attestation.bin" --certs "$tmp/none.pem"
expect 2 "missing cert table" -- policy init --from-report "$vec/veraison-tsm/derived/outblob_report.bin" --cert-table "$tmp/none.bin"
expect 2 "directory as report" -- policy init --from-report "$tmp" $gsg_certs
# shellcheck disable=SC2086
expect 2 "unwritable --out" -- policy init --from-report "$vec/gosevguest-milan/attestation.bin" $gsg_certs --out "$tmp/no/such/dir.yaml"
output_has "unwritable --out named" err "--out $tmp/no/such/dir.yaml"
# Usage.
expect 2 "no mode" -- policy init --name x
output_has "no mode message" err "give --from-report REPORT or --measure"
expect 2 "both modes" -- policy init --measure --from-report "$vec/gosevguest-milan/attestation.bin"
output_has "both modes message" err "not both"
# shellcheck disable=SC2086
expect 2 "nonce is not an init flag" -- policy init --from-report "$vec/gosevguest-milan/attestation.bin" $gsg_certs --nonce 01
output_has "nonce message" err "--nonce is not an option of this command"
expect 2 "--report is not the flag" -- policy init --from-report "$vec/gosevguest-milan/attestation.bin" --report x
# shellcheck disable=SC2086
expect 2 "bad name" -- policy init --from-report "$vec/gosevguest-milan/attestation.bin" $gsg_certs --name "bad name"
output_has "bad name message" err "policy name 'bad name'"
# shellcheck disable=SC2086
expect 2 "name without value" -- policy init --from-report "$vec/gosevguest-milan/attestation.bin" $gsg_certs --name
expect 0 "help" -- policy init --help
output_has "help text" out "--from-report REPORT"

# ---- a test PKI: genuine only with its root configured --------------------------------------
mkdir "$tmp/pki"
expect_cmd 0 "mkpki" -- "$mkpki" "$tmp/pki" Genoa
pki="--certs $tmp/pki/vcek.pem --certs $tmp/pki/chain.pem"
# shellcheck disable=SC2086
expect 1 "test PKI without its root" -- policy init --from-report "$tmp/pki/report.bin" $pki
output_has "test PKI reason" err "not genuine (chain.ark"
# shellcheck disable=SC2086
expect 0 "test PKI with its root" -- policy init --from-report "$tmp/pki/report.bin" $pki --extra-roots "$tmp/pki/ark.pem" --out "$tmp/pki.yaml" --name pki
expect 0 "test PKI policy validates" -- policy validate "$tmp/pki.yaml"
# shellcheck disable=SC2086
expect 0 "test PKI policy affirms" -- policy test --policy "$tmp/pki.yaml" --report "$tmp/pki/report.bin" $pki --extra-roots "$tmp/pki/ark.pem" --json
json_has "test PKI every check passes" "a['status'] == 'affirming' and all(c['result'] == 'pass' for c in a['checks'])"

# ---- --measure -----------------------------------------------------------------------------
A=$vec/measure/ovmf_AmdSev_suffix.bin
m="--ovmf $A --vcpu-sig 0x800f12 --guest-features 0x21"
d=""
for v in 1 2 4; do
    # shellcheck disable=SC2086
    expect 0 "measure $v vCPUs" -- measure $m --vcpus $v
    eval "d$v=\$(tail -1 \"\$tmp/out\")"
done
# shellcheck disable=SC2086
expect 0 "init --measure 1,2,4" -- policy init --measure $m --vcpus 1,2,4 --name fleet --out "$tmp/fleet.yaml"
expect 0 "fleet validates" -- policy validate "$tmp/fleet.yaml"
for v in 1 2 4; do
    eval "want=\$d$v"
    grep -q "value: $want" "$tmp/fleet.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: fleet lacks the $v-vCPU digest $want"; }
done
[ "$(grep -c '    - value: ' "$tmp/fleet.yaml")" -eq 3 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: fleet does not hold 3 values"; }
grep -q 'label: "2 vCPUs, 0x800f12, ovmf_AmdSev_suffix.bin"' "$tmp/fleet.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: fleet auto label"; cat "$tmp/fleet.yaml"; }
grep -q "# --ovmf=$A --vcpus=4 --vcpu-sig=0x800f12 --guest-features=0x21" "$tmp/fleet.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: fleet comment"; }
# --label sets: defaults before the first --label, each set's own flags after it; measured
# direct boot matches the cases.tsv row test_snp_ovmf_hash_full_default.
# shellcheck disable=SC2086
expect 0 "init --measure sets" -- policy init --measure $m --label small --vcpus 1 --label big --vcpus 2,4 \
    --label direct --vcpus 1 --kernel /dev/null --initrd /dev/null --append "console=ttyS0 loglevel=7" --out "$tmp/sets.yaml"
expect 0 "sets validate" -- policy validate "$tmp/sets.yaml"
output_has "default measure name" out "policy \"measured-"
grep -q "# --ovmf=$A --vcpus=1 --vcpu-sig=0x800f12 --kernel=/dev/null --initrd=/dev/null --append='console=ttyS0 loglevel=7' --guest-features=0x21" "$tmp/sets.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: direct boot comment"; grep '# --' "$tmp/sets.yaml"; }
for l in '"small"' '"big, 2 vCPUs"' '"big, 4 vCPUs"' '"direct"'; do
    grep -q "label: $l" "$tmp/sets.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: sets lack label $l"; cat "$tmp/sets.yaml"; }
done
grep -q "value: 803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977" "$tmp/sets.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: direct boot digest"; }
grep -q "value: $d1" "$tmp/sets.yaml" && grep -q "value: $d4" "$tmp/sets.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: sets digests"; }
# A set's --vcpu-type replaces the default --vcpu-sig.
expect 0 "measure EPYC-v4" -- measure --ovmf "$A" --vcpu-type EPYC-v4 --guest-features 0x21 --vcpus 2
dv4=$(tail -1 "$tmp/out")
# shellcheck disable=SC2086
expect 0 "set overrides the signature" -- policy init --measure $m --vcpus 2 --label v4 --vcpu-type EPYC-v4
output_has "set overrides the signature" out "value: $dv4"
# The same inputs twice: one value, the other named in a comment.
# shellcheck disable=SC2086
expect 0 "init --measure duplicate" -- policy init --measure $m --label a --vcpus 2 --label b --vcpus 2
output_has "duplicate listed once" out "# the same digest: b"
# A report with the measured digest affirms; the patterned one does not.
mkdir "$tmp/pm"
expect_cmd 0 "mkpki with measurement" -- "$mkpki" "$tmp/pm" Genoa "$d2"
pm="--report $tmp/pm/report.bin --certs $tmp/pm/vcek.pem --certs $tmp/pm/chain.pem --extra-roots $tmp/pm/ark.pem"
# shellcheck disable=SC2086
expect 0 "measured policy affirms" -- policy test --policy "$tmp/fleet.yaml" $pm --json
json_has "measured label" "a['status'] == 'affirming' and '2 vCPUs' in chk('policy.measurement')['detail']"
# shellcheck disable=SC2086
expect 1 "measured policy refuses another image" -- policy test --policy "$tmp/fleet.yaml" --report "$tmp/pki/report.bin" $pki --extra-roots "$tmp/pki/ark.pem"
# Errors: 2 with the problem named.
expect 2 "measure without --ovmf" -- policy init --measure --vcpus 1 --vcpu-sig 0x800f12
output_has "measure without --ovmf" err "--ovmf FILE and --vcpus N are required"
expect 2 "measure unreadable ovmf" -- policy init --measure --ovmf "$tmp/none.fd" --vcpus 1 --vcpu-sig 0x800f12
output_has "unreadable ovmf named" err "none.fd"
# shellcheck disable=SC2086
expect 2 "vcpus 0" -- policy init --measure $m --vcpus 0
# shellcheck disable=SC2086
expect 2 "vcpus empty item" -- policy init --measure $m --vcpus 2,,4
output_has "vcpus list message" err "expected N or a list N,N,..."
# shellcheck disable=SC2086
expect 2 "vcpus twice" -- policy init --measure $m --vcpus 2,2
output_has "vcpus twice message" err "2 is listed twice"
expect 2 "unknown vcpu type" -- policy init --measure --ovmf "$A" --vcpus 1 --vcpu-type EPYC-Nope
output_has "unknown vcpu type message" err "unknown --vcpu-type 'EPYC-Nope'"
# shellcheck disable=SC2086
expect 2 "unknown flag" -- policy init --measure $m --vcpus 1 --json
# shellcheck disable=SC2086
expect 2 "missing kernel" -- policy init --measure $m --vcpus 1 --kernel "$tmp/none.kernel"
long=$(printf '%0100d' 0)
# shellcheck disable=SC2086
expect 2 "label too long" -- policy init --measure $m --vcpus 1 --label "$long"
output_has "label too long message" err "at most 95 characters"

finish
