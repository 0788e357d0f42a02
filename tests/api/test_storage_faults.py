#!/usr/bin/python3
"""Storage faults under the real `verdict serve` (issue #10): the SQLite file locked by another
process, read-only, on a full disk, or damaged before start.

What must hold: writes that cannot be made fail with a clear error (503 and the reason), never a
200 for something not stored; /readyz goes false while the audit log cannot be written and comes
back by itself once it can (no appraisal needed to notice); everything acknowledged (a 200 attest
has its audit record, a 2xx policy PUT its version) is in the file afterwards and the file passes
PRAGMA integrity_check; a damaged file at start makes serve exit non-zero with a message naming
it, and the file is left exactly as it was.

Read-only files and a full disk need root (a read-only bind mount, a small tmpfs): without root
those cases are skipped and the script exits 77 (ctest SKIP_RETURN_CODE) if nothing failed.

usage: test_storage_faults.py VERDICT_BINARY VECTORS_DIR
"""
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import Server, admin, binary_and_vectors, milan_attest_body  # noqa: E402

BIN = VEC = None
ROOT = os.geteuid() == 0
COMMIT_TIMEOUT_MS = 1500
CONFIG = "audit:\n  commit_timeout_ms: %d\n" % COMMIT_TIMEOUT_MS
# Holds an exclusive write lock on argv[1] until its standard input closes.
LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def wait_for(pred, rounds=300, pause=0.1):
    """Bounded polling: the last value of pred()."""
    v = pred()
    for _ in range(rounds):
        if v:
            return v
        time.sleep(pause)
        v = pred()
    return v


class Ledger:
    """What the server acknowledged, to find in the file afterwards."""

    def __init__(self, server, body):
        self.s, self.body = server, body
        self.rids, self.policies = [], []

    def attest(self):
        r = self.s.post("/v1/attest", json=self.body)
        if r.status_code == 200:
            self.rids.append(r.headers["x-request-id"])
        return r

    def put(self, name):
        r = self.s.put("/v1/policies/" + name, data="name: %s\n" % name, headers=admin())
        if r.status_code in (200, 201):
            self.policies.append(name)
        return r

    def ready(self):
        return self.s.get("/readyz").status_code == 200

    def check_file(self, test, db):
        con = sqlite3.connect(db)
        try:
            test.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            have = {r[0] for r in con.execute("SELECT request_id FROM audit")}
            lost = [r for r in self.rids if r not in have]
            test.assertEqual(lost, [], "acknowledged appraisals without an audit record")
            names = {r[0] for r in con.execute("SELECT name FROM policy_versions")}
            test.assertEqual([p for p in self.policies if p not in names], [],
                             "acknowledged policy writes lost")
            return names
        finally:
            con.close()


class Busy(unittest.TestCase):
    def test_another_process_holds_the_write_lock(self):
        s = Server(BIN, config=CONFIG).start()
        led = Ledger(s, milan_attest_body(VEC))
        db = os.path.join(s.dir, "verdict.db")
        try:
            self.assertEqual(led.attest().status_code, 200)
            self.assertIn(led.put("before").status_code, (200, 201))
            locker = subprocess.Popen(["/usr/bin/python3", "-c", LOCKER, db],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(locker.stdout.readline().strip(), "locked")
                r = led.attest()
                self.assertEqual(r.status_code, 503, r.text)
                self.assertIn("could not be recorded", r.json()["detail"])
                r = led.put("during")
                self.assertEqual(r.status_code, 503, r.text)
                self.assertIn("locked", r.json()["detail"])
                self.assertTrue(wait_for(lambda: not led.ready()),
                                "/readyz stayed true while the audit log could not be written")
                r = s.get("/readyz")
                self.assertEqual(r.status_code, 503)
                self.assertIn("audit log", r.json()["detail"])
                # Reads go on meanwhile (WAL readers do not need the write lock).
                r = s.get("/v1/policies", headers=admin())
                self.assertEqual(r.status_code, 200, r.text)
                self.assertIn("before", [p["name"] for p in r.json()["policies"]])
            finally:
                locker.stdin.close()
                locker.wait(timeout=30)
            # Ready again by itself, with no appraisal to notice the lock is gone.
            self.assertTrue(wait_for(led.ready), "/readyz did not come back after the lock")
            self.assertEqual(led.attest().status_code, 200)
            self.assertIn(led.put("after").status_code, (200, 201))
        finally:
            self.assertEqual(s.stop(), 0)
        names = led.check_file(self, db)
        self.assertNotIn("during", names, "a write answered 503 was stored")


class ReadOnly(unittest.TestCase):
    def made(self):
        """A server directory with a database holding a policy and an audit record."""
        s = Server(BIN).start()
        led = Ledger(s, milan_attest_body(VEC))
        self.assertEqual(led.attest().status_code, 200)
        self.assertIn(led.put("kept").status_code, (200, 201))
        self.assertEqual(s.stop(), 0)
        return s.dir

    def refused(self, workdir, words, db=None):
        """serve on `workdir` (its database `db`) exits 2 naming the file, which is unchanged."""
        db = db or os.path.join(workdir, "verdict.db")
        before = sha256(db)
        s = Server(BIN, workdir=workdir, extra_args=["--db", db])
        with self.assertRaises(RuntimeError) as ctx:
            s.start()
        s.logf.close()
        msg = str(ctx.exception)
        self.assertIn("exited 2", msg)
        self.assertIn(db, msg)
        self.assertTrue(any(w in msg for w in words), msg)
        self.assertEqual(sha256(db), before)

    def test_read_only_file(self):
        d = self.made()
        db = os.path.join(d, "verdict.db")
        if ROOT:  # root writes through file modes: a read-only bind mount of the file itself
            subprocess.run(["mount", "--bind", db, db], check=True)
            try:
                subprocess.run(["mount", "-o", "remount,bind,ro", db], check=True)
                self.refused(d, ("read-only",))
            finally:
                subprocess.run(["umount", db], check=True)
        else:
            os.chmod(db, 0o444)
            self.refused(d, ("read-only",))

    def test_read_only_directory(self):
        if ROOT:
            mnt = tempfile.mkdtemp(prefix="verdict-ro-")
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt], check=True)
            try:
                db = os.path.join(mnt, "verdict.db")
                s = Server(BIN, extra_args=["--db", db]).start()
                self.assertEqual(s.post("/v1/attest", json=milan_attest_body(VEC)).status_code,
                                 200)
                self.assertEqual(s.stop(), 0)
                subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
                self.refused(s.dir, ("read-only", "not writable"), db)
            finally:
                subprocess.run(["umount", "-l", mnt], check=True)
                os.rmdir(mnt)
        else:
            d = self.made()
            os.chmod(d, 0o555)
            try:
                self.refused(d, ("read-only", "not writable"))
            finally:
                os.chmod(d, 0o755)


class FullDisk(unittest.TestCase):
    def test_full_disk(self):
        if not ROOT:
            self.skipTest("a small tmpfs needs root")
        mnt = tempfile.mkdtemp(prefix="verdict-full-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], check=True)
        try:
            s = Server(BIN, workdir=mnt, config=CONFIG).start()
            led = Ledger(s, milan_attest_body(VEC))
            filler = os.path.join(mnt, "filler")
            try:
                self.assertEqual(led.attest().status_code, 200)
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    for _ in range(10000):
                        os.write(fd, b"\0" * 4096)
                except OSError:
                    pass  # ENOSPC: the disk is full
                finally:
                    os.close(fd)
                for _ in range(2000):  # until the WAL needs a page the disk does not have
                    r = led.attest()
                    if r.status_code != 200:
                        break
                self.assertEqual(r.status_code, 503, r.text)
                self.assertIn("full", r.json()["detail"])
                self.assertTrue(wait_for(lambda: not led.ready()), "/readyz stayed true")
                os.unlink(filler)
                self.assertTrue(wait_for(led.ready), "/readyz did not come back with space")
                self.assertEqual(led.attest().status_code, 200)
                self.assertIn(led.put("after-full").status_code, (200, 201))
            finally:
                if os.path.exists(filler):
                    os.unlink(filler)
                self.assertEqual(s.stop(), 0)
            led.check_file(self, os.path.join(mnt, "verdict.db"))
        finally:
            subprocess.run(["umount", "-l", mnt], check=True)
            os.rmdir(mnt)


class Damaged(unittest.TestCase):
    def test_damaged_database_at_start(self):
        s = Server(BIN).start()
        led = Ledger(s, milan_attest_body(VEC))
        for _ in range(100):  # a file of many pages
            self.assertEqual(led.attest().status_code, 200)
        self.assertIn(led.put("kept").status_code, (200, 201))
        self.assertEqual(s.stop(), 0)
        db = os.path.join(s.dir, "verdict.db")
        with open(db, "rb") as f:
            good = f.read()
        self.assertGreater(len(good), 8 * 4096)
        cases = {
            "garbage": bytes((i * 7919 + 13) % 251 for i in range(len(good))),
            "truncated": good[:len(good) // 2],
            "header kept, pages after it overwritten": good[:4096] + b"\xa5" * (len(good) - 4096),
        }
        for name, data in cases.items():
            with self.subTest(name):
                for leftover in ("verdict.db-wal", "verdict.db-shm"):
                    if os.path.exists(os.path.join(s.dir, leftover)):
                        os.unlink(os.path.join(s.dir, leftover))
                with open(db, "wb") as f:
                    f.write(data)
                s2 = Server(BIN, workdir=s.dir)
                with self.assertRaises(RuntimeError) as ctx:
                    s2.start()
                msg = str(ctx.exception)
                self.assertIn("exited 2", msg)
                self.assertIn(db + " is damaged", msg)
                with open(db, "rb") as f:
                    self.assertTrue(f.read() == data, "the damaged file was changed")
        # The good file back: it starts, everything acknowledged is there.
        with open(db, "wb") as f:
            f.write(good)
        for leftover in ("verdict.db-wal", "verdict.db-shm"):
            if os.path.exists(os.path.join(s.dir, leftover)):
                os.unlink(os.path.join(s.dir, leftover))
        s3 = Server(BIN, workdir=s.dir).start()
        self.assertTrue(wait_for(lambda: s3.get("/readyz").status_code == 200))
        self.assertEqual(s3.stop(), 0)
        led.check_file(self, db)


if __name__ == "__main__":
    BIN, VEC = binary_and_vectors(__doc__)
    prog = unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:], exit=False)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    sys.exit(77 if res.skipped else 0)
