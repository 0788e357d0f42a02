#!/usr/bin/python3
"""Two replicas of `verdict serve`, as docs/operations.md ("Scaling out") runs them: separate
processes, ports and databases, sharing only the signing key and the challenge secret (and the
issuer a relying party sees). Checks what a load balancer in front of them relies on:

- a challenge issued by replica A is accepted by replica B for a report that binds it, and is
  then refused at B as reused; single use is per process, so A still accepts it once (the
  documented limit: a challenge can be redeemed once per replica);
- both replicas publish the same JWKS, and each one's tokens verify against either's JWKS with
  python3-cryptography and with PyJWT (python3-jwt), independently of verdict;
- a policy directory synced into both databases with `verdict policy sync DIR` (as the
  Kubernetes init container does) gives the same answer for the same evidence, before start and
  after a change synced while both run.

usage: test_replicas.py VERDICT_BINARY VECTORS_DIR MKPKI_BINARY
"""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import Server, b64, stopped_cleanly, script_args, verify_token  # noqa: E402

BIN = VEC = MKPKI = None
ISSUER = "http://verdict.replicas.test"
TURIN = ("mstav-tests/turin_attestation_report.bin",
         ["mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
          "amd-roots-mstav/turin_ark.pem"])
POLICY = """name: fleet
description: pins the real Turin vector's measurement (test_replicas.py)
snp:
  products: [Turin]
  vmpl: 0
  guest_policy: {debug: forbidden}
  measurements: [%s]
"""


def read(path):
    with open(path, "rb") as f:
        return f.read()


def turin_body(**extra):
    body = {"evidence": {"report": b64(read(os.path.join(VEC, TURIN[0]))),
                         "certs": [read(os.path.join(VEC, p)).decode() for p in TURIN[1]]}}
    body.update(extra)
    return body


def pyjwt_check(token, jwks):
    """What a relying party does with PyJWT: pick the key by kid, accept only the JWK's alg,
    require exp and iat, check the issuer."""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = [k for k in jwks["keys"] if k.get("kid") == kid]
    if len(keys) != 1:
        raise AssertionError("kid %r not in the JWKS" % kid)
    key = jwt.PyJWK(keys[0])
    return jwt.decode(token, key.key, algorithms=[keys[0]["alg"]], issuer=ISSUER,
                      options={"require": ["exp", "iat", "iss"]})


class Replicas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="verdict-replicas-")
        # The two shared secrets, made as docs/operations.md says.
        secrets = os.path.join(cls.tmp, "secrets")
        os.mkdir(secrets)
        cls.key = os.path.join(secrets, "signing-key.pem")
        cls.secret = os.path.join(secrets, "nonce.secret")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", cls.key], check=True,
                       capture_output=True)
        with open(os.open(cls.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(32))
        os.chmod(cls.key, 0o600)  # serve refuses secrets others may read (SECURITY.md)
        # A test PKI whose report the test re-signs to bind a challenge made at run time.
        cls.pki = os.path.join(cls.tmp, "pki")
        os.mkdir(cls.pki)
        subprocess.run([MKPKI, cls.pki, "Genoa"], check=True)
        # The policy directory both replicas sync, as from a ConfigMap.
        cls.policies = os.path.join(cls.tmp, "policies")
        os.mkdir(cls.policies)
        measurement = read(os.path.join(VEC, TURIN[0]))[0x90:0xC0].hex()
        cls.write_policy(POLICY % measurement)
        cls.servers = []
        for name in ("a", "b"):
            d = os.path.join(cls.tmp, name)
            os.mkdir(d)
            cls.sync(d)
            s = Server(BIN, ["--signing-key", cls.key, "--nonce-secret", cls.secret,
                             "--extra-roots", os.path.join(cls.pki, "ark.pem")],
                       env={"VERDICT_ISSUER": ISSUER}, workdir=d)
            cls.servers.append(s.start())
        cls.a, cls.b = cls.servers

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            stopped_cleanly(s)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write_policy(cls, text):
        with open(os.path.join(cls.policies, "fleet.yaml"), "w") as f:
            f.write(text)

    @classmethod
    def sync(cls, d):
        out = subprocess.run([BIN, "policy", "sync", cls.policies, "--db",
                              os.path.join(d, "verdict.db")], capture_output=True, text=True)
        if out.returncode != 0:
            raise AssertionError("policy sync failed: %s" % out.stderr)

    def jwks(self, s):
        r = s.get("/.well-known/jwks.json")
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def test_distinct_processes_and_databases(self):
        self.assertNotEqual(self.a.base, self.b.base)
        self.assertNotEqual(self.a.proc.pid, self.b.proc.pid)
        for s in self.servers:
            self.assertTrue(os.path.exists(os.path.join(s.dir, "verdict.db")))
            # The shared key was used, not a key generated in the state directory.
            self.assertFalse(os.path.exists(os.path.join(s.dir, "verdict-signing-key.pem")))

    def test_challenge_from_a_is_accepted_by_b_once(self):
        c = self.a.post("/v1/challenge").json()
        nonce = base64.b64decode(c["nonce"])
        out = os.path.join(self.tmp, "bound-%s.bin" % nonce[:4].hex())
        subprocess.run([MKPKI, "--sign", self.pki, nonce.hex(), out], check=True)
        body = {"evidence": {"report": b64(read(out)),
                             "certs": [read(os.path.join(self.pki, n)).decode()
                                       for n in ("vcek.pem", "chain.pem")]},
                "challenge": c["nonce"]}
        r = self.b.post("/v1/attest", json=body)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["status"], "affirming", r.text)
        _, payload = verify_token(r.json()["token"], self.jwks(self.a))
        self.assertEqual(base64.urlsafe_b64decode(payload["eat_nonce"] + "=="), nonce)
        # Redeemed at B: refused there as reused.
        r = self.b.post("/v1/attest", json=body)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("reused", r.json()["detail"])
        # Single use is per process: A has not seen it redeemed, and accepts it once.
        r = self.a.post("/v1/attest", json=body)
        self.assertEqual(r.json()["status"], "affirming", r.text)
        r = self.a.post("/v1/attest", json=body)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("reused", r.json()["detail"])
        # A challenge neither replica's secret made is refused by both.
        forged = bytearray(nonce)
        forged[-1] ^= 1
        for s in self.servers:
            r = s.post("/v1/attest", json=dict(body, challenge=b64(bytes(forged))))
            self.assertEqual(r.status_code, 400, r.text)

    def test_tokens_verify_against_either_jwks(self):
        jwks_a, jwks_b = self.jwks(self.a), self.jwks(self.b)
        self.assertEqual(jwks_a, jwks_b)
        for issuer in self.servers:
            r = issuer.post("/v1/attest", json=turin_body())
            self.assertEqual(r.status_code, 200, r.text)
            token = r.json()["token"]
            for jwks in (jwks_a, jwks_b):
                _, payload = verify_token(token, jwks)
                self.assertEqual(payload["iss"], ISSUER)
                claims = pyjwt_check(token, jwks)
                self.assertEqual(claims["submods"]["SEVSNP"]["ear.status"], "affirming")
            # And a token altered after signing verifies against neither.
            h, p, sig = token.split(".")
            bad = "%s.%s.%s" % (h, p, ("A" if sig[0] != "A" else "B") + sig[1:])
            for jwks in (jwks_a, jwks_b):
                with self.assertRaises(jwt.InvalidSignatureError):
                    pyjwt_check(bad, jwks)

    def answers(self, name):
        out = []
        for s in self.servers:
            r = s.post("/v1/attest", json=turin_body(policy=name))
            self.assertEqual(r.status_code, 200, r.text)
            _, payload = verify_token(r.json()["token"], self.jwks(s))
            sub = payload["submods"]["SEVSNP"]
            out.append((r.json()["status"], sub["ear.status"], sub["ear.appraisal-policy-id"]))
        return out

    def sync_both(self, text, version):
        """Sync `text` into both databases while the replicas run, and return both answers once
        both use `version` (a running server sees a new version within about a second)."""
        self.write_policy(text)
        for s in self.servers:
            self.sync(s.dir)
        deadline = time.time() + 10
        while True:
            a, b = self.answers("fleet")
            done = a[2].endswith("@v%d" % version) and b[2].endswith("@v%d" % version)
            if done or time.time() > deadline:
                return a, b
            time.sleep(0.2)

    def test_synced_policy_gives_the_same_answer(self):
        measurement = read(os.path.join(VEC, TURIN[0]))[0x90:0xC0].hex()
        a, b = self.answers("fleet")
        self.assertEqual(a, b)
        self.assertEqual(a, ("affirming", "affirming", "policy:SEVSNP/fleet@v1"))
        # A new version synced into both while they run: both pick it up and agree again.
        a, b = self.sync_both(POLICY % ("00" * 48), 2)
        self.assertEqual(a, b)
        self.assertEqual(a, ("contraindicated", "contraindicated", "policy:SEVSNP/fleet@v2"))
        # Synced back: the text of version 1 again makes version 3 on both.
        a, b = self.sync_both(POLICY % measurement, 3)
        self.assertEqual(a, b)
        self.assertEqual(a, ("affirming", "affirming", "policy:SEVSNP/fleet@v3"))


if __name__ == "__main__":
    (BIN, VEC, MKPKI), rest = script_args(__doc__, 3)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
