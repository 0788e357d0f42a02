#!/usr/bin/python3
"""KDS faults against the real `verdict serve` (issue #10): the service fetches certificates
from the mock KDS (tests/mock_kds/mock_kds.py, --kds-url, not offline, no certificates in the
requests) while the mock is down, slow, hanging, answering 429 storms, 500s, garbage, truncated
bodies, or a valid certificate for the wrong chip. What must hold: the service stays up
(/healthz), a chip already cached keeps verifying, an uncached chip is not affirmed and its
answer says why, nothing wrong is cached (the chip verifies once the KDS is sound again), and no
answer waits longer than the KDS timeout allows.

The KDS budget (test_forgeries_do_not_spend_the_kds_budget): forged evidence must not spend the
service's KDS requests. Evidence that carries a VCEK is judged with it before anything is
fetched (a forgery carrying a chain costs zero KDS requests); forged reports without one are
bounded by their client's budget (429 with Retry-After beyond); a genuine uncached chip from
another client still gets through; cached chips keep verifying while KDS is down. Clients are
told apart by their loopback source address (127.0.0.2, 127.0.0.3, ...).

Chips: the Genoa report of the Veraison vector (A) and Milan's mstav report (B), both genuine,
with their real VCEKs and chains served by the mock as AMD's KDS would (DER VCEK, PEM chain).

usage: test_kds_faults.py VERDICT_BINARY VECTORS_DIR MOCK_KDS_PY
"""
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import Server, admin, b64, script_args, serving  # noqa: E402


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
                    # The wrong VCEK must be fetched before the rate limiter's burst is spent:
                    # B comes first here, and carries its chain (which is then never fetched).
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


def post_from(server, source, path, body, headers=None):
    """POST JSON from the loopback address `source`: (status, lower-case headers, JSON body)."""
    host, port = server.base.split("//", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
    try:
        conn.request("POST", path, body=json.dumps(body).encode(),
                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
        r = conn.getresponse()
        text = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(text or b"null")
    finally:
        conn.close()


def forged(report, rng, keep_chip=False):
    """`report` with a made-up CHIP_ID (or, keep_chip, a changed MEASUREMENT): not signed."""
    b = bytearray(report)
    if keep_chip:
        b[0x90] ^= 0x01
    else:
        b[0x1A0:0x1E0] = bytes(rng.getrandbits(8) for _ in range(64))
    return bytes(b)


class KdsBudget(unittest.TestCase):
    """Forged evidence must not spend the KDS budget (issue #10)."""

    CONFIG = "kds:\n  client_burst: 1\n  client_interval_ms: 3600000\n  max_cold_fetches: 1\n"
    A, B, C, D = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"

    @classmethod
    def setUpClass(cls):
        KdsFaults.setUpClass.__func__(cls)  # the same chips and mock KDS

    @classmethod
    def tearDownClass(cls):
        KdsFaults.tearDownClass.__func__(cls)

    def attest(self, s, source, report, certs=None):
        ev = {"report": b64(report)}
        if certs:
            ev["certs"] = [b64(c) for c in certs]
        return post_from(s, source, "/v1/attest", {"evidence": ev})

    def vcek_requests(self, product):
        return {p: n for p, n in self.kds.stats()["paths"].items()
                if p.startswith("/vcek/v1/%s/" % product) and not p.endswith(("/cert_chain", "/crl"))}

    def test_forgeries_do_not_spend_the_kds_budget(self):
        rng = random.Random(10)
        self.kds.reset()
        with serving(BIN, ["--kds-url", self.kds.base], config=self.CONFIG,
                     env={"VERDICT_OFFLINE": "0",
                          "VERDICT_KDS_TIMEOUT_MS": str(KDS_TIMEOUT_MS)}) as s:
            full = [self.a_vcek] + self.a_chain
            # Chip A with its whole chain: verified with what it carries. KDS is asked for its
            # CRL only (once), never for a certificate.
            code, _, body = self.attest(s, self.C, self.a, full)
            self.assertEqual((code, body["status"]), (200, "affirming"), body)
            paths = self.kds.stats()["paths"]
            self.assertEqual([p for p in paths if not p.endswith("/crl")], [], paths)
            before = self.kds.stats()["total"]

            # Forgeries that carry a VCEK and its chain: judged with them, rejected, and KDS is
            # never asked (a VCEK that does not verify the report is no reason to fetch one).
            for keep_chip in (False, True):
                for _ in range(5):
                    code, _, body = self.attest(s, self.A, forged(self.a, rng, keep_chip), full)
                    self.assertEqual(code, 200, body)
                    self.assertEqual(body["status"], "contraindicated", body)
                    self.assertEqual(body["genuine"]["status"], "rejected", body)
            # A Genoa VCEK with a Milan report: rejected without a fetch too.
            code, _, body = self.attest(s, self.A, self.b, full)
            self.assertEqual((code, body["genuine"]["status"]), (200, "rejected"), body)
            self.assertEqual(self.kds.stats()["total"], before,
                             "forged evidence with certificates reached KDS")

            # A report the policy contraindicates on its own claims (VMPL 0, the policy wants 2)
            # needs no certificate: not affirming, signature not checked, nothing fetched, no
            # budget spent (client A's budget is still whole for what follows).
            code, _, body = post_from(s, self.A, "/v1/policies:test", {
                "policy": "name: vmpl2\nsnp:\n  vmpl: 2\n",
                "evidence": {"report": b64(forged(self.a, rng))}}, headers=admin())
            self.assertEqual(code, 200, body)
            self.assertEqual(body["status"], "contraindicated", body)
            self.assertEqual(body["genuine"]["status"], "collateral-missing", body)
            checks = {c["name"]: c for c in body["appraisal"]["checks"]}
            self.assertEqual(checks["policy.vmpl"]["result"], "fail", body)
            self.assertIn("not checked", checks["appraisal.genuineness"]["detail"], body)
            self.assertEqual(self.kds.stats()["total"], before, "a contraindicated report reached KDS")

            # Forgeries without certificates: client A's budget (1) is all they may spend.
            codes = []
            for _ in range(10):
                code, headers, body = self.attest(s, self.A, forged(self.a, rng))
                codes.append(code)
                self.assertNotEqual((body or {}).get("status"), "affirming", body)
                if code == 429:
                    self.assertGreaterEqual(int(headers.get("retry-after", "0")), 1, headers)
                    self.assertIn("budget", body["detail"], body)
                    self.assertEqual(headers.get("content-type"), "application/problem+json")
            print("  forged without certificates from A: %r" % codes, file=sys.stderr)
            self.assertGreaterEqual(codes.count(429), 9, codes)
            self.assertLessEqual(sum(self.vcek_requests("Genoa").values()), 1,
                                 self.kds.stats()["paths"])

            # A genuine chip seen for the first time, from client B, gets through meanwhile
            # (503 with Retry-After only while KDS itself has no request left for us).
            status = None
            for _ in range(30):
                code, headers, body = self.attest(s, self.B, self.b, self.b_chain)
                if code != 503:
                    status = body.get("status")
                    break
                self.assertGreaterEqual(int(headers["retry-after"]), 1, headers)
                time.sleep(min(int(headers["retry-after"]), 2))
            self.assertEqual(status, "affirming", body)
            self.assertEqual(self.vcek_requests("Milan"), {self.path_b: 1})
            # Client A is still refused; B is not affected by A's budget.
            self.assertEqual(self.attest(s, self.A, forged(self.a, rng))[0], 429)

            # KDS down: the chips now cached keep verifying; an uncached one is not affirmed.
            self.kds.rules({"match": "/", "mode": "500", "times": -1})
            for source, report, certs in ((self.B, self.b, None), (self.D, self.b, None),
                                          (self.C, self.a, self.a_chain)):
                code, _, body = self.attest(s, source, report, certs)
                self.assertEqual((code, body["status"]), (200, "affirming"), body)
            code, _, body = self.attest(s, self.D, forged(self.a, rng))
            self.assertNotEqual((body or {}).get("status"), "affirming", body)
            self.kds.rules()

            metrics = s.get("/metrics").text
            m = re.search(r'^verdict_kds_cold_total\{result="client_budget"\} (\d+)', metrics, re.M)
            self.assertTrue(m and int(m.group(1)) >= 9, metrics[-2000:])

    def test_x_forwarded_for_only_from_the_trusted_proxy(self):
        # Behind kds.trusted_proxy (127.0.0.6) each address the proxy appended to
        # X-Forwarded-For has a budget of its own; from any other peer the header is not
        # believed (the peer's own budget is spent, whatever it claims).
        rng = random.Random(11)
        proxy, other = "127.0.0.6", "127.0.0.7"
        self.kds.reset()
        with serving(BIN, ["--kds-url", self.kds.base],
                     config=self.CONFIG + "  trusted_proxy: %s\n" % proxy,
                     env={"VERDICT_OFFLINE": "0",
                          "VERDICT_KDS_TIMEOUT_MS": str(KDS_TIMEOUT_MS)}) as s:
            # One made-up chip for every request: its VCEK is asked for once (404, then
            # remembered), so KDS's own limit never decides here; each admission still counts.
            report = forged(self.a, rng)

            def cold(source, xff):
                ev = {"evidence": {"report": b64(report)}}
                return post_from(s, source, "/v1/attest", ev, {"X-Forwarded-For": xff})[0]

            # Through the proxy: a client's earlier entries are its own claims, the last is
            # the proxy's word.
            self.assertNotEqual(cold(proxy, "10.9.9.9, 198.51.100.1"), 429)
            self.assertEqual(cold(proxy, "10.9.9.8, 198.51.100.1"), 429)
            self.assertNotEqual(cold(proxy, "198.51.100.1, 198.51.100.2"), 429)
            # Not the proxy: one budget for the peer, whatever the header says.
            self.assertNotEqual(cold(other, "198.51.100.3"), 429)
            self.assertEqual(cold(other, "198.51.100.4"), 429)

    def test_many_requests_for_one_new_chip_cost_one_fetch(self):
        # Issue #9's cold path under the budget: concurrent requests for one uncached chip,
        # from one client whose budget is a single cold appraisal, all affirm, and KDS is asked
        # for its VCEK once (the others join the fetch, or find it cached: neither is charged).
        import concurrent.futures
        self.kds.reset()
        with serving(BIN, ["--kds-url", self.kds.base], config=self.CONFIG,
                     env={"VERDICT_OFFLINE": "0",
                          "VERDICT_KDS_TIMEOUT_MS": str(KDS_TIMEOUT_MS)}) as s:
            self.kds.rules({"match": self.path_b, "mode": "slow", "delay_ms": 300, "times": -1})
            with concurrent.futures.ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(lambda _: self.attest(s, self.B, self.b, self.b_chain),
                                        range(40)))
            self.kds.rules()
            codes = [(code, (body or {}).get("status")) for code, _, body in answers]
            self.assertEqual(codes, [(200, "affirming")] * 40, codes)
            self.assertEqual(self.vcek_requests("Milan"), {self.path_b: 1})


if __name__ == "__main__":
    (BIN, VEC, MOCK), rest = script_args(__doc__, 3)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
