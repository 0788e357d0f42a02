#!/usr/bin/python3
"""The relying-party examples (deploy/examples/relying-party/) against a real `verdict serve`:
relying-party.sh (verdict token verify) and relying_party.py (python3-jwt) must release the
secret for an affirming token, and refuse, printing nothing on standard output, a
contraindicated token, one appraised without the policy they require, one for another issuer
or nonce, one signed by another key, a tampered one, an expired one and an unsigned one.

Forged tokens are made here with python3-cryptography. The expired one is signed with the
server's own key, next to a control token signed the same way that must be released: so the
refusal is the expiry's doing, not the way the token was made.

usage: test_relying_party.py VERDICT_BINARY VECTORS_DIR EXAMPLE_DIR
"""
import json
import os
import subprocess
import sys
import time
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from verdict_server import (Server, admin, b64, b64url, jwt_parts,  # noqa: E402
                            stopped_cleanly, script_args)

BIN = VEC = EXAMPLE = None
ISSUER = "http://verdict.relying-party.test"
SECRET = b"disk-key: 6b1f0c2e9a\n"
TURIN = ("mstav-tests/turin_attestation_report.bin",
         ["mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
          "amd-roots-mstav/turin_ark.pem"])
POLICY = "name: %s\nsnp:\n  products: [Turin]\n  measurements: [%s]\n"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def es256(key, header, payload):
    """A compact JWS signed with `key` (R||S, as JWS wants it)."""
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(payload).encode()))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class RelyingParty(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BIN, env={"VERDICT_ISSUER": ISSUER}).start()
        cls.jwks_url = cls.server.url("/.well-known/jwks.json")
        cls.secret = os.path.join(cls.server.dir, "secret")
        with open(cls.secret, "wb") as f:
            f.write(SECRET)
        cls.report = read(os.path.join(VEC, TURIN[0]))
        for name, m in (("fleet", cls.report[0x90:0xC0].hex()), ("other", "00" * 48)):
            r = cls.server.put("/v1/policies/" + name, data=POLICY % (name, m), headers=admin())
            assert r.status_code in (200, 201), r.text
        cls.zero_nonce = b64(bytes(64))  # the vector's REPORT_DATA is all zero: bound raw

    @classmethod
    def tearDownClass(cls):
        stopped_cleanly(cls.server)

    def attest(self, **extra):
        body = {"evidence": {"report": b64(self.report),
                             "certs": [read(os.path.join(VEC, p)).decode() for p in TURIN[1]]}}
        body.update(extra)
        r = self.server.post("/v1/attest", json=body)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def run_rp(self, which, token, *opts):
        if which == "sh":
            cmd = [os.path.join(EXAMPLE, "relying-party.sh"), "--verdict", BIN]
        else:
            cmd = ["/usr/bin/python3", os.path.join(EXAMPLE, "relying_party.py")]
        cmd += ["--jwks", self.jwks_url] + list(opts) + ["-", self.secret]
        return subprocess.run(cmd, input=token.encode(), capture_output=True, timeout=60)

    def assertReleased(self, token, *opts):
        for which in ("sh", "py"):
            with self.subTest(which):
                out = self.run_rp(which, token, *opts)
                self.assertEqual(out.returncode, 0, out.stderr.decode())
                self.assertEqual(out.stdout, SECRET)

    def assertRefused(self, token, *opts, why=None):
        for which in ("sh", "py"):
            with self.subTest(which):
                out = self.run_rp(which, token, *opts)
                self.assertEqual(out.returncode, 1, out.stderr.decode())
                self.assertEqual(out.stdout, b"")
                self.assertIn(b"refused", out.stderr)
                if why:
                    self.assertIn(why.encode(), out.stderr.lower())

    def test_affirming_token_releases(self):
        a = self.attest(policy="fleet")
        self.assertEqual(a["status"], "affirming")
        self.assertReleased(a["token"])
        self.assertReleased(a["token"], "--policy", "fleet", "--issuer", ISSUER)

    def test_contraindicated_token_is_refused(self):
        c = self.attest(policy="other")
        self.assertEqual(c["status"], "contraindicated")
        self.assertRefused(c["token"], why="contraindicated")

    def test_policy_issuer_and_nonce_are_the_relying_partys_rules(self):
        bare = self.attest()  # genuineness only: affirming, but no policy applied
        self.assertEqual(bare["status"], "affirming")
        self.assertReleased(bare["token"])
        self.assertRefused(bare["token"], "--policy", "fleet", why="policy")
        self.assertRefused(self.attest(policy="fleet")["token"], "--policy", "fleet.")
        self.assertRefused(bare["token"], "--issuer", "http://another.test", why="issuer")
        n = self.attest(policy="fleet", nonce=self.zero_nonce)
        self.assertEqual(n["status"], "affirming", n)
        self.assertReleased(n["token"], "--nonce", self.zero_nonce)
        self.assertRefused(n["token"], "--nonce", b64(b"\x01" * 64), why="nonce")
        self.assertRefused(bare["token"], "--nonce", self.zero_nonce, why="nonce")

    def test_forged_tampered_expired_and_unsigned_tokens_are_refused(self):
        good = self.attest(policy="fleet")["token"]
        header, payload, _, _ = jwt_parts(good)
        # Signed by another key under the server's kid.
        self.assertRefused(es256(ec.generate_private_key(ec.SECP256R1()), header, payload))
        # A contraindicated result edited to say affirming, the signature kept.
        c = self.attest(policy="other")["token"]
        ch, cp, _, _ = jwt_parts(c)
        cp["submods"]["SEVSNP"]["ear.status"] = "affirming"
        cp["submods"]["SEVSNP"]["ear.trustworthiness-vector"]["executables"] = 2
        self.assertRefused(c.split(".")[0] + "." + b64url(json.dumps(cp).encode()) + "." +
                           c.split(".")[2])
        # The server's own key: a fresh copy is released, an expired one is not.
        with open(os.path.join(self.server.dir, "verdict-signing-key.pem"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        now = int(time.time())
        self.assertReleased(es256(key, header, dict(payload, iat=now, exp=now + 300)))
        self.assertRefused(es256(key, header, dict(payload, iat=now - 7200, exp=now - 3600)),
                           why="expire")
        # Unsigned (alg none) and a truncated token.
        unsigned = (b64url(json.dumps(dict(header, alg="none")).encode()) + "." +
                    good.split(".")[1] + ".")
        self.assertRefused(unsigned)
        self.assertRefused(good[:-10])

    def test_unreachable_jwks_is_an_error_not_a_release(self):
        good = self.attest(policy="fleet")["token"]
        saved = self.jwks_url
        self.jwks_url = "http://127.0.0.1:1/.well-known/jwks.json"
        try:
            for which in ("sh", "py"):
                out = self.run_rp(which, good)
                self.assertEqual(out.returncode, 2, out.stderr.decode())
                self.assertEqual(out.stdout, b"")
        finally:
            self.jwks_url = saved


if __name__ == "__main__":
    (BIN, VEC, EXAMPLE), rest = script_args(__doc__, 3)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
