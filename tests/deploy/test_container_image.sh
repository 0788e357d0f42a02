#!/bin/sh
# deploy/container/Containerfile built and run for real, with Debian 12's own tools only (no
# registry is needed): debootstrap makes the debian:12-slim equivalent from the Debian mirror apt
# uses here, podman imports it as localhost/debian:12-slim and builds the image on it, then runs
# it as the Containerfile's header says (read-only root, tmpfs /tmp, a state volume, the port
# published on 127.0.0.1) and checks: uid 10001, the root file system is read-only, /healthz and
# /readyz, a real Turin report through POST /v1/attest gives an affirming token that verifies
# against /.well-known/jwks.json, the image's HEALTHCHECK passes (`podman healthcheck run`), and
# the state volume keeps the signing key and the audit log across a restart and across a new
# container (host network, another port: the health check follows VERDICT_LISTEN).
#
# Everything lives in a private podman store under a scratch directory, removed at the end (the
# machine's own images and containers are not touched). Needs root, podman, runc, debootstrap
# (scripts/deps.sh) and the Debian mirror; exits 77 (skip) when podman cannot run containers
# here, printing why. Takes 1.5 to 3 minutes on 2 cores, most of it the two apt-get runs and the
# compile inside the build.
# Usage: test_container_image.sh SOURCE_DIR VECTORS
src=$1
bin=/bin/false # lib.sh wants one; every check here runs a command of its own
export TMPDIR="${TMPDIR:-/var/tmp}" # the image store: about 1.5 GB, rather on disk than in /tmp
. "$src/tests/cli/lib.sh"
need_vectors "$2"
start=$(date +%s)

skip() {
    echo "skipping: $*"
    exit 77
}
# A check that prints what it checked: expect_cmd, then "ok" or its FAIL lines.
check() {
    f=$failed
    expect_cmd "$@"
    [ "$failed" -eq "$f" ] && echo "ok: $2"
}

[ "$(id -u)" -eq 0 ] || skip "needs root (rootless podman needs subuids set up for this user)"
for t in podman runc debootstrap curl; do
    command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh)"
done

# The Debian mirror apt uses on this machine (deb822 or one-line sources), security included.
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ')
security=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian-security/?( |$)' | head -1 | tr -d ' ')
mirror=${VERDICT_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}
security=${VERDICT_DEBIAN_SECURITY:-${security:-http://deb.debian.org/debian-security}}
echo "Debian mirror: $mirror, security: $security"

# Limits: a container may not raise a limit above the caller's (no CAP_SYS_RESOURCE in some
# sandboxes), and podman asks for more by default, so ask for the caller's own hard limits.
nofile=$(awk '/^Max open files/ { print $5 }' /proc/self/limits)
nproc=$(awk '/^Max processes/ { print $4 }' /proc/self/limits)
{ [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
ulimits="--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"
# runc, not crun: Debian 12's crun refuses hosts with hybrid cgroups (v1 controllers plus a v2
# mount), runc runs on those and on pure cgroup v2 alike.
driver=${VERDICT_STORAGE_DRIVER:-overlay}
P="podman --root $tmp/storage --runroot $tmp/run --storage-driver $driver --runtime runc"
ctr=verdict-image-test-$$
cleanup() {
    $P rm -f -t 0 "$ctr" "$ctr-2" >/dev/null 2>&1
    $P volume rm -f "$ctr-state" >/dev/null 2>&1
    $P rmi -af >/dev/null 2>&1
    findmnt -rn -o TARGET | grep "^$tmp/" | sort -r | xargs -r umount -l 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The base image: debootstrap's minbase is what debian:12-slim is built from.
t0=$(date +%s)
if ! debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -5 "$tmp/debootstrap.log"
    skip "debootstrap from $mirror failed (no mirror reachable?)"
fi
rm -f "$tmp/rootfs/etc/apt/sources.list"
cat >"$tmp/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -rf "$tmp/rootfs/var/cache/apt/"*.bin "$tmp/rootfs/var/lib/apt/lists/"*
tar -C "$tmp/rootfs" -c . | $P import - localhost/debian:12-slim >"$tmp/import.log" 2>&1 ||
    skip "podman import failed"
rm -rf "$tmp/rootfs"
echo "base image: debootstrap and import in $(($(date +%s) - t0)) s"
if ! $P run --rm $ulimits localhost/debian:12-slim true >"$tmp/probe" 2>&1; then
    cat "$tmp/probe"
    skip "podman cannot run a container here"
fi

# Publishing a port needs the bridge network (netavark, iptables), which a sandbox may lack;
# then the first container runs on the host network as the second does.
if $P run --rm $ulimits -p "127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'):8080" \
    localhost/debian:12-slim true >"$tmp/probe" 2>&1; then
    publish=1
else
    cat "$tmp/probe"
    echo "note: no bridge network here (above); the first container uses the host network too"
    publish=0
fi

# The build, on the host's network (it reaches the mirror apt uses; a bridge need not exist).
# --format docker: the OCI image format has no HEALTHCHECK (podman drops it).
t0=$(date +%s)
check 0 "podman build (log: last lines on failure)" -- $P build --network host --format docker $ulimits \
    --build-arg DEBIAN_IMAGE=localhost/debian:12-slim -f "$src/deploy/container/Containerfile" \
    -t localhost/verdict:test "$src"
if [ "$failed" -ne 0 ]; then
    tail -40 "$tmp/out" "$tmp/err"
    finish
fi
echo "image built in $(($(date +%s) - t0)) s, $($P image inspect localhost/verdict:test --format '{{.Size}}') bytes"
check 0 "the image runs as 10001:10001" -- \
    test "$($P image inspect localhost/verdict:test --format '{{.Config.User}}')" = 10001:10001
$P image inspect localhost/verdict:test >"$tmp/out"
output_has "the image keeps its HEALTHCHECK" out '"Healthcheck"'

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_healthz() { # PORT: until the server answers (it generates its key on first start)
    i=0
    until curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 200 ] || return 1
        sleep 0.3
    done
}
kid() { # PORT: the signing key ids in the JWKS
    curl -fsS "http://127.0.0.1:$1/.well-known/jwks.json" |
        python3 -c 'import json, sys; print(" ".join(k["kid"] for k in json.load(sys.stdin)["keys"]))'
}

# Run as the Containerfile's header says. The health check's timer needs systemd, which a
# sandbox may lack: disable the timer and run the check by hand.
port=$(free_port)
$P volume create "$ctr-state" >/dev/null
if [ "$publish" = 1 ]; then
    net="-p 127.0.0.1:$port:8080"
else
    net="--network host -e VERDICT_LISTEN=127.0.0.1:$port"
fi
# shellcheck disable=SC2086 # $net is meant to split into words
check 0 "podman run --read-only --tmpfs /tmp -v STATE $net" -- \
    $P run -d --name "$ctr" $ulimits --health-interval disable --read-only --tmpfs /tmp \
    -v "$ctr-state:/var/lib/verdict" $net \
    -e VERDICT_ADMIN_TOKEN=test-admin-token localhost/verdict:test
check 0 "/healthz answers" -- wait_healthz "$port"
[ "$failed" -eq 0 ] || { $P logs "$ctr"; finish; }
check 0 "the server runs as uid 10001" -- \
    test "$($P top "$ctr" huser | sed 1d | sort -u)" = 10001
check 0 "... and so does podman exec" -- test "$($P exec "$ctr" id -u)" = 10001
check 1 "the root file system is read-only" -- $P exec "$ctr" touch /usr/bin/written
check 0 "/tmp is writable" -- $P exec "$ctr" touch /tmp/written
check 0 "/readyz answers ready" -- curl -fsS "http://127.0.0.1:$port/readyz"
output_has "/readyz says ready" out '"ready"'

python3 - "$vec" >"$tmp/turin.json" <<'PY'
import base64, json, sys
v = sys.argv[1]; rd = lambda p: open(v + "/" + p, "rb").read()
print(json.dumps({"evidence": {
    "report": base64.b64encode(rd("mstav-tests/turin_attestation_report.bin")).decode(),
    "certs": [rd(p).decode() for p in ("mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
                                        "amd-roots-mstav/turin_ark.pem")]}}))
PY
check 0 "POST /v1/attest with the Turin report (mstav-tests)" -- curl -fsS \
    -H 'content-type: application/json' --data-binary "@$tmp/turin.json" \
    "http://127.0.0.1:$port/v1/attest"
json_has "the answer is affirming with a token" 'j["status"] == "affirming" and j["token"].count(".") == 2'
token=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$tmp/out")
check 0 "the token verifies against /.well-known/jwks.json (verdict token verify in the image)" -- \
    $P exec "$ctr" verdict token verify "$token" --jwks http://127.0.0.1:8080/.well-known/jwks.json
output_has "... and is affirming" out "token: affirming"
check 0 "podman healthcheck run (the image's HEALTHCHECK)" -- $P healthcheck run "$ctr"
check 0 "... the container is healthy" -- \
    test "$($P inspect "$ctr" --format '{{.State.Health.Status}}')" = healthy
kid1=$(kid "$port")
echo "signing key id: $kid1"

check 0 "podman stop (SIGTERM)" -- $P stop -t 20 "$ctr"
check 0 "... the server exits 0" -- test "$($P inspect "$ctr" --format '{{.State.ExitCode}}')" = 0
check 0 "podman start" -- $P start "$ctr"
check 0 "/healthz answers after the restart" -- wait_healthz "$port"
check 0 "the same signing key after the restart" -- test "$(kid "$port")" = "$kid1"

# A new container on the same volume, on the host network with another port.
$P rm -f -t 20 "$ctr" >/dev/null
port2=$(free_port)
check 0 "a new container on the same volume (--network host, VERDICT_LISTEN=127.0.0.1:$port2)" -- \
    $P run -d --name "$ctr-2" $ulimits --health-interval disable --read-only --tmpfs /tmp \
    -v "$ctr-state:/var/lib/verdict" --network host -e "VERDICT_LISTEN=127.0.0.1:$port2" \
    localhost/verdict:test
check 0 "/healthz answers" -- wait_healthz "$port2"
check 0 "the same signing key in the new container" -- test "$(kid "$port2")" = "$kid1"
check 0 "the audit log kept the appraisal" -- $P exec "$ctr-2" verdict audit list
output_has "... one affirming /v1/attest record" out "/v1/attest"
check 0 "podman healthcheck run on the new port" -- $P healthcheck run "$ctr-2"
echo "total $(($(date +%s) - start)) s"
finish
