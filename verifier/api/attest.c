/*
 * The evidence routes: POST /v1/attest, POST /v1/challenge, and the policy dry runs
 * (POST /v1/policies/{name}/test, POST /v1/policies:test).
 *
 * Evidence that fails verification or policy still gets 200 with a signed token that says why
 * (AR4SI values, STANDARDS.md 2.4); only malformed requests get 4xx. Dry runs return the same
 * result without a token: a reader may post any unsaved policy there, and a signed result of
 * such a policy would be a way to mint affirming tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "verdict/bytes.h"
#include "verdict/ear.h"
#include "verdict/jsonbuild.h"
#include "verdict/netaddr.h"
#include "verdict/text.h"
#include "verdict/timefmt.h"
#include "attest_req.h"
#include "api_internal.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The report fields a relying party reads, for ear.veraison.annotated-evidence; for Azure vTPM
 * evidence also its claims (PCRs by number, vm-configuration, the quote). */
static json_t *annotated_evidence(json_t *genuine)
{
    json_t *o = json_object();
    static const char *const keys[] = {"product", "report_version", "signing_key",
                                       "report",  "vtpm",           NULL};
    for (size_t i = 0; o != NULL && keys[i] != NULL; i++) {
        json_t *v = json_object_get(genuine, keys[i]);
        if (v != NULL && !json_is_null(v)) {
            json_object_set(o, keys[i], v);
        }
    }
    json_t *tcb = json_object_get(genuine, "tcb");
    if (o != NULL && json_is_object(tcb) && json_object_get(tcb, "reported") != NULL) {
        json_object_set(o, "reported_tcb", json_object_get(tcb, "reported"));
    }
    return o;
}

/* The first failing check of the appraisal, for the token's problem claim and the audit. */
static const vd_check_t *first_failure(const vd_appraise_result_t *r)
{
    const vd_check_t *c = vd_checks_first(&r->snp.checks, VD_CHECK_FAIL);
    return c != NULL ? c : vd_checks_first(&r->appraisal.checks, VD_CHECK_FAIL);
}

/* Every failing check name, for the audit record (points into `r`). */
static size_t failing_checks(const vd_appraise_result_t *r, const char **names, size_t max)
{
    const vd_checks_t *lists[2] = {&r->snp.checks, &r->appraisal.checks};
    size_t n = 0;
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l]->count && n < max; i++) {
            if (lists[l]->items[i].result == VD_CHECK_FAIL) {
                names[n++] = lists[l]->items[i].name;
            }
        }
    }
    return n;
}

/* An audit record and the storage its strings point into (besides `r` and the request). */
typedef struct audit_record {
    vd_audit_record_t rec;
    const char *failed[VD_AUDIT_MAX_CHECKS];
    char digest[65], chip[129];
} audit_record_t;

/* The audit record of `r`, valid while `r`, the request and `out` are. */
static void audit_record(vd_api_call_t *call, const vd_appraise_result_t *r, vd_tier_t status,
                         int64_t us, audit_record_t *out)
{
    vd_audit_record_t *rec = &out->rec;
    memset(rec, 0, sizeof(*rec));
    rec->request_id = call->req->request_id;
    rec->client = call->req->remote_addr;
    rec->route = call->route->pattern;
    rec->policy_name = r->policy_applied ? r->policy_name : "";
    rec->policy_version = r->policy_applied ? r->policy_version : 0;
    rec->status = vd_tier_name(status);
    rec->failed_checks = out->failed;
    rec->n_failed_checks = failing_checks(r, out->failed, VD_AUDIT_MAX_CHECKS);
    out->digest[0] = out->chip[0] = '\0';
    if (r->has_report_digest) {
        vd_hex_encode(r->report_sha256, 32, out->digest, sizeof(out->digest));
    }
    if (r->snp.report_parsed) {
        vd_hex_encode(r->snp.report.chip_id, sizeof(r->snp.report.chip_id), out->chip,
                      sizeof(out->chip));
    }
    rec->report_sha256 = out->digest;
    rec->chip_id = out->chip;
    rec->latency_us = us;
}

static void count_appraisal(vd_api_t *api, vd_tier_t status, int64_t us)
{
    vd_api_metrics_appraisal(api, vd_tier_name(status), (double)us / 1e6);
}

/* A token for `r`, signed with the current key. */
static vd_err_t sign_result(vd_api_call_t *call, const vd_appraise_request_t *areq,
                            const vd_appraise_result_t *r, json_t *genuine, char **token,
                            vd_error_t *err)
{
    vd_api_t *api = call->api;
    vd_ear_input_t in;
    const vd_check_t *fail = first_failure(r);
    char raw[VD_CHECK_NAME_MAX + VD_CHECK_DETAIL_MAX + 32], problem[4 * sizeof(raw)];
    memset(&in, 0, sizeof(in));
    in.status = r->status;
    in.tvec = r->appraisal.tvec;
    in.policy_name = r->policy_applied ? r->policy_name : NULL;
    in.policy_version = r->policy_version;
    /* eat_nonce echoes nonces of 8..64 bytes (what EAR consumers accept); a longer one, which
     * only a hashing binding can use, is still checked but not echoed. */
    if (areq->nonce_len >= VD_EAR_NONCE_MIN && areq->nonce_len <= VD_EAR_NONCE_MAX) {
        in.nonce = areq->nonce;
        in.nonce_len = areq->nonce_len;
    }
    json_t *annotated = annotated_evidence(genuine);
    in.annotated_evidence = annotated;
    if (r->status != VD_TIER_AFFIRMING) {
        if (fail != NULL) {
            snprintf(raw, sizeof(raw), "%s: %s", fail->name, fail->detail);
        } else if (r->outcome == VD_OUTCOME_COLLATERAL) {
            snprintf(raw, sizeof(raw), "collateral unavailable: %.300s", r->snp.missing);
        } else {
            snprintf(raw, sizeof(raw), "%s", vd_appraise_outcome_str(r->outcome));
        }
        /* Details quote certificate names from the evidence: valid UTF-8 before JSON. */
        in.problem = vd_text_escape(raw, problem, sizeof(problem));
    }
    in.iat = (int64_t)time(NULL);
    in.ttl = vd_api_cfg(api)->token_ttl_s;
    in.issuer = api->issuer;
    in.developer = VD_API_DEVELOPER;
    in.build = api->c.build;
    vd_signkey_t *key = vd_keyring_signer(api->c.keys);
    vd_err_t rc = vd_ear_sign(&in, key, token, err);
    vd_signkey_free(&key);
    json_decref(annotated);
    return rc;
}

/* Retry-After in whole seconds, at least 1; `fallback` when the time is unknown. */
static void retry_after(vd_api_call_t *call, int64_t ms, int64_t fallback)
{
    char secs[24];
    snprintf(secs, sizeof(secs), "%lld", (long long)(ms > 0 ? (ms + 999) / 1000 : fallback));
    vd_api_header(call->resp, "retry-after", secs);
}

/*
 * The client whose cold-fetch budget an uncached chip spends: the peer's address, or, when the
 * peer is the configured trusted proxy (kds.trusted_proxy), the last address of its
 * X-Forwarded-For (the one that proxy appended; what a client wrote before it is not believed).
 */
static const char *budget_client(const vd_api_call_t *call, char *buf, size_t n)
{
    const char *peer = call->req->remote_addr != NULL ? call->req->remote_addr : "";
    const char *proxy = vd_api_cfg(call->api)->kds_trusted_proxy;
    const char *xff = vd_api_req_header(call->req, "x-forwarded-for");
    if (proxy[0] == '\0' || xff == NULL || !vd_netaddr_same(peer, proxy)) {
        return peer;
    }
    const char *last = strrchr(xff, ',');
    last = last != NULL ? last + 1 : xff;
    last += strspn(last, " \t");
    size_t len = strcspn(last, " \t");
    if (len == 0 || len >= n) {
        return peer;
    }
    memcpy(buf, last, len);
    buf[len] = '\0';
    return buf;
}

vd_appraise_result_t *vd_api_appraise(vd_api_call_t *call, const vd_appraise_request_t *areq)
{
    vd_error_t err = {0};
    /* Not calloc: vd_appraise zeroes all 53 KB of it first thing, whatever it returns. */
    vd_appraise_result_t *r = malloc(sizeof(*r));
    if (r == NULL) {
        vd_api_problem(call->resp, 503, "out of memory");
        return NULL;
    }
    char client[64];
    vd_appraise_request_t req = *areq;
    req.client = budget_client(call, client, sizeof(client));
    vd_err_t rc = vd_appraise(call->api->c.appraiser, &req, r, &err);
    if (rc == VD_OK && r->outcome == VD_OUTCOME_COLLATERAL && r->refused != VD_REFUSED_NONE) {
        /* KDS was not asked, or is rate limiting us: come back later, no token. The client
         * over its own budget gets 429; the others are the service's state (503). */
        vd_api_problem(call->resp, r->refused == VD_REFUSED_CLIENT_BUDGET ? 429 : 503,
                       "collateral unavailable: %s%s", r->problem,
                       r->refused == VD_REFUSED_KDS_THROTTLED ? " (KDS is rate limiting)" : "");
        retry_after(call, r->retry_after_ms, 10);
    } else if (rc == VD_E_CONFIG) {
        vd_api_problem(call->resp, 404, "%s", err.msg); /* no such policy */
    } else if (rc != VD_OK) {
        vd_api_problem(call->resp, 500, "the appraisal could not be made: %s", err.msg);
    } else if (r->outcome == VD_OUTCOME_BAD_EVIDENCE) {
        vd_api_problem(call->resp, 400, "evidence: %s", r->problem);
    } else {
        return r;
    }
    free(r);
    return NULL;
}

/*
 * The answer {"status", "token", "policy_applied", "genuine", "appraisal" (left out when NULL)},
 * as json_pack("{s:s, s:s, s:b, s:o, s:o*}") built it, member by member: json_pack parsed its
 * format and checked the UTF-8 of the token (kilobytes of base64url and dots, ASCII by
 * construction) on every answer. Takes `genuine` and `appraisal`; NULL when out of memory.
 */
static json_t *attest_answer(const char *status, const char *token, int policy_applied,
                             json_t *genuine, json_t *appraisal)
{
    static const char *const names[] = {"status", "token", "policy_applied", "genuine",
                                        "appraisal"};
    json_t *values[] = {json_string_nocheck(status), json_string_nocheck(token),
                        json_boolean(policy_applied), genuine, appraisal};
    /* No appraisal (the last member): no member. */
    return vd_json_object_of(names, values, appraisal != NULL ? 5 : 4);
}

/* The answer is ready to go once its audit record is committed (the callers below). */
typedef struct signed_result {
    vd_appraise_result_t *r;
    vd_tier_t status; /* the token's */
    int64_t t0;       /* µs, when the appraisal began */
    int64_t us;       /* appraisal, token and answer */
} signed_result_t;

/* Appraise, sign, and build the answer; the audit record is the caller's to make. 0 with
 * *token, *result and `out` set (out->r to free), or -1 with the response saying why. */
static int appraise_and_answer(vd_api_call_t *call, const vd_appraise_request_t *areq, char **token,
                               json_t **result, signed_result_t *out)
{
    vd_api_t *api = call->api;
    vd_error_t err = {0};
    *token = NULL;
    *result = NULL;
    int64_t t0 = now_us();
    vd_appraise_result_t *r = vd_api_appraise(call, areq);
    if (r == NULL) {
        return -1;
    }
    /* The status the token carries (the AR4SI invariant); the answer reports the same. */
    vd_tier_t status = vd_ear_final_status(r->status, &r->appraisal.tvec);
    if (r->outcome == VD_OUTCOME_COLLATERAL &&
        vd_api_cfg(api)->collateral_unavailable == VD_COLLATERAL_503) {
        vd_api_problem(call->resp, 503, "collateral unavailable: %s", r->snp.missing);
        retry_after(call, r->retry_after_ms, 10);
        count_appraisal(api, status, now_us() - t0);
        goto fail;
    }
    json_t *genuine = vd_appraise_result_json(r, areq->at);
    if (genuine == NULL) {
        vd_api_problem(call->resp, 500, "out of memory");
        goto fail;
    }
    if (sign_result(call, areq, r, genuine, token, &err) != VD_OK) {
        json_decref(genuine);
        vd_api_problem(call->resp, 503, "the result could not be signed: %s", err.msg);
        goto fail;
    }
    json_t *appraisal = json_object_get(genuine, "appraisal");
    json_incref(appraisal);
    json_object_del(genuine, "appraisal");
    *result = attest_answer(vd_tier_name(status), *token, r->policy_applied, genuine, appraisal);
    if (*result == NULL) {
        free(*token);
        *token = NULL;
        vd_api_problem(call->resp, 500, "out of memory");
        goto fail;
    }
    out->r = r;
    out->status = status;
    out->t0 = t0;
    out->us = now_us() - t0;
    return 0;
fail:
    free(r);
    return -1;
}

/* The record could not be committed: what was built is not sent. */
static void unrecorded(vd_http_response_t *resp, const char *why)
{
    vd_api_problem(resp, 503, "the appraisal could not be recorded: %s", why);
    vd_api_header(resp, "retry-after", "5");
    resp->log_note[0] = '\0';
}

int vd_api_appraise_and_sign(vd_api_call_t *call, const vd_appraise_request_t *areq, char **token,
                             json_t **result)
{
    signed_result_t sr;
    if (appraise_and_answer(call, areq, token, result, &sr) != 0) {
        return -1;
    }
    vd_error_t err = {0};
    vd_err_t rc = VD_OK;
    /* Recorded before it is answered: an affirming result nobody can audit is not sent. */
    if (call->api->c.audit != NULL) {
        audit_record_t ar;
        audit_record(call, sr.r, sr.status, sr.us, &ar);
        rc = vd_audit_append(call->api->c.audit, &ar.rec, &err);
    }
    free(sr.r);
    if (rc != VD_OK) {
        json_decref(*result);
        *result = NULL;
        free(*token);
        *token = NULL;
        unrecorded(call->resp, err.msg);
        return -1;
    }
    count_appraisal(call->api, sr.status, now_us() - sr.t0);
    snprintf(call->resp->log_note, sizeof(call->resp->log_note), "%s", vd_tier_name(sr.status));
    return 0;
}

/* A /v1/attest answer waiting for its audit commit (vd_server_defer). */
typedef struct attest_pending {
    vd_api_t *api;
    vd_http_response_t *resp;
    vd_http_deferred_t *d;
    const char *route;
    vd_tier_t status;
    int64_t t0;
} attest_pending_t;

/* The audit writer (or its watchdog) reports the commit: the answer goes, or a 503 instead. */
static void attest_recorded(void *ud, vd_err_t rc, const char *msg)
{
    attest_pending_t *p = ud;
    if (rc != VD_OK) {
        unrecorded(p->resp, msg);
    } else {
        count_appraisal(p->api, p->status, now_us() - p->t0);
    }
    vd_api_metrics_request(p->api, p->route, p->resp->status);
    vd_http_deferred_t *d = p->d;
    free(p);
    vd_server_complete(d);
}

/*
 * /v1/attest: the answer is built, then its record submitted; the worker moves on and the
 * answer leaves when the commit is reported (attest_recorded). Sets call->deferred when it
 * did so: `resp` is then no longer the caller's to touch. Without a deferrable request (inline)
 * or without memory for the pending state, it waits for the commit as the other routes do.
 */
static void attest_answer_recorded(vd_api_call_t *call, const vd_appraise_request_t *areq)
{
    char *token = NULL;
    json_t *result = NULL;
    signed_result_t sr;
    vd_audit_t *audit = call->api->c.audit;
    attest_pending_t *p = audit != NULL ? malloc(sizeof(*p)) : NULL;
    vd_http_deferred_t *d = p != NULL ? vd_server_defer(call->resp) : NULL;
    if (d == NULL) {
        free(p);
        if (vd_api_appraise_and_sign(call, areq, &token, &result) == 0) {
            vd_api_json(call->resp, 200, result);
            free(token);
        }
        return;
    }
    call->deferred = 1;
    if (appraise_and_answer(call, areq, &token, &result, &sr) != 0) {
        free(p);
        vd_api_metrics_request(call->api, call->route->pattern, call->resp->status);
        vd_server_complete(d);
        return;
    }
    free(token);
    snprintf(call->resp->log_note, sizeof(call->resp->log_note), "%s", vd_tier_name(sr.status));
    vd_api_json(call->resp, 200, result);
    *p = (attest_pending_t){.api = call->api,
                            .resp = call->resp,
                            .d = d,
                            .route = call->route->pattern,
                            .status = sr.status,
                            .t0 = sr.t0};
    audit_record_t ar;
    vd_error_t err = {0};
    audit_record(call, sr.r, sr.status, sr.us, &ar);
    vd_err_t rc = vd_audit_submit(audit, &ar.rec, attest_recorded, p, &err); /* copies it */
    free(sr.r);
    if (rc != VD_OK) {
        attest_recorded(p, rc, err.msg);
    }
}

/* The request's challenge, if any: redeemed (single use), its 64 bytes become the nonce that
 * REPORT_DATA must bind. Returns 0 when the request may go on, -1 after answering: a challenge
 * that was not issued here, has expired or was already used never reaches an appraisal. */
static int use_challenge(vd_api_call_t *call, vd_attest_req_t *req)
{
    if (req->challenge == NULL) {
        return 0;
    }
    uint8_t raw[VD_CHALLENGE_LEN];
    int64_t expires = 0;
    vd_challenge_status_t st =
        vd_challenge_redeem(call->api->c.challenges, req->challenge, strlen(req->challenge),
                            (int64_t)time(NULL), raw, &expires);
    if (st != VD_CHALLENGE_OK) {
        vd_api_problem(call->resp, st == VD_CHALLENGE_BUSY ? 503 : 400, "challenge: %s",
                       vd_challenge_status_str(st));
        return -1;
    }
    if (req->nonce != NULL &&
        (req->nonce_len != sizeof(raw) || CRYPTO_memcmp(req->nonce, raw, sizeof(raw)) != 0)) {
        vd_api_problem(call->resp, 400, "\"nonce\" and \"challenge\" disagree; give one");
        return -1;
    }
    free(req->nonce);
    req->nonce = malloc(sizeof(raw));
    if (req->nonce == NULL) {
        vd_api_problem(call->resp, 503, "out of memory");
        return -1;
    }
    memcpy(req->nonce, raw, sizeof(raw));
    req->nonce_len = sizeof(raw);
    return 0;
}

void vd_api_attest(vd_api_call_t *call)
{
    vd_attest_req_t req;
    vd_error_t err = {0};
    vd_appraise_request_t areq;
    json_t *doc = vd_api_body_json(call);
    if (doc == NULL) {
        return;
    }
    if (vd_attest_req_decode(doc, NULL, &req, &err) != VD_OK) {
        vd_api_problem(call->resp, err.code == VD_E_NOMEM ? 503 : 400, "%s", err.msg);
        goto out;
    }
    if (use_challenge(call, &req) != 0) {
        goto out;
    }
    vd_attest_req_to_appraise(&req, &areq);
    areq.budget_ms = VD_API_COLLATERAL_BUDGET_MS;
    attest_answer_recorded(call, &areq);
out:
    vd_attest_req_free(&req);
    json_decref(doc);
}

void vd_api_policy_dry_run(vd_api_call_t *call)
{
    static const char *const extra[] = {NULL};
    vd_attest_req_t req;
    vd_error_t err = {0};
    vd_appraise_request_t areq;
    vd_policy_t *policy = NULL;
    memset(&req, 0, sizeof(req));
    json_t *doc = vd_api_body_json(call);
    if (doc == NULL) {
        return;
    }
    int unsaved = call->route->id == VD_R_POLICIES_TEST;
    if (unsaved) {
        json_t *yaml = json_object_get(doc, "policy");
        if (!json_is_string(yaml)) {
            vd_api_problem(call->resp, 400, "\"policy\" must be the policy's YAML text");
            goto out;
        }
        if (vd_policy_compile(json_string_value(yaml), json_string_length(yaml), "policy", &policy,
                              &err) != VD_OK) {
            vd_api_policy_problem(call->resp, err.msg);
            goto out;
        }
        json_object_del(doc, "policy");
    } else if (json_object_get(doc, "policy") != NULL) {
        vd_api_problem(call->resp, 400, "the policy is the one in the path; drop \"policy\"");
        goto out;
    }
    if (vd_attest_req_decode(doc, extra, &req, &err) != VD_OK) {
        vd_api_problem(call->resp, 400, "%s", err.msg);
        goto out;
    }
    if (req.challenge != NULL) {
        vd_api_problem(call->resp, 400, "a dry run takes \"nonce\", not \"challenge\"");
        goto out;
    }
    vd_attest_req_to_appraise(&req, &areq);
    areq.policy = policy;
    areq.policy_name = unsaved ? NULL : call->param;
    areq.budget_ms = VD_API_COLLATERAL_BUDGET_MS;
    vd_appraise_result_t *r = vd_api_appraise(call, &areq);
    if (r != NULL) {
        json_t *genuine = vd_appraise_result_json(r, areq.at);
        json_t *appraisal = json_object_get(genuine, "appraisal");
        json_incref(appraisal);
        json_object_del(genuine, "appraisal");
        vd_api_json(call->resp, 200,
                    json_pack("{s:s, s:b, s:b, s:o, s:o*}", "status", vd_tier_name(r->status),
                              "dry_run", 1, "policy_applied", r->policy_applied, "genuine", genuine,
                              "appraisal", appraisal));
    }
    free(r);
out:
    vd_policy_free(&policy);
    vd_attest_req_free(&req);
    json_decref(doc);
}

void vd_api_challenge(vd_api_call_t *call)
{
    char expires[32];
    vd_challenge_t c;
    vd_error_t err = {0};
    if (call->req->body_len > 0) {
        json_t *doc = vd_api_body_json(call);
        if (doc == NULL) {
            return;
        }
        size_t n = json_object_size(doc);
        json_decref(doc);
        if (n != 0) {
            vd_api_problem(call->resp, 400, "POST /v1/challenge takes no parameters");
            return;
        }
    }
    if (vd_challenge_issue(call->api->c.challenges, (int64_t)time(NULL), &c, &err) != VD_OK) {
        vd_api_problem(call->resp, 503, "no challenge could be made: %s", err.msg);
        return;
    }
    vd_api_json(call->resp, 200,
                json_pack("{s:s, s:s}", "nonce", c.b64, "expires_at",
                          vd_time_format_rfc3339((time_t)c.expires_at, expires, sizeof(expires))));
}
