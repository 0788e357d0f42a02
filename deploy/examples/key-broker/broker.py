#!/usr/bin/python3
"""A key broker for full-disk encryption in confidential VMs, on top of verdict.

At boot a CVM asks for a challenge (POST /challenge), makes an ephemeral key pair, binds the
challenge and its public key in its attestation evidence, and asks for the disk key
(POST /key). The broker has verdict appraise the evidence under the broker's own policy
(POST /v1/attest), verifies the EAR token verdict signs against verdict's JWKS, checks the
token's status, policy, nonce and key binding itself, and only then returns the LUKS key
wrapped to the CVM's public key. README.md describes the flow, the wire format and the trust
decisions.

Dependencies: Debian's python3, python3-cryptography, python3-jwt, python3-requests.

usage: broker.py --verdict URL --policy NAME --key-file FILE [--listen HOST:PORT]
                 [--vtpm-policy NAME] [--jwks-url URL] [--cacert FILE]
"""
import argparse
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import requests

from keywrap import b64d as _b64d
from keywrap import b64e, load_public_key, wrap

# The token decision of a relying party (signature against the JWKS, alg bound to the key, exp,
# iat, EAR profile, every submodule affirming with an affirming trust vector, the policy, the
# nonce) is written once, in the relying-party example; the broker is one more relying party.
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "relying-party"))
import relying_party  # noqa: E402

BODY_MAX = 256 * 1024  # evidence with a certificate chain is a few KiB; vTPM evidence ~10 KiB
VERDICT_TIMEOUT = 60


class Refused(Exception):
    """The request is refused; `status` is the HTTP status for the CVM."""

    def __init__(self, status, reason, **details):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.details = details


def b64d(text, what):
    try:
        return _b64d(text)
    except ValueError:
        raise Refused(400, '"%s" must be a non-empty base64 string' % what)


def public_key(der):
    try:
        return load_public_key(der)
    except ValueError:
        raise Refused(400, '"pubkey" must be the DER SubjectPublicKeyInfo of an EC P-256 or '
                      'P-384 key')


# ---- how each kind of evidence binds the challenge and the public key ----

def snp_report_data(nonce, pubkey_der):
    """REPORT_DATA of SEV-SNP evidence collected with
    `verdict evidence collect --nonce N --runtime-data pubkey.der --binding sha512`:
    SHA-512(nonce || public key), the policy's `freshness: sha512`."""
    return hashlib.sha512(nonce + pubkey_der).digest()


def snp_attest_members(challenge, pubkey_der):
    """The /v1/attest members that make verdict check the SEV-SNP binding: the challenge
    (redeemed once; its bytes are the nonce) and the public key as runtime data."""
    return {"challenge": challenge, "runtime_data": b64e(pubkey_der)}


def snp_check_binding(claims, nonce, pubkey_der):
    """The broker's own check that the appraised report binds this challenge and this key, from
    the token's annotated evidence (not only verdict's word that some runtime data matched)."""
    submod = claims.get("submods", {}).get("SEVSNP")
    annotated = submod.get("ear.veraison.annotated-evidence") if isinstance(submod, dict) else None
    report = annotated.get("report") if isinstance(annotated, dict) else None
    got = report.get("report_data") if isinstance(report, dict) else None
    if not isinstance(got, str) or not hmac.compare_digest(
            got.lower(), snp_report_data(nonce, pubkey_der).hex()):
        raise Refused(403, "the appraised report does not bind this challenge and public key")


def vtpm_qualifying_data(nonce, pubkey_der):
    """The TPM2 quote's qualifying data (extraData) of Azure vTPM evidence: SHA-384(challenge ||
    public key), 48 bytes, within the vTPM's 50-byte limit. verdict expects exactly this when
    /v1/attest gets a challenge and runtime data with vTPM evidence (docs/evidence.md, "Azure
    vTPM"); for v2 evidence the runtime data's user-data starts with it too."""
    return hashlib.sha384(nonce + pubkey_der).digest()


def vtpm_check_binding(claims, nonce, pubkey_der):
    """The broker's own check that the appraised quote binds this challenge and this key, from
    the token's annotated evidence: verdict applied the challenge binding (sha384) and the
    quote's extraData is SHA-384(challenge || public key)."""
    submod = claims.get("submods", {}).get("SEVSNP")
    annotated = submod.get("ear.veraison.annotated-evidence") if isinstance(submod, dict) else None
    vtpm = annotated.get("vtpm") if isinstance(annotated, dict) else None
    quote = vtpm.get("quote") if isinstance(vtpm, dict) else None
    got = quote.get("extra_data") if isinstance(quote, dict) else None
    binding = vtpm.get("nonce_binding") if isinstance(vtpm, dict) else None
    if binding != "sha384" or not isinstance(got, str) or not hmac.compare_digest(
            got.lower(), vtpm_qualifying_data(nonce, pubkey_der).hex()):
        raise Refused(403, "the appraised vTPM quote does not bind this challenge and public key")


def evidence_kind(evidence):
    """"snp" (configfs-tsm envelope or a raw report) or "vtpm" (Azure vTPM evidence)."""
    if "tsm" in evidence or "report" in evidence:
        return "snp"
    if "azure_vtpm" in evidence:
        return "vtpm"
    raise Refused(400, "unsupported evidence: give {\"tsm\": <verdict evidence collect "
                  "envelope>} or {\"azure_vtpm\": <Azure vTPM evidence>} (and optionally "
                  "\"certs\")")


def attest_members(evidence, challenge, pubkey_der):
    """The evidence-specific part of the /v1/attest request (the evidence object itself is
    passed through untouched). The same members for both kinds: with vTPM evidence verdict
    binds the challenge and the key in the quote (vtpm_qualifying_data) instead of REPORT_DATA."""
    evidence_kind(evidence)
    return snp_attest_members(challenge, pubkey_der)


def check_binding(evidence, claims, nonce, pubkey_der):
    """The broker's own check, on the verified token's claims, that the evidence binds this
    challenge and this public key."""
    if evidence_kind(evidence) == "vtpm":
        return vtpm_check_binding(claims, nonce, pubkey_der)
    return snp_check_binding(claims, nonce, pubkey_der)


# ---- verdict: challenges, appraisal, token verification ----

class JWKS(jwt.PyJWKClient):
    """verdict's JWKS, fetched with requests (so --cacert applies), cached 5 minutes and
    fetched again when a token names a kid it does not hold (a rotated key)."""

    def __init__(self, uri, verify):
        super().__init__(uri, lifespan=300)
        self.verify = verify

    def fetch_data(self):
        try:
            r = requests.get(self.uri, timeout=VERDICT_TIMEOUT, verify=self.verify)
            r.raise_for_status()
            data = r.json()
        except (requests.RequestException, ValueError) as e:
            raise jwt.PyJWKClientError("cannot fetch %s: %s" % (self.uri, e.__class__.__name__))
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        return data


class Verdict:
    def __init__(self, base, policy, jwks_url=None, cacert=None, vtpm_policy=None):
        self.base = base.rstrip("/")
        self.policy = policy
        self.vtpm_policy = vtpm_policy  # None: Azure vTPM evidence is refused
        self.jwks_url = jwks_url or self.base + "/.well-known/jwks.json"
        self.verify_tls = cacert if cacert else True
        self.local = threading.local()  # one requests.Session per thread
        self.jwks = JWKS(self.jwks_url, self.verify_tls)

    @property
    def http(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def post(self, path, body=None):
        try:
            return self.http.post(self.base + path, json=body, timeout=VERDICT_TIMEOUT,
                                  verify=self.verify_tls)
        except requests.RequestException as e:
            raise Refused(503, "verdict is unreachable: %s" % e.__class__.__name__)

    def challenge(self):
        r = self.post("/v1/challenge")
        if r.status_code != 200:
            raise Refused(503, "verdict gave no challenge (HTTP %d)" % r.status_code)
        c = r.json()
        out = {"challenge": c["nonce"], "expires_at": c.get("expires_at"), "binding": "sha512"}
        if self.vtpm_policy:
            out["vtpm_binding"] = "sha384"  # the quote's extraData: vtpm_qualifying_data
        return out

    def policy_for(self, evidence):
        """The broker's policy for this kind of evidence: on Azure, MEASUREMENT is the
        paravisor's, so vTPM evidence needs its own policy (PCRs, secure boot)."""
        if evidence_kind(evidence) != "vtpm":
            return self.policy
        if not self.vtpm_policy:
            raise Refused(400, "this broker takes no Azure vTPM evidence (no --vtpm-policy)")
        return self.vtpm_policy

    def appraise(self, evidence, challenge, pubkey_der):
        """Ask verdict, verify its token and check it says affirming under OUR policy for THIS
        challenge and key. Returns the token's claims."""
        policy = self.policy_for(evidence)
        body = {"evidence": evidence, "policy": policy}
        body.update(attest_members(evidence, challenge, pubkey_der))
        r = self.post("/v1/attest", body)
        if r.status_code != 200:
            try:
                detail = r.json().get("detail", "")
            except ValueError:
                detail = ""
            raise Refused(403 if r.status_code == 400 else 503,
                          "verdict refused the evidence (HTTP %d)" % r.status_code,
                          verdict=detail)
        try:
            claims = relying_party.appraise(r.json().get("token") or "", self.jwks,
                                            policy=policy, nonce=challenge)
        except relying_party.Refused as e:
            raise Refused(403, "the token is refused: %s" % e)
        except jwt.PyJWKClientError as e:
            raise Refused(503, "cannot read verdict's JWKS: %s" % e)
        check_binding(evidence, claims, b64d(challenge, "challenge"), pubkey_der)
        return claims


# ---- HTTP ----

class Broker:
    def __init__(self, verdict, key_file):
        self.verdict = verdict
        self.key_file = key_file

    def challenge(self, body):
        if body:
            raise Refused(400, "POST /challenge takes no body")
        return self.verdict.challenge()

    def key(self, body):
        if not isinstance(body, dict) or set(body) != {"evidence", "challenge", "pubkey"}:
            raise Refused(400, 'the body must be {"evidence": {...}, "challenge": "...", '
                          '"pubkey": "<base64 DER>"}')
        evidence, challenge = body["evidence"], body["challenge"]
        if not isinstance(evidence, dict) or not isinstance(challenge, str):
            raise Refused(400, '"evidence" must be an object and "challenge" a string')
        pubkey_der = b64d(body["pubkey"], "pubkey")
        public_key(pubkey_der)  # refuse a key we cannot wrap to before asking verdict
        self.verdict.appraise(evidence, challenge, pubkey_der)
        with open(self.key_file, "rb") as f:
            secret = f.read()
        return {"wrapped_key": wrap(secret, pubkey_der, b64d(challenge, "challenge"))}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    broker = None  # set by main

    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        routes = {"/challenge": self.broker.challenge, "/key": self.broker.key}
        try:
            try:
                n = int(self.headers.get("content-length") or 0)
            except ValueError:
                n = -1
            if n < 0 or n > BODY_MAX:
                self.close_connection = True
                raise Refused(413, "give a Content-Length of at most %d bytes" % BODY_MAX)
            raw = self.rfile.read(n)
            if self.path not in routes:
                raise Refused(404, "POST /challenge or POST /key")
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise Refused(400, "the body is not JSON")
            self.answer(200, routes[self.path](body))
        except Refused as e:
            doc = {"error": e.reason}
            doc.update(e.details)
            self.log_message("refused %s: %s %s", self.path, e.reason, e.details or "")
            self.answer(e.status, doc)
        except Exception as e:  # a bug or an answer from verdict we did not expect: no key
            self.log_message("error on %s: %r", self.path, e)
            self.answer(500, {"error": "internal error"})

    def do_GET(self):
        self.answer(404 if self.path != "/healthz" else 200,
                    {"error": "POST /challenge or POST /key"} if self.path != "/healthz"
                    else {"status": "ok"})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--verdict", required=True, help="verdict's base URL")
    p.add_argument("--policy", required=True, help="the verdict policy evidence must affirm")
    p.add_argument("--vtpm-policy", help="the verdict policy Azure vTPM evidence must affirm "
                   "(PCRs, secure boot); without it such evidence is refused")
    p.add_argument("--key-file", required=True, help="the LUKS key (or passphrase) to release")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    p.add_argument("--jwks-url", help="verdict's JWKS (default VERDICT/.well-known/jwks.json)")
    p.add_argument("--cacert", help="CA bundle for an https verdict URL")
    a = p.parse_args(argv)
    with open(a.key_file, "rb") as f:
        if not f.read():
            p.error("--key-file %s is empty" % a.key_file)
    host, _, port = a.listen.rpartition(":")
    Handler.broker = Broker(Verdict(a.verdict, a.policy, a.jwks_url, a.cacert, a.vtpm_policy),
                            a.key_file)
    host = host.strip("[]")
    if ":" in host:
        ThreadingHTTPServer.address_family = socket.AF_INET6
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    h, p_ = server.server_address[:2]
    print("key broker listening on http://%s:%d" % (h if ":" not in h else "[%s]" % h, p_),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
