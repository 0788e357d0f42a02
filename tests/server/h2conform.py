#!/usr/bin/python3
"""HTTP/2 conformance of vd_server (issue #10): RFC 9113 and RFC 7541 cases where a client can
get it wrong, as raw frames on h2c. Each case expects what the RFC requires: a connection error
is a GOAWAY with the given code then the connection closed; a stream error is a RST_STREAM with
the given code (RFC 9113 section 5.4.1 lets a server treat a stream error as a connection error,
so a GOAWAY with the same code is accepted there too); and after every case the server still
answers a fresh connection.

Usage: h2conform.py ECHO_SERVER [--table]
Starts ECHO_SERVER (tests/support/echo_server) on 127.0.0.1 port 0, kills it at the end. Exit 0
when every case passed, 1 otherwise; --table prints the results as a Markdown table.
Frames are built and read by hand (struct); header blocks use Debian's python3-hpack.
Every read has a timeout and every loop is bounded; nothing asserts on timing.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import hpack

TIMEOUT = 10
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20
CODES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
         "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
         "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
         "HTTP_1_1_REQUIRED"]


def code_name(c):
    return CODES[c] if c < len(CODES) else "0x%x" % c


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def req(path="/echo", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", "test")] + list(extra)


class Conn:
    """A raw h2c client connection: preface and SETTINGS sent, the server's frames read."""

    def __init__(self, addr, first=None):
        self.s = socket.create_connection(addr, timeout=TIMEOUT)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.buf = b""
        self.frames = []
        self.status_of = {}  # stream -> :status, decoded in arrival order (HPACK is stateful)
        self.eof = False
        self.s.sendall(PREFACE + (settings() if first is None else first))

    def send(self, *frames):
        try:
            self.s.sendall(b"".join(frames))
        except OSError:
            pass  # the server already closed: its answer is read below

    def block(self, headers):
        return self.enc.encode(headers)

    def _read(self):
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                break
            t, fl = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            self.frames.append((t, fl, sid, self.buf[9:9 + n]))
            if t == HEADERS:
                payload = self.buf[9:9 + n]
                if fl & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if fl & PRIO:
                    payload = payload[5:]
                self.status_of[sid] = dict(self.dec.decode(payload)).get(":status")
            if t == SETTINGS and not fl & ACK:
                self.send(frame(SETTINGS, ACK, 0))
            self.buf = self.buf[9 + n:]
        return True

    def wait(self, pred, rounds=200):
        """Read until pred(frame) holds for a frame, or the connection ends or goes silent."""
        seen = 0
        for _ in range(rounds):
            while seen < len(self.frames):
                if pred(self.frames[seen]):
                    return self.frames[seen]
                seen += 1
            if self.eof or not self._read():
                break
        while seen < len(self.frames):
            if pred(self.frames[seen]):
                return self.frames[seen]
            seen += 1
        return None

    def goaway(self):
        f = self.wait(lambda f: f[0] == GOAWAY)
        if f is None:
            return None
        last, code = struct.unpack(">II", f[3][:8])
        return last & 0x7FFFFFFF, code

    def closed(self):
        """The server closes the connection (bounded wait)."""
        self.wait(lambda f: False)
        return self.eof

    def status(self, sid):
        """The :status of the response on `sid`, 'RST:<code>' if reset, None otherwise."""
        f = self.wait(lambda f: f[2] == sid and f[0] in (HEADERS, RST_STREAM) or
                      f[0] == GOAWAY)
        if f is None or f[0] == GOAWAY:
            return None
        if f[0] == RST_STREAM:
            return "RST:" + code_name(struct.unpack(">I", f[3])[0])
        return self.status_of.get(sid)

    def close(self):
        self.s.close()


class Failed(Exception):
    pass


def expect_conn_error(c, code):
    g = c.goaway()
    if g is None:
        raise Failed("no GOAWAY (expected %s)" % code)
    if code_name(g[1]) != code:
        raise Failed("GOAWAY %s, expected %s" % (code_name(g[1]), code))
    if not c.closed():
        raise Failed("connection left open after GOAWAY(%s)" % code)
    return "GOAWAY(%s), closed" % code


def expect_stream_error(c, sid, code):
    f = c.wait(lambda f: (f[0] == RST_STREAM and f[2] == sid) or f[0] == GOAWAY or
               (f[0] == HEADERS and f[2] == sid))
    if f is None:
        raise Failed("neither RST_STREAM nor GOAWAY (expected %s)" % code)
    if f[0] == HEADERS:
        raise Failed("stream %d was answered (expected %s)" % (sid, code))
    got = struct.unpack(">I", f[3][4:8] if f[0] == GOAWAY else f[3][:4])[0]
    if code_name(got) != code:
        raise Failed("%s %s, expected %s" % ("GOAWAY" if f[0] == GOAWAY else "RST_STREAM",
                                             code_name(got), code))
    return ("RST_STREAM(%s)" if f[0] == RST_STREAM else "GOAWAY(%s)") % code


def expect_answer(c, sid, want="200"):
    st = c.status(sid)
    if st != want:
        raise Failed("stream %d: %r, expected %s" % (sid, st, want))
    return want


# ---- the cases: (section, description, function(addr) -> observed) --------------------------

CASES = []


def case(section, text):
    def reg(fn):
        CASES.append((section, text, fn))
        return fn
    return reg


@case("3.4", "client preface not followed by SETTINGS (a PING first)")
def _(a):
    c = Conn(a, first=frame(PING, 0, 0, b"12345678"))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("3.4", "preface with a mangled last line")
def _(a):
    s = socket.create_connection(a, timeout=TIMEOUT)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r")
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        raise Failed("connection left open")
    if data:
        raise Failed("answered %r" % data[:20])
    return "closed at once, nothing sent"


@case("3.4", "valid preface, then a request with its body: 200")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(DATA, END_STREAM, 1, b"hello"))
    return expect_answer(c, 1)


@case("4.2", "DATA over SETTINGS_MAX_FRAME_SIZE (16385 bytes)")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(DATA, 0, 1, b"x" * 16385))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("4.2", "HEADERS frame over SETTINGS_MAX_FRAME_SIZE")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x00" * 16385))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("6.5", "SETTINGS length not a multiple of 6")
def _(a):
    c = Conn(a)
    c.send(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00"))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("6.5", "SETTINGS ACK with a payload")
def _(a):
    c = Conn(a)
    c.send(frame(SETTINGS, ACK, 0, struct.pack(">HI", 3, 10)))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("6.5", "SETTINGS on a stream (id 1)")
def _(a):
    c = Conn(a)
    c.send(frame(SETTINGS, 0, 1, struct.pack(">HI", 3, 10)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.5.2", "SETTINGS_ENABLE_PUSH = 2")
def _(a):
    c = Conn(a)
    c.send(settings((2, 2)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.5.2", "SETTINGS_INITIAL_WINDOW_SIZE = 2^31")
def _(a):
    c = Conn(a)
    c.send(settings((4, 1 << 31)))
    return expect_conn_error(c, "FLOW_CONTROL_ERROR")


@case("6.5.2", "SETTINGS_MAX_FRAME_SIZE = 16383 (below the minimum)")
def _(a):
    c = Conn(a)
    c.send(settings((5, 16383)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.5.2", "SETTINGS_MAX_FRAME_SIZE = 2^24 (above the maximum)")
def _(a):
    c = Conn(a)
    c.send(settings((5, 1 << 24)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.5.2", "unknown SETTINGS identifier is ignored (ACKed), requests served")
def _(a):
    c = Conn(a)
    c.send(settings((0xFF00, 7), (0x4242, 0)))
    if c.wait(lambda f: f[0] == SETTINGS and f[1] & ACK) is None:
        raise Failed("no SETTINGS ACK")
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req())))
    return "ACK, " + expect_answer(c, 1)


@case("6.7", "PING answered with a PING ACK carrying the same data")
def _(a):
    c = Conn(a)
    c.send(frame(PING, 0, 0, b"verdict!"))
    f = c.wait(lambda f: f[0] == PING and f[1] & ACK)
    if f is None or f[3] != b"verdict!":
        raise Failed("no PING ACK with the data: %r" % (f,))
    return "PING ACK"


@case("6.7", "PING of 7 bytes")
def _(a):
    c = Conn(a)
    c.send(frame(PING, 0, 0, b"1234567"))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("6.7", "PING on a stream (id 1)")
def _(a):
    c = Conn(a)
    c.send(frame(PING, 0, 1, b"12345678"))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.1.1", "HEADERS on an even (server-initiated) stream id")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 2, c.block(req())))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.1.1", "stream ids that go down (5, then 3)")
def _(a):
    # RFC 9113 asks for a connection error; nghttp2 deliberately ignores a HEADERS whose id is
    # below the last one it saw (it cannot tell it from a late frame of a stream it closed,
    # see session_on_request_headers_received). What must hold: stream 3 is never processed,
    # and the connection keeps serving higher ids.
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 5, c.block(req())),
           frame(HEADERS, END_HEADERS | END_STREAM, 3, c.block(req())),
           frame(HEADERS, END_HEADERS | END_STREAM, 7, c.block(req())))
    expect_answer(c, 5)
    expect_answer(c, 7)
    if any(f[2] == 3 and f[0] == HEADERS for f in c.frames):
        raise Failed("stream 3 was answered")
    return "stream 3 ignored, never processed (nghttp2's documented leniency); 5 and 7: 200"


@case("6.2", "HEADERS on stream 0")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 0, c.block(req())))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.1", "DATA on stream 0")
def _(a):
    c = Conn(a)
    c.send(frame(DATA, 0, 0, b"x"))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.1", "DATA on an idle stream")
def _(a):
    c = Conn(a)
    c.send(frame(DATA, END_STREAM, 1, b"x"))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.1", "RST_STREAM on an idle stream")
def _(a):
    c = Conn(a)
    c.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.1", "WINDOW_UPDATE on an idle stream")
def _(a):
    c = Conn(a)
    c.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.1", "DATA after END_STREAM (half-closed remote)")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req("/slow?ms=300"))),
           frame(DATA, 0, 1, b"late"))
    return expect_stream_error(c, 1, "STREAM_CLOSED")


@case("6.4", "RST_STREAM of 3 bytes")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(RST_STREAM, 0, 1, b"\x00\x00\x08"))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("6.4", "a client RST_STREAM cancels its request; the connection goes on")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(RST_STREAM, 0, 1, struct.pack(">I", 8)),
           frame(HEADERS, END_HEADERS | END_STREAM, 3, c.block(req())))
    return "stream 3: " + expect_answer(c, 3)


@case("6.9", "WINDOW_UPDATE of 0 on the connection")
def _(a):
    c = Conn(a)
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.9", "WINDOW_UPDATE of 0 on an open stream")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0)))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("6.9", "WINDOW_UPDATE of 3 bytes")
def _(a):
    c = Conn(a)
    c.send(frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01"))
    return expect_conn_error(c, "FRAME_SIZE_ERROR")


@case("6.9.1", "connection window past 2^31-1")
def _(a):
    c = Conn(a)
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)))
    return expect_conn_error(c, "FLOW_CONTROL_ERROR")


@case("6.9.1", "stream window past 2^31-1")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0x7FFFFFFF)))
    return expect_stream_error(c, 1, "FLOW_CONTROL_ERROR")


@case("6.9.1", "a body larger than the initial window: credit comes back, 200")
def _(a):
    # A client cannot overrun the server's window in a test: nghttp2 hands credit back as it
    # reads, so any burst it has read is within what it granted. What must hold: bodies larger
    # than 65535 bytes flow (WINDOW_UPDATE on the stream and the connection) and are answered.
    c = Conn(a)
    body = b"x" * 200000
    c.send(frame(HEADERS, END_HEADERS, 1,
                 c.block(req("/echo", "POST", [("content-length", str(len(body)))]))))
    window = {0: 65535, 1: 65535}
    sent, rounds, seen = 0, 0, 0
    while sent < len(body) and rounds < 1000:
        rounds += 1
        n = min(16384, len(body) - sent, window[0], window[1])
        if n <= 0:
            if seen == len(c.frames) and (c.eof or not c._read()):
                raise Failed("stalled at %d bytes" % sent)
            for f in c.frames[seen:]:
                if f[0] in (GOAWAY, RST_STREAM):
                    raise Failed("at %d bytes: %r" % (sent, f[:3]))
                if f[0] == WINDOW_UPDATE:
                    window[f[2]] = window.get(f[2], 0) + struct.unpack(">I", f[3])[0]
            seen = len(c.frames)
            continue
        c.send(frame(DATA, END_STREAM if sent + n == len(body) else 0, 1, body[sent:sent + n]))
        sent += n
        window[0] -= n
        window[1] -= n
    if sent < len(body):
        raise Failed("sent only %d bytes" % sent)
    return "WINDOW_UPDATEs, " + expect_answer(c, 1)


@case("RFC 7541 2.3.3", "HPACK index past the dynamic table")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x82\x86\xbf\x41\x01a"))
    return expect_conn_error(c, "COMPRESSION_ERROR")


@case("RFC 7541 6.1", "HPACK integer overflowing 32 bits")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\xff\xff\xff\xff\x0f"))
    return expect_conn_error(c, "COMPRESSION_ERROR")


@case("RFC 7541 4.2", "dynamic table size update above SETTINGS_HEADER_TABLE_SIZE")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x3f\xe1\xff\x03" + c.block(req())))
    return expect_conn_error(c, "COMPRESSION_ERROR")


@case("RFC 7541 5.2", "Huffman string with an EOS / bad padding")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 c.block(req()) + b"\x40\x81\xff\x81\xff"))
    return expect_conn_error(c, "COMPRESSION_ERROR")


@case("8.2.1", "upper-case header name")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req(extra=[("X-Big", "1")]))))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("8.2.2", "connection-specific header (connection: keep-alive)")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 c.block(req(extra=[("connection", "keep-alive")]))))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("8.3.1", "request without :path")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 c.block([(":method", "GET"), (":scheme", "http"), (":authority", "t")])))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("8.3", "pseudo-header after a regular header")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 c.block([(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
                          (":path", "/"), (":authority", "t")])))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("8.1.1", "content-length disagreeing with the DATA sent")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1,
                 c.block(req("/echo", "POST", [("content-length", "10")]))),
           frame(DATA, END_STREAM, 1, b"abc"))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("6.10", "header block split over CONTINUATION frames: 200")
def _(a):
    c = Conn(a)
    hb = c.block(req(extra=[("x-long", "v" * 100)]))
    c.send(frame(HEADERS, END_STREAM, 1, hb[:10]), frame(CONTINUATION, 0, 1, hb[10:50]),
           frame(CONTINUATION, END_HEADERS, 1, hb[50:]))
    return expect_answer(c, 1)


@case("6.10", "a DATA frame inside a header block (no END_HEADERS yet)")
def _(a):
    c = Conn(a)
    hb = c.block(req("/echo", "POST"))
    c.send(frame(HEADERS, 0, 1, hb[:5]), frame(DATA, 0, 1, b"x"))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.10", "CONTINUATION on another stream")
def _(a):
    c = Conn(a)
    hb = c.block(req())
    c.send(frame(HEADERS, END_STREAM, 1, hb[:5]), frame(CONTINUATION, END_HEADERS, 3, hb[5:]))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.10", "CONTINUATION without a HEADERS before it")
def _(a):
    c = Conn(a)
    c.send(frame(CONTINUATION, END_HEADERS, 1, c.block(req())))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.10", "CONTINUATION flood (header block past the limit, never ended)")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_STREAM, 1, c.block(req())))
    filler = hpack.Encoder().encode([("x-fill", "f" * 200)])
    for _ in range(2000):  # 400 KB of header block, far over the 16 KiB limit
        c.send(frame(CONTINUATION, 0, 1, filler))
        if c.eof:
            break
    f = c.wait(lambda f: f[0] in (GOAWAY, RST_STREAM) or (f[0] == HEADERS and f[2] == 1))
    if f is None:
        raise Failed("no GOAWAY, RST_STREAM or answer to an unbounded header block (%s)" %
                     ("closed" if c.eof else "left open"))
    if f[0] == HEADERS:
        st = c.status_of.get(1)
        if st != "431":
            raise Failed("answered %r, expected 431 or an error" % st)
        return "431"
    code = struct.unpack(">I", f[3][4:8] if f[0] == GOAWAY else f[3][:4])[0]
    return "%s(%s)" % ("GOAWAY" if f[0] == GOAWAY else "RST_STREAM", code_name(code))


@case("5.3", "PRIORITY on an idle stream is allowed; requests served")
def _(a):
    c = Conn(a)
    c.send(frame(PRIORITY, 0, 7, struct.pack(">IB", 0, 16)),
           frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req())))
    return expect_answer(c, 1)


@case("5.3.1", "PRIORITY making a stream depend on itself")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(PRIORITY, 0, 1, struct.pack(">IB", 1, 16)))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("5.3.1", "HEADERS with a PRIORITY block depending on itself")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM | PRIO, 1,
                 struct.pack(">IB", 1, 16) + c.block(req())))
    return expect_stream_error(c, 1, "PROTOCOL_ERROR")


@case("6.3", "PRIORITY of 4 bytes")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(PRIORITY, 0, 1, b"\x00\x00\x00\x00"))
    return expect_stream_error(c, 1, "FRAME_SIZE_ERROR")


@case("6.1", "padding length past the frame (HEADERS, PADDED)")
def _(a):
    c = Conn(a)
    hb = c.block(req())
    c.send(frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, bytes([len(hb) + 5]) + hb))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.6", "PUSH_PROMISE from a client")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS, 1, c.block(req("/echo", "POST"))),
           frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + c.block(req())))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("5.5", "unknown frame type is ignored; requests served")
def _(a):
    c = Conn(a)
    c.send(frame(0xFA, 0xFF, 1, b"whatever"),
           frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req())))
    return expect_answer(c, 1)


@case("6.8", "client GOAWAY: the server answers what it has, then closes")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req())),
           frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
    st = c.status(1)
    if st != "200":
        raise Failed("stream 1: %r after the client's GOAWAY" % st)
    if not c.closed():
        raise Failed("connection left open after the client's GOAWAY")
    return "200, closed"


@case("6.8", "GOAWAY on a stream (id 1)")
def _(a):
    c = Conn(a)
    c.send(frame(GOAWAY, 0, 1, struct.pack(">II", 0, 0)))
    return expect_conn_error(c, "PROTOCOL_ERROR")


@case("6.8", "server GOAWAY's last-stream-id covers the streams it processed")
def _(a):
    c = Conn(a)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req())))
    expect_answer(c, 1)
    c.send(frame(DATA, 0, 0, b"x"))
    g = c.goaway()
    if g is None or code_name(g[1]) != "PROTOCOL_ERROR" or g[0] != 1:
        raise Failed("GOAWAY %r, expected last-stream-id 1, PROTOCOL_ERROR" % (g,))
    return "GOAWAY(last 1, PROTOCOL_ERROR)"


def alive(addr):
    c = Conn(addr)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(req("/echo"))))
    st = c.status(1)
    c.close()
    return st == "200"


def start(binary, tmp):
    out = open(os.path.join(tmp, "out"), "w+")
    err = open(os.path.join(tmp, "err"), "w+")
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--workers", "2",
                          "--log", os.path.join(tmp, "log"), "--body-max", "1048576",
                          "--request-timeout", "5000"],
                         stdout=out, stderr=err)
    for _ in range(100):
        out.seek(0)
        for line in out:
            if line.startswith("listening "):
                host, port = line.split()[1].rsplit(":", 1)
                return p, (host, int(port))
        if p.poll() is not None:
            break
        time.sleep(0.1)
    err.seek(0)
    p.kill()
    sys.exit("h2conform: echo_server did not start: " + err.read())


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    table = "--table" in sys.argv[2:]
    only = [x for x in sys.argv[2:] if not x.startswith("--")]
    with tempfile.TemporaryDirectory() as tmp:
        p, addr = start(sys.argv[1], tmp)
        failed = 0
        rows = []
        try:
            for section, text, fn in CASES:
                if only and not any(o in text for o in only):
                    continue
                try:
                    got = fn(addr)
                    ok = True
                except Failed as e:
                    got, ok = str(e), False
                except OSError as e:
                    got, ok = "socket error: %s" % e, False
                if p.poll() is not None:
                    got, ok = got + "; SERVER EXITED (%d)" % p.returncode, False
                elif not alive(addr):
                    got, ok = got + "; server no longer answers", False
                failed += not ok
                rows.append((section, text, got, ok))
                print("%s  %-8s %s: %s" % ("ok  " if ok else "FAIL", section, text, got))
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p.returncode != 0:
            # Under a sanitizer a report makes the exit code non-zero; the report is in err.
            with open(os.path.join(tmp, "err"), errors="replace") as f:
                print("FAIL  echo_server exited %d:\n%s" % (p.returncode, f.read()[-4000:]))
            failed += 1
        if table:
            print("\n| RFC 9113 section | client error | server behaviour |\n|---|---|---|")
            for section, text, got, ok in rows:
                print("| %s | %s | %s%s |" % (section, text, got, "" if ok else " **FAIL**"))
        print("%d of %d cases passed" % (len(rows) - failed, len(rows)))
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
