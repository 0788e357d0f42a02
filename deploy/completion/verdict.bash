# bash completion for verdict. Installed as /usr/share/bash-completion/completions/verdict.
#
# Commands, their subcommands and their options are read from the binary's own --help (the
# same single source as the man pages), so the completion follows the binary it completes:
#   verdict <TAB>              the commands `verdict --help` lists
#   verdict certs <TAB>        the subcommands of `verdict certs --help` ("verdict certs fetch",
#                              or a two-space-indented list as `verdict policy --help` has)
#   verdict verify --<TAB>     every --option `verdict verify --help` names (for a command
#                              with subcommands, the options of all of them)
#   --report <TAB>, ...        files; --tsm-dir <TAB> directories; fixed values for --product,
#                              --binding, --crl, --alg, --vmm-type

_verdict_help() { # CMD...: the help text, or nothing
    "$_verdict_bin" "$@" --help 2>&1 </dev/null | head -c 65536
}

_verdict_commands() {
    _verdict_help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\)  .*/\1/p'
}

_verdict_subcommands() { # CMD
    local help subs
    help=$(_verdict_help "$1")
    subs=$(printf '%s\n' "$help" | grep -o "verdict $1 [a-z][a-z-]*" | sed "s/^verdict $1 //")
    if [ -z "$subs" ] && printf '%s\n' "$help" | grep -q "verdict $1 <command>"; then
        subs=$(printf '%s\n' "$help" | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p')
    fi
    printf '%s\n' "$subs" | sort -u
}

_verdict() {
    local cur prev i cmd="" sub="" words
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
    _verdict_bin=${COMP_WORDS[0]}
    case $_verdict_bin in
    "~"/*) _verdict_bin=$HOME/${_verdict_bin#"~"/} ;;
    esac

    # Values of options that take one.
    case $prev in
    --product)
        mapfile -t COMPREPLY < <(compgen -W "Milan Genoa Turin" -- "$cur")
        return 0
        ;;
    --binding)
        mapfile -t COMPREPLY < <(compgen -W "raw sha512 sha256-prefix" -- "$cur")
        return 0
        ;;
    --crl)
        mapfile -t COMPREPLY < <(compgen -W "fail-open fail-closed off" -- "$cur")
        return 0
        ;;
    --alg)
        mapfile -t COMPREPLY < <(compgen -W "ES256 ES384 EdDSA" -- "$cur")
        return 0
        ;;
    --vmm-type)
        mapfile -t COMPREPLY < <(compgen -W "qemu ec2 gce" -- "$cur")
        return 0
        ;;
    --tsm-dir)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    --report | --certs | --cert-table | --extra-roots | --runtime-data | --out | --config | \
        --check-config | --db | --signing-key | --nonce-secret | --tls-cert | --tls-key | \
        --ovmf | --kernel | --initrd | --jwks | --policy)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    --nonce | --at | --hwid | --tcb | --listen | --kds-url | --workers | --default-policy | \
        --vcpus | --vcpu-type | --vcpu-sig | --append | --since | --until | --status | --limit | \
        --ttl | --leeway | --version | --guest-features | --snp-ovmf-hash)
        return 0 # a value we cannot guess
        ;;
    esac

    # The command and subcommand typed so far (the first words that are not options).
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *)
            if [ -z "$cmd" ]; then
                cmd=${COMP_WORDS[i]}
            elif [ -z "$sub" ]; then
                sub=${COMP_WORDS[i]}
            fi
            ;;
        esac
    done

    if [ -z "$cmd" ]; then
        words="$(_verdict_commands) help --help --version"
        mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        return 0
    fi
    # Only a command `verdict --help` lists is asked for its help.
    if ! _verdict_commands | grep -qx -- "$cmd"; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
    fi
    if [[ $cur == -* ]]; then
        # Only `verdict CMD --help` is ever run: `verdict policy import --help` would import a
        # file named --help, and completion must have no side effects.
        words=$(_verdict_help "$cmd" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
        mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        return 0
    fi
    if [ -z "$sub" ]; then
        words=$(_verdict_subcommands "$cmd")
        if [ -n "$words" ]; then
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
            return 0
        fi
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return 0
}

complete -F _verdict verdict
