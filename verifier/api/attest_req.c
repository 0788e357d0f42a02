/*
 * The /v1/attest request body (attest_req.h). Trust boundary: every member is attacker
 * controlled; each is type-checked and size-bounded before it is decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict/appraise.h"
#include "verdict/base64.h"
#include "verdict/evidence.h"
#include "verdict/report.h"
#include "verdict/vtpm.h"
#include "attest_req.h"

#define REPORT_MAX     (VD_SNP_REPORT_SIZE * 4) /* room for a wrong length to reach the core */
#define CERT_TABLE_MAX (64 * 1024)
#define NAME_MAX_LEN   256

void vd_attest_req_free(vd_attest_req_t *r)
{
    if (r == NULL) {
        return;
    }
    free(r->report);
    free(r->cert_table);
    vd_certset_free(&r->certs);
    free(r->nonce);
    free(r->runtime_data);
    free(r->challenge);
    free(r->policy);
    memset(r, 0, sizeof(*r));
}

vd_err_t vd_api_b64_member(json_t *v, const char *what, size_t max, uint8_t **out, size_t *len,
                           vd_error_t *err)
{
    *out = NULL;
    *len = 0;
    if (!json_is_string(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "\"%s\" must be a base64 string", what);
    }
    size_t n = json_string_length(v);
    size_t cap = vd_base64_decoded_max(n);
    if (cap > max + 3) {
        return VD_ERR(err, VD_E_TOO_LARGE, "\"%s\" is longer than %zu bytes", what, max);
    }
    uint8_t *buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    if (vd_base64_decode(json_string_value(v), n, buf, len) != 0) {
        free(buf);
        return VD_ERR(err, VD_E_MALFORMED, "\"%s\" is not valid base64 (standard or URL-safe)",
                      what);
    }
    if (*len > max) {
        free(buf);
        return VD_ERR(err, VD_E_TOO_LARGE, "\"%s\" is longer than %zu bytes", what, max);
    }
    *out = buf;
    return VD_OK;
}

/* A short string member (challenge, policy name) copied out; NULL member = absent. */
static vd_err_t string_member(json_t *v, const char *what, char **out, vd_error_t *err)
{
    if (v == NULL) {
        return VD_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > NAME_MAX_LEN ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "\"%s\" must be a non-empty string of at most %d bytes",
                      what, NAME_MAX_LEN);
    }
    *out = strdup(json_string_value(v));
    return *out != NULL ? VD_OK : VD_ERR(err, VD_E_NOMEM, "out of memory");
}

/* "certs": an array of PEM text or base64 DER strings. */
static vd_err_t decode_certs(json_t *arr, vd_attest_req_t *out, vd_error_t *err)
{
    if (!json_is_array(arr)) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "\"evidence.certs\" must be an array of PEM or base64 DER strings");
    }
    if (json_array_size(arr) > VD_CERTSET_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "\"evidence.certs\" has more than %d entries",
                      VD_CERTSET_MAX);
    }
    vd_err_t rc = vd_certset_new(&out->certs, err);
    for (size_t i = 0; rc == VD_OK && i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        char origin[48];
        snprintf(origin, sizeof(origin), "evidence.certs[%zu]", i);
        if (!json_is_string(v)) {
            return VD_ERR(err, VD_E_MALFORMED, "\"%s\" must be a string", origin);
        }
        const char *s = json_string_value(v);
        if (strncmp(s, "-----BEGIN", 10) == 0) {
            rc = vd_certset_add_blob(out->certs, (const uint8_t *)s, json_string_length(v), origin,
                                     err);
            continue;
        }
        uint8_t *der = NULL;
        size_t len = 0;
        rc = vd_api_b64_member(v, origin, VD_CERT_BLOB_MAX, &der, &len, err);
        if (rc == VD_OK) {
            rc = vd_certset_add_blob(out->certs, der, len, origin, err);
        }
        free(der);
    }
    return rc;
}

/* {"tsm": envelope}: the configfs-tsm JSON envelope, decoded by the evidence module. */
static vd_err_t decode_tsm(json_t *tsm, vd_attest_req_t *out, vd_error_t *err)
{
    if (!json_is_object(tsm)) {
        return VD_ERR(err, VD_E_MALFORMED, "\"tsm\" must be a configfs-tsm JSON object");
    }
    char *text = json_dumps(tsm, JSON_COMPACT);
    if (text == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    vd_evidence_t ev = {0};
    vd_err_t rc = vd_evidence_parse_tsm_json((const uint8_t *)text, strlen(text), &ev, err);
    free(text);
    if (rc == VD_OK) {
        out->report = ev.report;
        out->report_len = ev.report_len;
        out->cert_table = ev.cert_table;
        out->cert_table_len = ev.cert_table_len;
    }
    return rc;
}

/* {"azure_vtpm": <Trustee's az-snp-vtpm evidence JSON>}: handed to vd_appraise as the report
 * bytes (compact JSON text), which it detects and decodes like `verify --report` (vtpm.h). */
static vd_err_t decode_azure_vtpm(json_t *v, vd_attest_req_t *out, vd_error_t *err)
{
    if (!json_is_object(v)) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "\"evidence.azure_vtpm\" must be Azure vTPM evidence, a JSON object");
    }
    char *text = json_dumps(v, JSON_COMPACT);
    if (text == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    size_t len = strlen(text);
    vd_vtpm_form_t f = vd_vtpm_evidence_detect((const uint8_t *)text, len);
    if (f != VD_VTPM_FORM_V0 && f != VD_VTPM_FORM_V1 && f != VD_VTPM_FORM_V2) {
        free(text);
        return VD_ERR(err, VD_E_MALFORMED,
                      "\"evidence.azure_vtpm\" is not Azure vTPM evidence (Trustee's az-snp-vtpm "
                      "v0: report, quote, vcek; v1/v2: version, hcl_report, tpm_quote, vcek)");
    }
    out->report = (uint8_t *)text; /* malloc'd by jansson's default allocator */
    out->report_len = len;
    return VD_OK;
}

static vd_err_t decode_evidence(json_t *ev, vd_attest_req_t *out, vd_error_t *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(ev)) {
        return VD_ERR(err, VD_E_MALFORMED, "\"evidence\" must be an object");
    }
    json_object_foreach(ev, key, v)
    {
        if (strcmp(key, "report") != 0 && strcmp(key, "cert_table") != 0 &&
            strcmp(key, "certs") != 0 && strcmp(key, "tsm") != 0 &&
            strcmp(key, "azure_vtpm") != 0) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "\"evidence\" has an unknown member \"%.64s\" (report, cert_table, "
                          "certs, tsm or azure_vtpm)",
                          key);
        }
    }
    json_t *tsm = json_object_get(ev, "tsm");
    json_t *report = json_object_get(ev, "report");
    json_t *vtpm = json_object_get(ev, "azure_vtpm");
    if ((tsm != NULL) + (report != NULL) + (vtpm != NULL) != 1) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "\"evidence\" needs exactly one of \"report\" (base64), \"tsm\" (a "
                      "configfs-tsm envelope) or \"azure_vtpm\" (Azure vTPM evidence JSON)");
    }
    vd_err_t rc = tsm != NULL    ? decode_tsm(tsm, out, err)
                  : vtpm != NULL ? decode_azure_vtpm(vtpm, out, err)
                                 : vd_api_b64_member(report, "evidence.report", REPORT_MAX,
                                                     &out->report, &out->report_len, err);
    json_t *table = json_object_get(ev, "cert_table");
    if (rc == VD_OK && table != NULL) {
        free(out->cert_table); /* an explicit cert_table wins over the envelope's auxblob */
        out->cert_table = NULL;
        rc = vd_api_b64_member(table, "evidence.cert_table", CERT_TABLE_MAX, &out->cert_table,
                               &out->cert_table_len, err);
    }
    json_t *certs = json_object_get(ev, "certs");
    if (rc == VD_OK && certs != NULL) {
        rc = decode_certs(certs, out, err);
    }
    return rc;
}

static int listed(const char *key, const char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(key, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

vd_err_t vd_attest_req_decode(json_t *doc, const char *const *extra_ok, vd_attest_req_t *out,
                              vd_error_t *err)
{
    static const char *const known[] = {"evidence",  "tsm",    "nonce", "runtime_data",
                                        "challenge", "policy", NULL};
    const char *key;
    json_t *v;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc)) {
        return VD_ERR(err, VD_E_MALFORMED, "the body must be a JSON object");
    }
    json_object_foreach(doc, key, v)
    {
        if (!listed(key, known) && !listed(key, extra_ok)) {
            return VD_ERR(err, VD_E_MALFORMED, "unknown member \"%.64s\"", key);
        }
    }
    json_t *ev = json_object_get(doc, "evidence");
    json_t *tsm = json_object_get(doc, "tsm");
    vd_err_t rc;
    if (ev != NULL && tsm != NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "give \"evidence\" or \"tsm\", not both");
    }
    if (ev == NULL && tsm == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "\"evidence\" is missing");
    }
    rc = ev != NULL ? decode_evidence(ev, out, err) : decode_tsm(tsm, out, err);
    if (rc == VD_OK && (v = json_object_get(doc, "nonce")) != NULL) {
        rc =
            vd_api_b64_member(v, "nonce", VD_APPRAISE_NONCE_MAX, &out->nonce, &out->nonce_len, err);
        if (rc == VD_OK && out->nonce_len == 0) {
            rc = VD_ERR(err, VD_E_MALFORMED, "\"nonce\" is empty");
        }
    }
    if (rc == VD_OK && (v = json_object_get(doc, "runtime_data")) != NULL) {
        rc = vd_api_b64_member(v, "runtime_data", VD_APPRAISE_RUNTIME_MAX, &out->runtime_data,
                               &out->runtime_data_len, err);
    }
    if (rc == VD_OK) {
        rc = string_member(json_object_get(doc, "challenge"), "challenge", &out->challenge, err);
    }
    if (rc == VD_OK) {
        rc = string_member(json_object_get(doc, "policy"), "policy", &out->policy, err);
    }
    return rc;
}

void vd_attest_req_to_appraise(const vd_attest_req_t *req, vd_appraise_request_t *a)
{
    memset(a, 0, sizeof(*a));
    a->report = req->report;
    a->report_len = req->report_len;
    a->cert_table = req->cert_table;
    a->cert_table_len = req->cert_table_len;
    a->certs = req->certs;
    a->nonce = req->nonce;
    a->nonce_len = req->nonce_len;
    a->runtime_data = req->runtime_data;
    a->runtime_data_len = req->runtime_data_len;
    /* A challenge (redeemed by the caller, its 64 bytes now the nonce) is too long for a vTPM
     * quote: such evidence binds SHA-384(challenge || runtime data) instead (vtpm.h). */
    a->vtpm_binding = req->challenge != NULL ? VD_VTPM_BIND_SHA384 : VD_VTPM_BIND_EXACT;
    a->policy_name = req->policy;
    a->at = time(NULL);
}
