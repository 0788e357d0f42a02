#!/bin/sh
# Print the Debian packages that provide the shared libraries BINARY links (one per line,
# sorted): what the runtime image must install. Used by the Containerfile's build stage, so the
# list follows the binary (verdict serve adds nghttp2, libevent, ...) without being kept by hand.
# Fails if a library belongs to no package. Usage: runtime-deps.sh BINARY
set -eu
bin=$1
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
[ -n "$libs" ] || {
    echo "runtime-deps.sh: $bin links no shared libraries?" >&2
    exit 1
}
for lib in $libs; do
    # Debian 12 registers a library under /lib or /usr/lib (merged /usr): match its name only.
    pkg=$(dpkg -S "*/$(basename "$lib")" 2>/dev/null | cut -d: -f1 | sort -u | head -1)
    if [ -z "$pkg" ]; then
        echo "runtime-deps.sh: no package provides $lib" >&2
        exit 1
    fi
    echo "$pkg"
done | sort -u
