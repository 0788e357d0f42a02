#!/usr/bin/env python3
"""A mock AMD Key Distribution Service for the certificate cache tests (issue #4).

Listens on 127.0.0.1 only, on an ephemeral port it prints as "PORT <n>" on stdout. Serves files
from ROOT: ROOT/routes.json maps a request path, with its query when present
("/vcek/v1/Genoa/abcd?blSPL=1&..."), or the path alone, to a file under ROOT. It is re-read on
every request, so tests can change it while the server runs.

Control (JSON over HTTP, same port):
  POST /_control  {"rules": [{"match": "substring", "mode": M, "times": N, ...}]}
      modes: ok | 404 | 429 (optional "retry_after": "7") | 500 | slow ("delay_ms") |
             hang (never answers until the server stops) | truncate (Content-Length larger
             than the body, then close) | garbage (random bytes) | file ("file": serve this
             file instead: the wrong-certificate case). "times": how many matching requests
             the rule applies to (-1 = all). Rules are tried in order; requests that no rule
             catches are served normally.
  GET /_stats     {"total": n, "paths": {path: n}, "order": [path, ...]}
  POST /_reset    clear rules and counters
Control requests are not counted.

It exits by itself when its parent dies or after --lifetime seconds, so a crashed test cannot
leave it running.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"rules": [], "total": 0, "paths": {}, "order": []}
STOP = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-kds/1"

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def _send(self, code, body=b"", headers=None, length=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, obj):
        body = json.dumps(obj).encode()
        self._send(200, body, {"Content-Type": "application/json"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        data = self.rfile.read(n) if n else b"{}"
        if self.path == "/_control":
            req = json.loads(data or b"{}")
            with LOCK:
                STATE["rules"] = req.get("rules", [])
            self._json({"ok": True})
        elif self.path == "/_reset":
            with LOCK:
                STATE.update(rules=[], total=0, paths={}, order=[])
            self._json({"ok": True})
        else:
            self._send(405)

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                self._json({"total": STATE["total"], "paths": dict(STATE["paths"]),
                            "order": list(STATE["order"])})
            return
        path_only = self.path.split("?", 1)[0]
        rule = None
        with LOCK:
            STATE["total"] += 1
            STATE["paths"][path_only] = STATE["paths"].get(path_only, 0) + 1
            STATE["order"].append(path_only)
            for r in STATE["rules"]:
                if r.get("match", "") in self.path and r.get("times", -1) != 0:
                    if r.get("times", -1) > 0:
                        r["times"] -= 1
                    rule = dict(r)
                    break
        mode = rule["mode"] if rule else "ok"
        if mode == "404":
            return self._send(404, b"Not Found")
        if mode == "429":
            hdr = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else {}
            return self._send(429, b"Too Many Requests", hdr)
        if mode == "500":
            return self._send(500, b"Internal Server Error")
        if mode == "hang":
            STOP.wait(600)
            return
        if mode == "slow":
            time.sleep(rule.get("delay_ms", 500) / 1000.0)
        if mode == "garbage":
            return self._send(200, os.urandom(700))
        body = self._load(rule.get("file") if rule and mode == "file" else None)
        if body is None:
            return self._send(404, b"Not Found")
        if mode == "truncate":
            self._send(200, body[: len(body) // 2], length=len(body))
            self.close_connection = True
            return
        self._send(200, body)

    def _load(self, override):
        root = self.server.root
        if override is None:
            try:
                with open(os.path.join(root, "routes.json")) as f:
                    routes = json.load(f)
            except (OSError, ValueError):
                return None
            override = routes.get(self.path) or routes.get(self.path.split("?", 1)[0])
            if override is None:
                return None
        try:
            with open(os.path.join(root, override), "rb") as f:
                return f.read()
        except OSError:
            return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--lifetime", type=float, default=300.0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.root = args.root
    parent = os.getppid()
    print("PORT %d" % srv.server_address[1], flush=True)

    def watchdog():
        start = time.monotonic()
        while not STOP.is_set():
            if os.getppid() != parent or time.monotonic() - start > args.lifetime:
                STOP.set()
                srv.shutdown()
                return
            time.sleep(0.2)

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        STOP.set()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
