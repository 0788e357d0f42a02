#!/usr/bin/python3
"""kill -9 of `verdict serve` under load, repeatedly (issue #10).

Each round starts the server on the same directory, runs load (three clients posting /v1/attest
with a genuine report, one writing policies with the admin token, each a new name), and kills
the server with SIGKILL at a random moment. Then, before the next start: the file passes
PRAGMA integrity_check, every appraisal answered 200 has its audit record (matched by the
answer's X-Request-Id), and every policy write answered 2xx is stored. The next start must work
and serve; at the end the server itself lists every acknowledged policy.

KILL9_ROUNDS (default 5) and KILL9_SEED (default: random, printed) make a run repeatable.

usage: test_kill9.py VERDICT_BINARY VECTORS_DIR
"""
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import Server, admin, binary_and_vectors, milan_attest_body  # noqa: E402

BIN = VEC = None
ROUNDS = int(os.environ.get("KILL9_ROUNDS", "5"))


class Acked:
    """What the server acknowledged, across rounds (appended from the client threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rids, self.policies = [], []
        self.answered = self.failed = 0


def attester(server, body, acked, halt):
    session = requests.Session()
    while not halt.is_set():
        try:
            r = session.post(server.url("/v1/attest"), json=body, timeout=30)
        except requests.RequestException:
            return  # killed
        with acked.lock:
            acked.answered += 1
            if r.status_code == 200:
                acked.rids.append(r.headers["x-request-id"])
            else:
                acked.failed += 1


def policy_writer(server, tag, acked, halt):
    i = 0
    while not halt.is_set():
        i += 1
        name = "k9-%s-%d" % (tag, i)
        try:
            r = requests.put(server.url("/v1/policies/" + name), data="name: %s\n" % name,
                             headers=admin(), timeout=30)
        except requests.RequestException:
            return
        with acked.lock:
            acked.answered += 1
            if r.status_code in (200, 201):
                acked.policies.append(name)
            else:
                acked.failed += 1


def ready(server):
    """/readyz's status once the workers have started (bounded wait)."""
    for _ in range(100):
        r = server.get("/readyz")
        if r.status_code == 200:
            break
        time.sleep(0.05)
    return r.status_code


class Kill9(unittest.TestCase):
    def check_file(self, db, acked):
        con = sqlite3.connect(db)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            have = {r[0] for r in con.execute("SELECT request_id FROM audit")}
            names = {r[0] for r in con.execute("SELECT name FROM policy_versions")}
        finally:
            con.close()
        lost = [r for r in acked.rids if r not in have]
        self.assertEqual(lost, [], "%d acknowledged appraisals without an audit record" % len(lost))
        lost = [p for p in acked.policies if p not in names]
        self.assertEqual(lost, [], "acknowledged policy writes lost")

    def test_kill9_under_load_repeatedly(self):
        seed = int(os.environ.get("KILL9_SEED", str(random.randrange(1 << 30))))
        rnd = random.Random(seed)
        print("\nKILL9_SEED=%d, %d rounds" % (seed, ROUNDS), file=sys.stderr)
        body = milan_attest_body(VEC)
        acked = Acked()
        workdir = None
        for rnd_i in range(ROUNDS):
            s = Server(BIN, workdir=workdir).start()
            workdir = s.dir
            db = os.path.join(workdir, "verdict.db")
            self.assertEqual(ready(s), 200, "round %d: not ready after restart" % rnd_i)
            halt = threading.Event()
            threads = [threading.Thread(target=attester, args=(s, body, acked, halt))
                       for _ in range(3)]
            threads.append(threading.Thread(target=policy_writer,
                                            args=(s, str(rnd_i), acked, halt)))
            for t in threads:
                t.start()
            before = acked.answered
            delay = rnd.uniform(0.2, 1.5)
            time.sleep(delay)
            s.proc.send_signal(signal.SIGKILL)
            halt.set()
            for t in threads:
                t.join(timeout=60)
            self.assertEqual(s.stop(), -signal.SIGKILL)
            print("round %d: killed after %.2f s, %d answers in the round" %
                  (rnd_i, delay, acked.answered - before), file=sys.stderr)
            self.assertGreater(acked.answered, before, "no load reached the server")
            self.check_file(db, acked)
        # One last start: it serves and knows every acknowledged policy.
        s = Server(BIN, workdir=workdir).start()
        try:
            self.assertEqual(ready(s), 200)
            self.assertEqual(s.post("/v1/attest", json=body).status_code, 200)
            listed = {p["name"] for p in s.get("/v1/policies", headers=admin()).json()["policies"]}
            self.assertEqual([p for p in acked.policies if p not in listed], [])
        finally:
            self.assertEqual(s.stop(), 0)
        print("in all: %d appraisals and %d policy writes acknowledged, %d other answers" %
              (len(acked.rids), len(acked.policies), acked.failed), file=sys.stderr)
        self.assertEqual(acked.failed, 0, "answers other than success under load")


if __name__ == "__main__":
    BIN, VEC = binary_and_vectors(__doc__)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])
