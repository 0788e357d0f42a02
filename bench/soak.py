#!/usr/bin/python3
"""Soak of `verdict serve` (issue #10): mixed traffic for SOAK_SECONDS against a real server on
loopback, with the server's resident memory (VmRSS) and open descriptors sampled every
SOAK_INTERVAL seconds and printed as a table; at the end, whether they stayed flat. Reported,
never asserted: the exit code is 0 unless the server died or stopped answering.

Traffic, from four threads, each pausing a little between requests so the soak loads the server
without taking a shared machine's every core:
  h1      POST /v1/attest over HTTP/1.1 keep-alive, POST /v1/challenge, GET /readyz
  h2c     POST /v1/attest over h2c, a few streams per connection, a new connection now and then
  admin   GET /v1/policies, /v1/policies/NAME, /metrics, /.well-known/jwks.json; a policy PUT
          every 50 rounds (a new version each time)
  bad     malformed JSON, bad base64, an oversized body, invalid HTTP/2 frames, a client gone in
          the middle of a body, a request to an unknown route

usage: soak.py VERDICT_BINARY VECTORS_DIR     (bench/soak.sh sets them)
"""
import json
import os
import sys
import threading
import time

import requests

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "api"))
sys.path.insert(0, os.path.join(here, "..", "tests", "server"))
import h2.events  # noqa: E402
import h2raw  # noqa: E402
from verdict_server import admin, milan_attest_body, serving, usage  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
INTERVAL = int(os.environ.get("SOAK_INTERVAL", "30"))
PAUSE = float(os.environ.get("SOAK_PAUSE", "0.02"))
POLICY = "name: soak\ndescription: soak version %d\n"


class Load(threading.Thread):
    def __init__(self, name, fn, server, body):
        super().__init__(daemon=True, name=name)
        self.fn, self.server, self.body = fn, server, body
        self.count, self.unexpected = 0, []
        self.halt = threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set():
            i += 1
            try:
                for what, status, want in self.fn(self, i):
                    self.count += 1
                    if status not in want:
                        self.unexpected.append("%s: %s" % (what, status))
            except (OSError, requests.RequestException) as e:
                self.unexpected.append("%s: %r" % (self.name, e))
            except SystemExit:  # h2raw.fail: an exchange that did not finish
                self.unexpected.append("%s: h2 exchange failed" % self.name)
            time.sleep(PAUSE)


def h1(load, i):
    s = load.server
    if not hasattr(load, "session"):
        load.session = requests.Session()
    r = load.session.post(s.url("/v1/attest"), json=load.body, timeout=30)
    yield "h1 attest", r.status_code, (200,)
    if i % 5 == 0:
        r = load.session.post(s.url("/v1/challenge"), timeout=30)
        yield "challenge", r.status_code, (200,)
    if i % 10 == 0:
        r = load.session.get(s.url("/readyz"), timeout=30)
        yield "readyz", r.status_code, (200,)


def h2c(load, i):
    data = json.dumps(load.body).encode()
    sock = h2raw.connect(load.server.addr)
    conn = h2raw.h2conn(sock)
    try:
        for _ in range(20):  # 20 rounds of 4 concurrent streams per connection
            ids = []
            for _ in range(4):
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, h2raw.req_headers("/v1/attest", "POST") +
                                  [("content-length", str(len(data)))])
                conn.send_data(sid, data, end_stream=True)
                ids.append(sid)
            sock.sendall(conn.data_to_send())
            events = h2raw.pump(sock, conn, lambda evs: sum(
                isinstance(e, h2.events.StreamEnded) for e in evs) >= len(ids))
            got = h2raw.responses(events)
            for sid in ids:
                yield "h2c attest", got.get(sid, {}).get(":status"), ("200",)
            time.sleep(PAUSE)
    finally:
        sock.close()


def admin_reads(load, i):
    s = load.server
    if i % 50 == 1:
        r = requests.put(s.url("/v1/policies/soak"), data=POLICY % i, headers=admin(), timeout=30)
        yield "policy put", r.status_code, (200, 201)
    for path in ("/v1/policies", "/v1/policies/soak"):
        r = requests.get(s.url(path), headers=admin(), timeout=30)
        yield "policy read", r.status_code, (200,)
    r = requests.get(s.url("/metrics"), timeout=30)
    yield "metrics", r.status_code, (200,)
    r = requests.get(s.url("/.well-known/jwks.json"), timeout=30)
    yield "jwks", r.status_code, (200,)


def bad(load, i):
    s = load.server
    url = s.url("/v1/attest")
    kind = i % 6
    if kind == 0:
        r = requests.post(url, data=b"{not json", timeout=30)
        yield "bad json", r.status_code, (400,)
    elif kind == 1:
        r = requests.post(url, json={"evidence": {"report": "@@@"}}, timeout=30)
        yield "bad base64", r.status_code, (400,)
    elif kind == 2:
        r = requests.post(url, data=b"x" * (300 * 1024), timeout=30)
        yield "oversized", r.status_code, (413,)
    elif kind == 3:
        sock = h2raw.connect(s.addr)
        h2raw.h2conn(sock)
        sock.sendall(b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x")  # DATA on stream 0
        ended = h2raw.read_all(sock) is not None
        sock.close()
        yield "bad frame", ended, (True,)
    elif kind == 4:
        data = json.dumps(load.body).encode()
        sock = h2raw.connect(s.addr)
        sock.sendall(b"POST /v1/attest HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
                     len(data) + data[:len(data) // 2])
        sock.close()
        yield "gone mid-body", True, (True,)
    else:
        r = requests.get(s.url("/v1/nothing-here"), timeout=30)
        yield "unknown route", r.status_code, (404,)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    binary, vectors = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    body = milan_attest_body(vectors)
    with serving(binary) as s:
        pid = s.proc.pid
        loads = [Load(n, f, s, body) for n, f in
                 (("h1", h1), ("h2c", h2c), ("admin", admin_reads), ("bad", bad))]
        for ld in loads:
            ld.start()
        print("soak of verdict serve (pid %d) for %d s, a sample every %d s" %
              (pid, SECONDS, INTERVAL))
        print("%8s %10s %6s %10s %10s %10s" % ("t (s)", "RSS (KiB)", "fds", "requests",
                                               "req/s", "unexpected"))
        samples = []
        start = time.time()
        last_n, last_t = 0, start
        while True:
            now = time.time()
            n = sum(ld.count for ld in loads)
            bad_n = sum(len(ld.unexpected) for ld in loads)
            if s.proc.poll() is not None:
                print("the server exited (%s)" % s.proc.returncode)
                sys.exit(1)
            fds, rss = usage(pid)
            samples.append((now - start, rss, fds))
            print("%8.0f %10d %6d %10d %10.0f %10d" % (now - start, rss, fds, n,
                                                       (n - last_n) / max(now - last_t, 1e-9),
                                                       bad_n), flush=True)
            last_n, last_t = n, now
            if now - start >= SECONDS:
                break
            time.sleep(min(INTERVAL, max(0.0, start + SECONDS - now)))
        for ld in loads:
            ld.halt.set()
        for ld in loads:
            ld.join(timeout=60)
        report(samples, loads)


def report(samples, loads):
    """Flat: after the first tenth (warm-up: caches, SQLite's page cache, malloc arenas), RSS
    within 10% of its value then and the descriptor count within 4 of it."""
    warm = [x for x in samples if x[0] >= samples[-1][0] / 10] or samples
    rss0, fds0 = warm[0][1], warm[0][2]
    rss_max = max(x[1] for x in warm)
    fds_lo, fds_hi = min(x[2] for x in warm), max(x[2] for x in warm)
    growth = samples[-1][1] - rss0
    print("after warm-up (t = %.0f s): RSS %d -> %d KiB (max %d, %+d KiB, %+.1f%%), "
          "fds %d..%d" % (warm[0][0], rss0, samples[-1][1], rss_max, growth,
                          100.0 * growth / rss0, fds_lo, fds_hi))
    flat_rss = rss_max <= rss0 * 1.10
    flat_fds = fds_hi - fds0 <= 4
    print("RSS %s; open descriptors %s" % ("flat" if flat_rss else "NOT flat",
                                          "flat" if flat_fds else "NOT flat"))
    for ld in loads:
        kinds = {}
        for u in ld.unexpected:
            kinds[u] = kinds.get(u, 0) + 1
        print("  %-6s %8d requests, %d unexpected%s" % (
            ld.name, ld.count, len(ld.unexpected),
            (": " + ", ".join("%s x%d" % kv for kv in sorted(kinds.items())[:5]))
            if kinds else ""))


if __name__ == "__main__":
    main()
