#!/usr/bin/python3
"""The API reference (docs/openapi.yaml) against the real server (issue #11).

1. The documented paths and methods are the server's route table (printed by routes_dump from
   vd_routes_all), both ways, with the same access level (x-verdict-access and `security`).
2. A real `verdict serve` on loopback is driven through every endpoint, with successes and the
   usual errors; every real answer must have a documented status code for its operation, a
   documented content type, the documented required headers, and a body that validates against
   the documented schema (JSON Schema 2020-12, python3-jsonschema, $refs resolved in the
   document). At the end every documented operation must have been answered at least once with
   a 2xx or 3xx.

usage: test_openapi.py VERDICT_BINARY ROUTES_DUMP OPENAPI_YAML VECTORS_DIR
"""
import base64
import json
import os
import subprocess
import sys
import unittest

import requests

try:
    import jsonschema
    import yaml
except ImportError as e:  # scripts/deps.sh installs both
    print("skipping: %s" % e)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verdict_server import READER_TOKEN, admin, b64, b64url, serving  # noqa: E402

BIN = DUMP = SPEC = VEC = None
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SESSION = "application/vnd.veraison.challenge-response-session+json"
TSM_JSON = "application/vnd.veraison.tsm-report+json"
TSM_CBOR = "application/vnd.veraison.tsm-report+cbor"
VTPM = "application/vnd.verdict.azure-vtpm+json"
SECURITY = {"open": [], "evidence": [{}, {"bearer": []}], "read": [{"bearer": []}],
            "admin": [{"bearer": []}]}
MILAN = ("mstav-tests/milan_attestation_report.bin",
         ["mstav-tests/milan_vcek.pem", "mstav-tests/milan_ask.pem",
          "amd-roots-mstav/milan_ark.pem"])
TURIN = ("mstav-tests/turin_attestation_report.bin",
         ["mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
          "amd-roots-mstav/turin_ark.pem"])


def read(path):
    with open(os.path.join(VEC, path), "rb") as f:
        return f.read()


def attest_body(report_certs, tamper=False, **extra):
    path, certs = report_certs
    raw = bytearray(read(path))
    if tamper:
        raw[0x90] ^= 1  # the measurement: the signature no longer verifies
    body = {"evidence": {"report": b64(bytes(raw)), "certs": [read(c).decode() for c in certs]}}
    body.update(extra)
    return body


def reader():
    return {"Authorization": "Bearer " + READER_TOKEN}


class Spec:
    """docs/openapi.yaml, and checks of real answers against it."""

    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.seen = set()  # (METHOD, path) answered with 2xx/3xx
        self.answered = set()  # (METHOD, path, status) of every checked answer

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            obj = self.resolver.resolve(obj["$ref"])[1]
        return obj

    def validate(self, instance, schema, where):
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            raise AssertionError("%s: %s at %s (%d errors); instance: %s" % (
                where, e.message[:300], "/".join(map(str, e.absolute_path)), len(errors),
                json.dumps(instance)[:600]))

    def operations(self):
        for path, item in self.doc["paths"].items():
            for m in METHODS:
                if m in item:
                    yield m.upper(), path, item[m]

    def response(self, method, route, status):
        if route is None:  # no operation: 404 or 405 for any path
            name = {404: "NotFound", 405: "MethodNotAllowed"}.get(status)
            if name is None:
                raise AssertionError("status %d on an unrouted request" % status)
            return self.doc["components"]["responses"][name]
        op = self.doc["paths"][route]["get" if method == "HEAD" else method.lower()]
        responses = op["responses"]
        if str(status) not in responses:
            raise AssertionError("%s %s answered %d, which is not documented (%s)" % (
                method, route, status, ", ".join(sorted(responses))))
        return self.deref(responses[str(status)])

    def check_request(self, req, method, route, where):
        """A request the server accepted must fit the documented request body, so the request
        schemas are not stricter than the server."""
        body = self.doc["paths"][route]["get" if method == "HEAD" else method.lower()] \
            .get("requestBody")
        if not req.body:
            if body is not None and body.get("required"):
                raise AssertionError("%s: accepted without the required body" % where)
            return
        if body is None:
            raise AssertionError("%s: accepted a body where none is documented" % where)
        content = body["content"]
        ctype = req.headers.get("content-type")
        if ctype is None:  # none sent: JSON routes take it as JSON, the others ignore it
            ctype = "application/json" if "application/json" in content else next(iter(content))
        ctype = ctype.split(";")[0].strip()
        if ctype not in content:
            raise AssertionError("%s: accepted a %s body; documented: %s" % (
                where, ctype, ", ".join(content)))
        if ctype.endswith("json"):
            self.validate(json.loads(req.body), content[ctype].get("schema", {}),
                          where + " (request)")

    def check(self, r, method, route, expect=None):
        """Check one real answer `r` to `method` on the documented `route` (a template)."""
        where = "%s %s -> %d" % (method, route or r.request.path_url, r.status_code)
        if expect is not None and r.status_code != expect:
            raise AssertionError("%s: expected %d; body: %s" % (where, expect, r.text[:500]))
        resp = self.response(method, route, r.status_code)
        if route is not None and 200 <= r.status_code < 300:
            self.check_request(r.request, method, route, where)
        self.answered.add(("GET" if method == "HEAD" else method, route, str(r.status_code)))
        for name, h in (resp.get("headers") or {}).items():
            h = self.deref(h)
            value = r.headers.get(name)
            if value is None:
                if h.get("required"):
                    raise AssertionError("%s: header %s missing" % (where, name))
                continue
            schema = h.get("schema", {})
            if self.deref(schema).get("type") == "integer":
                value = int(value)
            self.validate(value, schema, where + " header " + name)
        content = resp.get("content")
        ctype = r.headers.get("content-type")
        if method == "HEAD" or not content:
            if not content and r.content:
                raise AssertionError("%s: a body where none is documented: %r" % (
                    where, r.content[:200]))
            if route is not None and 200 <= r.status_code < 400:
                self.seen.add((method if method != "HEAD" else "GET", route))
            return None
        if ctype not in content:
            raise AssertionError("%s: content type %r, documented: %s" % (
                where, ctype, ", ".join(content)))
        schema = content[ctype].get("schema", {})
        base = ctype.split(";")[0]
        if base.endswith("json"):
            body = json.loads(r.content)
        else:
            body = r.content.decode("utf-8")
        self.validate(body, schema, where)
        if route is not None and 200 <= r.status_code < 400:
            self.seen.add((method, route))
        return body


class RouteTable(unittest.TestCase):
    """The documented operations are the routed ones, both ways, with the same access."""

    def test_paths_and_methods_both_ways(self):
        spec = Spec(SPEC)
        out = subprocess.run([DUMP], check=True, capture_output=True, text=True).stdout
        routed = {}
        for line in out.splitlines():
            method, pattern, access, _ = line.split()
            routed[(method, pattern)] = access
        self.assertGreater(len(routed), 20)
        documented = {(m, p): op for m, p, op in spec.operations()}
        self.assertEqual(sorted(set(routed) - set(documented)), [],
                         "routes the server serves but docs/openapi.yaml does not describe")
        self.assertEqual(sorted(set(documented) - set(routed)), [],
                         "operations docs/openapi.yaml describes but no route serves")
        for key, access in routed.items():
            with self.subTest(route=key):
                op = documented[key]
                self.assertEqual(op.get("x-verdict-access"), access)
                self.assertEqual(op.get("security"), SECURITY[access])
                codes = set(op["responses"])
                if access in ("evidence", "read", "admin"):
                    self.assertIn("401", codes)
                if access == "admin":
                    self.assertIn("403", codes)
                else:
                    self.assertNotIn("403", codes)

    def test_document_is_well_formed(self):
        spec = Spec(SPEC)
        self.assertTrue(spec.doc["openapi"].startswith("3.1"))
        for name, schema in spec.doc["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)

        def refs(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "$ref":
                        yield v
                    else:
                        yield from refs(v)
            elif isinstance(o, list):
                for v in o:
                    yield from refs(v)
        # A YAML slip in a flow mapping ({description: a, b}) makes a member "b" with no
        # value; the document never means null as a member value.
        def nulls(o, path):
            if isinstance(o, dict):
                for k, v in o.items():
                    if v is None:
                        yield path + "/" + str(k)
                    yield from nulls(v, path + "/" + str(k))
            elif isinstance(o, list):
                for i, v in enumerate(o):
                    yield from nulls(v, "%s/%d" % (path, i))
        self.assertEqual(list(nulls(spec.doc, "")), [])
        for ref in set(refs(spec.doc)):
            with self.subTest(ref=ref):
                spec.resolver.resolve(ref)  # raises when it points nowhere
        # The validator is not vacuous: a wrong body fails against a $ref'd schema.
        problem = {"$ref": "#/components/schemas/Problem"}
        good = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x"}
        spec.validate(good, problem, "control")
        for bad in (dict(good, extra=1), {k: v for k, v in good.items() if k != "detail"},
                    dict(good, status="404")):
            with self.assertRaises(AssertionError):
                spec.validate(bad, problem, "control")


class Endpoints(unittest.TestCase):
    """Every endpoint of a real server, each answer checked against the document."""

    @classmethod
    def setUpClass(cls):
        cls.spec = Spec(SPEC)

    def run_main_server(self, s):
        spec = self.spec
        c = spec.check

        # Operations.
        c(s.get("/healthz"), "GET", "/healthz", 200)
        c(s.get("/readyz"), "GET", "/readyz", 200)
        c(s.get("/metrics"), "GET", "/metrics", 200)
        r = s.get("/healthz", headers={"x-request-id": "openapi-1"})
        self.assertEqual(r.headers.get("x-request-id"), "openapi-1")
        c(requests.head(s.url("/healthz"), timeout=30), "HEAD", "/healthz", 200)

        # Routing: unknown path, wrong method.
        c(s.get("/nope"), "GET", None, 404)
        c(s.get("/v1/attest"), "GET", None, 405)
        c(s.delete("/v1/certs", headers=admin()), "DELETE", None, 405)

        # Keys.
        c(s.get("/.well-known/jwks.json"), "GET", "/.well-known/jwks.json", 200)
        c(s.get("/.well-known/openid-configuration"), "GET",
          "/.well-known/openid-configuration", 200)
        c(s.get("/.well-known/veraison/verification"), "GET",
          "/.well-known/veraison/verification", 200)
        rot = "/v1/keys/rotate"
        c(s.post(rot), "POST", rot, 401)
        c(s.post(rot, headers=reader()), "POST", rot, 403)
        c(s.post(rot, json={"alg": "RS256"}, headers=admin()), "POST", rot, 400)
        c(s.post(rot, data=b"{}", headers=dict(admin(), **{"content-type": "text/plain"})),
          "POST", rot, 415)
        c(s.post(rot, headers=admin()), "POST", rot, 200)
        c(s.post(rot, json={"alg": "EdDSA"}, headers=admin()), "POST", rot, 200)
        jwks = c(s.get("/.well-known/jwks.json"), "GET", "/.well-known/jwks.json", 200)
        self.assertGreaterEqual(len(jwks["keys"]), 3)
        c(s.get("/.well-known/openid-configuration"), "GET",
          "/.well-known/openid-configuration", 200)
        c(s.post(rot, json={"alg": "ES384"}, headers=admin()), "POST", rot, 200)
        c(s.get("/.well-known/veraison/verification"), "GET",
          "/.well-known/veraison/verification", 200)

        # Evidence: /v1/attest, /v1/challenge.
        at = "/v1/attest"
        c(s.post(at, json=attest_body(MILAN)), "POST", at, 200)
        raw = read(TURIN[0])
        b = c(s.post(at, json=attest_body(TURIN, nonce=b64(raw[0x50:0x90]))), "POST", at, 200)
        self.assertIsNone(b["appraisal"]["policy"])
        c(s.post(at, json=attest_body(MILAN, tamper=True)), "POST", at, 200)
        c(s.post(at, json={"evidence": {"report": b64(b"\0" * 100)}}), "POST", at, 200)
        c(s.post(at, json={"tsm": json.loads(read("veraison-tsm/sevsnp-tsm-report.json"))}),
          "POST", at, 200)
        c(s.post(at, json={"evidence": {"report": b64(read(MILAN[0]))}}), "POST", at, 200)
        vt = {"evidence": {"azure_vtpm": json.loads(read("azure-vtpm/evidence-v2.json")),
                           "certs": [read("amd-roots-trustee/milan_ask_ark_asvk.pem").decode()]}}
        b = c(s.post(at, json=vt), "POST", at, 200)
        self.assertIn("vtpm", b["genuine"])
        c(s.post(at, json=attest_body(MILAN, policy="no-such-policy")), "POST", at, 404)
        c(s.post(at, data=b"{not json", headers={"content-type": "application/json"}),
          "POST", at, 400)
        c(s.post(at, json=[1]), "POST", at, 400)
        c(s.post(at, json={"evidence": {"report": "AAAA"}, "nonse": "AAAA"}), "POST", at, 400)
        c(s.post(at, json={"nonce": "AAAA"}), "POST", at, 400)
        c(s.post(at, json={"evidence": {"report": "AAAA"}, "challenge": "forged"}), "POST", at,
          400)
        c(s.post(at, data=b"{}", headers={"content-type": "text/plain"}), "POST", at, 415)
        c(s.post(at, data=b"{" + b" " * (300 * 1024) + b"}",
                 headers={"content-type": "application/json"}), "POST", at, 413)
        ch = "/v1/challenge"
        nonce = c(s.post(ch), "POST", ch, 200)["nonce"]
        c(s.post(ch, json={}), "POST", ch, 200)
        c(s.post(ch, json={"ttl": 5}), "POST", ch, 400)
        c(s.post(ch, data=b"{}", headers={"content-type": "text/plain"}), "POST", ch, 415)
        # A challenge the Milan report does not bind: a signed, not affirming result.
        b = c(s.post(at, json=attest_body(MILAN, challenge=nonce)), "POST", at, 200)
        self.assertNotEqual(b["status"], "affirming")
        c(s.post(at, json=attest_body(MILAN, challenge=nonce)), "POST", at, 400)  # used

        # Veraison challenge-response.
        ns = "/challenge-response/v1/newSession"
        sp = "/challenge-response/v1/session/{id}"
        rd = read("veraison-tsm/derived/outblob_report.bin")[0x50:0x90]
        r = s.post(ns + "?nonce=" + b64url(rd), headers={"accept": SESSION})
        c(r, "POST", ns, 201)
        path = "/challenge-response/v1/" + r.headers["location"]
        c(s.get(path), "GET", sp, 200)
        c(s.post(path, data=b"{}", headers={"content-type": "application/json"}), "POST", sp,
          415)
        c(s.post(path, data=read("veraison-tsm/sevsnp-tsm-report.json"),
                 headers={"content-type": TSM_JSON, "accept": SESSION}), "POST", sp, 200)
        c(s.get(path), "GET", sp, 200)
        c(s.post(path, data=read("veraison-tsm/sevsnp-tsm-report.json"),
                 headers={"content-type": TSM_JSON}), "POST", sp, 409)
        c(s.delete(path), "DELETE", sp, 204)
        c(s.get(path), "GET", sp, 404)
        c(s.delete(path), "DELETE", sp, 404)
        r = s.post(ns + "?nonceSize=48")
        c(r, "POST", ns, 201)
        path = "/challenge-response/v1/" + r.headers["location"]
        c(s.post(path, data=read("veraison-tsm/sevsnp-tsm-report.cbor"),
                 headers={"content-type": TSM_CBOR}), "POST", sp, 200)
        r = s.post(ns)
        c(r, "POST", ns, 201)
        path = "/challenge-response/v1/" + r.headers["location"]
        c(s.post(path, data=b"{\"outblob\": 5}", headers={"content-type": TSM_JSON}), "POST", sp,
          400)
        c(s.get(path), "GET", sp, 200)  # failed, with the evidence
        c(s.post(ns + "?nonce=AAAA&nonceSize=32"), "POST", ns, 400)
        c(s.post(ns + "?nonceSize=4"), "POST", ns, 400)
        c(s.post(ns, headers={"accept": "text/html"}), "POST", ns, 406)
        c(s.get(sp.replace("{id}", "nope")), "GET", sp, 404)
        c(s.post(sp.replace("{id}", "nope"), data=b"{}", headers={"content-type": TSM_JSON}),
          "POST", sp, 404)

        # Certificates (the vTPM session below needs the Trustee chain in the cache).
        ce = "/v1/certs"
        c(s.get(ce), "GET", ce, 401)
        c(s.post(ce, data=b"x"), "POST", ce, 401)
        c(s.post(ce, data=b"x", headers=reader()), "POST", ce, 403)
        c(s.post(ce, data=read("amd-roots-trustee/milan_ask_ark_asvk.pem"), headers=admin()),
          "POST", ce, 200)
        c(s.post(ce, data=b"-----BEGIN CERTIFICATE-----\nnope\n", headers=admin()), "POST", ce,
          400)
        c(s.post(ce, data=self_signed_pem(), headers=admin()), "POST", ce, 422)
        c(s.get(ce, headers=reader()), "GET", ce, 200)

        r = s.post(ns + "?nonce=" + b64url(bytes.fromhex("6368616c6c656e6765")))
        c(r, "POST", ns, 201)
        path = "/challenge-response/v1/" + r.headers["location"]
        b = c(s.post(path, data=read("azure-vtpm/evidence-v0.json"),
                     headers={"content-type": VTPM}), "POST", sp, 200)
        self.assertEqual(b["status"], "complete")
        r = s.post(ns)
        path = "/challenge-response/v1/" + r.headers["location"]
        c(s.post(path, data=b"{\"outblob\": \"AAAA\"}", headers={"content-type": VTPM}), "POST",
          sp, 400)

        # Policies.
        self.run_policies(s, c)

        # The generic refusals, on every operation that documents them: a body over the limit
        # (the transport's 413, after routing and authentication), a JSON body sent as another
        # type (415), an Accept that excludes the Veraison session type (406).
        big = b"{" + b" " * (300 * 1024) + b"}"
        for method, route, op in spec.operations():
            url = route.replace("{name}", "x").replace("{id}", "nope")
            codes = op["responses"]
            with self.subTest(method=method, route=route):
                if "413" in codes:
                    r = requests.request(method, s.url(url), data=big, timeout=60,
                                         headers=dict(admin(), **{"content-type": TSM_JSON}))
                    c(r, method, route, 413)
                if "415" in codes:
                    r = requests.request(method, s.url(url), data=b"{}", timeout=60,
                                         headers=dict(admin(), **{"content-type": "text/plain"}))
                    c(r, method, route, 415)
                if "406" in codes:
                    r = requests.request(method, s.url(url), timeout=60,
                                         headers={"accept": "text/html"})
                    c(r, method, route, 406)

        # The playground.
        c(s.get("/", allow_redirects=False), "GET", "/", 302)
        c(s.get("/ui", allow_redirects=False), "GET", "/ui", 302)
        c(s.get("/ui/"), "GET", "/ui/", 200)
        for f in ("index.html", "app.js", "style.css"):
            c(s.get("/ui/" + f), "GET", "/ui/{file}", 200)
        c(s.get("/ui/nope.js"), "GET", "/ui/{file}", 404)
        c(s.get("/ui/verdict"), "GET", "/ui/{file}", 404)

    def run_policies(self, s, c):
        raw = read(TURIN[0])
        pol = "name: openapi\ndescription: from the OpenAPI test\nsnp:\n  freshness: raw\n" \
              "  measurements:\n    - value: \"%s\"\n" % raw[0x90:0xC0].hex()
        one = "/v1/policies/{name}"
        url = "/v1/policies/openapi"
        c(s.get("/v1/policies"), "GET", "/v1/policies", 401)
        c(s.get("/v1/policies", headers={"authorization": "Bearer wrong"}), "GET",
          "/v1/policies", 401)
        c(s.put(url, data=pol), "PUT", one, 401)
        c(s.put(url, data=pol, headers=reader()), "PUT", one, 403)
        c(s.put(url, data="name: other\n", headers=admin()), "PUT", one, 400)
        p = c(s.put(url, data="name: openapi\nbogus: 1\n", headers=admin()), "PUT", one, 400)
        self.assertIn("line", p)
        c(s.put(url, data=pol, headers=admin()), "PUT", one, 201)
        c(s.put(url, data=pol, headers=admin()), "PUT", one, 200)
        c(s.put(url, data=pol.replace("OpenAPI test", "OpenAPI test, v2"), headers=admin()),
          "PUT", one, 201)
        c(s.get("/v1/policies", headers=reader()), "GET", "/v1/policies", 200)
        c(s.get(url, headers=reader()), "GET", one, 200)
        c(s.get("/v1/policies/missing", headers=reader()), "GET", one, 404)
        c(s.get(url), "GET", one, 401)
        c(s.get("/v1/policies/bad%20name", headers=reader()), "GET", one, 404)
        ver = "/v1/policies/{name}/versions"
        c(s.get(url + "/versions"), "GET", ver, 401)
        c(s.get(url + "/versions", headers=reader()), "GET", ver, 200)
        c(s.get("/v1/policies/missing/versions", headers=reader()), "GET", ver, 404)
        act = "/v1/policies/{name}/activate"
        c(s.post(url + "/activate", json={"version": 1}), "POST", act, 401)
        c(s.post(url + "/activate", json={"version": 1}, headers=reader()), "POST", act, 403)
        c(s.post(url + "/activate", json={"version": 0}, headers=admin()), "POST", act, 400)
        c(s.post(url + "/activate", json={"version": 9}, headers=admin()), "POST", act, 404)
        c(s.post(url + "/activate", json={"version": 1}, headers=admin()), "POST", act, 200)
        at = "/v1/attest"
        b = c(s.post(at, json=attest_body(TURIN, policy="openapi", nonce=b64(raw[0x50:0x90]))),
              "POST", at, 200)
        self.assertTrue(b["policy_applied"])
        self.assertEqual(b["appraisal"]["policy"], "openapi")
        te = "/v1/policies/{name}/test"
        body = attest_body(TURIN, nonce=b64(raw[0x50:0x90]))
        c(s.post(url + "/test", json=body), "POST", te, 401)
        c(s.post(url + "/test", json=body, headers=reader()), "POST", te, 200)
        c(s.post(url + "/test", json=dict(body, policy="x"), headers=reader()), "POST", te, 400)
        c(s.post("/v1/policies/missing/test", json=body, headers=reader()), "POST", te, 404)
        ut = "/v1/policies:test"
        c(s.post(ut, json=dict(body, policy=pol), headers=reader()), "POST", ut, 200)
        c(s.post(ut, json=dict(body, policy=pol.replace(raw[0x90:0xC0].hex(), "11" * 48)),
                 headers=reader()), "POST", ut, 200)
        p = c(s.post(ut, json=dict(body, policy="name: x\n  bad: ["), headers=reader()), "POST",
              ut, 400)
        self.assertIn("line", p)
        c(s.post(ut, json=body, headers=reader()), "POST", ut, 400)
        c(s.post(ut, json=dict(body, policy=pol)), "POST", ut, 401)
        va = "/v1/policies:validate"
        c(s.post(va, json={"policy": pol}, headers=reader()), "POST", va, 200)
        p = c(s.post(va, json={"policy": "name: x\nsnp: {vmpl: nine}\n"}, headers=reader()),
              "POST", va, 400)
        self.assertIn("line", p)
        c(s.post(va, json={"yaml": pol}, headers=reader()), "POST", va, 400)
        c(s.post(va, data=pol, headers=dict(reader(), **{"content-type": "application/yaml"})),
          "POST", va, 415)
        c(s.post(va, json={"policy": pol}), "POST", va, 401)
        it = "/v1/policies:init"
        b = c(s.post(it, json=dict(attest_body(TURIN), name="drafted", label="the image"),
                     headers=reader()), "POST", it, 200)
        self.assertIn("drafted", b["policy"])
        c(s.post(it, json=dict(attest_body(MILAN, tamper=True), name="drafted"),
                 headers=reader()), "POST", it, 422)
        c(s.post(it, json=attest_body(TURIN), headers=reader()), "POST", it, 400)
        c(s.post(it, json=dict(attest_body(TURIN), name="d", policy="openapi"),
                 headers=reader()), "POST", it, 400)
        c(s.post(it, json=dict(attest_body(TURIN), name="d")), "POST", it, 401)
        c(s.delete(url), "DELETE", one, 401)
        c(s.delete(url, headers=reader()), "DELETE", one, 403)
        c(s.delete(url, headers=admin()), "DELETE", one, 204)
        c(s.delete(url, headers=admin()), "DELETE", one, 404)
        c(s.post(at, json=attest_body(TURIN, policy="openapi")), "POST", at, 404)

    def run_restricted_server(self, s):
        """No admin token, evidence needs a token, policy reads open, the playground off."""
        c = self.spec.check
        c(s.get("/v1/policies"), "GET", "/v1/policies", 200)
        c(s.post("/v1/policies:validate", json={"policy": "name: open\n"}), "POST",
          "/v1/policies:validate", 200)
        c(s.post("/v1/attest", json=attest_body(MILAN)), "POST", "/v1/attest", 401)
        c(s.post("/v1/attest", json=attest_body(MILAN), headers=reader()), "POST", "/v1/attest",
          200)
        c(s.post("/v1/challenge"), "POST", "/v1/challenge", 401)
        ns = "/challenge-response/v1/newSession"
        c(s.post(ns), "POST", ns, 401)
        r = s.post(ns, headers=reader())
        c(r, "POST", ns, 201)
        sp = "/challenge-response/v1/session/{id}"
        path = "/challenge-response/v1/" + r.headers["location"]
        c(s.get(path), "GET", sp, 401)
        c(s.post(path, data=b"{}", headers={"content-type": TSM_JSON}), "POST", sp, 401)
        c(s.delete(path), "DELETE", sp, 401)
        c(s.delete(path, headers=reader()), "DELETE", sp, 204)
        for method, url, route in (("PUT", "/v1/policies/x", "/v1/policies/{name}"),
                                   ("DELETE", "/v1/policies/x", "/v1/policies/{name}"),
                                   ("POST", "/v1/policies/x/activate",
                                    "/v1/policies/{name}/activate"),
                                   ("POST", "/v1/certs", "/v1/certs"),
                                   ("POST", "/v1/keys/rotate", "/v1/keys/rotate")):
            r = requests.request(method, s.url(url), headers=reader(), timeout=30)
            c(r, method, route, 403)
        for path in ("/", "/ui"):
            c(s.get(path, allow_redirects=False), "GET", path, 404)
        c(s.get("/ui/"), "GET", "/ui/", 404)
        c(s.get("/ui/app.js"), "GET", "/ui/{file}", 404)

    def test_every_endpoint(self):
        env = {"VERDICT_READER_TOKEN": READER_TOKEN}
        with serving(BIN, env=env) as s:
            self.run_main_server(s)
        env = {"VERDICT_READER_TOKEN": READER_TOKEN, "VERDICT_ADMIN_TOKEN": "",
               "VERDICT_EVIDENCE_TOKEN_REQUIRED": "1", "VERDICT_OPEN_POLICY_READS": "1",
               "VERDICT_UI": "0"}
        with serving(BIN, env=env) as s:
            self.run_restricted_server(s)
        missing = sorted((m, p) for m, p, _ in self.spec.operations()
                         if (m, p) not in self.spec.seen)
        self.assertEqual(missing, [], "documented operations never answered with 2xx/3xx")
        # Figures, not assertions: which documented answers this run saw (some, like 500 or
        # a full queue, cannot be provoked from outside).
        documented = {(m, p, code) for m, p, op in self.spec.operations()
                      for code in op["responses"]}
        seen = documented & self.spec.answered
        print("documented (operation, status) answers exercised: %d of %d; not exercised: %s"
              % (len(seen), len(documented),
                 ", ".join("%s %s %s" % x for x in sorted(documented - seen))))


def self_signed_pem():
    """A certificate that chains to no trusted root (python3-cryptography)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ARK-Milan")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA384()))
    return cert.public_bytes(serialization.Encoding.PEM)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        print(__doc__)
        sys.exit(2)
    BIN, DUMP, SPEC, VEC = (os.path.abspath(a) for a in sys.argv[1:5])
    if not os.path.isdir(VEC):
        print("skipping: no vectors at " + VEC)
        sys.exit(77)
    del sys.argv[1:5]
    unittest.main(verbosity=2)
