#!/usr/bin/python3
"""Integration tests of `verdict serve`: the real server on loopback, real clients (Python
requests over HTTP/1.1), every real vector appraised through the API, tokens verified
independently with python3-cryptography against the served JWKS, challenges, the Veraison flow,
admin authentication, policies, malformed input, shutdown and restart.

usage: test_api.py VERDICT_BINARY VECTORS_DIR MKPKI_BINARY
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import (ADMIN_TOKEN, READER_TOKEN, Server, admin, b64, b64url,  # noqa: E402
                            jwt_parts, script_args, verify_token)

BIN = VEC = MKPKI = None


def vec(path):
    return os.path.join(VEC, path)


def read(path):
    with open(vec(path), "rb") as f:
        return f.read()


def pem_certs(*paths):
    """Certificates for the request's evidence.certs: PEM text as is, DER as base64."""
    out = []
    for p in paths:
        data = read(p)
        out.append(data.decode() if data.startswith(b"-----BEGIN") else b64(data))
    return out


# Genuine vectors (../shared/vectors/README.md) with the certificates to send.
GENUINE = [
    ("milan-v3", "mstav-tests/milan_attestation_report.bin",
     ["mstav-tests/milan_vcek.pem", "mstav-tests/milan_ask.pem", "amd-roots-mstav/milan_ark.pem"]),
    ("genoa-v3", "mstav-tests/genoa_attestation_report.bin",
     ["mstav-tests/genoa_vcek.pem", "mstav-tests/genoa_ask.pem", "amd-roots-mstav/genoa_ark.pem"]),
    ("turin-v5", "mstav-tests/turin_attestation_report.bin",
     ["mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem", "amd-roots-mstav/turin_ark.pem"]),
    ("milan-v2-gosevguest", "gosevguest-milan/attestation.bin",
     ["gosevguest-milan/vcek.der", "gosevguest-milan/cert_chain_milan_vcek.pem"]),
    ("milan-v2-trustee", "trustee-snp/test-report.bin",
     ["trustee-snp/test-vcek.der", "amd-roots-trustee/milan_ask_ark_asvk.pem"]),
]


def attest_body(report, certs, **extra):
    body = {"evidence": {"report": b64(report), "certs": pem_certs(*certs)}}
    body.update(extra)
    return body


class Base(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(BIN).start()
        cls.jwks = cls.server.get("/.well-known/jwks.json").json()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def attest(self, body, **kw):
        return self.server.post("/v1/attest", json=body, **kw)

    def assertProblem(self, r, status):
        self.assertEqual(r.status_code, status, r.text)
        self.assertTrue(r.headers["content-type"].startswith("application/problem+json"))
        p = r.json()
        self.assertEqual(p["status"], status)
        self.assertTrue(p["detail"])
        return p


class Health(Base):
    def test_healthz_readyz(self):
        self.assertEqual(self.server.get("/healthz").status_code, 200)
        r = self.server.get("/readyz")
        self.assertEqual(r.status_code, 200, r.text)

    def test_jwks_and_openid(self):
        keys = self.jwks["keys"]
        self.assertGreaterEqual(len(keys), 1)
        for k in keys:
            self.assertIn("kid", k)
            self.assertIn("alg", k)
            self.assertNotIn("d", k)
        oc = self.server.get("/.well-known/openid-configuration").json()
        self.assertTrue(oc["jwks_uri"].endswith("/.well-known/jwks.json"))
        self.assertIn(keys[0]["alg"], oc["id_token_signing_alg_values_supported"])

    def test_veraison_discovery(self):
        d = self.server.get("/.well-known/veraison/verification").json()
        self.assertEqual(d["service-state"], "READY")
        self.assertIn("application/vnd.veraison.tsm-report+json", d["media-types"])
        self.assertIn("application/vnd.verdict.azure-vtpm+json", d["media-types"])
        self.assertIn("alg", d["ear-verification-key"])
        self.assertEqual(d["api-endpoints"]["newChallengeResponseSession"],
                         "/challenge-response/v1/newSession")

    def test_metrics(self):
        self.attest(attest_body(read(GENUINE[0][1]), GENUINE[0][2]))
        r = self.server.get("/metrics")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"))
        for name in ("verdict_http_requests_total", "verdict_appraisals_total",
                     "verdict_appraisal_duration_seconds_bucket"):
            self.assertIn(name, r.text)

    def test_unknown_route_and_method(self):
        self.assertProblem(self.server.get("/nope"), 404)
        r = self.server.get("/v1/attest")
        self.assertProblem(r, 405)
        self.assertIn("POST", r.headers["allow"])


class Attest(Base):
    def test_every_genuine_vector_affirms_with_a_verifiable_token(self):
        for name, report, certs in GENUINE:
            with self.subTest(name):
                r = self.attest(attest_body(read(report), certs))
                self.assertEqual(r.status_code, 200, r.text)
                body = r.json()
                self.assertEqual(body["status"], "affirming", body)
                self.assertEqual(body["genuine"]["status"], "genuine")
                self.assertFalse(body["policy_applied"])
                header, payload = verify_token(body["token"], self.jwks)
                self.assertEqual(payload["eat_profile"], "tag:github.com,2023:veraison/ear")
                sub = payload["submods"]["SEVSNP"]
                self.assertEqual(sub["ear.status"], "affirming")
                self.assertIn("ear.trustworthiness-vector", sub)
                self.assertIn("ear.appraisal-policy-id", sub)
                self.assertIn("developer", payload["ear.verifier-id"])
                self.assertNotIn("eat_nonce", payload)

    def test_veraison_tsm_envelope_as_evidence(self):
        env = json.loads(read("veraison-tsm/sevsnp-tsm-report.json"))
        r = self.attest({"evidence": {"tsm": env}})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["status"], "affirming")
        r = self.attest({"tsm": env})
        self.assertEqual(r.json()["status"], "affirming")

    def test_urlsafe_unpadded_base64_accepted(self):
        name, report, certs = GENUINE[2]
        body = attest_body(read(report), certs)
        body["evidence"]["report"] = b64url(read(report))
        self.assertEqual(self.attest(body).json()["status"], "affirming")

    def test_negative_vectors_get_signed_rejections(self):
        neg = sorted(f for f in os.listdir(vec("negative-derived")) if f.endswith(".bin"))
        self.assertGreater(len(neg), 5)
        certs = {"milan_v2": ["gosevguest-milan/vcek.der",
                              "gosevguest-milan/cert_chain_milan_vcek.pem"],
                 "turin_v5": GENUINE[2][2]}
        tested = 0
        for f in neg:
            base = f.split("__")[0]
            if base == "genoa_v3":
                body = {"evidence": {"report": b64(read("negative-derived/" + f)),
                                     "cert_table": b64(read(
                                         "veraison-tsm/derived/auxblob_certtable.bin"))}}
            elif base in certs:
                body = attest_body(read("negative-derived/" + f), certs[base])
            else:
                continue
            with self.subTest(f):
                r = self.attest(body)
                self.assertEqual(r.status_code, 200, r.text)
                b = r.json()
                self.assertEqual(b["status"], "contraindicated", b)
                self.assertEqual(b["genuine"]["status"], "rejected")
                _, payload = verify_token(b["token"], self.jwks)
                sub = payload["submods"]["SEVSNP"]
                self.assertEqual(sub["ear.status"], "contraindicated")
                self.assertIn("problem", sub.get("ear.veraison.policy-claims", {}))
                tested += 1
        self.assertGreater(tested, 5)

    def test_expired_vlek_is_not_affirming(self):
        r = self.attest(attest_body(read("trustee-snp/test-vlek-report.bin"),
                                    ["trustee-snp/test-vlek.der",
                                     "gosevguest-milan/cert_chain_milan_vlek.pem"]))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["status"], "contraindicated")

    def test_missing_collateral_is_status_none(self):
        # No certificates, the server is offline, and no request of this suite carried this
        # chip's VCEK (the chains are cached by now: a valid chain in evidence is kept).
        report = bytes.fromhex(read("virtee-sev/report_milan.hex").decode())
        r = self.attest({"evidence": {"report": b64(report)}})
        self.assertEqual(r.status_code, 200, r.text)
        b = r.json()
        self.assertEqual(b["status"], "none")
        _, payload = verify_token(b["token"], self.jwks)
        self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"], "none")

    def test_nonce_is_bound_raw_without_policy(self):
        report = read(GENUINE[0][1])
        report_data = report[0x50:0x90]
        ok = self.attest(attest_body(report, GENUINE[0][2], nonce=b64(report_data)))
        self.assertEqual(ok.json()["status"], "affirming", ok.text)
        _, payload = verify_token(ok.json()["token"], self.jwks)
        self.assertIn("eat_nonce", payload)
        bad = self.attest(attest_body(report, GENUINE[0][2], nonce=b64(b"\x01" * 32)))
        self.assertEqual(bad.status_code, 200)
        self.assertNotEqual(bad.json()["status"], "affirming", bad.text)
        # Nonces EAR cannot echo (under 8 or over 64 bytes) are still checked, and signed.
        for n in (b"\x01\x02", b"\x07" * 100):
            r = self.attest(attest_body(report, GENUINE[0][2], nonce=b64(n)))
            self.assertEqual(r.status_code, 200, r.text)
            self.assertNotEqual(r.json()["status"], "affirming", r.text)
            _, payload = verify_token(r.json()["token"], self.jwks)
            self.assertNotIn("eat_nonce", payload)

    def test_malformed_requests(self):
        s = self.server
        self.assertProblem(s.post("/v1/attest", data=b"{not json",
                                  headers={"content-type": "application/json"}), 400)
        self.assertProblem(s.post("/v1/attest", json=[1, 2]), 400)
        self.assertProblem(self.attest({"evidence": {"report": "!!!not base64!!!"}}), 400)
        self.assertProblem(self.attest({"evidence": {"report": b64(b"x")}, "nonse": "AAAA"}), 400)
        self.assertProblem(self.attest({"nonce": "AAAA"}), 400)
        self.assertProblem(self.attest({"evidence": {"report": b64(b"x"), "certs": [5]}}), 400)
        self.assertProblem(self.attest({"evidence": {"report": b64(b"x"),
                                                     "certs": ["-----BEGIN garbage"]}}), 400)
        self.assertProblem(s.post("/v1/attest", data=b"{}",
                                  headers={"content-type": "text/plain"}), 415)
        # A report of the wrong length is evidence that fails, not a malformed request.
        r = self.attest({"evidence": {"report": b64(b"\0" * 100)}})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["status"], "contraindicated")

    def test_oversized_body(self):
        r = self.server.post("/v1/attest", data=b"{" + b" " * (300 * 1024) + b"}",
                             headers={"content-type": "application/json"})
        self.assertEqual(r.status_code, 413)

    def test_request_id_echoed(self):
        r = self.server.get("/healthz", headers={"x-request-id": "abc-123"})
        self.assertEqual(r.headers.get("x-request-id"), "abc-123")
        self.assertTrue(self.server.get("/healthz").headers.get("x-request-id"))


class Challenges(Base):
    def test_challenge_single_use_and_forgery(self):
        c = self.server.post("/v1/challenge").json()
        self.assertIn("nonce", c)
        self.assertIn("expires_at", c)
        name, report, certs = GENUINE[0]
        # A real report cannot bind a fresh challenge: not affirming.
        r = self.attest(attest_body(read(report), certs, challenge=c["nonce"]))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotEqual(r.json()["status"], "affirming")
        # Used once: refused now.
        self.assertProblem(self.attest(attest_body(read(report), certs, challenge=c["nonce"])),
                           400)
        # Not issued by this server.
        forged = bytearray(base64.b64decode(self.server.post("/v1/challenge").json()["nonce"]))
        forged[-1] ^= 1
        self.assertProblem(self.attest(attest_body(read(report), certs,
                                                   challenge=b64(bytes(forged)))), 400)

    def test_challenge_bound_in_a_test_pki_report_affirms(self):
        pki = tempfile.mkdtemp(prefix="verdict-pki-")
        subprocess.run([MKPKI, pki, "Genoa"], check=True)
        with Server(BIN, ["--extra-roots", os.path.join(pki, "ark.pem")]) as s:
            jwks = s.get("/.well-known/jwks.json").json()
            c = s.post("/v1/challenge").json()
            nonce = base64.b64decode(c["nonce"])
            out = os.path.join(pki, "bound.bin")
            subprocess.run([MKPKI, "--sign", pki, nonce.hex(), out], check=True)
            with open(out, "rb") as f:
                report = f.read()
            certs = []
            for n in ("vcek.pem", "chain.pem"):
                with open(os.path.join(pki, n)) as f:
                    certs.append(f.read())
            body = {"evidence": {"report": b64(report), "certs": certs}, "challenge": c["nonce"]}
            r = s.post("/v1/attest", json=body)
            self.assertEqual(r.json()["status"], "affirming", r.text)
            _, payload = verify_token(r.json()["token"], jwks)
            self.assertIn("eat_nonce", payload)
            # The same challenge again: refused (single use).
            self.assertEqual(s.post("/v1/attest", json=body).status_code, 400)


class Veraison(Base):
    TSM = "application/vnd.veraison.tsm-report+json"
    SESSION = "application/vnd.veraison.challenge-response-session+json"

    def session(self, nonce):
        r = self.server.post("/challenge-response/v1/newSession?nonce=" + b64url(nonce),
                             headers={"accept": self.SESSION})
        self.assertEqual(r.status_code, 201, r.text)
        loc = r.headers["location"]
        self.assertTrue(loc.startswith("session/"))
        s = r.json()
        self.assertEqual(s["status"], "waiting")
        self.assertEqual(base64.b64decode(s["nonce"], validate=True), nonce)  # std, padded
        return "/challenge-response/v1/" + loc

    def test_good_and_wrong_nonce(self):
        env = read("veraison-tsm/sevsnp-tsm-report.json")
        report_data = read("veraison-tsm/derived/outblob_report.bin")[0x50:0x90]
        path = self.session(report_data)
        r = self.server.post(path, data=env, headers={"content-type": self.TSM,
                                                      "accept": self.SESSION})
        self.assertEqual(r.status_code, 200, r.text)
        s = r.json()
        self.assertEqual(s["status"], "complete")
        self.assertEqual(base64.b64decode(s["evidence"]["value"], validate=True), env)
        _, payload = verify_token(s["result"], self.jwks)
        self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"], "affirming")
        self.assertEqual(self.server.get(path).json()["status"], "complete")
        # Evidence posted twice: refused.
        self.assertEqual(self.server.post(path, data=env,
                                          headers={"content-type": self.TSM}).status_code, 409)
        self.assertEqual(self.server.delete(path).status_code, 204)
        self.assertEqual(self.server.get(path).status_code, 404)
        # A session whose nonce the report does not bind: signed, contraindicated, complete.
        path = self.session(bytes(64))
        r = self.server.post(path, data=env, headers={"content-type": self.TSM})
        self.assertEqual(r.status_code, 200, r.text)
        _, payload = verify_token(r.json()["result"], self.jwks)
        self.assertNotEqual(payload["submods"]["SEVSNP"]["ear.status"], "affirming")

    def test_cbor_evidence(self):
        report_data = read("veraison-tsm/derived/outblob_report.bin")[0x50:0x90]
        path = self.session(report_data)
        r = self.server.post(path, data=read("veraison-tsm/sevsnp-tsm-report.cbor"),
                             headers={"content-type": "application/vnd.veraison.tsm-report+cbor"})
        self.assertEqual(r.status_code, 200, r.text)
        _, payload = verify_token(r.json()["result"], self.jwks)
        self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"], "affirming")

    def test_errors(self):
        s = self.server
        self.assertEqual(s.post("/challenge-response/v1/newSession?nonce=AAAA&nonceSize=32")
                         .status_code, 400)
        self.assertEqual(s.post("/challenge-response/v1/newSession?nonceSize=4").status_code, 400)
        self.assertEqual(s.post("/challenge-response/v1/newSession?nonce=" + "A" * 400)
                         .status_code, 400)
        r = s.post("/challenge-response/v1/newSession?nonceSize=48")
        self.assertEqual(len(base64.b64decode(r.json()["nonce"])), 48)
        path = "/challenge-response/v1/" + r.headers["location"]
        r = s.post(path, data=b"{}", headers={"content-type": "application/json"})
        self.assertEqual(r.status_code, 415)
        self.assertIn("tsm-report", r.headers["accept"])
        self.assertEqual(s.post("/challenge-response/v1/session/nope", data=b"{}",
                                headers={"content-type": self.TSM}).status_code, 404)
        self.assertEqual(s.post("/challenge-response/v1/newSession",
                                headers={"accept": "text/html"}).status_code, 406)


POLICY = """name: api-test
description: from the API test
snp:
  freshness: raw
  measurements:
    - value: "%s"
      label: the tested image
"""


# Azure vTPM evidence (issue #13): Trustee's az-snp-vtpm JSON, the chain to send, the nonce the
# quote binds (azure-vtpm/README.md).
AZURE_VTPM = [
    ("v0", "azure-vtpm/evidence-v0.json", "amd-roots-trustee/milan_ask_ark_asvk.pem",
     "6368616c6c656e6765"),
    ("v1", "azure-vtpm/evidence-v1.json", "amd-roots-trustee/milan_ask_ark_asvk.pem",
     "6368616c6c656e6765"),
    ("v2", "azure-vtpm/evidence-v2.json", "amd-roots-trustee/milan_ask_ark_asvk.pem",
     "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5"
     "f819ef"),
    ("genoa", "azure-vtpm/evidence-genoa.json", "amd-roots-trustee/genoa_ask_ark_asvk.pem",
     "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea3"
     "5d950f"),
]


class AzureVtpm(Base):
    VTPM = "application/vnd.verdict.azure-vtpm+json"

    def body(self, path, chain, **extra):
        b = {"evidence": {"azure_vtpm": json.loads(read(path)), "certs": pem_certs(chain)}}
        b.update(extra)
        return b

    def test_every_vector_with_and_without_its_nonce(self):
        for name, path, chain, nonce in AZURE_VTPM:
            for with_nonce in (False, True):
                with self.subTest(name=name, nonce=with_nonce):
                    extra = {"nonce": b64(bytes.fromhex(nonce))} if with_nonce else {}
                    r = self.attest(self.body(path, chain, **extra))
                    self.assertEqual(r.status_code, 200, r.text)
                    b = r.json()
                    self.assertEqual(b["status"], "affirming", b)
                    g = b["genuine"]
                    self.assertEqual(g["status"], "genuine")
                    self.assertEqual(len(g["vtpm"]["pcrs"]), 24)
                    self.assertIs(g["vtpm"]["nonce_checked"], with_nonce)
                    checks = {c["name"]: c["result"] for c in g["checks"]}
                    self.assertEqual(checks["tpm.nonce"], "pass" if with_nonce else "skip")
                    self.assertEqual(checks["hcl.report_data"], "pass")
                    _, payload = verify_token(b["token"], self.jwks)
                    sub = payload["submods"]["SEVSNP"]
                    self.assertEqual(sub["ear.status"], "affirming")
                    self.assertEqual("eat_nonce" in payload, with_nonce)
                    # The relying party (a key broker) sees the PCRs and flags in the token.
                    ann = sub["ear.veraison.annotated-evidence"]["vtpm"]
                    self.assertEqual(ann["pcrs"], g["vtpm"]["pcrs"])
                    self.assertIs(ann["secure_boot"], True)

    def test_wrong_nonce_is_a_signed_rejection(self):
        for name, path, chain, nonce in AZURE_VTPM:
            for bad in (bytes.fromhex(nonce) + b"\0", bytes.fromhex(nonce)[:-1], b"\x01" * 32):
                with self.subTest(name=name, bad=bad.hex()):
                    r = self.attest(self.body(path, chain, nonce=b64(bad)))
                    self.assertEqual(r.status_code, 200, r.text)
                    b = r.json()
                    self.assertEqual(b["status"], "contraindicated", b)
                    self.assertTrue(b["genuine"]["reason"].startswith("tpm.nonce"), b)
                    _, payload = verify_token(b["token"], self.jwks)
                    self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"],
                                     "contraindicated")

    def test_tampered_pcr_is_rejected(self):
        name, path, chain, nonce = AZURE_VTPM[2]
        b = self.body(path, chain, nonce=b64(bytes.fromhex(nonce)))
        pcrs = b["evidence"]["azure_vtpm"]["tpm_quote"]["pcrs"]
        pcrs[7] = "%064x" % (int(pcrs[7], 16) ^ 1)
        r = self.attest(b)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["status"], "contraindicated")
        self.assertTrue(r.json()["genuine"]["reason"].startswith("tpm.pcr_digest"))
        verify_token(r.json()["token"], self.jwks)

    def test_malformed(self):
        name, path, chain, nonce = AZURE_VTPM[1]
        ev = json.loads(read(path))
        cases = [
            {"evidence": {"azure_vtpm": "text"}},
            {"evidence": {"azure_vtpm": {"outblob": "AAAA"}}},
            {"evidence": {"azure_vtpm": ev, "report": b64(b"x")}},
            {"evidence": {"azure_vtpm": dict(ev, version=3)}},
            {"evidence": {"azure_vtpm": dict(ev, hcl_report="!!")}},
        ]
        for body in cases:
            with self.subTest(body=str(body)[:80]):
                r = self.attest(body)
                self.assertEqual(r.status_code, 400, r.text)

    def test_veraison_session(self):
        # No "certs" in a Veraison session: the ASK/ARK chain comes from the certificate cache
        # (imported here; the server is offline), the VCEK from the evidence.
        for chain in ("amd-roots-trustee/milan_ask_ark_asvk.pem",
                      "amd-roots-trustee/genoa_ask_ark_asvk.pem"):
            r = self.server.post("/v1/certs", data=read(chain), headers=admin())
            self.assertEqual(r.status_code, 200, r.text)
        for name, path, chain, nonce in AZURE_VTPM:
            for good in (True, False):
                with self.subTest(name=name, good=good):
                    n = bytes.fromhex(nonce) if good else bytes(32)
                    r = self.server.post("/challenge-response/v1/newSession?nonce=" + b64url(n),
                                         headers={"accept": Veraison.SESSION})
                    self.assertEqual(r.status_code, 201, r.text)
                    sp = "/challenge-response/v1/" + r.headers["location"]
                    r = self.server.post(sp, data=read(path),
                                         headers={"content-type": self.VTPM})
                    self.assertEqual(r.status_code, 200, r.text)
                    s = r.json()
                    self.assertEqual(s["status"], "complete", s)
                    self.assertEqual(base64.b64decode(s["evidence"]["value"]), read(path))
                    _, payload = verify_token(s["result"], self.jwks)
                    self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"],
                                     "affirming" if good else "contraindicated")
        # Not vTPM evidence under the vTPM media type: 400.
        r = self.server.post("/challenge-response/v1/newSession?nonceSize=32",
                             headers={"accept": Veraison.SESSION})
        sp = "/challenge-response/v1/" + r.headers["location"]
        r = self.server.post(sp, data=b'{"outblob": "AAAA"}', headers={"content-type": self.VTPM})
        self.assertEqual(r.status_code, 400, r.text)


class AzureVtpmChallenge(unittest.TestCase):
    """A verdict challenge bound in a vTPM quote: the quote's extraData is SHA-384(challenge ||
    runtime data) (vtpm.h). Evidence from the test PKI (mkpki --vtpm) binds values this server
    makes up at run time, with a real signature chain; it counts only with --extra-roots."""

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="verdict-vtpm-")
        subprocess.run([MKPKI, cls.pki, "Milan"], check=True)
        cls.chain = open(os.path.join(cls.pki, "chain.pem")).read()
        cls.server = Server(BIN, ["--extra-roots", os.path.join(cls.pki, "ark.pem")]).start()
        cls.jwks = cls.server.get("/.well-known/jwks.json").json()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def evidence(self, *args):
        """mkpki --vtpm with ARGS: the evidence JSON."""
        out = os.path.join(self.pki, "ev.json")
        subprocess.run([MKPKI, "--vtpm", self.pki, out] + list(args), check=True)
        with open(out) as f:
            return json.load(f)

    def key_file(self, key):
        path = os.path.join(self.pki, "key.pem")
        with open(path, "wb") as f:
            f.write(key)
        return path

    def body(self, ev, **extra):
        b = {"evidence": {"azure_vtpm": ev, "certs": [self.chain]}}
        b.update(extra)
        return b

    def bound(self, server, key, version="2"):
        """A fresh challenge of `server` and evidence binding it with `key`."""
        c = server.post("/v1/challenge").json()["nonce"]
        ev = self.evidence("--version", version, "--challenge", c, "--runtime-data",
                           self.key_file(key))
        return c, ev

    KEY_A = b"-----BEGIN PUBLIC KEY-----\nthe ephemeral key a broker wraps to\n"
    KEY_B = b"-----BEGIN PUBLIC KEY-----\nsomeone else's key\n"

    def test_fresh_challenge_affirms_once(self):
        for version in ("1", "2"):
            with self.subTest(version=version):
                c, ev = self.bound(self.server, self.KEY_A, version)
                body = self.body(ev, challenge=c, runtime_data=b64(self.KEY_A))
                r = self.server.post("/v1/attest", json=body)
                self.assertEqual(r.status_code, 200, r.text)
                b = r.json()
                self.assertEqual(b["status"], "affirming", b)
                g = b["genuine"]
                self.assertEqual(g["vtpm"]["nonce_binding"], "sha384")
                self.assertEqual(len(bytes.fromhex(g["vtpm"]["quote"]["extra_data"])), 48)
                checks = {k["name"]: k["result"] for k in g["checks"]}
                self.assertEqual(checks["tpm.nonce"], "pass")
                self.assertEqual(checks["hcl.user_data"], "pass" if version == "2" else "skip")
                fresh = [k for k in b["appraisal"]["checks"] if k["name"] == "policy.freshness"]
                self.assertEqual(fresh[0]["result"], "pass", fresh)
                _, payload = verify_token(b["token"], self.jwks)
                self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"], "affirming")
                self.assertEqual(base64.urlsafe_b64decode(payload["eat_nonce"]),
                                 base64.b64decode(c))
                # Replayed: the challenge was redeemed, refused before any appraisal.
                r = self.server.post("/v1/attest", json=body)
                self.assertEqual(r.status_code, 400, r.text)
                self.assertIn("reused", r.json()["detail"])

    def test_wrong_public_key_is_refused(self):
        c, ev = self.bound(self.server, self.KEY_A)
        r = self.server.post("/v1/attest",
                             json=self.body(ev, challenge=c, runtime_data=b64(self.KEY_B)))
        self.assertEqual(r.status_code, 200, r.text)
        b = r.json()
        self.assertEqual(b["status"], "contraindicated", b)
        self.assertTrue(b["genuine"]["reason"].startswith("tpm.nonce"), b)
        _, payload = verify_token(b["token"], self.jwks)
        self.assertEqual(payload["submods"]["SEVSNP"]["ear.status"], "contraindicated")

    def test_other_challenge_is_refused(self):
        # Evidence bound to one challenge, presented with another (fresh) one.
        _, ev = self.bound(self.server, self.KEY_A)
        c2 = self.server.post("/v1/challenge").json()["nonce"]
        for extra in ({"runtime_data": b64(self.KEY_A)}, {}):
            with self.subTest(extra=list(extra)):
                r = self.server.post("/v1/attest", json=self.body(ev, challenge=c2, **extra))
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(r.json()["status"], "contraindicated", r.text)
                self.assertTrue(r.json()["genuine"]["reason"].startswith("tpm.nonce"))
                c2 = self.server.post("/v1/challenge").json()["nonce"]

    def test_plain_nonce_keeps_the_exact_rule(self):
        ev = self.evidence("--extra", "ab" * 20)
        r = self.server.post("/v1/attest", json=self.body(ev, nonce=b64(b"\xab" * 20)))
        self.assertEqual(r.json()["status"], "affirming", r.text)
        self.assertEqual(r.json()["genuine"]["vtpm"]["nonce_binding"], "exact")
        r = self.server.post("/v1/attest", json=self.body(ev, nonce=b64(b"\xab" * 21)))
        self.assertEqual(r.json()["status"], "contraindicated", r.text)
        # Runtime data cannot be bound by a plain nonce: never affirming.
        r = self.server.post("/v1/attest", json=self.body(ev, nonce=b64(b"\xab" * 20),
                                                          runtime_data=b64(self.KEY_A)))
        self.assertNotEqual(r.json()["status"], "affirming", r.text)

    def test_refused_without_the_test_root(self):
        with Server(BIN) as s:
            c, ev = self.bound(s, self.KEY_A)
            r = s.post("/v1/attest", json=self.body(ev, challenge=c, runtime_data=b64(self.KEY_A)))
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["status"], "contraindicated", r.text)
            self.assertEqual(r.json()["genuine"]["status"], "rejected")


class Admin(Base):
    def test_admin_needs_a_token(self):
        s = self.server
        yaml = "name: t1\n"
        r = s.put("/v1/policies/t1", data=yaml)
        self.assertEqual(r.status_code, 401)
        self.assertIn("Bearer", r.headers["www-authenticate"])
        r = s.put("/v1/policies/t1", data=yaml, headers=admin("wrong"))
        self.assertEqual(r.status_code, 401)
        r = s.put("/v1/policies/t1", data=yaml, headers=admin())
        self.assertIn(r.status_code, (200, 201), r.text)
        self.assertEqual(s.get("/v1/policies").status_code, 401)
        self.assertEqual(s.get("/v1/policies", headers=admin()).status_code, 200)

    def test_policy_lifecycle_and_use(self):
        s = self.server
        name, report, certs = GENUINE[2]
        raw = read(report)
        measurement = raw[0x90:0xC0].hex()
        yaml = POLICY % measurement
        r = s.put("/v1/policies/other-name", data=yaml, headers=admin())
        self.assertEqual(r.status_code, 400)
        r = s.put("/v1/policies/api-test", data="name: api-test\nbogus_key: 1\n",
                  headers=admin())
        p = self.assertProblem(r, 400)
        self.assertEqual(p["line"], 2)
        self.assertIn("column", p)
        r = s.put("/v1/policies/api-test", data=yaml, headers=admin())
        self.assertIn(r.status_code, (200, 201), r.text)
        self.assertEqual(r.json()["version"], 1)
        lst = s.get("/v1/policies", headers=admin()).json()
        self.assertIn("api-test", [p["name"] for p in lst["policies"]])
        self.assertEqual(s.get("/v1/policies/api-test", headers=admin()).text, yaml)
        # The policy binds freshness raw: the report's own REPORT_DATA as nonce affirms.
        body = attest_body(raw, certs, policy="api-test", nonce=b64(raw[0x50:0x90]))
        deadline = time.time() + 5
        while True:
            r = self.attest(body)
            if r.status_code == 200 or time.time() > deadline:
                break
            time.sleep(0.2)
        b = r.json()
        self.assertEqual(b["status"], "affirming", b)
        self.assertTrue(b["policy_applied"])
        _, payload = verify_token(b["token"], self.jwks)
        self.assertIn("api-test", payload["submods"]["SEVSNP"]["ear.appraisal-policy-id"])
        # A second version that pins another measurement: contraindicated.
        r = s.put("/v1/policies/api-test", data=POLICY % ("00" * 48), headers=admin())
        self.assertEqual(r.json()["version"], 2)
        deadline = time.time() + 5
        while time.time() < deadline:
            b = self.attest(body).json()
            if b["status"] != "affirming":
                break
            time.sleep(0.2)
        self.assertEqual(b["status"], "contraindicated", b)
        versions = s.get("/v1/policies/api-test/versions", headers=admin()).json()
        self.assertEqual([v["version"] for v in versions["versions"]], [1, 2])
        r = s.post("/v1/policies/api-test/activate", json={"version": 1}, headers=admin())
        self.assertEqual(r.status_code, 200, r.text)
        deadline = time.time() + 5
        while time.time() < deadline:
            b = self.attest(body).json()
            if b["status"] == "affirming":
                break
            time.sleep(0.2)
        self.assertEqual(b["status"], "affirming", b)
        # Dry runs: stored and unsaved; no token.
        r = s.post("/v1/policies/api-test/test", json=attest_body(raw, certs,
                                                                  nonce=b64(raw[0x50:0x90])),
                   headers=admin())
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["status"], "affirming")
        self.assertNotIn("token", r.json())
        dry = attest_body(raw, certs, policy=POLICY % ("11" * 48), nonce=b64(raw[0x50:0x90]))
        r = s.post("/v1/policies:test", json=dry, headers=admin())
        self.assertEqual(r.json()["status"], "contraindicated", r.text)
        r = s.post("/v1/policies:test", json=attest_body(raw, certs, policy="name: x\n  bad: ["),
                   headers=admin())
        self.assertEqual(r.status_code, 400)
        self.assertIn("line", r.json())
        self.assertEqual(s.delete("/v1/policies/api-test", headers=admin()).status_code, 204)
        r = self.attest(body)
        self.assertEqual(r.status_code, 404, r.text)

    def test_certs_endpoints(self):
        s = self.server
        self.assertEqual(s.post("/v1/certs", data=b"x").status_code, 401)
        r = s.post("/v1/certs", data=read("amd-roots-virtee-sev/milan_ask.pem") +
                   read("amd-roots-virtee-sev/milan_ark.pem"), headers=admin())
        self.assertEqual(r.status_code, 200, r.text)
        self.assertGreaterEqual(r.json()["imported"], 1)
        lst = s.get("/v1/certs", headers=admin()).json()
        self.assertGreaterEqual(len(lst["certificates"]), 1)
        r = s.post("/v1/certs", data=b"-----BEGIN CERTIFICATE-----\nnope\n", headers=admin())
        self.assertEqual(r.status_code, 400)


class KeyRotation(unittest.TestCase):
    def test_rotate_keeps_the_old_key_published(self):
        with Server(BIN) as s:
            name, report, certs = GENUINE[0]
            old = s.post("/v1/attest", json=attest_body(read(report), certs)).json()["token"]
            old_kid = jwt_parts(old)[0]["kid"]
            self.assertEqual(s.post("/v1/keys/rotate").status_code, 401)
            r = s.post("/v1/keys/rotate", json={"alg": "ES384"}, headers=admin())
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["alg"], "ES384")
            self.assertNotEqual(r.json()["kid"], old_kid)
            jwks = s.get("/.well-known/jwks.json").json()
            self.assertEqual({k["kid"] for k in jwks["keys"]}, {old_kid, r.json()["kid"]})
            verify_token(old, jwks)  # tokens signed before the rotation still verify
            new = s.post("/v1/attest", json=attest_body(read(report), certs)).json()["token"]
            header, _ = verify_token(new, jwks)
            self.assertEqual(header["alg"], "ES384")
            self.assertEqual(header["kid"], r.json()["kid"])
            r = s.post("/v1/keys/rotate", json={"alg": "RS256"}, headers=admin())
            self.assertEqual(r.status_code, 400)


class NoAdminToken(unittest.TestCase):
    def test_admin_disabled_without_token(self):
        with Server(BIN, env={"VERDICT_ADMIN_TOKEN": ""}) as s:
            r = s.put("/v1/policies/x", data="name: x\n", headers=admin())
            self.assertEqual(r.status_code, 403, r.text)


class Reload(unittest.TestCase):
    """SIGHUP reloads the configuration (and policies, keys, TLS): per-request settings take
    effect, a change that needs a restart is refused whole."""

    def token_ttl(self, s):
        name, report, certs = GENUINE[0]
        r = s.post("/v1/attest", json=attest_body(read(report), certs))
        self.assertEqual(r.status_code, 200, r.text)
        _, payload = jwt_parts(r.json()["token"])[:2]
        return payload["exp"] - payload["iat"]

    def test_sighup_reloads_the_configuration(self):
        s = Server(BIN, config="signing:\n  token_ttl_s: 300\n").start()
        try:
            self.assertEqual(self.token_ttl(s), 300)
            with open(os.path.join(s.dir, "verdict.yaml"), "w") as f:
                f.write("signing:\n  token_ttl_s: 120\n")
            s.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while self.token_ttl(s) != 120 and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.token_ttl(s), 120)
            # A setting built once at start: refused, the configuration in force kept.
            with open(os.path.join(s.dir, "verdict.yaml"), "w") as f:
                f.write("signing:\n  token_ttl_s: 60\nserver:\n  workers: 7\n")
            s.proc.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertEqual(self.token_ttl(s), 120)
            # A file that does not parse: kept as well, the server goes on.
            with open(os.path.join(s.dir, "verdict.yaml"), "w") as f:
                f.write("signing: [\n")
            s.proc.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertEqual(self.token_ttl(s), 120)
        finally:
            s.stop()
        with open(s.log) as f:
            log = f.read()
        self.assertIn("configuration reloaded", log)
        self.assertIn("changed: that takes a restart", log)

    def test_challenge_expires(self):
        with Server(BIN, config="challenge:\n  ttl_s: 1\n") as s:
            c = s.post("/v1/challenge").json()
            time.sleep(2.2)
            name, report, certs = GENUINE[0]
            r = s.post("/v1/attest", json=attest_body(read(report), certs, challenge=c["nonce"]))
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("expired", r.json()["detail"])


class Lifecycle(unittest.TestCase):
    def test_sigterm_drains_and_kill9_keeps_the_audit(self):
        s = Server(BIN).start()
        name, report, certs = GENUINE[0]
        r = s.post("/v1/attest", json=attest_body(read(report), certs,
                                                  nonce=b64(b"n" * 16)))
        self.assertEqual(r.status_code, 200)
        rid = r.headers["x-request-id"]
        s.proc.kill()  # kill -9
        s.stop()
        db = os.path.join(s.dir, "verdict.db")
        out = subprocess.run([BIN, "audit", "list", "--db", db, "--json"], capture_output=True,
                             text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(rid, out.stdout)
        out = subprocess.run(["sqlite3", db, "PRAGMA integrity_check"], capture_output=True,
                             text=True)
        if out.returncode == 0:
            self.assertEqual(out.stdout.strip(), "ok")
        # Restart on the same directory: the same signing key, the old token still verifies.
        s2 = Server(BIN, workdir=s.dir).start()
        jwks = s2.get("/.well-known/jwks.json").json()
        verify_token(r.json()["token"], jwks)
        self.assertEqual(s2.stop(signal.SIGTERM), 0)


if __name__ == "__main__":
    (BIN, VEC, MKPKI), rest = script_args(__doc__, 3)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
