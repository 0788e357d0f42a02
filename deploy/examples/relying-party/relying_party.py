#!/usr/bin/python3
"""A relying party in Python: release a secret only for an EAR token from verdict that is valid
and affirming. Uses only Debian 12's python3-jwt (PyJWT 2.6) and python3-cryptography; no
verdict binary.

usage: relying_party.py [options] TOKEN|@FILE|- SECRET_FILE
  --jwks URL        the verifier's JWKS (default $VERDICT_JWKS, else
                    http://127.0.0.1:8080/.well-known/jwks.json; file:///path works too)
  --issuer ISS      require this `iss` (set signing.issuer on the verifier)
  --policy NAME     require the appraisal to have used the stored policy NAME: without it, a
                    token appraised with no policy ("genuine AMD hardware", any image) passes
  --nonce B64       require the token's eat_nonce to be this nonce (the challenge you issued)
  --submod NAME     the submodule that must be affirming (default SEVSNP); every other one
                    must be affirming too
  --leeway SECONDS  clock skew allowed on exp and iat (default 60)

Prints the secret on standard output and exits 0 when released; otherwise prints why on
standard error and exits 1 (refused) or 2 (usage, unreadable input, JWKS not reachable).
"""
import argparse
import base64
import binascii
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

EAR_PROFILE = "tag:github.com,2023:veraison/ear"

# The algorithms verdict signs with, and the key each one must come with. The header's alg is
# only believed when the key the JWKS gives for its kid is of that kind: a token cannot pick an
# algorithm its key was not made for (no "none", no HMAC keyed with a public key).
KEY_FOR_ALG = {
    "ES256": lambda k: isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name == "secp256r1",
    "ES384": lambda k: isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name == "secp384r1",
    "EdDSA": lambda k: isinstance(k, ed25519.Ed25519PublicKey),
}


class Refused(Exception):
    pass


def b64decode_any(text):
    """Standard or URL-safe base64, padded or not (eat_nonce is padded base64url)."""
    t = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(t + "=" * (-len(t) % 4), validate=True)


def ar4si_affirming(vector):
    """AR4SI: 0 is no claim, 2..31 affirming; 1 and negative values are "none", 32 and above
    warning or contraindicated. A status better than its own vector is not believed."""
    return isinstance(vector, dict) and all(
        isinstance(v, int) and (v == 0 or 2 <= v <= 31) for v in vector.values())


def appraise(token, jwks_client, issuer=None, policy=None, nonce=None, submod="SEVSNP",
             leeway=60):
    """The relying party's decision: returns the claims of an acceptable token, else raises
    Refused with the reason (or PyJWKClientError when the JWKS cannot be fetched)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Refused("not a JWT: %s" % e)
    alg = header.get("alg")
    if alg not in KEY_FOR_ALG:
        raise Refused("alg %r is not accepted" % alg)
    if "crit" in header:
        raise Refused("critical header parameters are not understood")
    # By kid; PyJWKClient fetches the JWKS again when it meets a kid it does not know (a key
    # rotated in since the last fetch).
    try:
        key = jwks_client.get_signing_key_from_jwt(token)
    except jwt.PyJWKClientError as e:
        if "Unable to find a signing key" in str(e):
            raise Refused("kid %r is not in the JWKS" % header.get("kid"))
        raise
    except jwt.PyJWTError as e:
        raise Refused("not a JWT: %s" % e)
    if not KEY_FOR_ALG[alg](key.key):
        raise Refused("the JWKS key %r is not a %s key" % (header.get("kid"), alg))
    try:
        claims = jwt.decode(token, key.key, algorithms=[alg], issuer=issuer, leeway=leeway,
                            options={"require": ["exp", "iat"] + (["iss"] if issuer else [])})
    except jwt.ExpiredSignatureError:
        raise Refused("expired")
    except jwt.InvalidSignatureError:
        raise Refused("bad signature")
    except jwt.PyJWTError as e:
        raise Refused(str(e) or type(e).__name__)
    if not isinstance(claims["exp"], int) or not isinstance(claims["iat"], int):
        raise Refused("exp and iat must be integers")
    if claims["iat"] > time.time() + leeway:
        raise Refused("issued in the future")
    if claims.get("eat_profile") != EAR_PROFILE:
        raise Refused("not an EAR token (eat_profile %r)" % claims.get("eat_profile"))
    submods = claims.get("submods")
    if not isinstance(submods, dict) or submod not in submods:
        raise Refused("no submodule %s" % submod)
    for name, sub in submods.items():
        status = sub.get("ear.status") if isinstance(sub, dict) else None
        if status != "affirming":
            problem = sub.get("ear.veraison.policy-claims", {}).get("problem", "") \
                if isinstance(sub, dict) else ""
            raise Refused("%s is %s%s" % (name, status, ": " + problem if problem else ""))
        if not ar4si_affirming(sub.get("ear.trustworthiness-vector")):
            raise Refused("%s claims affirming but its trust vector is not" % name)
        if policy is not None:
            # policy:<submod>/<name>@v<version> for a stored policy (verifier/ear/README.md).
            pid = sub.get("ear.appraisal-policy-id", "")
            want = "policy:%s/%s@v" % (name, policy)
            if not (pid.startswith(want) and pid[len(want):].isdigit()):
                raise Refused("%s was appraised with %r, not policy %s" % (name, pid, policy))
    if nonce is not None:
        got = claims.get("eat_nonce")
        try:
            ok = isinstance(got, str) and b64decode_any(got) == b64decode_any(nonce)
        except binascii.Error:
            ok = False
        if not ok:
            raise Refused("the token does not carry the nonce")
    return claims


def main(argv):
    ap = argparse.ArgumentParser(usage="%(prog)s [options] TOKEN|@FILE|- SECRET_FILE",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jwks", default=os.environ.get(
        "VERDICT_JWKS", "http://127.0.0.1:8080/.well-known/jwks.json"))
    ap.add_argument("--issuer")
    ap.add_argument("--policy")
    ap.add_argument("--nonce")
    ap.add_argument("--submod", default="SEVSNP")
    ap.add_argument("--leeway", type=int, default=60)
    ap.add_argument("token")
    ap.add_argument("secret")
    args = ap.parse_args(argv)
    try:
        if args.token == "-":
            token = sys.stdin.read().strip()
        elif args.token.startswith("@"):
            with open(args.token[1:]) as f:
                token = f.read().strip()
        else:
            token = args.token
        with open(args.secret, "rb") as f:
            secret = f.read()
    except OSError as e:
        print("relying_party: %s" % e, file=sys.stderr)
        return 2
    client = jwt.PyJWKClient(args.jwks, cache_keys=False, lifespan=300)
    try:
        appraise(token, client, issuer=args.issuer, policy=args.policy, nonce=args.nonce,
                 submod=args.submod, leeway=args.leeway)
    except Refused as e:
        print("relying_party: refused: %s" % e, file=sys.stderr)
        return 1
    except jwt.PyJWKClientError as e:
        print("relying_party: JWKS %s: %s" % (args.jwks, e), file=sys.stderr)
        return 2
    sys.stdout.buffer.write(secret)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
