#!/bin/sh
# End-to-end test of the shared database's availability (issue #7, defect 8): many processes
# creating it at once, a file that cannot be written, a file that is not a database. Reads work
# and a broken cache is a warning when the evidence carries every certificate.
# usage: test_cli_db.sh VERDICT_BINARY VECTORS_DIR
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
need_vectors "$2"
at=2026-06-01T00:00:00Z
ev="--report $vec/veraison-tsm/derived/outblob_report.bin --cert-table $vec/veraison-tsm/derived/auxblob_certtable.bin --at $at --offline"

# Concurrent first opens: every process succeeds (no "database is locked").
for round in 1 2 3; do
    pids=""
    for i in 1 2 3 4 5 6 7 8; do
        if [ $((i % 2)) -eq 0 ]; then
            "$bin" policy list --db "$tmp/new$round.db" >"$tmp/o$i" 2>&1 &
        else
            "$bin" certs list --db "$tmp/new$round.db" >"$tmp/o$i" 2>&1 &
        fi
        pids="$pids $!"
    done
    for p in $pids; do
        expect_cmd 0 "concurrent first open round $round (pid $p)" -- wait "$p"
    done
    if grep -l "locked" "$tmp"/o* >/dev/null 2>&1; then
        failed=$((failed + 1))
        echo "FAIL: concurrent first open: database is locked"
        cat "$tmp"/o*
    fi
done

# A file of garbage as the database: verify with complete evidence still works, with a warning.
head -c 8192 /dev/urandom >"$tmp/garbage.db"
expect 0 "verify with a garbage cache" -- verify $ev --db "$tmp/garbage.db"
output_has "garbage cache warning" err "warning: certificate cache $tmp/garbage.db is not usable"
expect 2 "certs import into a garbage cache" -- certs import "$tmp/garbage.db" --db "$tmp/garbage.db"

# A database this process cannot write: read it (as nobody when we are root).
mkdir "$tmp/ro"
expect 0 "create the database" -- certs list --db "$tmp/ro/ro.db"
chmod 0444 "$tmp/ro/ro.db"
chmod 0755 "$tmp" "$tmp/ro"
as_reader=""
if [ "$(id -u)" -eq 0 ]; then
    as_reader="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
expect_cmd 0 "policy list on a read-only database" -- $as_reader "$bin" policy list --db "$tmp/ro/ro.db"
expect_cmd 0 "verify on a read-only database" -- $as_reader "$bin" verify $ev --db "$tmp/ro/ro.db"
output_has "read-only warning" err "is read-only"
expect_cmd 0 "certs list on a read-only database" -- $as_reader "$bin" certs list --db "$tmp/ro/ro.db"
chmod 0700 "$tmp"
finish
