"""Start a real `verdict serve` on loopback for a test, and talk to it.

Used by the API integration tests. The server runs in its own temporary directory (database,
signing key and nonce secret are generated there), listens on 127.0.0.1 with a port the kernel
picks, and is always stopped at the end.
"""
import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests

ADMIN_TOKEN = "test-admin-token-0123456789"
READER_TOKEN = "test-reader-token-9876543210"


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Server:
    def __init__(self, binary, extra_args=(), env=None, workdir=None, config=None):
        self.binary = binary
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="verdict-api-")
        self.extra_args = list(extra_args)
        self.env = dict(os.environ)
        self.env.pop("VERDICT_DB", None)
        self.env.setdefault("VERDICT_ADMIN_TOKEN", ADMIN_TOKEN)
        self.env["VERDICT_OFFLINE"] = "1"
        if env:
            self.env.update(env)
        self.config = config
        self.proc = None
        self.base = None
        self.log = os.path.join(self.dir, "server.log")

    def start(self, timeout=30):
        args = [self.binary, "serve", "--listen", "127.0.0.1:0", "--db",
                os.path.join(self.dir, "verdict.db")]
        if self.config:
            path = os.path.join(self.dir, "verdict.yaml")
            with open(path, "w") as f:
                f.write(self.config)
            args += ["--config", path]
        args += self.extra_args
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                     stderr=self.logf, text=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("verdict serve exited %s; log:\n%s" %
                                       (self.proc.returncode, open(self.log).read()))
                continue
            m = re.search(r"listening on (?:https?://)?(\S+)", line)
            if m:
                addr = m.group(1).rstrip(",")
                scheme = "https" if "--tls-cert" in args else "http"
                self.base = "%s://%s" % (scheme, addr)
                self.addr = addr
                # Keep reading stdout (the access log) so the server never blocks on a full pipe.
                self.drain = threading.Thread(target=self._drain, daemon=True)
                self.drain.start()
                return self
        raise RuntimeError("verdict serve did not say where it listens")

    def _drain(self):
        with open(os.path.join(self.dir, "access.log"), "a") as out:
            for line in self.proc.stdout:
                out.write(line)

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        return requests.get(self.url(path), timeout=30, **kw)

    def post(self, path, **kw):
        return requests.post(self.url(path), timeout=60, **kw)

    def put(self, path, **kw):
        return requests.put(self.url(path), timeout=30, **kw)

    def delete(self, path, **kw):
        return requests.delete(self.url(path), timeout=30, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        if getattr(self, "drain", None) is not None:
            self.drain.join(timeout=10)
        self.proc.stdout.close()
        self.logf.close()
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def admin(token=ADMIN_TOKEN):
    return {"Authorization": "Bearer " + token}


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(unb64url(h)), json.loads(unb64url(p)), unb64url(s), (h + "." + p).encode()


def verify_token(token, jwks):
    """Verify an EAR JWT against a JWKS with python3-cryptography, independently of verdict, as a
    Trustee KBS would: kid found in the JWKS, the JWK carries alg, exp present and in the future."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    header, payload, sig, signed = jwt_parts(token)
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    if len(keys) != 1:
        raise AssertionError("kid %r not in the JWKS" % header.get("kid"))
    jwk = keys[0]
    if "alg" not in jwk or jwk["alg"] != header["alg"]:
        raise AssertionError("the JWK does not carry the token's alg")
    if not isinstance(payload.get("exp"), int) or payload["exp"] <= time.time():
        raise AssertionError("exp missing or passed")
    if not isinstance(payload.get("iat"), int):
        raise AssertionError("iat is not an integer")
    alg = header["alg"]
    if alg in ("ES256", "ES384"):
        curve, h, n = (ec.SECP256R1(), hashes.SHA256(), 32) if alg == "ES256" else \
            (ec.SECP384R1(), hashes.SHA384(), 48)
        if len(sig) != 2 * n:
            raise AssertionError("ECDSA signature is not R||S of %d bytes" % (2 * n))
        x = int.from_bytes(unb64url(jwk["x"]), "big")
        y = int.from_bytes(unb64url(jwk["y"]), "big")
        pub = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        der = encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
        pub.verify(der, signed, ec.ECDSA(h))
    elif alg == "EdDSA":
        pub = ed25519.Ed25519PublicKey.from_public_bytes(unb64url(jwk["x"]))
        pub.verify(sig, signed)
    else:
        raise AssertionError("unexpected alg " + alg)
    return header, payload


def binary_and_vectors(doc):
    """A test script's VERDICT_BINARY and VECTORS_DIR (argv 1 and 2) as absolute paths. Exits 2
    with `doc` when they are missing, 77 (1 under CI) when the vectors are not there."""
    if len(sys.argv) < 3:
        print(doc)
        sys.exit(2)
    binary, vectors = (os.path.abspath(a) for a in sys.argv[1:3])
    if not os.path.isdir(vectors):
        print("vectors not found at %s" % vectors)
        sys.exit(1 if os.environ.get("CI") else 77)
    return binary, vectors


def milan_attest_body(vectors, **extra):
    """A /v1/attest body with a genuine report and its certificates (mstav-tests' Milan report,
    ../shared/vectors/README.md); `extra` adds top-level fields (policy, nonce, ...)."""
    def read(p):
        with open(os.path.join(vectors, p), "rb") as f:
            return f.read()
    certs = ["mstav-tests/milan_vcek.pem", "mstav-tests/milan_ask.pem",
             "amd-roots-mstav/milan_ark.pem"]
    body = {"evidence": {"report": b64(read("mstav-tests/milan_attestation_report.bin")),
                         "certs": [read(c).decode() for c in certs]}}
    body.update(extra)
    return body


def usage(pid):
    """(open file descriptors, resident set in KiB) of a running process, from /proc."""
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return fds, rss


def sanitized(binary):
    """True when `binary` was built with ASan or TSan (their shadow memory and quarantine make
    RSS figures meaningless as a bound)."""
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def stopped_cleanly(server):
    """Stop `server`; it must exit 0 (under a sanitizer, a report makes the exit code non-zero,
    and the report itself is only in the server's log)."""
    log = server.log
    rc = server.stop()
    if rc != 0:
        with open(log, errors="replace") as f:
            raise AssertionError("verdict serve exited %s; log tail:\n%s" % (rc, f.read()[-4000:]))


@contextlib.contextmanager
def serving(*args, **kw):
    """A started Server for a `with` block, which must stop cleanly (exit 0) at its end."""
    s = Server(*args, **kw).start()
    try:
        yield s
    except BaseException:
        s.stop()
        raise
    stopped_cleanly(s)


def script_args(doc, count):
    """The command line of a test script: `count` paths (the verdict binary, the vectors
    directory, ...), then unittest's own arguments. Exits 2 with `doc` when paths are missing, 77
    (skipped) without the vectors, or 1 when CI is set."""
    if len(sys.argv) < count + 1:
        print(doc)
        sys.exit(2)
    paths = [os.path.abspath(a) for a in sys.argv[1:count + 1]]
    if not os.path.isdir(paths[1]):
        print("vectors not found at %s" % paths[1])
        sys.exit(1 if os.environ.get("CI") else 77)
    return paths, sys.argv[count + 1:]
