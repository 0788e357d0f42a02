#!/usr/bin/env python3
"""Write the synthetic seed corpora for the libFuzzer targets in tests/fuzz.

Everything is generated here from scratch: a throw-away AMD-shaped PKI (ARK -> ASK/ASVK ->
VCEK/VLEK with AMD's names, extensions and RSASSA-PSS SHA-384 signatures, but 2048-bit RSA and
fresh keys), 1184-byte SEV-SNP reports signed by those VCEKs/VLEKs, extended-report cert tables
holding them, a self-signed P-384 certificate, and RFC 3339 / hex strings. Nothing is copied from
real evidence (tests/data or ../shared/vectors).

Certificates are valid from 2024-01-01 to 2049-12-31; the fuzz targets judge validity at
2025-06-01T00:00:00Z (FUZZ_AT in the targets).

Usage: python3 tests/fuzz/make_seeds.py [corpus-dir]   (default: tests/fuzz/corpus next to this
file). Needs the `cryptography` package (Debian: python3-cryptography). Keys are random, so each
run writes different bytes; regenerate only when the formats change.
"""

import datetime
import os
import shutil
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

REPORT_SIZE = 0x4A0
SIGNED_SIZE = 0x2A0
NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
AMD_ARC = "1.3.6.1.4.1.3704.1."

# Cert table GUIDs in RFC 4122 byte order (SNP-FORMAT.md section 8).
GUID = {
    "VCEK": bytes.fromhex("63da758de6644564adc5f4b93be8accd"),
    "VLEK": bytes.fromhex("a8074bc2a25a483eaae639c045a0b8a1"),
    "ASK": bytes.fromhex("4ab7b379bbac4fe4a02f05aef327c782"),
    "ARK": bytes.fromhex("c0b406a4a803495297433fb6014cd0ae"),
    "CRL": bytes.fromhex("92f81bc358114d3d97ffd19f88dc67ea"),
    "EXTRA": bytes.fromhex("ecae0c0f950243b1afa20ae2e0d565b6"),
    "UNKNOWN": bytes(range(0x10, 0x20)),
}

# CPUID family/model per product (SNP-FORMAT.md section 7).
CPUID = {"Milan": (0x19, 0x01), "Genoa": (0x19, 0x11), "Turin": (0x1A, 0x02)}


def amd_name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Santa Clara"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def pss():
    return padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


def der_int(v):
    body = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return bytes([0x02, len(body)]) + body


def der_ia5(s):
    b = s.encode("ascii")
    return bytes([0x16, len(b)]) + b


def raw_ext(builder, arc, value):
    oid = x509.ObjectIdentifier(AMD_ARC + arc)
    return builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_ca(cn, serial, key, issuer_cert=None, issuer_key=None):
    b = (
        x509.CertificateBuilder()
        .subject_name(amd_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else amd_name(cn))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer_cert is None:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        return b.sign(key, hashes.SHA384(), rsa_padding=pss())
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
    )
    b = b.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    b = b.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, False, False, False), True
    )
    return b.sign(issuer_key, hashes.SHA384(), rsa_padding=pss())


def make_leaf(product, vlek, spl, issuer_cert, issuer_key, hwid=None, hwid_wrapped=False):
    """VCEK/VLEK with AMD's extensions; spl maps SPL index (1..9) to its value."""
    key = ec.generate_private_key(ec.SECP384R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(amd_name("SEV-VLEK" if vlek else "SEV-VCEK"))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
    )
    b = raw_ext(b, "1", der_int(1 if product == "Turin" and not vlek else 0))
    names = {"Milan": "Milan-B0", "Genoa": "Genoa", "Turin": "Turin-B0"}
    b = raw_ext(b, "2", der_ia5(names[product]))
    for idx, val in sorted(spl.items()):
        b = raw_ext(b, "3.%d" % idx, der_int(val))
    if hwid is not None:
        b = raw_ext(b, "4", (bytes([0x04, len(hwid)]) + hwid) if hwid_wrapped else hwid)
    if vlek:
        b = raw_ext(b, "5", der_ia5("fuzz-csp"))
    return b.sign(issuer_key, hashes.SHA384(), rsa_padding=pss()), key


def make_pki(product, serial_base):
    ark_key, ask_key, asvk_key = rsa_key(), rsa_key(), rsa_key()
    ark = make_ca("ARK-" + product, serial_base, ark_key)
    ask = make_ca("SEV-" + product, serial_base + 1, ask_key, ark, ark_key)
    asvk = make_ca("SEV-VLEK-" + product, serial_base + 0x101, asvk_key, ark, ark_key)
    return {"ark": ark, "ask": ask, "asvk": asvk, "ask_key": ask_key, "asvk_key": asvk_key}


def tcb_raw(product, fmc, bl, tee, snp, ucode):
    if product == "Turin":
        b = bytes([fmc, bl, tee, snp, 0, 0, 0, ucode])
    else:
        b = bytes([bl, tee, 0, 0, 0, 0, snp, ucode])
    return struct.unpack("<Q", b)[0]


def make_report(version, product, tcb, chip_id, signing_key, key):
    """A well-formed report (SNP-FORMAT.md section 1), signed with `key` if given."""
    r = bytearray(REPORT_SIZE)
    struct.pack_into("<I", r, 0x000, version)
    struct.pack_into("<I", r, 0x004, 1)  # GUEST_SVN
    struct.pack_into("<Q", r, 0x008, 0x30000)  # POLICY: SMT + reserved bit 17
    struct.pack_into("<I", r, 0x034, 1)  # SIGNATURE_ALGO: ECDSA P-384 SHA-384
    struct.pack_into("<Q", r, 0x038, tcb)  # CURRENT_TCB
    struct.pack_into("<Q", r, 0x040, 0x25)  # PLATFORM_INFO
    struct.pack_into("<I", r, 0x048, signing_key << 2)  # SIGNER_INFO
    r[0x050:0x090] = bytes((0x40 + i) & 0xFF for i in range(64))  # REPORT_DATA
    r[0x090:0x0C0] = bytes(0xA0 ^ i for i in range(48))  # MEASUREMENT
    r[0x140:0x160] = bytes((0x11 * (i + 1)) & 0xFF for i in range(32))  # REPORT_ID
    r[0x160:0x180] = b"\xff" * 32  # REPORT_ID_MA
    struct.pack_into("<Q", r, 0x180, tcb)  # REPORTED_TCB
    if version >= 3:
        fam, model = CPUID[product]
        r[0x188:0x18B] = bytes([fam, model, 1])
    r[0x1A0:0x1E0] = chip_id
    struct.pack_into("<Q", r, 0x1E0, tcb)  # COMMITTED_TCB
    r[0x1E8:0x1EB] = bytes([40, 55, 1])
    r[0x1EC:0x1EF] = bytes([40, 55, 1])
    struct.pack_into("<Q", r, 0x1F0, tcb)  # LAUNCH_TCB
    if version >= 5:
        struct.pack_into("<QQ", r, 0x1F8, 0x3F, 0x3F)  # mitigation vectors
    if key is not None:
        sig = key.sign(bytes(r[:SIGNED_SIZE]), ec.ECDSA(hashes.SHA384()))
        rr, ss = decode_dss_signature(sig)
        r[0x2A0:0x2D0] = rr.to_bytes(48, "little")
        r[0x2E8:0x318] = ss.to_bytes(48, "little")
    return bytes(r)


def cert_table(entries):
    """entries: list of (guid, blob). Header, all-zero terminator, then the blobs."""
    off = (len(entries) + 1) * 24
    head, body = b"", b""
    for guid, blob in entries:
        head += guid + struct.pack("<II", off + len(body), len(blob))
        body += blob
    return head + bytes(24) + body


def der(c):
    return c.public_bytes(serialization.Encoding.DER)


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def self_signed_p384():
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz-selfsigned")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1234)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(key, hashes.SHA384())
    )


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    files = {}

    milan = make_pki("Milan", 0x10000)
    genoa = make_pki("Genoa", 0x20000)
    turin = make_pki("Turin", 0x30000)
    chip64 = bytes((0xC0 + i) & 0xFF for i in range(64))

    m_tcb = tcb_raw("Milan", 0, 3, 0, 8, 115)
    m_spl = {1: 3, 2: 0, 3: 8, 8: 115}
    m_vcek, m_vcek_key = make_leaf("Milan", False, m_spl, milan["ask"], milan["ask_key"], chip64)
    g_tcb = tcb_raw("Genoa", 0, 7, 0, 14, 72)
    g_spl = {1: 7, 2: 0, 3: 14, 8: 72}
    g_vlek, g_vlek_key = make_leaf("Genoa", True, g_spl, genoa["asvk"], genoa["asvk_key"])
    t_tcb = tcb_raw("Turin", 1, 1, 1, 4, 81)
    t_spl = {1: 1, 2: 1, 3: 4, 8: 81, 9: 1}
    t_vcek, t_vcek_key = make_leaf(
        "Turin", False, t_spl, turin["ask"], turin["ask_key"], chip64[:8], hwid_wrapped=True
    )

    rep_m5 = make_report(5, "Milan", m_tcb, chip64, 0, m_vcek_key)
    rep_m2 = make_report(2, "Milan", m_tcb, chip64, 0, m_vcek_key)
    rep_g3 = make_report(3, "Genoa", g_tcb, bytes(64), 1, g_vlek_key)
    rep_t5 = make_report(5, "Turin", t_tcb, chip64[:8] + bytes(56), 0, t_vcek_key)

    # fuzz_report: single reports, raw and as hex text.
    files["report/milan_v5_vcek.bin"] = rep_m5
    files["report/milan_v2_vcek.bin"] = rep_m2
    files["report/genoa_v3_vlek.bin"] = rep_g3
    files["report/turin_v5_vcek.bin"] = rep_t5
    files["report/milan_v5_unsigned.bin"] = make_report(5, "Milan", m_tcb, bytes(64), 7, None)
    lines = [rep_t5[i : i + 32].hex() for i in range(0, REPORT_SIZE, 32)]
    files["report/turin_v5.hex"] = ("\n".join(lines) + "\n").encode()
    files["report/short.bin"] = rep_m5[:64]

    # fuzz_certtable: tables alone.
    files["certtable/two_small.bin"] = cert_table(
        [(GUID["VCEK"], b"\x30\x03\x02\x01\x00"), (GUID["ARK"], b"blob")]
    )
    files["certtable/empty.bin"] = bytes(24)
    files["certtable/milan_der_chain.bin"] = cert_table(
        [
            (GUID["VCEK"], der(m_vcek)),
            (GUID["ASK"], der(milan["ask"])),
            (GUID["ARK"], der(milan["ark"])),
        ]
    )
    files["certtable/every_guid.bin"] = cert_table(
        [(GUID[k], b"x" * (i + 1)) for i, k in enumerate(GUID)]
    )
    files["certtable/genoa_pem_chain.bin"] = cert_table(
        [
            (GUID["VLEK"], pem(g_vlek)),
            (GUID["ASK"], pem(genoa["asvk"]) + pem(genoa["ark"])),
            (GUID["CRL"], b"\x30\x00"),
        ]
    )

    # fuzz_cert: single blobs, DER and PEM.
    ss = self_signed_p384()
    files["cert/selfsigned_p384.der"] = der(ss)
    files["cert/selfsigned_p384.pem"] = pem(ss)
    files["cert/milan_vcek.der"] = der(m_vcek)
    files["cert/turin_vcek.der"] = der(t_vcek)
    files["cert/genoa_vlek.pem"] = pem(g_vlek)
    files["cert/milan_ark.der"] = der(milan["ark"])
    bundle = b"leading text\n" + pem(turin["ask"]) + b"between\n" + pem(turin["ark"])
    files["cert/turin_ask_ark.pem"] = bundle

    # fuzz_verify: a report followed by its cert table.
    files["verify/milan_v5_vcek_der.bin"] = rep_m5 + files["certtable/milan_der_chain.bin"]
    files["verify/milan_v2_vcek_only.bin"] = rep_m2 + cert_table([(GUID["VCEK"], der(m_vcek))])
    files["verify/genoa_v3_vlek_pem.bin"] = rep_g3 + files["certtable/genoa_pem_chain.bin"]
    files["verify/turin_v5_vcek_der.bin"] = rep_t5 + cert_table(
        [
            (GUID["VCEK"], der(t_vcek)),
            (GUID["ASK"], der(turin["ask"])),
            (GUID["ARK"], der(turin["ark"])),
            (GUID["EXTRA"], b"\x01\x02"),
        ]
    )
    files["verify/report_no_table.bin"] = rep_m5

    # fuzz_text: RFC 3339 times and hex strings.
    for i, s in enumerate(
        [
            "2025-06-01",
            "2025-06-01T12:00:00Z",
            "2024-02-29t23:59:60.123456+02:00",
            "1970-01-01 00:00:00-00:30",
            "9999-12-31T23:59:59z",
            "00ff10Ab",
            "de ad\tbe\nef\r\n",
            "0",
        ]
    ):
        files["text/seed%02d.txt" % i] = s.encode()

    for sub in ("report", "certtable", "cert", "verify", "text"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))
    total = 0
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("wrote %d seeds, %d bytes, under %s" % (len(files), total, out))


if __name__ == "__main__":
    main()
