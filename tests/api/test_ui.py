#!/usr/bin/python3
"""The policy playground (issue #14) in a real browser: headless Chromium from Debian driven by
python3-selenium against a real `verdict serve` on loopback.

A real configfs-tsm envelope is pasted and run with a policy that affirms, one that
contraindicates and one with a YAML error (marked at its line); a token from /v1/attest is
verified in the page with WebCrypto; saving with a wrong and with the right admin token. A
failing test keeps a screenshot and the page's HTML in SHOT_DIR.

usage: test_ui.py VERDICT_BINARY VECTORS_DIR SHOT_DIR [--screenshot PATH]
Exits 77 (skipped) when chromium, chromedriver, selenium or the vectors are missing; with CI
set, that is a failure.
"""
import json
import base64
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import ADMIN_TOKEN, Server, admin  # noqa: E402

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

BIN = VEC = SHOT_DIR = SCREENSHOT = None
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 30

ENVELOPE = "veraison-tsm/sevsnp-tsm-report.json"
MEASUREMENT_OFFSET = 0x90  # MEASUREMENT in the report (48 bytes)

POLICY = """name: %s
description: from the playground test
snp:
  measurements:
    - value: "%s"
      label: the tested image
"""


def read(path):
    with open(os.path.join(VEC, path), "rb") as f:
        return f.read()


def measurement():
    from base64 import urlsafe_b64decode
    env = json.loads(read(ENVELOPE))
    blob = env["outblob"]
    report = urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    return report[MEASUREMENT_OFFSET:MEASUREMENT_OFFSET + 48].hex()


def browser(user_data_dir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,2400",
                "--user-data-dir=" + user_data_dir):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


class Playground(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BIN).start()
        cls.profile = tempfile.mkdtemp(prefix="verdict-ui-chromium-")
        try:
            cls.driver = browser(cls.profile)
        except Exception:
            cls.server.stop()
            raise
        cls.driver.set_page_load_timeout(WAIT_S)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.driver.quit()
        finally:
            cls.server.stop()
            shutil.rmtree(cls.profile, ignore_errors=True)

    def setUp(self):
        self.driver.get(self.server.url("/"))  # the redirect to /ui/ is followed
        self.wait_for(lambda d: d.current_url.endswith("/ui/"))
        self.set_value("token", ADMIN_TOKEN)

    def tearDown(self):
        # A failing test keeps a screenshot and the page's HTML.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        failed = result is not None and any(
            t is self for t, _ in list(result.errors) + list(result.failures))
        if failed and SHOT_DIR:
            os.makedirs(SHOT_DIR, exist_ok=True)
            base = os.path.join(SHOT_DIR, self.id().split(".")[-1])
            self.driver.save_screenshot(base + ".png")
            with open(base + ".html", "w") as f:
                f.write(self.driver.page_source)
            print("screenshot kept: %s.png" % base, file=sys.stderr)

    # -- helpers --------------------------------------------------------------------------------

    def el(self, id_):
        return self.driver.find_element(By.ID, id_)

    def wait_for(self, cond, what="condition"):
        return WebDriverWait(self.driver, WAIT_S).until(cond, what)

    def set_value(self, id_, text, event="input"):
        """Set a field's value as pasting would (send_keys of 10 kB is slow) and fire `event`."""
        self.driver.execute_script(
            "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event(arguments[2], {bubbles: true}));", id_, text, event)

    def paste_evidence(self):
        self.set_value("evidence", read(ENVELOPE).decode())
        self.wait_for(lambda d: "configfs-tsm" in self.el("evidence-kind").text)

    def run_and_wait(self):
        self.driver.execute_script("document.getElementById('status').textContent = 'stale'")
        self.el("run").click()
        self.wait_for(lambda d: self.el("status").text not in ("stale", "running", ""),
                      "a status")
        return self.el("status").text

    def checks(self):
        rows = self.el("checks").find_elements(By.CSS_SELECTOR, "[data-check]")
        return {r.get_attribute("data-check"): r.get_attribute("data-result") for r in rows}

    def wait_valid(self):
        self.wait_for(lambda d: self.el("policy-state").text.startswith("Compiles"),
                      "the policy compiles")

    # -- tests ----------------------------------------------------------------------------------

    def test_page_served_with_csp(self):
        r = self.server.get("/ui/")
        self.assertEqual(r.status_code, 200)
        self.assertIn("default-src 'self'", r.headers["content-security-policy"])
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        # The page is labelled: every field of the test contract has a label.
        for id_ in ("evidence", "certs", "nonce", "policy", "token"):
            labels = self.driver.find_elements(By.CSS_SELECTOR, "label[for='%s']" % id_)
            self.assertEqual(len(labels), 1, id_)

    def test_affirming_policy(self):
        self.paste_evidence()
        self.set_value("policy", POLICY % ("ui-ok", measurement()))
        self.wait_valid()
        self.assertEqual(self.run_and_wait(), "affirming")
        checks = self.checks()
        self.assertEqual(checks.get("report.signature"), "pass", checks)
        self.assertEqual(checks.get("chain.ark"), "pass", checks)
        self.assertIn("policy.measurement", checks)
        self.assertEqual(checks["policy.measurement"], "pass", checks)
        self.assertNotIn("fail", checks.values())
        tvec = self.el("tvec").text
        self.assertIn("hardware", tvec)
        self.assertIn("measurement", self.el("report").text)
        self.assertIn(measurement(), self.el("report").text)
        # A dry run: no token, by design.
        self.assertEqual(self.el("token-verified").text, "no token (dry run)")

    def test_azure_vtpm_evidence(self):
        """Trustee's Azure vTPM evidence pasted as it is, with the nonce its quote binds."""
        self.set_value("evidence", read("azure-vtpm/evidence-v2.json").decode())
        self.wait_for(lambda d: "vTPM" in self.el("evidence-kind").text, "vTPM detected")
        nonce = bytes.fromhex("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9a"
                              "a398f647caa2338748cd0fd9f5f819ef")
        self.set_value("nonce", base64.b64encode(nonce).decode())
        # The evidence carries the VCEK; the ASK and ARK come from the certificates field.
        self.set_value("certs", read("gosevguest-milan/cert_chain_milan_vcek.pem").decode())
        self.set_value("policy", "")
        self.assertEqual(self.run_and_wait(), "affirming")
        checks = self.checks()
        self.assertEqual(checks.get("tpm.nonce"), "pass", checks)
        self.assertEqual(checks.get("tpm.signature"), "pass", checks)
        self.assertEqual(checks.get("report.signature"), "pass", checks)

    def test_contraindicating_policy(self):
        self.paste_evidence()
        self.set_value("policy", POLICY % ("ui-bad", "00" * 48))
        self.wait_valid()
        self.assertEqual(self.run_and_wait(), "contraindicated")
        checks = self.checks()
        self.assertEqual(checks.get("policy.measurement"), "fail", checks)
        self.assertEqual(checks.get("report.signature"), "pass", checks)

    def test_yaml_error_marked_at_its_line(self):
        text = POLICY % ("ui-err", measurement()) + "  vmpl: [0, 1\n"
        line = text.count("\n")  # the broken flow sequence is on the last line
        self.set_value("policy", text)
        self.wait_for(lambda d: len(self.el("policy-errors").find_elements(
            By.CSS_SELECTOR, "[data-line]")) == 1, "an error marked")
        err = self.el("policy-errors").find_element(By.CSS_SELECTOR, "[data-line]")
        self.assertIn(int(err.get_attribute("data-line")), (line, line + 1), err.text)
        self.assertGreater(int(err.get_attribute("data-column")), 0)
        # An unknown key: marked at its own line and column.
        text = "name: ui-err\nsnp:\n  vmpl: 0\n  bogus: 1\n"
        self.set_value("policy", text)
        self.wait_for(lambda d: [e.get_attribute("data-line") for e in self.el(
            "policy-errors").find_elements(By.CSS_SELECTOR, "[data-line]")] == ["4"],
            "the unknown key marked at line 4")
        err = self.el("policy-errors").find_element(By.CSS_SELECTOR, "[data-line]")
        self.assertEqual(err.get_attribute("data-column"), "3")
        self.assertIn("bogus", err.text)
        # The gutter marks the line too.
        bad = self.el("gutter").find_elements(By.CSS_SELECTOR, ".bad")
        self.assertEqual([b.text for b in bad], ["4"])
        # Fixed: the errors go.
        self.set_value("policy", "name: ui-err\nsnp:\n  vmpl: 0\n")
        self.wait_valid()
        self.assertEqual(self.el("policy-errors").find_elements(By.CSS_SELECTOR, "li"), [])

    def test_save_wrong_and_right_token_then_token_verified(self):
        text = POLICY % ("ui-saved", measurement())
        self.set_value("policy", text)
        self.wait_valid()
        self.set_value("token", "not-the-admin-token-000", event="change")
        self.el("save").click()
        self.wait_for(lambda d: self.el("save-result").text != "", "a save result")
        self.assertIn("Not saved", self.el("save-result").text)
        self.assertIn("401", self.el("save-result").text)
        self.assertEqual(self.server.get("/v1/policies/ui-saved", headers=admin()).status_code,
                         404)
        self.set_value("token", ADMIN_TOKEN, event="change")
        self.el("save").click()
        self.wait_for(lambda d: self.el("save-result").text.startswith("Saved"), "saved")
        r = self.server.get("/v1/policies/ui-saved", headers=admin())
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text, text)
        # The saved, active text runs through /v1/attest: a signed token, verified in the page.
        self.paste_evidence()
        self.assertEqual(self.run_and_wait(), "affirming")
        self.assertIn("/v1/attest", self.el("run-mode").text)
        self.wait_for(lambda d: self.el("token-verified").text not in ("checking", "no token"),
                      "the token checked")
        self.assertEqual(self.el("token-verified").text, "verified")
        self.assertIn("ui-saved", self.el("token-claims").text)
        # A second version, then a one-click roll back to the first.
        self.set_value("policy", POLICY % ("ui-saved", "00" * 48))
        self.wait_valid()
        self.el("save").click()
        self.wait_for(lambda d: "v2" in self.el("save-result").text, "version 2 saved")
        self.assertEqual(self.run_and_wait(), "contraindicated")
        self.wait_for(lambda d: self.el("token-verified").text == "verified", "verified")
        button = self.wait_for(lambda d: self.driver.find_elements(
            By.CSS_SELECTOR, "#versions [data-version='1'] button"), "a roll-back button")
        button[0].click()
        self.wait_for(lambda d: "v1 is active" in self.el("save-result").text, "rolled back")
        self.wait_for(lambda d: self.el("policy").get_attribute("value") == text, "v1 loaded")
        self.assertEqual(self.run_and_wait(), "affirming")

    def test_token_verification_detects_a_wrong_key(self):
        # The in-page check is not a constant: a token whose signature was altered is refused.
        self.paste_evidence()
        self.set_value("policy", "")
        self.assertEqual(self.run_and_wait(), "affirming")
        self.wait_for(lambda d: self.el("token-verified").text == "verified", "verified")
        claims = json.loads(self.el("token-claims").text)
        self.assertEqual(claims["header"]["alg"], "ES256")
        body = {"evidence": {"tsm": json.loads(read(ENVELOPE))}}
        token = self.server.post("/v1/attest", json=body).json()["token"]
        h, p, s = token.split(".")
        bad = h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:]
        self.driver.execute_script("window.__verdictTestToken = arguments[0];", bad)
        # Feed the altered token through the page's own verification path.
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.verdictPlayground.showToken(window.__verdictTestToken)"
            ".then(() => done(document.getElementById('token-verified').textContent));")
        self.assertTrue(result.startswith("not verified"), result)

    def test_draft_from_evidence_then_run_affirms(self):
        self.paste_evidence()
        self.set_value("policy", "")
        self.el("draft").click()
        self.wait_for(lambda d: self.el("draft-state").text.startswith("Drafted"), "a draft")
        text = self.el("policy").get_attribute("value")
        self.assertIn("name: draft", text)
        self.assertIn(measurement(), text)
        self.wait_valid()
        self.assertEqual(self.run_and_wait(), "affirming")
        self.assertIn("dry run", self.el("run-mode").text.lower())
        checks = self.checks()
        self.assertEqual(checks.get("policy.measurement"), "pass", checks)
        self.assertNotIn("fail", checks.values())
        # The draft is specific: another report's measurement would not pass. Change the pinned
        # measurement in the draft and the same evidence is contraindicated.
        self.set_value("policy", text.replace(measurement(), "00" * 48))
        self.wait_valid()
        self.assertEqual(self.run_and_wait(), "contraindicated")

    def test_keyboard_and_narrow_screen(self):
        from selenium.webdriver.common.keys import Keys
        self.paste_evidence()
        self.set_value("policy", POLICY % ("ui-keys", "00" * 48))
        self.wait_valid()
        # Keyboard alone: Tab from the policy editor reaches Run (no focus trap), Enter runs.
        self.el("policy").click()
        self.driver.execute_script("document.getElementById('status').textContent = 'stale'")
        active = None
        for _ in range(20):
            self.driver.switch_to.active_element.send_keys(Keys.TAB)
            active = self.driver.switch_to.active_element.get_attribute("id")
            if active == "run":
                break
        self.assertEqual(active, "run")
        self.driver.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait_for(lambda d: self.el("status").text == "contraindicated", "run by keyboard")
        # Narrow: with results shown, nothing is wider than the window.
        size = self.driver.get_window_size()
        try:
            self.driver.set_window_size(360, 800)
            widths = self.driver.execute_script(
                "return [document.documentElement.scrollWidth, "
                "document.documentElement.clientWidth]")
            self.assertLessEqual(widths[0], widths[1], widths)
        finally:
            self.driver.set_window_size(size["width"], size["height"])

    def test_screenshot_for_the_readme(self):
        if not SCREENSHOT:
            self.skipTest("no --screenshot PATH")
        self.paste_evidence()
        self.set_value("policy", POLICY % ("ui-shot", measurement()))
        self.wait_valid()
        self.el("save").click()
        self.wait_for(lambda d: self.el("save-result").text.startswith("Saved"), "saved")
        self.assertEqual(self.run_and_wait(), "affirming")
        self.wait_for(lambda d: self.el("token-verified").text == "verified", "verified")
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1200, min(int(height) + 100, 8000))
        self.driver.save_screenshot(SCREENSHOT)


def main():
    global BIN, VEC, SHOT_DIR, SCREENSHOT
    args = sys.argv[1:]
    if "--screenshot" in args:
        i = args.index("--screenshot")
        SCREENSHOT = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    BIN, VEC, SHOT_DIR = args[0], args[1], args[2]
    if webdriver is None or not os.access(CHROMIUM, os.X_OK) or \
            not os.access(CHROMEDRIVER, os.X_OK):
        print("needs chromium, chromium-driver and python3-selenium (scripts/deps.sh)")
        return 1 if os.environ.get("CI") else 77
    if not os.path.exists(os.path.join(VEC, ENVELOPE)):
        print("no vectors at %s" % VEC)
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0], "-v"] + args[3:], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
