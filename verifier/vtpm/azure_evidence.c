/*
 * Trustee's Azure vTPM evidence JSON, forms v0, v1, v2, and the raw HCL report
 * (VTPM.md section 1; see include/verdict/vtpm.h).
 *
 * Trust boundary: the whole document is attacker-controlled. It is parsed with jansson under a
 * size cap (duplicate members refused, so no two readers can see different values), every
 * member is type-checked, and every decoded length is capped before anything is allocated.
 * Nothing here judges the contents: that is vtpm_verify.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verdict/base64.h"
#include "verdict/bytes.h"
#include "verdict/vtpm.h"

#define HCL_MAGIC "HCLA"

const char *vd_vtpm_form_str(vd_vtpm_form_t f)
{
    switch (f) {
    case VD_VTPM_FORM_NONE:
        return "none";
    case VD_VTPM_FORM_V0:
        return "v0";
    case VD_VTPM_FORM_V1:
        return "v1";
    case VD_VTPM_FORM_V2:
        return "v2";
    case VD_VTPM_FORM_HCL:
        return "hcl";
    }
    return "none";
}

static int is_raw_hcl(const uint8_t *p, size_t len)
{
    return len >= 4 && memcmp(p, HCL_MAGIC, 4) == 0;
}

static int looks_like_json(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
            continue;
        }
        return p[i] == '{';
    }
    return 0;
}

/* The form by the members of a parsed object (VTPM.md section 1, "Form detection"). */
static vd_vtpm_form_t form_of(json_t *doc)
{
    json_t *v = json_object_get(doc, "version");
    if (v != NULL) {
        return json_is_integer(v) && json_integer_value(v) == 2 ? VD_VTPM_FORM_V2 : VD_VTPM_FORM_V1;
    }
    if (json_object_get(doc, "report") != NULL && json_object_get(doc, "quote") != NULL &&
        json_object_get(doc, "vcek") != NULL) {
        return VD_VTPM_FORM_V0;
    }
    return VD_VTPM_FORM_NONE;
}

static json_t *load(const uint8_t *p, size_t len, json_error_t *jerr)
{
    json_t *doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, jerr);
    if (doc != NULL && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
        snprintf(jerr->text, sizeof(jerr->text), "not an object");
    }
    return doc;
}

vd_vtpm_form_t vd_vtpm_evidence_detect(const uint8_t *p, size_t len)
{
    if (p == NULL) {
        return VD_VTPM_FORM_NONE;
    }
    if (is_raw_hcl(p, len)) {
        return VD_VTPM_FORM_HCL;
    }
    if (len > VD_VTPM_EVIDENCE_MAX || !looks_like_json(p, len)) {
        return VD_VTPM_FORM_NONE;
    }
    json_error_t jerr;
    json_t *doc = load(p, len, &jerr);
    if (doc == NULL) {
        return VD_VTPM_FORM_NONE;
    }
    vd_vtpm_form_t f = form_of(doc);
    json_decref(doc);
    return f;
}

void vd_vtpm_evidence_free(vd_vtpm_evidence_t *e)
{
    if (e == NULL) {
        return;
    }
    free(e->hcl);
    free(e->quote);
    free(e->signature);
    free(e->pcrs);
    free(e->vcek);
    vd_certset_free(&e->vcek_certs);
    memset(e, 0, sizeof(*e));
}

/* ---- member decoders: each writes a malloc'd buffer of at most `max` bytes ---------------- */

/* v0: a JSON array of integers 0..255. */
static vd_err_t bytes_from_array(json_t *v, const char *name, size_t max, uint8_t **out,
                                 size_t *out_len, vd_error_t *err)
{
    if (!json_is_array(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s must be an array of bytes", name);
    }
    size_t n = json_array_size(v);
    if (n > max) {
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: %s has %zu bytes, more than %zu", name,
                      n, max);
    }
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "vTPM evidence: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(v, i);
        json_int_t x = json_is_integer(b) ? json_integer_value(b) : -1;
        if (x < 0 || x > 255) {
            free(buf);
            return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s[%zu] is not a byte (0..255)",
                          name, i);
        }
        buf[i] = (uint8_t)x;
    }
    *out = buf;
    *out_len = n;
    return VD_OK;
}

/* v1/v2: a hex string (either case). */
static vd_err_t bytes_from_hex(json_t *v, const char *name, size_t max, uint8_t **out,
                               size_t *out_len, vd_error_t *err)
{
    if (!json_is_string(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s must be a hex string", name);
    }
    size_t len = json_string_length(v);
    if (len / 2 > max) {
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: %s is longer than %zu bytes", name, max);
    }
    uint8_t *buf = malloc(len / 2 + 1);
    if (buf == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "vTPM evidence: out of memory");
    }
    if (vd_hex_decode(json_string_value(v), len, buf, len / 2 + 1, out_len) != 0) {
        free(buf);
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s is not valid hex", name);
    }
    *out = buf;
    return VD_OK;
}

/* v1/v2: base64url (padded or not; the standard alphabet too). */
static vd_err_t bytes_from_b64(json_t *v, const char *name, size_t max, uint8_t **out,
                               size_t *out_len, vd_error_t *err)
{
    if (!json_is_string(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s must be a base64url string", name);
    }
    size_t len = json_string_length(v);
    size_t cap = vd_base64_decoded_max(len);
    if (cap > max + 2) {
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: %s is longer than %zu bytes", name, max);
    }
    uint8_t *buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "vTPM evidence: out of memory");
    }
    if (vd_base64_decode(json_string_value(v), len, buf, out_len) != 0) {
        free(buf);
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s is not valid base64url", name);
    }
    if (*out_len > max) {
        free(buf);
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: %s is longer than %zu bytes", name, max);
    }
    *out = buf;
    return VD_OK;
}

typedef vd_err_t (*decode_fn)(json_t *, const char *, size_t, uint8_t **, size_t *, vd_error_t *);

/* The PCR list: one 32-byte SHA-256 value per entry, decoded with `dec`. */
static vd_err_t decode_pcrs(json_t *v, const char *name, decode_fn dec, vd_vtpm_evidence_t *out,
                            vd_error_t *err)
{
    if (!json_is_array(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s must be an array", name);
    }
    size_t n = json_array_size(v);
    if (n > VD_VTPM_PCR_VALUES) {
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: %s has %zu values, more than %d", name,
                      n, VD_VTPM_PCR_VALUES);
    }
    out->pcrs = calloc(n > 0 ? n : 1, 32);
    if (out->pcrs == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "vTPM evidence: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char what[64];
        uint8_t *b = NULL;
        size_t blen = 0;
        snprintf(what, sizeof(what), "%s[%zu]", name, i);
        vd_err_t rc = dec(json_array_get(v, i), what, 64, &b, &blen, err);
        if (rc != VD_OK) {
            return rc;
        }
        if (blen != 32) {
            free(b);
            return VD_ERR(err, VD_E_MALFORMED,
                          "vTPM evidence: %s has %zu bytes, not a SHA-256 PCR value (32)", what,
                          blen);
        }
        memcpy(out->pcrs[i], b, 32);
        free(b);
    }
    out->n_pcrs = n;
    return VD_OK;
}

/* The quote object: {"signature", "message", "pcrs"}. */
static vd_err_t decode_quote(json_t *q, const char *name, decode_fn dec, vd_vtpm_evidence_t *out,
                             vd_error_t *err)
{
    char what[48];
    vd_err_t rc;
    if (!json_is_object(q)) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s must be an object", name);
    }
    snprintf(what, sizeof(what), "%s.signature", name);
    json_t *sig = json_object_get(q, "signature");
    if (sig == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s is missing", what);
    }
    if ((rc = dec(sig, what, VD_VTPM_SIG_MAX, &out->signature, &out->signature_len, err)) !=
        VD_OK) {
        return rc;
    }
    snprintf(what, sizeof(what), "%s.message", name);
    json_t *msg = json_object_get(q, "message");
    if (msg == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s is missing", what);
    }
    if ((rc = dec(msg, what, VD_VTPM_QUOTE_MAX, &out->quote, &out->quote_len, err)) != VD_OK) {
        return rc;
    }
    snprintf(what, sizeof(what), "%s.pcrs", name);
    json_t *pcrs = json_object_get(q, "pcrs");
    if (pcrs == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: %s is missing", what);
    }
    if ((rc = decode_pcrs(pcrs, what, dec, out, err)) != VD_OK) {
        return rc;
    }
    out->has_quote = 1;
    return VD_OK;
}

static vd_err_t parse_v0(json_t *doc, vd_vtpm_evidence_t *out, vd_error_t *err)
{
    vd_err_t rc = bytes_from_array(json_object_get(doc, "report"), "report", VD_VTPM_HCL_MAX,
                                   &out->hcl, &out->hcl_len, err);
    if (rc != VD_OK) {
        return rc;
    }
    if ((rc = decode_quote(json_object_get(doc, "quote"), "quote", bytes_from_array, out, err)) !=
        VD_OK) {
        return rc;
    }
    json_t *vcek = json_object_get(doc, "vcek");
    if (!json_is_string(vcek)) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: vcek must be PEM text");
    }
    size_t n = json_string_length(vcek);
    if (n > VD_VTPM_VCEK_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: vcek is longer than %d bytes",
                      VD_VTPM_VCEK_MAX);
    }
    if (n > 0) {
        out->vcek = malloc(n);
        if (out->vcek == NULL) {
            return VD_ERR(err, VD_E_NOMEM, "vTPM evidence: out of memory");
        }
        memcpy(out->vcek, json_string_value(vcek), n);
        out->vcek_len = n;
    }
    return VD_OK;
}

static vd_err_t parse_v1v2(json_t *doc, vd_vtpm_evidence_t *out, vd_error_t *err)
{
    json_t *ver = json_object_get(doc, "version");
    if (!json_is_integer(ver) || (json_integer_value(ver) != 1 && json_integer_value(ver) != 2)) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "vTPM evidence: version must be 1 or 2 (v0 evidence has no version)");
    }
    out->form = json_integer_value(ver) == 2 ? VD_VTPM_FORM_V2 : VD_VTPM_FORM_V1;
    json_t *hcl = json_object_get(doc, "hcl_report");
    if (hcl == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: hcl_report is missing");
    }
    vd_err_t rc = bytes_from_b64(hcl, "hcl_report", VD_VTPM_HCL_MAX, &out->hcl, &out->hcl_len, err);
    if (rc != VD_OK) {
        return rc;
    }
    json_t *q = json_object_get(doc, "tpm_quote");
    if (q == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: tpm_quote is missing");
    }
    if ((rc = decode_quote(q, "tpm_quote", bytes_from_hex, out, err)) != VD_OK) {
        return rc;
    }
    json_t *vcek = json_object_get(doc, "vcek");
    if (vcek != NULL && !json_is_null(vcek) &&
        !(json_is_string(vcek) && json_string_length(vcek) == 0)) {
        rc = bytes_from_b64(vcek, "vcek", VD_VTPM_VCEK_MAX, &out->vcek, &out->vcek_len, err);
    }
    return rc;
}

/* Decode the VCEK once; a VCEK that does not decode is vtpm.vcek's to reject, not an error. */
static vd_err_t decode_vcek(vd_vtpm_evidence_t *out, vd_error_t *err)
{
    vd_error_t e = {0};
    if (out->vcek == NULL) {
        return VD_OK;
    }
    vd_err_t rc = vd_certset_new(&out->vcek_certs, err);
    if (rc != VD_OK) {
        return rc;
    }
    rc = vd_certset_add_blob(out->vcek_certs, out->vcek, out->vcek_len, "vTPM evidence vcek", &e);
    if (rc == VD_E_NOMEM) {
        return VD_ERR(err, rc, "%s", e.msg);
    }
    if (rc != VD_OK) {
        vd_certset_free(&out->vcek_certs);
        snprintf(out->vcek_problem, sizeof(out->vcek_problem), "%.180s", e.msg);
    }
    return VD_OK;
}

vd_err_t vd_vtpm_evidence_parse(const uint8_t *p, size_t len, vd_vtpm_evidence_t *out,
                                vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    json_t *doc = NULL;
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    if (p == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: no input");
    }
    if (is_raw_hcl(p, len)) {
        if (len > VD_VTPM_HCL_MAX) {
            return VD_ERR(err, VD_E_TOO_LARGE, "HCL report: %zu bytes, more than %d", len,
                          VD_VTPM_HCL_MAX);
        }
        out->hcl = malloc(len);
        if (out->hcl == NULL) {
            return VD_ERR(err, VD_E_NOMEM, "vTPM evidence: out of memory");
        }
        memcpy(out->hcl, p, len);
        out->hcl_len = len;
        out->form = VD_VTPM_FORM_HCL;
        return VD_OK;
    }
    if (len > VD_VTPM_EVIDENCE_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "vTPM evidence: %zu bytes, more than %d", len,
                      VD_VTPM_EVIDENCE_MAX);
    }
    doc = load(p, len, &jerr);
    if (doc == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: not a JSON object: %s", jerr.text);
    }
    out->form = form_of(doc);
    switch (out->form) {
    case VD_VTPM_FORM_V0:
        rc = parse_v0(doc, out, err);
        break;
    case VD_VTPM_FORM_V1:
    case VD_VTPM_FORM_V2:
        rc = parse_v1v2(doc, out, err);
        break;
    case VD_VTPM_FORM_NONE:
    case VD_VTPM_FORM_HCL:
        rc = VD_ERR(err, VD_E_MALFORMED,
                    "vTPM evidence: neither a \"version\" member nor all of \"report\", "
                    "\"quote\", \"vcek\"");
        break;
    }
    json_decref(doc);
    if (rc == VD_OK) {
        rc = decode_vcek(out, err);
    }
    if (rc != VD_OK) {
        vd_vtpm_evidence_free(out);
    }
    return rc;
}

const uint8_t *vd_vtpm_snp_report(const vd_vtpm_evidence_t *e, size_t *len)
{
    if (e == NULL || e->hcl == NULL || e->hcl_len < VD_HCL_SNP_OFFSET + VD_SNP_REPORT_SIZE) {
        *len = 0;
        return NULL;
    }
    *len = VD_SNP_REPORT_SIZE;
    return e->hcl + VD_HCL_SNP_OFFSET;
}

vd_err_t vd_vtpm_add_certs(const vd_vtpm_evidence_t *e, vd_certset_t *certs, vd_error_t *err)
{
    if (e->vcek == NULL || e->vcek_len == 0) {
        return VD_OK;
    }
    if (e->vcek_certs == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "vTPM evidence: the VCEK does not decode: %s",
                      e->vcek_problem);
    }
    for (size_t i = 0; i < vd_certset_count(e->vcek_certs); i++) {
        vd_err_t rc =
            vd_certset_add_x509(certs, vd_certset_get(e->vcek_certs, i), "vTPM evidence vcek", err);
        if (rc != VD_OK) {
            return rc;
        }
    }
    return VD_OK;
}
