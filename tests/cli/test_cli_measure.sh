#!/bin/sh
# End-to-end test of `verdict measure`: every row of ../shared/vectors/measure/cases.tsv on the
# real binary (digest on the last stdout line, or a non-zero exit with no digest), Debian's
# OVMF (package ovmf), --json, and each usage and input error (exit 2 with the problem named).
# usage: test_cli_measure.sh VERDICT_BINARY VECTORS_DIR
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
need_vectors "$2"
m=$vec/measure
A=$m/ovmf_AmdSev_suffix.bin
X=$m/ovmf_OvmfX64_suffix.bin
tab=$(printf '\t')

# Is the Debian file present? Skip its rows locally; CI installs the package (scripts/deps.sh).
have_file() {
    [ -r "$1" ] && return 0
    if [ -n "${CI:-}" ]; then
        failed=$((failed + 1))
        echo "FAIL: $1 missing (apt-get install ovmf)"
    else
        echo "skip: $1 missing (apt-get install ovmf)"
    fi
    return 1
}

rows=0
while IFS="$tab" read -r name ovmf vcpus sig vmm kernel initrd append features ohash expected; do
    [ "$name" = name ] && continue
    rows=$((rows + 1))
    case $ovmf in
    debian:*) ovmf=${ovmf#debian:}; have_file "$ovmf" || continue ;;
    *) ovmf=$m/$ovmf ;;
    esac
    set -- measure --ovmf "$ovmf" --vcpus "$vcpus" --guest-features "$features"
    [ "$sig" != - ] && set -- "$@" --vcpu-sig "$sig"
    [ "$vmm" != - ] && set -- "$@" --vmm-type "$vmm"
    [ "$kernel" != - ] && set -- "$@" --kernel "$kernel"
    [ "$initrd" != - ] && set -- "$@" --initrd "$initrd"
    if [ "$append" = '""' ]; then
        set -- "$@" --append ""
    elif [ "$append" != - ]; then
        set -- "$@" --append "$append"
    fi
    [ "$ohash" != - ] && set -- "$@" --snp-ovmf-hash "$ohash"
    if [ "$expected" = error ]; then
        expect 2 "$name" -- "$@"
        if [ -s "$tmp/out" ]; then
            failed=$((failed + 1))
            echo "FAIL: $name: printed a digest on error"
        fi
    else
        expect 0 "$name" -- "$@"
        if [ "$(tail -n 1 "$tmp/out")" = "$expected" ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL: $name: got $(tail -n 1 "$tmp/out"), expected $expected"
        fi
    fi
done <"$m/cases.tsv"
if [ "$rows" -lt 24 ]; then
    failed=$((failed + 1))
    echo "FAIL: cases.tsv: only $rows rows read"
fi

# Vector-independent names: a vCPU type gives the same digest as its signature.
expect 0 "vcpu type by name" -- measure --ovmf "$A" --vcpus 4 --vcpu-type EPYC-v4 --guest-features 0x21 --kernel /dev/null --initrd /dev/null
output_has "EPYC-v4 = 0x800f12" out 4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942
expect 0 "default features 0x1" -- measure --ovmf "$A" --vcpus 1 --vcpu-type EPYC
output_has "default 0x1" out 19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d
expect 0 "gce ignores the vcpu type" -- measure --ovmf "$A" --vcpus 1 --vmm-type gce --vcpu-type EPYC-Milan --kernel /dev/null --initrd /dev/null
output_has "gce digest" out 5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e
output_has "gce note" err "gce ignores the vCPU type"

# --json: the digest, the inputs and each region.
expect 0 "json" -- measure --ovmf "$A" --vcpus 4 --vcpu-type EPYC-v4 --guest-features 0x21 --kernel /dev/null --append "console=ttyS0 loglevel=7" --json
json_has "json digest" "j['digest']==j['regions'][-1]['digest_after'] and len(j['digest'])==96"
json_has "json inputs" "j['inputs']['vcpus']==4 and j['inputs']['vcpu_sig']=='0x800f12' and j['inputs']['vcpu_type']=='EPYC-v4' and j['inputs']['vmm_type']=='qemu' and j['inputs']['guest_features']=='0x21' and j['inputs']['initrd'] is None and j['inputs']['kernel_sha256'].startswith('e3b0c442') and j['inputs']['append']=='console=ttyS0 loglevel=7'"
json_has "json regions" "[(r['what'], r['gpa'], r['page_type'], r['pages']) for r in j['regions']]==[('firmware','0xfffff000','normal',1),('SNP_SEC_MEM','0x800000','zero',9),('SNP_SEC_MEM','0x80a000','zero',3),('SNP_SECRETS','0x80d000','secrets',1),('CPUID','0x80e000','cpuid',1),('SVSM_CAA','0x80f000','zero',1),('SNP_KERNEL_HASHES','0x810000','normal',1),('SNP_SEC_MEM','0x811000','zero',15),('VMSA (BSP)','0xfffffffff000','vmsa',1),('VMSA (AP)','0xfffffffff000','vmsa',3)]"
json_has "json firmware" "j['firmware']['reset_address']=='0x80b004' and j['firmware']['hashes_table']=='0x810c00' and len(j['firmware']['sections'])==7 and j['ovmf_hash'].startswith('086e2e9149ebf45a')"
expect 0 "json ec2" -- measure --ovmf "$A" --vcpus 1 --vmm-type ec2 --json
json_has "ec2 cpuid last" "j['regions'][-2]['what']=='CPUID' and j['inputs']['vcpu_sig']=='0x600' and j['inputs']['vcpu_type'] is None"

# A large kernel and initrd are streamed (3 MiB: several read pieces).
head -c 3145728 /dev/zero >"$tmp/kernel"
expect 0 "3 MiB kernel" -- measure --ovmf "$A" --vcpus 1 --vcpu-sig 0x800f12 --kernel "$tmp/kernel" --initrd "$tmp/kernel" --json
json_has "kernel hash streamed" "j['inputs']['kernel_sha256']==j['inputs']['initrd_sha256']=='$(/usr/bin/python3 -c "import hashlib;print(hashlib.sha256(bytes(3145728)).hexdigest())")'"

# Errors: exit 2, the problem named, no digest.
base="--ovmf $A --vcpus 1 --vcpu-type EPYC-v4"
expect 2 "no --ovmf" -- measure --vcpus 1 --vcpu-type EPYC
output_has "no --ovmf msg" err "--ovmf FILE and --vcpus N are required"
expect 2 "unreadable ovmf" -- measure --ovmf "$tmp/missing.fd" --vcpus 1 --vcpu-type EPYC
output_has "unreadable ovmf msg" err "missing.fd: No such file or directory"
expect 2 "unreadable kernel" -- measure $base --kernel "$tmp/nokernel"
output_has "unreadable kernel msg" err "--kernel $tmp/nokernel: No such file or directory"
expect 2 "directory as initrd" -- measure $base --kernel /dev/null --initrd "$tmp"
output_has "directory msg" err "--initrd $tmp"
expect 2 "unknown vcpu type" -- measure --ovmf "$A" --vcpus 1 --vcpu-type EPYC-Zen9
output_has "unknown vcpu type msg" err "unknown --vcpu-type 'EPYC-Zen9'"
expect 2 "unknown vcpu type, gce" -- measure --ovmf "$A" --vcpus 1 --vmm-type gce --vcpu-type nope
expect 2 "type and sig" -- measure $base --vcpu-sig 0x800f12
expect 2 "bad sig" -- measure --ovmf "$A" --vcpus 1 --vcpu-sig 0xZZ
expect 2 "sig too wide" -- measure --ovmf "$A" --vcpus 1 --vcpu-sig 0x100000000
expect 2 "qemu without vcpu" -- measure --ovmf "$A" --vcpus 1
output_has "qemu without vcpu msg" err "qemu needs --vcpu-type"
expect 2 "zero vcpus" -- measure --ovmf "$A" --vcpus 0 --vcpu-type EPYC
output_has "zero vcpus msg" err "--vcpus '0' out of range 1..4096"
expect 2 "too many vcpus" -- measure --ovmf "$A" --vcpus 4097 --vcpu-type EPYC
expect 2 "negative vcpus" -- measure --ovmf "$A" --vcpus -1 --vcpu-type EPYC
expect 2 "vcpus not a number" -- measure --ovmf "$A" --vcpus 2x --vcpu-type EPYC
expect 2 "unknown vmm" -- measure $base --vmm-type azure
output_has "unknown vmm msg" err "unknown --vmm-type 'azure'"
expect 2 "features without SNPActive" -- measure $base --guest-features 0x20
output_has "SNPActive msg" err "SNPActive"
expect 2 "bad features" -- measure $base --guest-features 12g
expect 2 "short ovmf hash" -- measure $base --snp-ovmf-hash 086e2e91
output_has "ovmf hash msg" err "exactly 96 hex digits"
expect 2 "initrd without kernel" -- measure $base --initrd /dev/null
output_has "initrd msg" err "only with --kernel"
expect 2 "append without kernel" -- measure $base --append quiet
expect 0 "empty append without kernel" -- measure $base --append ""
expect 2 "kernel, no hashes section" -- measure --ovmf "$X" --vcpus 1 --vcpu-type EPYC --kernel /dev/null
output_has "no hashes section msg" err "no SNP_KERNEL_HASHES section"
head -c 4095 "$A" >"$tmp/odd.fd"
expect 2 "odd-sized firmware" -- measure --ovmf "$tmp/odd.fd" --vcpus 1 --vcpu-type EPYC
output_has "odd size msg" err "not a non-zero multiple of 4096"
head -c 8192 /dev/zero >"$tmp/zero.fd"
expect 2 "no footer" -- measure --ovmf "$tmp/zero.fd" --vcpus 1 --vcpu-type EPYC
output_has "no footer msg" err "no footer GUID table"
expect 2 "unexpected argument" -- measure $base extra
expect 2 "unknown flag" -- measure $base --frobnicate
expect 0 "help" -- measure --help
output_has "help text" out "--snp-ovmf-hash HEX"
if have_file /usr/share/OVMF/OVMF_CODE_4M.fd; then
    expect 2 "debian 4M refused" -- measure --ovmf /usr/share/OVMF/OVMF_CODE_4M.fd --vcpus 1 --vcpu-type EPYC-v4
    output_has "4M msg" err "no SEV metadata"
fi
finish
