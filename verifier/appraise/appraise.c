/*
 * One appraisal, end to end (include/verdict/appraise.h): decode the evidence, collect the
 * certificates (request, evidence, cache, KDS), run the pure core, check revocation, evaluate
 * the policy and the freshness binding, and fold everything into one result.
 *
 * Nothing here prints, exits or keeps state between calls: every appraisal owns its buffers,
 * and what it shares (the cache, the policy set, the trust set) is thread-safe or read-only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "verdict/appraise.h"
#include "verdict/certtable.h"
#include "verdict/chain.h"
#include "verdict/evidence.h"
#include "verdict/report.h"
#include "appraise_vtpm.h"

struct vd_appraiser {
    vd_appraiser_config_t cfg;
    char default_policy[VD_POLICY_NAME_MAX];
    vd_chain_memo_t *memo; /* signatures already verified, shared by every appraisal (chain.h) */
};

vd_err_t vd_appraiser_new(const vd_appraiser_config_t *cfg, vd_appraiser_t **out, vd_error_t *err)
{
    vd_appraiser_t *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (a == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    if (cfg != NULL) {
        a->cfg = *cfg;
        if (cfg->default_policy != NULL) {
            if (strlen(cfg->default_policy) >= sizeof(a->default_policy)) {
                free(a);
                return VD_ERR(err, VD_E_CONFIG, "default policy name longer than %d bytes",
                              VD_POLICY_NAME_MAX - 1);
            }
            snprintf(a->default_policy, sizeof(a->default_policy), "%s", cfg->default_policy);
        }
    }
    a->cfg.default_policy = a->default_policy;
    vd_err_t rc = vd_chain_memo_new(0, &a->memo, err);
    if (rc != VD_OK) {
        free(a);
        return rc;
    }
    *out = a;
    return VD_OK;
}

void vd_appraiser_free(vd_appraiser_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_chain_memo_free(&(*pp)->memo);
    free(*pp);
    *pp = NULL;
}

const char *vd_appraise_outcome_str(vd_appraise_outcome_t o)
{
    switch (o) {
    case VD_OUTCOME_AFFIRMING:
        return "affirming";
    case VD_OUTCOME_NOT_AFFIRMING:
        return "not-affirming";
    case VD_OUTCOME_REJECTED:
        return "rejected";
    case VD_OUTCOME_COLLATERAL:
        return "collateral-unavailable";
    case VD_OUTCOME_BAD_EVIDENCE:
        return "bad-evidence";
    }
    return "rejected";
}

/* Per-appraisal buffers, released in one place. */
typedef struct work {
    vd_evidence_t ev;
    uint8_t report[VD_SNP_REPORT_SIZE * 2];
    const uint8_t *rbytes;
    size_t rlen;
    const uint8_t *table;
    size_t table_len;
    vd_certset_t *certs;
    const vd_policy_ref_t *ref;
    vd_appraise_vtpm_t vtpm; /* Azure vTPM evidence (appraise_vtpm.c); active = 0 otherwise */
} work_t;

/* Text that is only hex digits and white space, with an odd number of digits: a truncated or
 * corrupted hex report, which deserves its own message rather than "wrong length". */
static int odd_hex(const uint8_t *p, size_t len, size_t *digits)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
            n++;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') {
            return 0;
        }
    }
    *digits = n;
    return n % 2 == 1;
}

static void bad_evidence(vd_appraise_result_t *out, const char *problem)
{
    out->outcome = VD_OUTCOME_BAD_EVIDENCE;
    snprintf(out->problem, sizeof(out->problem), "%s", problem);
    /* Never affirming: the core result says rejected with the reason as its only check. */
    out->snp.status = VD_SNP_REJECTED;
    vd_checks_add(&out->snp.checks, "evidence.format", VD_CHECK_FAIL, "%s", out->problem);
    out->status = VD_TIER_CONTRAINDICATED;
    out->appraisal.status = VD_TIER_CONTRAINDICATED;
}

/* The report bytes and the cert table, from whichever form the evidence came in. 0, or -1
 * after recording BAD_EVIDENCE in `out`. */
static int decode_evidence(const vd_appraise_request_t *req, work_t *w, vd_appraise_result_t *out)
{
    vd_error_t e = {0};
    const uint8_t *p = req->evidence;
    size_t len = req->evidence_len;
    if (p == NULL) {
        p = req->report;
        len = req->report != NULL ? req->report_len : 0;
    }
    /* Azure vTPM evidence first: it is JSON too, but not a configfs-tsm envelope. */
    char problem[sizeof(out->problem)];
    int vt = vd_appraise__vtpm_decode(p, len, &w->vtpm, problem, sizeof(problem));
    if (vt < 0) {
        bad_evidence(out, problem);
        return -1;
    }
    if (vt > 0) {
        w->rbytes = vd_vtpm_snp_report(&w->vtpm.ev, &w->rlen);
        if (w->rbytes == NULL) {
            w->rbytes = (const uint8_t *)""; /* too short for a report: the core rejects it */
            w->rlen = 0;
        }
        w->table = req->cert_table; /* a table given beside it (--cert-table), if any */
        w->table_len = req->cert_table_len;
        return 0;
    }
    if (req->evidence == NULL) {
        /* already split: no envelope to open */
    } else if (vd_evidence_is_json(p, len) || vd_evidence_is_cbor_map(p, len)) {
        /* A configfs-tsm envelope (JSON or CBOR): outblob is the report, auxblob the table. */
        vd_err_t rc = vd_evidence_is_json(p, len) ? vd_evidence_parse_tsm_json(p, len, &w->ev, &e)
                                                  : vd_evidence_parse_tsm_cbor(p, len, &w->ev, &e);
        if (rc != VD_OK) {
            bad_evidence(out, e.msg);
            return -1;
        }
        p = w->ev.report;
        len = w->ev.report_len;
        w->table = w->ev.cert_table;
        w->table_len = w->ev.cert_table_len;
    }
    if (p == NULL) {
        bad_evidence(out, "no evidence: neither a report nor an envelope was given");
        return -1;
    }
    size_t digits = 0;
    if (len != VD_SNP_REPORT_SIZE && odd_hex(p, len, &digits)) {
        char what[96];
        snprintf(what, sizeof(what), "the report is hex text with an odd number of digits (%zu)",
                 digits);
        bad_evidence(out, what);
        return -1;
    }
    /* Raw bytes or hex text. Anything else goes to the core as it is: a wrong length is a
     * rejection with a reason, not an input error. */
    if (vd_snp_report_from_file_bytes(p, len, w->report, sizeof(w->report), &w->rlen) == 0) {
        w->rbytes = w->report;
    } else {
        w->rbytes = p;
        w->rlen = len;
    }
    if (req->cert_table != NULL) {
        w->table = req->cert_table; /* overrides the envelope's auxblob */
        w->table_len = req->cert_table_len;
    }
    return 0;
}

/* The request's certificates, then the Azure vTPM evidence's and the cert table's, into
 * w->certs. *use_cache: whether the cache may add to them (not for --certs, nor for evidence
 * that carries its own VCEK). */
static vd_err_t gather(vd_appraiser_t *a, const vd_appraise_request_t *req, work_t *w,
                       int *use_cache, vd_error_t *err)
{
    vd_error_t e = {0};
    vd_err_t rc = vd_certset_new(&w->certs, err);
    *use_cache = 1;
    for (size_t i = 0; rc == VD_OK && req->certs != NULL && i < vd_certset_count(req->certs); i++) {
        rc = vd_certset_add_x509(w->certs, vd_certset_get(req->certs, i),
                                 vd_certset_origin(req->certs, i), err);
    }
    if (rc == VD_OK && w->vtpm.active) {
        rc = vd_appraise__vtpm_certs(&w->vtpm, w->certs, use_cache, err);
    }
    if (rc != VD_OK || req->certs_only || a->cfg.cache == NULL || !*use_cache) {
        *use_cache = 0;
        return rc;
    }
    /* The cert table's certificates are evidence too: the cache looks them up first. A table
     * that does not parse is left to the core, which names the problem. */
    vd_certtable_t t;
    if (w->table != NULL && vd_certtable_parse(w->table, w->table_len, &t, &e) == VD_OK) {
        for (size_t i = 0; i < t.count; i++) {
            vd_certtable_kind_t k = t.entries[i].kind;
            if (k == VD_CERTTABLE_VCEK || k == VD_CERTTABLE_VLEK || k == VD_CERTTABLE_ASK ||
                k == VD_CERTTABLE_ARK) {
                vd_error_t e2 = {0};
                (void)vd_certset_add_blob(w->certs, t.entries[i].data, t.entries[i].len,
                                          "cert table", &e2);
            }
        }
    }
    return VD_OK;
}

/* What the cache adds to w->certs: with `cached_only` from the evidence, memory and SQLite
 * only, else also from KDS within the request's budget. A certificate that cannot be obtained is
 * noted in out->problem, not an error (the core then says what is missing). */
static vd_err_t from_cache(vd_appraiser_t *a, const vd_appraise_request_t *req, work_t *w,
                           int cached_only, vd_appraise_result_t *out, vd_error_t *err)
{
    vd_error_t e = {0};
    vd_certset_t *found = NULL;
    out->problem[0] = '\0';
    out->retry_after_ms = 0;
    if (vd_certset_new(&found, err) != VD_OK) {
        return VD_E_NOMEM;
    }
    vd_err_t rc = vd_certcache_collect(
        a->cfg.cache, w->rbytes, w->rlen, w->certs, req->product_hint,
        cached_only ? VD_CERTCACHE_NO_WAIT : req->budget_ms, found, &out->retry_after_ms, &e);
    for (size_t i = 0; i < vd_certset_count(found); i++) {
        vd_error_t e2 = {0};
        (void)vd_certset_add_x509(w->certs, vd_certset_get(found, i), vd_certset_origin(found, i),
                                  &e2);
    }
    vd_certset_free(&found);
    if (rc == VD_E_COLLATERAL_UNAVAILABLE) {
        snprintf(out->problem, sizeof(out->problem), "%s", e.msg);
        return VD_OK;
    }
    if (rc != VD_OK) {
        return VD_ERR(err, rc, "certificate cache: %s", e.msg);
    }
    return VD_OK;
}

/*
 * The CRLs the core judges revocation with: the caller's (--crl-file), then what the cache has
 * for the report's product (with certs_only, only what is already cached: nothing is fetched).
 * More than the list holds is an error: a CRL left out might be the one that revokes.
 */
static vd_err_t crls_for(vd_appraiser_t *a, const vd_appraise_request_t *req, const work_t *w,
                         int no_fetch, vd_crl_list_t *out, vd_error_t *err)
{
    vd_crl_list_t cached;
    vd_error_t e = {0};
    memset(&cached, 0, sizeof(cached));
    if (a->cfg.crl_mode == VD_CRL_OFF) {
        return VD_OK;
    }
    if (req->n_crls > VD_CRLS_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "more than %d CRLs given", VD_CRLS_MAX);
    }
    for (size_t i = 0; i < req->n_crls; i++) {
        X509_CRL_up_ref(req->crls[i]);
        out->crls[out->n++] = req->crls[i];
    }
    if (a->cfg.cache == NULL ||
        vd_certcache_get_crls_for_report(a->cfg.cache, w->rbytes, w->rlen, req->product_hint,
                                         req->budget_ms, no_fetch || req->certs_only, &cached,
                                         &e) != VD_OK) {
        return VD_OK; /* the core then says which CRL is not known */
    }
    if (cached.overflow || out->n + cached.n > VD_CRLS_MAX) {
        vd_crl_list_free(&cached);
        return VD_ERR(err, VD_E_TOO_LARGE,
                      "more than %d CRLs (given and cached): refusing to appraise with some left "
                      "out",
                      VD_CRLS_MAX);
    }
    for (size_t i = 0; i < cached.n; i++) {
        X509_CRL_up_ref(cached.crls[i]);
        out->crls[out->n++] = cached.crls[i];
    }
    snprintf(out->note, sizeof(out->note), "%s", cached.note);
    vd_crl_list_free(&cached);
    return VD_OK;
}

/* The policy of the request: explicit, named, or the default; NULL for none. */
static vd_err_t resolve_policy(vd_appraiser_t *a, const vd_appraise_request_t *req, work_t *w,
                               const vd_policy_t **policy, vd_appraise_result_t *out,
                               vd_error_t *err)
{
    *policy = NULL;
    if (req->policy != NULL) {
        *policy = req->policy;
        snprintf(out->policy_name, sizeof(out->policy_name), "%s", vd_policy_name(req->policy));
        return VD_OK;
    }
    if (req->no_policy) {
        return VD_OK;
    }
    const char *name = req->policy_name != NULL && req->policy_name[0] != '\0'
                           ? req->policy_name
                           : a->cfg.default_policy;
    if (name == NULL || name[0] == '\0') {
        return VD_OK;
    }
    if (a->cfg.policies == NULL) {
        return VD_ERR(err, VD_E_CONFIG, "no policy store: cannot apply policy \"%.64s\"", name);
    }
    vd_err_t rc = vd_policyset_get(a->cfg.policies, name, &w->ref, err);
    if (rc != VD_OK) {
        return rc;
    }
    *policy = w->ref->policy;
    snprintf(out->policy_name, sizeof(out->policy_name), "%s", w->ref->name);
    out->policy_version = w->ref->version;
    return VD_OK;
}

static void work_free(vd_appraiser_t *a, work_t *w)
{
    if (w->ref != NULL) {
        vd_policyset_release(a->cfg.policies, &w->ref);
    }
    vd_certset_free(&w->certs);
    vd_evidence_free(&w->ev);
}

/*
 * Whether `policy` contraindicates the report whatever its signature says: the policy run on
 * the core's result as if it were genuine. A signature can only make the answer worse
 * (rejected), so such a report needs no certificate from KDS. *out gets that appraisal with
 * nothing affirming left in it (every claim below "warning" becomes "no claim") and a check
 * saying genuineness was not established. 0 when the policy does not contraindicate.
 */
static int policy_contraindicates(const vd_policy_t *policy, const vd_snp_result_t *snp,
                                  const vd_policy_input_t *pin, vd_appraisal_t *out)
{
    vd_snp_result_t *as_if = malloc(sizeof(*as_if));
    if (as_if == NULL || policy == NULL || !snp->report_parsed ||
        snp->product == VD_PRODUCT_UNKNOWN) {
        free(as_if);
        return 0;
    }
    *as_if = *snp;
    as_if->status = VD_SNP_GENUINE;
    vd_policy_evaluate(policy, as_if, pin, out);
    free(as_if);
    for (int i = 0; i < VD_CLAIM__COUNT; i++) {
        if (out->tvec.claims[i] >= VD_AR_AFFIRMING && out->tvec.claims[i] < VD_AR_WARNING) {
            out->tvec.claims[i] = VD_AR_NO_CLAIM;
        }
    }
    out->status = vd_tvec_status(&out->tvec);
    if (out->status != VD_TIER_CONTRAINDICATED) {
        return 0;
    }
    vd_checks_add(&out->checks, "appraisal.genuineness", VD_CHECK_SKIP,
                  "not established: the report's signature was not checked, because the policy "
                  "contraindicates the report's own claims; no certificate was fetched from KDS "
                  "for it");
    return 1;
}

static const char *refusal_text(vd_cold_verdict_t v)
{
    switch (v) {
    case VD_COLD_CLIENT_BUDGET:
        return "this client's budget of appraisals that need KDS (uncached chips) is spent";
    case VD_COLD_BUSY:
        return "too many appraisals are waiting for KDS at once";
    default:
        return "KDS is rate limiting this service";
    }
}

/*
 * The certificates the evidence and the cache hold were not enough (out->problem says what
 * KDS would have to give). Judge what there is before asking KDS: the core with the cached
 * CRLs, then the policy. *decided: 1 when that is the answer (rejected, contraindicated by the
 * policy, or refused a fetch: out->refused), 0 when the appraisal goes on with what KDS gave.
 */
static vd_err_t before_fetch(vd_appraiser_t *a, const vd_appraise_request_t *req, work_t *w,
                             const vd_policy_t *policy, const vd_policy_input_t *pin,
                             vd_snp_input_t *in, vd_appraise_result_t *out, int *decided,
                             vd_error_t *err)
{
    vd_crl_list_t crls;
    memset(&crls, 0, sizeof(crls));
    *decided = 0;
    vd_err_t rc = crls_for(a, req, w, 1, &crls, err);
    if (rc == VD_OK) {
        in->crls = crls.crls;
        in->n_crls = crls.n;
        rc = vd_snp_verify(in, &out->snp, err);
        in->crls = NULL;
        in->n_crls = 0;
    }
    vd_crl_list_free(&crls);
    if (rc != VD_OK) {
        return rc;
    }
    if (out->snp.status == VD_SNP_REJECTED) {
        /* A failed check stays failed whatever KDS gives: the evidence's own VCEK does not
         * verify the report, a field is wrong, or the evidence's chain is not trusted. */
        *decided = 1;
    } else if (out->snp.status == VD_SNP_COLLATERAL_MISSING &&
               policy_contraindicates(policy, &out->snp, pin, &out->appraisal)) {
        *decided = 2;
    }
    if (*decided || out->snp.status == VD_SNP_GENUINE) {
        out->problem[0] = '\0'; /* nothing more was needed */
        out->retry_after_ms = 0;
        return VD_OK;
    }
    /* Every fetch of a service's appraisal is admitted. One for the same chip as an appraisal
     * already admitted (the same `what`) joins it: its single flight asks KDS once for both,
     * so it is neither charged nor capped. (A key merely in flight is no reason to skip
     * admission: a product's chain in flight for one chip would let another's VCEK through.) */
    int admit = req->client != NULL;
    uint8_t what[32];
    if (admit) {
        int64_t retry = 0;
        uint8_t id[sizeof(out->snp.report.chip_id) + 16];
        memcpy(id, out->snp.report.chip_id, sizeof(out->snp.report.chip_id));
        memcpy(id + sizeof(out->snp.report.chip_id), &out->snp.report.reported_tcb, 8);
        memcpy(id + sizeof(out->snp.report.chip_id) + 8, &out->snp.product, 4);
        memcpy(id + sizeof(out->snp.report.chip_id) + 12, &out->snp.signing_key, 4);
        SHA256(id, sizeof(id), what);
        vd_cold_verdict_t v = vd_certcache_cold_admit(a->cfg.cache, req->client, what, &retry);
        if (v != VD_COLD_ADMITTED) {
            out->refused = v == VD_COLD_CLIENT_BUDGET ? VD_REFUSED_CLIENT_BUDGET
                           : v == VD_COLD_BUSY        ? VD_REFUSED_BUSY
                                                      : VD_REFUSED_KDS_THROTTLED;
            out->retry_after_ms = retry;
            snprintf(out->problem, sizeof(out->problem),
                     "not fetched from KDS: %s (retry in %lld ms)", refusal_text(v),
                     (long long)retry);
            *decided = 1;
            return VD_OK;
        }
    }
    rc = from_cache(a, req, w, 0, out, err);
    if (admit) {
        vd_certcache_cold_done(a->cfg.cache, what);
    }
    if (rc == VD_OK && out->problem[0] != '\0') {
        int64_t t = vd_certcache_kds_throttled_ms(a->cfg.cache);
        if (t > 0) {
            out->refused = VD_REFUSED_KDS_THROTTLED;
            out->retry_after_ms = t > out->retry_after_ms ? t : out->retry_after_ms;
        }
    }
    return rc;
}

static int same_crls(const vd_crl_list_t *x, const vd_crl_list_t *y)
{
    if (x->n != y->n) {
        return 0;
    }
    for (size_t i = 0; i < x->n; i++) {
        if (x->crls[i] != y->crls[i]) {
            return 0;
        }
    }
    return 1;
}

/*
 * The core, with the CRLs the cache holds. A CRL is fetched from KDS (when one is due) only
 * once the rest of the evidence has verified, so that a forgery never makes the service ask
 * KDS for anything; the core then runs again with what came. `crls` gets the list used.
 */
static vd_err_t verify_with_crls(vd_appraiser_t *a, const vd_appraise_request_t *req, work_t *w,
                                 vd_snp_input_t *in, vd_crl_list_t *crls, vd_appraise_result_t *out,
                                 vd_error_t *err)
{
    vd_err_t rc = crls_for(a, req, w, 1, crls, err);
    if (rc != VD_OK) {
        return rc;
    }
    in->crls = crls->crls;
    in->n_crls = crls->n;
    rc = vd_snp_verify(in, &out->snp, err);
    /* Only for evidence that verified, or lacks nothing but a CRL (fail-closed): a report whose
     * certificates are still missing has nothing a CRL could decide. */
    int verified = out->snp.status == VD_SNP_GENUINE ||
                   (out->snp.status == VD_SNP_COLLATERAL_MISSING && out->problem[0] == '\0');
    if (rc != VD_OK || !verified || a->cfg.cache == NULL || req->certs_only ||
        !vd_certcache_crl_due(a->cfg.cache, out->snp.product,
                              out->snp.signing_key == VD_SNP_SIGNING_KEY_VLEK)) {
        return rc;
    }
    vd_crl_list_t fresh;
    memset(&fresh, 0, sizeof(fresh));
    rc = crls_for(a, req, w, 0, &fresh, err);
    if (rc != VD_OK || same_crls(&fresh, crls)) {
        vd_crl_list_free(&fresh);
        return rc;
    }
    vd_crl_list_free(crls);
    *crls = fresh;
    in->crls = crls->crls;
    in->n_crls = crls->n;
    return vd_snp_verify(in, &out->snp, err);
}

vd_err_t vd_appraise(vd_appraiser_t *a, const vd_appraise_request_t *req, vd_appraise_result_t *out,
                     vd_error_t *err)
{
    work_t w;
    const vd_policy_t *policy = NULL;
    vd_crl_list_t crls;
    vd_err_t rc;
    memset(&w, 0, sizeof(w));
    memset(&crls, 0, sizeof(crls));
    memset(out, 0, sizeof(*out));
    out->outcome = VD_OUTCOME_REJECTED;
    out->status = VD_TIER_CONTRAINDICATED;
    out->snp.status = VD_SNP_REJECTED;

    if ((req->nonce != NULL && req->nonce_len > VD_APPRAISE_NONCE_MAX) ||
        (req->runtime_data != NULL && req->runtime_data_len > VD_APPRAISE_RUNTIME_MAX)) {
        return VD_ERR(err, VD_E_TOO_LARGE,
                      "nonce or runtime data too large (at most %d and %d "
                      "bytes)",
                      VD_APPRAISE_NONCE_MAX, VD_APPRAISE_RUNTIME_MAX);
    }
    /* The policy first: an unknown name is the caller's error, before any work is done. */
    rc = resolve_policy(a, req, &w, &policy, out, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (decode_evidence(req, &w, out) != 0) {
        rc = VD_OK; /* a result: bad evidence */
        goto out;
    }
    SHA256(w.rbytes, w.rlen, out->report_sha256);
    out->has_report_digest = 1;
    int use_cache = 0, decided = 0;
    rc = gather(a, req, &w, &use_cache, err);
    if (rc == VD_OK && use_cache) {
        /* Without KDS first: the evidence, memory and SQLite. */
        rc = from_cache(a, req, &w, 1, out, err);
    }
    if (rc != VD_OK) {
        goto out;
    }

    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = w.rbytes;
    in.report_len = w.rlen;
    in.certs = w.certs;
    in.cert_table = w.table; /* non-NULL whenever a table was given, even if empty */
    in.cert_table_len = w.table_len;
    in.trust = a->cfg.trust;
    in.at = req->at;
    in.product_hint = req->product_hint;
    in.kds_base = a->cfg.kds_base != NULL && a->cfg.kds_base[0] != '\0' ? a->cfg.kds_base
                  : a->cfg.cache != NULL ? vd_certcache_kds_base(a->cfg.cache)
                                         : NULL;
    in.crl_mode = a->cfg.crl_mode;
    in.memo = a->memo;
    /* The policy, and the freshness binding of whatever nonce or runtime data was given: it is
     * checked with or without a policy (policy_eval.c). */
    vd_policy_input_t pin = {
        .nonce = req->nonce,
        .nonce_len = req->nonce_len,
        .runtime_data = req->runtime_data,
        .runtime_data_len = req->runtime_data_len,
        .vtpm = NULL, /* set below: its nonce is the quote's, not REPORT_DATA's */
    };
    if (use_cache && out->problem[0] != '\0' && vd_certcache_online(a->cfg.cache)) {
        /* KDS would be asked: judge what there is first. (Offline nothing is fetched, and the
         * answer is what the evidence and the cache alone give.) */
        rc = before_fetch(a, req, &w, policy, &pin, &in, out, &decided, err);
        if (rc != VD_OK) {
            goto out;
        }
    }
    if (!decided) {
        rc = verify_with_crls(a, req, &w, &in, &crls, out, err);
        if (rc == VD_OK && w.vtpm.active) {
            rc = vd_appraise__vtpm_check(&w.vtpm, req, out, err);
        }
        if (rc != VD_OK) {
            goto out;
        }
    }
    if (crls.note[0] != '\0' && out->snp.status == VD_SNP_COLLATERAL_MISSING) {
        size_t used = strlen(out->snp.missing);
        snprintf(out->snp.missing + used, sizeof(out->snp.missing) - used, "%s%s", used ? "; " : "",
                 crls.note);
    }
    if (out->problem[0] != '\0' && out->snp.status == VD_SNP_COLLATERAL_MISSING) {
        /* Why the cache could not help, in "missing" too. */
        size_t used = strlen(out->snp.missing);
        snprintf(out->snp.missing + used, sizeof(out->snp.missing) - used,
                 "%scertificate cache: %s", used ? "; " : "", out->problem);
    }

    pin.vtpm = out->has_vtpm ? &out->vtpm : NULL;
    out->policy_applied = policy != NULL;
    if (decided == 2) {
        /* Contraindicated by the policy before any fetch (before_fetch): not affirming. */
        out->status = out->appraisal.status;
        out->outcome = VD_OUTCOME_NOT_AFFIRMING;
        rc = VD_OK;
        goto out;
    }
    vd_policy_evaluate(policy, &out->snp, &pin, &out->appraisal);
    out->status = out->appraisal.status;
    switch (out->snp.status) {
    case VD_SNP_GENUINE:
        out->outcome = out->appraisal.status == VD_TIER_AFFIRMING ? VD_OUTCOME_AFFIRMING
                                                                  : VD_OUTCOME_NOT_AFFIRMING;
        break;
    case VD_SNP_COLLATERAL_MISSING:
        out->outcome = VD_OUTCOME_COLLATERAL;
        break;
    case VD_SNP_REJECTED:
        out->outcome = VD_OUTCOME_REJECTED;
        out->status = VD_TIER_CONTRAINDICATED;
        break;
    }
    rc = VD_OK;
out:
    if (rc != VD_OK) {
        /* No result: make sure nothing in `out` reads as affirming. */
        out->outcome = VD_OUTCOME_REJECTED;
        out->status = VD_TIER_CONTRAINDICATED;
        out->snp.status = VD_SNP_REJECTED;
    }
    vd_crl_list_free(&crls);
    vd_appraise__vtpm_free(&w.vtpm, out);
    work_free(a, &w);
    return rc;
}
