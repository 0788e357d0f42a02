#!/usr/bin/python3
"""A stand-in for `verdict evidence collect` in the key-broker test, where there is no SEV-SNP
guest: the same arguments, the same envelope, the report made by the test PKI (mkpki --sign)
instead of the PSP. REPORT_DATA is computed by the broker's own snp_report_data, so what the
broker checks, what verdict checks (policies/binding.c) and what this attester binds must agree.

usage: fake_collect.py MKPKI PKI_DIR --nonce B64 --runtime-data FILE --binding sha512
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.environ["KEY_BROKER_DIR"])
from broker import snp_report_data  # noqa: E402
from keywrap import b64d  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("mkpki")
p.add_argument("pki")
p.add_argument("--nonce", required=True)
p.add_argument("--runtime-data", required=True)
p.add_argument("--binding", required=True, choices=["sha512"])
p.add_argument("--tsm-dir")
a = p.parse_args()
with open(a.runtime_data, "rb") as f:
    report_data = snp_report_data(b64d(a.nonce), f.read())
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "report.bin")
    subprocess.run([a.mkpki, "--sign", a.pki, report_data.hex(), out], check=True)
    with open(out, "rb") as f:
        report = f.read()
print(json.dumps({"provider": "sev_guest", "outblob": base64.b64encode(report).decode()}))
