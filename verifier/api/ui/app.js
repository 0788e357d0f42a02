/*
 * verdict policy playground (issue #14). Plain JavaScript, no libraries; loaded under a
 * Content-Security-Policy of default-src 'self', so no inline script, style or eval.
 *
 * The API token lives in the `token` input and in no other place: never in storage, cookies,
 * URLs or logs. Results are written with textContent only, never innerHTML: evidence and policy
 * text are untrusted.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  /* The active stored version the editor was last synchronised with: {name, version, text}. */
  let stored = null;
  let validateTimer = null;
  let validateSeq = 0;

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const t = $("token").value.trim();
    if (t !== "") {
      h["Authorization"] = "Bearer " + t;
    }
    return h;
  }

  async function api(method, path, body, type) {
    const init = { method: method, headers: headers(), cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      init.headers["Content-Type"] = type || "application/json";
      init.body = type ? body : JSON.stringify(body);
    }
    const r = await fetch(path, init);
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (e) {
      json = null;
    }
    return { status: r.status, ok: r.ok, json: json, text: text,
             headers: r.headers };
  }

  function problemText(r) {
    if (r.json && r.json.detail) {
      return r.status + " " + (r.json.title || "") + ": " + r.json.detail;
    }
    return r.status + " " + r.text.slice(0, 300);
  }

  function clear(el) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
  }

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) {
      td.className = cls;
    }
    row.appendChild(td);
    return td;
  }

  /* ---- base64, hex ------------------------------------------------------------------------ */

  function bytesToB64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  function b64urlToBytes(s) {
    const std = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(std + "===".slice((std.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out;
  }

  function hexToBytes(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = parseInt(hex.substr(2 * i, 2), 16);
    }
    return out;
  }

  /* ---- evidence ---------------------------------------------------------------------------- */

  /* The request body's evidence members from the page: {body} or {error}. */
  function evidenceBody() {
    const raw = $("evidence").value.trim();
    const body = {};
    let evidence = null;
    if (raw === "") {
      return { error: "paste evidence or upload a report first" };
    }
    if (raw[0] === "{") {
      let doc;
      try {
        doc = JSON.parse(raw);
      } catch (e) {
        return { error: "the evidence is not valid JSON: " + e.message };
      }
      if (doc && typeof doc.outblob === "string") {
        evidence = { tsm: doc };
      } else if (doc && (doc.tpm_quote !== undefined || doc.hcl_report !== undefined ||
                         (doc.quote !== undefined && doc.vcek !== undefined))) {
        evidence = { azure_vtpm: doc }; /* Trustee's Azure vTPM evidence, v0, v1 or v2 */
      } else if (doc && typeof doc.evidence === "object" && doc.evidence !== null) {
        evidence = doc.evidence; /* a whole /v1/attest body: its evidence and nonce */
        if (typeof doc.nonce === "string" && $("nonce").value.trim() === "") {
          body.nonce = doc.nonce;
        }
      } else if (doc && typeof doc.tsm === "object") {
        evidence = { tsm: doc.tsm };
      } else if (doc && typeof doc.report === "string") {
        evidence = doc;
      } else {
        return {
          error: "JSON evidence needs outblob (configfs-tsm), an Azure vTPM evidence, report, " +
            "tsm or evidence"
        };
      }
    } else {
      const compact = raw.replace(/\s+/g, "");
      if (/^([0-9a-fA-F]{2})+$/.test(compact) && compact.length >= 2 * 1184) {
        evidence = { report: bytesToB64(hexToBytes(compact)) };
      } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
        evidence = { report: compact };
      } else {
        return { error: "the evidence is neither JSON, hex nor base64" };
      }
    }
    const certs = $("certs").value.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (certs) {
      evidence = Object.assign({}, evidence);
      evidence.certs = (evidence.certs || []).concat(certs);
    }
    const nonce = $("nonce").value.trim();
    if (nonce !== "") {
      body.nonce = nonce;
    }
    body.evidence = evidence;
    return { body: body };
  }

  function describeEvidence() {
    const r = evidenceBody();
    const el = $("evidence-kind");
    if ($("evidence").value.trim() === "") {
      el.textContent = "";
    } else if (r.error) {
      el.textContent = r.error;
    } else if (r.body.evidence.tsm) {
      el.textContent = "Read as a configfs-tsm envelope.";
    } else if (r.body.evidence.azure_vtpm) {
      el.textContent = "Read as Azure vTPM evidence (HCL report and TPM quote).";
    } else {
      el.textContent = "Read as a raw report (base64).";
    }
  }

  function onUpload() {
    const f = $("evidence-file").files[0];
    if (!f) {
      return;
    }
    if (f.size > 1024 * 1024) {
      $("evidence-kind").textContent = "the file is larger than 1 MiB; not a report";
      return;
    }
    const reader = new FileReader();
    reader.onload = function () {
      const bytes = new Uint8Array(reader.result);
      const asText = new TextDecoder("utf-8", { fatal: false }).decode(bytes).trim();
      $("evidence").value = asText[0] === "{" ? asText : bytesToB64(bytes);
      describeEvidence();
    };
    reader.readAsArrayBuffer(f);
  }

  /* ---- the policy editor ------------------------------------------------------------------- */

  function renderGutter(errorLines) {
    const n = $("policy").value.split("\n").length;
    const g = $("gutter");
    clear(g);
    for (let i = 1; i <= n; i++) {
      const s = document.createElement("span");
      s.textContent = String(i);
      if (errorLines && errorLines.has(i)) {
        s.className = "bad";
      }
      g.appendChild(s);
      g.appendChild(document.createTextNode("\n"));
    }
    g.scrollTop = $("policy").scrollTop;
  }

  function jumpTo(line, column) {
    const ta = $("policy");
    const lines = ta.value.split("\n");
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) {
      pos += lines[i].length + 1;
    }
    pos += Math.max(0, column - 1);
    ta.focus();
    ta.setSelectionRange(pos, pos);
  }

  function showPolicyErrors(errors) {
    const ul = $("policy-errors");
    clear(ul);
    const lines = new Set();
    for (const e of errors) {
      const li = document.createElement("li");
      li.dataset.line = String(e.line);
      li.dataset.column = String(e.column);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = e.line > 0 ? "Line " + e.line + ", column " + e.column + ": " : "";
      b.addEventListener("click", () => jumpTo(e.line, e.column));
      li.appendChild(b);
      li.appendChild(document.createTextNode(e.message));
      ul.appendChild(li);
      if (e.line > 0) {
        lines.add(e.line);
      }
    }
    $("policy").setAttribute("aria-invalid", errors.length ? "true" : "false");
    renderGutter(lines);
  }

  /* "policy:3:5: snp: ..." -> "snp: ..." */
  function errorMessage(detail) {
    return String(detail || "").replace(/^policy:\d+:\d+:\s*/, "");
  }

  async function validate() {
    const text = $("policy").value;
    const seq = ++validateSeq;
    if (text.trim() === "") {
      showPolicyErrors([]);
      $("policy-state").textContent = "Empty: Run uses the server's default policy.";
      return;
    }
    let r;
    try {
      r = await api("POST", "/v1/policies:validate", { policy: text });
    } catch (e) {
      r = { status: 0, json: null, text: String(e) };
    }
    if (seq !== validateSeq) {
      return; /* the author typed on: a newer answer is coming */
    }
    if (r.status === 200 && r.json && r.json.valid) {
      showPolicyErrors([]);
      $("policy-state").textContent = "Compiles: policy \u201c" + r.json.name + "\u201d.";
    } else if (r.status === 400 && r.json) {
      showPolicyErrors([{ line: r.json.line || 0, column: r.json.column || 0,
                          message: errorMessage(r.json.detail) }]);
      $("policy-state").textContent = "Does not compile.";
    } else {
      showPolicyErrors([]);
      $("policy-state").textContent = "Not checked: " + problemText(r);
    }
  }

  function onPolicyInput() {
    renderGutter(null);
    $("policy-state").textContent = "Checking\u2026";
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validate, 300);
  }

  /* The name the editor's text declares (top-level `name:`), or "". */
  function declaredName() {
    const m = $("policy").value.match(/^name:\s*["']?([A-Za-z0-9._-]+)["']?\s*(#.*)?$/m);
    return m ? m[1] : "";
  }

  async function refreshList() {
    const r = await api("GET", "/v1/policies");
    const sel = $("stored");
    clear(sel);
    const none = document.createElement("option");
    none.value = "";
    if (!r.ok || !r.json) {
      none.textContent = "(cannot list: " + problemText(r) + ")";
      sel.appendChild(none);
      return;
    }
    none.textContent = "(choose a stored policy)";
    sel.appendChild(none);
    const seen = new Set();
    for (const p of r.json.policies) {
      if (!p.active || seen.has(p.name)) {
        continue;
      }
      seen.add(p.name);
      const o = document.createElement("option");
      o.value = p.name;
      o.textContent = p.name + " (v" + p.version + ")";
      sel.appendChild(o);
    }
  }

  async function loadStored(name) {
    if (!name) {
      return;
    }
    const r = await api("GET", "/v1/policies/" + encodeURIComponent(name));
    if (!r.ok) {
      $("policy-state").textContent = "Cannot load " + name + ": " + problemText(r);
      return;
    }
    $("policy").value = r.text;
    stored = { name: name, version: Number(r.headers.get("x-policy-version")), text: r.text };
    onPolicyInput();
    await listVersions(name);
  }

  async function draftFromEvidence() {
    const ev = evidenceBody();
    if (ev.error) {
      $("draft-state").textContent = "No draft: " + ev.error;
      return;
    }
    $("draft-state").textContent = "drafting";
    const body = ev.body;
    body.name = declaredName() || "draft";
    let r;
    try {
      r = await api("POST", "/v1/policies:init", body);
    } catch (e) {
      r = { status: 0, json: null, text: String(e) };
    }
    if (!r.ok || !r.json || typeof r.json.policy !== "string") {
      $("draft-state").textContent = "No draft: " + problemText(r);
      return;
    }
    $("policy").value = r.json.policy;
    onPolicyInput();
    $("draft-state").textContent = "Drafted from the evidence as \u201c" + body.name +
      "\u201d (not saved).";
  }

  /* ---- run --------------------------------------------------------------------------------- */

  function showChecks(lists) {
    const tb = $("checks");
    clear(tb);
    for (const list of lists) {
      for (const c of list || []) {
        const tr = document.createElement("tr");
        tr.dataset.check = c.name;
        tr.dataset.result = c.result;
        cell(tr, c.name);
        cell(tr, c.result, "result " + c.result);
        cell(tr, c.detail || "");
        tb.appendChild(tr);
      }
    }
  }

  function showKv(tbody, obj, prefix) {
    for (const k of Object.keys(obj || {})) {
      const v = obj[k];
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        showKv(tbody, v, prefix + k + ".");
        continue;
      }
      const tr = document.createElement("tr");
      cell(tr, prefix + k);
      cell(tr, Array.isArray(v) ? v.join(", ") : String(v), "mono");
      tbody.appendChild(tr);
    }
  }

  function resetResult() {
    $("status").textContent = "running";
    $("status").className = "";
    $("run-problem").hidden = true;
    for (const id of ["tvec", "checks", "report"]) {
      clear($(id));
    }
    $("token-verified").textContent = "no token";
    $("token-claims").textContent = "";
  }

  function showResult(res) {
    const st = res.status;
    $("status").textContent = st;
    $("status").className = "st-" + st;
    const appraisal = res.appraisal || {};
    showKv($("tvec"), appraisal.trust_vector || {}, "");
    const g = res.genuine || {};
    showChecks([g.checks, appraisal.checks]);
    const rep = $("report");
    showKv(rep, { product: g.product, signing_key: g.signing_key,
                  report_version: g.report_version }, "");
    showKv(rep, g.report || {}, "");
    showKv(rep, g.tcb || {}, "tcb.");
  }

  async function run() {
    resetResult();
    const ev = evidenceBody();
    if (ev.error) {
      $("status").textContent = "not run";
      $("run-problem").textContent = ev.error;
      $("run-problem").hidden = false;
      return;
    }
    const text = $("policy").value;
    const body = ev.body;
    let path;
    if (text.trim() === "") {
      path = "/v1/attest";
      $("run-mode").textContent = "POST /v1/attest with the server's default policy (signed token).";
    } else if (stored && stored.text === text) {
      path = "/v1/attest";
      body.policy = stored.name;
      $("run-mode").textContent = "POST /v1/attest with the stored policy " + stored.name +
        " (signed token).";
    } else {
      path = "/v1/policies:test";
      body.policy = text;
      $("run-mode").textContent =
        "Dry run of the editor's text (POST /v1/policies:test): dry runs are never signed.";
    }
    let r;
    try {
      r = await api("POST", path, body);
    } catch (e) {
      r = { status: 0, json: null, text: String(e) };
    }
    if (!r.ok || !r.json || typeof r.json.status !== "string") {
      $("status").textContent = "error";
      $("status").className = "st-error";
      $("run-problem").textContent = problemText(r);
      $("run-problem").hidden = false;
      if (r.status === 400 && r.json && r.json.line) {
        showPolicyErrors([{ line: r.json.line, column: r.json.column || 0,
                            message: errorMessage(r.json.detail) }]);
      }
      return;
    }
    showResult(r.json);
    if (typeof r.json.token === "string") {
      await showToken(r.json.token);
    } else {
      $("token-verified").textContent = "no token (dry run)";
    }
  }

  /* ---- the token: decoded, its signature checked with WebCrypto against the JWKS ------------ */

  const ALGS = {
    ES256: { imp: { name: "ECDSA", namedCurve: "P-256" }, ver: { name: "ECDSA", hash: "SHA-256" } },
    ES384: { imp: { name: "ECDSA", namedCurve: "P-384" }, ver: { name: "ECDSA", hash: "SHA-384" } },
    EdDSA: { imp: { name: "Ed25519" }, ver: { name: "Ed25519" } },
  };

  async function verifyToken(token, header) {
    if (!window.crypto || !window.crypto.subtle) {
      return "not verified: WebCrypto needs a secure context (https or loopback)";
    }
    const alg = ALGS[header.alg];
    if (!alg) {
      return "not verified: unexpected alg " + header.alg;
    }
    const r = await api("GET", "/.well-known/jwks.json");
    if (!r.ok || !r.json || !Array.isArray(r.json.keys)) {
      return "not verified: no JWKS (" + problemText(r) + ")";
    }
    const keys = r.json.keys.filter((k) => k.kid === header.kid);
    if (keys.length !== 1) {
      return "not verified: kid " + header.kid + " is not in the JWKS";
    }
    const jwk = keys[0];
    if (jwk.alg !== header.alg) {
      return "not verified: the JWK's alg is not the token's";
    }
    const parts = token.split(".");
    const data = new TextEncoder().encode(parts[0] + "." + parts[1]);
    const sig = b64urlToBytes(parts[2]);
    const pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
    if (jwk.y) {
      pub.y = jwk.y;
    }
    try {
      const key = await crypto.subtle.importKey("jwk", pub, alg.imp, false, ["verify"]);
      const ok = await crypto.subtle.verify(alg.ver, key, sig, data);
      return ok ? "verified" : "not verified: the signature does not match";
    } catch (e) {
      return "not verified: " + e.message;
    }
  }

  async function showToken(token) {
    const parts = token.split(".");
    let header, payload;
    try {
      header = JSON.parse(new TextDecoder().decode(b64urlToBytes(parts[0])));
      payload = JSON.parse(new TextDecoder().decode(b64urlToBytes(parts[1])));
    } catch (e) {
      $("token-verified").textContent = "not verified: the token does not decode";
      return;
    }
    $("token-claims").textContent = JSON.stringify({ header: header, claims: payload }, null, 2);
    $("token-verified").textContent = "checking";
    $("token-verified").textContent = parts.length === 3 ? await verifyToken(token, header)
                                                           : "not verified: not a JWS";
  }

  /* ---- save, versions, roll back ----------------------------------------------------------- */

  async function listVersions(name) {
    const ul = $("versions");
    clear(ul);
    if (!name) {
      return;
    }
    const r = await api("GET", "/v1/policies/" + encodeURIComponent(name) + "/versions");
    if (!r.ok || !r.json) {
      const li = document.createElement("li");
      li.textContent = "cannot list the versions of " + name + ": " + problemText(r);
      ul.appendChild(li);
      return;
    }
    for (const v of r.json.versions) {
      const li = document.createElement("li");
      li.dataset.version = String(v.version);
      li.textContent = name + " v" + v.version + ", " + v.created_at + " (" + v.origin + ")" +
        (v.active ? " \u2014 active " : " ");
      if (!v.active) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Roll back to v" + v.version;
        b.addEventListener("click", () => activate(name, v.version));
        li.appendChild(b);
      }
      ul.appendChild(li);
    }
  }

  async function activate(name, version) {
    const r = await api("POST", "/v1/policies/" + encodeURIComponent(name) + "/activate",
                        { version: version });
    $("save-result").textContent = r.ok ? name + " v" + version + " is active."
                                        : "Not activated: " + problemText(r);
    if (r.ok) {
      await loadStored(name);
      await refreshList();
    }
  }

  async function save() {
    const name = declaredName();
    const text = $("policy").value;
    if (!name) {
      $("save-result").textContent = "Not saved: the policy needs a top-level name.";
      return;
    }
    const r = await api("PUT", "/v1/policies/" + encodeURIComponent(name), text,
                        "application/yaml");
    if (!r.ok || !r.json) {
      $("save-result").textContent = "Not saved: " + problemText(r);
      if (r.status === 400 && r.json && r.json.line) {
        showPolicyErrors([{ line: r.json.line, column: r.json.column || 0,
                            message: errorMessage(r.json.detail) }]);
      }
      return;
    }
    stored = { name: r.json.name, version: r.json.version, text: text };
    $("save-result").textContent = "Saved: " + r.json.name + " v" + r.json.version +
      (r.json.created ? " (new version), active." : " (unchanged), active.");
    await listVersions(r.json.name);
    await refreshList();
  }

  /* ---- wiring ------------------------------------------------------------------------------ */

  function init() {
    $("evidence").addEventListener("input", describeEvidence);
    $("evidence-file").addEventListener("change", onUpload);
    $("policy").addEventListener("input", onPolicyInput);
    $("policy").addEventListener("scroll", () => { $("gutter").scrollTop = $("policy").scrollTop; });
    $("policy").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        run();
      }
    });
    $("run").addEventListener("click", run);
    $("draft").addEventListener("click", draftFromEvidence);
    $("save").addEventListener("click", save);
    $("refresh-list").addEventListener("click", refreshList);
    $("load").addEventListener("click", () => loadStored($("stored").value));
    $("token").addEventListener("change", refreshList);
    renderGutter(null);
    validate();
  }

  /* For the browser test (tests/api/test_ui.py): the token check on a token it chooses. */
  window.verdictPlayground = Object.freeze({ showToken: showToken });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
