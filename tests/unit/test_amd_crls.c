/*
 * AMD's real CRLs (../shared/vectors/amd-crls): each is signed by its pinned ARK and lists what
 * the vectors README says; and a real Milan appraisal through the certificate cache passes the
 * revocation check inside the Milan CRL's window and is "stale" after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "verdict/certcache.h"
#include "verdict/timefmt.h"
#include "vectors.h"

static X509_CRL *load_crl(const char *rel)
{
    size_t len;
    uint8_t *der = vd_test_read_vector(rel, &len);
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    assert_non_null(crl);
    assert_ptr_equal(p, der + len);
    free(der);
    return crl;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return timegm(&tm);
}

static void check_crl(const char *crl_rel, const char *ark_rel, vd_product_t product,
                      const char *last, const char *next, long revoked_serial)
{
    vd_error_t err = {0};
    vd_certset_t *set = NULL;
    vd_trust_t *trust = NULL;
    char spki[65];
    vd_product_t p;
    X509_CRL *crl = load_crl(crl_rel);
    assert_int_equal(vd_certset_new(&set, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    vd_test_add_certs(set, ark_rel);
    X509 *ark = vd_certset_get(set, 0);
    assert_int_equal(vd_trust_match(trust, ark, &p, spki), VD_ROOT_AMD_PINNED);
    assert_int_equal(p, product);
    /* Signed by the pinned ARK (RSA-PSS), issued under its name. */
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ark)), 1);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)), 0);
    assert_int_equal(X509_CRL_get_signature_nid(crl), NID_rsassaPss);
    /* The window the vectors README gives (dates only). */
    char buf[32];
    vd_time_format_rfc3339(asn1_to_time(X509_CRL_get0_lastUpdate(crl)), buf, sizeof(buf));
    assert_memory_equal(buf, last, 10);
    vd_time_format_rfc3339(asn1_to_time(X509_CRL_get0_nextUpdate(crl)), buf, sizeof(buf));
    assert_memory_equal(buf, next, 10);
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    if (revoked_serial < 0) {
        assert_true(revoked == NULL || sk_X509_REVOKED_num(revoked) == 0);
    } else {
        assert_int_equal(sk_X509_REVOKED_num(revoked), 1);
        const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, 0));
        assert_int_equal(ASN1_INTEGER_get(s), revoked_serial);
    }
    X509_CRL_free(crl);
    vd_trust_free(&trust);
    vd_certset_free(&set);
}

static void test_amd_crl_milan(void **state)
{
    (void)state;
    check_crl("amd-crls/milan_crl.der", "amd-roots-virtee-sev/milan_ark.pem", VD_PRODUCT_MILAN,
              "2025-05-06", "2026-05-12", -1);
}

static void test_amd_crl_genoa_lists_old_ask(void **state)
{
    (void)state;
    check_crl("amd-crls/genoa_crl.der", "amd-roots-virtee-sev/genoa_ark.pem", VD_PRODUCT_GENOA,
              "2024-10-23", "2025-11-03", 0x020001);
}

/* The real Milan chain and CRL imported as a bundle; the mstav Milan report appraised. */
static void test_amd_crl_milan_revocation_window(void **state)
{
    (void)state;
    vd_error_t err = {0};
    vd_trust_t *trust = NULL;
    vd_certcache_t *cache = NULL;
    vd_certset_t *certs = NULL;
    char *bundle = NULL;
    size_t blen = 0, len, imported = 0;
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    FILE *f = open_memstream(&bundle, &blen);
    assert_non_null(f);
    fputs("# chain Milan vcek\n", f);
    uint8_t *chain = vd_test_read_vector("gosevguest-milan/cert_chain_milan_vcek.pem", &len);
    fwrite(chain, 1, len, f);
    free(chain);
    X509_CRL *crl = load_crl("amd-crls/milan_crl.der");
    fputs("# crl Milan vcek\n", f);
    PEM_write_X509_CRL(f, crl);
    X509_CRL_free(crl);
    fclose(f);

    uint8_t *report = vd_test_read_vector("mstav-tests/milan_attestation_report.bin", &len);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    vd_test_add_certs(certs, "mstav-tests/milan_vcek.pem");
    vd_test_add_certs(certs, "mstav-tests/milan_ask.pem");
    vd_test_add_certs(certs, "amd-roots-mstav/milan_ark.pem");
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    static const struct {
        const char *at;
        vd_check_result_t result;
        const char *needle;
    } cases[] = {
        {"2026-03-01T00:00:00Z", VD_CHECK_PASS, "not in ARK-Milan's CRL"},
        {"2026-06-01T00:00:00Z", VD_CHECK_SKIP, "stale"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vd_certcache_config_t cfg = {.db_path = ":memory:", .trust = trust, .offline = 1};
        if (vd_certcache_open(&cfg, &cache, &err) != VD_OK) {
            fail_msg("open: %s", err.msg);
        }
        if (vd_certcache_import(cache, (const uint8_t *)bundle, blen, &imported, &err) != VD_OK) {
            fail_msg("import: %s", err.msg);
        }
        assert_int_equal(imported, 2);
        vd_crl_list_t crls;
        assert_int_equal(vd_certcache_get_crls(cache, VD_PRODUCT_MILAN, 0, 1000, 1, &crls, &err),
                         VD_OK);
        assert_int_equal(crls.n, 1);
        vd_snp_input_t in = {.report = report, .report_len = len, .certs = certs, .trust = trust};
        in.crls = crls.crls;
        in.n_crls = crls.n;
        in.at = vd_test_time(cases[i].at);
        assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
        assert_int_equal(res->status, VD_SNP_GENUINE); /* fail-open */
        vd_crl_list_free(&crls);
        const vd_check_t *k = vd_checks_find(&res->checks, "chain.revocation");
        assert_non_null(k);
        if (k->result != cases[i].result || strstr(k->detail, cases[i].needle) == NULL) {
            fail_msg("at %s: %s %s", cases[i].at, vd_check_result_str(k->result), k->detail);
        }
        vd_certcache_free(&cache);
    }
    free(res);
    free(report);
    free(bundle);
    vd_certset_free(&certs);
    vd_trust_free(&trust);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amd_crl_milan),
        cmocka_unit_test(test_amd_crl_genoa_lists_old_ask),
        cmocka_unit_test(test_amd_crl_milan_revocation_window),
    };
    return cmocka_run_group_tests_name("amd_crls", tests, NULL, NULL);
}
