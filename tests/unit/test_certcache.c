/*
 * The certificate cache and KDS client against a mock KDS (tests/mock_kds/mock_kds.py on
 * 127.0.0.1, started per test) serving a test PKI made here (issue #4).
 *
 * The PKI: tests/support/testpki.c's Genoa hierarchy, with the ARK re-keyed and the ASK re-signed
 * by it so that these tests hold the ARK's private key and can sign CRLs. VCEKs issued by the
 * testpki ASK key still verify under the re-signed ASK (same key, same name). The ARK is trusted
 * only as an explicit extra anchor.
 *
 * Assertions are on request counts, order, errors and the waits the client asked for (through
 * the clock/sleep hooks), never on wall-clock durations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "verdict/certcache.h"
#include "verdict/kds.h"
#include "verdict/timefmt.h"
#include "verdict/verify.h"
#include "mockkds.h"
#include "testpki.h"

#define P        VD_PRODUCT_GENOA
#define NTHREADS 200

typedef struct fixture {
    vd_testpki_t *pki;
    EVP_PKEY *ark_key; /* the re-keyed ARK's key: signs CRLs */
    X509 *ark, *ask;   /* served as cert_chain; ark trusted as an extra anchor */
    vd_trust_t *trust;
    uint64_t tcb_raw;
} fixture_t;

/* Per test: a mock KDS and a database file. */
typedef struct env {
    fixture_t *fx;
    vd_mockkds_t *kds;
    char db[128];
    vd_crl_mode_t crl_mode; /* what appraise() asks the core for */
    char crl_note[256];     /* the last appraise()'s vd_crl_list_t note */
} env_t;

/* A chip: its CHIP_ID, VCEK and key, and a report it signed. */
typedef struct chip {
    uint8_t id[64];
    X509 *vcek;
    EVP_PKEY *key;
    uint8_t report[VD_SNP_REPORT_SIZE];
    char url[VD_KDS_URL_MAX];
} chip_t;

/* Fake clock: sleeps are recorded and advance it; nothing really waits. */
typedef struct fakeclock {
    pthread_mutex_t mu;
    int64_t now;
    int64_t waits[64];
    int n;
} fakeclock_t;

static int64_t fake_now(void *ud)
{
    fakeclock_t *f = ud;
    pthread_mutex_lock(&f->mu);
    int64_t v = f->now;
    pthread_mutex_unlock(&f->mu);
    return v;
}

static void fake_sleep(void *ud, int64_t ms)
{
    fakeclock_t *f = ud;
    pthread_mutex_lock(&f->mu);
    if (f->n < 64) {
        f->waits[f->n++] = ms;
    }
    f->now += ms;
    pthread_mutex_unlock(&f->mu);
}

/* ---- PKI ------------------------------------------------------------------------------------ */

/* A CRL from the fixture's ARK, valid [now + from_s, now + until_s), revoking `serial`. */
static X509_CRL *make_crl(const fixture_t *fx, long serial, long from_s, long until_s)
{
    X509_CRL *crl = vd_kdspki_crl(fx->ark, fx->ark_key, serial, from_s, until_s);
    assert_non_null(crl);
    return crl;
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    vd_error_t err = {0};
    if (fx == NULL) {
        return -1;
    }
    fx->pki = vd_testpki_new(P);
    if (fx->pki == NULL ||
        vd_kdspki_rekey(vd_testpki_ark(fx->pki), vd_testpki_ask(fx->pki), &fx->ark_key, &fx->ark,
                        &fx->ask) != 0 ||
        vd_trust_new(&fx->trust, &err) != VD_OK ||
        vd_trust_add_extra(fx->trust, fx->ark, &err) != VD_OK) {
        return -1;
    }
    fx->tcb_raw = vd_testreport_tcb_raw(P, 0, 3, 0, 8, 115);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx != NULL) {
        vd_trust_free(&fx->trust);
        X509_free(fx->ark);
        X509_free(fx->ask);
        EVP_PKEY_free(fx->ark_key);
        vd_testpki_free(&fx->pki);
        free(fx);
    }
    return 0;
}

static void chip_init(const env_t *e, chip_t *c, uint8_t seed)
{
    vd_testpki_leaf_opts_t o;
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < sizeof(c->id); i++) {
        c->id[i] = (uint8_t)(seed * 31 + i + 1);
    }
    memset(&o, 0, sizeof(o));
    o.product_name = "Genoa";
    o.tcb = vd_tcb_decode(e->fx->tcb_raw, P);
    o.hwid = c->id;
    o.hwid_len = 64;
    c->vcek = vd_testpki_issue_leaf(e->fx->pki, &o, &c->key);
    assert_non_null(c->vcek);
    vd_testreport_init(c->report, 3, P, e->fx->tcb_raw, c->id);
    assert_int_equal(vd_testreport_sign(c->report, c->key), 0);
    vd_tcb_t t = vd_tcb_decode(e->fx->tcb_raw, P);
    assert_int_equal(vd_kds_vcek_url(vd_mockkds_url(e->kds), P, c->id, &t, c->url, sizeof(c->url)),
                     0);
}

static void chip_serve(env_t *e, const chip_t *c)
{
    assert_int_equal(vd_mockkds_serve_certs(e->kds, c->url, &c->vcek, 1), 0);
}

static void chip_free(chip_t *c)
{
    X509_free(c->vcek);
    EVP_PKEY_free(c->key);
}

static int env_setup(void **state)
{
    fixture_t *fx = *state;
    env_t *e = calloc(1, sizeof(*e));
    char url[VD_KDS_URL_MAX];
    X509 *chain[2];
    if (e == NULL) {
        return -1;
    }
    e->fx = fx;
    e->kds = vd_mockkds_start();
    if (e->kds == NULL) {
        free(e);
        return -1;
    }
    snprintf(e->db, sizeof(e->db), "%s/cache.db", vd_mockkds_dir(e->kds));
    chain[0] = fx->ask;
    chain[1] = fx->ark;
    if (vd_kds_chain_url(vd_mockkds_url(e->kds), P, 0, url, sizeof(url)) != 0 ||
        vd_mockkds_serve_certs(e->kds, url, chain, 2) != 0) {
        return -1;
    }
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    env_t *e = *state;
    if (e != NULL) {
        fixture_t *fx = e->fx;
        vd_mockkds_stop(&e->kds);
        free(e);
        *state = fx;
    }
    return 0;
}

/* A cache on the env's mock and database: no rate limit, short backoffs, unless changed. */
static vd_certcache_config_t base_cfg(const env_t *e)
{
    vd_certcache_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = e->db;
    cfg.trust = e->fx->trust;
    cfg.kds.base_url = vd_mockkds_url(e->kds);
    cfg.kds.rate_interval_ms = -1;
    cfg.kds.backoff_base_ms = 5;
    cfg.kds.backoff_max_ms = 50;
    cfg.kds.connect_timeout_ms = 5000;
    cfg.kds.total_timeout_ms = 10000;
    return cfg;
}

static vd_certcache_t *open_cache(const vd_certcache_config_t *cfg)
{
    vd_certcache_t *c = NULL;
    vd_error_t err = {0};
    if (vd_certcache_open(cfg, &c, &err) != VD_OK) {
        fail_msg("vd_certcache_open: %s", err.msg);
    }
    return c;
}

static vd_err_t lookup(vd_certcache_t *c, const env_t *e, const chip_t *chip, vd_error_t *err)
{
    X509 *x = NULL;
    vd_tcb_t t = vd_tcb_decode(e->fx->tcb_raw, P);
    vd_err_t rc = vd_certcache_get_vcek(c, P, chip->id, &t, 20000, &x, err);
    if (rc == VD_OK) {
        assert_non_null(x);
        assert_int_equal(X509_cmp(x, chip->vcek), 0);
    }
    X509_free(x);
    return rc;
}

/* Run the pure core on `chip`'s report with what the cache collects. */
/* One appraisal with the cache's certificates and CRLs. The CRL list's note goes to
 * e->crl_note only for `e` that are not shared between threads (see appraise_shared). */
static vd_snp_status_t appraise_note(vd_certcache_t *c, const env_t *e, const chip_t *chip,
                                     vd_err_t *collect_rc, vd_error_t *err, vd_snp_result_t *res,
                                     char *note, size_t note_size)
{
    vd_certset_t *certs = NULL;
    vd_snp_input_t in;
    vd_error_t verr = {0};
    assert_int_equal(vd_certset_new(&certs, &verr), VD_OK);
    *collect_rc = vd_certcache_collect(c, chip->report, sizeof(chip->report), NULL,
                                       VD_PRODUCT_UNKNOWN, 20000, certs, NULL, err);
    memset(&in, 0, sizeof(in));
    in.report = chip->report;
    in.report_len = sizeof(chip->report);
    in.certs = certs;
    in.trust = e->fx->trust;
    in.at = time(NULL);
    vd_crl_list_t crls;
    assert_int_equal(vd_certcache_get_crls_for_report(c, chip->report, sizeof(chip->report),
                                                      VD_PRODUCT_UNKNOWN, 20000, 0, &crls, &verr),
                     VD_OK);
    if (note != NULL) {
        snprintf(note, note_size, "%s", crls.note);
    }
    in.crls = crls.crls;
    in.n_crls = crls.n;
    in.crl_mode = e->crl_mode;
    assert_int_equal(vd_snp_verify(&in, res, &verr), VD_OK);
    vd_crl_list_free(&crls);
    vd_certset_free(&certs);
    return res->status;
}

static vd_snp_status_t appraise(vd_certcache_t *c, env_t *e, const chip_t *chip,
                                vd_err_t *collect_rc, vd_error_t *err, vd_snp_result_t *res)
{
    return appraise_note(c, e, chip, collect_rc, err, res, e->crl_note, sizeof(e->crl_note));
}

/* ---- tests ---------------------------------------------------------------------------------- */

typedef struct thread_arg {
    vd_certcache_t *c;
    const env_t *e;
    const chip_t *chip;
    vd_err_t rc;
} thread_arg_t;

static void *lookup_thread(void *p)
{
    thread_arg_t *a = p;
    vd_error_t err = {0};
    X509 *x = NULL;
    vd_tcb_t t = vd_tcb_decode(a->e->fx->tcb_raw, P);
    a->rc = vd_certcache_get_vcek(a->c, P, a->chip->id, &t, 60000, &x, &err);
    if (a->rc == VD_OK && X509_cmp(x, a->chip->vcek) != 0) {
        a->rc = VD_E_INTERNAL;
    }
    X509_free(x);
    return NULL;
}

static void test_certcache_single_flight_200_threads(void **state)
{
    env_t *e = *state;
    chip_t chip;
    chip_init(e, &chip, 1);
    chip_serve(e, &chip);
    /* Slow answers so that the lookups pile up behind the first one. */
    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"slow\", "
                                              "\"delay_ms\": 400}]"),
                     0);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    pthread_t th[NTHREADS];
    thread_arg_t args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (thread_arg_t){c, e, &chip, VD_E_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, lookup_thread, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, VD_OK);
    }
    /* The mock counts by path (query dropped): one VCEK request and one cert_chain request. */
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2);
    assert_int_equal(vd_mockkds_count(e->kds, "cert_chain"), 1);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.fetches, 2);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.kds.requests, 2);
    /* Every other lookup either waited for the flight or found the result in memory. */
    assert_int_equal(st.flight_waits + st.memory_hits, NTHREADS - 1);
    vd_certcache_free(&c);
    chip_free(&chip);
}

static void test_certcache_warm_restart_makes_no_request(void **state)
{
    env_t *e = *state;
    chip_t chip;
    vd_error_t err = {0};
    chip_init(e, &chip, 2);
    chip_serve(e, &chip);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &chip, &err), VD_OK);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2);
    vd_certcache_free(&c);

    /* A new process: same database, nothing in memory. */
    c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &chip, &err), VD_OK);
    assert_int_equal(lookup(c, e, &chip, &err), VD_OK);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.requests, 0);
    assert_true(st.db_hits >= 2); /* chain and VCEK from SQLite */
    assert_true(st.memory_hits >= 1);
    vd_certcache_free(&c);

    /* And offline too. */
    cfg.offline = 1;
    c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &chip, &err), VD_OK);
    vd_certcache_free(&c);
    chip_free(&chip);
}

static void test_certcache_kds_down_cached_verifies_uncached_fails_fast(void **state)
{
    env_t *e = *state;
    chip_t known, unknown, other;
    vd_error_t err = {0};
    vd_err_t crc;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    chip_init(e, &known, 3);
    chip_init(e, &unknown, 4);
    chip_init(e, &other, 5);
    chip_serve(e, &known);
    chip_serve(e, &unknown);
    chip_serve(e, &other);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &known, &crc, &err, res), VD_SNP_GENUINE);
    assert_int_equal(crc, VD_OK);
    vd_certcache_free(&c);

    /* KDS hangs: each attempt times out. */
    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"/\", \"mode\": \"hang\"}]"), 0);
    long before = vd_mockkds_count(e->kds, NULL);
    cfg.kds.total_timeout_ms = 300;
    c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &known, &crc, &err, res), VD_SNP_GENUINE);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), before);

    memset(&err, 0, sizeof(err));
    assert_int_equal(appraise(c, e, &unknown, &crc, &err, res), VD_SNP_COLLATERAL_MISSING);
    assert_int_equal(crc, VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "KDS unreachable"));
    assert_int_equal(vd_mockkds_count(e->kds, NULL), before + 1); /* one timeout, no retries */

    /* The circuit is open: the next uncached chip fails without a request. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(appraise(c, e, &other, &crc, &err, res), VD_SNP_COLLATERAL_MISSING);
    assert_int_equal(crc, VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "circuit open"));
    assert_int_equal(vd_mockkds_count(e->kds, NULL), before + 1);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.breaker_trips, 1);
    assert_int_equal(st.kds.breaker_refused, 1);
    vd_certcache_free(&c);
    chip_free(&known);
    chip_free(&unknown);
    chip_free(&other);
    free(res);
}

/* collect() for `chip` with no evidence; *retry gets the retry time. */
static vd_err_t collect_chip(vd_certcache_t *c, const chip_t *chip, long budget_ms, int64_t *retry,
                             vd_error_t *err)
{
    vd_certset_t *out = NULL;
    vd_error_t e2 = {0};
    assert_int_equal(vd_certset_new(&out, &e2), VD_OK);
    memset(err, 0, sizeof(*err));
    vd_err_t rc = vd_certcache_collect(c, chip->report, sizeof(chip->report), NULL,
                                       VD_PRODUCT_UNKNOWN, budget_ms, out, retry, err);
    if (rc == VD_OK) {
        assert_int_equal(*retry, 0);
    }
    vd_certset_free(&out);
    return rc;
}

static void clock_advance(fakeclock_t *fc, int64_t ms)
{
    pthread_mutex_lock(&fc->mu);
    fc->now += ms;
    pthread_mutex_unlock(&fc->mu);
}

static void test_certcache_rate_limiter_never_waited_for(void **state)
{
    env_t *e = *state;
    chip_t a, b;
    vd_error_t err = {0};
    int64_t retry = 0;
    fakeclock_t fc = {.mu = PTHREAD_MUTEX_INITIALIZER, .now = 1000000};
    chip_init(e, &a, 6);
    chip_init(e, &b, 7);
    chip_serve(e, &a);
    chip_serve(e, &b);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    cfg.kds.rate_interval_ms = 10000;
    cfg.kds.rate_burst = 1;
    cfg.kds.hooks = (vd_kds_hooks_t){fake_now, fake_sleep, &fc};
    vd_certcache_t *c = open_cache(&cfg);
    /* The chain goes out at t0; the VCEK would need the next slot: refused at once, with when. */
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "rate limit"));
    assert_int_equal(retry, 10000);
    assert_int_equal(fc.n, 0); /* nothing slept */
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 1);
    clock_advance(&fc, retry);
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_OK);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2);
    /* The next chip: the slot was just used. */
    assert_int_equal(collect_chip(c, &b, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_int_equal(retry, 10000);
    clock_advance(&fc, 4000);
    assert_int_equal(collect_chip(c, &b, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_int_equal(retry, 6000);
    clock_advance(&fc, 6000);
    assert_int_equal(collect_chip(c, &b, 20000, &retry, &err), VD_OK);
    assert_int_equal(fc.n, 0);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 3);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.rate_limit_refused, 3);
    assert_int_equal(st.kds.backoff_waits, 0);
    vd_certcache_free(&c);
    chip_free(&a);
    chip_free(&b);
}

static void test_certcache_retry_after_honoured(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    int64_t retry = 0;
    fakeclock_t fc = {.mu = PTHREAD_MUTEX_INITIALIZER, .now = 5000};
    chip_init(e, &a, 9);
    chip_serve(e, &a);
    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"429\", "
                                              "\"retry_after\": \"7\", \"times\": 1}]"),
                     0);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    cfg.kds.backoff_max_ms = 60000;
    cfg.kds.hooks = (vd_kds_hooks_t){fake_now, fake_sleep, &fc};
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "Retry-After 7"));
    assert_int_equal(retry, 7000);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2); /* chain, 429 */
    /* Until then nothing is sent, and nobody sleeps. */
    clock_advance(&fc, 3000);
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_int_equal(retry, 4000);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2);
    clock_advance(&fc, 4000);
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_OK);
    assert_int_equal(fc.n, 0);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 3);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.rate_limited, 1);
    vd_certcache_free(&c);
    chip_free(&a);
}

/* Defect 7: a huge Retry-After is capped (no overflow, no hour-long lockout), also when saved. */
static void test_certcache_retry_after_huge_is_capped(void **state)
{
    env_t *e = *state;
    static const char *const values[] = {"3600", "99999999999999999999", "9223372036854775807",
                                         "Wed, 01 Jan 2200 00:00:00 GMT"};
    fakeclock_t fc = {.mu = PTHREAD_MUTEX_INITIALIZER, .now = 5000};
    vd_error_t err = {0};
    int64_t retry = 0;
    char rules[256];
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        chip_t a;
        chip_init(e, &a, (uint8_t)(40 + i));
        chip_serve(e, &a);
        snprintf(rules, sizeof(rules),
                 "[{\"match\": \"SPL\", \"mode\": \"429\", \"retry_after\": \"%s\"}]", values[i]);
        assert_int_equal(vd_mockkds_rules(e->kds, rules), 0);
        vd_certcache_config_t cfg = base_cfg(e);
        cfg.crl_mode = VD_CRL_OFF;
        cfg.kds.backoff_max_ms = 30000;
        cfg.kds.hooks = (vd_kds_hooks_t){fake_now, fake_sleep, &fc};
        vd_certcache_t *c = open_cache(&cfg);
        assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
        assert_non_null(strstr(err.msg, "429"));
        assert_int_equal(retry, 30000); /* capped at backoff_max_ms, positive */
        vd_certcache_free(&c);          /* saves the 429 state */

        /* The next run: refused, but only for the cap, not for an hour or more. */
        vd_mockkds_reset(e->kds);
        chip_serve(e, &a);
        c = open_cache(&cfg);
        assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
        assert_in_range(retry, 1, 30000);
        assert_int_equal(vd_mockkds_count(e->kds, NULL), 0);
        clock_advance(&fc, 30000);
        assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_OK);
        vd_certcache_free(&c);
        chip_free(&a);
        clock_advance(&fc, 100000);
    }
    assert_int_equal(fc.n, 0);
}

/* Saved KDS state is untrusted: extreme values are clamped, and the message does not invent
 * failed attempts this run did not make. */
static void test_certcache_kds_state_tampered(void **state)
{
    env_t *e = *state;
    static const int64_t values[] = {INT64_MAX, INT64_MIN, -1, 0};
    chip_t a;
    vd_error_t err = {0};
    int64_t retry = 0;
    chip_init(e, &a, 50);
    chip_serve(e, &a);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    cfg.kds.breaker_cooldown_ms = 20000;
    cfg.kds.backoff_max_ms = 10000;
    vd_certcache_t *c = open_cache(&cfg); /* creates the schema */
    vd_certcache_free(&c);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        sqlite3 *db = NULL;
        char sql[256];
        assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
        snprintf(sql, sizeof(sql),
                 "INSERT OR REPLACE INTO kds_state(k, v) VALUES('kds_open_until_ms', %lld),"
                 "('kds_blocked_until_ms', %lld)",
                 (long long)values[i], (long long)values[i]);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        c = open_cache(&cfg);
        vd_err_t rc = collect_chip(c, &a, 20000, &retry, &err);
        if (values[i] == INT64_MAX) {
            assert_int_equal(rc, VD_E_COLLATERAL_UNAVAILABLE);
            assert_non_null(strstr(err.msg, "circuit opened by an earlier run"));
            assert_null(strstr(err.msg, "failed attempt"));
            assert_in_range(retry, 1, 20000);
        } else {
            assert_int_equal(rc, VD_OK); /* past or nonsense: ignored */
        }
        vd_certcache_free(&c);
    }
    chip_free(&a);
}

static void test_certcache_429_without_retry_after_backs_off(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    int64_t retry = 0;
    fakeclock_t fc = {.mu = PTHREAD_MUTEX_INITIALIZER, .now = 5000};
    chip_init(e, &a, 11);
    chip_serve(e, &a);
    assert_int_equal(
        vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"429\", \"times\": 2}]"), 0);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    cfg.kds.hooks = (vd_kds_hooks_t){fake_now, fake_sleep, &fc};
    cfg.kds.backoff_base_ms = 2000;
    cfg.kds.backoff_max_ms = 60000;
    vd_certcache_t *c = open_cache(&cfg);
    /* Exponential over consecutive 429s: 2 s then 4 s, each plus up to 25 % jitter. */
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_in_range(retry, 2000, 2500);
    clock_advance(&fc, retry);
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_in_range(retry, 4000, 5000);
    clock_advance(&fc, retry);
    assert_int_equal(collect_chip(c, &a, 20000, &retry, &err), VD_OK);
    assert_int_equal(fc.n, 0);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 4);
    vd_certcache_free(&c);
    chip_free(&a);
}

/* The mock's rule pattern for `chip`'s VCEK: its URL path without the query. */
static void chip_match(const env_t *e, const chip_t *chip, char *out, size_t n)
{
    snprintf(out, n, "%s", chip->url + strlen(vd_mockkds_url(e->kds)));
    char *q = strchr(out, '?');
    if (q != NULL) {
        *q = '\0';
    }
}

typedef struct collect_arg {
    vd_certcache_t *c;
    const chip_t *chip;
    long budget_ms;
    vd_err_t rc;
    int64_t retry;
} collect_arg_t;

static void *collect_thread(void *p)
{
    collect_arg_t *a = p;
    vd_error_t err = {0};
    a->rc = collect_chip(a->c, a->chip, a->budget_ms, &a->retry, &err);
    return NULL;
}

/* Issue #7: a lookup waits for its own chip's fetch only; NO_WAIT never waits, never fetches. */
static void test_certcache_waits_only_for_own_chip(void **state)
{
    env_t *e = *state;
    chip_t a, b;
    vd_error_t err = {0};
    int64_t retry = 0;
    char rules[VD_KDS_URL_MAX + 100], ma[VD_KDS_URL_MAX];
    chip_init(e, &a, 60);
    chip_init(e, &b, 61);
    chip_serve(e, &a);
    chip_serve(e, &b);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    vd_certcache_t *c = open_cache(&cfg);
    X509 *ask = NULL, *ark = NULL;
    assert_int_equal(vd_certcache_get_chain(c, P, 0, 20000, &ask, &ark, &err), VD_OK);
    X509_free(ask);
    X509_free(ark);
    /* Chip a's VCEK is slow to come. */
    chip_match(e, &a, ma, sizeof(ma));
    snprintf(rules, sizeof(rules), "[{\"match\": \"%s\", \"mode\": \"slow\", \"delay_ms\": 1500}]",
             ma);
    assert_int_equal(vd_mockkds_rules(e->kds, rules), 0);
    pthread_t th;
    collect_arg_t arg = {c, &a, 20000, VD_E_INTERNAL, 0};
    assert_int_equal(pthread_create(&th, NULL, collect_thread, &arg), 0);
    vd_certcache_stats_t st;
    for (int i = 0; i < 2000; i++) { /* until a's fetch has started */
        vd_certcache_stats(c, &st);
        if (st.fetches >= 2) {
            break;
        }
        usleep(1000);
    }
    assert_int_equal(st.fetches, 2);
    /* NO_WAIT for the chip in flight: at once, with a retry time, no request. */
    assert_int_equal(collect_chip(c, &a, VD_CERTCACHE_NO_WAIT, &retry, &err),
                     VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "being fetched"));
    assert_true(retry >= VD_CERTCACHE_RETRY_HINT_MS);
    /* Another chip is fetched without waiting for a's flight. */
    assert_int_equal(collect_chip(c, &b, 20000, &retry, &err), VD_OK);
    vd_certcache_stats(c, &st);
    assert_int_equal(st.flight_waits, 0);
    char mb[VD_KDS_URL_MAX];
    chip_match(e, &b, mb, sizeof(mb));
    assert_int_equal(vd_mockkds_count(e->kds, mb), 1);
    pthread_join(th, NULL);
    assert_int_equal(arg.rc, VD_OK);
    assert_int_equal(collect_chip(c, &a, VD_CERTCACHE_NO_WAIT, &retry, &err), VD_OK);
    vd_certcache_free(&c);
    chip_free(&a);
    chip_free(&b);
}

static void test_certcache_no_wait_then_prefetch(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    int64_t retry = 0;
    char url[VD_KDS_URL_MAX];
    chip_init(e, &a, 62);
    chip_serve(e, &a);
    X509_CRL *crl = make_crl(e->fx, -1, -60, 7 * 86400);
    assert_int_equal(vd_kds_crl_url(vd_mockkds_url(e->kds), P, 0, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_crl(e->kds, url, crl), 0);
    X509_CRL_free(crl);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    /* Cold, NO_WAIT: unavailable at once, nothing sent. */
    assert_int_equal(collect_chip(c, &a, VD_CERTCACHE_NO_WAIT, &retry, &err),
                     VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "does not wait"));
    assert_true(retry >= VD_CERTCACHE_RETRY_HINT_MS);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 0);
    /* The fetcher thread's call: chain, VCEK and CRL. */
    assert_int_equal(vd_certcache_prefetch(c, a.report, sizeof(a.report), NULL, VD_PRODUCT_UNKNOWN,
                                           0, &retry, &err),
                     VD_OK);
    assert_int_equal(retry, 0);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 3);
    assert_int_equal(vd_mockkds_count(e->kds, "crl"), 1);
    /* Now the NO_WAIT appraisal has everything, including a fresh CRL, with no request. */
    vd_certset_t *certs = NULL;
    vd_snp_input_t in;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_certcache_collect(c, a.report, sizeof(a.report), NULL, VD_PRODUCT_UNKNOWN,
                                          VD_CERTCACHE_NO_WAIT, certs, &retry, &err),
                     VD_OK);
    memset(&in, 0, sizeof(in));
    in.report = a.report;
    in.report_len = sizeof(a.report);
    in.certs = certs;
    in.trust = e->fx->trust;
    in.at = time(NULL);
    vd_crl_list_t crls;
    assert_int_equal(vd_certcache_get_crls_for_report(c, a.report, sizeof(a.report),
                                                      VD_PRODUCT_UNKNOWN, VD_CERTCACHE_NO_WAIT, 0,
                                                      &crls, &err),
                     VD_OK);
    in.crls = crls.crls;
    in.n_crls = crls.n;
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    vd_crl_list_free(&crls);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    const vd_check_t *rev = vd_checks_find(&res->checks, "chain.revocation");
    assert_non_null(rev);
    assert_int_equal(rev->result, VD_CHECK_PASS); /* the prefetched CRL, no request */
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 3);
    vd_certset_free(&certs);
    free(res);
    vd_certcache_free(&c);
    chip_free(&a);
}

static void test_certcache_404_is_remembered(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    chip_init(e, &a, 12); /* not served: 404 */
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "404"));
    long n = vd_mockkds_count(e->kds, NULL);
    memset(&err, 0, sizeof(err));
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "remembered"));
    assert_int_equal(vd_mockkds_count(e->kds, NULL), n);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.not_found, 1);
    assert_int_equal(st.kds.negative_hits, 1);
    assert_int_equal(st.kds.retries, 0);
    vd_certcache_free(&c);
    chip_free(&a);
}

static void test_certcache_500_retried_with_backoff(void **state)
{
    env_t *e = *state;
    chip_t a, b;
    vd_error_t err = {0};
    chip_init(e, &a, 13);
    chip_init(e, &b, 14);
    chip_serve(e, &a);
    chip_serve(e, &b);
    assert_int_equal(
        vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"500\", \"times\": 2}]"), 0);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.server_errors, 2);
    assert_int_equal(st.kds.retries, 2);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 4);

    /* Always 500: three attempts, then the circuit opens. */
    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"500\"}]"), 0);
    assert_int_equal(lookup(c, e, &b, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 7);
    vd_certcache_stats(c, &st);
    assert_int_equal(st.kds.breaker_trips, 1);
    vd_certcache_free(&c);
    chip_free(&a);
    chip_free(&b);
}

static void test_certcache_bad_bodies_are_not_stored(void **state)
{
    env_t *e = *state;
    chip_t a, wrong;
    vd_error_t err = {0};
    chip_init(e, &a, 15);
    chip_init(e, &wrong, 16);
    chip_serve(e, &a);
    unsigned char *der = NULL;
    int dlen = i2d_X509(wrong.vcek, &der);
    assert_true(dlen > 0);
    assert_int_equal(vd_mockkds_put_file(e->kds, "wrong.der", der, (size_t)dlen), 0);
    OPENSSL_free(der);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.kds.max_attempts = 1;
    cfg.kds.breaker_threshold = 100;
    vd_certcache_t *c = open_cache(&cfg);

    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"garbage\"}]"), 0);
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "not one certificate"));

    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"truncate\"}]"), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "KDS unreachable"));

    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"file\", "
                                              "\"file\": \"wrong.der\"}]"),
                     0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "wrong certificate"));
    /* A body past the size bound is cut off (CURLOPT_MAXFILESIZE_LARGE / write cap). */
    static uint8_t big[100000];
    memset(big, 0x30, sizeof(big));
    assert_int_equal(vd_mockkds_put_file(e->kds, "big.bin", big, sizeof(big)), 0);
    assert_int_equal(vd_mockkds_rules(e->kds, "[{\"match\": \"SPL\", \"mode\": \"file\", "
                                              "\"file\": \"big.bin\"}]"),
                     0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "larger than 65536 bytes"));

    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.stored, 1); /* only the chain */
    assert_int_equal(st.fetch_errors, 4);

    /* Once KDS behaves, the right certificate is fetched and kept. */
    assert_int_equal(vd_mockkds_rules(e->kds, "[]"), 0);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    vd_certcache_free(&c);
    chip_free(&a);
    chip_free(&wrong);
}

static void test_certcache_poisoned_row_is_dropped(void **state)
{
    env_t *e = *state;
    chip_t a, b;
    vd_error_t err = {0};
    sqlite3 *db = NULL;
    chip_init(e, &a, 17);
    chip_init(e, &b, 18);
    chip_serve(e, &a);
    chip_serve(e, &b);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    assert_int_equal(lookup(c, e, &b, &err), VD_OK);
    vd_certcache_free(&c);
    /* Put chip b's VCEK under chip a's key. */
    assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE vcek SET der=(SELECT der FROM vcek WHERE rowid=(SELECT "
                                  "max(rowid) FROM vcek)) WHERE rowid=(SELECT min(rowid) FROM "
                                  "vcek)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    long vcek_before = vd_mockkds_count(e->kds, NULL);
    c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    assert_int_equal(lookup(c, e, &b, &err), VD_OK);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), vcek_before + 1); /* refetched once */
    vd_certcache_free(&c);
    chip_free(&a);
    chip_free(&b);
}

static void test_certcache_evidence_vcek_is_stored(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    vd_certset_t *ev = NULL, *out = NULL;
    chip_init(e, &a, 19); /* not served by KDS */
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(vd_certset_new(&ev, &err), VD_OK);
    assert_int_equal(vd_certset_new(&out, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(ev, a.vcek, "evidence", &err), VD_OK);
    assert_int_equal(vd_certcache_collect(c, a.report, sizeof(a.report), ev, VD_PRODUCT_UNKNOWN,
                                          20000, out, NULL, &err),
                     VD_OK);
    assert_int_equal(vd_certset_count(out), 2); /* the chain; the VCEK came with the evidence */
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.evidence_hits, 1);
    vd_certcache_free(&c);
    cfg.offline = 1;
    c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 1); /* the chain only */
    vd_certcache_free(&c);
    vd_certset_free(&ev);
    vd_certset_free(&out);
    chip_free(&a);
}

/* Evidence that carries its whole chain (VCEK, ASK, ARK) needs nothing from KDS: not the VCEK,
 * not the chain, and not the chain again to find the ARK its CRL is checked with. The CRL is
 * asked for once (it is due), then not again for the next appraisal. */
static void test_certcache_evidence_chain_needs_no_fetch(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    vd_certset_t *ev = NULL, *out = NULL;
    chip_init(e, &a, 23); /* not served by KDS */
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.db_path = NULL;
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(vd_certset_new(&ev, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(ev, a.vcek, "evidence", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(ev, e->fx->ask, "evidence", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(ev, e->fx->ark, "evidence", &err), VD_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vd_certset_new(&out, &err), VD_OK);
        assert_int_equal(vd_certcache_collect(c, a.report, sizeof(a.report), ev, VD_PRODUCT_UNKNOWN,
                                              VD_CERTCACHE_NO_WAIT, out, NULL, &err),
                         VD_OK);
        assert_int_equal(vd_certset_count(out), 0); /* everything came with the evidence */
        vd_certset_free(&out);
        assert_int_equal(vd_certcache_crl_due(c, P, 0), i == 0);
        vd_crl_list_t crls;
        assert_int_equal(vd_certcache_get_crls_for_report(c, a.report, sizeof(a.report),
                                                          VD_PRODUCT_UNKNOWN, 20000, 0, &crls,
                                                          &err),
                         VD_OK);
        vd_crl_list_free(&crls);
        assert_int_equal(vd_certcache_crl_due(c, P, 0), 0); /* attempted: not again for an hour */
    }
    assert_int_equal(vd_mockkds_count(e->kds, "/cert_chain"), 0);
    assert_int_equal(vd_mockkds_count(e->kds, a.url), 0);
    assert_int_equal(vd_mockkds_count(e->kds, "/crl"), 1);
    vd_certcache_free(&c);
    vd_certset_free(&ev);
    chip_free(&a);
}

/* The cold-fetch budget: per client (an IPv4 address whatever its port, an IPv6 /64) a burst and
 * then one per interval on the client's clock; a cap on admitted appraisals at once, whose
 * refusal costs no budget; counters. */
static void test_certcache_cold_budget(void **state)
{
    env_t *e = *state;
    fakeclock_t fc = {.mu = PTHREAD_MUTEX_INITIALIZER, .now = 1000000};
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.db_path = NULL;
    cfg.kds.hooks = (vd_kds_hooks_t){fake_now, fake_sleep, &fc};
    cfg.cold_burst = 2;
    cfg.cold_interval_ms = 1000;
    cfg.cold_max_concurrent = 1;
    vd_certcache_t *c = open_cache(&cfg);
    int64_t retry = 0;
    for (int i = 0; i < 2; i++) {
        const char *from = i == 0 ? "192.0.2.1:1000" : "192.0.2.1:2000";
        assert_int_equal(vd_certcache_cold_admit(c, from, NULL, &retry), VD_COLD_ADMITTED);
        assert_int_equal(retry, 0);
        vd_certcache_cold_done(c, NULL);
    }
    /* Spent, whatever the port; another client is not affected. */
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.1:3000", NULL, &retry),
                     VD_COLD_CLIENT_BUDGET);
    assert_int_equal(retry, 1000);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.1", NULL, &retry), VD_COLD_CLIENT_BUDGET);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.2:1000", NULL, &retry), VD_COLD_ADMITTED);
    /* The cap: one at a time. A refusal for that costs the client nothing. */
    assert_int_equal(vd_certcache_cold_admit(c, "198.51.100.7:1", NULL, &retry), VD_COLD_BUSY);
    assert_true(retry >= 1);
    assert_int_equal(vd_certcache_cold_admit(c, NULL, NULL, &retry), VD_COLD_BUSY);
    vd_certcache_cold_done(c, NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vd_certcache_cold_admit(c, "198.51.100.7:1", NULL, &retry),
                         VD_COLD_ADMITTED);
        vd_certcache_cold_done(c, NULL);
    }
    /* IPv6: one /64 is one client; the next /64 is another. */
    assert_int_equal(vd_certcache_cold_admit(c, "[2001:db8:0:1::1]:443", NULL, &retry),
                     VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    assert_int_equal(vd_certcache_cold_admit(c, "[2001:db8:0:1:ffff::2]:80", NULL, &retry),
                     VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    assert_int_equal(vd_certcache_cold_admit(c, "[2001:db8:0:1::3]:1", NULL, &retry),
                     VD_COLD_CLIENT_BUDGET);
    assert_int_equal(vd_certcache_cold_admit(c, "[2001:db8:0:2::1]:1", NULL, &retry),
                     VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    /* An IPv4-mapped IPv6 peer is that IPv4 client. */
    assert_int_equal(vd_certcache_cold_admit(c, "[::ffff:192.0.2.1]:9", NULL, &retry),
                     VD_COLD_CLIENT_BUDGET);
    /* One interval later the first client may make one more, not two. */
    clock_advance(&fc, 1000);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.1:4000", NULL, &retry), VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.1:4000", NULL, &retry),
                     VD_COLD_CLIENT_BUDGET);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    assert_int_equal(st.cold_admitted, 9);
    assert_int_equal(st.cold_refused_client, 5);
    assert_int_equal(st.cold_refused_busy, 2);
    assert_int_equal(st.cold_in_flight, 0);
    vd_certcache_free(&c);

    /* The same chip (`what`) as a running admission: joined, neither charged nor capped. */
    c = open_cache(&cfg);
    uint8_t w1[32], w2[32];
    memset(w1, 1, sizeof(w1));
    memset(w2, 2, sizeof(w2));
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.20:1", w1, &retry), VD_COLD_ADMITTED);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.20:2", w1, &retry), VD_COLD_ADMITTED);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.21:1", w1, &retry), VD_COLD_ADMITTED);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.21:1", w2, &retry), VD_COLD_BUSY);
    for (int i = 0; i < 3; i++) {
        vd_certcache_cold_done(c, w1);
    }
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.20:3", w1, &retry), VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, w1);
    vd_certcache_cold_done(c, w1); /* one too many: harmless */
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.20:3", w2, &retry), VD_COLD_CLIENT_BUDGET);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.21:3", w2, &retry), VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, w2);
    vd_certcache_stats(c, &st);
    assert_int_equal(st.cold_admitted, 3); /* .20 twice (its burst), .21 once */
    assert_int_equal(st.cold_joined, 2);
    assert_int_equal(st.cold_in_flight, 0);
    vd_certcache_free(&c);

    /* KDS rate limiting us (here our own limiter, spent by one fetch): nobody is admitted, and
     * nobody's budget is spent on it; a client over its budget still hears about its budget. */
    chip_t a;
    vd_error_t err = {0};
    chip_init(e, &a, 24);
    chip_serve(e, &a);
    vd_certcache_config_t lim = cfg;
    lim.kds.rate_interval_ms = 10000;
    lim.kds.rate_burst = 2;
    c = open_cache(&lim);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.9:1", NULL, &retry), VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.9:1", NULL, &retry), VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    assert_int_equal(vd_certcache_kds_throttled_ms(c), 0);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK); /* chain + VCEK: the limiter is empty */
    assert_true(vd_certcache_kds_throttled_ms(c) > 0);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.10:1", NULL, &retry), VD_COLD_THROTTLED);
    assert_true(retry > 0 && retry <= 10000);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.9:1", NULL, &retry),
                     VD_COLD_CLIENT_BUDGET);
    clock_advance(&fc, 10000);
    assert_int_equal(vd_certcache_cold_admit(c, "192.0.2.10:1", NULL, &retry), VD_COLD_ADMITTED);
    vd_certcache_cold_done(c, NULL);
    vd_certcache_stats(c, &st);
    assert_int_equal(st.cold_refused_throttled, 1);
    vd_certcache_free(&c);
    chip_free(&a);

    /* Many clients: the table is bounded; a new client always gets its own full burst. */
    c = open_cache(&cfg);
    char from[64];
    for (int i = 0; i < 3 * VD_CERTCACHE_COLD_CLIENTS; i++) {
        snprintf(from, sizeof(from), "10.%d.%d.%d:5", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_int_equal(vd_certcache_cold_admit(c, from, NULL, &retry), VD_COLD_ADMITTED);
        vd_certcache_cold_done(c, NULL);
    }
    vd_certcache_free(&c);
}

static void test_certcache_offline_uncached_fails(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    chip_init(e, &a, 20);
    chip_serve(e, &a);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.offline = 1;
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "offline"));
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 0);
    vd_certcache_free(&c);
    chip_free(&a);
}

static void serve_crl(env_t *e, X509_CRL *crl)
{
    char url[VD_KDS_URL_MAX];
    assert_int_equal(vd_kds_crl_url(vd_mockkds_url(e->kds), P, 0, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_crl(e->kds, url, crl), 0);
}

static void test_certcache_crl_revoked_ask_rejected(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    vd_err_t crc;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    chip_init(e, &a, 21);
    chip_serve(e, &a);
    long serial = ASN1_INTEGER_get(X509_get0_serialNumber(e->fx->ask));
    X509_CRL *crl = make_crl(e->fx, serial, -3600, 30 * 86400L);
    serve_crl(e, crl);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &a, &crc, &err, res), VD_SNP_REJECTED);
    const vd_check_t *chk = vd_checks_find(&res->checks, "chain.revocation");
    assert_non_null(chk);
    assert_int_equal(chk->result, VD_CHECK_FAIL);
    assert_non_null(strstr(chk->detail, "revoked"));
    /* Every other check passed: the revocation is what rejects it. */
    assert_int_equal(vd_checks_count(&res->checks, VD_CHECK_FAIL), 1);
    vd_certcache_free(&c);
    X509_CRL_free(crl);

    /* A CRL that does not list it: pass; the CRL is then cached (no second request). */
    crl = make_crl(e->fx, serial + 1000, -3600, 30 * 86400L);
    serve_crl(e, crl);
    cfg.db_path = NULL;
    c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &a, &crc, &err, res), VD_SNP_GENUINE);
    chk = vd_checks_find(&res->checks, "chain.revocation");
    assert_non_null(chk);
    assert_int_equal(chk->result, VD_CHECK_PASS);
    long n = vd_mockkds_count(e->kds, "/crl");
    assert_int_equal(appraise(c, e, &a, &crc, &err, res), VD_SNP_GENUINE);
    assert_int_equal(vd_mockkds_count(e->kds, "/crl"), n);
    vd_certcache_free(&c);
    X509_CRL_free(crl);
    chip_free(&a);
    free(res);
}

static void test_certcache_crl_stale_fail_open_and_closed(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    vd_err_t crc;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    chip_init(e, &a, 22);
    chip_serve(e, &a);
    X509_CRL *crl = make_crl(e->fx, -1, -90 * 86400L, -86400L); /* expired yesterday */
    serve_crl(e, crl);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.db_path = NULL;
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &a, &crc, &err, res), VD_SNP_GENUINE);
    const vd_check_t *chk = vd_checks_find(&res->checks, "chain.revocation");
    assert_non_null(chk);
    assert_int_equal(chk->result, VD_CHECK_SKIP);
    assert_non_null(strstr(chk->detail, "fail-open"));
    vd_certcache_free(&c);

    cfg.crl_mode = VD_CRL_FAIL_CLOSED;
    e->crl_mode = VD_CRL_FAIL_CLOSED;
    c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &a, &crc, &err, res), VD_SNP_COLLATERAL_MISSING);
    assert_non_null(strstr(res->missing, "no CRL"));
    vd_certcache_free(&c);
    e->crl_mode = VD_CRL_FAIL_OPEN;

    /* A CRL signed by someone else is never used. */
    X509_CRL_free(crl);
    fixture_t other = *e->fx;
    other.ark_key = EVP_RSA_gen(2048);
    assert_non_null(other.ark_key);
    crl = make_crl(&other, ASN1_INTEGER_get(X509_get0_serialNumber(e->fx->ask)), -3600, 86400);
    serve_crl(e, crl);
    cfg.crl_mode = VD_CRL_FAIL_OPEN;
    c = open_cache(&cfg);
    assert_int_equal(appraise(c, e, &a, &crc, &err, res), VD_SNP_GENUINE);
    chk = vd_checks_find(&res->checks, "chain.revocation");
    assert_int_equal(chk->result, VD_CHECK_SKIP);
    assert_non_null(strstr(chk->detail, "none available"));
    assert_non_null(strstr(e->crl_note, "unusable CRL"));
    vd_certcache_free(&c);
    EVP_PKEY_free(other.ark_key);
    X509_CRL_free(crl);
    chip_free(&a);
    free(res);
}

static int bundle_entry(void *ud, const vd_certcache_entry_t *en)
{
    FILE *f = ud;
    assert_non_null(en->pem);
    assert_int_equal(strlen(en->pem), en->pem_len);
    /* The comment names a CRL's hierarchy (certcache/README.md). */
    fprintf(f, "# %s %s %s\n", en->kind, en->product, en->detail);
    fwrite(en->pem, 1, en->pem_len, f);
    return 0;
}

/* Every cached object as a bundle, from the library's entries (the CLI formats the same way). */
static char *bundle_of(vd_certcache_t *c, size_t *len, size_t *count)
{
    char *buf = NULL;
    vd_error_t err = {0};
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    assert_int_equal(vd_certcache_each(c, bundle_entry, f, count, &err), VD_OK);
    fclose(f);
    return buf;
}

static void test_certcache_export_import_roundtrip(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    size_t len = 0, count = 0, imported = 0;
    chip_init(e, &a, 23);
    chip_serve(e, &a);
    X509_CRL *crl = make_crl(e->fx, -1, -3600, 30 * 86400L);
    serve_crl(e, crl);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    assert_int_equal(vd_certcache_refresh_crl(c, P, 0, time(NULL), 20000, &err), VD_OK);
    char *bundle = bundle_of(c, &len, &count);
    assert_int_equal(count, 3); /* chain, CRL, VCEK */
    assert_non_null(strstr(bundle, "-----BEGIN X509 CRL-----"));
    vd_certcache_free(&c);

    /* An air-gapped site: another database, offline. */
    char db2[160];
    snprintf(db2, sizeof(db2), "%s/airgap.db", vd_mockkds_dir(e->kds));
    cfg.db_path = db2;
    cfg.offline = 1;
    c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_E_COLLATERAL_UNAVAILABLE);
    memset(&err, 0, sizeof(err));
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)bundle, len, &imported, &err), VD_OK);
    assert_int_equal(imported, 3);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    size_t len2 = 0, count2 = 0;
    char *again = bundle_of(c, &len2, &count2);
    assert_int_equal(count2, 3);
    free(again);
    vd_certcache_free(&c);
    free(bundle);
    X509_CRL_free(crl);
    chip_free(&a);
}

static void test_certcache_import_unpinned_root_refused(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    size_t len = 0, count = 0, imported = 0;
    vd_trust_t *pins_only = NULL;
    chip_init(e, &a, 24);
    chip_serve(e, &a);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    char *bundle = bundle_of(c, &len, &count);
    vd_certcache_free(&c);

    /* The same bundle, on a site that trusts only AMD's pins. */
    char db2[160];
    snprintf(db2, sizeof(db2), "%s/pins.db", vd_mockkds_dir(e->kds));
    assert_int_equal(vd_trust_new(&pins_only, &err), VD_OK);
    cfg.db_path = db2;
    cfg.offline = 1;
    cfg.trust = pins_only;
    c = open_cache(&cfg);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)bundle, len, &imported, &err),
                     VD_E_CHAIN_UNTRUSTED);
    assert_non_null(strstr(err.msg, "not a pinned AMD ARK"));
    assert_int_equal(imported, 0);
    size_t n2 = 0, c2 = 0;
    char *empty = bundle_of(c, &n2, &c2);
    assert_int_equal(c2, 0); /* nothing was stored */
    free(empty);

    /* A VCEK alone, without a chain the cache knows: refused too. */
    char *pem = strstr(bundle, "# vcek");
    assert_non_null(pem);
    memset(&err, 0, sizeof(err));
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)pem, strlen(pem), &imported, &err),
                     VD_E_CHAIN_UNTRUSTED);
    assert_non_null(strstr(err.msg, "does not chain"));
    vd_certcache_free(&c);
    vd_trust_free(&pins_only);
    free(bundle);
    chip_free(&a);
}

static void test_certcache_import_real_amd_chain_and_crl(void **state)
{
    (void)state;
    vd_error_t err = {0};
    vd_trust_t *pins = NULL;
    char path[512], db[64];
    const char *vec = getenv("VERDICT_VECTORS");
    if (vec == NULL) {
        vec = VD_SHARED_VECTORS;
    }
    /* Genoa ASK + ARK (virtee/sev copies) and AMD's Genoa CRL, as an operator would bundle. */
    static const char *const files[] = {"amd-roots-virtee-sev/genoa_ask.pem",
                                        "amd-roots-virtee-sev/genoa_ark.pem"};
    char *bundle = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&bundle, &blen);
    assert_non_null(f);
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", vec, files[i]);
        FILE *in = fopen(path, "rb");
        if (in == NULL) {
            fclose(f);
            free(bundle);
            if (getenv("CI") != NULL) {
                fail_msg("missing vector %s", path);
            }
            skip();
        }
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
            fwrite(buf, 1, n, f);
        }
        fclose(in);
    }
    snprintf(path, sizeof(path), "%s/amd-crls/genoa_crl.der", vec);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    X509_CRL *crl = d2i_X509_CRL_fp(in, NULL);
    fclose(in);
    assert_non_null(crl);
    fprintf(f, "# crl Genoa vcek\n");
    PEM_write_X509_CRL(f, crl);
    fclose(f);

    snprintf(db, sizeof(db), "/tmp/vd-cc-real-%d.db", (int)getpid());
    unlink(db);
    assert_int_equal(vd_trust_new(&pins, &err), VD_OK);
    vd_certcache_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = db;
    cfg.trust = pins;
    cfg.offline = 1;
    vd_certcache_t *c = open_cache(&cfg);
    size_t imported = 0;
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)bundle, blen, &imported, &err), VD_OK);
    assert_int_equal(imported, 2); /* the chain and the CRL */
    X509 *ask = NULL, *ark = NULL;
    assert_int_equal(vd_certcache_get_chain(c, P, 0, 1000, &ask, &ark, &err), VD_OK);
    /* AMD's CRL lists the old Genoa ASK 0x20001, not today's 0x20002. */
    X509_REVOKED *rev = NULL;
    assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, ask), 0);
    assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(ask)), 0x20002);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ark)), 1);
    X509_free(ask);
    X509_free(ark);

    /* A real Genoa appraisal (veraison-tsm: VCEK, ASK 0x20002, ARK from its cert table) against
     * that CRL: inside the CRL's window [2024-10-23, 2025-11-03) the ASK passes; after it the
     * CRL is stale, which fail-open notes and fail-closed turns into missing collateral. */
    static const char *const entries[] = {
        "veraison-tsm/derived/auxblob_entry_4ab7b379-bbac-4fe4-a02f-05aef327c782.bin",
        "veraison-tsm/derived/auxblob_entry_63da758d-e664-4564-adc5-f4b93be8accd.bin",
        "veraison-tsm/derived/auxblob_entry_c0b406a4-a803-4952-9743-3fb6014cd0ae.bin"};
    vd_certset_t *certs = NULL;
    uint8_t report[VD_SNP_REPORT_SIZE];
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    for (size_t i = 0; i < 3; i++) {
        uint8_t blob[8192];
        snprintf(path, sizeof(path), "%s/%s", vec, entries[i]);
        FILE *bf = fopen(path, "rb");
        assert_non_null(bf);
        size_t bn = fread(blob, 1, sizeof(blob), bf);
        fclose(bf);
        assert_int_equal(vd_certset_add_blob(certs, blob, bn, "cert table", &err), VD_OK);
    }
    snprintf(path, sizeof(path), "%s/veraison-tsm/derived/outblob_report.bin", vec);
    FILE *rf = fopen(path, "rb");
    assert_non_null(rf);
    assert_int_equal(fread(report, 1, sizeof(report), rf), sizeof(report));
    fclose(rf);
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    vd_snp_input_t sin;
    memset(&sin, 0, sizeof(sin));
    sin.report = report;
    sin.report_len = sizeof(report);
    sin.certs = certs;
    sin.trust = pins;
    struct {
        const char *at;
        vd_crl_mode_t mode;
        vd_snp_status_t status;
        vd_check_result_t check;
        const char *detail;
    } cases[] = {
        {"2025-06-01T00:00:00Z", VD_CRL_FAIL_OPEN, VD_SNP_GENUINE, VD_CHECK_PASS,
         "serial 0x020002 is not in ARK-Genoa's CRL"},
        {"2026-06-01T00:00:00Z", VD_CRL_FAIL_OPEN, VD_SNP_GENUINE, VD_CHECK_SKIP,
         "stale since 2025-11-03T01:00:00Z"},
        {"2026-06-01T00:00:00Z", VD_CRL_FAIL_CLOSED, VD_SNP_COLLATERAL_MISSING, VD_CHECK_SKIP,
         "fail-closed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(vd_time_parse_rfc3339(cases[i].at, &sin.at), 0);
        vd_certcache_free(&c);
        cfg.crl_mode = cases[i].mode;
        c = open_cache(&cfg);
        vd_crl_list_t crls;
        assert_int_equal(vd_certcache_get_crls(c, VD_PRODUCT_GENOA, 0, 1000, 1, &crls, &err),
                         VD_OK);
        assert_int_equal(crls.n, 1);
        sin.crls = crls.crls;
        sin.n_crls = crls.n;
        sin.crl_mode = cases[i].mode;
        assert_int_equal(vd_snp_verify(&sin, res, &err), VD_OK);
        vd_crl_list_free(&crls);
        assert_int_equal(res->status, cases[i].status);
        const vd_check_t *chk = vd_checks_find(&res->checks, "chain.revocation");
        assert_non_null(chk);
        assert_int_equal(chk->result, cases[i].check);
        if (strstr(chk->detail, cases[i].detail) == NULL) {
            fail_msg("case %zu: %s", i, chk->detail);
        }
    }
    free(res);
    vd_certset_free(&certs);
    vd_certcache_free(&c);
    vd_trust_free(&pins);
    X509_CRL_free(crl);
    free(bundle);
    unlink(db);
    char wal[80];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", db);
    unlink(wal);
}

static void test_certcache_vlek_never_fetched_but_imported(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    vd_testpki_leaf_opts_t o;
    EVP_PKEY *key = NULL;
    uint8_t report[VD_SNP_REPORT_SIZE];
    char url[VD_KDS_URL_MAX];
    /* The ASVK, re-signed by the fixture's ARK, served as the VLEK cert_chain. */
    X509 *asvk = vd_kdspki_resign(vd_testpki_asvk(e->fx->pki), e->fx->ark_key);
    assert_non_null(asvk);
    X509 *chain[2] = {asvk, e->fx->ark};
    assert_int_equal(vd_kds_chain_url(vd_mockkds_url(e->kds), P, 1, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_certs(e->kds, url, chain, 2), 0);
    memset(&o, 0, sizeof(o));
    o.vlek = 1;
    o.product_name = "Genoa";
    o.tcb = vd_tcb_decode(e->fx->tcb_raw, P);
    X509 *vlek = vd_testpki_issue_leaf(e->fx->pki, &o, &key);
    assert_non_null(vlek);
    vd_testreport_init(report, 3, P, e->fx->tcb_raw, NULL);
    vd_testreport_set_signing_key(report, VD_SNP_SIGNING_KEY_VLEK);
    assert_int_equal(vd_testreport_sign(report, key), 0);

    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    vd_certset_t *out = NULL;
    assert_int_equal(vd_certset_new(&out, &err), VD_OK);
    assert_int_equal(vd_certcache_collect(c, report, sizeof(report), NULL, VD_PRODUCT_UNKNOWN,
                                          20000, out, NULL, &err),
                     VD_E_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "VLEK was not supplied"));
    /* The ASVK chain was fetched; a VLEK never is. */
    assert_int_equal(vd_mockkds_count(e->kds, "/vlek/v1/Genoa/cert_chain"), 1);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 1);
    assert_int_equal(vd_certset_count(out), 2);

    /* Imported (with its chain), it is found for the next appraisal. */
    char *bundle = NULL;
    size_t blen = 0, imported = 0;
    FILE *f = open_memstream(&bundle, &blen);
    assert_non_null(f);
    PEM_write_X509(f, asvk);
    PEM_write_X509(f, e->fx->ark);
    PEM_write_X509(f, vlek);
    fclose(f);
    memset(&err, 0, sizeof(err));
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)bundle, blen, &imported, &err), VD_OK);
    assert_int_equal(imported, 2); /* the ASVK chain and the VLEK */
    vd_certset_free(&out);
    assert_int_equal(vd_certset_new(&out, &err), VD_OK);
    assert_int_equal(vd_certcache_collect(c, report, sizeof(report), NULL, VD_PRODUCT_UNKNOWN,
                                          20000, out, NULL, &err),
                     VD_OK);
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = report;
    in.report_len = sizeof(report);
    in.certs = out;
    in.trust = e->fx->trust;
    in.at = time(NULL);
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 1);
    free(res);
    free(bundle);
    vd_certset_free(&out);
    vd_certcache_free(&c);
    X509_free(vlek);
    X509_free(asvk);
    EVP_PKEY_free(key);
}

static void test_certcache_turin_uses_8_byte_hwid(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    vd_testpki_leaf_opts_t o;
    EVP_PKEY *key = NULL, *ark_key = NULL;
    X509 *ark = NULL, *ask = NULL, *x = NULL;
    char url[VD_KDS_URL_MAX], path[64];
    uint8_t chip[64];
    vd_testpki_t *pki = vd_testpki_new(VD_PRODUCT_TURIN);
    assert_non_null(pki);
    assert_int_equal(
        vd_kdspki_rekey(vd_testpki_ark(pki), vd_testpki_ask(pki), &ark_key, &ark, &ask), 0);
    vd_trust_t *trust = NULL;
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    assert_int_equal(vd_trust_add_extra(trust, ark, &err), VD_OK);
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(0xC0 + i);
    }
    uint64_t traw = vd_testreport_tcb_raw(VD_PRODUCT_TURIN, 1, 1, 1, 4, 81);
    memset(&o, 0, sizeof(o));
    o.product_name = "Turin";
    o.tcb = vd_tcb_decode(traw, VD_PRODUCT_TURIN);
    o.hwid = chip;
    o.hwid_len = 8; /* Turin VCEKs carry CHIP_ID[0..7] */
    X509 *vcek = vd_testpki_issue_leaf(pki, &o, &key);
    assert_non_null(vcek);
    X509 *chain[2] = {ask, ark};
    assert_int_equal(
        vd_kds_chain_url(vd_mockkds_url(e->kds), VD_PRODUCT_TURIN, 0, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_certs(e->kds, url, chain, 2), 0);
    assert_int_equal(
        vd_kds_vcek_url(vd_mockkds_url(e->kds), VD_PRODUCT_TURIN, chip, &o.tcb, url, sizeof(url)),
        0);
    assert_non_null(strstr(url, "fmcSPL=1"));
    assert_int_equal(vd_mockkds_serve_certs(e->kds, url, &vcek, 1), 0);

    vd_certcache_config_t cfg = base_cfg(e);
    cfg.trust = trust;
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(vd_certcache_get_vcek(c, VD_PRODUCT_TURIN, chip, &o.tcb, 20000, &x, &err),
                     VD_OK);
    assert_int_equal(X509_cmp(x, vcek), 0);
    snprintf(path, sizeof(path), "/vcek/v1/Turin/c0c1c2c3c4c5c6c7");
    assert_int_equal(vd_mockkds_count(e->kds, path), 1); /* the 8-byte hwid URL */
    vd_certcache_free(&c);
    c = open_cache(&cfg); /* and back from SQLite under the same key */
    X509_free(x);
    x = NULL;
    assert_int_equal(vd_certcache_get_vcek(c, VD_PRODUCT_TURIN, chip, &o.tcb, 20000, &x, &err),
                     VD_OK);
    assert_int_equal(vd_mockkds_count(e->kds, NULL), 2);
    X509_free(x);
    vd_certcache_free(&c);
    vd_trust_free(&trust);
    X509_free(vcek);
    X509_free(ark);
    X509_free(ask);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ark_key);
    vd_testpki_free(&pki);
}

/* ---- races (issue #7), run under ThreadSanitizer too ---------------------------------------- */

#define RACE_CHIPS 24

static char *pem_of(X509 *const *certs, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(PEM_write_bio_X509(b, certs[i]), 1);
    }
    long len = BIO_get_mem_data(b, &data);
    out = calloc(1, (size_t)len + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)len);
    BIO_free(b);
    return out;
}

typedef struct race {
    vd_certcache_t *c;
    const env_t *e;
    chip_t *chips;
    int done; /* guarded by mu */
    pthread_mutex_t mu;
    atomic_int failures; /* from several threads */
    long iterations;
} race_t;

static int race_done(race_t *r)
{
    pthread_mutex_lock(&r->mu);
    int d = r->done;
    pthread_mutex_unlock(&r->mu);
    return d;
}

static void race_finish(race_t *r)
{
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    pthread_mutex_unlock(&r->mu);
}

/* Appraisals that store the VCEK their evidence carried (a write on the shared connection). */
static void *evidence_writer(void *p)
{
    race_t *r = p;
    for (int i = 0; i < RACE_CHIPS; i++) {
        vd_certset_t *ev = NULL, *out = NULL;
        vd_error_t err = {0};
        if (vd_certset_new(&ev, &err) != VD_OK || vd_certset_new(&out, &err) != VD_OK ||
            vd_certset_add_x509(ev, r->chips[i].vcek, "evidence", &err) != VD_OK ||
            vd_certcache_collect(r->c, r->chips[i].report, sizeof(r->chips[i].report), ev,
                                 VD_PRODUCT_UNKNOWN, 20000, out, NULL, &err) != VD_OK) {
            r->failures++;
        }
        vd_certset_free(&ev);
        vd_certset_free(&out);
    }
    race_finish(r);
    return NULL;
}

/* Bundle imports that are refused half-way through storing (a leaf without AMD extensions). */
typedef struct importer {
    race_t *r;
    const char *bundle;
    long refused;
} importer_t;

static void *bad_importer(void *p)
{
    importer_t *im = p;
    for (long i = 0; i < 100000 && (i < 5 || !race_done(im->r)); i++) {
        vd_error_t err = {0};
        size_t n = 0;
        if (vd_certcache_import(im->r->c, (const uint8_t *)im->bundle, strlen(im->bundle), &n,
                                &err) != VD_OK) {
            im->refused++;
        }
    }
    return NULL;
}

/* A bundle import's transaction must not swallow (and roll back) concurrent appraisals' writes. */
static void test_certcache_race_import_keeps_concurrent_writes(void **state)
{
    env_t *e = *state;
    chip_t *chips = calloc(RACE_CHIPS, sizeof(*chips));
    vd_error_t err = {0};
    assert_non_null(chips);
    for (int i = 0; i < RACE_CHIPS; i++) {
        chip_init(e, &chips[i], (uint8_t)(100 + i));
    }
    /* ASK + ARK + a VCEK without productName: validated, then refused while being stored. */
    vd_testpki_leaf_opts_t o;
    EVP_PKEY *k = NULL;
    memset(&o, 0, sizeof(o));
    o.tcb = vd_tcb_decode(e->fx->tcb_raw, P);
    o.hwid = chips[0].id;
    o.hwid_len = 64;
    X509 *bad = vd_testpki_issue_leaf(e->fx->pki, &o, &k);
    assert_non_null(bad);
    X509 *objs[3] = {e->fx->ask, e->fx->ark, bad};
    char *bundle = pem_of(objs, 3);

    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    vd_certcache_t *c = open_cache(&cfg);
    X509 *ask = NULL, *ark = NULL;
    assert_int_equal(vd_certcache_get_chain(c, P, 0, 20000, &ask, &ark, &err), VD_OK);
    X509_free(ask);
    X509_free(ark);
    race_t r = {.c = c, .e = e, .chips = chips, .mu = PTHREAD_MUTEX_INITIALIZER};
    importer_t im = {&r, bundle, 0};
    pthread_t tw, ti;
    assert_int_equal(pthread_create(&ti, NULL, bad_importer, &im), 0);
    assert_int_equal(pthread_create(&tw, NULL, evidence_writer, &r), 0);
    pthread_join(tw, NULL);
    pthread_join(ti, NULL);
    assert_int_equal(r.failures, 0);
    assert_true(im.refused >= 5);
    vd_certcache_free(&c);

    /* Every VCEK the appraisals stored is in the database. */
    cfg.offline = 1;
    c = open_cache(&cfg);
    for (int i = 0; i < RACE_CHIPS; i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(lookup(c, e, &chips[i], &err), VD_OK);
    }
    vd_certcache_free(&c);
    for (int i = 0; i < RACE_CHIPS; i++) {
        chip_free(&chips[i]);
    }
    free(chips);
    free(bundle);
    X509_free(bad);
    EVP_PKEY_free(k);
}

static void *crl_refresher(void *p)
{
    race_t *r = p;
    for (int i = 0; i < 150; i++) {
        vd_error_t err = {0};
        if (vd_certcache_refresh_crl(r->c, P, 0, time(NULL), 20000, &err) != VD_OK) {
            r->failures++;
        }
    }
    race_finish(r);
    return NULL;
}

static void *appraiser(void *p)
{
    race_t *r = p;
    for (long i = 0; i < 100000 && (i < 5 || !race_done(r)); i++) {
        vd_err_t crc;
        vd_error_t err = {0};
        vd_snp_result_t *res = calloc(1, sizeof(*res));
        if (res == NULL ||
            appraise_note(r->c, r->e, &r->chips[0], &crc, &err, res, NULL, 0) != VD_SNP_GENUINE) {
            r->failures++;
        }
        free(res);
    }
    return NULL;
}

static void *dropper(void *p)
{
    race_t *r = p;
    for (long i = 0; i < 1000000 && !race_done(r); i++) {
        vd_certcache_drop_memory(r->c);
        r->iterations++;
    }
    return NULL;
}

/* The in-memory CRL may be dropped (vd_certcache_drop_memory) while revocation uses it. */
static void test_certcache_race_crl_vs_drop_memory(void **state)
{
    env_t *e = *state;
    chip_t a;
    char url[VD_KDS_URL_MAX];
    chip_init(e, &a, 70);
    chip_serve(e, &a);
    X509_CRL *crl = make_crl(e->fx, -1, -60, 7 * 86400);
    assert_int_equal(vd_kds_crl_url(vd_mockkds_url(e->kds), P, 0, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_crl(e->kds, url, crl), 0);
    X509_CRL_free(crl);
    vd_certcache_config_t cfg = base_cfg(e);
    vd_certcache_t *c = open_cache(&cfg);
    race_t r = {.c = c, .e = e, .chips = &a, .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t t1, t2, t3;
    assert_int_equal(pthread_create(&t1, NULL, crl_refresher, &r), 0);
    assert_int_equal(pthread_create(&t2, NULL, dropper, &r), 0);
    assert_int_equal(pthread_create(&t3, NULL, appraiser, &r), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    assert_int_equal(r.failures, 0);
    assert_true(r.iterations > 0);
    assert_true(vd_mockkds_count(e->kds, "crl") >= 150);
    vd_certcache_free(&c);
    chip_free(&a);
}

typedef struct reenter {
    vd_certcache_t *c;
    const env_t *e;
    const chip_t *chip;
    int calls;
} reenter_t;

static int reenter_entry(void *ud, const vd_certcache_entry_t *en)
{
    reenter_t *re = ud;
    vd_error_t err = {0};
    (void)en;
    /* A callback that reads the cache (SQLite included) must not deadlock. */
    vd_certcache_drop_memory(re->c);
    assert_int_equal(lookup(re->c, re->e, re->chip, &err), VD_OK);
    re->calls++;
    return 0;
}

/* vd_certcache_each calls back without the database mutex held. */
static void test_certcache_each_callback_may_use_cache(void **state)
{
    env_t *e = *state;
    chip_t a;
    vd_error_t err = {0};
    size_t n = 0;
    chip_init(e, &a, 71);
    chip_serve(e, &a);
    vd_certcache_config_t cfg = base_cfg(e);
    cfg.crl_mode = VD_CRL_OFF;
    vd_certcache_t *c = open_cache(&cfg);
    assert_int_equal(lookup(c, e, &a, &err), VD_OK);
    vd_certcache_free(&c);
    cfg.offline = 1;
    c = open_cache(&cfg);
    reenter_t re = {c, e, &a, 0};
    assert_int_equal(vd_certcache_each(c, reenter_entry, &re, &n, &err), VD_OK);
    assert_int_equal(n, 2); /* chain and VCEK */
    assert_int_equal(re.calls, 2);
    vd_certcache_free(&c);
    chip_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_certcache_single_flight_200_threads, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_warm_restart_makes_no_request, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_kds_down_cached_verifies_uncached_fails_fast,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_rate_limiter_never_waited_for, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_retry_after_huge_is_capped, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_kds_state_tampered, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_retry_after_honoured, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_429_without_retry_after_backs_off, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_404_is_remembered, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_waits_only_for_own_chip, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_no_wait_then_prefetch, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_500_retried_with_backoff, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_bad_bodies_are_not_stored, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_poisoned_row_is_dropped, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_evidence_vcek_is_stored, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_offline_uncached_fails, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_crl_revoked_ask_rejected, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_crl_stale_fail_open_and_closed, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_export_import_roundtrip, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_import_unpinned_root_refused, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_vlek_never_fetched_but_imported, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_turin_uses_8_byte_hwid, env_setup,
                                        env_teardown),
        cmocka_unit_test(test_certcache_import_real_amd_chain_and_crl),
        cmocka_unit_test_setup_teardown(test_certcache_race_import_keeps_concurrent_writes,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_race_crl_vs_drop_memory, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_evidence_chain_needs_no_fetch, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_cold_budget, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_certcache_each_callback_may_use_cache, env_setup,
                                        env_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
