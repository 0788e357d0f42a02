#!/usr/bin/python3
"""Forgery resistance through the service (issue #10): every forgery the CLI rejects is rejected
through /v1/attest and through the Veraison challenge-response API of the real `verdict serve`
too, and a token is only what its signature says.

Each forged input is built from a real vector (../shared/vectors) or a test PKI (mkpki), then
  - `verdict verify --offline` must exit non-zero (the CLI rejects it),
  - POST /v1/attest must not answer "affirming" (and must sign what it answers),
  - the Veraison flow (newSession with the report's own REPORT_DATA as nonce, then the
    configfs-tsm envelope with the certificates as its cert table) must not be "affirming".
Controls (the untouched inputs) affirm on all three, so each case fails for its forgery alone.
Challenges are single use and expire; `verdict token verify` refuses a token re-signed by
another key, with alg none, with alg HS256 keyed by the public key, or with an edited payload.

usage: test_forgery.py VERDICT_BINARY VECTORS_DIR MKPKI_BINARY
"""
import base64
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import (Server, b64, b64url, jwt_parts, script_args,  # noqa: E402
                            serving, stopped_cleanly, unb64url, verify_token)


BIN = VEC = MKPKI = None
TSM = "application/vnd.veraison.tsm-report+json"
SESSION = "application/vnd.veraison.challenge-response-session+json"
GUID = {"ark": "c0b406a4-a803-4952-9743-3fb6014cd0ae",
        "ask": "4ab7b379-bbac-4fe4-a02f-05aef327c782",
        "vcek": "63da758d-e664-4564-adc5-f4b93be8accd",
        "crl": "92f81bc3-5811-4d3d-97ff-d19f88dc67ea"}


def read(path):
    with open(path if os.path.isabs(path) else os.path.join(VEC, path), "rb") as f:
        return f.read()


def to_der(blob):
    """Every certificate of a PEM or DER blob, as DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    if blob.lstrip().startswith(b"-----BEGIN"):
        pems = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", blob,
                          re.S)
        return [x509.load_pem_x509_certificate(p).public_bytes(Encoding.DER) for p in pems]
    return [blob]


def cert_table(entries):
    """An extended-report certificate table: (role, DER) entries, a zero entry, then blobs."""
    head = 24 * (len(entries) + 1)
    out, blobs = b"", b""
    for role, der in entries:
        out += uuid.UUID(GUID[role]).bytes + struct.pack("<II", head + len(blobs), len(der))
        blobs += der
    return out + bytes(24) + blobs


class Evidence:
    """A report and its certificates by role (DER)."""

    def __init__(self, report, vcek, ask, ark, table=False, crl=None):
        self.report, self.vcek, self.ask, self.ark = report, vcek, ask, ark
        self.table = table  # send the certificates as a cert table (roles by GUID) everywhere
        self.crl = crl  # a CRL (DER) for the cert table's CRL entry; tables only

    def with_(self, **kw):
        e = Evidence(self.report, self.vcek, self.ask, self.ark, self.table, self.crl)
        for k, v in kw.items():
            setattr(e, k, v)
        return e

    def entries(self):
        return [(r, d) for r, d in (("vcek", self.vcek), ("ask", self.ask), ("ark", self.ark),
                                    ("crl", self.crl if self.table else None))
                if d is not None]


def flip(report, offset, bit=0):
    b = bytearray(report)
    b[offset] ^= 1 << bit
    return bytes(b)


class Forgery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="verdict-forgery-")
        # Real evidence: the Veraison vector (Genoa, certificates in its table) and Milan's.
        table = "veraison-tsm/derived/auxblob_entry_%s.bin"
        cls.genoa = Evidence(read("veraison-tsm/derived/outblob_report.bin"),
                             read(table % GUID["vcek"]), read(table % GUID["ask"]),
                             read(table % GUID["ark"]))
        cls.milan = Evidence(read("mstav-tests/milan_attestation_report.bin"),
                             to_der(read("mstav-tests/milan_vcek.pem"))[0],
                             to_der(read("mstav-tests/milan_ask.pem"))[0],
                             to_der(read("amd-roots-mstav/milan_ark.pem"))[0])
        other = to_der(read("gosevguest-milan/cert_chain_milan_vcek.pem"))
        cls.other_milan_vcek = to_der(read("gosevguest-milan/vcek.der"))[0]
        cls.other_milan_chain = other
        # A test PKI the server does not trust.
        cls.pki = os.path.join(cls.tmp, "pki")
        os.mkdir(cls.pki)
        subprocess.run([MKPKI, cls.pki, "Genoa"], check=True, stdout=subprocess.DEVNULL)
        chain = to_der(read(os.path.join(cls.pki, "chain.pem")))
        cls.test_pki = Evidence(read(os.path.join(cls.pki, "report.bin")),
                                to_der(read(os.path.join(cls.pki, "vcek.pem")))[0], chain[0],
                                chain[1])
        # Started last: a failure above leaves no server behind (tearDownClass would not run).
        cls.server = Server(BIN).start()
        cls.jwks = cls.server.get("/.well-known/jwks.json").json()

    @classmethod
    def tearDownClass(cls):
        try:
            stopped_cleanly(cls.server)
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- the three ways in --------------------------------------------------------------

    def cli(self, ev, extra=()):
        d = tempfile.mkdtemp(dir=self.tmp)
        rep = os.path.join(d, "report.bin")
        with open(rep, "wb") as f:
            f.write(ev.report)
        args = [BIN, "verify", "--report", rep, "--offline", "--json",
                "--db", os.path.join(d, "cli.db")] + list(extra)
        if ev.table:
            p = os.path.join(d, "table.bin")
            with open(p, "wb") as f:
                f.write(cert_table(ev.entries()))
            args += ["--cert-table", p]
        for role, der in [] if ev.table else ev.entries():
            p = os.path.join(d, role + ".der")
            with open(p, "wb") as f:
                f.write(der)
            args += ["--certs", p]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def attest(self, server, ev, jwks):
        body = {"evidence": {"report": b64(ev.report)}}
        if ev.table:
            body["evidence"]["cert_table"] = b64(cert_table(ev.entries()))
        else:
            body["evidence"]["certs"] = [b64(d) for _, d in ev.entries()]
        r = server.post("/v1/attest", json=body)
        if r.status_code == 400:
            return "refused 400"  # e.g. a certificate that does not parse
        self.assertEqual(r.status_code, 200, r.text)
        b = r.json()
        _, payload = verify_token(b["token"], jwks)  # what is answered is signed
        self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"], b["status"])
        return b["status"]

    def veraison(self, server, ev, jwks):
        nonce = ev.report[0x50:0x90] if len(ev.report) >= 0x90 else bytes(64)
        r = server.post("/challenge-response/v1/newSession?nonce=" + b64url(nonce),
                        headers={"accept": SESSION})
        self.assertEqual(r.status_code, 201, r.text)
        path = "/challenge-response/v1/" + r.headers["location"]
        env = {"provider": "sev_guest", "outblob": b64(ev.report),
               "auxblob": b64(cert_table(ev.entries()))}
        r = server.post(path, data=json.dumps(env).encode(),
                        headers={"content-type": TSM, "accept": SESSION})
        if r.status_code != 200:
            return "refused %d" % r.status_code
        s = r.json()
        if s.get("status") != "complete":
            return "session " + str(s.get("status"))
        _, payload = verify_token(s["result"], jwks)
        return payload["submods"]["SEVSNP"]["ear.status"]

    def rejected_everywhere(self, name, ev, server=None, jwks=None, cli_extra=()):
        server, jwks = server or self.server, jwks or self.jwks
        with self.subTest(name):
            rc, out = self.cli(ev, cli_extra)
            self.assertNotEqual(rc, 0, "the CLI accepted %s: %s" % (name, out[-400:]))
            a = self.attest(server, ev, jwks)
            self.assertNotEqual(a, "affirming", "/v1/attest affirmed " + name)
            v = self.veraison(server, ev, jwks)
            self.assertNotEqual(v, "affirming", "the Veraison API affirmed " + name)
            return a, v

    def affirmed_everywhere(self, name, ev, server=None, jwks=None, cli_extra=()):
        server, jwks = server or self.server, jwks or self.jwks
        with self.subTest("control " + name):
            rc, out = self.cli(ev, cli_extra)
            self.assertEqual(rc, 0, out[-400:])
            self.assertEqual(self.attest(server, ev, jwks), "affirming")
            self.assertEqual(self.veraison(server, ev, jwks), "affirming")

    # ---- the cases ------------------------------------------------------------------------

    def test_controls_affirm(self):
        self.affirmed_everywhere("genoa (Veraison vector)", self.genoa)
        self.affirmed_everywhere("milan", self.milan)

    def test_bit_flips(self):
        # Fields across the signed part (version, policy, family/image, VMPL, TCB, REPORT_DATA,
        # MEASUREMENT, HOST_DATA, ID digests, REPORT_ID, CHIP_ID, reported TCB) and the
        # signature itself (R, S, and the reserved bytes after them).
        offsets = [0x00, 0x08, 0x10, 0x30, 0x38, 0x50, 0x8F, 0x90, 0xBF, 0xC0, 0xE0, 0x140,
                   0x180, 0x1A0, 0x1A8, 0x1B8, 0x1E0, 0x2A0, 0x2A0 + 0x47, 0x2A0 + 0x48,
                   0x2A0 + 0x8F, 0x49F]
        for base_name, base in (("genoa", self.genoa), ("milan", self.milan)):
            for off in offsets:
                for bit in (0, 7):
                    ev = base.with_(report=flip(base.report, off, bit))
                    self.rejected_everywhere("%s bit %d of byte 0x%x" % (base_name, bit, off), ev)
        self.rejected_everywhere("truncated report", self.genoa.with_(report=self.genoa.report[:-1]))

    def test_certificate_bit_flips(self):
        for role in ("vcek", "ask"):
            der = bytearray(getattr(self.genoa, role))
            der[len(der) // 2] ^= 1  # inside the signed TBS (the key or an extension)
            self.rejected_everywhere("genoa %s flipped" % role,
                                     self.genoa.with_(**{role: bytes(der)}))

    def test_unpinned_root(self):
        # A perfectly consistent chain from a PKI the server does not pin (mkpki).
        self.rejected_everywhere("test PKI, not pinned", self.test_pki)
        # The same with AMD's real ARK added: the ASK is not signed by it.
        self.rejected_everywhere("test PKI with AMD's ARK", self.test_pki.with_(ark=self.genoa.ark))

    def test_swapped_roles_and_cache(self):
        # Roles by cert table GUID. A fresh server, so that its cache has nothing for this chip:
        # the forgeries come first, the control last.
        g = self.genoa.with_(table=True)
        with serving(BIN) as s:
            jwks = s.get("/.well-known/jwks.json").json()
            self.rejected_everywhere("ARK as VCEK", g.with_(vcek=g.ark), s, jwks)
            self.rejected_everywhere("no VCEK", g.with_(vcek=None), s, jwks)
            self.rejected_everywhere("the VCEK twice, no ASK", g.with_(ask=g.vcek), s, jwks)
            self.rejected_everywhere("test PKI VCEK under the real chain",
                                     g.with_(vcek=self.test_pki.vcek), s, jwks)
            # Labels carry no trust: certificates are known by what they are, and a swap of
            # the VCEK and ASK entries is the same evidence to the CLI and to both APIs.
            self.affirmed_everywhere("VCEK and ASK entries swapped",
                                     g.with_(vcek=g.ask, ask=g.vcek), s, jwks)
            # That stored the VCEK (it verified the report and chains to AMD): now the report
            # without it affirms through the API, as a cached chip should (the CLI with
            # --offline and an empty database still has nothing). Before, it did not.
            self.assertEqual(self.attest(s, g.with_(vcek=None), jwks), "affirming")

    def test_wrong_chip(self):
        # Another Milan chip's VCEK (genuine, same product, same AMD chain) for this report, on a
        # fresh server whose cache cannot supply the right one.
        chain = self.other_milan_chain
        with serving(BIN) as s:
            jwks = s.get("/.well-known/jwks.json").json()
            forged = self.milan.with_(vcek=self.other_milan_vcek, ask=chain[0],
                                      ark=chain[1] if len(chain) > 1 else None)
            self.rejected_everywhere("milan report, another chip's VCEK", forged, s, jwks)
            # Nothing the forgery brought is used for this chip afterwards.
            self.assertNotEqual(self.attest(s, self.milan.with_(vcek=None), jwks), "affirming")

    def test_expired_vcek_with_a_trusted_test_root(self):
        # Trusting the test PKI's root isolates the expiry: the valid VCEK affirms.
        roots = os.path.join(self.pki, "ark.pem")
        with serving(BIN, ["--extra-roots", roots]) as s:
            jwks = s.get("/.well-known/jwks.json").json()
            extra = ["--extra-roots", roots]
            expired = to_der(read(os.path.join(self.pki, "expired_vcek.pem")))[0]
            self.rejected_everywhere("expired VCEK", self.test_pki.with_(vcek=expired), s, jwks,
                                     extra)
            self.rejected_everywhere("expired VCEK, table", self.test_pki.with_(
                vcek=expired, table=True), s, jwks, extra)
            self.assertNotEqual(self.attest(s, self.test_pki.with_(vcek=None), jwks), "affirming")
            self.affirmed_everywhere("test PKI, trusted", self.test_pki, s, jwks, extra)
            # A Milan test PKI's chain for the Genoa test report: wrong product and key.
            milan_pki = os.path.join(self.tmp, "pki-milan")
            os.mkdir(milan_pki)
            subprocess.run([MKPKI, milan_pki, "Milan"], check=True, stdout=subprocess.DEVNULL)
            chain = to_der(read(os.path.join(milan_pki, "chain.pem")))
            self.rejected_everywhere(
                "genoa test report, milan test chain (trusted root)",
                self.test_pki.with_(vcek=to_der(read(os.path.join(milan_pki, "vcek.pem")))[0],
                                    ask=chain[0], ark=chain[1]),
                s, jwks, extra + ["--extra-roots", os.path.join(milan_pki, "ark.pem")])

    def test_revoked_ask_with_a_trusted_test_root(self):
        # The test PKI's ARK revokes its ASK in crl_revoked; crl_clean revokes nothing. The CRL
        # travels in the cert table's CRL entry (as a host may supply it), so the CLI, /v1/attest
        # and the Veraison API all see it; trusting the test root isolates the revocation.
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding
        roots = os.path.join(self.pki, "ark.pem")
        revoked = read(os.path.join(self.pki, "crl_revoked.der"))
        clean = x509.load_pem_x509_crl(read(os.path.join(self.pki, "crl_clean.pem")))
        with serving(BIN, ["--extra-roots", roots]) as s:
            jwks = s.get("/.well-known/jwks.json").json()
            extra = ["--extra-roots", roots]
            self.affirmed_everywhere("test PKI with a CRL revoking nothing", self.test_pki.with_(
                table=True, crl=clean.public_bytes(Encoding.DER)), s, jwks, extra)
            ev = self.test_pki.with_(table=True, crl=revoked)
            self.rejected_everywhere("revoked ASK (CRL in the cert table)", ev, s, jwks, extra)
            r = s.post("/v1/attest", json={"evidence": {"report": b64(ev.report), "cert_table":
                                                        b64(cert_table(ev.entries()))}})
            self.assertIn("revoked", r.text)  # the reason is said
            # A CRL signed by another ARK (the Milan test PKI's) counts for nothing: no
            # revocation is believed from it, and the chain still affirms.
            milan_pki = os.path.join(self.tmp, "pki-milan-crl")
            os.mkdir(milan_pki)
            subprocess.run([MKPKI, milan_pki, "Milan"], check=True, stdout=subprocess.DEVNULL)
            foreign = read(os.path.join(milan_pki, "crl_revoked.der"))
            self.assertEqual(self.attest(s, self.test_pki.with_(table=True, crl=foreign), jwks),
                             "affirming")

    def test_challenges_single_use_and_expire(self):
        roots = os.path.join(self.pki, "ark.pem")
        certs = [b64(d) for _, d in self.test_pki.entries()]

        def bound(challenge):
            out = os.path.join(self.tmp, "bound-%s.bin" % time.monotonic_ns())
            nonce = base64.b64decode(challenge)
            subprocess.run([MKPKI, "--sign", self.pki, nonce.hex(), out], check=True,
                           stdout=subprocess.DEVNULL)
            return {"evidence": {"report": b64(read(out)), "certs": certs},
                    "challenge": challenge}

        # Single use (default TTL, so that a slow machine cannot expire it first).
        with serving(BIN, ["--extra-roots", roots]) as s:
            body = bound(s.post("/v1/challenge").json()["nonce"])
            r = s.post("/v1/attest", json=body)
            self.assertEqual(r.json().get("status"), "affirming", r.text)
            r = s.post("/v1/attest", json=body)
            self.assertEqual(r.status_code, 400, "a challenge was accepted twice: " + r.text)
        # Expired: bound correctly, presented after its TTL (1 s) has surely passed. Waiting
        # longer only makes it more expired, so this does not depend on the machine's speed.
        with serving(BIN, ["--extra-roots", roots], env={"VERDICT_CHALLENGE_TTL_S": "1"}) as s:
            body = bound(s.post("/v1/challenge").json()["nonce"])
            for _ in range(30):  # bounded: 3 s
                time.sleep(0.1)
            r = s.post("/v1/attest", json=body)
            self.assertEqual(r.status_code, 400, "an expired challenge was accepted: " + r.text)
            self.assertIn("expired", r.json().get("detail", ""))


class Tokens(unittest.TestCase):
    """`verdict token verify` against the served JWKS refuses every token it did not sign."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="verdict-tokens-")
        with serving(BIN) as s:
            cls.jwks = s.get("/.well-known/jwks.json").json()
            body = {"evidence": {"report": b64(read("mstav-tests/milan_attestation_report.bin")),
                                 "certs": [read("mstav-tests/milan_vcek.pem").decode(),
                                           read("mstav-tests/milan_ask.pem").decode(),
                                           read("amd-roots-mstav/milan_ark.pem").decode()]}}
            cls.token = s.post("/v1/attest", json=body).json()["token"]
            cls.rejected = s.post("/v1/attest", json={"evidence": {
                "report": b64(flip(read("mstav-tests/milan_attestation_report.bin"), 0x90))}}
            ).json()["token"]
        cls.jwks_file = os.path.join(cls.tmp, "jwks.json")
        with open(cls.jwks_file, "w") as f:
            json.dump(cls.jwks, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def verify(self, token):
        r = subprocess.run([BIN, "token", "verify", token, "--jwks", self.jwks_file, "--json"],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def refused(self, name, token):
        with self.subTest(name):
            rc, out = self.verify(token)
            self.assertIn(rc, (1, 2), "%s: exit %d: %s" % (name, rc, out[-300:]))

    def test_genuine_token_verifies(self):
        rc, out = self.verify(self.token)
        self.assertEqual(rc, 0, out)

    def test_forged_tokens_refused(self):
        from cryptography.hazmat.primitives import hashes, hmac
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        header, payload, sig, signed = jwt_parts(self.token)
        h64, p64, _ = self.token.split(".")

        def enc(obj):
            return b64url(json.dumps(obj, separators=(",", ":")).encode())

        def sign_other(hdr, pl):
            data = ("%s.%s" % (enc(hdr), enc(pl))).encode()
            alg = hdr["alg"]
            if alg == "EdDSA":
                s = ed25519.Ed25519PrivateKey.generate().sign(data)
            else:
                curve, h, n = (ec.SECP256R1(), hashes.SHA256(), 32) if alg == "ES256" else \
                    (ec.SECP384R1(), hashes.SHA384(), 48)
                r_, s_ = decode_dss_signature(ec.generate_private_key(curve).sign(
                    data, ec.ECDSA(h)))
                s = r_.to_bytes(n, "big") + s_.to_bytes(n, "big")
            return data.decode() + "." + b64url(s)

        self.refused("signed by another key, same kid", sign_other(header, payload))
        self.refused("alg none, no signature", "%s.%s." % (enc(dict(header, alg="none")), p64))
        self.refused("alg none, original signature",
                     "%s.%s.%s" % (enc(dict(header, alg="none")), p64, b64url(sig)))
        jwk = [k for k in self.jwks["keys"] if k["kid"] == header["kid"]][0]
        for secret_name, secret in (("the JWK's x", unb64url(jwk["x"])),
                                    ("the JWK as JSON", json.dumps(jwk).encode())):
            hdr = dict(header, alg="HS256")
            data = ("%s.%s" % (enc(hdr), p64)).encode()
            m = hmac.HMAC(secret, hashes.SHA256())
            m.update(data)
            self.refused("HS256 keyed with " + secret_name, data.decode() + "." +
                         b64url(m.finalize()))
        # A rejected result edited to say affirming, signature kept.
        _, rp, rsig, _ = jwt_parts(self.rejected)
        rh64 = self.rejected.split(".")[0]
        edited = json.loads(json.dumps(rp))
        edited["submods"]["SEVSNP"]["ear.status"] = "affirming"
        self.refused("payload edited to affirming", "%s.%s.%s" % (rh64, enc(edited),
                                                                  b64url(rsig)))
        self.refused("signature bit flipped", "%s.%s.%s" % (h64, p64, b64url(
            bytes([sig[0] ^ 1]) + sig[1:])))
        self.refused("unknown kid", sign_other(dict(header, kid="not-the-kid"), payload))


if __name__ == "__main__":
    (BIN, VEC, MKPKI), rest = script_args(__doc__, 3)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
