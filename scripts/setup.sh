#!/usr/bin/env bash
# Fresh Debian 12 machine -> built verdict, checked against a real AMD Turin report.
# scripts/serve.sh runs this, then starts the service.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
vec=${VERDICT_VECTORS:-../shared/vectors}
echo
echo "built: build/verdict"
if [ -f "$vec/mstav-tests/turin_attestation_report.bin" ]; then
    echo "verifying a real Turin report from $vec:"
    build/verdict verify --report "$vec/mstav-tests/turin_attestation_report.bin" \
        --certs "$vec/mstav-tests/turin_vcek.pem" --certs "$vec/mstav-tests/turin_ask.pem" \
        --certs "$vec/amd-roots-mstav/turin_ark.pem"
fi
