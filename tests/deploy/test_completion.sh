#!/bin/bash
# deploy/completion/verdict.bash: source it and ask for completions the way bash does
# (COMP_WORDS, COMP_CWORD, then the function `complete -p verdict` names), against the built
# binary. Usage: test_completion.sh VERDICT COMPLETION_FILE
bin=$1
file=$2
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VERDICT_DB="$tmp/must-not-exist.db" HOME="$tmp/home" XDG_CACHE_HOME="$tmp/cache"
# shellcheck source=/dev/null
. "$file" || {
    echo "FAIL: cannot source $file"
    exit 1
}
func=$(complete -p verdict | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$func" ] || {
    echo "FAIL: no completion registered for verdict"
    exit 1
}

complete_line() { # WORDS... (the last one is the word being completed)
    COMP_WORDS=("$bin" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    "$func" verdict "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort >"$tmp/got"
}

expect_has() { # DESC WORD...: every WORD is offered
    local desc=$1 w
    shift
    for w in "$@"; do
        if grep -qxF -- "$w" "$tmp/got"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL: $desc: '$w' not offered; got: $(tr '\n' ' ' <"$tmp/got")"
        fi
    done
}

expect_only() { # DESC WORD...: exactly these are offered
    local desc=$1
    shift
    printf '%s\n' "$@" | sort >"$tmp/want"
    if cmp -s "$tmp/want" "$tmp/got"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $desc: got: $(tr '\n' ' ' <"$tmp/got") expected: $*"
    fi
}

complete_line ""
expect_has "commands" verify policy certs measure token audit evidence
complete_line "ev"
expect_only "a command's prefix" evidence
complete_line "po"
expect_only "policy" policy
complete_line "certs" ""
expect_only "certs subcommands" export fetch import list
complete_line "token" ""
expect_only "token subcommands" jwks rotate verify
complete_line "policy" ""
expect_has "policy subcommands (indented list)" validate test import list show history activate \
    delete export
complete_line "evidence" ""
expect_only "evidence subcommands" collect
complete_line "evidence" "collect" "--"
expect_has "evidence collect options" --nonce --runtime-data --binding --out --tsm-dir
complete_line "verify" "--re"
expect_only "an option's prefix" --report
complete_line "verify" "--product" ""
expect_only "product values" Genoa Milan Turin
complete_line "evidence" "collect" "--binding" "sha"
expect_only "binding values" sha256-prefix sha512
complete_line "verify" "--crl" "fail-"
expect_only "crl values" fail-closed fail-open

mkdir -p "$tmp/dir/sub"
: >"$tmp/dir/report.bin"
complete_line "verify" "--report" "$tmp/dir/rep"
expect_only "files for --report" "$tmp/dir/report.bin"
complete_line "evidence" "collect" "--tsm-dir" "$tmp/dir/"
expect_only "directories for --tsm-dir" "$tmp/dir/sub"
complete_line "verify" "--nonce" ""
expect_only "no guess for a nonce"
complete_line "nosuchcommand" "--"
expect_only "an unknown command is not run"

# Completing never touched a database (policy import --help would have).
complete_line "policy" "import" "--"
expect_has "policy options" --db
if [ -e "$tmp/must-not-exist.db" ] || [ -e "$tmp/cache/verdict" ] || [ -e "$tmp/home/.cache" ]; then
    failed=$((failed + 1))
    echo "FAIL: completion created a database"
else
    passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
