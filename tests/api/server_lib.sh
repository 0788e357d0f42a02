# Shared helpers for the shell tests of `verdict serve` (sourced after ../cli/lib.sh; `bin` is
# the verdict binary). One server at a time, always stopped on exit:
#   start_server DIR ARGS...   run verdict serve in DIR on a free loopback port; sets $addr
#   stop_server                SIGTERM and wait
srv_pid=
stop_server() {
    if [ -n "$srv_pid" ]; then
        kill -TERM "$srv_pid" 2>/dev/null
        srv_rc=0
        wait "$srv_pid" 2>/dev/null || srv_rc=$?
        srv_pid=
        if [ "$srv_rc" -ne 0 ]; then
            # A crash or a sanitizer report: the server's own words are the evidence.
            echo "FAIL: verdict serve exited $srv_rc; its stderr:"
            tail -n 60 "$dir/stderr" 2>/dev/null
            failed=$((failed + 1))
        fi
    fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

start_server() {
    dir=$1
    shift
    mkdir -p "$dir"
    # Emptied here, not only by the redirection below: that runs in the background, and a
    # previous server's "listening on" line in the same DIR must not be read as this one's.
    : >"$dir/stdout"
    (cd "$dir" && exec "$bin" serve --listen 127.0.0.1:0 --db "$dir/verdict.db" "$@" \
        >"$dir/stdout" 2>"$dir/stderr") &
    srv_pid=$!
    addr=
    i=0
    while [ $i -lt 100 ] && [ -z "$addr" ]; do
        addr=$(sed -n 's|.*listening on https\{0,1\}://\([^ ]*\).*|\1|p' "$dir/stdout" 2>/dev/null |
            head -n 1)
        [ -n "$addr" ] || sleep 0.1
        i=$((i + 1))
    done
    if [ -z "$addr" ]; then
        echo "FAIL: the server did not start"
        cat "$dir/stdout" "$dir/stderr"
        exit 1
    fi
}
