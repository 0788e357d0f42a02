/*
 * `verdict evidence collect` (verifier/cli/evidence_cmd.c, verifier/evidence/tsm_build.c):
 * the REPORT_DATA modes, the envelope, and the configfs-tsm protocol against a fake configfs
 * tree: a plain directory in which the test plays the kernel from the collector's hook (it
 * populates a new entry, advances `generation` on each write and makes `outblob` from `inblob`
 * by signing a synthetic report with a test PKI), and plays other writers racing it.
 *
 * The collected envelopes go through vd_appraise with the nonce and runtime data, so the
 * attester's binding is checked against the verifier's (policies/binding.c), not against a
 * second copy of the rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "verdict/appraise.h"
#include "verdict/evidence.h"
#include "cli.h"
#include "testpki.h"

/* ---- the fake kernel ---- */

typedef enum race {
    RACE_NONE = 0,
    RACE_WRITE_BEFORE_READ, /* another inblob write between ours and our outblob read */
    RACE_WRITE_AFTER_READ,  /* another write after our outblob read (generation moves) */
    RACE_FOREIGN_REPORT,    /* outblob carries other REPORT_DATA, generation as expected */
    NO_PROVIDER,            /* no guest driver: the entry has no provider */
    PROVIDER_TDX,           /* another provider */
    PROVIDER_FIFO,          /* provider is not a regular file (must not block) */
    GENERATION_GARBAGE,     /* generation is not a number */
    NO_AUXBLOB,             /* a kernel without auxblob */
} scenario_t;

typedef struct kernel {
    scenario_t scenario;
    EVP_PKEY *vcek_key;
    vd_product_t product;
    uint64_t generation;
    char entry[4096];
    const uint8_t *aux;
    size_t aux_len;
} kernel_t;

static void put(const char *entry, const char *attr, const void *p, size_t len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", entry, attr);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put_generation(kernel_t *k, const char *entry)
{
    char g[32];
    int n = snprintf(g, sizeof(g), "%llu\n", (unsigned long long)k->generation);
    put(entry, "generation", g, (size_t)n);
}

static void make_report(kernel_t *k, const char *entry, const uint8_t rd[64])
{
    uint8_t raw[VD_SNP_REPORT_SIZE], chip[64];
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(0xA0 + i);
    }
    vd_testreport_init(raw, 3, k->product, vd_testreport_tcb_raw(k->product, 1, 3, 0, 8, 115),
                       chip);
    memcpy(raw + VD_REPORT_DATA_OFFSET, rd, 64);
    assert_int_equal(vd_testreport_sign(raw, k->vcek_key), 0);
    put(entry, "outblob", raw, sizeof(raw));
}

static void kernel_hook(void *arg, vd_tsm_step_t step, const char *entry, const char *attr)
{
    kernel_t *k = arg;
    if (step == VD_TSM_MKDIR) {
        snprintf(k->entry, sizeof(k->entry), "%s", entry);
        k->generation = 0;
        if (k->scenario == PROVIDER_FIFO) {
            char path[4200];
            snprintf(path, sizeof(path), "%s/provider", entry);
            assert_int_equal(mkfifo(path, 0600), 0);
        } else if (k->scenario == PROVIDER_TDX) {
            put(entry, "provider", "tdx_guest\n", 10);
        } else if (k->scenario != NO_PROVIDER) {
            put(entry, "provider", "sev_guest\n", 10);
        }
        if (k->scenario == GENERATION_GARBAGE) {
            put(entry, "generation", "0x1\n", 4);
        } else {
            put_generation(k, entry);
        }
        put(entry, "inblob", "", 0);
        put(entry, "outblob", "", 0);
        if (k->scenario != NO_AUXBLOB) {
            put(entry, "auxblob", k->aux, k->aux_len);
        }
        return;
    }
    if (step == VD_TSM_WROTE && strcmp(attr, "inblob") == 0) {
        char path[4200];
        uint8_t rd[64] = {0};
        snprintf(path, sizeof(path), "%s/inblob", entry);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fread(rd, 1, sizeof(rd), f), 64);
        assert_int_equal(fgetc(f), EOF);
        fclose(f);
        k->generation++;
        if (k->scenario == RACE_WRITE_BEFORE_READ || k->scenario == RACE_FOREIGN_REPORT) {
            memset(rd, 0x5A, sizeof(rd)); /* the other writer's REPORT_DATA */
            put(entry, "inblob", rd, sizeof(rd));
            if (k->scenario == RACE_WRITE_BEFORE_READ) {
                k->generation++;
            }
        }
        make_report(k, entry, rd);
        put_generation(k, entry);
        return;
    }
    if (step == VD_TSM_READ && strcmp(attr, "outblob") == 0 &&
        k->scenario == RACE_WRITE_AFTER_READ) {
        k->generation++;
        put_generation(k, entry);
    }
}

/* ---- fixtures ---- */

typedef struct fixture {
    vd_testpki_t *pki;
    X509 *vcek;
    EVP_PKEY *vcek_key;
    vd_trust_t *trust;
    vd_certset_t *certs;
    vd_appraiser_t *appraiser;
    char root[64];
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    vd_error_t err = {0};
    assert_non_null(fx);
    fx->pki = vd_testpki_new(VD_PRODUCT_GENOA);
    assert_non_null(fx->pki);
    vd_testpki_leaf_opts_t o;
    memset(&o, 0, sizeof(o));
    uint8_t chip[64];
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(0xA0 + i);
    }
    o.product_name = "Genoa";
    o.tcb =
        vd_tcb_decode(vd_testreport_tcb_raw(VD_PRODUCT_GENOA, 1, 3, 0, 8, 115), VD_PRODUCT_GENOA);
    o.hwid = chip;
    o.hwid_len = 64;
    fx->vcek = vd_testpki_issue_leaf(fx->pki, &o, &fx->vcek_key);
    assert_non_null(fx->vcek);
    assert_int_equal(vd_trust_new(&fx->trust, &err), VD_OK);
    assert_int_equal(vd_trust_add_extra(fx->trust, vd_testpki_ark(fx->pki), &err), VD_OK);
    assert_int_equal(vd_certset_new(&fx->certs, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(fx->certs, fx->vcek, "vcek", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(fx->certs, vd_testpki_ask(fx->pki), "ask", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(fx->certs, vd_testpki_ark(fx->pki), "ark", &err), VD_OK);
    vd_appraiser_config_t cfg = {0};
    cfg.trust = fx->trust;
    assert_int_equal(vd_appraiser_new(&cfg, &fx->appraiser, &err), VD_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    vd_appraiser_free(&fx->appraiser);
    vd_certset_free(&fx->certs);
    vd_trust_free(&fx->trust);
    X509_free(fx->vcek);
    EVP_PKEY_free(fx->vcek_key);
    vd_testpki_free(&fx->pki);
    free(fx);
    return 0;
}

/* A fresh fake configfs root per test. */
static int root_setup(void **state)
{
    fixture_t *fx = *state;
    snprintf(fx->root, sizeof(fx->root), "/tmp/vd-tsm-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    return 0;
}

static int root_teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static kernel_t kernel(fixture_t *fx, scenario_t s)
{
    kernel_t k;
    memset(&k, 0, sizeof(k));
    k.scenario = s;
    k.vcek_key = fx->vcek_key;
    k.product = VD_PRODUCT_GENOA;
    return k;
}

/* Appraise a collected envelope with the nonce and runtime data; returns the outcome. */
static vd_appraise_outcome_t appraise(fixture_t *fx, const char *json, const vd_policy_t *policy,
                                      const uint8_t *nonce, size_t nl, const uint8_t *rd, size_t dl)
{
    vd_appraise_request_t req;
    vd_appraise_result_t *r = calloc(1, sizeof(*r));
    vd_error_t err = {0};
    assert_non_null(r);
    memset(&req, 0, sizeof(req));
    req.evidence = (const uint8_t *)json;
    req.evidence_len = strlen(json);
    req.certs = fx->certs;
    req.certs_only = 1;
    req.policy = policy;
    req.nonce = nonce;
    req.nonce_len = nl;
    req.runtime_data = rd;
    req.runtime_data_len = dl;
    req.at = time(NULL);
    assert_int_equal(vd_appraise(fx->appraiser, &req, r, &err), VD_OK);
    vd_appraise_outcome_t o = r->outcome;
    free(r);
    return o;
}

/* ---- REPORT_DATA modes ---- */

static void test_report_data_modes(void **state)
{
    (void)state;
    vd_error_t err = {0};
    uint8_t out[64], want[64] = {0}, big[65];
    static const uint8_t nonce[] = {1, 2, 3}, rd[] = {'k', 'e', 'y'};

    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, NULL, 0, NULL, 0, out, &err), VD_OK);
    assert_memory_equal(out, want, 64);
    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, nonce, 3, rd, 3, out, &err), VD_OK);
    memcpy(want, nonce, 3);
    memcpy(want + 3, rd, 3);
    assert_memory_equal(out, want, 64);

    memset(big, 7, sizeof(big));
    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, big, 64, NULL, 0, out, &err), VD_OK);
    assert_memory_equal(out, big, 64);
    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, big, 65, NULL, 0, out, &err),
                     VD_E_TOO_LARGE);
    vd_error_clear(&err);
    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, big, 60, rd, 3, out, &err), VD_OK);
    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, big, 62, rd, 3, out, &err),
                     VD_E_TOO_LARGE);
    vd_error_clear(&err);

    unsigned int mdlen = 0;
    uint8_t cat[6];
    memcpy(cat, nonce, 3);
    memcpy(cat + 3, rd, 3);
    assert_int_equal(vd_evidence_report_data(VD_RDATA_SHA512, nonce, 3, rd, 3, out, &err), VD_OK);
    assert_int_equal(EVP_Digest(cat, 6, want, &mdlen, EVP_sha512(), NULL), 1);
    assert_memory_equal(out, want, 64);
    assert_int_equal(vd_evidence_report_data(VD_RDATA_SHA256_PREFIX, nonce, 3, rd, 3, out, &err),
                     VD_OK);
    memset(want, 0, sizeof(want));
    assert_int_equal(EVP_Digest(cat, 6, want, &mdlen, EVP_sha256(), NULL), 1);
    assert_memory_equal(out, want, 64);

    vd_rdata_mode_t m = VD_RDATA_RAW;
    assert_int_equal(vd_rdata_mode_from_name("sha512", &m), 0);
    assert_int_equal(m, VD_RDATA_SHA512);
    assert_int_equal(vd_rdata_mode_from_name("sha256-prefix", &m), 0);
    assert_int_equal(m, VD_RDATA_SHA256_PREFIX);
    assert_int_equal(vd_rdata_mode_from_name("raw", &m), 0);
    assert_int_equal(m, VD_RDATA_RAW);
    assert_int_equal(vd_rdata_mode_from_name("sha384-jcs", &m), -1);
    assert_int_equal(vd_rdata_mode_from_name("", &m), -1);
}

/* ---- the envelope ---- */

static void test_build_envelope(void **state)
{
    (void)state;
    vd_error_t err = {0};
    uint8_t report[VD_SNP_REPORT_SIZE], rd[64];
    static const uint8_t aux[] = {0xde, 0xad, 0xbe, 0xef, 0x00};
    char *json = NULL;
    memset(report, 0x11, sizeof(report));
    memset(rd, 0x11, sizeof(rd));

    assert_int_equal(vd_evidence_tsm_build("sev_guest\n", report, sizeof(report), aux, sizeof(aux),
                                           rd, &json, &err),
                     VD_OK);
    vd_evidence_t ev;
    assert_int_equal(vd_evidence_parse_tsm_json((const uint8_t *)json, strlen(json), &ev, &err),
                     VD_OK);
    assert_int_equal(ev.report_len, sizeof(report));
    assert_memory_equal(ev.report, report, sizeof(report));
    assert_int_equal(ev.cert_table_len, sizeof(aux));
    assert_memory_equal(ev.cert_table, aux, sizeof(aux));
    vd_evidence_free(&ev);
    /* Standard base64 with padding, as Go's encoding/json decodes []byte. */
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "provider")), "sev_guest");
    assert_string_equal(json_string_value(json_object_get(j, "auxblob")), "3q2+7wA=");
    json_decref(j);
    free(json);

    /* No auxblob: the member is left out. */
    assert_int_equal(
        vd_evidence_tsm_build("sev_guest", report, sizeof(report), NULL, 0, rd, &json, &err),
        VD_OK);
    assert_null(strstr(json, "auxblob"));
    free(json);

    /* Refusals, each with no envelope. */
    static const char *const providers[] = {"tdx_guest\n", "", "sev_guest\n\n", "sev_guestX",
                                            "sev"};
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        vd_error_clear(&err);
        assert_int_equal(
            vd_evidence_tsm_build(providers[i], report, sizeof(report), NULL, 0, rd, &json, &err),
            VD_E_UNSUPPORTED);
        assert_null(json);
    }
    vd_error_clear(&err);
    assert_int_equal(vd_evidence_tsm_build(NULL, report, sizeof(report), NULL, 0, rd, &json, &err),
                     VD_E_UNSUPPORTED);
    vd_error_clear(&err);
    assert_int_equal(vd_evidence_tsm_build("sev_guest", report, 0x8F, NULL, 0, rd, &json, &err),
                     VD_E_MALFORMED);
    vd_error_clear(&err);
    rd[63] ^= 1;
    assert_int_equal(
        vd_evidence_tsm_build("sev_guest", report, sizeof(report), NULL, 0, rd, &json, &err),
        VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "REPORT_DATA"));
    assert_null(json);
}

/* ---- the configfs protocol ---- */

static void test_collect_raw_binds_what_verify_checks(void **state)
{
    fixture_t *fx = *state;
    vd_error_t err = {0};
    static const uint8_t nonce[32] = {0xC0, 0xFF, 0xEE}, rd[] = "ephemeral public key";
    uint8_t report_data[64];
    char *json = NULL;
    kernel_t k = kernel(fx, RACE_NONE);
    static const uint8_t aux_none[1] = {0};
    k.aux = aux_none;
    k.aux_len = 0; /* an empty auxblob: the host supplied no certificates */
    assert_int_equal(vd_evidence_report_data(VD_RDATA_RAW, nonce, sizeof(nonce), rd, sizeof(rd) - 1,
                                             report_data, &err),
                     VD_OK);
    assert_int_equal(vd_cli_tsm_collect(fx->root, report_data, kernel_hook, &k, &json, &err),
                     VD_OK);
    assert_non_null(json);
    assert_null(strstr(json, "auxblob"));
    /* The verifier agrees: affirming with this nonce and runtime data, not with others. */
    assert_int_equal(appraise(fx, json, NULL, nonce, sizeof(nonce), rd, sizeof(rd) - 1),
                     VD_OUTCOME_AFFIRMING);
    uint8_t other[32] = {0xC0, 0xFF, 0xEF};
    assert_int_equal(appraise(fx, json, NULL, other, sizeof(other), rd, sizeof(rd) - 1),
                     VD_OUTCOME_NOT_AFFIRMING);
    assert_int_equal(appraise(fx, json, NULL, nonce, sizeof(nonce), NULL, 0),
                     VD_OUTCOME_NOT_AFFIRMING);
    free(json);
}

static void test_collect_sha512_and_prefix_bind_what_policies_check(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        vd_rdata_mode_t mode;
        const char *yaml;
    } cases[] = {
        {VD_RDATA_SHA512, "name: fresh\nsnp:\n  freshness: sha512\n"},
        {VD_RDATA_SHA256_PREFIX, "name: fresh\nsnp:\n  freshness: sha256-prefix\n"},
    };
    uint8_t nonce[100], rd[300];
    memset(nonce, 0x42, sizeof(nonce)); /* more than raw can hold */
    memset(rd, 0x17, sizeof(rd));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vd_error_t err = {0};
        vd_policy_t *pol = NULL;
        uint8_t report_data[64];
        char *json = NULL;
        kernel_t k = kernel(fx, RACE_NONE);
        k.aux = (const uint8_t *)"";
        assert_int_equal(
            vd_policy_compile(cases[i].yaml, strlen(cases[i].yaml), "fresh.yaml", &pol, &err),
            VD_OK);
        assert_int_equal(vd_evidence_report_data(cases[i].mode, nonce, sizeof(nonce), rd,
                                                 sizeof(rd), report_data, &err),
                         VD_OK);
        assert_int_equal(vd_cli_tsm_collect(fx->root, report_data, kernel_hook, &k, &json, &err),
                         VD_OK);
        assert_int_equal(appraise(fx, json, pol, nonce, sizeof(nonce), rd, sizeof(rd)),
                         VD_OUTCOME_AFFIRMING);
        rd[0] ^= 1;
        assert_int_equal(appraise(fx, json, pol, nonce, sizeof(nonce), rd, sizeof(rd)),
                         VD_OUTCOME_NOT_AFFIRMING);
        rd[0] ^= 1;
        free(json);
        vd_policy_free(&pol);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/verdict-*", fx->root);
        assert_int_equal(system(cmd), 0);
    }
}

static void test_collect_with_auxblob(void **state)
{
    fixture_t *fx = *state;
    vd_error_t err = {0};
    uint8_t report_data[64] = {9};
    static const uint8_t aux[] = "a certificate table";
    char *json = NULL;
    kernel_t k = kernel(fx, RACE_NONE);
    k.aux = aux;
    k.aux_len = sizeof(aux);
    assert_int_equal(vd_cli_tsm_collect(fx->root, report_data, kernel_hook, &k, &json, &err),
                     VD_OK);
    vd_evidence_t ev;
    assert_int_equal(vd_evidence_parse_tsm_json((const uint8_t *)json, strlen(json), &ev, &err),
                     VD_OK);
    assert_int_equal(ev.cert_table_len, sizeof(aux));
    assert_memory_equal(ev.cert_table, aux, sizeof(aux));
    assert_int_equal(ev.report_len, VD_SNP_REPORT_SIZE);
    assert_memory_equal(ev.report + VD_REPORT_DATA_OFFSET, report_data, 64);
    vd_evidence_free(&ev);
    free(json);

    /* A kernel without the auxblob attribute: the envelope has none. */
    k = kernel(fx, NO_AUXBLOB);
    assert_int_equal(vd_cli_tsm_collect(fx->root, report_data, kernel_hook, &k, &json, &err),
                     VD_OK);
    assert_null(strstr(json, "auxblob"));
    free(json);
}

static void expect_refusal(fixture_t *fx, scenario_t s, vd_err_t code, const char *needle)
{
    vd_error_t err = {0};
    uint8_t report_data[64] = {1, 2, 3};
    static char untouched[] = "untouched";
    char *json = untouched;
    kernel_t k = kernel(fx, s);
    k.aux = (const uint8_t *)"";
    vd_err_t rc = vd_cli_tsm_collect(fx->root, report_data, kernel_hook, &k, &json, &err);
    if (rc != code || strstr(err.msg, needle) == NULL) {
        fail_msg("scenario %d: got %d (%s), expected %d with \"%s\"", (int)s, (int)rc, err.msg,
                 (int)code, needle);
    }
    assert_null(json);
}

static void test_collect_refuses_races(void **state)
{
    fixture_t *fx = *state;
    expect_refusal(fx, RACE_WRITE_BEFORE_READ, VD_E_MALFORMED, "generation went from 0 to 2");
    expect_refusal(fx, RACE_WRITE_AFTER_READ, VD_E_MALFORMED, "generation went from 0 to 2");
    expect_refusal(fx, RACE_FOREIGN_REPORT, VD_E_MALFORMED, "REPORT_DATA");
    expect_refusal(fx, GENERATION_GARBAGE, VD_E_MALFORMED, "not a decimal number");
}

static void test_collect_refuses_other_providers_and_trees(void **state)
{
    fixture_t *fx = *state;
    expect_refusal(fx, NO_PROVIDER, VD_E_UNSUPPORTED, "no provider");
    expect_refusal(fx, PROVIDER_TDX, VD_E_UNSUPPORTED, "not sev_guest");
    expect_refusal(fx, PROVIDER_FIFO, VD_E_IO, "a FIFO");
}

static void test_collect_refuses_trees_that_are_not_configfs(void **state)
{
    fixture_t *fx = *state;
    /* No tree, a file instead of a tree, a tree whose entries have no attributes. */
    vd_error_t err = {0};
    uint8_t report_data[64] = {0};
    char *json = NULL, path[200];
    snprintf(path, sizeof(path), "%s/missing", fx->root);
    assert_int_equal(vd_cli_tsm_collect(path, report_data, NULL, NULL, &json, &err), VD_E_IO);
    assert_non_null(strstr(err.msg, "configfs"));
    vd_error_clear(&err);
    snprintf(path, sizeof(path), "%s/file", fx->root);
    put(fx->root, "file", "x", 1);
    assert_int_equal(vd_cli_tsm_collect(path, report_data, NULL, NULL, &json, &err), VD_E_IO);
    vd_error_clear(&err);
    assert_int_equal(vd_cli_tsm_collect(fx->root, report_data, NULL, NULL, &json, &err),
                     VD_E_UNSUPPORTED);
    assert_null(json);
    /* The entry it made is removed again. */
    snprintf(path, sizeof(path), "%s/verdict-%ld-0", fx->root, (long)getpid());
    assert_int_equal(access(path, F_OK), -1);
    if (geteuid() != 0) { /* root reads through mode 000 */
        vd_error_clear(&err);
        assert_int_equal(chmod(fx->root, 0), 0);
        assert_int_equal(vd_cli_tsm_collect(fx->root, report_data, NULL, NULL, &json, &err),
                         VD_E_IO);
        assert_int_equal(chmod(fx->root, 0700), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_data_modes),
        cmocka_unit_test(test_build_envelope),
        cmocka_unit_test_setup_teardown(test_collect_raw_binds_what_verify_checks, root_setup,
                                        root_teardown),
        cmocka_unit_test_setup_teardown(test_collect_sha512_and_prefix_bind_what_policies_check,
                                        root_setup, root_teardown),
        cmocka_unit_test_setup_teardown(test_collect_with_auxblob, root_setup, root_teardown),
        cmocka_unit_test_setup_teardown(test_collect_refuses_races, root_setup, root_teardown),
        cmocka_unit_test_setup_teardown(test_collect_refuses_other_providers_and_trees, root_setup,
                                        root_teardown),
        cmocka_unit_test_setup_teardown(test_collect_refuses_trees_that_are_not_configfs,
                                        root_setup, root_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
