#!/bin/sh
# Generate the man pages of verdict and of each of its subcommands from one source, the built
# binary's --help (help2man, Debian package help2man). The subcommands are the ones
# `verdict --help` lists under "commands:", so a new subcommand gets its page without a change
# here. Writes OUTDIR/verdict.1.gz and OUTDIR/verdict-COMMAND.1.gz.
# Usage: genman.sh VERDICT OUTDIR VERSION
set -eu
bin=$1
out=$2
version=$3
command -v help2man >/dev/null 2>&1 || {
    echo "genman.sh: help2man is not installed (apt-get install help2man)" >&2
    exit 1
}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "  name      description" lines of the commands section, without `version`.
"$bin" --help | sed -n '/^commands:/,/^$/p' |
    sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1\t\2/p' | grep -v '^version' |
    sed 's/ *(verdict [a-z-]* --help)//' >"$work/commands"
[ -s "$work/commands" ] || {
    echo "genman.sh: $bin --help lists no commands" >&2
    exit 1
}

see_also() {
    printf '[SEE ALSO]\n'
    printf '.BR verdict (1)'
    cut -f1 "$work/commands" | while read -r c; do printf ',\n.BR verdict-%s (1)' "$c"; done
    printf '\n.PP\nThe documentation in /usr/share/doc/verdict: README.md, configuration.md,\n'
    printf 'operations.md, evidence.md, and the example policies and configuration in\n'
    printf '/usr/share/doc/verdict/examples.\n'
}
see_also >"$work/see-also.h2m"

page() { # NAME DESCRIPTION EXECUTABLE
    help2man --no-info --no-discard-stderr --version-string="$version" --name="$2" \
        --section=1 --source="verdict $version" --manual="verdict manual" \
        --include="$work/see-also.h2m" --output="$work/$1.1" "$3"
    gzip -n -9 -c "$work/$1.1" >"$out/$1.1.gz"
}

page verdict "remote attestation verifier for AMD SEV-SNP" "$bin"
tab=$(printf '\t')
while IFS="$tab" read -r c desc; do
    # help2man runs one executable: a wrapper named after the page runs the subcommand.
    printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$c" >"$work/verdict-$c"
    chmod +x "$work/verdict-$c"
    page "verdict-$c" "$desc" "$work/verdict-$c"
done <"$work/commands"
