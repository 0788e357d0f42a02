#!/usr/bin/python3
"""Independent check of a verdict EAR token, with no verdict code involved.

It makes the checks a Trustee KBS makes before it trusts an attestation token
(kbs/src/crypto/jwt.rs and jwk.rs, summarized in STANDARDS.md section 0 point 6):
  - the JWT header has a kid, found in the JWKS, and that JWK carries alg;
  - the signature verifies with that key and alg only (PyJWT, like jsonwebtoken's
    Validation::new(alg));
  - exp is present and not passed (60 s leeway, jsonwebtoken's default);
then the default resource policy (kbs/sample_policies/affirming.rego): at least one submod, and
every submods[*]["ear.status"] == "affirming".

Also, independently of PyJWT: the kid is the RFC 7638 thumbprint of the JWK, the signature is
JWS R||S (checked with python3-cryptography after conversion to DER), the JWK is the public half
of the PEM key file (from `openssl pkey -pubout`), and `openssl` itself verifies the signature.

usage: ear_kbs_check.py --token FILE --jwks FILE [--key PEM] [--nonce-hex HEX]
                        [--expect accept|reject]
Exit 0 when the outcome matches --expect (default accept), 1 otherwise.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import jwt  # python3-jwt (PyJWT)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url_decode(s):
    if "=" in s or "+" in s or "/" in s:
        raise ValueError("not unpadded base64url: %r" % s[:20])
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Reject(Exception):
    pass


def kbs_checks(token, jwks, nonce):
    """What the KBS does; raises Reject with the reason."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Reject("header: %s" % e)
    kid = header.get("kid")
    if not kid:
        raise Reject("no kid in the header")
    matches = [k for k in jwks.get("keys", []) if k.get("kid") == kid]
    if not matches:
        raise Reject("kid %s not in the JWKS" % kid)
    jwk = matches[0]
    alg = jwk.get("alg")
    if not alg:
        raise Reject("the JWK has no alg (the KBS refuses it)")
    try:
        key = jwt.PyJWK(jwk).key
        claims = jwt.decode(token, key, algorithms=[alg], leeway=60,
                            options={"require": ["exp"], "verify_exp": True,
                                     "verify_aud": False})
    except jwt.PyJWTError as e:
        raise Reject("PyJWT: %s" % e)
    if claims.get("eat_profile") != "tag:github.com,2023:veraison/ear":
        raise Reject("eat_profile %r" % claims.get("eat_profile"))
    for name in ("iat", "exp"):
        if type(claims.get(name)) is not int:
            raise Reject("%s is not an integer" % name)
    if nonce is not None:
        got = claims.get("eat_nonce")
        if got is None or base64.urlsafe_b64decode(got) != nonce:
            raise Reject("eat_nonce %r does not match" % got)
    submods = claims.get("submods") or {}
    if not submods:
        raise Reject("no submods")
    for label, s in submods.items():
        if s.get("ear.status") != "affirming":
            raise Reject("affirming.rego: submods.%s ear.status is %r" % (label, s.get("ear.status")))
        tv = s.get("ear.trustworthiness-vector", {})
        if any(type(v) is not int for v in tv.values()):
            raise Reject("trust vector values must be integers")
    return header, jwk, claims


def thumbprint(jwk):
    members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canon = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canon.encode()).digest())


def independent_checks(token, jwk, key_pem):
    """Signature and key checks with cryptography and openssl; raises Reject."""
    if thumbprint(jwk) != jwk["kid"]:
        raise Reject("kid is not the RFC 7638 thumbprint of the JWK")
    h64, p64, s64 = token.split(".")
    signing_input = ("%s.%s" % (h64, p64)).encode()
    sig = b64url_decode(s64)
    alg = jwk["alg"]
    if alg in ("ES256", "ES384"):
        n, curve, digest = {"ES256": (32, ec.SECP256R1(), hashes.SHA256()),
                            "ES384": (48, ec.SECP384R1(), hashes.SHA384())}[alg]
        if len(sig) != 2 * n:
            raise Reject("signature is %d bytes, R||S needs %d" % (len(sig), 2 * n))
        der = encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
        x = int.from_bytes(b64url_decode(jwk["x"]), "big")
        y = int.from_bytes(b64url_decode(jwk["y"]), "big")
        if len(b64url_decode(jwk["x"])) != n or len(b64url_decode(jwk["y"])) != n:
            raise Reject("JWK coordinates are not %d bytes" % n)
        pub = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        try:
            pub.verify(der, signing_input, ec.ECDSA(digest))
        except InvalidSignature:
            raise Reject("cryptography: ECDSA signature does not verify")
    elif alg == "EdDSA":
        der = sig
        pub = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        try:
            pub.verify(sig, signing_input)
        except InvalidSignature:
            raise Reject("cryptography: Ed25519 signature does not verify")
    else:
        raise Reject("unexpected alg %s" % alg)
    if key_pem is None:
        return
    # The JWK must be the public half of the key file, as openssl sees it.
    pem = subprocess.run(["openssl", "pkey", "-in", key_pem, "-pubout"], check=True,
                         capture_output=True).stdout
    ossl_pub = serialization.load_pem_public_key(pem)
    ours = pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = ossl_pub.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    if ours != theirs:
        raise Reject("the JWK is not the public key of %s" % key_pem)
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("pub.pem", "input", "sig")}
        for name, data in (("pub.pem", pem), ("input", signing_input), ("sig", der)):
            with open(paths[name], "wb") as f:
                f.write(data)
        if alg == "EdDSA":
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub.pem"],
                   "-rawin", "-in", paths["input"], "-sigfile", paths["sig"]]
        else:
            cmd = ["openssl", "dgst", "-sha256" if alg == "ES256" else "-sha384", "-verify",
                   paths["pub.pem"], "-signature", paths["sig"], paths["input"]]
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode != 0:
            raise Reject("openssl does not verify the signature: %s" % r.stdout.decode().strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--jwks", required=True)
    ap.add_argument("--key")
    ap.add_argument("--nonce-hex")
    ap.add_argument("--expect", choices=("accept", "reject"), default="accept")
    a = ap.parse_args()
    token = open(a.token).read().strip()
    jwks = json.load(open(a.jwks))
    nonce = bytes.fromhex(a.nonce_hex) if a.nonce_hex else None
    try:
        header, jwk, claims = kbs_checks(token, jwks, nonce)
        independent_checks(token, jwk, a.key)
        outcome, why = "accept", "kid %s, alg %s, status %s" % (
            header["kid"], jwk["alg"],
            ",".join(s["ear.status"] for s in claims["submods"].values()))
    except Reject as e:
        outcome, why = "reject", str(e)
    print("%s: %s" % (outcome, why))
    return 0 if outcome == a.expect else 1


if __name__ == "__main__":
    sys.exit(main())
