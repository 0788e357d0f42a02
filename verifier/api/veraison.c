/*
 * Veraison's challenge-response API (STANDARDS.md section 3.1), so that Veraison's own clients
 * work unchanged: newSession answers exactly 201 with a relative Location, the evidence POST
 * answers 200 "complete" with the EAR in "result", and the session's nonce and evidence value
 * are standard base64 with padding (what Go's []byte decoding expects). REPORT_DATA must equal
 * the session nonce (zero-padded to 64 bytes, the raw binding); a mismatch is a signed
 * contraindicated result, not an error.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"
#include "verdict/vtpm.h"
#include "api_internal.h"

#define SESSION_TYPE    "application/vnd.veraison.challenge-response-session+json"
#define TSM_JSON        "application/vnd.veraison.tsm-report+json"
#define TSM_CBOR        "application/vnd.veraison.tsm-report+cbor"
#define AZURE_VTPM      "application/vnd.verdict.azure-vtpm+json" /* vtpm.h: v0, v1, v2 */
#define DEFAULT_NONCE   32 /* Veraison's default nonce size */
#define NONCE_PARAM_MAX 256

/* 1 if the Accept header (absent = anything) admits the session media type. */
static int accepts_session(const vd_http_request_t *req)
{
    const char *a = vd_api_req_header(req, "accept");
    return a == NULL || strstr(a, SESSION_TYPE) != NULL || strstr(a, "*/*") != NULL ||
           strstr(a, "application/*") != NULL || strstr(a, "application/json") != NULL;
}

static void session_answer(vd_api_call_t *call, int status, const char *id)
{
    json_t *s = vd_sessions_json(call->api->sessions, id, time(NULL));
    if (s == NULL) {
        vd_api_problem(call->resp, 404, "no session %s (unknown or expired)", id);
        return;
    }
    vd_api_json_as(call->resp, status, s, SESSION_TYPE);
}

static void new_session(vd_api_call_t *call)
{
    char nonce_text[NONCE_PARAM_MAX], size_text[16], id[VD_SESSION_ID_LEN + 1], loc[64];
    uint8_t nonce[NONCE_PARAM_MAX];
    size_t nonce_len = DEFAULT_NONCE;
    vd_error_t err = {0};
    int has_nonce = vd_api_query_param(call->req, "nonce", nonce_text, sizeof(nonce_text));
    int has_size = vd_api_query_param(call->req, "nonceSize", size_text, sizeof(size_text));
    if (has_nonce < 0 || has_size < 0) {
        vd_api_problem(call->resp, 400, "nonce or nonceSize is too long");
        return;
    }
    if (has_nonce && has_size) {
        vd_api_problem(call->resp, 400, "give nonce or nonceSize, not both");
        return;
    }
    if (has_nonce) {
        /* Any base64 form; '=' may arrive percent-encoded. */
        char clean[NONCE_PARAM_MAX];
        size_t n = 0;
        for (const char *p = nonce_text; *p != '\0' && n + 1 < sizeof(clean); p++) {
            if (strncasecmp(p, "%3d", 3) == 0) {
                clean[n++] = '=';
                p += 2;
            } else {
                clean[n++] = *p;
            }
        }
        clean[n] = '\0';
        if (vd_base64_decoded_max(n) > sizeof(nonce) ||
            vd_base64_decode(clean, n, nonce, &nonce_len) != 0) {
            vd_api_problem(call->resp, 400, "nonce is not base64");
            return;
        }
    } else {
        if (has_size) {
            char *end = NULL;
            long v = strtol(size_text, &end, 10);
            if (end == size_text || *end != '\0' || v < VD_SESSION_NONCE_MIN ||
                v > VD_SESSION_NONCE_MAX) {
                vd_api_problem(call->resp, 400, "nonceSize must be %d to %d", VD_SESSION_NONCE_MIN,
                               VD_SESSION_NONCE_MAX);
                return;
            }
            nonce_len = (size_t)v;
        }
        if (RAND_bytes(nonce, (int)nonce_len) != 1) {
            vd_api_problem(call->resp, 503, "no randomness for a nonce");
            return;
        }
    }
    if (vd_sessions_create(call->api->sessions, nonce, nonce_len, time(NULL), id, &err) != VD_OK) {
        int full = err.code == VD_E_TOO_LARGE;
        vd_api_problem(call->resp, full ? 503 : 400, "%s", err.msg);
        if (full) {
            vd_api_header(call->resp, "retry-after", "5");
        }
        return;
    }
    snprintf(loc, sizeof(loc), "session/%s", id);
    session_answer(call, 201, id);
    vd_api_header(call->resp, "location", loc);
}

/* Azure vTPM evidence JSON (vd_appraise decodes it): 0, or -1 after answering 400. */
static int check_vtpm(vd_api_call_t *call)
{
    vd_vtpm_form_t f = vd_vtpm_evidence_detect(call->req->body, call->req->body_len);
    if (f != VD_VTPM_FORM_V0 && f != VD_VTPM_FORM_V1 && f != VD_VTPM_FORM_V2) {
        vd_api_problem(call->resp, 400,
                       "%s: not Azure vTPM evidence JSON (Trustee's az-snp-vtpm v0, v1 or v2)",
                       AZURE_VTPM);
        return -1;
    }
    return 0;
}

/* Decode the posted configfs-tsm envelope (JSON or CBOR). 0, or -1 after answering 400. */
static int decode_envelope(vd_api_call_t *call, int cbor, vd_evidence_t *ev)
{
    vd_error_t err = {0};
    const vd_http_request_t *req = call->req;
    vd_err_t rc = cbor ? vd_evidence_parse_tsm_cbor(req->body, req->body_len, ev, &err)
                       : vd_evidence_parse_tsm_json(req->body, req->body_len, ev, &err);
    if (rc != VD_OK) {
        vd_api_problem(call->resp, 400, "%s", err.msg);
        return -1;
    }
    return 0;
}

static void post_evidence(vd_api_call_t *call)
{
    const char *ct = vd_api_req_header(call->req, "content-type");
    int json = ct != NULL && strncasecmp(ct, TSM_JSON, strlen(TSM_JSON)) == 0;
    int cbor = ct != NULL && strncasecmp(ct, TSM_CBOR, strlen(TSM_CBOR)) == 0;
    int vtpm = ct != NULL && strncasecmp(ct, AZURE_VTPM, strlen(AZURE_VTPM)) == 0;
    const char *media = vtpm ? AZURE_VTPM : json ? TSM_JSON : TSM_CBOR;
    uint8_t nonce[VD_SESSION_NONCE_MAX];
    size_t nonce_len = 0;
    vd_evidence_t ev = {0};
    if (!json && !cbor && !vtpm) {
        vd_api_problem(call->resp, 415, "evidence must be %s, %s or %s", TSM_JSON, TSM_CBOR,
                       AZURE_VTPM);
        vd_api_header(call->resp, "accept", TSM_JSON ", " TSM_CBOR ", " AZURE_VTPM);
        return;
    }
    if (call->req->body_len == 0) {
        vd_api_problem(call->resp, 400, "the evidence is empty");
        return;
    }
    int c = vd_sessions_claim(call->api->sessions, call->param, time(NULL), nonce, &nonce_len);
    if (c == -1) {
        vd_api_problem(call->resp, 404, "no session %s (unknown or expired)", call->param);
        return;
    }
    if (c == -2) {
        vd_api_problem(call->resp, 409, "session %s already has evidence", call->param);
        return;
    }
    if (vtpm ? check_vtpm(call) != 0 : decode_envelope(call, cbor, &ev) != 0) {
        vd_sessions_finish(call->api->sessions, call->param, VD_SESSION_FAILED, media,
                           call->req->body, call->req->body_len, NULL);
        return;
    }
    vd_appraise_request_t areq;
    memset(&areq, 0, sizeof(areq));
    /* vTPM evidence goes to vd_appraise as it came; the session nonce is the quote's. */
    areq.report = vtpm ? call->req->body : ev.report;
    areq.report_len = vtpm ? call->req->body_len : ev.report_len;
    areq.cert_table = ev.cert_table;
    areq.cert_table_len = ev.cert_table_len;
    areq.nonce = nonce;
    areq.nonce_len = nonce_len;
    areq.at = time(NULL);
    areq.budget_ms = VD_API_COLLATERAL_BUDGET_MS;
    char *token = NULL;
    json_t *result = NULL;
    if (vd_api_appraise_and_sign(call, &areq, &token, &result) != 0) {
        vd_sessions_finish(call->api->sessions, call->param, VD_SESSION_FAILED, media,
                           call->req->body, call->req->body_len, NULL);
        vd_evidence_free(&ev);
        return; /* the response says why */
    }
    json_decref(result);
    vd_sessions_finish(call->api->sessions, call->param, VD_SESSION_COMPLETE, media,
                       call->req->body, call->req->body_len, token);
    free(token);
    vd_evidence_free(&ev);
    session_answer(call, 200, call->param);
}

void vd_api_veraison(vd_api_call_t *call)
{
    if (!accepts_session(call->req)) {
        vd_api_problem(call->resp, 406, "Accept must admit %s", SESSION_TYPE);
        return;
    }
    switch (call->route->id) {
    case VD_R_VERAISON_NEW_SESSION:
        new_session(call);
        break;
    case VD_R_VERAISON_SESSION_GET:
        session_answer(call, 200, call->param);
        break;
    case VD_R_VERAISON_SESSION_POST:
        post_evidence(call);
        break;
    case VD_R_VERAISON_SESSION_DELETE:
        if (vd_sessions_delete(call->api->sessions, call->param) != 0) {
            vd_api_problem(call->resp, 404, "no session %s", call->param);
        } else {
            vd_api_text(call->resp, 204, NULL, "", 0);
        }
        break;
    default:
        vd_api_problem(call->resp, 500, "not a Veraison route");
        break;
    }
}
