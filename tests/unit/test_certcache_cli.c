/*
 * End-to-end: the real `verdict` binary with the certificate cache and a mock KDS (issue #4).
 * `verify` without --certs fetches once and then contacts nobody; with KDS down a cached chip
 * still verifies and an uncached one fails fast with exit 3; `certs fetch|list|export|import`;
 * a revoked ASK is rejected (exit 1); a bundle from an unpinned root is refused (exit 1).
 *
 * Each command runs under timeout(1) so that nothing here can hang; the mock KDS is a child
 * process stopped in the teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "verdict/kds.h"
#include "mockkds.h"
#include "testpki.h"

#define P VD_PRODUCT_GENOA

typedef struct fx {
    vd_testpki_t *pki;
    EVP_PKEY *ark_key;
    X509 *ark, *ask;
    vd_mockkds_t *kds;
    char dir[64];
    char out[16384]; /* the last command's stdout + stderr */
    uint64_t tcb_raw;
} fx_t;

typedef struct chip {
    uint8_t id[64];
    X509 *vcek;
    EVP_PKEY *key;
    char report[128]; /* path of the signed report */
} chip_t;

/* Run `verdict ARGS` (a shell fragment; paths are ours), capture output, return the exit code. */
static int run(fx_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(fx_t *f, const char *fmt, ...)
{
    char args[2048], cmd[2600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "cd '%s' && timeout 60 '%s' %s 2>&1", f->dir, VD_VERDICT_BIN, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(f->out, 1, sizeof(f->out) - 1, p);
    f->out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void write_pem(const char *path, X509 *x)
{
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    assert_int_equal(PEM_write_X509(o, x), 1);
    fclose(o);
}

static void chip_make(fx_t *f, chip_t *c, uint8_t seed, int serve)
{
    vd_testpki_leaf_opts_t o;
    uint8_t raw[VD_SNP_REPORT_SIZE];
    char url[VD_KDS_URL_MAX];
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < 64; i++) {
        c->id[i] = (uint8_t)(seed * 7 + i);
    }
    memset(&o, 0, sizeof(o));
    o.product_name = "Genoa";
    o.tcb = vd_tcb_decode(f->tcb_raw, P);
    o.hwid = c->id;
    o.hwid_len = 64;
    c->vcek = vd_testpki_issue_leaf(f->pki, &o, &c->key);
    assert_non_null(c->vcek);
    vd_testreport_init(raw, 3, P, f->tcb_raw, c->id);
    assert_int_equal(vd_testreport_sign(raw, c->key), 0);
    snprintf(c->report, sizeof(c->report), "%s/report%u.bin", f->dir, seed);
    FILE *o2 = fopen(c->report, "wb");
    assert_non_null(o2);
    assert_int_equal(fwrite(raw, 1, sizeof(raw), o2), sizeof(raw));
    fclose(o2);
    if (serve) {
        vd_tcb_t t = vd_tcb_decode(f->tcb_raw, P);
        assert_int_equal(vd_kds_vcek_url(vd_mockkds_url(f->kds), P, c->id, &t, url, sizeof(url)),
                         0);
        assert_int_equal(vd_mockkds_serve_certs(f->kds, url, &c->vcek, 1), 0);
    }
}

static void chip_free(chip_t *c)
{
    X509_free(c->vcek);
    EVP_PKEY_free(c->key);
}

static void serve_crl(fx_t *f, long serial)
{
    char url[VD_KDS_URL_MAX];
    X509_CRL *crl = vd_kdspki_crl(f->ark, f->ark_key, serial, -3600, 30 * 86400L);
    assert_non_null(crl);
    assert_int_equal(vd_kds_crl_url(vd_mockkds_url(f->kds), P, 0, url, sizeof(url)), 0);
    assert_int_equal(vd_mockkds_serve_crl(f->kds, url, crl), 0);
    X509_CRL_free(crl);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    char url[VD_KDS_URL_MAX], path[128];
    X509 *chain[2];
    if (f == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/vd-cccli-XXXXXX");
    f->pki = vd_testpki_new(P);
    if (mkdtemp(f->dir) == NULL || f->pki == NULL ||
        vd_kdspki_rekey(vd_testpki_ark(f->pki), vd_testpki_ask(f->pki), &f->ark_key, &f->ark,
                        &f->ask) != 0) {
        return -1;
    }
    f->kds = vd_mockkds_start();
    if (f->kds == NULL) {
        return -1;
    }
    f->tcb_raw = vd_testreport_tcb_raw(P, 0, 4, 0, 22, 200);
    chain[0] = f->ask;
    chain[1] = f->ark;
    if (vd_kds_chain_url(vd_mockkds_url(f->kds), P, 0, url, sizeof(url)) != 0 ||
        vd_mockkds_serve_certs(f->kds, url, chain, 2) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/ark.pem", f->dir);
    write_pem(path, f->ark);
    /* Every command: this KDS, this database, the test ARK as an extra root, not offline. */
    setenv("VERDICT_KDS_URL", vd_mockkds_url(f->kds), 1);
    setenv("VERDICT_DB", "cache.db", 1);
    unsetenv("VERDICT_OFFLINE");
    unsetenv("VERDICT_CRL");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];
    if (f == NULL) {
        return 0;
    }
    vd_mockkds_stop(&f->kds);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (strncmp(f->dir, "/tmp/vd-cccli-", 14) == 0 && system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", f->dir);
    }
    X509_free(f->ark);
    X509_free(f->ask);
    EVP_PKEY_free(f->ark_key);
    vd_testpki_free(&f->pki);
    free(f);
    return 0;
}

static void test_cli_verify_fetches_once_then_works_without_kds(void **state)
{
    fx_t *f = *state;
    chip_t a, b;
    chip_make(f, &a, 1, 1);
    chip_make(f, &b, 2, 1);
    serve_crl(f, -1);

    assert_int_equal(run(f, "verify --report %s --extra-roots ark.pem --json", a.report), 0);
    assert_non_null(strstr(f->out, "\"status\": \"genuine\""));
    assert_int_equal(vd_mockkds_count(f->kds, "cert_chain"), 1);
    assert_int_equal(vd_mockkds_count(f->kds, "/crl"), 1);
    assert_int_equal(vd_mockkds_count(f->kds, NULL), 3); /* chain, VCEK, CRL */

    /* The second verification of the same chip contacts nobody. */
    assert_int_equal(run(f, "verify --report %s --extra-roots ark.pem", a.report), 0);
    assert_non_null(strstr(f->out, "chain.revocation"));
    assert_int_equal(vd_mockkds_count(f->kds, NULL), 3);

    /* Without the extra root the cached chain is not trusted: nothing is served from it. */
    assert_int_equal(run(f, "verify --report %s --offline", a.report), 3);

    /* --offline and an uncached chip: exit 3 at once, no request. */
    assert_int_equal(run(f, "verify --report %s --extra-roots ark.pem --offline", b.report), 3);
    assert_non_null(strstr(f->out, "collateral unavailable"));
    assert_non_null(strstr(f->out, "offline"));
    assert_int_equal(vd_mockkds_count(f->kds, NULL), 3);

    /* KDS down: the cached chip still verifies, the uncached one fails fast with exit 3. */
    vd_mockkds_stop(&f->kds);
    assert_int_equal(run(f, "verify --report %s --extra-roots ark.pem", a.report), 0);
    assert_int_equal(run(f, "verify --report %s --extra-roots ark.pem --json", b.report), 3);
    assert_non_null(strstr(f->out, "collateral unavailable: KDS unreachable"));
    assert_non_null(strstr(f->out, "\"status\": \"collateral-missing\""));
    assert_non_null(strstr(f->out, "certificate cache: KDS unreachable")); /* in "missing" */
    /* The next run knows (kds_state) that KDS is down and does not even try. */
    chip_t c;
    chip_make(f, &c, 6, 0);
    assert_int_equal(run(f, "verify --report %s --extra-roots ark.pem", c.report), 3);
    assert_non_null(strstr(f->out, "circuit open"));
    chip_free(&a);
    chip_free(&b);
    chip_free(&c);
}

static void test_cli_certs_fetch_list_export_import(void **state)
{
    fx_t *f = *state;
    chip_t a, b;
    char hex[129];
    chip_make(f, &a, 3, 1);
    chip_make(f, &b, 4, 1);
    serve_crl(f, -1);

    assert_int_equal(run(f, "certs fetch --from-report %s --extra-roots ark.pem", a.report), 0);
    assert_non_null(strstr(f->out, "cached: Genoa chain and VCEK"));
    for (size_t i = 0; i < 64; i++) {
        snprintf(hex + 2 * i, 3, "%02x", b.id[i]);
    }
    assert_int_equal(run(f,
                         "certs fetch --product Genoa --hwid %s --tcb bl=4,tee=0,snp=22,ucode=200 "
                         "--extra-roots ark.pem",
                         hex),
                     0);
    assert_int_equal(run(f, "certs fetch --product Genoa --hwid %s --tcb nonsense", hex), 2);
    long n = vd_mockkds_count(f->kds, NULL);

    assert_int_equal(run(f, "certs list"), 0);
    assert_non_null(strstr(f->out, "chain  Genoa"));
    assert_non_null(strstr(f->out, "crl    Genoa"));
    assert_non_null(strstr(f->out, hex));

    assert_int_equal(run(f, "certs export bundle.pem"), 0);
    assert_non_null(strstr(f->out, "exported 4 objects")); /* chain, CRL, two VCEKs */

    /* An air-gapped site that has not configured the test root refuses the bundle. */
    assert_int_equal(run(f, "certs import bundle.pem --db airgap.db"), 1);
    assert_non_null(strstr(f->out, "not a pinned AMD ARK"));
    assert_int_equal(run(f, "certs list --db airgap.db"), 0);
    assert_non_null(strstr(f->out, "empty"));
    assert_int_equal(run(f, "certs import bundle.pem --db airgap.db --extra-roots ark.pem"), 0);
    assert_non_null(strstr(f->out, "imported 4 objects"));
    assert_int_equal(
        run(f, "verify --report %s --db airgap.db --extra-roots ark.pem --offline", b.report), 0);
    assert_int_equal(vd_mockkds_count(f->kds, NULL), n);
    assert_int_equal(run(f, "certs bogus"), 2);
    chip_free(&a);
    chip_free(&b);
}

static void test_cli_revoked_ask_rejected(void **state)
{
    fx_t *f = *state;
    chip_t a;
    chip_make(f, &a, 5, 1);
    serve_crl(f, ASN1_INTEGER_get(X509_get0_serialNumber(f->ask)));
    assert_int_equal(
        run(f, "verify --report %s --extra-roots ark.pem --db revoked.db --json", a.report), 1);
    assert_non_null(strstr(f->out, "\"status\": \"rejected\""));
    assert_non_null(strstr(f->out, "is revoked by ARK-Genoa's CRL"));
    /* --crl off does not look (for sites that opt out); the verdict is then genuine. */
    assert_int_equal(
        run(f, "verify --report %s --extra-roots ark.pem --db revoked.db --crl off", a.report), 0);
    assert_int_equal(
        run(f, "verify --report %s --extra-roots ark.pem --db revoked.db --crl bogus", a.report),
        2);
    chip_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_verify_fetches_once_then_works_without_kds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_certs_fetch_list_export_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_revoked_ask_rejected, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
