#!/usr/bin/python3
"""deploy/examples/key-broker end to end on loopback: a real `verdict serve` trusting a test PKI
(--extra-roots), the broker (broker.py) with its policy (fde-boot.yaml), and a simulated CVM
(cvm.py) running the real `verdict evidence collect`, whose configfs-tsm is played by faketsm
(tests/support/faketsm.c, LD_PRELOAD) with reports the test PKI signs. The disk key is
released only to the CVM that attested, and refused for a replayed challenge, a public key the
evidence does not bind, a report the broker's policy contraindicates, a token from another
verdict, and a test PKI verdict was not told to trust.

usage: test_key_broker.py VERDICT MKPKI EXAMPLE_DIR FAKETSM_SO
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import unittest

from cryptography.exceptions import InvalidTag

HERE = os.path.dirname(os.path.abspath(__file__))
# Importing the example (here and in the broker, CVM and collector processes) must not leave
# __pycache__ in the source tree.
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from verdict_server import Server, stopped_cleanly  # noqa: E402

BIN = MKPKI = EXAMPLE = FAKETSM = None
PY = "/usr/bin/python3"
POLICY = "fde-boot"
DEBUG_BIT = 1 << 19  # guest POLICY bit 19: debug


class Broker:
    """broker.py on 127.0.0.1 with a port the kernel picks."""

    def __init__(self, tmp, verdict, key_file, jwks_url=None, extra=()):
        args = [PY, os.path.join(EXAMPLE, "broker.py"), "--verdict", verdict, "--policy", POLICY,
                "--key-file", key_file] + list(extra)
        if jwks_url:
            args += ["--jwks-url", jwks_url]
        self.log = tempfile.NamedTemporaryFile(dir=tmp, prefix="broker-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.stop()
            raise RuntimeError("broker.py did not start: %r\n%s" % (line, self.logtext()))
        self.url = m.group(1)

    def logtext(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)  # KeyboardInterrupt: serve_forever returns
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class KeyBroker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="verdict-kb-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.pki = os.path.join(cls.tmp, "pki")
        os.mkdir(cls.pki)
        subprocess.run([MKPKI, cls.pki, "Genoa"], check=True)
        with open(os.path.join(cls.pki, "report.bin"), "rb") as f:
            template = f.read()
        measurement = template[0x90:0xC0]
        # The broker's policy, as shipped, pinned to the test image's measurement.
        with open(os.path.join(EXAMPLE, "fde-boot.yaml")) as f:
            text = f.read()
        text, n = re.subn(r"value: [0-9a-f]{96}", "value: " + measurement.hex(), text)
        assert n == 1, "fde-boot.yaml pins one measurement"
        cls.policy_file = os.path.join(cls.tmp, "fde-boot.yaml")
        with open(cls.policy_file, "w") as f:
            f.write(text)
        # The same chip and VCEK, other guests: a debuggable one, and another image.
        policy = struct.unpack_from("<Q", template, 0x08)[0]
        cls.pki_debug = cls.variant("pki-debug", template, 0x08,
                                    struct.pack("<Q", policy | DEBUG_BIT))
        cls.pki_image = cls.variant("pki-image", template, 0x90,
                                    bytes(b ^ 0x5A for b in measurement))
        cls.tsm = os.path.join(cls.tmp, "tsm")
        os.mkdir(cls.tsm)
        cls.luks_key = os.urandom(64)
        cls.key_file = os.path.join(cls.tmp, "luks.key")
        with open(cls.key_file, "wb") as f:
            f.write(cls.luks_key)
        cls.verdict = cls.verdict_server("verdict-a", trusted=True, replica=True)
        cls.jwks_url = cls.verdict.url("/.well-known/jwks.json")
        cls.broker = Broker(cls.tmp, cls.verdict.base, cls.key_file)
        cls.addClassCleanup(cls.broker.stop)
        sys.path.insert(0, EXAMPLE)
        global cvm, keywrap
        import cvm
        import keywrap

    @classmethod
    def variant(cls, name, template, offset, value):
        """A copy of the test PKI whose report template differs at `offset` (mkpki --sign signs
        it with the same VCEK)."""
        d = os.path.join(cls.tmp, name)
        shutil.copytree(cls.pki, d)
        raw = bytearray(template)
        raw[offset:offset + len(value)] = value
        with open(os.path.join(d, "report.bin"), "wb") as f:
            f.write(raw)
        return d

    @classmethod
    def verdict_server(cls, name, trusted, replica=False):
        """A started `verdict serve` in its own directory, the broker's policy imported; a
        replica shares its signing key and challenge secret with the others."""
        work = os.path.join(cls.tmp, name)
        os.mkdir(work)
        db = os.path.join(work, "verdict.db")
        subprocess.run([BIN, "policy", "import", "--db", db, cls.policy_file], check=True,
                       stdout=subprocess.DEVNULL)
        args = ["--extra-roots", os.path.join(cls.pki, "ark.pem")] if trusted else []
        if replica:
            args += ["--signing-key", os.path.join(cls.tmp, "signing-key.pem"),
                     "--nonce-secret", os.path.join(cls.tmp, "nonce.secret")]
        s = Server(BIN, args, workdir=work)
        s.env.pop("VERDICT_EXTRA_ROOTS", None)
        s.start()
        cls.addClassCleanup(stopped_cleanly, s)  # must exit 0; a test's server too, at the end
        return s

    def guest_env(self, pki=None):
        """The environment in which `verdict evidence collect` finds the fake configfs-tsm."""
        env = {"LD_PRELOAD": FAKETSM, "FAKETSM_ROOT": self.tsm, "FAKETSM_PKI": pki or self.pki,
               "FAKETSM_MKPKI": MKPKI}
        # gcc's shared ASan runtime wants to be first; faketsm is not instrumented.
        asan = os.environ.get("ASAN_OPTIONS")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
        return env

    def start_broker(self, verdict_url, jwks_url=None):
        """Another broker for this test, stopped at its end (its verdict at the class's)."""
        b = Broker(self.tmp, verdict_url, self.key_file, jwks_url)
        self.addCleanup(b.stop)
        return b

    def collector(self, pki=None):
        return ["env"] + ["%s=%s" % kv for kv in self.guest_env(pki).items()] + [
            BIN, "evidence", "collect"]

    def certs(self):
        return [os.path.join(self.pki, "vcek.pem"), os.path.join(self.pki, "chain.pem")]

    def attempt(self, broker=None, pki=None, send_key=None):
        """One CVM boot, step by step: (HTTP status, body, private key, challenge)."""
        url = (broker or self.broker).url
        challenge = cvm.get_challenge(url)
        private_key, pubkey_der = keywrap.new_key_pair()
        evidence = cvm.collect(self.collector(pki), challenge, pubkey_der, tsm_dir=self.tsm,
                               certs=self.certs())
        status, body = cvm.request_key(url, evidence, challenge, send_key or pubkey_der)
        return status, body, private_key, challenge, evidence, pubkey_der

    def assertRefused(self, status, body, *words):
        self.assertEqual(status, 403, body)
        self.assertNotIn("wrapped_key", body)
        text = str(body).lower()
        for w in words:
            self.assertIn(w.lower(), text, body)

    def test_happy_path_cvm_script(self):
        """cvm.py as a guest runs it: the key on its output file, nothing else."""
        out = os.path.join(self.tmp, "released.key")
        env = dict(os.environ, **self.guest_env())
        p = subprocess.run([PY, os.path.join(EXAMPLE, "cvm.py"), "--broker", self.broker.url,
                            "--out", out, "--verdict", BIN, "--tsm-dir", self.tsm,
                            "--certs"] + self.certs(),
                           env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr + self.broker.logtext())
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.luks_key)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)

    def test_only_the_attesting_key_unwraps(self):
        status, body, private_key, challenge, _, _ = self.attempt()
        self.assertEqual(status, 200, body)
        salt = keywrap.b64d(challenge)
        self.assertEqual(keywrap.unwrap(body["wrapped_key"], private_key, salt), self.luks_key)
        other, _ = keywrap.new_key_pair()
        with self.assertRaises(InvalidTag):
            keywrap.unwrap(body["wrapped_key"], other, salt)
        with self.assertRaises(InvalidTag):  # the wrapping is bound to this challenge too
            keywrap.unwrap(body["wrapped_key"], private_key, bytes(64))

    def test_replayed_challenge(self):
        status, body, _, challenge, evidence, pubkey_der = self.attempt()
        self.assertEqual(status, 200, body)
        status, body = cvm.request_key(self.broker.url, evidence, challenge, pubkey_der)
        self.assertRefused(status, body, "verdict refused", "challenge: reused")

    def test_replay_to_another_replica_gains_nothing(self):
        """verdict enforces single use per replica (docs/operations.md): the same request
        replayed through another replica may be released, but only wrapped to the key the
        genuine report binds, which the replayer does not hold."""
        replica = self.verdict_server("verdict-a2", trusted=True, replica=True)
        broker = self.start_broker(replica.base)
        status, body, private_key, challenge, evidence, pubkey_der = self.attempt()
        self.assertEqual(status, 200, body)
        status, body = cvm.request_key(broker.url, evidence, challenge, pubkey_der)
        self.assertIn(status, (200, 403), body)
        if status == 200:
            salt = keywrap.b64d(challenge)
            replayer, _ = keywrap.new_key_pair()
            with self.assertRaises(InvalidTag):
                keywrap.unwrap(body["wrapped_key"], replayer, salt)
            self.assertEqual(keywrap.unwrap(body["wrapped_key"], private_key, salt),
                             self.luks_key)

    def test_wrong_public_key(self):
        _, key_b = keywrap.new_key_pair()
        status, body, _, _, _, _ = self.attempt(send_key=key_b)
        self.assertRefused(status, body, "contraindicated", "freshness")

    def test_debug_guest_contraindicated(self):
        status, body, _, _, _, _ = self.attempt(pki=self.pki_debug)
        self.assertRefused(status, body, "contraindicated", "debug")

    def test_other_image_contraindicated(self):
        status, body, _, _, _, _ = self.attempt(pki=self.pki_image)
        self.assertRefused(status, body, "contraindicated", "measurement")

    def test_token_from_another_signer(self):
        """A second verdict (its own signing key) appraising the same evidence: affirming, and
        its own broker releases; a broker that trusts the first verdict's JWKS refuses."""
        other = self.verdict_server("verdict-b", trusted=True)
        own = self.start_broker(other.base)
        wrong = self.start_broker(other.base, jwks_url=self.jwks_url)
        status, body, _, _, _, _ = self.attempt(broker=own)
        self.assertEqual(status, 200, body)
        status, body, _, _, _, _ = self.attempt(broker=wrong)
        self.assertRefused(status, body, "is not in the JWKS")

    def test_test_pki_untrusted_without_extra_roots(self):
        untrusting = self.verdict_server("verdict-c", trusted=False)
        broker = self.start_broker(untrusting.base)
        status, body, _, _, _, _ = self.attempt(broker=broker)
        self.assertRefused(status, body, "contraindicated", "chain.ark", "not a pinned AMD ARK")

    def test_broker_checks_the_binding_itself(self):
        """snp_check_binding on the token's annotated evidence: what the broker refuses even if
        verdict said affirming (verdict itself always checks the binding, so only directly)."""
        import broker
        nonce = os.urandom(64)
        _, key_a = keywrap.new_key_pair()
        _, key_b = keywrap.new_key_pair()
        rd = broker.snp_report_data(nonce, key_a).hex()
        claims = {"submods": {"SEVSNP": {
            "ear.veraison.annotated-evidence": {"report": {"report_data": rd}}}}}
        broker.snp_check_binding(claims, nonce, key_a)
        for args in ((claims, nonce, key_b), (claims, bytes(64), key_a), ({}, nonce, key_a),
                     ({"submods": {"SEVSNP": {}}}, nonce, key_a)):
            with self.assertRaises(broker.Refused):
                broker.snp_check_binding(*args)

    def test_verdict_unreachable(self):
        """No verdict, no key: 503, never a release."""
        import socket
        with socket.socket() as sock:  # a loopback port nothing listens on once closed
            sock.bind(("127.0.0.1", 0))
            url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        broker = self.start_broker(url)
        status, body = cvm.request_key(broker.url, {"tsm": {}}, "AAAA",
                                       keywrap.new_key_pair()[1])
        self.assertEqual(status, 503, body)
        self.assertIn("unreachable", body["error"])
        with self.assertRaises(cvm.Failed):
            cvm.get_challenge(broker.url)

    def test_malformed_requests(self):
        import requests
        url = self.broker.url + "/key"
        self.assertEqual(requests.post(url, data=b"{", timeout=30).status_code, 400)
        self.assertEqual(requests.post(url, json={"evidence": {}}, timeout=30).status_code, 400)
        _, pub = keywrap.new_key_pair()
        r = requests.post(url, timeout=30, json={"evidence": {"tsm": {}}, "challenge": "AAAA",
                                                 "pubkey": keywrap.b64e(b"not a key")})
        self.assertEqual(r.status_code, 400)
        r = requests.post(url, timeout=30, json={"evidence": {"nonsense": 1}, "challenge": "AAAA",
                                                 "pubkey": keywrap.b64e(pub)})
        self.assertEqual(r.status_code, 400)
        self.assertIn("unsupported evidence", r.json()["error"])


if __name__ == "__main__":
    if len(sys.argv) < 5:
        print(__doc__)
        sys.exit(2)
    BIN, MKPKI, EXAMPLE, FAKETSM = (os.path.abspath(a) for a in sys.argv[1:5])
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[5:])
