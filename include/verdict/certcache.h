/*
 * verdict: the certificate cache. Gets the AMD certificates an appraisal needs without making
 * KDS's rate limits and outages the reason an appraisal fails (issue #4, KDS.md section 5).
 *
 * Lookup order for each certificate: the evidence (report cert table, --certs), the in-memory
 * LRU of parsed, chain-verified certificates, the SQLite cache, then KDS (unless offline).
 * Concurrent misses for the same certificate make one KDS request (single flight); the others
 * wait for it, bounded by their own budget. Waiting is per certificate: a lookup waits only for
 * the fetch of what it needs (its chip's VCEK, its product's chain), never for the KDS rate
 * limiter, a Retry-After or another chip's fetch; a fetch that cannot be made now fails at once
 * with VD_E_COLLATERAL_UNAVAILABLE and says when to retry.
 *
 * Budgets (`budget_ms` below): > 0 the lookup may wait that long for its own fetch; 0 the
 * default (VD_CERTCACHE_DEFAULT_BUDGET_MS, what the CLI uses); VD_CERTCACHE_NO_WAIT (< 0) it
 * never fetches nor waits: memory and SQLite only, a miss is VD_E_COLLATERAL_UNAVAILABLE at
 * once with a retry time. A service answers requests with VD_CERTCACHE_NO_WAIT and hands each
 * miss to a fetcher thread that calls vd_certcache_prefetch.
 *
 * Everything loaded from SQLite or KDS is validated
 * against the pinned roots (vd_trust_t) before use, so a poisoned cache or a lying mirror can
 * only cause rejections; an entry that fails validation is dropped and refetched.
 *
 * The verification core stays pure: the cache only produces certificates and CRLs that the
 * caller hands to vd_snp_verify, which judges them. VLEKs are never fetched (only KDS's CSP
 * interface serves them); they come with the evidence or a bundle import.
 *
 * SQLite (the shared --db file, verifier/db/db.c migration 2, PRAGMA user_version, WAL):
 *   vcek(product, hwid, tcb, der, fetched_at, source)   key (product, hwid, tcb)
 *   vlek(product, tcb, spki, der, fetched_at, source)   key (product, tcb, spki)
 *   chain(product, key_type, pem, fetched_at)            key (product, key_type)
 *   crl(product, key_type, der, this_update, next_update, fetched_at)  newest per key only
 *   kds_state(k, v)                                       429 / breaker state across processes
 *
 * Thread-safety: every function may be called from any thread on one shared cache.
 */
#ifndef verdict__certcache_h
#define verdict__certcache_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "verdict/certset.h"
#include "verdict/error.h"
#include "verdict/kdsclient.h"
#include "verdict/product.h"
#include "verdict/tcb.h"
#include "verdict/trust.h"
#include "verdict/verify.h"

#define VD_CERTCACHE_DEFAULT_LRU       1024
#define VD_CERTCACHE_DEFAULT_BUDGET_MS 30000 /* per collect() when the caller gives none */
#define VD_CERTCACHE_NO_WAIT           (-1)  /* budget: memory and SQLite only, never KDS */
#define VD_CERTCACHE_RETRY_HINT_MS     1000  /* retry time of a NO_WAIT miss, at least */
#define VD_CERTCACHE_CRL_REFETCH_S     3600  /* at most one CRL refresh attempt per hour */
#define VD_CERTCACHE_CRL_MARGIN_S      86400 /* refresh a CRL this long before nextUpdate */
/* Cold fetches (vd_certcache_cold_admit): per client a token bucket of appraisals that may ask
 * KDS, and a cap on such appraisals at once. */
#define VD_CERTCACHE_COLD_BURST       5
#define VD_CERTCACHE_COLD_INTERVAL_MS 30000 /* one more cold appraisal per client per 30 s */
#define VD_CERTCACHE_COLD_CLIENTS     4096  /* clients remembered (bounded memory) */

typedef struct vd_certcache_config {
    const char *db_path;     /* SQLite file; NULL or "" = memory only. Copied. */
    const vd_trust_t *trust; /* pinned roots + extra anchors; borrowed, must outlive the cache */
    int offline;             /* never contact KDS */
    vd_kds_config_t kds;     /* ignored when offline */
    size_t lru_capacity;     /* 0 = VD_CERTCACHE_DEFAULT_LRU */
    vd_crl_mode_t crl_mode;  /* VD_CRL_OFF: get_crls returns none */
    long crl_refetch_s;      /* 0 = VD_CERTCACHE_CRL_REFETCH_S */
    long crl_margin_s;       /* 0 = VD_CERTCACHE_CRL_MARGIN_S */
    /* Cold fetches per client (vd_certcache_cold_admit): a burst, then one per interval.
     * 0 = the defaults above; cold_interval_ms < 0: no per-client budget. */
    unsigned cold_burst;
    long cold_interval_ms;
    unsigned cold_max_concurrent; /* cold appraisals fetching at once; 0 = 1 */
} vd_certcache_config_t;

/* Counters for /metrics. */
typedef struct vd_certcache_stats {
    uint64_t evidence_hits; /* endorsement key taken from the evidence */
    uint64_t memory_hits;
    uint64_t db_hits;
    uint64_t misses;  /* not in memory nor SQLite */
    uint64_t fetches; /* KDS fetches started (single-flight leaders) */
    uint64_t fetch_errors;
    uint64_t flight_waits;           /* lookups that waited for another thread's fetch */
    uint64_t invalid;                /* cached or fetched entries that failed validation */
    uint64_t stored;                 /* rows written to SQLite */
    uint64_t cold_admitted;          /* appraisals let through to fetch from KDS */
    uint64_t cold_refused_client;    /* refused: the client's cold budget was spent */
    uint64_t cold_refused_busy;      /* refused: cold_max_concurrent already fetching */
    uint64_t cold_refused_throttled; /* refused: KDS rate limits us (limiter, Retry-After) */
    uint64_t cold_joined;            /* admitted to join a running one for the same chip */
    uint64_t cold_in_flight;         /* admitted and not yet done (a gauge) */
    vd_kds_stats_t kds;              /* the KDS client's own counters (requests, 429s, waits...) */
} vd_certcache_stats_t;

typedef struct vd_certcache vd_certcache_t;

/**
 * Open (creating if needed) the cache. A database that cannot be used is not an error: see
 * vd_certcache_warning. VD_E_CONFIG for a bad KDS URL, VD_E_NOMEM. Caller frees with
 * vd_certcache_free.
 */
vd_err_t vd_certcache_open(const vd_certcache_config_t *cfg, vd_certcache_t **out, vd_error_t *err);

/** Close and free; sets *pp to NULL. NULL-safe. No call may be running. */
void vd_certcache_free(vd_certcache_t **pp);

/**
 * Why the database is not (fully) used, for the caller to show as a warning; NULL if all is
 * well. The cache never fails to open because of its database: a file that is not a database,
 * has a newer schema or cannot be opened leaves the cache in memory only (lookups then need the
 * evidence or KDS); a file that cannot be written is read and never written. Import refuses
 * (VD_E_STORE) in both cases.
 */
const char *vd_certcache_warning(const vd_certcache_t *c);

/** 1 when the cache may ask KDS (not offline). */
int vd_certcache_online(const vd_certcache_t *c);

/** The KDS base URL in use (borrowed), also when offline. */
const char *vd_certcache_kds_base(const vd_certcache_t *c);

/**
 * The VCEK for (product, chip_id, reported TCB): memory, SQLite, KDS. `budget_ms` bounds the
 * whole lookup, including waiting for another thread's fetch of the same VCEK (see "Budgets"
 * above). On success *out is
 * a new reference (X509_free). VD_E_COLLATERAL_UNAVAILABLE (not cached and KDS cannot give it;
 * the message says why), VD_E_NOMEM.
 */
vd_err_t vd_certcache_get_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t chip_id[64],
                               const vd_tcb_t *reported, long budget_ms, X509 **out,
                               vd_error_t *err);

/**
 * The chain for `p`: ASK (or ASVK when `vlek`) and ARK, validated against the trust set.
 * New references in *issuer and *ark. Errors as vd_certcache_get_vcek.
 */
vd_err_t vd_certcache_get_chain(vd_certcache_t *c, vd_product_t p, int vlek, long budget_ms,
                                X509 **issuer, X509 **ark, vd_error_t *err);

/**
 * Everything an appraisal of `report` needs that `evidence` (the certificates that came with
 * it, may be NULL) lacks: the endorsement key's chain and, for VCEK-signed reports, the VCEK.
 * Certificates are added to `out`. A VCEK in the evidence that verifies the report and chains
 * to a trusted root is stored in the cache. `hint` names the product of a v2 report.
 * Returns VD_OK when nothing more was needed or everything was found; otherwise
 * VD_E_COLLATERAL_UNAVAILABLE with a message (what was added is kept), VD_E_NOMEM.
 * *retry_after_ms (may be NULL) gets, with VD_E_COLLATERAL_UNAVAILABLE, the ms after which a
 * retry may succeed (limiter, Retry-After, open circuit, fetch in progress; 0 = unknown, e.g.
 * offline), else 0. A report that does not parse is not an error: nothing is added.
 */
vd_err_t vd_certcache_collect(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                              const vd_certset_t *evidence, vd_product_t hint, long budget_ms,
                              vd_certset_t *out, int64_t *retry_after_ms, vd_error_t *err);

/**
 * Fetch on the calling thread what an appraisal of `report` would miss (as collect, with
 * `budget_ms` >= 0; a negative budget is the default) and the product's CRL when it is due, so
 * that the next NO_WAIT collect finds them. Meant for a service's fetcher thread: appraisals
 * answer "unavailable" at once and queue the report here. Results as vd_certcache_collect; a
 * CRL that cannot be fetched is not an error (revocation reports it).
 */
vd_err_t vd_certcache_prefetch(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                               const vd_certset_t *evidence, vd_product_t hint, long budget_ms,
                               int64_t *retry_after_ms, vd_error_t *err);

/* The CRLs an appraisal hands to the core (vd_snp_input_t.crls, n_crls). */
typedef struct vd_crl_list {
    X509_CRL *crls[VD_CRLS_MAX]; /* new references */
    size_t n;
    int overflow;   /* more CRLs than VD_CRLS_MAX were found (some left out) */
    char note[256]; /* a refresh that failed or a chain that could not be had; "" */
} vd_crl_list_t;

/** Drop the list's references; n becomes 0. */
void vd_crl_list_free(vd_crl_list_t *l);

/**
 * The newest CRLs the cache has of the ARK that anchors (p, vlek) (both distribution points):
 * memory (keyed by the ARK's SPKI), SQLite, and, unless `no_fetch`, KDS when missing or within
 * crl_margin_s of nextUpdate (at most once per crl_refetch_s). `p` VD_PRODUCT_UNKNOWN: what is
 * cached for every product, nothing fetched. Only CRLs a trusted ARK signed are kept; the core
 * judges them again (chain.revocation). None found is not an error (out->n == 0, out->note may
 * say why). Nothing is returned when crl_mode is VD_CRL_OFF. Free with vd_crl_list_free.
 */
vd_err_t vd_certcache_get_crls(vd_certcache_t *c, vd_product_t p, int vlek, long budget_ms,
                               int no_fetch, vd_crl_list_t *out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * vd_certcache_get_crls for the product and key of `report` (CPUID for v3+, else `hint`; a v2
 * report without a hint gets every cached CRL and nothing is fetched). A report that does not
 * parse gets none.
 */
vd_err_t vd_certcache_get_crls_for_report(vd_certcache_t *c, const uint8_t *report,
                                          size_t report_len, vd_product_t hint, long budget_ms,
                                          int no_fetch, vd_crl_list_t *out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Whether vd_certcache_get_crls(p, vlek) with fetching allowed would now ask KDS: the CRL of
 * the cached chain's ARK is missing or within crl_margin_s of nextUpdate, and no attempt was
 * made in the last crl_refetch_s. Memory only (no SQLite, no I/O), for appraisals that fetch a
 * CRL only once the rest of the evidence has verified. 0 offline, with CRLs off, or for an
 * unknown product or uncached chain.
 */
int vd_certcache_crl_due(vd_certcache_t *c, vd_product_t p, int vlek);

/**
 * Import every certificate and CRL in `bundle` (PEM; see certcache/README.md), all or nothing.
 * Every ARK must be trusted (pinned or an extra anchor), every ASK/ASVK signed by one, every
 * VCEK/VLEK by an ASK/ASVK of the bundle or the cache, every CRL by a trusted ARK.
 * *imported (may be NULL) gets the number of objects stored. VD_E_CHAIN_UNTRUSTED (the message
 * names the certificate), VD_E_MALFORMED, VD_E_STORE, VD_E_NOMEM.
 */
vd_err_t vd_certcache_import(vd_certcache_t *c, const uint8_t *bundle, size_t len, size_t *imported,
                             vd_error_t *err);

/* One cached object (vd_certcache_each). Borrowed for the duration of the callback. Text comes
 * from the database, which is untrusted: it is reduced to printable ASCII ('?' otherwise). */
typedef struct vd_certcache_entry {
    const char *kind;    /* "chain", "crl", "vcek" or "vlek" */
    const char *product; /* as stored, e.g. "Genoa" */
    const char *detail;  /* chain, crl: key type "vcek"/"vlek"; vcek: hwID; vlek: SPKI SHA-256
                            (lower-case hex) */
    uint64_t tcb;        /* vcek, vlek: the TCB it is stored under; else 0 */
    int64_t next_update; /* crl: nextUpdate (Unix seconds); else 0 */
    int64_t fetched_at;  /* Unix seconds */
    size_t size;         /* bytes as stored */
    const char *pem;     /* the object as PEM (chain: ASK/ASVK then ARK), NUL-terminated; NULL
                            if the stored bytes do not parse */
    size_t pem_len;
} vd_certcache_entry_t;

/* Return non-zero to stop. */
typedef int (*vd_certcache_entry_fn)(void *ud, const vd_certcache_entry_t *e);

/**
 * Call `fn` for every cached chain, CRL, VCEK and VLEK (in that order, sorted by product), for
 * listing and export; the library prints nothing (the CLI formats). Rows are read first, so `fn`
 * runs without any lock held and may call the cache. *count (may be NULL) gets the number of
 * entries visited; `fn` may be NULL (count only). Without a database there are none.
 * VD_E_STORE (also when the configured database is unusable: vd_certcache_warning).
 */
vd_err_t vd_certcache_each(vd_certcache_t *c, vd_certcache_entry_fn fn, void *ud, size_t *count,
                           vd_error_t *err);

/**
 * Fetch the CRL for (p, vlek) now if it is missing or due, verify and store it. For prefetch.
 * Errors as vd_certcache_get_vcek, VD_E_SIGNATURE for a CRL not signed by the ARK.
 */
vd_err_t vd_certcache_refresh_crl(vd_certcache_t *c, vd_product_t p, int vlek, time_t at,
                                  long budget_ms, vd_error_t *err);

/* ---- cold fetches: who may make an appraisal ask KDS (coldgate.c) ------------------------- */

typedef enum vd_cold_verdict {
    VD_COLD_ADMITTED = 0,  /* go ahead; call vd_certcache_cold_done when the fetch is over */
    VD_COLD_CLIENT_BUDGET, /* this client spent its cold budget (HTTP 429) */
    VD_COLD_BUSY,          /* cold_max_concurrent appraisals are fetching (HTTP 503) */
    VD_COLD_THROTTLED,     /* KDS would refuse at once (vd_certcache_kds_throttled_ms; 503) */
} vd_cold_verdict_t;

/**
 * May an appraisal for `client` fetch from KDS now? Only appraisals that need KDS ask (a chip
 * whose certificates are cached or in the evidence never does), so known chips are never
 * refused. `client` is the peer address as the server gives it ("192.0.2.1:4431",
 * "[2001:db8::1]:443" or a bare address); clients are IPv4 addresses and IPv6 /64 prefixes (one
 * host usually holds a whole /64), anything else is keyed by its text. NULL: no per-client
 * budget (the CLI), the concurrency cap still applies. In that order: the client's budget, KDS
 * rate limiting us, the cap; only an admission charges the client's token bucket (cold_burst,
 * cold_interval_ms), so a client refused for the service's state spends nothing. *retry_ms
 * gets, when refused, when a retry may be admitted (>= 1 ms). `what` (may be NULL) names what
 * the appraisal would fetch (a digest of the report's product, CHIP_ID and REPORTED_TCB): one
 * admitted for the same `what` as an appraisal still running joins it, admitted at once
 * without a charge or a place under the cap (it waits for the same single-flight fetch), so
 * that many concurrent requests for one new chip cost one KDS fetch and one budget token.
 * Thread-safe.
 */
vd_cold_verdict_t vd_certcache_cold_admit(vd_certcache_t *c, const char *client,
                                          const uint8_t what[32], int64_t *retry_ms);

/** An admitted cold appraisal is done fetching (whatever the outcome); `what` as admitted. */
void vd_certcache_cold_done(vd_certcache_t *c, const uint8_t what[32]);

/**
 * ms until KDS may be asked again because of rate limiting: our limiter is empty or a 429's
 * Retry-After is in force (not an open circuit: that is KDS down, not rate limiting). 0 = not
 * rate limited, or offline. Thread-safe.
 */
int64_t vd_certcache_kds_throttled_ms(vd_certcache_t *c);

/** Snapshot of the counters. */
void vd_certcache_stats(vd_certcache_t *c, vd_certcache_stats_t *out);

/** Drop the in-memory layer (LRU, chains, CRLs); SQLite is untouched. For tests and reloads. */
void vd_certcache_drop_memory(vd_certcache_t *c);

#endif
