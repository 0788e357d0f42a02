/*
 * `verdict policy init` as a library (policies/policy_init.c): the policy written from every
 * genuine real vector in ../shared/vectors compiles and affirms that evidence with every check
 * passing, and pins it (another vector's measurement fails); the guest flags follow the
 * launched POLICY (DEBUG stays allowed only when it was on, with a warning); the ID block, host
 * data and mitigation vectors appear when present; evidence that is not genuine, bad names and
 * labels are refused; measurements make one allow-list, equal digests once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/certset.h"
#include "verdict/policy.h"
#include "verdict/policy_init.h"
#include "verdict/report.h"
#include "verdict/trust.h"
#include "verdict/verify.h"
#include "vectors.h"

typedef struct vec {
    const char *name;
    const char *report;
    const char *certs[4];
    const char *table;
    const char *at;
} vec_t;

/* Every genuine pair of ../shared/vectors/README.md. */
static const vec_t vecs[] = {
    {"gsg-milan",
     "gosevguest-milan/attestation.bin",
     {"gosevguest-milan/vcek.der", "gosevguest-milan/cert_chain_milan_vcek.pem"},
     NULL,
     "2026-06-01T00:00:00Z"},
    {"virtee-milan",
     "virtee-sev/report_milan.hex",
     {"virtee-sev/vcek_milan.der", "virtee-sev/cert_chain_milan"},
     NULL,
     "2026-06-01T00:00:00Z"},
    {"trustee-milan",
     "trustee-snp/test-report.bin",
     {"trustee-snp/test-vcek.der", "amd-roots-trustee/milan_ask_ark_asvk.pem"},
     NULL,
     "2026-06-01T00:00:00Z"},
    {"trustee-vlek",
     "trustee-snp/test-vlek-report.bin",
     {"trustee-snp/test-vlek.der", "gosevguest-milan/cert_chain_milan_vlek.pem"},
     NULL,
     "2025-06-01T00:00:00Z"},
    {"mstav-milan",
     "mstav-tests/milan_attestation_report.bin",
     {"mstav-tests/milan_vcek.pem", "mstav-tests/milan_ask.pem", "amd-roots-mstav/milan_ark.pem"},
     NULL,
     "2026-06-01T00:00:00Z"},
    {"mstav-genoa",
     "mstav-tests/genoa_attestation_report.bin",
     {"mstav-tests/genoa_vcek.pem", "mstav-tests/genoa_ask.pem", "amd-roots-mstav/genoa_ark.pem"},
     NULL,
     "2026-06-01T00:00:00Z"},
    {"mstav-turin",
     "mstav-tests/turin_attestation_report.bin",
     {"mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem", "amd-roots-mstav/turin_ark.pem"},
     NULL,
     "2026-06-01T00:00:00Z"},
    {"veraison-genoa",
     "veraison-tsm/derived/outblob_report.bin",
     {NULL},
     "veraison-tsm/derived/auxblob_certtable.bin",
     "2026-06-01T00:00:00Z"},
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

static vd_snp_result_t *verify_file(const vec_t *v, const char *report_rel)
{
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    uint8_t *table = NULL;
    size_t table_len = 0, len = 0, rlen = 0;
    uint8_t report[VD_SNP_REPORT_SIZE * 2];
    uint8_t *raw = vd_test_read_vector(report_rel, &len);
    assert_int_equal(vd_snp_report_from_file_bytes(raw, len, report, sizeof(report), &rlen), 0);
    free(raw);
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    for (size_t i = 0; i < 4 && v->certs[i] != NULL; i++) {
        vd_test_add_certs(certs, v->certs[i]);
    }
    if (v->table != NULL) {
        table = vd_test_read_vector(v->table, &table_len);
    }
    vd_snp_input_t in = {.report = report,
                         .report_len = rlen,
                         .certs = certs,
                         .cert_table = table,
                         .cert_table_len = table_len,
                         .trust = trust,
                         .at = vd_test_time(v->at)};
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    free(table);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    return res;
}

static vd_snp_result_t *verify_vec(const vec_t *v)
{
    vd_snp_result_t *r = verify_file(v, v->report);
    if (r->status != VD_SNP_GENUINE) {
        fail_msg("%s is not genuine", v->report);
    }
    return r;
}

static char *init_from(const vd_snp_result_t *snp, const char *name, const char *label)
{
    vd_pinit_t in = {.name = name, .snp = snp, .report_label = label, .source = "test"};
    vd_error_t err = {0};
    char *yaml = NULL;
    if (vd_policy_init(&in, &yaml, &err) != VD_OK) {
        fail_msg("policy init failed: %s", err.msg);
    }
    return yaml;
}

static void appraise(const char *yaml, const vd_snp_result_t *snp, vd_appraisal_t *a)
{
    vd_policy_t *p = NULL;
    vd_error_t err = {0};
    if (vd_policy_compile(yaml, strlen(yaml), "init.yaml", &p, &err) != VD_OK) {
        fail_msg("does not compile: %s\n%s", err.msg, yaml);
    }
    vd_policy_evaluate(p, snp, NULL, a);
    vd_policy_free(&p);
}

static const vd_check_t *find(const vd_appraisal_t *a, const char *name)
{
    return vd_checks_find(&a->checks, name);
}

/* Every genuine vector: compiles, affirms with every check passing, and pins the measurement. */
static void test_init_every_real_vector_affirms_itself(void **state)
{
    (void)state;
    vd_snp_result_t *res[NVECS];
    for (size_t i = 0; i < NVECS; i++) {
        res[i] = verify_vec(&vecs[i]);
    }
    for (size_t i = 0; i < NVECS; i++) {
        char *yaml = init_from(res[i], vecs[i].name, "known good");
        vd_appraisal_t a;
        appraise(yaml, res[i], &a);
        if (a.status != VD_TIER_AFFIRMING) {
            fail_msg("%s: %s\n%s", vecs[i].name, vd_tier_name(a.status), yaml);
        }
        assert_true(a.checks.count >= 12);
        for (size_t k = 0; k < a.checks.count; k++) {
            if (a.checks.items[k].result != VD_CHECK_PASS) {
                fail_msg("%s: %s %s: %s\n%s", vecs[i].name, a.checks.items[k].name,
                         vd_check_result_str(a.checks.items[k].result), a.checks.items[k].detail,
                         yaml);
            }
        }
        static const char *const expected[] = {"policy.product",
                                               "policy.signing_key",
                                               "policy.min_tcb",
                                               "policy.min_launch_tcb",

                                               "policy.min_api_version",
                                               "policy.guest_policy.min_abi",
                                               "policy.guest_policy.debug",
                                               "policy.vmpl",
                                               "policy.min_guest_svn",
                                               "policy.measurement"};
        for (size_t k = 0; k < sizeof(expected) / sizeof(expected[0]); k++) {
            if (find(&a, expected[k]) == NULL) {
                fail_msg("%s: no check %s", vecs[i].name, expected[k]);
            }
        }
        assert_non_null(strstr(find(&a, "policy.measurement")->detail, "\"known good\""));
        /* Committed firmware is pinned as such (provisional firmware is allowed, unchecked). */
        assert_int_equal(find(&a, "policy.provisional_firmware") != NULL,
                         strstr(yaml, "provisional_firmware: forbidden") != NULL);
        /* Pinned: every other vector with a different measurement is refused. */
        for (size_t j = 0; j < NVECS; j++) {
            if (memcmp(res[j]->report.measurement, res[i]->report.measurement, 48) == 0) {
                continue;
            }
            vd_appraisal_t b;
            appraise(yaml, res[j], &b);
            assert_int_not_equal(b.status, VD_TIER_AFFIRMING);
            assert_int_equal(find(&b, "policy.measurement")->result, VD_CHECK_FAIL);
        }
        free(yaml);
    }
    for (size_t i = 0; i < NVECS; i++) {
        free(res[i]);
    }
}

static void test_init_debug_on_stays_allowed_with_warning(void **state)
{
    (void)state;
    vd_snp_result_t *gsg = verify_vec(&vecs[0]); /* POLICY 0xB0000: DEBUG set */
    char *yaml = init_from(gsg, "gsg", NULL);
    assert_non_null(strstr(yaml, "    debug: allowed"));
    assert_non_null(strstr(yaml, "WARNING: launched with DEBUG"));
    assert_non_null(strstr(yaml, "    smt: allowed"));
    assert_non_null(strstr(yaml, "    migrate_ma: forbidden"));
    assert_non_null(strstr(yaml, "    single_socket: allowed"));
    assert_non_null(strstr(yaml, "label: \"known-good report\""));
    assert_non_null(strstr(yaml, "products: [Milan]"));
    assert_null(strstr(yaml, "\n  host_data:"));
    assert_null(strstr(yaml, "\n  family_ids:"));
    assert_null(strstr(yaml, "min_launch_mit_vector")); /* v2 */
    free(yaml);
    free(gsg);
    vd_snp_result_t *turin = verify_vec(&vecs[6]);
    yaml = init_from(turin, "turin", NULL);
    assert_non_null(strstr(yaml, "    debug: forbidden"));
    assert_null(strstr(yaml, "WARNING"));
    assert_non_null(strstr(yaml, "    fmc: 1\n"));
    assert_non_null(strstr(yaml, "min_launch_mit_vector: 0x3f"));
    assert_non_null(strstr(yaml, "# chip_ids: [")); /* a comment, not a rule */
    free(yaml);
    free(turin);
}

static void test_init_id_block_and_vlek(void **state)
{
    (void)state;
    vd_snp_result_t *t = verify_vec(&vecs[2]);
    char *yaml = init_from(t, "trustee", NULL);
    assert_non_null(strstr(yaml, "  family_ids: [01"));
    assert_non_null(strstr(yaml, "  image_ids: [02"));
    assert_non_null(strstr(yaml, "  id_key_digests: [0356215882a825279a85b300b0b742931d113bf7"));
    assert_non_null(strstr(yaml, "  require_id_block: true"));
    assert_non_null(strstr(yaml, "  min_guest_svn: 4"));
    assert_null(strstr(yaml, "require_author_key"));
    free(yaml);
    free(t);
    /* VLEK, VMPL 1, provisional firmware: the policy says so and still affirms (tested above). */
    vd_snp_result_t *v = verify_vec(&vecs[3]);
    yaml = init_from(v, "vlek", NULL);
    assert_non_null(strstr(yaml, "signing_keys: [VLEK]"));
    assert_non_null(strstr(yaml, "  vmpl: 1\n"));
    assert_non_null(strstr(yaml, "provisional_firmware: allowed"));
    free(yaml);
    free(v);
}

static void test_init_refuses_evidence_that_is_not_genuine(void **state)
{
    (void)state;
    static const char *const bad[] = {"negative-derived/milan_v2__reportdata_bitflip.bin",
                                      "negative-derived/milan_v2__policy_debug_bit.bin",
                                      "negative-derived/milan_v2__reserved_0x330.bin",
                                      "negative-derived/milan_v2__truncated_1183.bin"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vd_snp_result_t *r = verify_file(&vecs[0], bad[i]);
        assert_int_not_equal(r->status, VD_SNP_GENUINE);
        vd_pinit_t in = {.name = "x", .snp = r};
        vd_error_t err = {0};
        char *yaml = (char *)(uintptr_t)1;
        assert_int_equal(vd_policy_init(&in, &yaml, &err), VD_E_USAGE);
        assert_null(yaml);
        assert_non_null(strstr(err.msg, "not genuine"));
        free(r);
    }
    /* Collateral missing is not genuine either. */
    vd_snp_result_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->status = VD_SNP_COLLATERAL_MISSING;
    r->report_parsed = 1;
    vd_pinit_t in = {.name = "x", .snp = r};
    vd_error_t err = {0};
    char *yaml = NULL;
    assert_int_equal(vd_policy_init(&in, &yaml, &err), VD_E_USAGE);
    assert_non_null(strstr(err.msg, "collateral-missing, not genuine"));
    free(r);
}

static void expect_usage(const vd_pinit_t *in, const char *needle)
{
    vd_error_t err = {0};
    char *yaml = NULL;
    assert_int_equal(vd_policy_init(in, &yaml, &err), VD_E_USAGE);
    assert_null(yaml);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("message lacks \"%s\": %s", needle, err.msg);
    }
}

static void test_init_refuses_bad_names_labels_and_sources(void **state)
{
    (void)state;
    vd_pinit_measurement_t m = {.label = "ok"};
    vd_pinit_t in = {.name = "bad name", .measurements = &m, .n_measurements = 1};
    expect_usage(&in, "policy name 'bad name'");
    in.name = "-x";
    expect_usage(&in, "policy name '-x'");
    in.name = "";
    expect_usage(&in, "policy name ''");
    char long_name[80];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[79] = '\0';
    in.name = long_name;
    expect_usage(&in, "1 to 63 letters");
    in.name = "ok";
    in.n_measurements = 0;
    expect_usage(&in, "exactly one of the two");
    vd_snp_result_t *snp = verify_vec(&vecs[0]);
    in.snp = snp;
    in.n_measurements = 1;
    expect_usage(&in, "exactly one of the two");
    in.snp = NULL;
    m.label = "tab\there";
    expect_usage(&in, "label 'tab\there'");
    m.label = "\xff\xfe";
    expect_usage(&in, "at most 95 characters of UTF-8 text");
    char long_label[200];
    memset(long_label, 'l', sizeof(long_label) - 1);
    long_label[199] = '\0';
    m.label = long_label;
    expect_usage(&in, "at most 95 characters");
    m.label = "ok";
    in.description = "line\nbreak";
    expect_usage(&in, "the description must be UTF-8 text");
    in.description = NULL;
    in.snp = snp;
    in.n_measurements = 0;
    in.report_label = "\x01";
    expect_usage(&in, "label");
    free(snp);
}

static void test_init_measurements_one_allow_list(void **state)
{
    (void)state;
    vd_pinit_measurement_t m[4] = {
        {.label = "img \"2\" vCPUs", .comment = "--vcpus 2 --ovmf OVMF.fd"},
        {.label = "img 4 vCPUs", .comment = "--vcpus 4\n# injected: yes"},
        {.label = "img 2 again", .comment = "same inputs"},
        {.label = "\xc3\xa9t\xc3\xa9 8 vCPUs"},
    };
    memset(m[0].digest, 0x22, 48);
    memset(m[1].digest, 0x44, 48);
    memset(m[2].digest, 0x22, 48);
    memset(m[3].digest, 0x88, 48);
    vd_pinit_t in = {.name = "fleet", .measurements = m, .n_measurements = 4, .source = "x\ny"};
    vd_error_t err = {0};
    char *yaml = NULL;
    assert_int_equal(vd_policy_init(&in, &yaml, &err), VD_OK);
    vd_policy_t *p = NULL;
    assert_int_equal(vd_policy_compile(yaml, strlen(yaml), "m.yaml", &p, &err), VD_OK);
    assert_string_equal(vd_policy_name(p), "fleet");
    vd_policy_free(&p);
    /* Three distinct values, in order; the duplicate is a comment. */
    const char *a = strstr(yaml, "value: 2222"), *b = strstr(yaml, "value: 4444"),
               *c = strstr(yaml, "value: 8888");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    assert_null(strstr(a + 1, "value: 2222"));
    assert_non_null(strstr(yaml, "# the same digest: img 2 again (same inputs)"));
    assert_non_null(strstr(yaml, "label: \"img \\\"2\\\" vCPUs\""));
    assert_non_null(strstr(yaml, "label: \"\xc3\xa9t\xc3\xa9 8 vCPUs\""));
    /* A comment cannot break out of its line. */
    assert_non_null(strstr(yaml, "# --vcpus 4?# injected: yes\n"));
    assert_null(strstr(yaml, "\n# injected"));
    assert_non_null(strstr(yaml, "#   x?y\n"));
    assert_non_null(strstr(yaml, "    debug: forbidden"));
    free(yaml);
}

/* The largest --measure policy, with the longest labels and comments, still compiles. */
static void test_init_measurements_at_the_bounds(void **state)
{
    (void)state;
    size_t n = VD_PINIT_MEASUREMENTS_MAX;
    vd_pinit_measurement_t *m = calloc(n + 1, sizeof(*m));
    char *labels = calloc(n, 96 * 4 + 1);
    char comment[2048];
    assert_non_null(m);
    assert_non_null(labels);
    memset(comment, 'c', sizeof(comment) - 1);
    comment[sizeof(comment) - 1] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *l = labels + i * (96 * 4 + 1);
        /* 95 characters, 4 bytes each (U+1F600), and a distinct digest. */
        for (size_t k = 0; k < 95; k++) {
            memcpy(l + 4 * k, "\xf0\x9f\x98\x80", 4);
        }
        m[i].label = l;
        m[i].comment = comment;
        memset(m[i].digest, 0xAB, 48);
        m[i].digest[0] = (uint8_t)i;
        m[i].digest[1] = (uint8_t)(i >> 8);
    }
    vd_pinit_t in = {.name = "big", .measurements = m, .n_measurements = n};
    vd_error_t err = {0};
    char *yaml = NULL;
    if (vd_policy_init(&in, &yaml, &err) != VD_OK) {
        fail_msg("%s", err.msg);
    }
    assert_non_null(strstr(yaml, "ccc...\n"));
    free(yaml);
    in.n_measurements = n + 1;
    m[n] = m[0];
    assert_int_equal(vd_policy_init(&in, &yaml, &err), VD_E_USAGE);
    assert_non_null(strstr(err.msg, "at most 1024 measurements"));
    free(labels);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_every_real_vector_affirms_itself),
        cmocka_unit_test(test_init_debug_on_stays_allowed_with_warning),
        cmocka_unit_test(test_init_id_block_and_vlek),
        cmocka_unit_test(test_init_refuses_evidence_that_is_not_genuine),
        cmocka_unit_test(test_init_refuses_bad_names_labels_and_sources),
        cmocka_unit_test(test_init_measurements_one_allow_list),
        cmocka_unit_test(test_init_measurements_at_the_bounds),
    };
    return cmocka_run_group_tests_name("policy_init", tests, NULL, NULL);
}
