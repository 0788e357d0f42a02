#!/bin/sh
# `cmake --install` into a scratch prefix: the binary, a man page for verdict and for every
# command `verdict --help` lists, the bash completion, the systemd unit (naming the configured
# binary), sysusers.d and tmpfiles.d entries, the configuration, the documentation and the
# example policies (each still valid). Also the Debian maintainer scripts parse.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
build=$1
src=$2
bin=$build/verdict
. "$src/tests/cli/lib.sh"
p=$tmp/prefix
expect_cmd 0 "cmake --install" -- cmake --install "$build" --prefix "$p"

has_file() {
    if [ -f "$p/$1" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: not installed: $1"
    fi
}
has_file bin/verdict
has_file share/bash-completion/completions/verdict
has_file lib/systemd/system/verdict.service
has_file lib/sysusers.d/verdict.conf
has_file lib/tmpfiles.d/verdict.conf
has_file etc/verdict/verdict.yaml
has_file share/doc/verdict/README.md
has_file share/doc/verdict/configuration.md
has_file share/doc/verdict/operations.md
has_file share/doc/verdict/evidence.md
has_file share/doc/verdict/examples/verdict.example.yaml
has_file share/doc/verdict/examples/key-broker/broker.py
has_file share/doc/verdict/examples/relying-party/relying_party.py
expect 0 "the key broker's policy validates" -- policy validate \
    "$p/share/doc/verdict/examples/key-broker/fde-boot.yaml"
expect 0 "the key broker's vTPM policy validates" -- policy validate \
    "$p/share/doc/verdict/examples/key-broker/fde-boot-azure.yaml"

if command -v help2man >/dev/null 2>&1; then
    has_file share/man/man1/verdict.1.gz
    for c in $("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\)  .*/\1/p'); do
        [ "$c" = version ] && continue
        has_file "share/man/man1/verdict-$c.1.gz"
        # The page is the command's --help: its first option is in it.
        opt=$("$bin" "$c" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | grep -v -- --help | head -1)
        if [ -n "$opt" ] && ! gzip -dc "$p/share/man/man1/verdict-$c.1.gz" |
            sed 's/\\-/-/g' | grep -qF -- "$opt"; then
            failed=$((failed + 1))
            echo "FAIL: verdict-$c.1 lacks $opt"
        fi
    done
else
    echo "help2man not installed: man pages not checked"
fi

# The installed unit runs the installed binary; the example policies are valid.
expect_cmd 0 "unit names the binary" -- grep -q "^ExecStart=.*/bin/verdict serve --config " \
    "$p/lib/systemd/system/verdict.service"
for f in "$p"/share/doc/verdict/examples/policies/*.yaml; do
    expect 0 "example policy $(basename "$f") validates" -- policy validate "$f"
done
n=$(ls "$p"/share/doc/verdict/examples/policies/*.yaml | wc -l)
expect_cmd 0 "example policies installed ($n)" -- test "$n" -ge 3

for s in postinst prerm postrm; do
    expect_cmd 0 "$s parses" -- sh -n "$src/deploy/debian/$s"
done
finish
