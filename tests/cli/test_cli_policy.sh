#!/bin/sh
# End-to-end test of `verdict policy validate`, `verdict policy test` and
# `verdict verify --policy`: the real binary, the example policies and the real vectors.
# Exit codes: 0 genuine and affirming, 1 not genuine or the policy not met (warning included),
# 2 malformed policy or bad usage, 3 collateral missing. JSON: an "appraisal" object.
# usage: test_cli_policy.sh VERDICT_BINARY VECTORS_DIR
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
need_vectors "$2"
examples=$(cd "$(dirname "$0")/../../policies/examples" && pwd)
at=2026-06-01T00:00:00Z
export VERDICT_DB="$tmp/none.db" # never touch a real store

# The examples bind freshness (raw): each run passes the nonce its report carries.
gsg_raw="--report $vec/gosevguest-milan/attestation.bin --certs $vec/gosevguest-milan/vcek.der --certs $vec/gosevguest-milan/cert_chain_milan_vcek.pem --at $at"
gsg="$gsg_raw --nonce 0102030405"
turin="--report $vec/mstav-tests/turin_attestation_report.bin --certs $vec/mstav-tests/turin_vcek.pem --certs $vec/mstav-tests/turin_ask.pem --certs $vec/amd-roots-mstav/turin_ark.pem --at $at --nonce 00"
genoa="--report $vec/veraison-tsm/derived/outblob_report.bin --cert-table $vec/veraison-tsm/derived/auxblob_certtable.bin --at $at"
vlek="--report $vec/trustee-snp/test-vlek-report.bin --certs $vec/trustee-snp/test-vlek.der --certs $vec/gosevguest-milan/cert_chain_milan_vlek.pem --at 2025-06-01T00:00:00Z --nonce 819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca"
# The veraison Genoa report's REPORT_DATA: 64 ASCII bytes.
genoa_rd=MIDBNH28iioisjPyxxxxxxxxxxxxxxxxMIDBNH28iioisjPyxxxxxxxxxxxxxxxx
genoa_nonce=$(printf '%s' "$genoa_rd" | od -An -v -tx1 | tr -d ' \n')

# ---- policy validate ------------------------------------------------------------------------
count=0
for f in "$examples"/*.yaml; do
    name=$(basename "$f" .yaml)
    expect 0 "validate example $name" -- policy validate "$f"
    output_has "validate example $name" out "policy \"$name\" is valid"
    count=$((count + 1))
done
if [ "$count" -ge 6 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: only $count examples"; fi
expect 0 "validate every example at once" -- policy validate "$examples"/*.yaml

printf 'name: a\nsnp:\n  vmpl: 4\n' >"$tmp/range.yaml"
expect 2 "validate out of range" -- policy validate "$tmp/range.yaml"
output_has "range message" err "$tmp/range.yaml:3:9: snp.vmpl: expected an integer 0..3, got '4'"
printf 'name: a\nsnp:\n  guest_policy:\n    debug: forbidden\n    dbug: allowed\n' >"$tmp/unknown.yaml"
expect 2 "validate unknown key" -- policy validate "$tmp/unknown.yaml"
output_has "unknown key message" err "$tmp/unknown.yaml:5:5: snp.guest_policy: unknown key 'dbug'"
printf 'name: a\nsnp: [1, 2\n' >"$tmp/syntax.yaml"
expect 2 "validate syntax error" -- policy validate "$tmp/syntax.yaml"
output_has "syntax message" err "$tmp/syntax.yaml:3:1: YAML syntax error"
printf 'name: &x a\n' >"$tmp/anchor.yaml"
expect 2 "validate anchor" -- policy validate "$tmp/anchor.yaml"
output_has "anchor message" err "$tmp/anchor.yaml:1:7: YAML anchors (&x) are not allowed"
printf 'name: a\nsnp:\n  measurements: [abcd]\n' >"$tmp/hex.yaml"
expect 2 "validate short hex" -- policy validate "$tmp/hex.yaml"
output_has "hex message" err "$tmp/hex.yaml:3:18: snp.measurements[0]: expected 96 hex digits (48 bytes)"
printf 'description: x\n' >"$tmp/noname.yaml"
expect 2 "validate missing name" -- policy validate "$tmp/noname.yaml"
output_has "missing name message" err "$tmp/noname.yaml:1:1: name: missing"
: >"$tmp/empty.yaml"
expect 2 "validate empty file" -- policy validate "$tmp/empty.yaml"
output_has "empty message" err "empty document"
# One bad file among good ones: exit 2, the good ones still reported valid.
expect 2 "validate mixed" -- policy validate "$examples/no-debug.yaml" "$tmp/range.yaml"
output_has "mixed: good one valid" out "policy \"no-debug\" is valid"
output_has "mixed: bad one named" err "range.yaml:3:9"
expect 2 "validate no file" -- policy validate
expect 2 "validate missing file" -- policy validate "$tmp/does-not-exist.yaml"

# ---- policy test ----------------------------------------------------------------------------
# go-sev-guest Milan (DEBUG set): development allows it, no-debug does not.
expect 0 "development on debug guest" -- policy test --policy "$examples/development.yaml" $gsg
expect 1 "no-debug on debug guest" -- policy test --policy "$examples/no-debug.yaml" $gsg
output_has "no-debug text" out "policy \"no-debug\": contraindicated"
output_has "no-debug check" out "POLICY 0xb0000 bit 19 (debug) is set but forbidden"
expect 1 "no-debug on debug guest, json" -- policy test --policy "$examples/no-debug.yaml" $gsg --json
json_has "appraisal shape" "set(a) >= {'policy', 'status', 'trust_vector', 'checks'}"
json_has "no-debug appraisal" "a['policy'] == 'no-debug' and a['status'] == 'contraindicated' and a['trust_vector']['runtime-opaque'] == 96 and a['trust_vector']['hardware'] == 2"
json_has "no-debug check json" "chk('policy.guest_policy.debug')['result'] == 'fail' and 'bit 19' in chk('policy.guest_policy.debug')['detail']"
json_has "genuineness unchanged" "j['status'] == 'genuine' and all(c['result'] != 'fail' for c in j['checks'])"
expect 0 "development json" -- policy test --policy "$examples/development.yaml" $gsg --json
json_has "development affirming" "a['status'] == 'affirming' and chk('policy.guest_policy.debug')['result'] == 'pass' and chk('policy.product')['result'] == 'pass'"
# Turin with everything it reports.
expect 0 "turin-mitigations on turin" -- policy test --policy "$examples/turin-mitigations.yaml" $turin --json
json_has "turin affirming" "a['status'] == 'affirming' and all(c['result'] == 'pass' for c in a['checks']) and chk('policy.platform_info.iommu_write_safe') is not None"
# A warning is not affirming: exit 1.
printf 'name: no-bit6\nsnp:\n  platform_info: {iommu_write_safe: forbidden}\n' >"$tmp/nobit6.yaml"
expect 1 "warning exits 1" -- policy test --policy "$tmp/nobit6.yaml" $turin --json
json_has "warning status" "a['status'] == 'warning' and a['trust_vector']['hardware'] == 32 and chk('policy.platform_info.iommu_write_safe')['result'] == 'fail'"
# The VLEK report with the AWS example (at a time the VLEK was valid).
expect 0 "aws-vlek on vlek" -- policy test --policy "$examples/aws-vlek.yaml" $vlek
printf 'name: vmpl0\nsnp:\n  vmpl: 0\n' >"$tmp/vmpl0.yaml"
expect 1 "vmpl 0 on vlek" -- policy test --policy "$tmp/vmpl0.yaml" $vlek --json
json_has "vmpl detail" "'VMPL 1 not accepted' in chk('policy.vmpl')['detail'] and a['trust_vector']['configuration'] == 96"
# Malformed policy, missing --policy, bad --nonce: usage errors.
expect 2 "test with malformed policy" -- policy test --policy "$tmp/range.yaml" $gsg
output_has "malformed policy message" err "range.yaml:3:9: snp.vmpl"
expect 2 "test without --policy" -- policy test $gsg
output_has "missing --policy message" err "--policy"
expect 2 "test with missing policy file" -- policy test --policy "$tmp/nope/p.yaml" $gsg
expect 2 "test with bad nonce" -- policy test --policy "$examples/development.yaml" $gsg_raw --nonce xyz
output_has "bad nonce message" err "--nonce must be hex"
expect 2 "test with odd nonce" -- policy test --policy "$examples/development.yaml" $gsg_raw --nonce abc
expect 2 "test with empty nonce" -- policy test --policy "$examples/development.yaml" $gsg_raw --nonce ""

# ---- verify --policy ------------------------------------------------------------------------
expect 0 "verify --policy affirming" -- verify --policy "$examples/development.yaml" $gsg
expect 1 "verify --policy contraindicated" -- verify --policy "$examples/no-debug.yaml" $gsg --json
json_has "verify appraisal" "a['policy'] == 'no-debug' and a['status'] == 'contraindicated'"
expect 2 "verify --policy malformed" -- verify --policy "$tmp/syntax.yaml" $gsg
# A nonce is always checked, also without a policy (raw) (issue #7, defect 3).
expect 1 "verify --nonce without --policy, wrong" -- verify $gsg_raw --nonce 0102 --json
json_has "unbound nonce fails" "j['status'] == 'genuine' and j['outcome'] == 'not-affirming' and a['policy'] is None and chk('policy.freshness')['result'] == 'fail' and a['status'] == 'contraindicated'"
expect 0 "verify --nonce without --policy, bound" -- verify $gsg_raw --nonce 0102030405 --json
json_has "bound nonce passes" "j['outcome'] == 'affirming' and a['policy'] is None and chk('policy.freshness')['result'] == 'pass'"
expect 1 "verify --nonce without --policy, text" -- verify $gsg_raw --nonce 0102
output_has "freshness-only text" out "no policy (freshness only): contraindicated (policy.freshness)"
expect 0 "verify without nonce or policy has no appraisal" -- verify $gsg_raw --json
json_has "no appraisal" "a is None"
expect 2 "verify --policy bad nonce" -- verify --policy "$examples/development.yaml" $gsg_raw --nonce 0x01
# production-genoa on the veraison report: everything passes except freshness (no nonce).
expect 1 "production-genoa without nonce" -- verify --policy "$examples/production-genoa.yaml" $genoa --json
json_has "production-genoa only freshness fails" "[c['name'] for c in a['checks'] if c['result'] != 'pass'] == ['policy.freshness'] and chk('policy.measurement')['result'] == 'pass' and a['trust_vector']['instance-identity'] == 96"
# Freshness, raw: the 64-byte Veraison nonce.
printf 'name: raw\nsnp:\n  freshness: raw\n' >"$tmp/raw.yaml"
expect 0 "raw nonce matches" -- verify --policy "$tmp/raw.yaml" $genoa --nonce "$genoa_nonce" --json
json_has "raw pass" "chk('policy.freshness')['result'] == 'pass' and a['status'] == 'affirming'"
wrong_nonce=$(printf '%s' "$genoa_nonce" | sed 's/.$/0/')
expect 1 "raw nonce differs" -- verify --policy "$tmp/raw.yaml" $genoa --nonce "$wrong_nonce" --json
json_has "raw fail" "chk('policy.freshness')['result'] == 'fail' and a['trust_vector']['instance-identity'] == 96"
expect 1 "raw without nonce" -- verify --policy "$tmp/raw.yaml" $genoa
# nonce || runtime data
printf '%s' "$genoa_rd" | cut -c33-64 | tr -d '\n' >"$tmp/rd.bin"
half_nonce=$(printf '%s' "$genoa_nonce" | cut -c1-64)
expect 0 "raw nonce and runtime data" -- verify --policy "$tmp/raw.yaml" $genoa --nonce "$half_nonce" --runtime-data "$tmp/rd.bin"
expect 2 "missing runtime data file" -- verify --policy "$tmp/raw.yaml" $genoa --nonce "$half_nonce" --runtime-data "$tmp/nope.bin"
# No freshness key: a nonce is compared raw.
printf 'name: nokey\nsnp:\n  vmpl: 0\n' >"$tmp/nokey.yaml"
expect 0 "nonce without freshness key" -- verify --policy "$tmp/nokey.yaml" $genoa --nonce "$genoa_nonce"
expect 1 "wrong nonce without freshness key" -- verify --policy "$tmp/nokey.yaml" $genoa --nonce "$wrong_nonce"
# ... and so is runtime data alone (issue #7, defect 3: it used to be ignored, affirming).
expect 1 "runtime data without freshness key, unbound" -- verify --policy "$tmp/nokey.yaml" $genoa --runtime-data "$tmp/rd.bin" --json
json_has "runtime data checked raw" "chk('policy.freshness')['result'] == 'fail' and a['status'] == 'contraindicated'"
printf '%s' "$genoa_rd" | tr -d '\n' >"$tmp/rd64.bin"
expect 0 "runtime data without freshness key, bound" -- verify --policy "$tmp/nokey.yaml" $genoa --runtime-data "$tmp/rd64.bin"
# freshness: none while a nonce is given: the check fails (it used to be ignored, affirming).
printf 'name: nofresh\nsnp:\n  freshness: none\n' >"$tmp/none.yaml"
expect 1 "freshness none with a nonce" -- verify --policy "$tmp/none.yaml" $genoa --nonce "$genoa_nonce" --json
json_has "none with nonce fails" "chk('policy.freshness')['result'] == 'fail' and 'freshness: none' in chk('policy.freshness')['detail']"
expect 1 "freshness none with runtime data" -- verify --policy "$tmp/none.yaml" $genoa --runtime-data "$tmp/rd64.bin"
expect 0 "freshness none without a nonce" -- verify --policy "$tmp/none.yaml" $genoa

# Not genuine: exit 1, every claim 99, no policy check.
expect 1 "tampered report with policy" -- verify --policy "$examples/development.yaml" --report $vec/negative-derived/milan_v2__policy_debug_bit.bin --certs $vec/gosevguest-milan/vcek.der --certs $vec/gosevguest-milan/cert_chain_milan_vcek.pem --at $at --json
json_has "tampered appraisal" "j['status'] == 'rejected' and a['status'] == 'contraindicated' and a['checks'] == [] and set(a['trust_vector'].values()) == {99}"
expect 1 "truncated report with policy" -- verify --policy "$examples/development.yaml" --report $vec/negative-derived/turin_v5__truncated_1183.bin --json
json_has "truncated appraisal" "a['status'] == 'contraindicated' and set(a['trust_vector'].values()) == {1}"
# Collateral missing: exit 3, status none.
expect 3 "collateral missing with policy" -- verify --policy "$examples/development.yaml" --report $vec/mstav-tests/turin_attestation_report.bin --at $at --json
json_has "collateral missing appraisal" "a['status'] == 'none' and a['checks'] == [] and a['trust_vector'] == {}"

# ---- the store: import, list, activate (every command with an explicit --db) ----------------
db="$tmp/store.db"
mkdir -p "$tmp/pdir"
printf 'name: alpha\nsnp:\n  vmpl: 0\n' >"$tmp/pdir/a.yaml"
printf 'name: beta\nsnp:\n  vmpl: 0\n' >"$tmp/pdir/b.yaml"
expect 0 "import a directory" -- policy import --db "$db" "$tmp/pdir"
output_has "import lines" out "$tmp/pdir/a.yaml: alpha version 1 (new, active)"
output_has "import summary" out "2 policies imported, 2 new versions"
expect 0 "re-import unchanged" -- policy import --db "$db" "$tmp/pdir"
output_has "re-import unchanged" out "2 policies imported, 0 new versions"
expect 0 "verify with a stored policy by name" -- verify --db "$db" --policy alpha $gsg --json
json_has "stored policy applied" "a['policy'] == 'alpha' and a['status'] == 'affirming'"
expect 2 "verify with an unknown stored policy" -- verify --db "$db" --policy nobody $gsg
output_has "unknown stored policy" err "nobody"

# A failed directory import prints nothing as imported (issue #7, defect 10).
mkdir -p "$tmp/bad"
printf 'name: gamma\nsnp:\n  vmpl: 0\n' >"$tmp/bad/a.yaml"
printf 'name: delta\nsnp:\n  vmpl: 9\n' >"$tmp/bad/b.yaml"
expect 2 "failed directory import" -- policy import --db "$db" "$tmp/bad"
output_has "failed import says so" err "nothing was imported"
if grep -q "new, active" "$tmp/out"; then
    failed=$((failed + 1)); echo "FAIL: a failed import printed (new, active)"; sed 's/^/  | /' "$tmp/out"
else passed=$((passed + 1)); fi
expect 2 "gamma was not imported" -- policy show --db "$db" gamma

# Two files defining the same policy in one import: refused, nothing stored (defect 10).
mkdir -p "$tmp/dup"
printf 'name: same\nsnp:\n  vmpl: 0\n' >"$tmp/dup/1.yaml"
printf 'name: same\nsnp:\n  vmpl: 1\n' >"$tmp/dup/2.yaml"
expect 2 "duplicate names refused" -- policy import --db "$db" "$tmp/dup"
output_has "duplicate message" err "both define policy \"same\""
expect 2 "no version of a duplicate was stored" -- policy history --db "$db" same

# More than 1,024 files are all imported, not cut at 1,024 (defect 6) ...
mkdir -p "$tmp/many"
i=0
while [ $i -lt 1100 ]; do
    printf 'name: m%d\n' $i >"$tmp/many/m$i.yaml"
    i=$((i + 1))
done
expect 0 "import 1100 files as arguments" -- policy import --db "$tmp/many.db" "$tmp"/many/*.yaml
output_has "1100 imported" out "1100 policies imported, 1100 new versions"
expect 0 "list 1100" -- policy list --db "$tmp/many.db"
if [ "$(wc -l <"$tmp/out")" -eq 1100 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $(wc -l <"$tmp/out") policies listed, expected 1100"; fi
# ... and past the limit the import is refused whole, never silently shortened.
while [ $i -lt 4097 ]; do
    printf 'name: m%d\n' $i >"$tmp/many/m$i.yaml"
    i=$((i + 1))
done
expect 2 "import past the limit" -- policy import --db "$tmp/many2.db" "$tmp/many"
output_has "limit message" err "more than 4096 files; nothing was imported"

# Usage errors: one line and a hint.
expect 2 "policy unknown command" -- policy frobnicate
output_has "policy hint" err "Try 'verdict policy --help'"
expect 2 "activate needs a number" -- policy activate --db "$db" alpha x
output_has "activate message" err "VERSION must be a number"

finish
