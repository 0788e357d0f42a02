#!/usr/bin/python3
"""The key broker's Azure vTPM path (deploy/examples/key-broker) end to end on loopback: a real
`verdict serve` trusting a test PKI (--extra-roots) with the broker's vTPM policy
(fde-boot-azure.yaml, its PCRs pinned to the test VM's), broker.py --vtpm-policy, and cvm.py
--vtpm whose collector is `mkpki --vtpm` (Azure vTPM evidence signed by the test PKI: SNP
report, runtime data with the AK, a TPM2 quote binding SHA-384(challenge || public key) by
verdict's own rule). The LUKS key is released only when the SNP, binding, quote and PCR checks
all affirm: refused for a replayed challenge, another public key, evidence bound to another
challenge, a PCR or secure-boot state the policy does not allow, a broker without a vTPM
policy, and a verdict that does not trust the test PKI; a replay through another replica is
released only wrapped to the genuine CVM's key. The cases that hold for any evidence are
test_key_broker.py's, borrowed.

usage: test_key_broker_vtpm.py VERDICT MKPKI EXAMPLE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.path.insert(0, HERE)
import test_key_broker as kb  # noqa: E402  (its Broker, servers and shared cases)

BIN = MKPKI = EXAMPLE = None
PY = "/usr/bin/python3"
VTPM_POLICY = "fde-boot-azure"
VTPM_ARGS = ("--vtpm-policy", VTPM_POLICY)


class KeyBrokerVtpm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="verdict-kbv-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.pki = os.path.join(cls.tmp, "pki")
        os.mkdir(cls.pki)
        subprocess.run([MKPKI, cls.pki, "Milan"], check=True)
        # The test VM's PCRs, as its quote reports them (this first run also makes its AK).
        first = json.loads(subprocess.run([MKPKI, "--vtpm", cls.pki, "-", "--extra", "00"],
                                          check=True, capture_output=True).stdout)
        cls.pcrs = first["tpm_quote"]["pcrs"]
        # The broker's vTPM policy, as shipped, its PCRs pinned to the test VM's.
        with open(os.path.join(EXAMPLE, VTPM_POLICY + ".yaml")) as f:
            text = f.read()

        def pin(m):
            return "%s: [{value: %s" % (m.group(1), cls.pcrs[int(m.group(1))])
        text, n = re.subn(r"(\d+): \[\{value: 0{64}", pin, text)
        assert n == 4, "fde-boot-azure.yaml pins PCRs 4, 7, 9, 12"
        cls.policy_file = os.path.join(cls.tmp, VTPM_POLICY + ".yaml")
        with open(cls.policy_file, "w") as f:
            f.write(text)
        cls.luks_key = os.urandom(64)
        cls.key_file = os.path.join(cls.tmp, "luks.key")
        with open(cls.key_file, "wb") as f:
            f.write(cls.luks_key)
        cls.verdict = cls.verdict_server("verdict-a", trusted=True, replica=True)
        cls.broker = kb.Broker(cls.tmp, cls.verdict.base, cls.key_file, extra=VTPM_ARGS)
        cls.addClassCleanup(cls.broker.stop)
        sys.path.insert(0, EXAMPLE)
        global cvm, keywrap, broker
        import broker
        import cvm
        import keywrap
        kb.cvm, kb.keywrap = cvm, keywrap  # for the cases borrowed from test_key_broker

    # The SEV-SNP test's servers and the cases that hold for every kind of evidence, borrowed
    # as they are: a verdict (replica) importing this class's policy, refusals with a reason,
    # the key unwrapping only with the attesting key, a replayed challenge refused, a replay
    # through another replica released only wrapped to the genuine CVM's key.
    verdict_server = kb.KeyBroker.__dict__["verdict_server"]
    assertRefused = kb.KeyBroker.assertRefused
    test_only_the_attesting_key_unwraps = kb.KeyBroker.test_only_the_attesting_key_unwraps
    test_replayed_challenge = kb.KeyBroker.test_replayed_challenge
    test_replay_to_another_replica_gains_nothing = \
        kb.KeyBroker.test_replay_to_another_replica_gains_nothing

    def start_broker(self, verdict_url, jwks_url=None, vtpm=True):
        """Another broker for this test (with the vTPM policy unless vtpm=False)."""
        b = kb.Broker(self.tmp, verdict_url, self.key_file, jwks_url, VTPM_ARGS if vtpm else ())
        self.addCleanup(b.stop)
        return b

    def collector(self, *extra):
        """The vTPM collector cvm.py runs: it gets --nonce and --runtime-data."""
        return [MKPKI, "--vtpm", self.pki, "-"] + list(extra)

    def certs(self):
        return [os.path.join(self.pki, "chain.pem")]  # the VCEK travels in the evidence

    def attempt(self, broker=None, collector=None, send_key=None, bind_challenge=None):
        """One Azure CVM boot: (HTTP status, body, private key, challenge, evidence, key)."""
        url = (broker or self.broker).url
        challenge = cvm.get_challenge(url, vtpm=True)
        private_key, pubkey_der = keywrap.new_key_pair()
        evidence = cvm.collect_vtpm(collector or self.collector(), bind_challenge or challenge,
                                    pubkey_der, certs=self.certs())
        status, body = cvm.request_key(url, evidence, challenge, send_key or pubkey_der)
        return status, body, private_key, challenge, evidence, pubkey_der

    def test_happy_path_cvm_script(self):
        """cvm.py --vtpm as the guest runs it: the key on its output file."""
        out = os.path.join(self.tmp, "released.key")
        p = subprocess.run([PY, os.path.join(EXAMPLE, "cvm.py"), "--vtpm", "--broker",
                            self.broker.url, "--out", out,
                            "--collect-cmd", " ".join(self.collector()),
                            "--certs"] + self.certs(), capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr + self.broker.logtext())
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.luks_key)

    def test_quote_binds_sha384_of_challenge_and_key(self):
        status, body, _, challenge, evidence, pubkey_der = self.attempt()
        self.assertEqual(status, 200, body)
        # What the VM quoted: 48 bytes, the broker's own rule agrees with verdict's.
        r = self.verdict.post("/v1/attest", json={
            "evidence": evidence, "challenge": self.verdict.post("/v1/challenge").json()["nonce"]})
        extra = r.json()["genuine"]["vtpm"]["quote"]["extra_data"]
        self.assertEqual(bytes.fromhex(extra),
                         broker.vtpm_qualifying_data(keywrap.b64d(challenge), pubkey_der))

    def test_nonce_mismatch(self):
        """Evidence quoted over another challenge of the same verdict, sent with this one."""
        other = cvm.get_challenge(self.broker.url, vtpm=True)
        status, body, _, _, _, _ = self.attempt(bind_challenge=other)
        self.assertRefused(status, body, "contraindicated", "tpm.nonce")

    def test_wrong_pcr(self):
        bad = "%064x" % (int(self.pcrs[7], 16) ^ 1)
        status, body, _, _, _, _ = self.attempt(collector=self.collector("--pcr", "7=" + bad))
        self.assertRefused(status, body, "contraindicated", "pcr7")

    def test_secure_boot_off(self):
        status, body, _, _, _, _ = self.attempt(collector=self.collector("--secure-boot-off"))
        self.assertRefused(status, body, "contraindicated", "secure_boot")

    def test_broker_without_vtpm_policy(self):
        plain = self.start_broker(self.verdict.base, vtpm=False)
        with self.assertRaises(cvm.Failed):  # no vtpm_binding offered
            cvm.get_challenge(plain.url, vtpm=True)
        challenge = cvm.get_challenge(plain.url)
        _, pubkey_der = keywrap.new_key_pair()
        evidence = cvm.collect_vtpm(self.collector(), challenge, pubkey_der, self.certs())
        status, body = cvm.request_key(plain.url, evidence, challenge, pubkey_der)
        self.assertEqual(status, 400, body)
        self.assertIn("no --vtpm-policy", body["error"])

    def test_wrong_public_key(self):
        _, key_b = keywrap.new_key_pair()
        status, body, _, _, _, _ = self.attempt(send_key=key_b)
        self.assertRefused(status, body, "contraindicated", "tpm.nonce")

    def test_test_pki_untrusted_without_extra_roots(self):
        untrusting = self.verdict_server("verdict-c", trusted=False)
        status, body, _, _, _, _ = self.attempt(broker=self.start_broker(untrusting.base))
        self.assertRefused(status, body, "contraindicated", "chain.ark")

    def test_broker_checks_the_vtpm_binding_itself(self):
        """vtpm_check_binding on the token's annotated evidence: what the broker refuses even if
        verdict said affirming (verdict always checks the binding, so only directly)."""
        nonce = os.urandom(64)
        _, key_a = keywrap.new_key_pair()
        _, key_b = keywrap.new_key_pair()
        qd = broker.vtpm_qualifying_data(nonce, key_a)
        self.assertEqual(len(qd), 48)

        def claims(extra, binding="sha384"):
            return {"submods": {"SEVSNP": {"ear.veraison.annotated-evidence": {"vtpm": {
                "nonce_binding": binding, "quote": {"extra_data": extra}}}}}}
        broker.vtpm_check_binding(claims(qd.hex()), nonce, key_a)
        for args in ((claims(qd.hex()), nonce, key_b), (claims(qd.hex()), bytes(64), key_a),
                     (claims(qd.hex(), "exact"), nonce, key_a), (claims(None), nonce, key_a),
                     ({"submods": {"SEVSNP": {}}}, nonce, key_a), ({}, nonce, key_a)):
            with self.assertRaises(broker.Refused):
                broker.vtpm_check_binding(*args)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    BIN, MKPKI, EXAMPLE = (os.path.abspath(a) for a in sys.argv[1:4])
    kb.BIN, kb.MKPKI, kb.EXAMPLE = BIN, MKPKI, EXAMPLE
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[4:])
