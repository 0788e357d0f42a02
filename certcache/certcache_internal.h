/*
 * Declarations shared by the files of the certificate cache (certcache.c: lookups, LRU, single
 * flight, validation; store.c: SQLite; crl.c: revocation; bundle.c: import/export/list).
 * Not a public API.
 */
#ifndef verdict__certcache_internal_h
#define verdict__certcache_internal_h

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>
#include <sqlite3.h>

#include "verdict/certcache.h"
#include "verdict/chain.h"
#include "verdict/kdsclient.h"

#define CC_KEY_MAX      200
#define CC_PRODUCTS     (VD_PRODUCT_TURIN + 1)
#define CC_MAX_FETCH_MS 120000
#define CC_NO_WAIT      ((int64_t)-1) /* a deadline: look in memory and SQLite, never fetch */

typedef struct cc_lru_ent {
    char key[CC_KEY_MAX];
    X509 *x;
    struct cc_lru_ent *prev, *next; /* recency list, most recent first */
    struct cc_lru_ent *hnext;       /* hash chain */
} cc_lru_ent_t;

typedef struct cc_chain_slot {
    X509 *issuer, *ark; /* validated; NULL when not loaded */
    int spki_set;       /* ark_spki holds the ARK's SPKI SHA-256 (vd_certcache_crl_due) */
    unsigned char ark_spki[32];
} cc_chain_slot_t;

#define CC_CRL_ARKS 8 /* ARKs whose CRLs are kept in memory: three AMD ones, extra roots */

/* The newest verified CRL of one ARK (keyed by its SPKI SHA-256) from each distribution point
 * (/vcek/ and /vlek/). Never replaced by an older one. */
typedef struct cc_crl_slot {
    int used;
    unsigned char ark_spki[32];
    X509_CRL *crl[2];
    int db_loaded[2]; /* SQLite's row for that distribution point was read */
} cc_crl_slot_t;

typedef struct cc_flight {
    char key[CC_KEY_MAX];
    int done;
    vd_err_t rc;
    vd_error_t e;
    X509 *a, *b;
    int64_t retry; /* ms after which a retry may succeed, when rc is not VD_OK */
    int refs;
    pthread_cond_t cv;
    struct cc_flight *next;
} cc_flight_t;

/* One client's cold budget (coldgate.c): GCRA theoretical arrival time of its next admission. */
/* One admitted cold appraisal (coldgate.c) and those that joined it. */
typedef struct cc_cold_run {
    int refs; /* 0 = free */
    int anon; /* admitted without a `what`: never joined */
    uint8_t what[32];
} cc_cold_run_t;

typedef struct cc_cold_client {
    uint8_t key[16]; /* IPv6 form: an IPv4 address as ::ffff:a.b.c.d, an IPv6 /64, or a hash */
    int used;
    int64_t tat;
} cc_cold_client_t;

struct vd_certcache {
    vd_certcache_config_t cfg;
    char *db_path;
    const vd_trust_t *trust;
    vd_trust_t *own_trust; /* when cfg.trust was NULL */
    vd_kds_client_t *kds;  /* NULL when offline */
    vd_chain_memo_t *memo; /* signatures of evidence chains that verified (thread-safe) */
    char kds_base[512];
    sqlite3 *db;          /* NULL: memory only (none configured, or unusable: see warning) */
    char warning[640];    /* why the database is not (fully) used; "" = nothing to say */
    pthread_mutex_t mu;   /* memory layer, flights, counters */
    pthread_mutex_t dbmu; /* the SQLite connection */
    cc_lru_ent_t **buckets;
    size_t nbuckets, lru_count;
    cc_lru_ent_t *head, *tail;
    cc_chain_slot_t chains[CC_PRODUCTS][2];
    cc_crl_slot_t crls[CC_CRL_ARKS];
    size_t crl_next;                    /* slot reused when all are taken */
    time_t crl_attempt[CC_PRODUCTS][2]; /* last KDS attempt per CRL URL (wall clock) */
    cc_flight_t *flights;
    vd_certcache_stats_t st;
    pthread_mutex_t coldmu;         /* cold_clients, cold_runs, cold_running (coldgate.c) */
    cc_cold_client_t *cold_clients; /* VD_CERTCACHE_COLD_CLIENTS slots */
    cc_cold_run_t *cold_runs;       /* cfg.cold_max_concurrent slots: what is being fetched */
    unsigned cold_running;          /* slots in use */
    uint64_t cold_joined;
    uint64_t cold_admitted, cold_refused_client, cold_refused_busy, cold_refused_throttled;
};

/* certcache.c */
int64_t vd_certcache__now_ms(const vd_certcache_t *c);
/* The absolute deadline for a budget (< 0: CC_NO_WAIT; 0: the default budget). */
int64_t vd_certcache__deadline(const vd_certcache_t *c, long budget_ms);
/* When a lookup that did not fetch may succeed: the KDS client's wait, at least the hint. */
int64_t vd_certcache__retry_hint(vd_certcache_t *c);
/* Store the KDS client's breaker / 429 state in kds_state for the next process. */
void vd_certcache__save_kds_state(vd_certcache_t *c);
/* The cache key for a TCB: its components in product `p`'s layout, reserved bytes zero. */
uint64_t vd_certcache__tcb_raw(const vd_tcb_t *t, vd_product_t p);
/* Parse a PEM-or-DER blob into a new certificate set. */
vd_err_t vd_certcache__parse_blob(const uint8_t *p, size_t len, const char *origin,
                                  vd_certset_t **out, vd_error_t *err);
/* Validate an ASK/ASVK + ARK for `p` (chain.h's rules). 1 ok, 0 with `why`. */
int vd_certcache__chain_ok(const vd_certcache_t *c, vd_product_t p, int vlek, X509 *issuer,
                           X509 *ark, char *why, size_t n);
/* Validate a VCEK against its ASK and the expected chip and TCB. 1 ok, 0 with `why`. */
int vd_certcache__vcek_ok(X509 *vcek, X509 *ask, vd_product_t p, const uint8_t *hwid,
                          size_t hwid_len, uint64_t tcb_raw, char *why, size_t n);
/* The validated chain for (p, vlek) from memory or SQLite, never KDS: new references, or 0. */
int vd_certcache__cached_chain(vd_certcache_t *c, vd_product_t p, int vlek, X509 **issuer,
                               X509 **ark);
/* Store a validated VCEK in memory and SQLite. */
void vd_certcache__remember_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                                 size_t hwid_len, uint64_t tcb_raw, X509 *vcek, const char *source);
/* Install a validated chain in memory and SQLite. */
void vd_certcache__remember_chain(vd_certcache_t *c, vd_product_t p, int vlek, X509 *issuer,
                                  X509 *ark);
/* The memory halves of the two above, for rows already written (a committed import). */
void vd_certcache__install_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                                size_t hwid_len, uint64_t tcb_raw, X509 *vcek);
void vd_certcache__install_chain(vd_certcache_t *c, vd_product_t p, int vlek, X509 *issuer,
                                 X509 *ark);
/* PEM of issuer + ARK, as KDS serves cert_chain. malloc'd; NULL on failure. */
uint8_t *vd_certcache__chain_pem(X509 *issuer, X509 *ark, size_t *len);
/* Add one to a counter of c->st under the cache mutex. */
void vd_certcache__count(vd_certcache_t *c, uint64_t *counter);
const char *vd_certcache__key_type(int vlek);

/* store.c: every function takes dbmu itself and is a no-op (or "not found") without a db. */
vd_err_t vd_certcache__db_open(vd_certcache_t *c, vd_error_t *err);
void vd_certcache__db_close(vd_certcache_t *c);
/* 1 found (*der malloc'd), 0 not found, -1 error. */
int vd_certcache__db_get_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                              size_t hwid_len, uint64_t tcb, uint8_t **der, size_t *len);
int vd_certcache__db_put_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                              size_t hwid_len, uint64_t tcb, const uint8_t *der, size_t len,
                              const char *source);
int vd_certcache__db_put_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb,
                              const uint8_t spki[32], const uint8_t *der, size_t len,
                              const char *source);
/* Calls fn for every VLEK stored for (p, tcb); returns the number of rows or -1. */
int vd_certcache__db_each_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb,
                               void (*fn)(void *ud, const uint8_t *der, size_t len), void *ud);
int vd_certcache__db_get_chain(vd_certcache_t *c, vd_product_t p, int vlek, uint8_t **pem,
                               size_t *len);
int vd_certcache__db_put_chain(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *pem,
                               size_t len);
int vd_certcache__db_get_crl(vd_certcache_t *c, vd_product_t p, int vlek, uint8_t **der,
                             size_t *len);
int vd_certcache__db_put_crl(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *der,
                             size_t len, time_t this_update, time_t next_update);
/* Small persistent key/value state (CRL attempt times). 1 found, 0 not, -1 error. */
int vd_certcache__db_get_state(vd_certcache_t *c, const char *k, int64_t *v);
int vd_certcache__db_put_state(vd_certcache_t *c, const char *k, int64_t v);
/* Iterate over every row of a table for list/export: fn(ud, kind, product, key_type/hwid hex,
 * tcb (crl: next_update), blob, len, fetched_at). Rows are copied first: fn runs without dbmu.
 * Returns the number of rows, or -1 (then fn is not called). */
typedef int (*vd_certcache__row_fn)(void *ud, const char *kind, const char *product,
                                    const char *detail, uint64_t tcb, const uint8_t *blob,
                                    size_t len, int64_t fetched_at); /* != 0 stops */
int vd_certcache__db_each(vd_certcache_t *c, vd_certcache__row_fn fn, void *ud);
/* One row of a multi-row write (vd_certcache__db_put_batch). Borrowed pointers. */
typedef enum { CC_PUT_CHAIN, CC_PUT_VCEK, CC_PUT_VLEK, CC_PUT_CRL } cc_put_kind_t;
typedef struct cc_put {
    cc_put_kind_t kind;
    vd_product_t p;
    int vlek;          /* chain, crl */
    const uint8_t *id; /* vcek: hwid; vlek: SPKI SHA-256 (32 bytes) */
    size_t id_len;
    uint64_t tcb;        /* vcek, vlek */
    const uint8_t *blob; /* chain: PEM; others: DER */
    size_t len;
    time_t this_update, next_update; /* crl */
    const char *source;              /* vcek, vlek */
} cc_put_t;
/* Write every row in one transaction, all or nothing; no other statement of this connection
 * can run inside it. 0, or -1 (rolled back; also without a database). */
int vd_certcache__db_put_batch(vd_certcache_t *c, const cc_put_t *puts, size_t n);

/* coldgate.c: the per-client table (NULL-safe free); called by open and free. */
vd_err_t vd_certcache__cold_init(vd_certcache_t *c, vd_error_t *err);
void vd_certcache__cold_free(vd_certcache_t *c);
/* The cold counters into `out` (the cold_* fields of the stats). */
void vd_certcache__cold_stats(vd_certcache_t *c, vd_certcache_stats_t *out);

/* crl.c */
time_t vd_certcache__asn1_time(const ASN1_TIME *t);
/* Fetch the CRL for (p, vlek) if it is missing or due (not forced). Best effort. */
void vd_certcache__crl_prefetch(vd_certcache_t *c, vd_product_t p, int vlek, int64_t deadline);

/* Keep `crl` (verified against a trusted ARK `ark` anchoring `p`) as the newest CRL of that
 * ARK from distribution point `vlek`, in memory and SQLite, unless a newer one is known.
 * 1 if it was newer (kept), 0 if not. */
int vd_certcache__keep_crl(vd_certcache_t *c, vd_product_t p, int vlek, X509 *ark, X509_CRL *crl);

#endif
