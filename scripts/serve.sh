#!/usr/bin/env bash
# Fresh Debian 12 machine -> verdict built and serving (README's first command).
#
# Installs the packages and builds (scripts/setup.sh), then runs `verdict serve` on its embedded
# defaults in ./run: h2c and HTTP/1.1 on 127.0.0.1:8080, the SQLite database, the result-signing
# key and the challenge secret created there on first start. Admin endpoints need a bearer
# token: VERDICT_ADMIN_TOKEN if set, else one generated once into run/admin-token (0600).
# Extra arguments go to `verdict serve` (e.g. --listen 127.0.0.1:9090). Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p run
if [ -z "${VERDICT_ADMIN_TOKEN:-}" ]; then
    if [ ! -s run/admin-token ]; then
        (umask 077 && openssl rand -hex 24 >run/admin-token)
    fi
    VERDICT_ADMIN_TOKEN=$(cat run/admin-token)
    export VERDICT_ADMIN_TOKEN
    echo "admin token: run/admin-token"
fi
cd run
exec ../build/verdict serve "$@"
