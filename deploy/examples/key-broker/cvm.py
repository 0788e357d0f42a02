#!/usr/bin/python3
"""What runs in the confidential VM at boot (e.g. from the initramfs, before the root
filesystem is opened): fetch the disk key from the key broker (broker.py).

  1. POST BROKER/challenge                    -> {"challenge": B64, "binding": "sha512"}
  2. make an ephemeral EC P-384 key pair       (the private key never leaves this process)
  3. verdict evidence collect --nonce CHALLENGE --runtime-data pubkey.der --binding sha512
                                               (REPORT_DATA = SHA-512(challenge || pubkey))
  4. POST BROKER/key {"evidence": {"tsm": ENVELOPE}, "challenge": ..., "pubkey": B64 DER}
                                               -> {"wrapped_key": {...}}
  5. unwrap the key with the private key and write it where cryptsetup reads it:
       cvm.py --broker URL --out - | cryptsetup open --key-file=- /dev/vda2 root

On an Azure confidential VM (--vtpm) step 3 is the vTPM's: the collector command quotes the
PCRs with qualifying data SHA-384(challenge || pubkey) (48 bytes: the vTPM takes at most 50)
and prints Trustee's Azure vTPM evidence JSON; step 4 sends {"azure_vtpm": EVIDENCE}.

usage: cvm.py --broker URL [--cacert FILE] [--out FILE|-] [--tsm-dir DIR] [--verdict PATH]
              [--collect-cmd CMD] [--certs PEM ...]
       cvm.py --vtpm --collect-cmd CMD --broker URL [--cacert FILE] [--out FILE|-]
              [--certs PEM ...]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import requests

from keywrap import b64d, b64e, new_key_pair, unwrap

TIMEOUT = 120
VERIFY = True  # requests' TLS verification: True (system CAs) or a CA bundle (--cacert)


class Failed(Exception):
    pass


def get_challenge(broker, vtpm=False):
    r = requests.post(broker.rstrip("/") + "/challenge", timeout=TIMEOUT, verify=VERIFY)
    if r.status_code != 200:
        raise Failed("no challenge from the broker (HTTP %d): %s" % (r.status_code, r.text))
    c = r.json()
    member, want = ("vtpm_binding", "sha384") if vtpm else ("binding", "sha512")
    if c.get(member) != want:
        raise Failed("the broker wants %s %r; this guest binds %s" % (member, c.get(member), want))
    return c["challenge"]


def collect(collect_cmd, challenge, pubkey_der, tsm_dir=None, certs=()):
    """The evidence object for /v1/attest: the configfs-tsm envelope of a report whose
    REPORT_DATA is SHA-512(challenge || pubkey), plus any certificates given."""
    with tempfile.TemporaryDirectory(prefix="cvm-") as tmp:
        pub = os.path.join(tmp, "pubkey.der")
        with open(pub, "wb") as f:
            f.write(pubkey_der)
        args = list(collect_cmd) + ["--nonce", challenge, "--runtime-data", pub,
                                    "--binding", "sha512"]
        if tsm_dir:
            args += ["--tsm-dir", tsm_dir]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise Failed("evidence collection failed (%s): %s" % (p.returncode, p.stderr.strip()))
    return with_certs({"tsm": json.loads(p.stdout)}, certs)


def with_certs(evidence, certs):
    """Without a certificate table from the host (auxblob) and with verdict offline, the VCEK
    and its chain can travel with the evidence."""
    if certs:
        evidence["certs"] = []
        for path in certs:
            with open(path) as f:
                evidence["certs"].append(f.read())
    return evidence


def collect_vtpm(collect_cmd, challenge, pubkey_der, certs=()):
    """The evidence object for /v1/attest on an Azure CVM: {"azure_vtpm": EVIDENCE}, from a
    collector that takes --nonce CHALLENGE --runtime-data pubkey.der and quotes the PCRs with
    qualifying data SHA-384(challenge || pubkey) (and, for v2 evidence, writes it to the
    user-data NV index first): docs/evidence.md, "Azure vTPM"."""
    with tempfile.TemporaryDirectory(prefix="cvm-") as tmp:
        pub = os.path.join(tmp, "pubkey.der")
        with open(pub, "wb") as f:
            f.write(pubkey_der)
        args = list(collect_cmd) + ["--nonce", challenge, "--runtime-data", pub]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise Failed("vTPM evidence collection failed (%s): %s" % (p.returncode, p.stderr.strip()))
    return with_certs({"azure_vtpm": json.loads(p.stdout)}, certs)


def request_key(broker, evidence, challenge, pubkey_der):
    """POST /key; the response as (HTTP status, JSON body)."""
    r = requests.post(broker.rstrip("/") + "/key", timeout=TIMEOUT, verify=VERIFY,
                      json={"evidence": evidence, "challenge": challenge,
                            "pubkey": b64e(pubkey_der)})
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, {"error": r.text}


def fetch_key(broker, collect_cmd, tsm_dir=None, certs=(), vtpm=False):
    """The whole exchange: the disk key, or Failed."""
    challenge = get_challenge(broker, vtpm)
    private_key, pubkey_der = new_key_pair()
    if vtpm:
        evidence = collect_vtpm(collect_cmd, challenge, pubkey_der, certs)
    else:
        evidence = collect(collect_cmd, challenge, pubkey_der, tsm_dir, certs)
    status, body = request_key(broker, evidence, challenge, pubkey_der)
    if status != 200:
        raise Failed("the broker refused (HTTP %d): %s" % (status, json.dumps(body)))
    return unwrap(body["wrapped_key"], private_key, b64d(challenge))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--broker", required=True, help="the key broker's base URL")
    p.add_argument("--cacert", help="CA bundle that verifies the broker's TLS certificate")
    p.add_argument("--out", default="-", help="where to write the key (default -: stdout)")
    p.add_argument("--tsm-dir", help="the configfs-tsm report directory (verdict's default: "
                   "/sys/kernel/config/tsm/report)")
    p.add_argument("--verdict", default="verdict", help="the verdict binary (default: on PATH)")
    p.add_argument("--collect-cmd", help="the collector command instead of "
                   "'VERDICT evidence collect' (it gets --nonce, --runtime-data and --binding)")
    p.add_argument("--certs", nargs="*", default=(), help="PEM files to send with the evidence")
    p.add_argument("--vtpm", action="store_true", help="an Azure CVM: --collect-cmd prints "
                   "Azure vTPM evidence whose quote binds SHA-384(challenge || pubkey)")
    a = p.parse_args(argv)
    if a.vtpm and not a.collect_cmd:
        p.error("--vtpm needs --collect-cmd (the vTPM collector)")
    global VERIFY
    if a.cacert:
        VERIFY = a.cacert
    cmd = shlex.split(a.collect_cmd) if a.collect_cmd else [a.verdict, "evidence", "collect"]
    try:
        key = fetch_key(a.broker, cmd, a.tsm_dir, a.certs, a.vtpm)
    except (Failed, requests.RequestException) as e:
        print("cvm: %s" % e, file=sys.stderr)
        return 1
    if a.out == "-":
        sys.stdout.buffer.write(key)
        sys.stdout.buffer.flush()
    else:
        fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
