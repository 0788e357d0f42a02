/*
 * The certificate cache as the source of CRLs for the core (issue #7): vd_certcache_get_crls,
 * and defect 2 (CRL rollback): an older CRL from KDS (a mirror, a hostile --kds-url) or from a
 * bundle never replaces a newer one, in memory or in SQLite, and a CRL belongs to the ARK whose
 * signature it carries, whatever a bundle comment says.
 *
 * A mock KDS on 127.0.0.1 (tests/mock_kds) serves a test PKI's chain and CRLs; the test ARK is
 * trusted only as an explicit extra root.
 */
#include <stdarg.h>
#include <pthread.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "verdict/certcache.h"
#include "verdict/kds.h"
#include "verdict/verify.h"
#include "mockkds.h"
#include "testpki.h"

#define P           VD_PRODUCT_MILAN
#define DAY_SECONDS 86400L

typedef struct env {
    vd_testpki_t *pki, *genoa;
    vd_trust_t *trust; /* both test ARKs as extra roots */
    X509 *vcek;
    EVP_PKEY *vcek_key;
    uint8_t report[VD_SNP_REPORT_SIZE];
    long ask_serial;
    X509_CRL *newer, *older; /* newer lists the ASK (number 5), older does not (number 4) */
    X509_CRL *oldest;        /* number 3, lists nothing */
    vd_mockkds_t *kds;
    char db[160];
} env_t;

static int setup(void **state)
{
    env_t *e = calloc(1, sizeof(*e));
    vd_error_t err = {0};
    uint8_t chip[64];
    char url[VD_KDS_URL_MAX];
    if (e == NULL || (e->pki = vd_testpki_new(P)) == NULL ||
        (e->genoa = vd_testpki_new(VD_PRODUCT_GENOA)) == NULL ||
        vd_trust_new(&e->trust, &err) != VD_OK ||
        vd_trust_add_extra(e->trust, vd_testpki_ark(e->pki), &err) != VD_OK ||
        vd_trust_add_extra(e->trust, vd_testpki_ark(e->genoa), &err) != VD_OK) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(0x40 + i);
    }
    uint64_t tcb = vd_testreport_tcb_raw(P, 0, 3, 0, 8, 115);
    vd_testpki_leaf_opts_t o;
    memset(&o, 0, sizeof(o));
    o.product_name = "Milan-B0";
    o.tcb = vd_tcb_decode(tcb, P);
    o.hwid = chip;
    o.hwid_len = 64;
    e->vcek = vd_testpki_issue_leaf(e->pki, &o, &e->vcek_key);
    vd_testreport_init(e->report, 3, P, tcb, chip);
    if (e->vcek == NULL || vd_testreport_sign(e->report, e->vcek_key) != 0) {
        return -1;
    }
    e->ask_serial = ASN1_INTEGER_get(X509_get0_serialNumber(vd_testpki_ask(e->pki)));
    time_t now = time(NULL);
    vd_testpki_crl_opts_t co;
    memset(&co, 0, sizeof(co));
    co.serials = &e->ask_serial;
    co.n_serials = 1;
    co.number = 5;
    co.this_update = now - 3600;
    e->newer = vd_testpki_crl(e->pki, &co);
    co.n_serials = 0;
    co.number = 4;
    co.this_update = now - 10 * DAY_SECONDS; /* older, but still fresh: a real rollback */
    co.next_update = now + 20 * DAY_SECONDS;
    e->older = vd_testpki_crl(e->pki, &co);
    co.number = 3;
    co.this_update = now - 20 * DAY_SECONDS;
    e->oldest = vd_testpki_crl(e->pki, &co);
    e->kds = vd_mockkds_start();
    if (e->newer == NULL || e->older == NULL || e->oldest == NULL || e->kds == NULL) {
        return -1;
    }
    snprintf(e->db, sizeof(e->db), "%s/cache.db", vd_mockkds_dir(e->kds));
    X509 *chain[2] = {vd_testpki_ask(e->pki), vd_testpki_ark(e->pki)};
    if (vd_kds_chain_url(vd_mockkds_url(e->kds), P, 0, url, sizeof(url)) != 0 ||
        vd_mockkds_serve_certs(e->kds, url, chain, 2) != 0) {
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env_t *e = *state;
    if (e != NULL) {
        vd_mockkds_stop(&e->kds);
        X509_CRL_free(e->newer);
        X509_CRL_free(e->older);
        X509_CRL_free(e->oldest);
        X509_free(e->vcek);
        EVP_PKEY_free(e->vcek_key);
        vd_trust_free(&e->trust);
        vd_testpki_free(&e->pki);
        vd_testpki_free(&e->genoa);
        free(e);
    }
    return 0;
}

/* Start from an empty database. */
static void fresh_db(const env_t *e)
{
    char path[200];
    unlink(e->db);
    snprintf(path, sizeof(path), "%s-wal", e->db);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", e->db);
    unlink(path);
}

static vd_certcache_t *open_cache(const env_t *e, int offline)
{
    vd_certcache_config_t cfg;
    vd_certcache_t *c = NULL;
    vd_error_t err = {0};
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = e->db;
    cfg.trust = e->trust;
    cfg.offline = offline;
    cfg.kds.base_url = vd_mockkds_url(e->kds);
    cfg.kds.rate_interval_ms = -1;
    cfg.kds.backoff_base_ms = 5;
    cfg.kds.backoff_max_ms = 50;
    if (vd_certcache_open(&cfg, &c, &err) != VD_OK) {
        fail_msg("vd_certcache_open: %s", err.msg);
    }
    return c;
}

static void serve_crl(env_t *e, X509_CRL *crl)
{
    char url[VD_KDS_URL_MAX];
    assert_int_equal(vd_kds_crl_url(vd_mockkds_url(e->kds), P, 0, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_crl(e->kds, url, crl), 0);
}

/* The core on the env's evidence with what the cache provides. */
static vd_snp_status_t appraise(vd_certcache_t *c, const env_t *e, vd_crl_mode_t mode,
                                vd_snp_result_t *res)
{
    vd_error_t err = {0};
    vd_certset_t *certs = NULL;
    vd_crl_list_t crls;
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, e->vcek, "vcek", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, vd_testpki_ask(e->pki), "ask", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, vd_testpki_ark(e->pki), "ark", &err), VD_OK);
    assert_int_equal(vd_certcache_get_crls_for_report(c, e->report, sizeof(e->report),
                                                      VD_PRODUCT_UNKNOWN, 20000, 1, &crls, &err),
                     VD_OK);
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = e->report;
    in.report_len = sizeof(e->report);
    in.certs = certs;
    in.trust = e->trust;
    in.at = time(NULL);
    in.crls = crls.crls;
    in.n_crls = crls.n;
    in.crl_mode = mode;
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    vd_crl_list_free(&crls);
    vd_certset_free(&certs);
    return res->status;
}

/* The CRL number of the one CRL the cache gives for Milan. */
static long cached_number(vd_certcache_t *c)
{
    vd_error_t err = {0};
    vd_crl_list_t crls;
    assert_int_equal(vd_certcache_get_crls(c, P, 0, 20000, 1, &crls, &err), VD_OK);
    assert_int_equal(crls.n, 1);
    long n = (long)vd_crl_number(crls.crls[0]);
    vd_crl_list_free(&crls);
    return n;
}

/* KDS (or a mirror) answers with an older CRL after a newer one: the newer one stays. */
static void test_crl_kds_rollback_refused(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    serve_crl(e, e->newer);
    vd_certcache_t *c = open_cache(e, 0);
    assert_int_equal(vd_certcache_refresh_crl(c, P, 0, time(NULL), 20000, &err), VD_OK);
    assert_int_equal(cached_number(c), 5);
    assert_int_equal(appraise(c, e, VD_CRL_FAIL_OPEN, res), VD_SNP_REJECTED);

    serve_crl(e, e->older);
    assert_int_equal(vd_certcache_refresh_crl(c, P, 0, time(NULL), 20000, &err), VD_OK);
    assert_int_equal(cached_number(c), 5);
    assert_int_equal(appraise(c, e, VD_CRL_FAIL_OPEN, res), VD_SNP_REJECTED);
    vd_certcache_free(&c);

    /* The next process reads SQLite: the newer one too. */
    c = open_cache(e, 1);
    assert_int_equal(cached_number(c), 5);
    assert_int_equal(appraise(c, e, VD_CRL_FAIL_CLOSED, res), VD_SNP_REJECTED);
    const vd_check_t *k = vd_checks_find(&res->checks, "chain.revocation");
    assert_non_null(k);
    assert_int_equal(k->result, VD_CHECK_FAIL);
    vd_certcache_free(&c);

    /* Two processes on one database: B holds #3, A stores #5, then B is served #4 (newer than
     * what B holds): SQLite keeps #5 all the same. */
    fresh_db(e);
    vd_certcache_t *a = open_cache(e, 0), *b = open_cache(e, 0);
    serve_crl(e, e->oldest);
    assert_int_equal(vd_certcache_refresh_crl(b, P, 0, time(NULL), 20000, &err), VD_OK);
    assert_int_equal(cached_number(b), 3);
    serve_crl(e, e->newer);
    assert_int_equal(vd_certcache_refresh_crl(a, P, 0, time(NULL), 20000, &err), VD_OK);
    serve_crl(e, e->older);
    assert_int_equal(vd_certcache_refresh_crl(b, P, 0, time(NULL), 20000, &err), VD_OK);
    assert_int_equal(cached_number(b), 4);
    vd_certcache_free(&a);
    vd_certcache_free(&b);
    c = open_cache(e, 1);
    assert_int_equal(cached_number(c), 5);
    vd_certcache_free(&c);
    free(res);
}

static char *bundle(X509 *ask, X509 *ark, const char *comment, X509_CRL *crl, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    if (ask != NULL) {
        fputs("# chain Milan vcek\n", f);
        PEM_write_X509(f, ask);
        PEM_write_X509(f, ark);
    }
    fprintf(f, "%s\n", comment);
    PEM_write_X509_CRL(f, crl);
    fclose(f);
    return buf;
}

/* An older CRL in a bundle (either comment) does not replace the newer one; the next import of a
 * newer one does. */
static void test_crl_import_rollback_refused(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    size_t len = 0, n = 0;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    fresh_db(e);
    vd_certcache_t *c = open_cache(e, 1);
    char *b =
        bundle(vd_testpki_ask(e->pki), vd_testpki_ark(e->pki), "# crl Milan vcek", e->newer, &len);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)b, len, &n, &err), VD_OK);
    free(b);
    assert_int_equal(n, 2);
    b = bundle(NULL, NULL, "# crl Milan vcek", e->older, &len);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)b, len, &n, &err), VD_OK);
    free(b);
    assert_int_equal(n, 0); /* nothing newer to keep */
    assert_int_equal(cached_number(c), 5);
    vd_certcache_free(&c);
    c = open_cache(e, 1);
    assert_int_equal(cached_number(c), 5);
    assert_int_equal(appraise(c, e, VD_CRL_FAIL_OPEN, res), VD_SNP_REJECTED);
    vd_certcache_free(&c);

    /* SQLite refuses the older one by itself too (another process's memory does not help). */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM crl", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(res);
}

/* A comment naming another product does not file a CRL there: its signature decides. A CRL no
 * trusted ARK signed is refused. */
static void test_crl_import_signature_decides(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    size_t len = 0, n = 0;
    vd_crl_list_t crls;
    fresh_db(e);
    vd_certcache_t *c = open_cache(e, 1);
    char *b =
        bundle(vd_testpki_ask(e->pki), vd_testpki_ark(e->pki), "# crl Genoa vlek", e->newer, &len);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)b, len, &n, &err), VD_OK);
    free(b);
    assert_int_equal(vd_certcache_get_crls(c, VD_PRODUCT_GENOA, 0, 20000, 1, &crls, &err), VD_OK);
    for (size_t i = 0; i < crls.n; i++) {
        assert_int_not_equal(X509_NAME_cmp(X509_CRL_get_issuer(crls.crls[i]),
                                           X509_get_subject_name(vd_testpki_ark(e->pki))),
                             0);
    }
    vd_crl_list_free(&crls);
    assert_int_equal(cached_number(c), 5);

    /* Signed by a key no trusted ARK has, under the Milan ARK's name. */
    EVP_PKEY *rogue = EVP_RSA_gen(2048);
    assert_non_null(rogue);
    vd_testpki_crl_opts_t co;
    memset(&co, 0, sizeof(co));
    co.number = 9;
    co.sign_key = rogue;
    X509_CRL *forged = vd_testpki_crl(e->pki, &co);
    assert_non_null(forged);
    b = bundle(NULL, NULL, "# crl Milan vcek", forged, &len);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)b, len, &n, &err),
                     VD_E_CHAIN_UNTRUSTED);
    assert_non_null(strstr(err.msg, "not signed by a trusted ARK"));
    free(b);
    assert_int_equal(cached_number(c), 5);
    X509_CRL_free(forged);
    EVP_PKEY_free(rogue);
    vd_certcache_free(&c);
}

/* A CRL row written behind the cache's back (another ARK's) is not served as Milan's. */
static void test_crl_poisoned_row_ignored(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    size_t len = 0, n = 0;
    fresh_db(e);
    vd_certcache_t *c = open_cache(e, 1);
    char *b =
        bundle(vd_testpki_ask(e->pki), vd_testpki_ark(e->pki), "# crl Milan vcek", e->older, &len);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)b, len, &n, &err), VD_OK);
    free(b);
    vd_certcache_free(&c);
    vd_testpki_crl_opts_t co;
    memset(&co, 0, sizeof(co));
    co.serials = &e->ask_serial;
    co.n_serials = 1;
    co.number = 50;
    X509_CRL *foreign = vd_testpki_crl(e->genoa, &co);
    assert_non_null(foreign);
    unsigned char *der = NULL;
    int dlen = i2d_X509_CRL(foreign, &der);
    assert_true(dlen > 0);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE crl SET der = ?1, this_update = 9999999999 WHERE "
                                        "product = 'Milan'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, der, dlen, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    c = open_cache(e, 1);
    vd_crl_list_t crls;
    assert_int_equal(vd_certcache_get_crls(c, P, 0, 20000, 1, &crls, &err), VD_OK);
    assert_int_equal(crls.n, 0);
    vd_crl_list_free(&crls);
    vd_certcache_stats_t stats;
    vd_certcache_stats(c, &stats);
    assert_true(stats.invalid >= 1);
    vd_certcache_free(&c);
    OPENSSL_free(der);
    X509_CRL_free(foreign);
}

typedef struct race_arg {
    vd_certcache_t *c;
    const env_t *e;
    int rejected;
    int stop_dropping;
} race_arg_t;

static void *appraise_thread(void *p)
{
    race_arg_t *a = p;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    if (res == NULL) {
        return NULL;
    }
    for (int i = 0; i < 30; i++) {
        if (appraise(a->c, a->e, VD_CRL_FAIL_OPEN, res) == VD_SNP_REJECTED) {
            __atomic_add_fetch(&a->rejected, 1, __ATOMIC_RELAXED);
        }
    }
    free(res);
    return NULL;
}

static void *drop_thread(void *p)
{
    race_arg_t *a = p;
    for (int i = 0; i < 2000 && !__atomic_load_n(&a->stop_dropping, __ATOMIC_RELAXED); i++) {
        vd_certcache_drop_memory(a->c); /* as a failed bundle import does */
    }
    return NULL;
}

/* Appraisals read the in-memory CRLs while the memory layer is dropped under them (run under
 * ThreadSanitizer in CI): every one still sees the revoking CRL, from memory or SQLite. */
static void test_crl_concurrent_with_drop_memory(void **state)
{
    env_t *e = *state;
    vd_error_t err = {0};
    size_t len = 0, n = 0;
    fresh_db(e);
    vd_certcache_t *c = open_cache(e, 1);
    char *b =
        bundle(vd_testpki_ask(e->pki), vd_testpki_ark(e->pki), "# crl Milan vcek", e->newer, &len);
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)b, len, &n, &err), VD_OK);
    free(b);
    race_arg_t a = {c, e, 0, 0};
    pthread_t t[4], d;
    assert_int_equal(pthread_create(&d, NULL, drop_thread, &a), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, appraise_thread, &a), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    __atomic_store_n(&a.stop_dropping, 1, __ATOMIC_RELAXED);
    pthread_join(d, NULL);
    assert_int_equal(a.rejected, 4 * 30);
    vd_certcache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crl_kds_rollback_refused),
        cmocka_unit_test(test_crl_import_rollback_refused),
        cmocka_unit_test(test_crl_import_signature_decides),
        cmocka_unit_test(test_crl_poisoned_row_ignored),
        cmocka_unit_test(test_crl_concurrent_with_drop_memory),
    };
    return cmocka_run_group_tests_name("certcache_crl", tests, setup, teardown);
}
