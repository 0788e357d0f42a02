/*
 * Certificate cache lookups (include/verdict/certcache.h): evidence, memory LRU, SQLite, KDS;
 * single flight for concurrent misses; validation of everything loaded against the trust set.
 *
 * Trust boundary: SQLite rows and KDS bodies are untrusted. A chain is used only if its ARK
 * matches a pin (or a configured extra anchor) for the product and the ASK/ASVK is signed by
 * it; a VCEK only if the ASK signed it and its hwID and SPLs equal the key it was looked up
 * under. The verification core then checks everything again; this layer only makes sure that
 * what it stores and serves cannot be worse than a miss.
 *
 * Locking: `mu` guards the memory layer, flights and counters and is never held across I/O;
 * store.c has its own mutex for the SQLite connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "verdict/amdcert.h"
#include "verdict/bytes.h"
#include "verdict/kds.h"
#include "verdict/report.h"
#include "verdict/chain.h"
#include "certcache_internal.h"

const char *vd_certcache__key_type(int vlek)
{
    return vlek ? "vlek" : "vcek";
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int64_t vd_certcache__now_ms(const vd_certcache_t *c)
{
    if (c->kds != NULL) {
        return vd_kds_client_now_ms(c->kds);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The KDS breaker / 429 state of earlier processes (kds_state), as wall-clock deadlines. */
static void restore_kds_state(vd_certcache_t *c)
{
    int64_t open_until = 0, blocked_until = 0, now = wall_ms();
    if (c->kds == NULL) {
        return;
    }
    vd_certcache__db_get_state(c, "kds_open_until_ms", &open_until);
    vd_certcache__db_get_state(c, "kds_blocked_until_ms", &blocked_until);
    /* Rows are untrusted: no subtraction that can overflow (now > 0); the client clamps the
     * time left to its own cooldown and backoff cap. */
    vd_kds_client_set_state(c->kds, open_until > now ? open_until - now : 0,
                            blocked_until > now ? blocked_until - now : 0);
}

void vd_certcache__save_kds_state(vd_certcache_t *c)
{
    int64_t open_left = 0, blocked_left = 0, now = wall_ms();
    if (c->kds == NULL || c->db == NULL) {
        return;
    }
    vd_kds_client_get_state(c->kds, &open_left, &blocked_left);
    vd_certcache__db_put_state(c, "kds_open_until_ms", open_left > 0 ? now + open_left : 0);
    vd_certcache__db_put_state(c, "kds_blocked_until_ms",
                               blocked_left > 0 ? now + blocked_left : 0);
}

vd_err_t vd_certcache_open(const vd_certcache_config_t *cfg, vd_certcache_t **out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    vd_certcache_t *c = NULL;
    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->dbmu, NULL);
    c->cfg = *cfg;
    c->cfg.db_path = NULL;
    rc = vd_certcache__cold_init(c, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (c->cfg.lru_capacity == 0) {
        c->cfg.lru_capacity = VD_CERTCACHE_DEFAULT_LRU;
    }
    if (c->cfg.crl_refetch_s == 0) {
        c->cfg.crl_refetch_s = VD_CERTCACHE_CRL_REFETCH_S;
    }
    if (c->cfg.crl_margin_s == 0) {
        c->cfg.crl_margin_s = VD_CERTCACHE_CRL_MARGIN_S;
    }
    c->nbuckets = c->cfg.lru_capacity * 2 + 1;
    c->buckets = calloc(c->nbuckets, sizeof(cc_lru_ent_t *));
    if (c->buckets == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
        goto out;
    }
    rc = vd_chain_memo_new(0, &c->memo, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (cfg->trust != NULL) {
        c->trust = cfg->trust;
    } else {
        rc = vd_trust_new(&c->own_trust, err);
        if (rc != VD_OK) {
            goto out;
        }
        c->trust = c->own_trust;
    }
    const char *base = cfg->kds.base_url != NULL && cfg->kds.base_url[0] != '\0'
                           ? cfg->kds.base_url
                           : VD_KDS_DEFAULT_BASE;
    snprintf(c->kds_base, sizeof(c->kds_base), "%s", base);
    if (!cfg->offline) {
        rc = vd_kds_client_new(&cfg->kds, &c->kds, err);
        if (rc != VD_OK) {
            goto out;
        }
        snprintf(c->kds_base, sizeof(c->kds_base), "%s", vd_kds_client_base(c->kds));
    }
    if (cfg->db_path != NULL && cfg->db_path[0] != '\0') {
        c->db_path = strdup(cfg->db_path);
        if (c->db_path == NULL) {
            rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
            goto out;
        }
        rc = vd_certcache__db_open(c, err);
        if (rc != VD_OK) {
            goto out;
        }
        restore_kds_state(c);
    }
    *out = c;
    c = NULL;
out:
    vd_certcache_free(&c);
    return rc;
}

static void lru_clear(vd_certcache_t *c)
{
    cc_lru_ent_t *e = c->head;
    while (e != NULL) {
        cc_lru_ent_t *next = e->next;
        X509_free(e->x);
        free(e);
        e = next;
    }
    c->head = c->tail = NULL;
    c->lru_count = 0;
    if (c->buckets != NULL) {
        memset(c->buckets, 0, c->nbuckets * sizeof(cc_lru_ent_t *));
    }
}

static void slots_clear(vd_certcache_t *c)
{
    for (int p = 0; p < CC_PRODUCTS; p++) {
        for (int v = 0; v < 2; v++) {
            X509_free(c->chains[p][v].issuer);
            X509_free(c->chains[p][v].ark);
            memset(&c->chains[p][v], 0, sizeof(c->chains[p][v]));
        }
    }
    for (size_t i = 0; i < CC_CRL_ARKS; i++) {
        X509_CRL_free(c->crls[i].crl[0]);
        X509_CRL_free(c->crls[i].crl[1]);
        memset(&c->crls[i], 0, sizeof(c->crls[i]));
    }
}

void vd_certcache_drop_memory(vd_certcache_t *c)
{
    pthread_mutex_lock(&c->mu);
    lru_clear(c);
    slots_clear(c);
    pthread_mutex_unlock(&c->mu);
}

void vd_certcache_free(vd_certcache_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_certcache_t *c = *pp;
    if (c->st.fetches > 0) {
        vd_certcache__save_kds_state(c); /* this process talked to KDS: pass on what it learnt */
    }
    lru_clear(c);
    slots_clear(c);
    free(c->buckets);
    vd_chain_memo_free(&c->memo);
    vd_certcache__db_close(c);
    vd_kds_client_free(&c->kds);
    vd_trust_free(&c->own_trust);
    free(c->db_path);
    vd_certcache__cold_free(c);
    pthread_mutex_destroy(&c->dbmu);
    pthread_mutex_destroy(&c->mu);
    free(c);
    *pp = NULL;
}

const char *vd_certcache_warning(const vd_certcache_t *c)
{
    return c->warning[0] != '\0' ? c->warning : NULL;
}

int vd_certcache_online(const vd_certcache_t *c)
{
    return c->kds != NULL;
}

const char *vd_certcache_kds_base(const vd_certcache_t *c)
{
    return c->kds_base;
}

void vd_certcache_stats(vd_certcache_t *c, vd_certcache_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
    vd_certcache__cold_stats(c, out);
    if (c->kds != NULL) {
        vd_kds_client_stats(c->kds, &out->kds);
    } else {
        memset(&out->kds, 0, sizeof(out->kds));
    }
}

/* ---- memory LRU (mu held) ------------------------------------------------------------------ */

static size_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *k; k++) {
        h = (h ^ (uint8_t)*k) * 1099511628211ull;
    }
    return (size_t)h;
}

static void lru_unlink(vd_certcache_t *c, cc_lru_ent_t *e)
{
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->prev = e->next = NULL;
}

static void lru_push_front(vd_certcache_t *c, cc_lru_ent_t *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head) {
        c->head->prev = e;
    }
    c->head = e;
    if (c->tail == NULL) {
        c->tail = e;
    }
}

static cc_lru_ent_t *lru_find(vd_certcache_t *c, const char *key)
{
    for (cc_lru_ent_t *e = c->buckets[hash_key(key) % c->nbuckets]; e != NULL; e = e->hnext) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

static void lru_remove_hash(vd_certcache_t *c, cc_lru_ent_t *e)
{
    cc_lru_ent_t **pp = &c->buckets[hash_key(e->key) % c->nbuckets];
    while (*pp != NULL && *pp != e) {
        pp = &(*pp)->hnext;
    }
    if (*pp == e) {
        *pp = e->hnext;
    }
}

/* A new reference to the cached certificate, or NULL. */
static X509 *lru_get(vd_certcache_t *c, const char *key)
{
    cc_lru_ent_t *e = lru_find(c, key);
    if (e == NULL) {
        return NULL;
    }
    lru_unlink(c, e);
    lru_push_front(c, e);
    X509_up_ref(e->x);
    return e->x;
}

static void lru_put(vd_certcache_t *c, const char *key, X509 *x)
{
    cc_lru_ent_t *e = lru_find(c, key);
    if (e != NULL) {
        X509_up_ref(x);
        X509_free(e->x);
        e->x = x;
        lru_unlink(c, e);
        lru_push_front(c, e);
        return;
    }
    if (c->lru_count >= c->cfg.lru_capacity && c->tail != NULL) {
        cc_lru_ent_t *old = c->tail;
        lru_unlink(c, old);
        lru_remove_hash(c, old);
        X509_free(old->x);
        free(old);
        c->lru_count--;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return; /* the cache is an optimisation: a failed insert is a later miss */
    }
    snprintf(e->key, sizeof(e->key), "%s", key);
    X509_up_ref(x);
    e->x = x;
    size_t b = hash_key(key) % c->nbuckets;
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    lru_push_front(c, e);
    c->lru_count++;
}

/* ---- single flight ------------------------------------------------------------------------- */

/* Fill a miss from SQLite, then KDS unless deadline is CC_NO_WAIT; *retry: see flight_run. */
typedef vd_err_t (*fill_fn)(vd_certcache_t *c, void *arg, int64_t deadline, X509 **a, X509 **b,
                            int64_t *retry, vd_error_t *err);
/* The memory layer, asked with mu held: 1 and new references on a hit, else 0. */
typedef int (*hit_fn)(vd_certcache_t *c, void *arg, X509 **a, X509 **b);

static void flight_release(vd_certcache_t *c, cc_flight_t *f)
{
    if (--f->refs > 0) {
        return;
    }
    for (cc_flight_t **pp = &c->flights; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    X509_free(f->a);
    X509_free(f->b);
    pthread_cond_destroy(&f->cv);
    free(f);
}

int64_t vd_certcache__retry_hint(vd_certcache_t *c)
{
    if (c->kds == NULL) {
        return 0; /* offline: no retry will fetch it */
    }
    int64_t w = vd_kds_client_wait_ms(c->kds);
    return w > VD_CERTCACHE_RETRY_HINT_MS ? w : VD_CERTCACHE_RETRY_HINT_MS;
}

/*
 * Memory first, then run `fill` once for `key` however many threads ask at the same time: the
 * first caller runs it, the others wait (until their own `deadline`) and get its result. The
 * memory check and joining a flight happen under one lock, so a lookup cannot slip between a
 * finished fill and its result reaching memory. Waiting is per key: a lookup only ever waits
 * for the fetch of the certificate it needs.
 * With deadline CC_NO_WAIT nothing waits: a key in flight answers "unavailable" at once, and a
 * miss is filled from SQLite only, outside any flight (so that no waiter takes its "not cached"
 * for a fetch's answer). *retry gets when a retry may succeed on VD_E_COLLATERAL_UNAVAILABLE.
 */
static vd_err_t flight_run(vd_certcache_t *c, const char *key, hit_fn hit, fill_fn fill, void *arg,
                           int64_t deadline, X509 **a, X509 **b, int64_t *retry, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    X509 *dummy = NULL;
    *a = NULL;
    *retry = 0;
    if (b != NULL) {
        *b = NULL;
    }
    pthread_mutex_lock(&c->mu);
    if (hit(c, arg, a, b != NULL ? b : &dummy)) {
        c->st.memory_hits++;
        pthread_mutex_unlock(&c->mu);
        X509_free(dummy);
        return VD_OK;
    }
    cc_flight_t *f = c->flights;
    while (f != NULL && (f->done || strcmp(f->key, key) != 0)) {
        f = f->next;
    }
    if (deadline == CC_NO_WAIT) {
        pthread_mutex_unlock(&c->mu);
        if (f != NULL) {
            *retry = VD_CERTCACHE_RETRY_HINT_MS;
            return VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                          "%s is being fetched from KDS; not waited for (retry in %lld ms)", key,
                          (long long)*retry);
        }
        X509 *ra = NULL, *rb = NULL;
        rc = fill(c, arg, deadline, &ra, &rb, retry, err);
        *a = ra;
        if (b != NULL) {
            *b = rb;
        } else {
            X509_free(rb);
        }
        return rc;
    }
    if (f != NULL) {
        c->st.flight_waits++;
        f->refs++;
        while (!f->done) {
            int64_t left = deadline - vd_certcache__now_ms(c);
            if (left <= 0) {
                flight_release(c, f);
                pthread_mutex_unlock(&c->mu);
                return VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                              "gave up waiting for the KDS request in flight for %s: deadline "
                              "reached",
                              key);
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t)(left / 1000);
            ts.tv_nsec += (long)(left % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&f->cv, &c->mu, &ts);
        }
        rc = f->rc;
        if (rc != VD_OK) {
            *retry = f->retry;
            VD_ERR(err, rc, "%s", f->e.msg);
        } else {
            if (f->a != NULL) {
                X509_up_ref(f->a);
            }
            *a = f->a;
            if (b != NULL) {
                if (f->b != NULL) {
                    X509_up_ref(f->b);
                }
                *b = f->b;
            }
        }
        flight_release(c, f);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        pthread_mutex_unlock(&c->mu);
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    snprintf(f->key, sizeof(f->key), "%s", key);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    f->refs = 1;
    f->next = c->flights;
    c->flights = f;
    pthread_mutex_unlock(&c->mu);

    X509 *ra = NULL, *rb = NULL;
    int64_t fr = 0;
    vd_error_t fe = {0};
    rc = fill(c, arg, deadline, &ra, &rb, &fr, &fe);

    pthread_mutex_lock(&c->mu);
    f->rc = rc;
    f->e = fe;
    f->retry = fr;
    f->a = ra;
    f->b = rb;
    f->done = 1;
    pthread_cond_broadcast(&f->cv);
    if (rc != VD_OK) {
        *retry = fr;
        VD_ERR(err, rc, "%s", f->e.msg);
    } else {
        if (ra != NULL) {
            X509_up_ref(ra);
        }
        *a = ra;
        if (b != NULL) {
            if (rb != NULL) {
                X509_up_ref(rb);
            }
            *b = rb;
        }
    }
    flight_release(c, f);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void vd_certcache__count(vd_certcache_t *c, uint64_t *counter)
{
    pthread_mutex_lock(&c->mu);
    (*counter)++;
    pthread_mutex_unlock(&c->mu);
}

/* ---- validation ---------------------------------------------------------------------------- */

vd_err_t vd_certcache__parse_blob(const uint8_t *p, size_t len, const char *origin,
                                  vd_certset_t **out, vd_error_t *err)
{
    vd_err_t rc = vd_certset_new(out, err);
    if (rc == VD_OK) {
        rc = vd_certset_add_blob(*out, p, len, origin, err);
        if (rc != VD_OK) {
            vd_certset_free(out);
        }
    }
    return rc;
}

int vd_certcache__chain_ok(const vd_certcache_t *c, vd_product_t p, int vlek, X509 *issuer,
                           X509 *ark, char *why, size_t n)
{
    vd_chain_query_t q;
    if (issuer == NULL || ark == NULL) {
        snprintf(why, n, "the chain lacks the %s or the ARK", vlek ? "ASVK" : "ASK");
        return 0;
    }
    memset(&q, 0, sizeof(q));
    q.trust = c->trust;
    q.product = p;
    q.vlek = vlek;
    return vd_chain_pair_ok(&q, issuer, ark, why, n);
}

int vd_certcache__vcek_ok(X509 *vcek, X509 *ask, vd_product_t p, const uint8_t *hwid,
                          size_t hwid_len, uint64_t tcb_raw, char *why, size_t n)
{
    vd_amdcert_t ext;
    vd_error_t e = {0};
    const char *missing = NULL;
    if (!vd_x509_cn_is(vcek, "SEV-VCEK")) {
        snprintf(why, n, "not a VCEK (CN is not SEV-VCEK)");
        return 0;
    }
    if (!vd_chain_signed_by(vcek, ask, NULL, 0)) {
        snprintf(why, n, "the VCEK is not signed by the %s ASK", vd_product_name(p));
        return 0;
    }
    if (vd_amdcert_parse(vcek, &ext, &e) != VD_OK) {
        snprintf(why, n, "VCEK extensions: %s", e.msg);
        return 0;
    }
    if (!ext.has_hwid || ext.hwid_len != hwid_len || CRYPTO_memcmp(ext.hwid, hwid, hwid_len) != 0) {
        snprintf(why, n, "the VCEK's hwID is not the requested chip's");
        return 0;
    }
    if (!vd_amdcert_tcb_complete(&ext, p, &missing)) {
        snprintf(why, n, "the VCEK has no %s", missing);
        return 0;
    }
    vd_tcb_t have = vd_amdcert_tcb(&ext, p);
    vd_tcb_t want = vd_tcb_decode(tcb_raw, p);
    if (!vd_tcb_eq(&have, &want)) {
        snprintf(why, n, "the VCEK's SPLs are not the requested TCB");
        return 0;
    }
    return 1;
}

uint64_t vd_certcache__tcb_raw(const vd_tcb_t *t, vd_product_t p)
{
    uint8_t b[8] = {0};
    /* TCB_VERSION layouts (SNP-FORMAT.md section 2); reserved bytes are zero in the key. */
    if (p == VD_PRODUCT_TURIN) {
        b[0] = t->fmc;
        b[1] = t->bootloader;
        b[2] = t->tee;
        b[3] = t->snp;
    } else {
        b[0] = t->bootloader;
        b[1] = t->tee;
        b[6] = t->snp;
    }
    b[7] = t->microcode;
    return vd_le64(b);
}

static size_t hwid_len_for(vd_product_t p)
{
    return p == VD_PRODUCT_TURIN ? 8 : 64; /* KDS.md section 1: Turin uses CHIP_ID[0..7] */
}

static void vcek_key(char *key, size_t n, vd_product_t p, const uint8_t *hwid, size_t hwid_len,
                     uint64_t tcb)
{
    char hex[129];
    snprintf(key, n, "vcek:%s:%s:%016llx", vd_product_name(p),
             vd_hex_encode(hwid, hwid_len, hex, sizeof(hex)), (unsigned long long)tcb);
}

void vd_certcache__remember_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                                 size_t hwid_len, uint64_t tcb_raw, X509 *vcek, const char *source)
{
    char key[CC_KEY_MAX];
    unsigned char *der = NULL;
    vcek_key(key, sizeof(key), p, hwid, hwid_len, tcb_raw);
    int dlen = i2d_X509(vcek, &der);
    if (dlen > 0 &&
        vd_certcache__db_put_vcek(c, p, hwid, hwid_len, tcb_raw, der, (size_t)dlen, source) == 0 &&
        c->db != NULL) {
        vd_certcache__count(c, &c->st.stored);
    }
    OPENSSL_free(der);
    pthread_mutex_lock(&c->mu);
    lru_put(c, key, vcek);
    pthread_mutex_unlock(&c->mu);
}

void vd_certcache__install_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                                size_t hwid_len, uint64_t tcb_raw, X509 *vcek)
{
    char key[CC_KEY_MAX];
    vcek_key(key, sizeof(key), p, hwid, hwid_len, tcb_raw);
    pthread_mutex_lock(&c->mu);
    lru_put(c, key, vcek);
    pthread_mutex_unlock(&c->mu);
}

uint8_t *vd_certcache__chain_pem(X509 *issuer, X509 *ark, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    uint8_t *out = NULL;
    char *data = NULL;
    if (b != NULL && PEM_write_bio_X509(b, issuer) == 1 && PEM_write_bio_X509(b, ark) == 1) {
        long n = BIO_get_mem_data(b, &data);
        if (n > 0 && (out = malloc((size_t)n)) != NULL) {
            memcpy(out, data, (size_t)n);
            *len = (size_t)n;
        }
    }
    BIO_free(b);
    return out;
}

void vd_certcache__remember_chain(vd_certcache_t *c, vd_product_t p, int vlek, X509 *issuer,
                                  X509 *ark)
{
    size_t len = 0;
    uint8_t *pem = vd_certcache__chain_pem(issuer, ark, &len);
    if (pem != NULL && vd_certcache__db_put_chain(c, p, vlek, pem, len) == 0 && c->db != NULL) {
        vd_certcache__count(c, &c->st.stored);
    }
    free(pem);
    vd_certcache__install_chain(c, p, vlek, issuer, ark);
}

void vd_certcache__install_chain(vd_certcache_t *c, vd_product_t p, int vlek, X509 *issuer,
                                 X509 *ark)
{
    pthread_mutex_lock(&c->mu);
    cc_chain_slot_t *s = &c->chains[p][vlek ? 1 : 0];
    X509_up_ref(issuer);
    X509_up_ref(ark);
    X509_free(s->issuer);
    X509_free(s->ark);
    s->issuer = issuer;
    s->ark = ark;
    s->spki_set = 0;
    pthread_mutex_unlock(&c->mu);
}

/* A KDS answer too large to be a certificate is unavailable collateral, like any bad answer. */
static vd_err_t unavailable(vd_err_t rc, vd_error_t *err)
{
    if (rc == VD_E_TOO_LARGE) {
        rc = VD_E_COLLATERAL_UNAVAILABLE;
        if (err != NULL) {
            err->code = rc;
        }
    }
    return rc;
}

/* ---- chains ---------------------------------------------------------------------------------- */

typedef struct chain_arg {
    vd_product_t p;
    int vlek;
} chain_arg_t;

/* The issuer and the ARK for (p, vlek) among `s` (and the extra anchors), judged by chain.h.
 * New references on success. */
static int chain_from_set(const vd_certcache_t *c, vd_product_t p, int vlek, const vd_certset_t *s,
                          X509 **issuer, X509 **ark, char *why, size_t n)
{
    vd_chain_query_t q;
    vd_chain_t ch;
    memset(&q, 0, sizeof(q));
    memset(&ch, 0, sizeof(ch));
    q.certs = s;
    q.trust = c->trust;
    q.product = p;
    q.vlek = vlek;
    q.memo = c->memo; /* the evidence brings the same chain every time: verified once */
    vd_chain_locate_and_judge(&q, &ch);
    if (ch.ark_state != VD_LINK_PASS || ch.issuer_state != VD_LINK_PASS) {
        const char *d = ch.ark_state != VD_LINK_PASS ? ch.ark_detail : ch.issuer_detail;
        size_t dl = strlen(d);
        if (n > 0) {
            dl = dl < n - 1 ? dl : n - 1;
            memcpy(why, d, dl);
            why[dl] = '\0';
        }
        return 0;
    }
    X509_up_ref(ch.issuer);
    X509_up_ref(ch.ark);
    *issuer = ch.issuer;
    *ark = ch.ark;
    return 1;
}

int vd_certcache__cached_chain(vd_certcache_t *c, vd_product_t p, int vlek, X509 **issuer,
                               X509 **ark)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    vd_certset_t *set = NULL;
    vd_error_t pe = {0};
    char why[192];
    int ok = 0;
    *issuer = *ark = NULL;
    if (p == VD_PRODUCT_UNKNOWN) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    cc_chain_slot_t *s = &c->chains[p][vlek ? 1 : 0];
    if (s->issuer != NULL && s->ark != NULL) {
        X509_up_ref(s->issuer);
        X509_up_ref(s->ark);
        *issuer = s->issuer;
        *ark = s->ark;
        ok = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (ok) {
        return 1;
    }
    if (vd_certcache__db_get_chain(c, p, vlek, &blob, &len) == 1 &&
        vd_certcache__parse_blob(blob, len, "cache", &set, &pe) == VD_OK &&
        chain_from_set(c, p, vlek, set, issuer, ark, why, sizeof(why))) {
        /* In memory from now on: the CRL path asks for the ARK on every appraisal, and SQLite
         * stays off the hot path (issue #9). */
        vd_certcache__install_chain(c, p, vlek, *issuer, *ark);
        ok = 1;
    }
    vd_certset_free(&set);
    free(blob);
    return ok;
}

static vd_err_t chain_fill(vd_certcache_t *c, void *argp, int64_t deadline, X509 **issuer,
                           X509 **ark, int64_t *retry, vd_error_t *err)
{
    const chain_arg_t *a = argp;
    vd_err_t rc = VD_OK;
    uint8_t *blob = NULL;
    size_t len = 0;
    vd_certset_t *set = NULL;
    char why[192], url[VD_KDS_URL_MAX];
    vd_error_t pe = {0};
    const char *what = a->vlek ? "ASVK" : "ASK";

    int got = vd_certcache__db_get_chain(c, a->p, a->vlek, &blob, &len);
    if (got == 1) {
        if (vd_certcache__parse_blob(blob, len, "cache", &set, &pe) == VD_OK &&
            chain_from_set(c, a->p, a->vlek, set, issuer, ark, why, sizeof(why))) {
            vd_certcache__count(c, &c->st.db_hits);
            vd_certcache__install_chain(c, a->p, a->vlek, *issuer, *ark);
            goto out;
        }
        /* Not deleted: it may only be untrusted under this trust set. A valid fetch replaces
         * it. */
        vd_certcache__count(c, &c->st.invalid);
    }
    vd_certset_free(&set);
    free(blob);
    blob = NULL;
    vd_certcache__count(c, &c->st.misses);
    if (c->kds == NULL) {
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                    "the %s %s and ARK are not cached and verdict is offline (import a bundle or "
                    "drop --offline)",
                    vd_product_name(a->p), what);
        goto out;
    }
    if (deadline == CC_NO_WAIT) {
        *retry = vd_certcache__retry_hint(c);
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                    "the %s %s and ARK are not cached and this lookup does not wait for KDS "
                    "(prefetch them; retry in %lld ms)",
                    vd_product_name(a->p), what, (long long)*retry);
        goto out;
    }
    if (vd_kds_chain_url(c->kds_base, a->p, a->vlek, url, sizeof(url)) != 0) {
        rc = VD_ERR(err, VD_E_INTERNAL, "cannot build the cert_chain URL");
        goto out;
    }
    vd_certcache__count(c, &c->st.fetches);
    rc = unavailable(vd_kds_get(c->kds, url, deadline, &blob, &len, NULL, retry, err), err);
    if (rc == VD_OK && (vd_certcache__parse_blob(blob, len, "KDS cert_chain", &set, &pe) != VD_OK ||
                        !chain_from_set(c, a->p, a->vlek, set, issuer, ark, why, sizeof(why)))) {
        vd_certcache__count(c, &c->st.invalid);
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "KDS answered %s with an unusable chain: %s",
                    url, pe.code != VD_OK ? pe.msg : why);
    }
    if (rc != VD_OK) {
        vd_certcache__count(c, &c->st.fetch_errors);
        goto out;
    }
    vd_certcache__remember_chain(c, a->p, a->vlek, *issuer, *ark);
out:
    vd_certset_free(&set);
    free(blob);
    return rc;
}

static int chain_hit(vd_certcache_t *c, void *argp, X509 **issuer, X509 **ark)
{
    const chain_arg_t *a = argp;
    cc_chain_slot_t *s = &c->chains[a->p][a->vlek ? 1 : 0];
    if (s->issuer == NULL) {
        return 0;
    }
    X509_up_ref(s->issuer);
    X509_up_ref(s->ark);
    *issuer = s->issuer;
    *ark = s->ark;
    return 1;
}

int64_t vd_certcache__deadline(const vd_certcache_t *c, long budget_ms)
{
    if (budget_ms < 0) {
        return CC_NO_WAIT;
    }
    return vd_certcache__now_ms(c) + (budget_ms > 0 ? budget_ms : VD_CERTCACHE_DEFAULT_BUDGET_MS);
}

static vd_err_t get_chain_until(vd_certcache_t *c, vd_product_t p, int vlek, int64_t deadline,
                                X509 **issuer, X509 **ark, int64_t *retry, vd_error_t *err)
{
    char key[CC_KEY_MAX];
    *issuer = *ark = NULL;
    *retry = 0;
    if (p == VD_PRODUCT_UNKNOWN) {
        return VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "product unknown: no chain to look up");
    }
    chain_arg_t a = {p, vlek};
    snprintf(key, sizeof(key), "chain:%s:%s", vd_product_name(p), vd_certcache__key_type(vlek));
    return flight_run(c, key, chain_hit, chain_fill, &a, deadline, issuer, ark, retry, err);
}

vd_err_t vd_certcache_get_chain(vd_certcache_t *c, vd_product_t p, int vlek, long budget_ms,
                                X509 **issuer, X509 **ark, vd_error_t *err)
{
    int64_t retry = 0;
    return get_chain_until(c, p, vlek, vd_certcache__deadline(c, budget_ms), issuer, ark, &retry,
                           err);
}

/* ---- VCEKs ----------------------------------------------------------------------------------- */

typedef struct vcek_arg {
    vd_product_t p;
    const uint8_t *chip_id;
    const vd_tcb_t *tcb;
    const char *key; /* the LRU key */
} vcek_arg_t;

static int vcek_hit(vd_certcache_t *c, void *argp, X509 **out, X509 **unused)
{
    const vcek_arg_t *a = argp;
    (void)unused;
    *out = lru_get(c, a->key);
    return *out != NULL;
}

static vd_err_t vcek_fill(vd_certcache_t *c, void *argp, int64_t deadline, X509 **out,
                          X509 **unused, int64_t *retry, vd_error_t *err)
{
    const vcek_arg_t *a = argp;
    vd_err_t rc = VD_OK;
    X509 *ask = NULL, *ark = NULL, *x = NULL;
    uint8_t *blob = NULL;
    size_t len = 0, hl = hwid_len_for(a->p);
    vd_certset_t *set = NULL;
    vd_error_t pe = {0};
    char why[192], url[VD_KDS_URL_MAX];
    (void)unused;

    rc = get_chain_until(c, a->p, 0, deadline, &ask, &ark, retry, err);
    if (rc != VD_OK) {
        goto out;
    }
    int got = vd_certcache__db_get_vcek(c, a->p, a->chip_id, hl, a->tcb->raw, &blob, &len);
    if (got == 1) {
        const unsigned char *q = blob;
        x = d2i_X509(NULL, &q, (long)len);
        if (x != NULL && q == blob + len &&
            vd_certcache__vcek_ok(x, ask, a->p, a->chip_id, hl, a->tcb->raw, why, sizeof(why))) {
            char key[CC_KEY_MAX];
            vcek_key(key, sizeof(key), a->p, a->chip_id, hl, a->tcb->raw);
            pthread_mutex_lock(&c->mu);
            c->st.db_hits++;
            lru_put(c, key, x);
            pthread_mutex_unlock(&c->mu);
            *out = x;
            x = NULL;
            goto out;
        }
        ERR_clear_error();
        X509_free(x);
        x = NULL;
        vd_certcache__count(c,
                            &c->st.invalid); /* treated as a miss; a valid fetch replaces the row */
    }
    free(blob);
    blob = NULL;
    vd_certcache__count(c, &c->st.misses);
    if (c->kds == NULL) {
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                    "the VCEK is not cached and verdict is offline (prefetch with verdict certs "
                    "fetch, import a bundle, or drop --offline)");
        goto out;
    }
    if (deadline == CC_NO_WAIT) {
        *retry = vd_certcache__retry_hint(c);
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                    "the VCEK is not cached and this lookup does not wait for KDS (prefetch it; "
                    "retry in %lld ms)",
                    (long long)*retry);
        goto out;
    }
    if (vd_kds_vcek_url(c->kds_base, a->p, a->chip_id, a->tcb, url, sizeof(url)) != 0) {
        rc = VD_ERR(err, VD_E_INTERNAL, "cannot build the VCEK URL");
        goto out;
    }
    vd_certcache__count(c, &c->st.fetches);
    rc = unavailable(vd_kds_get(c->kds, url, deadline, &blob, &len, NULL, retry, err), err);
    if (rc == VD_OK) {
        if (vd_certcache__parse_blob(blob, len, "KDS VCEK", &set, &pe) != VD_OK ||
            vd_certset_count(set) != 1) {
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                        "KDS answered %s with a body that is not one certificate (%zu bytes)", url,
                        len);
        } else if (!vd_certcache__vcek_ok(vd_certset_get(set, 0), ask, a->p, a->chip_id, hl,
                                          a->tcb->raw, why, sizeof(why))) {
            vd_certcache__count(c, &c->st.invalid);
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                        "KDS answered %s with the wrong certificate: %s", url, why);
        }
    }
    if (rc != VD_OK) {
        vd_certcache__count(c, &c->st.fetch_errors);
        goto out;
    }
    x = vd_certset_get(set, 0);
    X509_up_ref(x);
    vd_certcache__remember_vcek(c, a->p, a->chip_id, hl, a->tcb->raw, x, "kds");
    *out = x;
    x = NULL;
out:
    X509_free(x);
    X509_free(ask);
    X509_free(ark);
    vd_certset_free(&set);
    free(blob);
    return rc;
}

static vd_err_t get_vcek_until(vd_certcache_t *c, vd_product_t p, const uint8_t chip_id[64],
                               const vd_tcb_t *reported, int64_t deadline, X509 **out,
                               int64_t *retry, vd_error_t *err)
{
    char key[CC_KEY_MAX];
    *out = NULL;
    *retry = 0;
    if (p == VD_PRODUCT_UNKNOWN) {
        return VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "product unknown: no VCEK to look up");
    }
    vd_tcb_t canon = vd_tcb_decode(vd_certcache__tcb_raw(reported, p), p);
    vcek_key(key, sizeof(key), p, chip_id, hwid_len_for(p), canon.raw);
    vcek_arg_t a = {p, chip_id, &canon, key};
    return flight_run(c, key, vcek_hit, vcek_fill, &a, deadline, out, NULL, retry, err);
}

vd_err_t vd_certcache_get_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t chip_id[64],
                               const vd_tcb_t *reported, long budget_ms, X509 **out,
                               vd_error_t *err)
{
    int64_t retry = 0;
    return get_vcek_until(c, p, chip_id, reported, vd_certcache__deadline(c, budget_ms), out,
                          &retry, err);
}

/* ---- collect: what an appraisal needs ------------------------------------------------------- */

typedef struct vlek_ctx {
    const vd_snp_report_t *r;
    X509 *issuer;
    vd_certset_t *out;
    int added;
} vlek_ctx_t;

static void vlek_candidate(void *ud, const uint8_t *der, size_t len)
{
    vlek_ctx_t *v = ud;
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (x != NULL && q == der + len && vd_x509_cn_is(x, "SEV-VLEK") &&
        (v->issuer == NULL || vd_chain_signed_by(x, v->issuer, NULL, 0)) &&
        vd_snp_report_signed_by(v->r, X509_get0_pubkey(x), NULL, 0) &&
        vd_certset_add_x509(v->out, x, "certificate cache (imported VLEK)", NULL) == VD_OK) {
        v->added++;
    }
    ERR_clear_error();
    X509_free(x);
}

/*
 * The evidence's VCEK for this report, found by what it is, without a signature check: CN
 * SEV-VCEK, hwID = CHIP_ID and SPLs = REPORTED_TCB (in product `p`'s layout, or the
 * certificate's own product when `p` is unknown). That is the certificate the cache would
 * otherwise look up; whether it signs the report is the core's to verify, once per appraisal
 * (vd_snp_verify). NULL when none matches (then the caller looks for the key that verifies the
 * report, as for a masked CHIP_ID). *found_p: the product it was matched under.
 */
static X509 *evidence_vcek(const vd_certset_t *s, const vd_snp_report_t *r, vd_product_t p,
                           vd_product_t *found_p)
{
    for (size_t i = 0; s != NULL && i < vd_certset_count(s); i++) {
        X509 *x = vd_certset_get(s, i);
        vd_amdcert_t ext;
        vd_error_t e = {0};
        const char *missing = NULL;
        if (!vd_x509_cn_is(x, "SEV-VCEK") || vd_amdcert_parse(x, &ext, &e) != VD_OK) {
            continue;
        }
        vd_product_t q = p;
        if (q == VD_PRODUCT_UNKNOWN && ext.has_product_name) {
            q = vd_product_from_name(ext.product_name);
        }
        if (q == VD_PRODUCT_UNKNOWN) {
            continue;
        }
        size_t hl = hwid_len_for(q);
        if (!ext.has_hwid || ext.hwid_len != hl || vd_all_zero(r->chip_id, hl) ||
            CRYPTO_memcmp(ext.hwid, r->chip_id, hl) != 0 ||
            !vd_amdcert_tcb_complete(&ext, q, &missing)) {
            continue;
        }
        vd_tcb_t have = vd_amdcert_tcb(&ext, q);
        vd_tcb_t want = vd_tcb_decode(r->reported_tcb, q);
        if (vd_tcb_eq(&have, &want)) {
            *found_p = q;
            return x;
        }
    }
    return NULL;
}

/* What the evidence carries: *leaf, an endorsement key of the report's kind (CN SEV-VCEK or
 * SEV-VLEK); *chain, any other certificate (an ASK, ASVK or ARK, or something posing as one). */
static void evidence_kinds(const vd_certset_t *s, int vlek, int *leaf, int *chain)
{
    *leaf = *chain = 0;
    for (size_t i = 0; s != NULL && i < vd_certset_count(s); i++) {
        X509 *x = vd_certset_get(s, i);
        int is_vcek = vd_x509_cn_is(x, "SEV-VCEK"), is_vlek = vd_x509_cn_is(x, "SEV-VLEK");
        *leaf |= vlek ? is_vlek : is_vcek;
        *chain |= !is_vcek && !is_vlek;
    }
}

/* collect, with the deadline given; *pp / *pvlek get the chain it needed (UNKNOWN: none).
 * What the evidence carries must be right: the cache only fills in what it lacks. Evidence
 * with an endorsement key of its own, none of which is this report's (by identity or by
 * signature), gets none from the cache or KDS, and evidence with chain certificates that do
 * not make a trusted chain gets no chain: the core then rejects it for what it carries
 * (whatever the cache holds, as the CLI does with --certs), and KDS is never asked for it. */
static vd_err_t collect_until(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                              const vd_certset_t *evidence, vd_product_t hint, int64_t deadline,
                              vd_certset_t *out, vd_product_t *pp, int *pvlek, int64_t *retry,
                              vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    vd_snp_report_t *r = NULL;
    X509 *issuer = NULL, *ark = NULL, *vcek = NULL, *leaf = NULL;
    vd_error_t pe = {0};
    char why[192];
    *pp = VD_PRODUCT_UNKNOWN;
    *pvlek = 0;
    *retry = 0;

    r = malloc(sizeof(*r));
    if (r == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    if (vd_snp_report_parse(report, report_len, r, &pe) != VD_OK) {
        goto out; /* the core rejects it with the reason */
    }
    unsigned key = vd_snp_report_signing_key(r);
    if (key != VD_SNP_SIGNING_KEY_VCEK && key != VD_SNP_SIGNING_KEY_VLEK) {
        goto out;
    }
    int vlek = key == VD_SNP_SIGNING_KEY_VLEK;

    /* The endorsement key from the evidence: the chip's VCEK for the reported TCB, else (VLEK,
     * masked CHIP_ID) the candidate whose key verifies the report. */
    vd_chain_query_t lq;
    vd_chain_t lc;
    memset(&lq, 0, sizeof(lq));
    lq.certs = evidence;
    lq.vlek = vlek;
    lq.report = r;
    vd_product_t p = VD_PRODUCT_UNKNOWN, leaf_p = VD_PRODUCT_UNKNOWN;
    if (r->version >= 3) {
        p = vd_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id, NULL);
    }
    leaf = vlek ? NULL : evidence_vcek(evidence, r, p, &leaf_p);
    if (leaf != NULL && p == VD_PRODUCT_UNKNOWN) {
        p = leaf_p;
    }
    if (leaf == NULL) {
        vd_chain_find_leaf(&lq, &lc);
        leaf = lc.leaf_signs_report ? lc.leaf : NULL;
    }
    int ev_leaf = 0, ev_chain = 0;
    evidence_kinds(evidence, vlek, &ev_leaf, &ev_chain);
    if (leaf == NULL && ev_leaf) {
        goto out; /* its own endorsement key does not verify the report: the core rejects it */
    }
    if (p != VD_PRODUCT_UNKNOWN) {
        /* known from the report or from the VCEK's identity */
    } else if (leaf != NULL) {
        vd_amdcert_t ext;
        if (vd_amdcert_parse(leaf, &ext, &pe) == VD_OK && ext.has_product_name) {
            p = vd_product_from_name(ext.product_name);
        }
    }
    if (p == VD_PRODUCT_UNKNOWN) {
        p = hint;
    }
    if (p == VD_PRODUCT_UNKNOWN) {
        goto out; /* the core says the product is unknown and why */
    }
    *pp = p;
    *pvlek = vlek;
    vd_tcb_t tcb = vd_tcb_decode(r->reported_tcb, p);

    /* The chain: from the evidence when it has a valid one, else the cache / KDS. */
    if (evidence == NULL ||
        !chain_from_set(c, p, vlek, evidence, &issuer, &ark, why, sizeof(why))) {
        issuer = ark = NULL;
        if (ev_chain) {
            goto out; /* its own chain is not trusted: the core says why */
        }
    } else {
        /* A valid chain from the evidence is kept like a fetched one, so that nothing of this
         * appraisal (its CRL's ARK, ark_for in crl.c) nor a later one asks KDS for it. */
        pthread_mutex_lock(&c->mu);
        int known = c->chains[p][vlek ? 1 : 0].issuer != NULL;
        pthread_mutex_unlock(&c->mu);
        if (!known) {
            vd_certcache__remember_chain(c, p, vlek, issuer, ark);
        }
    }
    if (issuer == NULL || ark == NULL) {
        rc = get_chain_until(c, p, vlek, deadline, &issuer, &ark, retry, err);
        if (rc != VD_OK) {
            goto out;
        }
        if ((rc = vd_certset_add_x509(out, issuer, "certificate cache", err)) != VD_OK ||
            (rc = vd_certset_add_x509(out, ark, "certificate cache", err)) != VD_OK) {
            goto out;
        }
    }

    if (leaf != NULL) {
        vd_certcache__count(c, &c->st.evidence_hits);
        /* A VCEK from the evidence that verifies is kept for the next appraisal of this chip. */
        const uint8_t *hw = r->chip_id;
        uint64_t traw = vd_certcache__tcb_raw(&tcb, p);
        if (!vlek && !vd_all_zero(hw, 64)) {
            /* Known already: nothing to verify or store (the common, warm case). */
            char k[CC_KEY_MAX];
            vcek_key(k, sizeof(k), p, hw, hwid_len_for(p), traw);
            pthread_mutex_lock(&c->mu);
            X509 *known = lru_get(c, k);
            pthread_mutex_unlock(&c->mu);
            if (known == NULL && vd_certcache__vcek_ok(leaf, issuer, p, hw, hwid_len_for(p), traw,
                                                       why, sizeof(why))) {
                vd_certcache__remember_vcek(c, p, hw, hwid_len_for(p), traw, leaf, "evidence");
            }
            X509_free(known);
        }
        goto out;
    }
    if (vlek) {
        /* VLEKs are never fetched: only an imported one can help. */
        vlek_ctx_t v = {r, issuer, out, 0};
        vd_certcache__db_each_vlek(c, p, vd_certcache__tcb_raw(&tcb, p), vlek_candidate, &v);
        if (v.added == 0) {
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                        "the VLEK was not supplied with the evidence and no imported VLEK "
                        "verifies the report (KDS serves VLEKs only to cloud providers)");
        }
        goto out;
    }
    if (vd_all_zero(r->chip_id, sizeof(r->chip_id))) {
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                    "CHIP_ID is masked (all zero), so the VCEK cannot be looked up; it must come "
                    "with the evidence");
        goto out;
    }
    rc = get_vcek_until(c, p, r->chip_id, &tcb, deadline, &vcek, retry, err);
    if (rc == VD_OK) {
        rc = vd_certset_add_x509(out, vcek, "certificate cache", err);
    }
out:
    X509_free(vcek);
    X509_free(issuer);
    X509_free(ark);
    free(r);
    return rc;
}

vd_err_t vd_certcache_collect(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                              const vd_certset_t *evidence, vd_product_t hint, long budget_ms,
                              vd_certset_t *out, int64_t *retry_after_ms, vd_error_t *err)
{
    vd_product_t p = VD_PRODUCT_UNKNOWN;
    int vlek = 0;
    int64_t retry = 0;
    vd_err_t rc = collect_until(c, report, report_len, evidence, hint,
                                vd_certcache__deadline(c, budget_ms), out, &p, &vlek, &retry, err);
    if (retry_after_ms != NULL) {
        *retry_after_ms = rc == VD_E_COLLATERAL_UNAVAILABLE ? retry : 0;
    }
    return rc;
}

vd_err_t vd_certcache_prefetch(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                               const vd_certset_t *evidence, vd_product_t hint, long budget_ms,
                               int64_t *retry_after_ms, vd_error_t *err)
{
    vd_certset_t *found = NULL;
    vd_product_t p = VD_PRODUCT_UNKNOWN;
    int vlek = 0;
    int64_t retry = 0;
    int64_t deadline = vd_certcache__deadline(c, budget_ms < 0 ? 0 : budget_ms);
    vd_err_t rc = vd_certset_new(&found, err);
    if (rc == VD_OK) {
        rc = collect_until(c, report, report_len, evidence, hint, deadline, found, &p, &vlek,
                           &retry, err);
    }
    vd_certset_free(&found);
    if (rc == VD_OK && p != VD_PRODUCT_UNKNOWN && c->cfg.crl_mode != VD_CRL_OFF) {
        vd_certcache__crl_prefetch(c, p, vlek, deadline); /* best effort: revocation decides */
    }
    if (retry_after_ms != NULL) {
        *retry_after_ms = rc == VD_E_COLLATERAL_UNAVAILABLE ? retry : 0;
    }
    return rc;
}
