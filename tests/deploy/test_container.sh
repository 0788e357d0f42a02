#!/bin/sh
# deploy/container, checked quickly by reading (test_container_image.sh builds and runs it for
# real, where podman can): two stages on debian:12-slim, the build stage installing every library
# scripts/deps.sh builds with, the final one non-root with the state volume, a health check on
# /healthz, every COPY --from naming a stage; and its helper runtime-deps.sh runs on the built
# binary (every package it names exists and is installed here, libssl3 among them).
# Usage: test_container.sh VERDICT SOURCE_DIR
bin=$1
src=$2
. "$src/tests/cli/lib.sh"
cf=$src/deploy/container/Containerfile

expect_cmd 0 "runtime-deps.sh" -- "$src/deploy/container/runtime-deps.sh" "$bin"
cp "$tmp/out" "$tmp/pkgs"
for p in libc6 libssl3 libjansson4 libsqlite3-0 libyaml-0-2 libcurl4; do
    output_has "runtime package $p" out "$p"
done
while read -r p; do
    expect_cmd 0 "$p is a Debian package installed here" -- dpkg -s "$p"
done <"$tmp/pkgs"
expect_cmd 1 "runtime-deps.sh refuses a file that is not a binary" -- \
    "$src/deploy/container/runtime-deps.sh" "$cf"

# The final stage (everything after the last FROM), continuation lines joined.
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$cf" |
    awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' >"$tmp/final"
expect_cmd 0 "two stages on Debian 12 slim" -- \
    test "$(grep -c '^FROM \${DEBIAN_IMAGE}' "$cf")" -eq 2
expect_cmd 0 "the base is debian:12-slim" -- grep -q '^ARG DEBIAN_IMAGE=debian:12-slim$' "$cf"
# The build stage (between the two FROMs) installs every lib*-dev package scripts/deps.sh builds
# with (not the test-only ones): a missing one fails only in a real build.
awk '/^FROM /{n++} n == 1' "$cf" >"$tmp/build-stage"
for p in $("$src/scripts/deps.sh" --list | tr ' ' '\n' | grep -- '^lib.*-dev$' |
    grep -v -e '^libcmocka-dev$' -e '^libclang-rt-'); do
    expect_cmd 0 "the build stage installs $p" -- grep -qw -- "$p" "$tmp/build-stage"
done
expect_cmd 0 "non-root user" -- grep -q '^USER 10001:10001$' "$tmp/final"
expect_cmd 0 "state volume" -- grep -q '^VOLUME \["/var/lib/verdict"\]$' "$tmp/final"
expect_cmd 0 "health check on /healthz" -- grep -q '^HEALTHCHECK .*/healthz' "$tmp/final"
expect_cmd 0 "runs verdict" -- grep -q '^ENTRYPOINT \["/usr/bin/verdict"\]$' "$tmp/final"
expect_cmd 1 "no compiler in the final stage" -- grep -q 'build-essential' "$tmp/final"
for s in $(sed -n 's/^COPY --from=\([^ ]*\) .*/\1/p' "$cf"); do
    expect_cmd 0 "COPY --from=$s names a stage" -- grep -q "^FROM .* AS $s\$" "$cf"
done
finish
