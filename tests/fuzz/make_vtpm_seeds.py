#!/usr/bin/env python3
"""Write the synthetic seed corpora of the vTPM fuzz targets (fuzz_vtpm_*.c in tests/fuzz).

Everything is generated here from scratch, in the shapes of ../shared/docs/VTPM.md: HCL reports
(header versions 1 and 2, a zeroed SNP report region whose REPORT_DATA binds the runtime data),
runtime-data JSON with a fresh RSA-2048 attestation key, TPMS_ATTEST quotes over PCR 0-23 with
9- and 48-byte extraData signed RSASSA-PKCS1-v1_5/SHA-256 by that key, and whole evidence
documents in the forms v0, v1 and v2. Nothing is copied from real evidence. The fuzz target
fuzz_vtpm_evidence passes the nonce b"challenge", which the 9-byte seeds carry.

Usage: /usr/bin/python3 tests/fuzz/make_vtpm_seeds.py [corpus-dir]  (default: tests/fuzz/corpus
next to this file). Needs python3-cryptography. The key is random, so each run writes different
bytes; regenerate only when a format changes. Kept apart from make_seeds.py so that regenerating
these does not rewrite the other corpora.
"""

import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HCL_SIZE = 2600
SNP_OFFSET = 0x20
REQUEST_OFFSET = 0x4C0
RUNTIME_OFFSET = 0x4D4
REPORT_DATA = 0x50


def b64url(b, pad=False):
    s = base64.urlsafe_b64encode(b).decode()
    return s if pad else s.rstrip("=")


def int_bytes(v):
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


def runtime_data(ak, genoa, user_data):
    pub = ak.public_key().public_numbers()
    ek = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ekn = ek.public_numbers()
    cfg = {"console-enabled": False}
    if genoa:
        cfg["root-cert-thumbprint"] = b64url(hashlib.sha256(b"root").digest())
    cfg.update({"secure-boot": True, "tpm-enabled": True})
    if genoa:
        cfg["tpm-persisted"] = True
    cfg["vmUniqueId"] = "00000000-1111-2222-3333-444444444444"
    doc = {
        "keys": [
            {"kid": "HCLAkPub", "key_ops": ["sign"], "kty": "RSA", "e": b64url(int_bytes(pub.e)),
             "n": b64url(int_bytes(pub.n))},
            {"kid": "HCLEkPub", "key_ops": ["encrypt"], "kty": "RSA",
             "e": b64url(int_bytes(ekn.e)), "n": b64url(int_bytes(ekn.n))},
        ],
        "vm-configuration": cfg,
        "user-data": user_data.hex().upper(),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def hcl_report(rt, version):
    b = bytearray(HCL_SIZE)
    b[0:4] = b"HCLA"
    struct.pack_into("<IIII", b, 4, version, RUNTIME_OFFSET + len(rt), 2, 0)
    snp = bytearray(0x4A0)
    struct.pack_into("<I", snp, 0, 3)  # report version
    struct.pack_into("<Q", snp, 8, 0x3001F)  # policy
    snp[REPORT_DATA : REPORT_DATA + 32] = hashlib.sha256(rt).digest()
    b[SNP_OFFSET : SNP_OFFSET + 0x4A0] = snp
    struct.pack_into("<IIIII", b, REQUEST_OFFSET, 20 + len(rt), 1, 2, 1, len(rt))
    b[RUNTIME_OFFSET : RUNTIME_OFFSET + len(rt)] = rt
    return bytes(b)


def pcr_values():
    sep = hashlib.sha256(bytes(32) + hashlib.sha256(bytes(4)).digest()).digest()
    vals = []
    for i in range(24):
        if i in (2, 3):
            vals.append(sep)
        elif 17 <= i <= 22:
            vals.append(b"\xff" * 32)
        elif i in (8, 11, 13, 15, 16, 23):
            vals.append(bytes(32))
        else:
            vals.append(hashlib.sha256(b"pcr%d" % i).digest())
    return vals


def attest(extra, pcrs):
    name = struct.pack(">H", 0x000B) + hashlib.sha256(b"ak public area").digest()
    m = struct.pack(">IH", 0xFF544347, 0x8018)
    m += struct.pack(">H", len(name)) + name
    m += struct.pack(">H", len(extra)) + extra
    m += struct.pack(">QIIB", 123456789, 2, 0, 1)
    m += struct.pack(">Q", 0x2020031200120003)
    m += struct.pack(">IHB", 1, 0x000B, 3) + b"\xff\xff\xff"
    digest = hashlib.sha256(b"".join(pcrs)).digest()
    m += struct.pack(">H", 32) + digest
    return m


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    files = {}
    ak = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sign = lambda m: ak.sign(m, padding.PKCS1v15(), hashes.SHA256())
    pcrs = pcr_values()
    nonce9 = b"challenge"
    nonce48 = hashlib.sha384(b"kbs runtime data").digest()

    rt_milan = runtime_data(ak, False, bytes(64))
    rt_genoa = runtime_data(ak, True, bytes(64))
    rt_v2 = runtime_data(ak, False, nonce9 + bytes(55))
    hcl_milan = hcl_report(rt_milan, 1)
    hcl_genoa = hcl_report(rt_genoa, 2)
    hcl_v2 = hcl_report(rt_v2, 1)
    q9 = attest(nonce9, pcrs)
    q48 = attest(nonce48, pcrs)

    files["vtpm_hcl/milan_v1.bin"] = hcl_milan
    files["vtpm_hcl/genoa_v2.bin"] = hcl_genoa
    files["vtpm_hcl/exact.bin"] = hcl_milan[: RUNTIME_OFFSET + len(rt_milan)]
    files["vtpm_runtime/milan.json"] = rt_milan
    files["vtpm_runtime/genoa.json"] = rt_genoa
    files["vtpm_runtime/user_data.json"] = rt_v2
    files["vtpm_attest/extra9.bin"] = q9
    files["vtpm_attest/extra48.bin"] = q48

    def quote_v1(q):
        return {"signature": sign(q).hex(), "message": q.hex(), "pcrs": [p.hex() for p in pcrs]}

    v0 = {
        "quote": {"signature": list(sign(q9)), "message": list(q9), "pcrs": [list(p) for p in pcrs]},
        "report": list(hcl_milan),
        "vcek": "",
    }
    v1 = {"version": 1, "tpm_quote": quote_v1(q9), "hcl_report": b64url(hcl_genoa, True), "vcek": ""}
    v2 = {"version": 2, "tpm_quote": quote_v1(q9), "hcl_report": b64url(hcl_v2)}
    files["vtpm_evidence/v0.json"] = json.dumps(v0, separators=(",", ":")).encode()
    files["vtpm_evidence/v1.json"] = json.dumps(v1, indent=2).encode()
    files["vtpm_evidence/v2.json"] = json.dumps(v2).encode()
    files["vtpm_evidence/raw_hcl.bin"] = hcl_v2

    for rel, data in sorted(files.items()):
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        print(f"{path}: {len(data)} bytes")


if __name__ == "__main__":
    main()
