#!/usr/bin/env bash
# Install the Debian 12 packages verdict builds, tests and runs with (needs root), or with
# --list just print them. One list for README's setup command and for CI (.ci/run).
# Which package provides what: README.md.
set -euo pipefail
packages=(
    build-essential cmake pkg-config     # compiler, build
    libssl-dev                           # OpenSSL 3: X.509, RSA-PSS, CRLs, signing, TLS
    nettle-dev libgmp-dev                # Nettle: ECDSA P-384 report signatures
    libjansson-dev                       # JSON output
    libcmocka-dev                        # unit tests
    libyaml-dev                          # policy files
    libsqlite3-dev                       # policy store, certificate cache
    libcurl4-openssl-dev                 # KDS client
    libcbor-dev                          # the CBOR configfs-tsm envelope (Veraison +cbor)
    clang clang-format libclang-rt-14-dev  # fuzzers (libFuzzer), sanitizers, format check
    clang-tidy cppcheck                  # static analysis (scripts/lint.sh)
    python3 openssl                      # CLI end-to-end test, mock KDS, test tooling
    python3-cryptography python3-jwt     # independent EAR token checks (tests/cli/ear_kbs_check.py)
    ovmf                                 # measure tests: Debian's OVMF_CODE.fd, OVMF_CODE_4M.fd
    libnghttp2-dev                       # server: HTTP/2 (h2, h2c)
    libevent-dev                         # server: event loop, bufferevents, OpenSSL glue
    libhttp-parser-dev                   # server: HTTP/1.1 request parser
    nghttp2-client                       # server tests: nghttp client
    curl                                 # server tests: HTTP/1.1, h2c and TLS client
    python3-h2                           # server tests: raw HTTP/2 frames (h2raw.py)
    python3-requests                     # API tests: a Python HTTP/1.1 client (tests/api)
    systemd                              # deploy tests: systemd-analyze verify/security of the unit
    help2man                             # man pages generated from --help (cmake --install, .deb)
    python3-yaml bash-completion         # deploy tests: Kubernetes manifests, bash completion
    dpkg-dev fakeroot                    # cpack -G DEB
    chromium chromium-driver python3-selenium  # playground tests: headless browser (tests/api/test_ui.py)
    jq                                   # the shell relying-party example (deploy/examples/relying-party)
    python3-jsonschema                   # API reference test: real answers against docs/openapi.yaml
    podman runc netavark iptables debootstrap  # deploy test: the Containerfile built and run (tests/deploy/test_container_image.sh)
)
if [ "${1:-}" = "--list" ]; then
    echo "${packages[@]}"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
else
    sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
