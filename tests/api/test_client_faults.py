#!/usr/bin/python3
"""Client faults against the real `verdict serve` (issue #10): slowloris, oversized headers and
bodies, HTTP/2 rapid reset (CVE-2023-44487), stream, SETTINGS and PING floods, invalid frames,
thousands of idle connections, clients gone in the middle of a request, and a process out of file
descriptors. tests/server/test_transport.sh and h2conform.py cover the transport's answers on
echo_server one case at a time; here the attacks run in numbers against the service's own routes
(/v1/attest with a genuine report) while a well-behaved client keeps attesting.

Each attack asserts: the server stays up, the well-behaved client is served during it (every
answer 200, at least one during the attack) and after it, and the server's open file descriptors
(/proc/PID/fd) and resident memory (/proc/PID/status VmRSS) come back to bounded values
afterwards (polled with a bounded wait; nothing asserts on timing).

usage: test_client_faults.py VERDICT_BINARY VECTORS_DIR
"""
import json
import os
import resource
import socket
import struct
import sys
import threading
import time
import unittest

import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import requests

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "server"))
import h2raw  # noqa: E402
from verdict_server import (Server, binary_and_vectors, milan_attest_body,  # noqa: E402
                            sanitized, serving, stopped_cleanly, usage)

BIN = VEC = None
REQUEST_TIMEOUT_MS = 1500
IDLE_TIMEOUT_MS = 3000
MAX_CONNS = 2100
IDLE_CONNS = 2000
# After an attack the server holds at most this many descriptors more than at rest (the prober's
# connection, one being accepted, SQLite's journal), and at most this much more memory.
FD_SLACK = 8
RSS_SLACK_KB = 64 * 1024
CONFIG = """\
server:
  workers: 2
  request_timeout_ms: %d
  idle_timeout_ms: %d
  max_connections: %d
  body_max: 64KiB
  header_max: 8KiB
  max_streams: 32
""" % (REQUEST_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_CONNS)


def attest_request(body):
    data = json.dumps(body).encode()
    head = ("POST /v1/attest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(data)).encode()
    return head, data


def h2_attest(addr, data):
    """One /v1/attest over a new h2c connection: the :status."""
    s = h2raw.connect(addr)
    try:
        conn = h2raw.h2conn(s)
        conn.send_headers(1, h2raw.req_headers("/v1/attest", "POST") +
                          [("content-type", "application/json"),
                           ("content-length", str(len(data)))], end_stream=False)
        conn.send_data(1, data, end_stream=True)
        s.sendall(conn.data_to_send())
        events = h2raw.pump(s, conn, lambda evs: any(
            isinstance(e, h2.events.StreamEnded) and e.stream_id == 1 for e in evs))
        return h2raw.responses(events).get(1, {}).get(":status")
    finally:
        s.close()


class Prober(threading.Thread):
    """The well-behaved client: attests in a loop, alternately over HTTP/1.1 (keep-alive) and
    h2c (a new connection each time), and counts answers."""

    def __init__(self, server, body):
        super().__init__(daemon=True)
        self.server, self.body = server, body
        self.data = json.dumps(body).encode()
        self.lock = threading.Lock()
        self.ok = 0
        self.errors = []
        self.halt = threading.Event()
        self.paused = threading.Event()

    def run(self):
        session = requests.Session()
        i = 0
        while not self.halt.is_set():
            if self.paused.is_set():
                time.sleep(0.05)
                continue
            i += 1
            try:
                if i % 2:
                    r = session.post(self.server.url("/v1/attest"), json=self.body, timeout=30)
                    status = str(r.status_code)
                else:
                    status = h2_attest(self.server.addr, self.data)
            except (OSError, requests.RequestException) as e:
                status = repr(e)
            except SystemExit:  # h2raw.fail
                status = "h2 exchange failed"
            with self.lock:
                if status == "200":
                    self.ok += 1
                else:
                    self.errors.append(status)
            time.sleep(0.02)
        session.close()

    def mark(self):
        with self.lock:
            self.errors = []
            return self.ok

    def served_since(self, mark, want=2):
        """Waits (bounded) until `want` answers came after `mark`; returns the errors."""
        for _ in range(600):
            with self.lock:
                if self.ok - mark >= want or self.errors:
                    break
            time.sleep(0.05)
        with self.lock:
            return self.ok - mark, list(self.errors)


class ClientFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = IDLE_CONNS + 400  # for this process and the server, which inherits it
        if soft < need:
            try:  # above the hard limit only as root
                resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
            except (ValueError, OSError) as e:
                raise AssertionError("%d idle connections need %d descriptors; the limit is "
                                     "%d: %s" % (IDLE_CONNS, need, hard, e))
        cls.server = Server(BIN, config=CONFIG).start()
        cls.pid = cls.server.proc.pid
        cls.body = milan_attest_body(VEC)
        r = cls.server.post("/v1/attest", json=cls.body)
        if r.status_code != 200:
            cls.server.stop()
            raise AssertionError("the genuine report is not served: %s" % r.text)
        cls.prober = Prober(cls.server, cls.body)
        cls.prober.start()
        served, errors = cls.prober.served_since(0, 4)
        if errors or served < 4:
            cls.prober.halt.set()
            cls.server.stop()
            raise AssertionError("the prober is not served at rest: %r" % errors)
        cls.rest = usage(cls.pid)  # at rest, after warm-up
        cls.peak_rss = cls.rest[1]

    @classmethod
    def tearDownClass(cls):
        cls.prober.halt.set()
        cls.prober.join(timeout=30)
        fds, rss = usage(cls.pid)
        print("\nserver at rest: %d fds, %d KiB; at the end: %d fds, %d KiB; peak seen %d KiB" %
              (cls.rest[0], cls.rest[1], fds, rss, cls.peak_rss), file=sys.stderr)
        stopped_cleanly(cls.server)

    # ---- the frame of every attack ------------------------------------------------------------

    def attack(self, fn, *args):
        """Run fn(*args) while the prober attests; then check the server and its resources."""
        mark = self.prober.mark()
        result = fn(*args)
        served, errors = self.prober.served_since(mark)
        self.assertEqual(errors, [], "the well-behaved client was refused during the attack")
        self.assertGreaterEqual(served, 1, "the well-behaved client was not served")
        self.assertEqual(self.server.get("/healthz").status_code, 200)
        self.settled()
        return result

    def settled(self):
        """The server's descriptors and memory come back to bounded values (bounded wait)."""
        fd_max = self.rest[0] + FD_SLACK
        for _ in range(300):
            fds, rss = usage(self.pid)
            if fds <= fd_max:
                break
            time.sleep(0.05)
        ClientFaults.peak_rss = max(self.peak_rss, rss)
        self.assertLessEqual(fds, fd_max, "descriptors not freed: %d open, %d at rest" %
                             (fds, self.rest[0]))
        if not sanitized(BIN):
            self.assertLessEqual(rss, self.rest[1] + RSS_SLACK_KB,
                                 "memory not bounded: %d KiB, %d at rest" % (rss, self.rest[1]))

    # ---- slowloris ----------------------------------------------------------------------------

    def slowloris(self, n):
        """n connections each trickle a request a byte at a time, in four ways: HTTP/1.1
        headers, HTTP/1.1 body, HTTP/2 body (1-byte DATA frames), HTTP/2 header block
        (1-byte CONTINUATION frames). The server must end each within request_timeout: 408
        where a request exists, else the connection goes (with GOAWAY on HTTP/2)."""
        import hpack
        head, data = attest_request(self.body)
        block = hpack.Encoder().encode(h2raw.req_headers("/v1/attest", "POST"))
        # A literal header whose value (7000 bytes, under header_max) never finishes arriving.
        block += b"\x00\x06x-slow\x7f\xd9\x35"
        conns = []
        for i in range(n):
            s = h2raw.connect(self.server.addr)
            kind, conn, todo = i % 4, None, None
            if kind == 0:
                s.sendall(head[:20])
                todo = head[20:]
            elif kind == 1:
                s.sendall(head + data[:10])
                todo = data[10:]
            else:
                conn = h2raw.h2conn(s)
                if kind == 2:
                    conn.send_headers(1, h2raw.req_headers("/v1/attest", "POST") +
                                      [("content-length", str(len(data)))])
                    s.sendall(conn.data_to_send())
                    todo = b"".join(h2raw_frame(0, 0, 1, data[j:j + 1]) for j in range(200))
                else:
                    s.sendall(h2raw_frame(1, 0, 1, block))  # HEADERS without END_HEADERS
                    todo = h2raw_frame(9, 0, 1, b"v") * 200
            conns.append({"s": s, "kind": kind, "conn": conn, "todo": todo, "got": b"",
                          "step": 9 if kind >= 2 else 1, "open": True})
        for _ in range(400):  # one step per connection every 100 ms, until the server ends each
            live = [c for c in conns if c["open"]]
            if not live:
                break
            for c in live:
                try:
                    if c["todo"]:
                        step = c["step"] + (1 if c["kind"] >= 2 else 0)
                        c["s"].sendall(c["todo"][:step])
                        c["todo"] = c["todo"][step:]
                    c["s"].setblocking(False)
                    chunk = c["s"].recv(65536)
                    c["got"] += chunk
                    c["open"] = bool(chunk)
                except BlockingIOError:
                    pass
                except OSError:
                    c["open"] = False
                c["s"].setblocking(True)
            time.sleep(0.1)
        still = [c["kind"] for c in conns if c["open"]]
        self.assertEqual(still, [], "trickling connections still open after 40 s")
        for c in conns:
            c["s"].close()
            if c["kind"] < 2:
                self.assertTrue(c["got"].startswith(b"HTTP/1.1 408 "), (c["kind"], c["got"][:60]))
                continue
            try:
                events = c["conn"].receive_data(c["got"])
            except h2.exceptions.ProtocolError as e:
                self.fail("kind %d: %r" % (c["kind"], e))
            if c["kind"] == 2:
                self.assertEqual(h2raw.responses(events).get(1, {}).get(":status"), "408")
            else:
                term = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
                self.assertTrue(term, "no GOAWAY for a header block that never ends")

    def test_slowloris(self):
        self.attack(self.slowloris, 40)

    # ---- oversized headers and bodies -----------------------------------------------------------

    def oversized(self):
        big_hdr = "h" * 9000
        r = requests.post(self.server.url("/v1/attest"), json=self.body,
                          headers={"X-Big": big_hdr}, timeout=30)
        self.assertEqual(r.status_code, 431, r.text)
        r = requests.post(self.server.url("/v1/attest"), data=b"{" * 70000, timeout=30)
        self.assertEqual(r.status_code, 413, r.text)
        self.assertEqual(r.json()["status"], 413)
        r = requests.post(self.server.url("/v1/attest"), data=iter([b"[" * 30000] * 3),
                          timeout=30)  # chunked, no Content-Length
        self.assertEqual(r.status_code, 413, r.text)
        # HTTP/2: a header block over the limit (many fields), a body over it without
        # content-length; each on its own stream of one connection, which goes on serving.
        # (A content-length over the limit is answered as its DATA arrives, like a body
        # without one: verifier/server/h2.c says why not before.)
        s = h2raw.connect(self.server.addr)
        conn = h2raw.h2conn(s)
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20})
        conn.send_headers(1, h2raw.req_headers("/v1/attest", "POST") +
                          [("x-f%d" % i, "v" * 100) for i in range(100)], end_stream=True)
        conn.send_headers(3, h2raw.req_headers("/v1/attest", "POST"), end_stream=False)
        s.sendall(conn.data_to_send())
        sent = 0
        events = []
        while sent < 70000:
            n = min(16384, conn.local_flow_control_window(3), 70000 - sent)
            if n <= 0:
                events += h2raw.pump(s, conn, lambda evs: True)
                continue
            conn.send_data(3, b"x" * n)
            sent += n
            s.sendall(conn.data_to_send())
        data = json.dumps(self.body).encode()
        conn.send_headers(7, h2raw.req_headers("/v1/attest", "POST"), end_stream=False)
        conn.send_data(7, data, end_stream=True)
        s.sendall(conn.data_to_send())
        events += h2raw.pump(s, conn, lambda evs: 7 in h2raw.responses(events + evs) and any(
            isinstance(e, h2.events.StreamEnded) and e.stream_id == 7 for e in evs))
        got = {k: v.get(":status") for k, v in h2raw.responses(events).items()}
        s.close()
        self.assertEqual(got, {1: "431", 3: "413", 7: "200"})

    def test_oversized_headers_and_bodies(self):
        self.attack(self.oversized)

    # ---- HTTP/2 floods --------------------------------------------------------------------------

    def rapid_reset(self, conns):
        """CVE-2023-44487: HEADERS (an attest request, or a readiness probe) then RST_STREAM,
        as fast as the socket takes them, on several connections at once: each gets
        GOAWAY(ENHANCE_YOUR_CALM)."""
        def one():
            s = h2raw.connect(self.server.addr)
            conn = h2raw.h2conn(s)
            try:
                for _ in range(20):
                    for _ in range(25):
                        sid = conn.get_next_available_stream_id()
                        path = "/v1/attest" if sid % 4 == 1 else "/readyz"
                        conn.send_headers(sid, h2raw.req_headers(path, "POST" if sid % 4 == 1
                                                                 else "GET"), end_stream=True)
                        conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                    s.sendall(conn.data_to_send())
            except (OSError, h2.exceptions.ProtocolError):
                pass  # the server closed the connection already
            events = h2raw.pump(s, conn, lambda evs: any(
                isinstance(e, h2.events.ConnectionTerminated) for e in evs) or "EOF" in evs)
            s.close()
            term = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
            codes.append(term[0].error_code if term else None)

        codes = []
        threads = [threading.Thread(target=one) for _ in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(codes, [h2.errors.ErrorCodes.ENHANCE_YOUR_CALM] * conns)

    def test_rapid_reset(self):
        for _ in range(3):
            self.attack(self.rapid_reset, 4)

    def flood_read(self, kind):
        """20000 PINGs or SETTINGS on one connection whose client reads every answer: each
        costs the server what it costs the client; the connection goes on and serves."""
        s = h2raw.connect(self.server.addr)
        conn = h2raw.h2conn(s)
        for i in range(20):
            for j in range(1000):
                if kind == "ping":
                    conn.ping((i * 1000 + j).to_bytes(8, "big"))
                else:
                    conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100})
            s.sendall(conn.data_to_send())
            want = 1000
            h2raw.pump(s, conn, lambda evs: sum(isinstance(e, (
                h2.events.PingAckReceived, h2.events.SettingsAcknowledged)) for e in evs) >= want)
        data = json.dumps(self.body).encode()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, h2raw.req_headers("/v1/attest", "POST"))
        conn.send_data(sid, data, end_stream=True)
        s.sendall(conn.data_to_send())
        events = h2raw.pump(s, conn, lambda evs: any(
            isinstance(e, h2.events.StreamEnded) and e.stream_id == sid for e in evs))
        s.close()
        self.assertEqual(h2raw.responses(events)[sid].get(":status"), "200")

    def flood_unread(self, frame):
        """PINGs or SETTINGS sent without ever reading the answers: the server must not buffer
        them without bound; it stops reading, then ends the connection (GOAWAY
        ENHANCE_YOUR_CALM when nghttp2 sees the flood, else the write timeout closes it)."""
        s = h2raw.connect(self.server.addr)
        h2raw.h2conn(s)
        burst = frame * 1000
        s.settimeout(2)
        sent = 0
        try:
            for _ in range(100):
                s.sendall(burst)
                sent += 1
        except (OSError, socket.timeout):
            pass  # the server stopped reading or closed
        s.settimeout(h2raw.TIMEOUT)
        data = b""
        try:
            for _ in range(100000):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("the server kept a flooding connection open (%d bytes answered)" % len(data))
        finally:
            s.close()

    def test_settings_and_ping_floods(self):
        ping = h2raw_frame(6, 0, 0, b"12345678")
        settings = h2raw_frame(4, 0, 0, b"\x00\x03\x00\x00\x00\x64")
        for kind, frame in (("ping", ping), ("settings", settings)):
            self.attack(self.flood_read, kind)
            self.attack(self.flood_unread, frame)

    def stream_flood(self):
        """HEADERS without their bodies on 2000 new streams of one connection: the streams past
        max_streams are refused, those within it end with 408; the connection is not a way
        around the in-flight bound."""
        s = h2raw.connect(self.server.addr)
        conn = h2raw.h2conn(s)
        s.sendall(conn.data_to_send())
        ids = []
        try:
            for _ in range(20):
                for _ in range(100):
                    sid = conn.get_next_available_stream_id()
                    conn.send_headers(sid, h2raw.req_headers("/v1/attest", "POST"))
                    ids.append(sid)
                s.sendall(conn.data_to_send())
        except (OSError, h2.exceptions.TooManyStreamsError):
            pass
        events = h2raw.pump(s, conn, lambda evs: sum(
            isinstance(e, (h2.events.StreamReset, h2.events.StreamEnded)) for e in evs) >= len(
                ids) or any(isinstance(e, h2.events.ConnectionTerminated) for e in evs), 100000)
        s.close()
        refused = [e for e in events if isinstance(e, h2.events.StreamReset)]
        answered = h2raw.responses(events)
        self.assertTrue(refused or any(
            isinstance(e, h2.events.ConnectionTerminated) for e in events))
        self.assertTrue(all(v.get(":status") == "408" for v in answered.values()), answered)

    def test_stream_flood(self):
        self.attack(self.stream_flood)

    # ---- invalid frames -------------------------------------------------------------------------

    def invalid_frames(self, n):
        """n connections, each a valid preface then a malformed frame (a different one each
        time, from a fixed list and seeded random bytes): each connection is closed."""
        import random
        rnd = random.Random(10)
        bad = [
            h2raw_frame(0, 0, 0, b"x"),                     # DATA on stream 0
            h2raw_frame(1, 4, 2, b"\x82"),                  # HEADERS on an even stream
            h2raw_frame(4, 0, 0, b"\x00\x04\x80\x00\x00\x00"),  # INITIAL_WINDOW_SIZE 2^31
            h2raw_frame(6, 0, 0, b"1234567"),               # PING of 7 bytes
            h2raw_frame(8, 0, 0, b"\x00\x00\x00\x00"),      # WINDOW_UPDATE of 0
            h2raw_frame(1, 4, 1, b"\xff\xff\xff\xff\xff"),  # HPACK index overflow
            h2raw_frame(9, 4, 1, b"\x82"),                  # CONTINUATION without HEADERS
            b"\xff\xff\xff\x00\x00\x00\x00\x00\x00" + b"z" * 64,  # length past the maximum
        ]
        closed = 0
        for i in range(n):
            s = h2raw.connect(self.server.addr)
            h2raw.h2conn(s)
            frame = bad[i] if i < len(bad) else bytes(rnd.getrandbits(8) for _ in range(
                rnd.randint(9, 200)))
            try:
                s.sendall(frame)
                for _ in range(100):
                    chunk = s.recv(65536)
                    if not chunk:
                        closed += 1
                        break
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass  # random bytes may be a frame the server waits to complete
            s.close()
        self.assertGreaterEqual(closed, len(bad))

    def test_invalid_frames(self):
        self.attack(self.invalid_frames, 60)

    # ---- thousands of idle connections --------------------------------------------------------

    def test_idle_connections(self):
        """2000 idle connections (h2c prefaces that never open a stream, and silent ones) within
        max_connections: held, the prober is served meanwhile; past the limit a new connection
        is closed at accept; the server closes the idle ones itself (idle and request timeouts)
        and its descriptors come back."""
        mark = self.prober.mark()
        held = []
        try:
            for i in range(IDLE_CONNS):
                s = h2raw.connect(self.server.addr)
                if i % 2 == 0:
                    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2raw_frame(4, 0, 0, b""))
                held.append(s)
            fds, rss = usage(self.pid)
            print("\n%d idle connections: the server holds %d fds, %d KiB" % (
                len(held), fds, rss), file=sys.stderr)
            self.assertLessEqual(fds, MAX_CONNS + self.rest[0],
                                 "more descriptors than max_connections")
            served, errors = self.prober.served_since(mark)
            self.assertEqual(errors, [])
            self.assertGreaterEqual(served, 1)
            # Past the limit: closed at accept (the idle ones may be timing out meanwhile, so
            # only some of these may find the server full).
            over = [h2raw.connect(self.server.addr) for _ in range(MAX_CONNS - IDLE_CONNS + 50)]
            self.assertLessEqual(usage(self.pid)[0], MAX_CONNS + self.rest[0])
            for s in over:
                s.close()
            # The server ends every idle connection on its own: each reads EOF.
            ended = 0
            for s in held:
                s.settimeout(IDLE_TIMEOUT_MS / 1000 * 4)
                try:
                    while s.recv(65536):
                        pass
                    ended += 1
                except ConnectionResetError:
                    ended += 1
                except socket.timeout:
                    pass
            self.assertEqual(ended, len(held), "idle connections the server kept")
        finally:
            for s in held:
                s.close()
        self.settled()
        mark = self.prober.mark()
        served, errors = self.prober.served_since(mark)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(served, 1)

    # ---- clients gone in the middle of a request ----------------------------------------------

    def abrupt(self, n):
        """n clients each go away at a bad moment: HTTP/1.1 after half the body, after the whole
        request (before the answer), with a TCP reset; HTTP/2 after half the body, and after
        the whole request without RST_STREAM."""
        head, data = attest_request(self.body)
        for i in range(n):
            s = h2raw.connect(self.server.addr)
            kind = i % 5
            if kind == 0:
                s.sendall(head + data[:len(data) // 2])
            elif kind == 1:
                s.sendall(head + data)
            elif kind == 2:
                s.sendall(head + data)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
            else:
                conn = h2raw.h2conn(s)
                conn.send_headers(1, h2raw.req_headers("/v1/attest", "POST") +
                                  [("content-length", str(len(data)))])
                conn.send_data(1, data if kind == 4 else data[:len(data) // 2],
                               end_stream=kind == 4)
                s.sendall(conn.data_to_send())
            s.close()

    def test_abrupt_disconnects(self):
        self.attack(self.abrupt, 100)
        # The server noticed: requests whose client left are logged as 499 (the access log is
        # read by verdict_server.Server into access.log).
        log = os.path.join(self.server.dir, "access.log")
        for _ in range(200):
            with open(log) as f:
                if '"status":499' in f.read():
                    break
            time.sleep(0.05)
        with open(log) as f:
            self.assertIn('"status":499', f.read())


class OutOfDescriptors(unittest.TestCase):
    def test_accept_when_the_process_has_no_descriptor_left(self):
        """The server's own descriptor limit below max_connections (a common misconfiguration):
        connections past it cannot be accepted; when they go, the server accepts again and
        serves, and did not spin or flood its log meanwhile."""
        body = milan_attest_body(VEC)
        with serving(BIN) as s:
            pid = s.proc.pid
            base = usage(pid)[0]
            limit = base + 40
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
            held = []
            for _ in range(80):
                held.append(h2raw.connect(s.addr))
            time.sleep(1)  # let the server meet EMFILE (no assertion on timing)
            log_size = os.path.getsize(s.log)
            cpu0 = cpu_ticks(pid)
            time.sleep(1)
            spun = cpu_ticks(pid) - cpu0
            for h in held:
                h.close()
            for _ in range(200):
                try:
                    r = requests.post(s.url("/v1/attest"), json=body, timeout=5)
                    if r.status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.1)
            self.assertEqual(r.status_code, 200)
            self.assertLess(log_size, 64 * 1024, "the log was flooded at EMFILE")
            print("\nat EMFILE: %d ticks of CPU in 1 s, log %d bytes" % (spun, log_size),
                  file=sys.stderr)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def h2raw_frame(ftype, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + \
        payload


if __name__ == "__main__":
    BIN, VEC = binary_and_vectors(__doc__)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])
