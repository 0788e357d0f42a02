#!/bin/sh
# A relying party in shell: release a secret only for an EAR token from verdict that is valid
# and affirming. The cryptography is `verdict token verify` (signature against the JWKS, the
# algorithm pinned by the JWK, exp/iat, the EAR profile, every submodule affirming); this script
# adds what only the relying party knows: which issuer and which policy it trusts.
#
# usage: relying-party.sh [options] TOKEN|@FILE|- SECRET_FILE
#   --jwks FILE|URL   the verifier's JWKS (default $VERDICT_JWKS, else
#                     http://127.0.0.1:8080/.well-known/jwks.json)
#   --issuer ISS      require this `iss` (set signing.issuer on the verifier)
#   --policy NAME     require the appraisal to have used the stored policy NAME: without it, a
#                     token appraised with no policy ("genuine AMD hardware", any image) passes
#   --nonce B64       require the token's eat_nonce to be this nonce (the challenge you issued)
#   --verdict PATH    the verdict binary (default $VERDICT, else `verdict` on PATH)
#
# Prints the secret on standard output and exits 0 when released; otherwise prints why on
# standard error and exits 1 (refused) or 2 (usage, unreadable input, JWKS not reachable).
# Needs jq.
set -u

jwks=${VERDICT_JWKS:-http://127.0.0.1:8080/.well-known/jwks.json}
verdict=${VERDICT:-verdict}
issuer=
policy=
nonce=

usage() {
    sed -n 's/^# \{0,1\}//; 7,17p' "$0" >&2
    exit 2
}
refuse() {
    echo "relying-party: refused: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --jwks | --issuer | --policy | --nonce | --verdict)
        [ $# -ge 2 ] || usage
        case $1 in
        --jwks) jwks=$2 ;;
        --issuer) issuer=$2 ;;
        --policy) policy=$2 ;;
        --nonce) nonce=$2 ;;
        --verdict) verdict=$2 ;;
        esac
        shift 2
        ;;
    --help | -h) usage ;;
    -?*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || usage
token=$1
secret=$2
[ -r "$secret" ] || {
    echo "relying-party: cannot read $secret" >&2
    exit 2
}

# 1. verdict checks the token. Exit 0: valid and every submodule affirming; 1: invalid or not
#    affirming (the JSON says why); 2: usage or input error (JWKS unreachable, unreadable file).
set -- "$token" --jwks "$jwks" --json
[ -z "$nonce" ] || set -- "$@" --nonce "$nonce"
out=$("$verdict" token verify "$@")
rc=$?
case $rc in
0) ;;
1)
    why=$(printf '%s' "$out" | jq -r '
        if .valid then
            [.submods | to_entries[] | select(.value.status != "affirming")
             | "\(.key) is \(.value.status): \(.value.problem)"] | join("; ")
        else "\(.result): \(.detail)" end' 2>/dev/null)
    refuse "${why:-invalid token}"
    ;;
*)
    echo "relying-party: verdict token verify failed (exit $rc)" >&2
    exit 2
    ;;
esac

# 2. Belt and braces on the verdict's own summary, then the relying party's own rules.
printf '%s' "$out" | jq -e '.valid and .signature and .time and .affirming
    and (.submods | length > 0)
    and ([.submods[] | .valid and .status == "affirming"] | all)' >/dev/null ||
    refuse "verdict's summary is not valid and affirming"
if [ -n "$issuer" ]; then
    iss=$(printf '%s' "$out" | jq -r '.claims.iss // ""')
    [ "$iss" = "$issuer" ] || refuse "issuer \"$iss\", expected \"$issuer\""
fi
if [ -n "$policy" ]; then
    # policy:SEVSNP/<name>@v<version> for a stored policy (verifier/ear/README.md).
    printf '%s' "$out" | jq -e --arg p "$policy" '
        [.claims.submods | to_entries[]
         | (.value["ear.appraisal-policy-id"] // "") as $id
         | ("policy:\(.key)/\($p)@v") as $want
         | ($id | startswith($want)) and ($id | ltrimstr($want) | test("^[0-9]+$"))]
        | (length > 0 and all)' >/dev/null || refuse "not appraised with policy $policy"
fi
if [ -n "$nonce" ]; then
    printf '%s' "$out" | jq -e '.nonce.checked and .nonce.ok' >/dev/null ||
        refuse "the token does not carry the nonce"
fi

cat -- "$secret"
