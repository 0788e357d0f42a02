#!/bin/sh
# End-to-end test of `verdict audit list|show|export` on records written by the real audit
# writer (tests/support/auditfill.c): filters, limits, JSON lines, exit codes.
# usage: test_cli_audit.sh VERDICT_BINARY AUDITFILL_BINARY
set -u
bin=$1
fill=$2
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
db="$tmp/audit.db"

# JSON lines on stdout: every line an object; PY-EXPR over `rows` (the list).
lines_have() {
    if $py -c "
import json, sys
rows = [json.loads(l) for l in open('$tmp/out') if l.strip()]
sys.exit(0 if ($2) else 1)"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1: $2"
        head -5 "$tmp/out" | sed 's/^/  | /'
    fi
}

count_lines() { # DESC FILE N
    n=$(wc -l <"$2")
    if [ "$n" -eq "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1: $n lines, expected $3"; fi
}

expect 2 "no database" -- audit list --db "$tmp/none.db"
output_has "no database message" err "no database at $tmp/none.db"
expect_cmd 0 "fill" -- "$fill" "$db" 60

# ---- list -------------------------------------------------------------------------------------
expect 0 "list" -- audit list --db "$db"
output_has "list header" out "ID       TIME"
count_lines "list default limit 50 (+ header)" "$tmp/out" 51
output_has "list newest first" out "recent-1"
expect 0 "list --json --limit 3" -- audit list --db "$db" --json --limit 3
lines_have "three, newest first" "len(rows) == 3 and rows[0]['id'] > rows[1]['id'] > rows[2]['id'] and rows[0]['request_id'] == 'recent-1'"
expect 0 "list --limit 0 (all)" -- audit list --db "$db" --json --limit 0
lines_have "all 62" "len(rows) == 62"
expect 0 "list --status warning" -- audit list --db "$db" --json --status warning --limit 0
lines_have "only warnings" "len(rows) == 15 and all(r['status'] == 'warning' for r in rows)"
expect 0 "list between" -- audit list --db "$db" --json --since 2026-01-01T00:00:10Z --until 2026-01-01T00:00:20Z
lines_have "ten in the window" "sorted(r['request_id'] for r in rows) == sorted('req-%d' % i for i in range(10, 20))"
VERDICT_DB="$db" expect 0 "list --since 1d (VERDICT_DB)" -- audit list --json --since 1d
lines_have "only the recent ones" "sorted(r['request_id'] for r in rows) == ['recent-0', 'recent-1']"
expect 2 "bad --since" -- audit list --db "$db" --since yesterday
output_has "bad --since message" err "--since 'yesterday' is neither an RFC 3339 time nor an age"
expect 2 "bad --limit" -- audit list --db "$db" --limit -4
expect 2 "list extra argument" -- audit list --db "$db" stray
expect 2 "unknown option" -- audit list --db "$db" --verbose

# ---- show -------------------------------------------------------------------------------------
expect 0 "show by request id" -- audit show --db "$db" req-3
output_has "show request id" out "request id    req-3"
output_has "show policy" out "policy        prod version 2"
output_has "show failed checks" out "failed checks policy.measurement, policy.tcb.snp"
output_has "show time" out "2026-01-01T00:00:03Z"
output_has "show chip" out "chip id       59790fb1c39f35c1"
expect 0 "show by number --json" -- audit show --db "$db" 2 --json
lines_have "record 2 is req-1" "len(rows) == 1 and rows[0]['id'] == 2 and rows[0]['request_id'] == 'req-1' and rows[0]['policy'] is None and rows[0]['time'] == '2026-01-01T00:00:01.250Z'"
expect 1 "show missing" -- audit show --db "$db" no-such-request
output_has "show missing message" err "no record no-such-request"
expect 2 "show without argument" -- audit show --db "$db"

# ---- export -----------------------------------------------------------------------------------
expect 0 "export to stdout" -- audit export --db "$db"
lines_have "export all, oldest first" "len(rows) == 62 and [r['id'] for r in rows] == sorted(r['id'] for r in rows) and rows[0]['request_id'] == 'req-0' and rows[3]['failed_checks'] == ['policy.measurement', 'policy.tcb.snp']"
expect 0 "export to a file" -- audit export --db "$db" --status none "$tmp/export.jsonl"
output_has "export count" err "15 records written to $tmp/export.jsonl"
count_lines "export file" "$tmp/export.jsonl" 15
expect 0 "export -" -- audit export --db "$db" --since 2026-01-01T00:00:58Z -
lines_have "export since" "[r['request_id'] for r in rows] == ['req-58', 'req-59', 'recent-0', 'recent-1']"
expect 2 "export --limit refused" -- audit export --db "$db" --limit 3
expect 2 "export to an unwritable place" -- audit export --db "$db" "$tmp/no/such/dir/x.jsonl"

# ---- usage ------------------------------------------------------------------------------------
expect 0 "help" -- audit --help
output_has "help text" out "verdict audit list"
expect 2 "no subcommand" -- audit
expect 2 "unknown subcommand" -- audit purge
expect 0 "top-level usage names audit" -- help
output_has "usage lists audit" out "audit     list, show and export"

finish
