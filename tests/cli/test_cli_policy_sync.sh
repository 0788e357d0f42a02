#!/bin/sh
# verdict policy sync DIR: the store's active policies become exactly DIR's files, atomically;
# a ConfigMap-shaped directory (symlinks into ..data) works; nothing changes on any error or in
# a dry run; an empty directory is refused unless --allow-empty.
# Usage: test_cli_policy_sync.sh VERDICT
bin=$1
. "$(dirname "$0")/lib.sh"
export VERDICT_DB="$tmp/sync.db"
d=$tmp/policies
mkdir -p "$d"

policy() { # FILE NAME DEBUG
    printf 'name: %s\nsnp:\n  guest_policy:\n    debug: %s\n  freshness: raw\n' "$2" "$3" >"$1"
}

active() { # the active policy names, one line, sorted
    "$bin" policy list 2>/dev/null | awk '{print $1}' | sort | tr '\n' ' '
}

expect_active() { # DESC NAMES
    got=$(active)
    if [ "$got" = "$2" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1: active policies are '$got', expected '$2'"
    fi
}

policy "$d/a.yaml" alpha forbidden
policy "$d/b.yml" beta forbidden
echo "not a policy" >"$d/README.md"
expect 0 "first sync" -- policy sync "$d"
output_has "alpha imported" out "alpha version 1 (new, active)"
expect_active "both imported" "alpha beta "

expect 0 "same files again" -- policy sync "$d"
output_has "nothing new" out "2 policies, 0 new versions, 0 deactivated"

policy "$d/a.yaml" alpha allowed
rm "$d/b.yml"
expect 0 "dry run" -- policy sync --dry-run "$d"
output_has "dry run says beta would go" out "beta: would be deactivated"
output_has "dry run says nothing changed" out "(nothing was changed)"
expect_active "dry run changed nothing" "alpha beta "
expect 0 "show alpha after dry run" -- policy show alpha
output_has "alpha still the old text" out "debug: forbidden"

expect 0 "a change and a removal" -- policy sync "$d"
output_has "alpha version 2" out "alpha version 2 (new, active)"
output_has "beta deactivated" out "beta: deactivated"
expect_active "beta is gone" "alpha "
expect 0 "beta's history is kept" -- policy history beta

# Errors: nothing changes.
policy "$d/c.yaml" gamma forbidden
echo "name: broken" >"$d/d.yaml"
echo "  snp: [" >>"$d/d.yaml"
expect 2 "a file that does not compile" -- policy sync "$d"
output_has "nothing changed" err "nothing was changed"
expect_active "gamma not imported" "alpha "
rm "$d/d.yaml"
policy "$d/e.yaml" gamma forbidden
expect 2 "two files define one policy" -- policy sync "$d"
output_has "both define" err "both define policy \"gamma\""
expect_active "still only alpha" "alpha "
rm "$d/e.yaml"
mkdir "$d/dir.yaml"
expect 2 "a directory named like a policy" -- policy sync "$d"
rmdir "$d/dir.yaml"

mkdir "$tmp/empty"
expect 2 "an empty directory is refused" -- policy sync "$tmp/empty"
output_has "says why" err "--allow-empty"
expect_active "nothing deactivated" "alpha "
expect 2 "a missing directory" -- policy sync "$tmp/missing"
expect 2 "no directory" -- policy sync
expect 2 "two directories" -- policy sync "$d" "$d"

# A mounted ConfigMap: NAME -> ..data/NAME, ..data -> ..TIMESTAMP/.
cm=$tmp/configmap
mkdir -p "$cm/..2026_01_01_00_00_00.1"
policy "$cm/..2026_01_01_00_00_00.1/gamma.yaml" gamma forbidden
policy "$cm/..2026_01_01_00_00_00.1/delta.yaml" delta forbidden
ln -s ..2026_01_01_00_00_00.1 "$cm/..data"
ln -s ..data/gamma.yaml "$cm/gamma.yaml"
ln -s ..data/delta.yaml "$cm/delta.yaml"
expect 0 "sync from a ConfigMap mount" -- policy sync "$cm"
output_has "two files, alpha gone" out "2 policies, 2 new versions, 1 deactivated"
expect_active "exactly the ConfigMap's" "delta gamma "

expect 0 "--allow-empty deactivates everything" -- policy sync --allow-empty "$tmp/empty"
expect_active "none left" ""
expect 0 "help" -- policy sync --help
finish
