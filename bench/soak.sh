#!/usr/bin/env bash
# Soak of `verdict serve` (issue #10): about 10 minutes of mixed traffic (attest over h2c and
# HTTP/1.1, challenges, policy reads and writes, metrics, malformed requests) against a real
# server on loopback, printing its RSS and open descriptors over time and whether they stayed
# flat. Figures only, nothing asserted on time; not part of ctest. docs/assurance.md keeps a run.
# Usage: bench/soak.sh BUILD_DIR [VECTORS_DIR]
#   SOAK_SECONDS (default 600), SOAK_INTERVAL (sample period, default 30), SOAK_PAUSE (seconds
#   each load thread sleeps between requests, default 0.02)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: soak.sh BUILD_DIR [VECTORS_DIR]}
vectors=${2:-$here/../../shared/vectors}
exec /usr/bin/python3 "$here/soak.py" "$build/verdict" "$vectors"
