#!/usr/bin/python3
"""KDS faults against the real `verdict serve` (issue #10): the service fetches certificates
from the mock KDS (tests/mock_kds/mock_kds.py, --kds-url, not offline, no certificates in the
requests) while the mock is down, slow, hanging, answering 429 storms, 500s, garbage, truncated
bodies, or a valid certificate for the wrong chip. What must hold: the service stays up
(/healthz), a chip already cached keeps verifying, an uncached chip is not affirmed and its
answer says why, nothing wrong is cached (the chip verifies once the KDS is sound again), and no
answer waits longer than the KDS timeout allows.

Chips: the Genoa report of the Veraison vector (A) and Milan's mstav report (B), both genuine,
with their real VCEKs and chains served by the mock as AMD's KDS would (DER VCEK, PEM chain).

usage: test_kds_faults.py VERDICT_BINARY VECTORS_DIR MOCK_KDS_PY
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import Server, b64, serving  # noqa: E402


BIN = VEC = MOCK = None
KDS_TIMEOUT_MS = 1500


def read(path):
    with open(os.path.join(VEC, path), "rb") as f:
        return f.read()


def pem_to_der(blob):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    pems = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", blob, re.S)
    return [x509.load_pem_x509_certificate(p).public_bytes(Encoding.DER) for p in pems]


def chip_path(product, report):
    return "/vcek/v1/%s/%s" % (product, report[0x1A0:0x1E0].hex())


class MockKds:
    def __init__(self, root):
        self.proc = subprocess.Popen(["/usr/bin/python3", MOCK, root, "--lifetime", "900"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("mock KDS did not start: %r" % line)
        self.base = "http://127.0.0.1:%s" % m.group(1)

    def rules(self, *rules):
        requests.post(self.base + "/_control", json={"rules": list(rules)}, timeout=10)

    def stats(self):
        return requests.get(self.base + "/_stats", timeout=10).json()

    def reset(self):
        requests.post(self.base + "/_reset", timeout=10)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class KdsFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="verdict-kds-")
        root = os.path.join(cls.tmp, "kds")
        os.mkdir(root)
        cls.a = read("veraison-tsm/derived/outblob_report.bin")
        cls.b = read("mstav-tests/milan_attestation_report.bin")
        t = "veraison-tsm/derived/auxblob_entry_%s.bin"
        files = {
            "genoa_vcek.der": read(t % "63da758d-e664-4564-adc5-f4b93be8accd"),
            "genoa_ask.der": read(t % "4ab7b379-bbac-4fe4-a02f-05aef327c782"),
            "genoa_ark.der": read(t % "c0b406a4-a803-4952-9743-3fb6014cd0ae"),
            "genoa_chain.pem": read("mstav-tests/genoa_ask.pem") +
            read("amd-roots-mstav/genoa_ark.pem"),
            "milan_vcek.der": pem_to_der(read("mstav-tests/milan_vcek.pem"))[0],
            "other_milan_vcek.der": read("gosevguest-milan/vcek.der"),  # another Milan chip
            "milan_chain.pem": read("mstav-tests/milan_ask.pem") +
            read("amd-roots-mstav/milan_ark.pem"),
        }
        cls.b_chain = pem_to_der(files["milan_chain.pem"])
        for name, data in files.items():
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)
        cls.path_a = chip_path("Genoa", cls.a)
        cls.path_b = chip_path("Milan", cls.b)
        routes = {cls.path_a: "genoa_vcek.der", "/vcek/v1/Genoa/cert_chain": "genoa_chain.pem",
                  cls.path_b: "milan_vcek.der", "/vcek/v1/Milan/cert_chain": "milan_chain.pem"}
        with open(os.path.join(root, "routes.json"), "w") as f:
            json.dump(routes, f)
        cls.wrong_vcek = os.path.join(root, "other_milan_vcek.der")
        cls.a_vcek, cls.a_chain = files["genoa_vcek.der"], [files["genoa_ask.der"],
                                                            files["genoa_ark.der"]]
        cls.kds = MockKds(root)

    @classmethod
    def tearDownClass(cls):
        cls.kds.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def server(self):
        return serving(BIN, ["--kds-url", self.kds.base],
                      env={"VERDICT_OFFLINE": "0", "VERDICT_KDS_TIMEOUT_MS": str(KDS_TIMEOUT_MS)})

    def attest(self, s, report, certs=None):
        ev = {"report": b64(report)}
        if certs:
            ev["certs"] = [b64(c) for c in certs]
        r = s.post("/v1/attest", json={"evidence": ev})
        self.assertIn(r.status_code, (200, 429, 503), r.text)
        if r.status_code != 200:
            self.assertTrue(r.json().get("detail"), r.text)  # a clear reason
            return "http %d" % r.status_code, r.json()["detail"]
        b = r.json()
        return b["status"], json.dumps(b)

    def up(self, s):
        self.assertEqual(s.get("/healthz").status_code, 200)

    def not_affirmed_with_reason(self, s, report, what, certs=None):
        t0 = time.monotonic()
        status, text = self.attest(s, report, certs)
        # Reported, not asserted (tests assert behaviour, not timing).
        print("  %-30s %-10s %.2f s" % (what, status, time.monotonic() - t0), file=sys.stderr)
        self.assertNotEqual(status, "affirming", "%s: affirmed: %s" % (what, text[:300]))
        self.assertRegex(text.lower(), r"kds|collateral|certificate|vcek|retry|unavailable",
                         "%s: no reason given: %s" % (what, text[:300]))
        self.up(s)
        return status

    FAULTS = [
        ("down (500)", {"mode": "500"}),
        ("404", {"mode": "404"}),
        ("429 storm", {"mode": "429", "retry_after": "2"}),
        ("garbage bodies", {"mode": "garbage"}),
        ("truncated bodies", {"mode": "truncate"}),
        ("hanging", {"mode": "hang"}),
        ("slower than the timeout", {"mode": "slow", "delay_ms": 3 * KDS_TIMEOUT_MS}),
        ("a valid VCEK of another chip", {"mode": "file", "match": "/vcek/v1/Milan/4"}),
    ]
    RECOVER = ("garbage bodies", "a valid VCEK of another chip", "truncated bodies")

    def test_faults(self):
        # One fresh server per fault, so that each fault reaches the KDS (after one failure the
        # KDS client backs off and answers at once without asking, and its rate limiter allows
        # a burst of 3 requests, then one per 10 s, like AMD's KDS). Chip A is cached from a
        # request that carried its VCEK; later requests for A carry only the ASK and ARK, so
        # A's VCEK can only come from the cache.
        for name, rule in self.FAULTS:
            with self.subTest(name), self.server() as s:
                self.kds.reset()
                rule = dict({"match": "/vcek/", "times": -1}, **rule)
                b_certs = None
                if rule["mode"] == "file":
                    # The wrong VCEK must be fetched before the rate limiter's burst is spent
                    # (every appraisal also fetches its product's cert_chain, even when the
                    # request carries it): B comes first here, and carries its chain.
                    rule["file"] = self.wrong_vcek
                    b_certs = self.b_chain
                    self.kds.rules(rule)
                    self.not_affirmed_with_reason(s, self.b, name, b_certs)
                self.assertEqual(self.attest(s, self.a, [self.a_vcek] + self.a_chain)[0],
                                 "affirming")
                self.kds.rules(rule)
                for _ in range(3):
                    self.not_affirmed_with_reason(s, self.b, name, b_certs)
                    # The cached chip keeps verifying, whatever the KDS does.
                    self.assertEqual(self.attest(s, self.a, self.a_chain)[0], "affirming", name)
                paths = self.kds.stats()["paths"]
                reached = paths.get(self.path_b, 0) if rule["mode"] == "file" else \
                    paths.get(self.path_b, 0) + paths.get("/vcek/v1/Milan/cert_chain", 0)
                self.assertGreaterEqual(reached, 1, "the fault was never reached: %r" % paths)
                if name not in self.RECOVER:
                    continue
                # The KDS is sound again: chip B verifies, so nothing wrong was cached for it
                # (a cached wrong VCEK or garbage would still be refused). The KDS client's
                # backoff delays the first success (10 to 30 s here): bounded retries.
                self.kds.rules()
                status = None
                for _ in range(120):
                    status = self.attest(s, self.b, b_certs)[0]
                    if status == "affirming":
                        break
                    time.sleep(0.5)
                self.assertEqual(status, "affirming", "chip B never recovered")
                self.up(s)

    def test_429_storm_is_not_hammered(self):
        # Under a 429 storm with Retry-After, a stream of requests for an uncached chip does not
        # turn into a stream of KDS requests.
        self.kds.reset()
        with self.server() as s:
            self.kds.rules({"match": "/vcek/", "mode": "429", "retry_after": "30", "times": -1})
            for _ in range(10):
                self.not_affirmed_with_reason(s, self.b, "429 storm")
            hits = self.kds.stats()["total"]
            self.assertLessEqual(hits, 4, "%d KDS requests for 10 appraisals under 429s "
                                 "with Retry-After: 30" % hits)
            self.kds.rules()


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    BIN, VEC, MOCK = (os.path.abspath(a) for a in sys.argv[1:4])
    if not os.path.isdir(VEC):
        print("vectors not found at %s" % VEC)
        sys.exit(1 if os.environ.get("CI") else 77)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[4:])
