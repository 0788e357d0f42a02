#!/bin/sh
# End-to-end test of `verdict verify` on Azure vTPM evidence (issue #13): every file of
# azure-vtpm/ with and without its nonce, near-miss nonces, one-field mutations, the raw HCL
# report, a VCEK that is not the report's, and tpm.* / azure.* policies.
# usage: test_cli_vtpm.sh VERDICT_BINARY VECTORS_DIR
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
need_vectors "$2"
py=/usr/bin/python3
at=2026-06-01T00:00:00Z
az=$vec/azure-vtpm
milan=$vec/amd-roots-trustee/milan_ask_ark_asvk.pem
genoa=$vec/amd-roots-trustee/genoa_ask_ark_asvk.pem
# The nonces the vectors bind (azure-vtpm/README.md).
n_v0=6368616c6c656e6765
n_v1=$n_v0
n_v2=982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef
n_genoa=0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f

chain_of() { [ "$1" = genoa ] && echo "$genoa" || echo "$milan"; }

# Every vector: genuine without a nonce (nonce checks skip) and with its nonce (they pass).
for f in v0 v1 v2 genoa; do
    eval "n=\$n_$f"
    c=$(chain_of $f)
    expect 0 "$f without nonce" -- verify --report "$az/evidence-$f.json" --certs "$c" --at $at --json
    json_has "$f without nonce json" "j['status']=='genuine' and j['outcome']=='affirming' and j['vtpm']['form']==('v0' if '$f' in ('v0','genoa') else '$f') and len(j['vtpm']['pcrs'])==24 and j['vtpm']['nonce_checked'] is False and {c['name']:c['result'] for c in j['checks']}['tpm.nonce']=='skip' and 'appraisal' not in j"
    json_has "$f checks" "all(c['result'] in ('pass','skip') for c in j['checks']) and {'vtpm.evidence','hcl.header','report.signature','vtpm.vcek','hcl.vmpl','hcl.report_data','hcl.runtime_data','hcl.ak','tpm.quote','tpm.signature','tpm.pcr_selection','tpm.pcr_digest','tpm.nonce','hcl.user_data'} <= {c['name'] for c in j['checks']}"
    json_has "$f claims" "j['vtpm']['secure_boot'] is True and j['vtpm']['tpm_enabled'] is True and j['vtpm']['console_enabled'] is True and j['vtpm']['pcrs']['17']=='ff'*32 and j['vtpm']['ak_bits']==2048"
    expect 0 "$f with its nonce" -- verify --report "$az/evidence-$f.json" --certs "$c" --at $at --nonce "$n" --json
    json_has "$f nonce json" "j['outcome']=='affirming' and j['vtpm']['nonce_checked'] is True and j['vtpm']['quote']['extra_data']=='$n' and {c['name']:c['result'] for c in j['checks']}['tpm.nonce']=='pass' and chk('policy.freshness')['result']=='pass' and a['policy'] is None"
    # Near misses: one byte longer, a prefix, another vector's nonce.
    expect 1 "$f nonce one byte longer" -- verify --report "$az/evidence-$f.json" --certs "$c" --at $at --nonce "${n}00"
    output_has "$f nonce longer reason" out "fail  tpm.nonce"
    short=$(printf %s "$n" | cut -c1-16)
    expect 1 "$f nonce prefix" -- verify --report "$az/evidence-$f.json" --certs "$c" --at $at --nonce "$short"
    other=$n_genoa
    [ $f = genoa ] && other=$n_v2
    expect 1 "$f another nonce" -- verify --report "$az/evidence-$f.json" --certs "$c" --at $at --nonce "$other" --json
    json_has "$f another nonce json" "j['status']=='rejected' and j['outcome']=='rejected' and j['reason'].startswith('tpm.nonce')"
done
expect 0 "v2 text output" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --nonce "$n_v2"
output_has "v2 user-data passes" out "pass  hcl.user_data"
output_has "v2 quote nonce passes" out "pass  tpm.nonce"
output_has "v2 text summary" out "Azure vTPM    v2 evidence; secure boot on, TPM on, console on; VM 7DF7B373-B947-4AAA-96E5-C358F2A03D20"

# One-field mutations of genuine evidence (azure-vtpm/README.md "Must be rejected").
$py - "$az" "$tmp" <<'EOF'
import base64, json, sys
az, out = sys.argv[1], sys.argv[2]
v1 = json.load(open(az + "/evidence-v1.json"))
v2 = json.load(open(az + "/evidence-v2.json"))
def save(name, d):
    json.dump(d, open(out + "/" + name + ".json", "w"))
def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def copy(d):
    return json.loads(json.dumps(d))
m = copy(v1); p = m["tpm_quote"]["pcrs"]; p[4] = ("%064x" % (int(p[4], 16) ^ 1)); save("pcr", m)
m = copy(v1); p = m["tpm_quote"]["pcrs"]; p[4], p[5] = p[5], p[4]; save("swap", m)
m = copy(v1); m["tpm_quote"]["pcrs"].append("00" * 32); save("morepcrs", m)
m = copy(v1); sig = bytearray.fromhex(m["tpm_quote"]["signature"]); sig[10] ^= 0x80
m["tpm_quote"]["signature"] = sig.hex(); save("sig", m)
hcl = bytearray(b64d(v1["hcl_report"]))
i = hcl.index(b'"secure-boot":true', 0x4D4)
hcl[i:i + 18] = b'"secure-boot":tru '
m = copy(v1); m["hcl_report"] = base64.urlsafe_b64encode(bytes(hcl)).decode(); save("runtime", m)
hcl = bytearray(b64d(v1["hcl_report"])); hcl[0x20 + 0x90] ^= 1  # a bit of the SNP report
m = copy(v1); m["hcl_report"] = base64.urlsafe_b64encode(bytes(hcl)).decode(); save("snpbit", m)
m = copy(v1); m["tpm_quote"] = copy(v2["tpm_quote"]); save("otherquote", m)
m = copy(v1); m["version"] = 2; save("relabel", m)
m = copy(v1); m["vcek"] = v2["vcek"]; save("foreignvcek", m)
m = copy(v1); m["vcek"] = "AAAA"; save("badvcek", m)
m = copy(v1); del m["vcek"]; save("novcek", m)
m = copy(v1); m["version"] = 3; save("v3", m)
m = copy(v1); m["tpm_quote"]["signature"] = "zz"; save("badhex", m)
open(out + "/raw.hcl", "wb").write(b64d(v1["hcl_report"]))
open(out + "/v1_vcek.der", "wb").write(b64d(v1["vcek"]))
EOF
for m in pcr:tpm.pcr_digest swap:tpm.pcr_digest morepcrs:tpm.pcr_selection sig:tpm.signature \
    runtime:hcl.report_data snpbit:report.signature otherquote:tpm.signature \
    foreignvcek:vtpm.vcek badvcek:vtpm.vcek; do
    f=${m%%:*} check=${m#*:}
    expect 1 "mutation $f" -- verify --report "$tmp/$f.json" --certs "$milan" --at $at --nonce "$n_v1" --json
    json_has "mutation $f fails $check" "j['status']=='rejected' and any(c['name']=='$check' and c['result']=='fail' for c in j['checks'])"
done
expect 1 "v1 relabelled v2, with its nonce" -- verify --report "$tmp/relabel.json" --certs "$milan" --at $at --nonce "$n_v1"
output_has "relabel caught by user-data" out "fail  hcl.user_data"
# A VCEK in the evidence that is not the report's is a rejection also when the certificate
# cache could look up another one (it is not asked): exit 1, never 3.
expect 1 "foreign VCEK without --certs" -- verify --report "$tmp/foreignvcek.json" --at $at
expect 1 "undecodable VCEK without --certs" -- verify --report "$tmp/badvcek.json" --at $at
# v1/v2 may leave the VCEK out: then it comes from --certs (or the cache), else exit 3.
expect 3 "no VCEK anywhere" -- verify --report "$tmp/novcek.json" --certs "$milan" --at $at
expect 0 "no VCEK in the evidence, one in --certs" -- verify --report "$tmp/novcek.json" --certs "$tmp/v1_vcek.der" --certs "$milan" --at $at --nonce "$n_v1" --json
json_has "vtpm.vcek skipped" "{c['name']:c['result'] for c in j['checks']}['vtpm.vcek']=='skip' and j['outcome']=='affirming'"
# Evidence that does not decode: input errors.
expect 2 "version 3" -- verify --report "$tmp/v3.json" --certs "$milan" --at $at
output_has "version 3 named" err "version"
expect 2 "bad hex" -- verify --report "$tmp/badhex.json" --certs "$milan" --at $at
# The raw HCL report (no quote, no VCEK: it comes with --certs): genuine, but it cannot bind a
# nonce.
expect 0 "raw HCL report" -- verify --report "$tmp/raw.hcl" --certs "$tmp/v1_vcek.der" --certs "$milan" --at $at --json
json_has "raw HCL json" "j['vtpm']['form']=='hcl' and j['vtpm']['pcrs']=={} and j['vtpm']['quote'] is None and j['vtpm']['vm_id'].startswith('26F8BC30')"
expect 1 "raw HCL report with a nonce" -- verify --report "$tmp/raw.hcl" --certs "$tmp/v1_vcek.der" --certs "$milan" --at $at --nonce "$n_v1"

# Policies: PCR values, vm-configuration and VM id from v2 affirm it; a changed PCR value
# contraindicates; a policy asking for freshness needs the nonce.
pcr() { $py -c "import json,sys; print(json.load(open(sys.argv[1]))['tpm_quote']['pcrs'][int(sys.argv[2])].lower())" "$az/evidence-v2.json" "$1"; }
cat >"$tmp/v2.yaml" <<EOF
name: azure-v2
tpm:
  pcrs:
    4:
      - {value: $(pcr 4), label: shim and grub}
    7: [$(pcr 7)]
    8: ["$(pcr 8)"]
azure:
  secure_boot: required
  tpm_enabled: required
  console: allowed
  vm_ids: [{value: 7df7b373-b947-4aaa-96e5-c358f2a03d20, label: the v2 VM}]
EOF
expect 0 "policy from v2's values" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/v2.yaml" --json
json_has "policy checks pass" "a['status']=='affirming' and chk('policy.tpm.pcr4')['result']=='pass' and chk('policy.tpm.pcr7')['result']=='pass' and chk('policy.azure.secure_boot')['result']=='pass' and chk('policy.azure.vm_id')['result']=='pass' and a['trust_vector']['executables']==3"
sed "s/$(pcr 7)/$(pcr 7 | tr 0-9a-f 1-9a-f0)/" "$tmp/v2.yaml" >"$tmp/v2-changed.yaml"
expect 1 "a changed PCR value" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/v2-changed.yaml" --json
json_has "changed PCR contraindicates" "j['status']=='genuine' and j['outcome']=='not-affirming' and a['status']=='contraindicated' and chk('policy.tpm.pcr7')['result']=='fail' and a['trust_vector']['executables']==96"
expect 1 "v2 policy on v1 (another VM)" -- verify --report "$az/evidence-v1.json" --certs "$milan" --at $at --policy "$tmp/v2.yaml" --json
json_has "another VM: pcr and vm id fail" "chk('policy.tpm.pcr4')['result']=='fail' and chk('policy.azure.vm_id')['result']=='fail' and a['trust_vector']['instance-identity']==97"
sed 's/console: allowed/console: forbidden/' "$tmp/v2.yaml" >"$tmp/v2-console.yaml"
expect 1 "console forbidden" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/v2-console.yaml" --json
json_has "console fails configuration" "chk('policy.azure.console')['result']=='fail' and a['trust_vector']['configuration']==96"
printf 'snp:\n  freshness: raw\n' >>"$tmp/v2.yaml"
expect 1 "freshness policy without a nonce" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/v2.yaml" --json
json_has "freshness fails without nonce" "j['status']=='genuine' and j['outcome']=='not-affirming' and chk('policy.freshness')['result']=='fail'"
expect 0 "freshness policy with the nonce" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/v2.yaml" --nonce "$n_v2"
# tpm.* / azure.* rules on bare SNP evidence fail, never pass silently.
expect 1 "vTPM policy on a bare SNP report" -- verify --report "$vec/mstav-tests/turin_attestation_report.bin" --certs "$vec/mstav-tests/turin_vcek.pem" --certs "$vec/mstav-tests/turin_ask.pem" --certs "$vec/amd-roots-mstav/turin_ark.pem" --at $at --policy "$tmp/v2-console.yaml" --json
json_has "bare SNP: vTPM rules fail" "j['status']=='genuine' and all(chk(n)['result']=='fail' for n in ('policy.tpm.pcr4','policy.tpm.pcr7','policy.tpm.pcr8','policy.azure.secure_boot','policy.azure.tpm_enabled','policy.azure.console','policy.azure.vm_id'))"
# policy init --from-report writes tpm.pcrs and azure.* for vTPM evidence: the policy affirms
# the evidence it came from and not another VM's.
for f in v0 v1 v2 genoa; do
    c=$(chain_of $f)
    expect 0 "policy init from $f" -- policy init --from-report "$az/evidence-$f.json" --certs "$c" --at $at --out "$tmp/init-$f.yaml"
    expect 0 "init-$f affirms $f" -- verify --report "$az/evidence-$f.json" --certs "$c" --at $at --policy "$tmp/init-$f.yaml" --json
    json_has "init-$f checks" "chk('policy.tpm.pcr4')['result']=='pass' and chk('policy.tpm.pcr7')['result']=='pass' and chk('policy.azure.secure_boot')['result']=='pass' and chk('policy.tpm.pcr10') is None"
done
grep -q '^name: azure-milan-' "$tmp/init-v2.yaml" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: init-v2 name"; }
expect 1 "init-v2 on v1 (another VM)" -- verify --report "$az/evidence-v1.json" --certs "$milan" --at $at --policy "$tmp/init-v2.yaml" --json
json_has "init-v2 on v1 fails PCR 4" "chk('policy.tpm.pcr4')['result']=='fail'"
expect 0 "init-v0 on v1 (the same VM)" -- verify --report "$az/evidence-v1.json" --certs "$milan" --at $at --policy "$tmp/init-v0.yaml"
# The annotated example policy (policies/examples/azure-vtpm.yaml): v2 with its nonce affirms;
# without the nonce (freshness: raw) or on another VM it does not.
ex=$(cd "$(dirname "$0")/../../policies/examples" && pwd)/azure-vtpm.yaml
expect 0 "example on v2 with its nonce" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$ex" --nonce "$n_v2"
expect 1 "example on v2 without a nonce" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$ex"
expect 1 "example on genoa" -- verify --report "$az/evidence-genoa.json" --certs "$genoa" --at $at --policy "$ex" --nonce "$n_genoa" --json
json_has "example on genoa: PCR 4 fails, PCR 7 passes" "chk('policy.tpm.pcr4')['result']=='fail' and chk('policy.tpm.pcr7')['result']=='pass'"
# Schema errors of the new keys.
printf 'name: x\ntpm:\n  pcrs:\n    24: [%s]\n' "$(pcr 4)" >"$tmp/bad1.yaml"
expect 2 "PCR 24" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/bad1.yaml"
printf 'name: x\nazure:\n  secure_boot: yes\n' >"$tmp/bad2.yaml"
expect 2 "secure_boot yes" -- verify --report "$az/evidence-v2.json" --certs "$milan" --at $at --policy "$tmp/bad2.yaml"
output_has "secure_boot message" err "azure.secure_boot: expected required, forbidden or allowed"
finish
