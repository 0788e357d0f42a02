/*
 * Every real vector in ../shared/vectors (see its README): each genuine pair verifies, each
 * negative case is rejected for the stated reason, and every single-bit flip of a real report's
 * signed region is rejected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/report.h"
#include "verdict/verify.h"
#include "vectors.h"

/* A time inside every genuine certificate's validity (the mstav VCEKs start 2026-02-05). */
#define AT_DEFAULT "2026-06-01T00:00:00Z"

typedef struct vec_case {
    const char *report;
    const char *certs[4];
    const char *table;
} vec_case_t;

static const vec_case_t milan_gsg = {
    "gosevguest-milan/attestation.bin",
    {"gosevguest-milan/vcek.der", "gosevguest-milan/cert_chain_milan_vcek.pem"},
    NULL};
static const vec_case_t genoa_tsm = {"veraison-tsm/derived/outblob_report.bin",
                                     {NULL},
                                     "veraison-tsm/derived/auxblob_certtable.bin"};
static const vec_case_t turin_tav = {
    "mstav-tests/turin_attestation_report.bin",
    {"mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem", "amd-roots-mstav/turin_ark.pem"},
    NULL};

/* Verify a report (given as bytes) with the certificates of `vc` at `at`. */
static vd_snp_result_t *verify_bytes(const uint8_t *report, size_t len, const vec_case_t *vc,
                                     const char *at)
{
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    uint8_t *table = NULL;
    size_t table_len = 0;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    for (size_t i = 0; i < 4 && vc->certs[i] != NULL; i++) {
        vd_test_add_certs(certs, vc->certs[i]);
    }
    if (vc->table != NULL) {
        table = vd_test_read_vector(vc->table, &table_len);
    }
    vd_snp_input_t in = {
        .report = report,
        .report_len = len,
        .certs = certs,
        .cert_table = table,
        .cert_table_len = table_len,
        .trust = trust,
        .at = vd_test_time(at),
    };
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    free(table);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    return res;
}

static vd_snp_result_t *verify_case(const vec_case_t *vc, const char *report_rel, const char *at)
{
    size_t len;
    uint8_t *raw = vd_test_read_vector(report_rel ? report_rel : vc->report, &len);
    uint8_t report[VD_SNP_REPORT_SIZE * 2];
    size_t rlen = 0;
    assert_int_equal(vd_snp_report_from_file_bytes(raw, len, report, sizeof(report), &rlen), 0);
    free(raw);
    return verify_bytes(report, rlen, vc, at);
}

static void print_checks(const vd_snp_result_t *res)
{
    for (size_t i = 0; i < res->checks.count; i++) {
        print_message("  %s %s: %s\n", vd_check_result_str(res->checks.items[i].result),
                      res->checks.items[i].name, res->checks.items[i].detail);
    }
}

static void assert_genuine(vd_snp_result_t *res, vd_product_t product, uint32_t version)
{
    if (res->status != VD_SNP_GENUINE) {
        print_checks(res);
        print_message("missing: %s\n", res->missing);
    }
    assert_int_equal(res->status, VD_SNP_GENUINE);
    assert_int_equal(vd_checks_count(&res->checks, VD_CHECK_FAIL), 0);
    assert_int_equal(res->product, product);
    assert_int_equal(res->report.version, version);
    const vd_check_t *sig = vd_checks_find(&res->checks, "report.signature");
    assert_non_null(sig);
    assert_int_equal(sig->result, VD_CHECK_PASS);
}

static void assert_failed(const vd_snp_result_t *res, const char *check, const char *needle)
{
    const vd_check_t *k = vd_checks_find(&res->checks, check);
    if (k == NULL || k->result != VD_CHECK_FAIL ||
        (needle != NULL && strstr(k->detail, needle) == NULL)) {
        print_checks(res);
        fail_msg("expected %s to fail%s%s", check, needle ? " with: " : "", needle ? needle : "");
    }
    assert_int_equal(res->status, VD_SNP_REJECTED);
}

/* ---- genuine pairs ------------------------------------------------------------------------ */

static void test_genuine_gosevguest_milan_v2(void **state)
{
    (void)state;
    vd_snp_result_t *res = verify_case(&milan_gsg, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_MILAN, 2);
    assert_string_equal(res->product_source, "certificate");
    /* Debug-enabled guest: genuine, the policy layer decides. */
    assert_true(res->report.policy & VD_SNP_POLICY_DEBUG);
    assert_int_equal(res->report.report_data[0], 1);
    assert_int_equal(res->report.report_data[4], 5);
    assert_int_equal(res->reported_tcb.bootloader, 2);
    assert_int_equal(res->reported_tcb.snp, 5);
    assert_int_equal(res->reported_tcb.microcode, 0x44);
    free(res);
}

static void test_genuine_virtee_milan_hex(void **state)
{
    (void)state;
    const vec_case_t vc = {"virtee-sev/report_milan.hex",
                           {"virtee-sev/vcek_milan.der", "virtee-sev/cert_chain_milan"},
                           NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_MILAN, 2);
    assert_int_equal(res->reported_tcb.bootloader, 3);
    assert_int_equal(res->reported_tcb.tee, 0);
    assert_int_equal(res->reported_tcb.snp, 8);
    assert_int_equal(res->reported_tcb.microcode, 115);
    assert_int_equal(res->report.current_major, 1);
    assert_int_equal(res->report.current_minor, 52);
    assert_int_equal(res->report.current_build, 4);
    free(res);
}

static void test_genuine_trustee_idblock(void **state)
{
    (void)state;
    const vec_case_t vc = {
        "trustee-snp/test-report.bin",
        {"trustee-snp/test-vcek.der", "amd-roots-trustee/milan_ask_ark_asvk.pem"},
        NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_MILAN, 2);
    assert_int_equal(res->report.guest_svn, 4);
    assert_int_equal(res->report.family_id[0], 0x01);
    assert_int_equal(res->report.image_id[0], 0x02);
    assert_true(res->current_tcb.microcode != res->reported_tcb.microcode);
    free(res);
}

static const vec_case_t vlek_case = {
    "trustee-snp/test-vlek-report.bin",
    {"trustee-snp/test-vlek.der", "gosevguest-milan/cert_chain_milan_vlek.pem"},
    NULL};

static void test_genuine_vlek_2025(void **state)
{
    (void)state;
    vd_snp_result_t *res = verify_case(&vlek_case, NULL, "2025-06-01T00:00:00Z");
    assert_genuine(res, VD_PRODUCT_MILAN, 3);
    assert_int_equal(res->signing_key, VD_SNP_SIGNING_KEY_VLEK);
    assert_int_equal(res->report.vmpl, 1);
    assert_int_equal(vd_checks_find(&res->checks, "binding.chip_id")->result, VD_CHECK_SKIP);
    assert_true(res->report.committed_tcb != res->report.current_tcb);
    free(res);
}

static void test_vlek_expired_today(void **state)
{
    (void)state;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    vd_snp_result_t *res = verify_case(&vlek_case, NULL, now);
    assert_failed(res, "chain.validity", "VLEK expired");
    /* Only the expiry fails: the signature itself is still good. */
    assert_int_equal(vd_checks_count(&res->checks, VD_CHECK_FAIL), 1);
    free(res);
}

static void test_genuine_mstav_milan_v3(void **state)
{
    (void)state;
    const vec_case_t vc = {"mstav-tests/milan_attestation_report.bin",
                           {"mstav-tests/milan_vcek.pem", "mstav-tests/milan_ask.pem",
                            "amd-roots-mstav/milan_ark.pem"},
                           NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_MILAN, 3);
    assert_string_equal(res->product_source, "cpuid");
    assert_int_equal(res->report.cpuid_fam_id, 0x19);
    assert_int_equal(res->report.cpuid_mod_id, 0x01);
    assert_non_null(strstr(vd_checks_find(&res->checks, "cert.product")->detail, "Milan-B0"));
    free(res);
}

static void test_genuine_mstav_genoa_v3(void **state)
{
    (void)state;
    const vec_case_t vc = {"mstav-tests/genoa_attestation_report.bin",
                           {"mstav-tests/genoa_vcek.pem", "mstav-tests/genoa_ask.pem",
                            "amd-roots-mstav/genoa_ark.pem"},
                           NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_GENOA, 3);
    assert_int_equal(res->report.cpuid_mod_id, 0x11);
    free(res);
}

static void test_genuine_mstav_turin_v5(void **state)
{
    (void)state;
    vd_snp_result_t *res = verify_case(&turin_tav, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_TURIN, 5);
    const vd_tcb_t *t = &res->reported_tcb;
    assert_true(t->has_fmc);
    assert_int_equal(t->fmc, 1);
    assert_int_equal(t->bootloader, 1);
    assert_int_equal(t->tee, 1);
    assert_int_equal(t->snp, 4);
    assert_int_equal(t->microcode, 81);
    assert_true(res->report.platform_info & VD_SNP_PLATFORM_BIT6); /* not a failure */
    assert_int_equal(res->report.launch_mit_vector, 0x3F);
    assert_int_equal(res->report.current_mit_vector, 0x3F);
    assert_non_null(strstr(vd_checks_find(&res->checks, "binding.chip_id")->detail, "[0..7]"));
    free(res);
}

static void test_genuine_veraison_genoa_cert_table(void **state)
{
    (void)state;
    vd_snp_result_t *res = verify_case(&genoa_tsm, NULL, AT_DEFAULT);
    assert_genuine(res, VD_PRODUCT_GENOA, 3);
    assert_int_equal(vd_checks_find(&res->checks, "evidence.cert_table")->result, VD_CHECK_PASS);
    free(res);
}

/* Genuine reports verify "now" too, as long as their VCEKs are valid (VLEK excepted above). */
static void test_genuine_without_any_root_is_missing(void **state)
{
    (void)state;
    const vec_case_t vc = {"mstav-tests/turin_attestation_report.bin",
                           {"mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem"},
                           NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    assert_non_null(strstr(res->missing, "ARK"));
    assert_non_null(strstr(res->missing, "/vcek/v1/Turin/cert_chain"));
    free(res);
}

static void test_missing_vcek_names_kds_url(void **state)
{
    (void)state;
    const vec_case_t vc = {"mstav-tests/turin_attestation_report.bin", {NULL}, NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    assert_non_null(strstr(res->missing, "https://kdsintf.amd.com/vcek/v1/Turin/59790fb1c39f35c1"
                                         "?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81"));
    free(res);
}

static void test_v2_without_vcek_needs_product(void **state)
{
    (void)state;
    const vec_case_t vc = {"gosevguest-milan/attestation.bin", {NULL}, NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    assert_int_equal(res->product, VD_PRODUCT_UNKNOWN);
    assert_non_null(strstr(res->missing, "product unknown"));
    free(res);
}

/* ---- negative cases ----------------------------------------------------------------------- */

static void test_trustee_patched_vcek_legacy(void **state)
{
    (void)state;
    const vec_case_t vc = {
        "trustee-snp/test-report.bin",
        {"trustee-snp/test-vcek-invalid-legacy.der", "amd-roots-trustee/milan_ask_ark_asvk.pem"},
        NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_failed(res, "chain.endorsement_key", "does not verify");
    free(res);
}

static void test_trustee_patched_vcek_new(void **state)
{
    (void)state;
    const vec_case_t vc = {
        "trustee-snp/test-report.bin",
        {"trustee-snp/test-vcek-invalid-new.der", "amd-roots-trustee/milan_ask_ark_asvk.pem"},
        NULL};
    vd_snp_result_t *res = verify_case(&vc, NULL, AT_DEFAULT);
    assert_failed(res, "chain.endorsement_key", "does not verify");
    free(res);
}

static const struct {
    const char *base;
    const vec_case_t *vc;
} bases[] = {{"milan_v2", &milan_gsg}, {"genoa_v3", &genoa_tsm}, {"turin_v5", &turin_tav}};

static vd_snp_result_t *verify_mutation(size_t b, const char *mutation)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "negative-derived/%s__%s.bin", bases[b].base, mutation);
    return verify_case(bases[b].vc, rel, AT_DEFAULT);
}

static void test_negative_signed_field_flips(void **state)
{
    (void)state;
    static const char *const mutations[] = {"reportdata_bitflip", "policy_debug_bit",
                                            "reported_tcb_ucode", "chip_id_bitflip",
                                            "sig_r_bitflip"};
    for (size_t b = 0; b < 3; b++) {
        for (size_t m = 0; m < sizeof(mutations) / sizeof(mutations[0]); m++) {
            vd_snp_result_t *res = verify_mutation(b, mutations[m]);
            assert_failed(res, "report.signature", "does not verify");
            free(res);
        }
    }
}

static void test_negative_tcb_and_chip_also_mismatch(void **state)
{
    (void)state;
    for (size_t b = 0; b < 3; b++) {
        vd_snp_result_t *res = verify_mutation(b, "reported_tcb_ucode");
        assert_failed(res, "binding.tcb", "ucodeSPL");
        free(res);
        res = verify_mutation(b, "chip_id_bitflip");
        assert_failed(res, "binding.chip_id", "!= CHIP_ID");
        free(res);
    }
}

static void test_negative_r_padding(void **state)
{
    (void)state;
    for (size_t b = 0; b < 3; b++) {
        vd_snp_result_t *res = verify_mutation(b, "sig_r_pad_nonzero");
        assert_failed(res, "report.signature_format", "R padding");
        free(res);
    }
}

static void test_negative_reserved_after_signature(void **state)
{
    (void)state;
    for (size_t b = 0; b < 3; b++) {
        vd_snp_result_t *res = verify_mutation(b, "reserved_0x330");
        assert_failed(res, "report.signature_format", "0x330");
        /* Outside the signed region: the signature itself still verifies. */
        assert_int_equal(vd_checks_find(&res->checks, "report.signature")->result, VD_CHECK_PASS);
        free(res);
    }
}

static void test_negative_truncated(void **state)
{
    (void)state;
    for (size_t b = 0; b < 3; b++) {
        vd_snp_result_t *res = verify_mutation(b, "truncated_1183");
        assert_failed(res, "report.format", "length 1183");
        assert_int_equal(res->checks.count, 1);
        free(res);
    }
}

/*
 * Every single-bit flip of the signed region (0x000-0x29F) of a real report is rejected. The one
 * exception in kind is a flip of SIGNER_INFO bit 2, which turns a VCEK-signed report into one that
 * claims a VLEK: with no VLEK supplied that is "collateral missing" (exit 3, never genuine), and
 * with the VCEK it would still fail the signature.
 */
static void test_every_bit_flip_rejected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = vd_test_read_vector(turin_tav.report, &len);
    assert_int_equal(len, VD_SNP_REPORT_SIZE);
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    for (size_t i = 0; i < 3; i++) {
        vd_test_add_certs(certs, turin_tav.certs[i]);
    }
    vd_snp_input_t in = {.report = raw,
                         .report_len = len,
                         .certs = certs,
                         .trust = trust,
                         .at = vd_test_time(AT_DEFAULT)};
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    size_t rejected = 0;
    for (size_t bit = 0; bit < VD_SNP_SIGNED_SIZE * 8; bit++) {
        raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
        if (bit / 8 == 0x048 && bit % 8 == 2) {
            assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
            assert_non_null(strstr(res->missing, "VLEK not supplied"));
        } else if (res->status != VD_SNP_REJECTED) {
            fail_msg("flip of bit %zu (byte 0x%03zx) was not rejected", bit % 8, bit / 8);
        } else {
            rejected++;
        }
        raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(rejected, VD_SNP_SIGNED_SIZE * 8 - 1);
    free(res);
    free(raw);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
}

/* The AMD roots from four independent sources all match the pins. */
static void test_all_amd_root_copies_pinned(void **state)
{
    (void)state;
    static const char *const files[] = {"amd-roots-gosevguest/ask_ark_genoa.pem",
                                        "amd-roots-gosevguest/ask_ark_milan.pem",
                                        "amd-roots-gosevguest/ask_ark_turin_vcek.pem",
                                        "amd-roots-mstav/genoa_ark.pem",
                                        "amd-roots-mstav/milan_ark.pem",
                                        "amd-roots-mstav/turin_ark.pem",
                                        "amd-roots-trustee/genoa_ask_ark_asvk.pem",
                                        "amd-roots-trustee/milan_ask_ark_asvk.pem",
                                        "amd-roots-trustee/turin_ask_ark_asvk.pem",
                                        "amd-roots-virtee-sev/genoa_ark.pem",
                                        "amd-roots-virtee-sev/milan_ark.pem",
                                        "amd-roots-virtee-sev/turin_ark.pem"};
    vd_error_t err = {0};
    vd_trust_t *trust = NULL;
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        vd_certset_t *set = NULL;
        assert_int_equal(vd_certset_new(&set, &err), VD_OK);
        vd_test_add_certs(set, files[f]);
        size_t arks = 0;
        for (size_t i = 0; i < vd_certset_count(set); i++) {
            char cn[64], spki[65];
            vd_product_t p;
            X509 *x = vd_certset_get(set, i);
            vd_x509_common_name(x, cn, sizeof(cn));
            vd_root_kind_t k = vd_trust_match(trust, x, &p, spki);
            if (strncmp(cn, "ARK-", 4) == 0) {
                assert_int_equal(k, VD_ROOT_AMD_PINNED);
                assert_int_equal(p, vd_product_from_name(cn + 4));
                arks++;
            } else {
                assert_int_equal(k, VD_ROOT_UNTRUSTED); /* ASK/ASVK are not anchors */
            }
        }
        assert_int_equal(arks, 1);
        vd_certset_free(&set);
    }
    vd_trust_free(&trust);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_gosevguest_milan_v2),
        cmocka_unit_test(test_genuine_virtee_milan_hex),
        cmocka_unit_test(test_genuine_trustee_idblock),
        cmocka_unit_test(test_genuine_vlek_2025),
        cmocka_unit_test(test_vlek_expired_today),
        cmocka_unit_test(test_genuine_mstav_milan_v3),
        cmocka_unit_test(test_genuine_mstav_genoa_v3),
        cmocka_unit_test(test_genuine_mstav_turin_v5),
        cmocka_unit_test(test_genuine_veraison_genoa_cert_table),
        cmocka_unit_test(test_genuine_without_any_root_is_missing),
        cmocka_unit_test(test_missing_vcek_names_kds_url),
        cmocka_unit_test(test_v2_without_vcek_needs_product),
        cmocka_unit_test(test_trustee_patched_vcek_legacy),
        cmocka_unit_test(test_trustee_patched_vcek_new),
        cmocka_unit_test(test_negative_signed_field_flips),
        cmocka_unit_test(test_negative_tcb_and_chip_also_mismatch),
        cmocka_unit_test(test_negative_r_padding),
        cmocka_unit_test(test_negative_reserved_after_signature),
        cmocka_unit_test(test_negative_truncated),
        cmocka_unit_test(test_every_bit_flip_rejected),
        cmocka_unit_test(test_all_amd_root_copies_pinned),
    };
    return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
