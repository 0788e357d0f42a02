#!/usr/bin/python3
"""Seeds for the service's fuzz targets (issue #10): attest_req, evidence_cbor, server_h1 and
server_h2. Deterministic and synthetic (no keys, no real evidence): a report is 1184 patterned
bytes, certificates come from corpus/cert (themselves synthetic, from make_seeds.py).
Needs Debian's python3-h2 (hpack):  /usr/bin/python3 tests/fuzz/make_service_seeds.py
"""
import base64
import json
import os
import struct

import hpack

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = bytes([2, 0, 0, 0]) + bytes((i * 7) & 0xFF for i in range(1180))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64(b, url=False):
    return (base64.urlsafe_b64encode(b).rstrip(b"=") if url else base64.b64encode(b)).decode()


def attest_req():
    with open(os.path.join(HERE, "corpus", "cert", "selfsigned_p384.pem")) as f:
        pem = f.read()
    with open(os.path.join(HERE, "corpus", "cert", "milan_vcek.der"), "rb") as f:
        der = f.read()
    r = b64(REPORT)
    seeds = {
        "minimal.json": {"evidence": {"report": r}},
        "full.json": {"evidence": {"report": r, "cert_table": b64(b"\x00" * 24),
                                   "certs": [pem, b64(der)]},
                      "nonce": b64(b"n" * 32, url=True), "runtime_data": b64(b"{}"),
                      "challenge": "AAAA.BBBB", "policy": "default"},
        "tsm_top.json": {"tsm": {"provider": "sev_guest\n", "outblob": r,
                                 "auxblob": b64(b"\x00" * 24)}},
        "tsm_nested.json": {"evidence": {"tsm": {"outblob": b64(REPORT, url=True)}},
                            "nonce": b64(b"x" * 64)},
        "dryrun.json": {"evidence": {"report": r}, "input": {"a": 1}},
        "both.json": {"evidence": {"report": r}, "tsm": {"outblob": r}},
        "unknown.json": {"evidence": {"report": r}, "nonse": "AA"},
    }
    for name, doc in seeds.items():
        out("attest_req", name, json.dumps(doc))


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    if n < 65536:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)


def ctext(s):
    b = s.encode()
    return cbor_head(3, len(b)) + b


def cbytes(b):
    return cbor_head(2, len(b)) + b


def cmap(pairs):
    return cbor_head(5, len(pairs)) + b"".join(k + v for k, v in pairs)


def evidence_cbor():
    out("evidence_cbor", "full.cbor", cmap([(ctext("provider"), ctext("sev_guest\n")),
                                            (ctext("outblob"), cbytes(REPORT)),
                                            (ctext("auxblob"), cbytes(b"\x00" * 24)),
                                            (ctext("manifestblob"), cbytes(b""))]))
    out("evidence_cbor", "outblob.cbor", cmap([(ctext("outblob"), cbytes(REPORT[:64]))]))
    out("evidence_cbor", "indefinite.cbor",
        b"\xa1" + ctext("outblob") + b"\x5f" + cbytes(b"ab") + cbytes(b"cd") + b"\xff")
    out("evidence_cbor", "nested.cbor",
        cmap([(ctext("x"), b"\x81\x81\x81\xa1\x01\x02"), (ctext("outblob"), cbytes(b"r"))]))
    out("evidence_cbor", "tagged.cbor",
        cmap([(b"\xd8\x18" + ctext("outblob"), cbytes(b"r")), (b"\x01", b"\xf6")]))


def h1():
    body = json.dumps({"evidence": {"report": b64(REPORT[:48])}})
    seeds = {
        "get.txt": "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        "post.txt": "POST /v1/attest HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n%s" % (len(body), body),
        "chunked.txt": "POST /v1/attest HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n",
        "pipelined.txt": "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /deny HTTP/1.1\r\nHost: a\r\n"
                         "Content-Length: 3\r\n\r\nabcHEAD /b?x=1 HTTP/1.1\r\nHost: a\r\n"
                         "Connection: close\r\n\r\n",
        "http10.txt": "GET / HTTP/1.0\r\n\r\n",
        "expect.txt": "PUT /v1/policies/p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                      "Content-Length: 4\r\nX-Request-Id: abc\r\n\r\nabcd",
        "upgrade.txt": "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                       "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
        "bad_cl.txt": "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "mangled_preface.txt": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r",
    }
    for name, data in seeds.items():
        out("server_h1", name, data)


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) \
        + payload


def settings(pairs, ack=False):
    return frame(4, 1 if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def h2():
    enc = hpack.Encoder()
    get = [(":method", "GET"), (":scheme", "http"), (":path", "/healthz"), (":authority", "a")]
    post = [(":method", "POST"), (":scheme", "http"), (":path", "/v1/attest"),
            (":authority", "a"), ("content-type", "application/json"), ("content-length", "5")]
    s0 = settings([(3, 100), (4, 65535)])
    out("server_h2", "get.bin", s0 + frame(1, 5, 1, enc.encode(get)))
    enc = hpack.Encoder()
    hb = enc.encode(post)
    out("server_h2", "post.bin", s0 + settings([], ack=True) + frame(1, 4, 1, hb) +
        frame(0, 0, 1, b"hel") + frame(0, 1, 1, b"lo"))
    enc = hpack.Encoder()
    hb = enc.encode(get)
    out("server_h2", "continuation.bin",
        s0 + frame(1, 1, 3, hb[:3]) + frame(9, 0, 3, hb[3:6]) + frame(9, 4, 3, hb[6:]))
    enc = hpack.Encoder()
    out("server_h2", "reset.bin", s0 + frame(1, 5, 1, enc.encode(get)) +
        frame(3, 0, 1, struct.pack(">I", 8)) + frame(1, 5, 3, enc.encode(get)) +
        frame(3, 0, 3, struct.pack(">I", 8)))
    enc = hpack.Encoder()
    out("server_h2", "misc.bin", s0 + frame(6, 0, 0, b"12345678") +
        frame(8, 0, 0, struct.pack(">I", 1 << 20)) + frame(2, 0, 1, struct.pack(">IB", 0, 16)) +
        frame(1, 0x25, 1, struct.pack(">IB", 0, 16) + enc.encode(get)) +
        frame(8, 0, 1, struct.pack(">I", 100)) + frame(7, 0, 0, struct.pack(">II", 1, 0)))
    enc = hpack.Encoder()
    out("server_h2", "padded.bin", s0 + frame(1, 0x0C, 1, b"\x02" + enc.encode(post) + b"\0\0") +
        frame(0, 0x09, 1, b"\x01hello\x00"))
    out("server_h2", "bad_hpack.bin", s0 + frame(1, 5, 1, b"\xff\xff\xff\xff\x0f"))
    enc = hpack.Encoder()
    out("server_h2", "deny.bin", s0 + frame(1, 4, 1, enc.encode(
        [(":method", "POST"), (":scheme", "http"), (":path", "/deny"), (":authority", "a")])) +
        frame(0, 1, 1, b"x" * 100))


if __name__ == "__main__":
    attest_req()
    evidence_cbor()
    h1()
    h2()
