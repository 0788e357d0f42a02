/*
 * verdict: one appraisal, end to end. The only place that orchestrates an appraisal: evidence
 * decoding, collecting certificates (evidence, certificate cache, KDS) and CRLs, the
 * verification core, the policy, and the result. `verdict verify`, `verdict policy test` and
 * every route of `verdict serve` call vd_appraise and only parse arguments for it and print or
 * encode its result (issue #7).
 *
 * It prints nothing and never exits. An appraiser is shared by many threads: vd_appraise may
 * run concurrently on one appraiser (the certificate cache and the policy set it holds are
 * thread-safe).
 */
#ifndef verdict__appraise_h
#define verdict__appraise_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "verdict/ar4si.h"
#include "verdict/certcache.h"
#include "verdict/certset.h"
#include "verdict/crl.h"
#include "verdict/error.h"
#include "verdict/policy.h"
#include "verdict/policyset.h"
#include "verdict/trust.h"
#include "verdict/verify.h"
#include "verdict/vtpm.h"

#define VD_APPRAISE_NONCE_MAX   1024
#define VD_APPRAISE_RUNTIME_MAX (256 * 1024)

/* What the appraiser shares between appraisals. Every pointer is borrowed and must outlive it. */
typedef struct vd_appraiser_config {
    const vd_trust_t *trust;    /* pinned ARKs + configured extra roots; NULL = AMD pins only */
    vd_certcache_t *cache;      /* NULL: only the certificates that come with the request */
    vd_policyset_t *policies;   /* NULL: policies can only be given compiled, per request */
    const char *default_policy; /* applied when a request names none; NULL or "" = none */
    const char *kds_base;       /* for "would come from" messages; NULL = the cache's or AMD's */
    vd_crl_mode_t crl_mode;     /* no fresh CRL: fail-open (default), fail-closed, off */
} vd_appraiser_config_t;

typedef struct vd_appraiser vd_appraiser_t;

/** New appraiser; VD_E_NOMEM. Free with vd_appraiser_free (no appraisal may be running). */
vd_err_t vd_appraiser_new(const vd_appraiser_config_t *cfg, vd_appraiser_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_appraiser_free(vd_appraiser_t **pp);

/*
 * One request. The evidence is either `evidence` (raw 1184 bytes, hex text or a configfs-tsm
 * JSON envelope, as `verify --report` reads it) or already split into `report` and
 * `cert_table`; either may also be Azure vTPM evidence (Trustee's JSON v0/v1/v2 or a raw HCL
 * report, detected by content: vtpm.h), whose VCEK travels inside it; `certs` are extra candidate
 * certificates (untrusted). When `certs_only` is set, nothing is looked up in the cache or KDS
 * (`verify --certs`), but a CRL already cached is used.
 */
typedef struct vd_appraise_request {
    const uint8_t *evidence;
    size_t evidence_len;
    const uint8_t *report; /* used when evidence is NULL */
    size_t report_len;
    const uint8_t *cert_table; /* NULL = none; overrides the envelope's auxblob when set */
    size_t cert_table_len;
    const vd_certset_t *certs; /* may be NULL */
    int certs_only;
    /* CRLs given by the caller (--crl-file); may be NULL. Untrusted: the core counts only a CRL
     * the chain's ARK signed. The cache's CRLs for the report are added to them. */
    X509_CRL *const *crls;
    size_t n_crls;

    const uint8_t *nonce; /* expected in REPORT_DATA (vTPM evidence: the quote's extraData and,
                             for v2, user-data); always checked when given */
    size_t nonce_len;
    const uint8_t *runtime_data; /* bound with the nonce (policy's freshness mode) */
    size_t runtime_data_len;
    /* vTPM evidence only: how the nonce (and runtime data) become the quote's qualifying data
     * (vtpm.h). EXACT (0) compares the nonce as it is; SHA384 expects SHA-384(nonce || runtime
     * data), the binding of a verdict challenge. Bare SNP evidence ignores it. */
    vd_vtpm_binding_t vtpm_binding;

    /* The policy: an explicit compiled one (a file, an unsaved dry run) wins over a name,
     * which is looked up in the appraiser's policy set; neither = the default policy, if any. */
    const vd_policy_t *policy;
    const char *policy_name;
    int no_policy; /* genuineness only, even if a default policy is configured */

    time_t at;                 /* the appraisal time (certificate validity, CRL freshness) */
    vd_product_t product_hint; /* product of a v2 report, when no certificate names it */
    long budget_ms;            /* how long it may wait for its own chip's certificates */
    /* Who asks, for the budget of cold fetches (vd_certcache_cold_admit: the peer address of
     * a service's request). NULL: no admission at all (the CLI). */
    const char *client;
} vd_appraise_request_t;

/* Why a collateral outcome was not even tried, for callers that map it to HTTP. */
typedef enum vd_appraise_refusal {
    VD_REFUSED_NONE = 0,
    VD_REFUSED_CLIENT_BUDGET, /* the client's cold-fetch budget is spent (HTTP 429) */
    VD_REFUSED_BUSY,          /* the cap on concurrent cold fetches is reached (HTTP 503) */
    VD_REFUSED_KDS_THROTTLED, /* KDS rate limits us: our limiter or its Retry-After (503) */
} vd_appraise_refusal_t;

/* Why an appraisal is not affirming, for callers that map it to exit codes or HTTP. */
typedef enum vd_appraise_outcome {
    VD_OUTCOME_AFFIRMING = 0, /* genuine and the policy (if any) affirms */
    VD_OUTCOME_NOT_AFFIRMING, /* genuine, but the policy's status is warning/contraindicated;
                                 or genuineness unknown (snp COLLATERAL_MISSING) and the policy
                                 contraindicates the report's own claims, so nothing was
                                 fetched (check "appraisal.genuineness" says so) */
    VD_OUTCOME_REJECTED,      /* not genuine (a check failed, malformed evidence) */
    VD_OUTCOME_COLLATERAL,    /* a needed certificate or CRL could not be obtained */
    VD_OUTCOME_BAD_EVIDENCE,  /* the envelope itself does not decode (input error) */
} vd_appraise_outcome_t;

typedef struct vd_appraise_result {
    vd_appraise_outcome_t outcome;
    vd_snp_result_t snp;      /* genuineness: every core check, the decoded report */
    vd_appraisal_t appraisal; /* policy checks, trust vector, status */
    vd_tier_t status;         /* the EAR status of the whole appraisal */
    int policy_applied;       /* 0: genuineness only (the token says no policy was applied) */
    char policy_name[VD_POLICY_NAME_MAX];
    int policy_version;            /* 0 for a policy that is not from the store */
    int64_t retry_after_ms;        /* collateral: when a retry may succeed, 0 = unknown */
    vd_appraise_refusal_t refused; /* collateral: why KDS was not (or could not be) asked */
    /* BAD_EVIDENCE: what is wrong with the envelope. Otherwise, when not empty: why the
     * certificate cache or KDS could not supply a certificate (a warning unless the outcome
     * is COLLATERAL; also appended to snp.missing then). */
    char problem[512];
    uint8_t report_sha256[32]; /* of the report bytes, for audit records */
    int has_report_digest;
    /* Azure vTPM evidence (verifier/vtpm/README.md): its checks are in snp.checks, its claims
     * (PCRs, vm-configuration, quote) here; they mean something only when snp is GENUINE. */
    int has_vtpm;
    vd_vtpm_result_t vtpm;
} vd_appraise_result_t;

/**
 * Appraise one request. Everything that can be judged without KDS is judged first: the
 * certificates come from the request, the evidence and the cache (memory, SQLite), and when
 * that is not enough the core and the policy run on what there is. KDS is asked (within
 * `budget_ms`, after vd_certcache_cold_admit for `client`) only when neither decides: evidence
 * whose own VCEK does not verify the report, a bad field or an untrusted chain is rejected, and
 * a report whose claims the policy contraindicates is not affirming (signature not checked),
 * both without a fetch. Returns VD_OK whenever a result was produced, whatever it says
 * (including BAD_EVIDENCE and COLLATERAL); an error only for VD_E_NOMEM, VD_E_INTERNAL,
 * VD_E_TOO_LARGE (nonce or runtime data over the limits above), or VD_E_CONFIG when the named
 * policy does not exist (or there is no policy set to look it up in). On an error `out` is
 * never affirming. `out` is large: allocate it.
 */
vd_err_t vd_appraise(vd_appraiser_t *a, const vd_appraise_request_t *req, vd_appraise_result_t *out,
                     vd_error_t *err) __attribute__((warn_unused_result));

/** "affirming", "not-affirming", "rejected", "collateral-unavailable", "bad-evidence". */
const char *vd_appraise_outcome_str(vd_appraise_outcome_t o);

/**
 * The result as the JSON object `verify --json` prints and `/v1/attest` returns under
 * "genuine"/"appraisal": every string that comes from the evidence is valid UTF-8 (escaped).
 * "status" is the genuineness (as before), "outcome" the whole appraisal
 * (vd_appraise_outcome_str: what a relying party acts on). "appraisal" is present when a policy
 * was applied or a nonce/runtime data was checked
 * without one ("policy": null). BAD_EVIDENCE: "status" is "bad-evidence". New reference;
 * NULL only when out of memory.
 */
json_t *vd_appraise_result_json(const vd_appraise_result_t *r, time_t at);

#endif
