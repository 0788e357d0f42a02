#!/bin/sh
# deploy/systemd/verdict.service: `systemd-analyze verify` accepts it (with ExecStart pointed at
# the built binary, since /usr/bin/verdict is not installed here), its offline security exposure
# stays at or below 2.0 ("OK"), and the directives the deployment relies on are present.
# Skips (77) without systemd-analyze. Usage: test_systemd.sh VERDICT UNIT
bin=$1
unit=$2
. "$(dirname "$0")/../cli/lib.sh"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not installed (apt-get install systemd): skipping"
    exit 77
fi
sed "s|/usr/bin/verdict|$bin|g" "$unit" >"$tmp/verdict.service"

# --man=no: the man pages named in Documentation= are installed by the package, not here.
expect_cmd 0 "systemd-analyze verify" -- systemd-analyze verify --man=no "$tmp/verdict.service"
if [ -s "$tmp/err" ]; then
    failed=$((failed + 1))
    echo "FAIL: systemd-analyze verify printed warnings:"
    sed 's/^/  | /' "$tmp/err"
fi
expect_cmd 0 "security exposure <= 2.0" -- \
    systemd-analyze security --offline=yes --threshold=20 "$tmp/verdict.service"
grep 'Overall exposure' "$tmp/out"

# What the deployment depends on (a change that drops one must be deliberate).
for d in 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' 'CapabilityBoundingSet=$' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'StateDirectory=verdict' \
    'SystemCallFilter=@system-service' 'ExecReload=/bin/kill -HUP $MAINPID' 'User=verdict' \
    'WorkingDirectory=/var/lib/verdict' 'ExecStart=/usr/bin/verdict serve --config /etc/verdict/verdict.yaml'; do
    if grep -q "^$d" "$unit"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $unit lacks $d"
    fi
done

# A unit that breaks the rules is refused by the same checks (the test can fail).
sed 's/^ProtectSystem=strict/ProtectSystem=bogus/' "$tmp/verdict.service" >"$tmp/bad.service"
expect_cmd 0 "a bad directive is reported" -- systemd-analyze verify --man=no "$tmp/bad.service"
output_has "the warning that fails the check above" err "Failed to parse"
grep -v -e '^Protect' -e '^Private' -e '^Restrict' -e '^SystemCall' -e '^Capability' \
    -e '^NoNewPrivileges' "$tmp/verdict.service" >"$tmp/verdict.service.weak"
mv "$tmp/verdict.service.weak" "$tmp/weak.service"
expect_cmd 1 "an unhardened unit exceeds the threshold" -- \
    systemd-analyze security --offline=yes --threshold=20 "$tmp/weak.service"
finish
