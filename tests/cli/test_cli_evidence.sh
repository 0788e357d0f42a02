#!/bin/sh
# verdict evidence collect on the real binary: usage, and trees that are not an SEV-SNP guest's
# configfs-tsm (the protocol itself, races and the binding are tests/unit/test_evidence_collect.c,
# which plays the kernel). Usage: test_cli_evidence.sh VERDICT
bin=$1
. "$(dirname "$0")/lib.sh"

expect 0 "help" -- evidence collect --help
output_has "help names the default tree" out "/sys/kernel/config/tsm/report"
expect 2 "no subcommand" -- evidence
expect 2 "unknown subcommand" -- evidence gather
expect 2 "unknown binding" -- evidence collect --binding sha384-jcs --tsm-dir "$tmp"
output_has "binding named" err "--binding"
expect 2 "nonce not base64" -- evidence collect --nonce 'not base64!' --tsm-dir "$tmp"
expect 2 "stray argument" -- evidence collect extra
expect 2 "runtime data missing" -- evidence collect --runtime-data "$tmp/none" --tsm-dir "$tmp"
output_has "runtime data file named" err "$tmp/none"
head -c 70 /dev/zero >"$tmp/rd70"
expect 2 "raw binding over 64 bytes" -- evidence collect --runtime-data "$tmp/rd70" --tsm-dir "$tmp"
output_has "raw overflow explained" err "sha512"

expect 2 "no configfs-tsm tree" -- evidence collect --tsm-dir "$tmp/missing"
output_has "says what is needed" err "Linux 6.7"
mkdir "$tmp/tsm"
expect 2 "entry without a provider" -- evidence collect --nonce AAAA --tsm-dir "$tmp/tsm"
output_has "no provider" err "no provider"
[ -z "$(ls "$tmp/tsm")" ] && passed=$((passed + 1)) || {
    failed=$((failed + 1))
    echo "FAIL: the report entry was left behind"
}
: >"$tmp/plain"
expect 2 "a file, not a tree" -- evidence collect --tsm-dir "$tmp/plain"
finish
