/*
 * vd_appraise (verifier/appraise): the one appraisal pipeline on real vectors, its outcomes
 * (affirming, not affirming, rejected, bad evidence), the freshness of a nonce with and
 * without a policy (issue #7 defect 3), policies by name from a policy set, and output that
 * stays valid and unforgeable when certificate names are hostile (defects 4 and 5).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "verdict/appraise.h"
#include "verdict/policy_store.h"
#include "verdict/text.h"
#include "cli.h"
#include "testpki.h"
#include "vectors.h"

#define GSG_REPORT "gosevguest-milan/attestation.bin"
#define GSG_VCEK   "gosevguest-milan/vcek.der"
#define GSG_CHAIN  "gosevguest-milan/cert_chain_milan_vcek.pem"
#define GSG_AT     "2026-06-01T00:00:00Z"

typedef struct gsg {
    uint8_t *report;
    size_t len;
    vd_certset_t *certs;
} gsg_t;

static void gsg_load(gsg_t *g)
{
    vd_error_t err = {0};
    g->report = vd_test_read_vector(GSG_REPORT, &g->len);
    assert_int_equal(vd_certset_new(&g->certs, &err), VD_OK);
    vd_test_add_certs(g->certs, GSG_VCEK);
    vd_test_add_certs(g->certs, GSG_CHAIN);
}

static void gsg_free(gsg_t *g)
{
    free(g->report);
    vd_certset_free(&g->certs);
}

static vd_appraiser_t *appraiser(vd_policyset_t *set)
{
    vd_appraiser_config_t cfg = {0};
    vd_appraiser_t *a = NULL;
    vd_error_t err = {0};
    cfg.policies = set;
    assert_int_equal(vd_appraiser_new(&cfg, &a, &err), VD_OK);
    return a;
}

static vd_appraise_request_t gsg_request(const gsg_t *g)
{
    vd_appraise_request_t req;
    memset(&req, 0, sizeof(req));
    req.evidence = g->report;
    req.evidence_len = g->len;
    req.certs = g->certs;
    req.certs_only = 1;
    req.at = vd_test_time(GSG_AT);
    return req;
}

static vd_appraise_result_t *run(vd_appraiser_t *a, const vd_appraise_request_t *req)
{
    vd_appraise_result_t *r = calloc(1, sizeof(*r));
    vd_error_t err = {0};
    assert_non_null(r);
    if (vd_appraise(a, req, r, &err) != VD_OK) {
        fail_msg("vd_appraise: %s", err.msg);
    }
    return r;
}

static const vd_check_t *policy_check(const vd_appraise_result_t *r, const char *name)
{
    return vd_checks_find(&r->appraisal.checks, name);
}

static void test_appraise_real_vector_genuineness_only(void **state)
{
    (void)state;
    gsg_t g;
    gsg_load(&g);
    vd_appraiser_t *a = appraiser(NULL);
    vd_appraise_request_t req = gsg_request(&g);
    vd_appraise_result_t *r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    assert_int_equal(r->snp.status, VD_SNP_GENUINE);
    assert_int_equal(r->status, VD_TIER_AFFIRMING);
    assert_false(r->policy_applied);
    assert_true(r->has_report_digest);
    json_t *j = vd_appraise_result_json(r, req.at);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "genuine");
    assert_null(json_object_get(j, "appraisal")); /* no policy, no nonce: nothing appraised */
    json_decref(j);
    free(r);
    vd_appraiser_free(&a);
    gsg_free(&g);
}

/* Defect 3: a nonce given without a policy is checked (raw) and fails closed when unbound. */
static void test_appraise_nonce_without_policy(void **state)
{
    (void)state;
    gsg_t g;
    gsg_load(&g);
    vd_appraiser_t *a = appraiser(NULL);
    vd_appraise_request_t req = gsg_request(&g);
    static const uint8_t good[] = {1, 2, 3, 4, 5}, bad[] = {1, 2};
    req.nonce = good;
    req.nonce_len = sizeof(good);
    vd_appraise_result_t *r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    assert_non_null(policy_check(r, "policy.freshness"));
    assert_int_equal(policy_check(r, "policy.freshness")->result, VD_CHECK_PASS);
    free(r);
    req.nonce = bad;
    req.nonce_len = sizeof(bad);
    r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING);
    assert_int_equal(r->status, VD_TIER_CONTRAINDICATED);
    assert_int_equal(policy_check(r, "policy.freshness")->result, VD_CHECK_FAIL);
    json_t *j = vd_appraise_result_json(r, req.at);
    json_t *ap = json_object_get(j, "appraisal");
    assert_non_null(ap);
    assert_true(json_is_null(json_object_get(ap, "policy")));
    json_decref(j);
    free(r);
    vd_appraiser_free(&a);
    gsg_free(&g);
}

static void test_appraise_bad_evidence_is_never_affirming(void **state)
{
    (void)state;
    vd_appraiser_t *a = appraiser(NULL);
    vd_appraise_request_t req;
    memset(&req, 0, sizeof(req));
    static const char envelope[] = "{\"outblob\": 12}";
    req.evidence = (const uint8_t *)envelope;
    req.evidence_len = strlen(envelope);
    vd_appraise_result_t *r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_BAD_EVIDENCE);
    assert_int_equal(r->snp.status, VD_SNP_REJECTED);
    assert_non_null(strstr(r->problem, "outblob"));
    free(r);
    /* Defect 10: odd-length hex is said to be odd-length hex, not a wrong report length. */
    static const char odd[] = "0102030\n";
    req.evidence = (const uint8_t *)odd;
    req.evidence_len = strlen(odd);
    r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_BAD_EVIDENCE);
    assert_non_null(strstr(r->problem, "odd number of digits (7)"));
    free(r);
    /* No evidence at all. */
    req.evidence = NULL;
    r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_BAD_EVIDENCE);
    free(r);
    /* An empty report: rejected by the core (report.format), not affirming. */
    req.evidence = (const uint8_t *)"";
    req.evidence_len = 0;
    r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    free(r);
    vd_appraiser_free(&a);
}

/* A named policy comes from the policy set; an unknown name is the caller's error. */
static void test_appraise_named_policy(void **state)
{
    (void)state;
    char dir[] = "/tmp/vd-appraise-XXXXXX", path[128], name[VD_POLICY_NAME_MAX];
    vd_error_t err = {0};
    vd_pstore_t *store = NULL;
    vd_policyset_t *set = NULL;
    int version = 0, created = 0;
    gsg_t g;
    gsg_load(&g);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/verdict.db", dir);
    assert_int_equal(vd_pstore_open(path, 0, &store, &err), VD_OK);
    static const char nodebug[] = "name: strict\nsnp:\n  guest_policy:\n    debug: forbidden\n";
    assert_int_equal(
        vd_pstore_put(store, nodebug, strlen(nodebug), "t", name, &version, &created, &err), VD_OK);
    assert_int_equal(vd_policyset_open(path, &set, &err), VD_OK);
    vd_appraiser_t *a = appraiser(set);
    vd_appraise_request_t req = gsg_request(&g);
    req.policy_name = "strict";
    vd_appraise_result_t *r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING); /* the gsg guest has DEBUG set */
    assert_true(r->policy_applied);
    assert_string_equal(r->policy_name, "strict");
    assert_int_equal(r->policy_version, 1);
    free(r);
    req.policy_name = "nobody";
    r = calloc(1, sizeof(*r));
    assert_non_null(r);
    assert_int_equal(vd_appraise(a, &req, r, &err), VD_E_CONFIG);
    assert_non_null(strstr(err.msg, "nobody"));
    assert_int_not_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    free(r);
    vd_appraiser_free(&a);
    vd_policyset_free(&set);
    vd_pstore_close(&store);
    gsg_free(&g);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- many threads, one appraiser ---------------------------------------------------------- */

typedef struct thr {
    vd_appraiser_t *a;
    const gsg_t *g;
    const char *path;
    int bad; /* set by the thread itself only */
} thr_t;

static void *appraise_thread(void *arg)
{
    thr_t *t = arg;
    vd_appraise_request_t req = gsg_request(t->g);
    req.policy_name = "dbg";
    vd_appraise_result_t *r = calloc(1, sizeof(*r));
    for (int i = 0; r != NULL && i < 8; i++) {
        vd_error_t err = {0};
        memset(r, 0, sizeof(*r));
        if (vd_appraise(t->a, &req, r, &err) != VD_OK) {
            t->bad = 1;
            break;
        }
        /* Version 1 allows DEBUG (affirming), version 2 forbids it: the outcome must match
         * the version the appraisal says it used, whatever was activated meanwhile. */
        if (!((r->policy_version == 1 && r->outcome == VD_OUTCOME_AFFIRMING) ||
              (r->policy_version == 2 && r->outcome == VD_OUTCOME_NOT_AFFIRMING))) {
            t->bad = 1;
        }
    }
    free(r);
    return NULL;
}

static void *activate_thread(void *arg)
{
    thr_t *t = arg;
    vd_pstore_t *s = NULL;
    vd_error_t err = {0};
    if (vd_pstore_open(t->path, 0, &s, &err) != VD_OK) {
        t->bad = 1;
        return NULL;
    }
    for (int i = 0; i < 12; i++) {
        if (vd_pstore_activate(s, "dbg", 1 + i % 2, &err) != VD_OK) {
            t->bad = 1;
            break;
        }
    }
    vd_pstore_close(&s);
    return NULL;
}

static void test_appraise_threads_share_one_appraiser(void **state)
{
    (void)state;
    char dir[] = "/tmp/vd-appraise-XXXXXX", path[128], name[VD_POLICY_NAME_MAX], cmd[160];
    vd_error_t err = {0};
    vd_pstore_t *store = NULL;
    vd_policyset_t *set = NULL;
    int version = 0, created = 0;
    gsg_t g;
    gsg_load(&g);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/verdict.db", dir);
    assert_int_equal(vd_pstore_open(path, 0, &store, &err), VD_OK);
    static const char v1[] = "name: dbg\nsnp:\n  guest_policy:\n    debug: allowed\n";
    static const char v2[] = "name: dbg\nsnp:\n  guest_policy:\n    debug: forbidden\n";
    assert_int_equal(vd_pstore_put(store, v1, strlen(v1), "t", name, &version, &created, &err),
                     VD_OK);
    assert_int_equal(vd_pstore_put(store, v2, strlen(v2), "t", name, &version, &created, &err),
                     VD_OK);
    vd_pstore_close(&store);
    assert_int_equal(vd_policyset_open(path, &set, &err), VD_OK);
    vd_appraiser_t *a = appraiser(set);
    enum { N = 3 };
    pthread_t th[N + 1];
    thr_t t[N + 1];
    for (int i = 0; i <= N; i++) {
        t[i] = (thr_t){a, &g, path, 0};
        assert_int_equal(
            pthread_create(&th[i], NULL, i < N ? appraise_thread : activate_thread, &t[i]), 0);
    }
    for (int i = 0; i <= N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_false(t[i].bad);
    }
    vd_appraiser_free(&a);
    vd_policyset_free(&set);
    gsg_free(&g);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- hostile certificate names (defects 4 and 5) ------------------------------------------- */

static int pss_sign(X509 *x, EVP_PKEY *key)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1 && X509_sign_ctx(x, md) > 0;
    EVP_MD_CTX_free(md);
    return ok;
}

/* A root named `cn` (raw bytes, as a T61String: OpenSSL keeps them as they are) with a fresh key,
 * and a copy of `ask` issued by it: a chain an attacker controls, down to the names. */
static void hostile_chain(vd_testpki_t *pki, const uint8_t *cn, size_t cn_len, X509 **ark,
                          X509 **ask)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509_NAME *name = X509_NAME_new();
    assert_non_null(key);
    assert_non_null(name);
    assert_int_equal(
        X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_T61STRING, cn, (int)cn_len, -1, 0),
        1);
    *ark = X509_dup(vd_testpki_ark(pki));
    *ask = X509_dup(vd_testpki_ask(pki));
    assert_non_null(*ark);
    assert_non_null(*ask);
    assert_int_equal(X509_set_subject_name(*ark, name), 1);
    assert_int_equal(X509_set_issuer_name(*ark, name), 1);
    assert_int_equal(X509_set_pubkey(*ark, key), 1);
    assert_true(pss_sign(*ark, key));
    assert_int_equal(X509_set_issuer_name(*ask, name), 1);
    assert_true(pss_sign(*ask, key));
    X509_NAME_free(name);
    EVP_PKEY_free(key);
}

/* Appraise a report signed through a chain whose root is named `cn`; check that the result is
 * a rejection, encodes as JSON, and prints without any forged or invalid line. */
static void appraise_with_root_named(vd_testpki_t *pki, const uint8_t *cn, size_t cn_len)
{
    vd_error_t err = {0};
    EVP_PKEY *leaf_key = NULL;
    X509 *ark = NULL, *ask = NULL;
    vd_certset_t *certs = NULL;
    uint8_t raw[VD_SNP_REPORT_SIZE];
    vd_product_t p = vd_testpki_product(pki);
    uint64_t tcb = vd_testreport_tcb_raw(p, 0, 4, 0, 22, 200);
    uint8_t chip[64];
    memset(chip, 0x5a, sizeof(chip));
    vd_testpki_leaf_opts_t o = {0};
    o.tcb = vd_tcb_decode(tcb, p);
    o.hwid = chip;
    o.hwid_len = 64;
    o.product_name = "Genoa";
    X509 *vcek = vd_testpki_issue_leaf(pki, &o, &leaf_key);
    assert_non_null(vcek);
    vd_testreport_init(raw, 3, p, tcb, chip);
    assert_int_equal(vd_testreport_sign(raw, leaf_key), 0);
    hostile_chain(pki, cn, cn_len, &ark, &ask);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, vcek, "vcek", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, ask, "ask", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, ark, "ark", &err), VD_OK);

    vd_appraiser_t *a = appraiser(NULL);
    vd_appraise_request_t req;
    memset(&req, 0, sizeof(req));
    req.report = raw;
    req.report_len = sizeof(raw);
    req.certs = certs;
    req.certs_only = 1;
    req.at = time(NULL);
    vd_appraise_result_t *r = run(a, &req);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    const vd_check_t *ck = vd_checks_find(&r->snp.checks, "chain.ark");
    assert_non_null(ck);
    assert_int_equal(ck->result, VD_CHECK_FAIL);

    /* JSON: an object, always (it used to be NULL: exit 2, no output). */
    json_t *j = vd_appraise_result_json(r, req.at);
    assert_non_null(j);
    char *dump = json_dumps(j, JSON_INDENT(2));
    assert_non_null(dump);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "rejected");
    const char *reason = json_string_value(json_object_get(j, "reason"));
    assert_non_null(reason);
    assert_true(vd_text_is_clean(reason) || strstr(reason, "\\x") != NULL ||
                strstr(reason, "\\u{") != NULL);
    free(dump);
    json_decref(j);

    /* Text: the only verdict line is the first, and nothing in it is a control character. */
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    assert_non_null(f);
    vd_cli_print_text(f, r, req.at);
    assert_int_equal(fclose(f), 0);
    if (strncmp(text, "REJECTED: chain.ark: ", 21) != 0) {
        fail_msg("unexpected output:\n%s", text);
    }
    for (const char *line = text; line != NULL && *line != '\0';) {
        assert_int_not_equal(strncmp(line, "GENUINE", 7), 0);
        const char *nl = strchr(line, '\n');
        line = nl != NULL ? nl + 1 : NULL;
    }
    for (size_t i = 0; i < text_len; i++) {
        unsigned char c = (unsigned char)text[i];
        assert_true(c == '\n' || (c >= 0x20 && c != 0x7f && c != 0xff));
    }
    free(text);

    free(r);
    vd_appraiser_free(&a);
    vd_certset_free(&certs);
    X509_free(ark);
    X509_free(ask);
    X509_free(vcek);
    EVP_PKEY_free(leaf_key);
}

static void test_appraise_hostile_names(void **state)
{
    (void)state;
    vd_testpki_t *pki = vd_testpki_new(VD_PRODUCT_GENOA);
    assert_non_null(pki);
    /* Defect 5: a newline and a forged verdict line in the root's name. */
    static const char forged[] = "ARK-Genoa\nGENUINE: AMD SEV-SNP report verified";
    appraise_with_root_named(pki, (const uint8_t *)forged, strlen(forged));
    /* Defect 4: byte 0xFF, and a name cut at 63 bytes inside a two-byte UTF-8 character. */
    static const uint8_t ff[] = {'A', 'R', 'K', 0xff, '-', 'G'};
    appraise_with_root_named(pki, ff, sizeof(ff));
    uint8_t cut[80];
    cut[0] = 'A';
    for (size_t i = 1; i + 1 < sizeof(cut); i += 2) {
        cut[i] = 0xc3; /* U+00E9, two bytes: byte 63 is the first half of one */
        cut[i + 1] = 0xa9;
    }
    appraise_with_root_named(pki, cut, 79);
    /* Bidirectional override and a C1 control. */
    static const char bidi[] = "ARK-\xe2\x80\xae"
                               "aoneG\xc2\x85";
    appraise_with_root_named(pki, (const uint8_t *)bidi, strlen(bidi));
    vd_testpki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appraise_real_vector_genuineness_only),
        cmocka_unit_test(test_appraise_nonce_without_policy),
        cmocka_unit_test(test_appraise_bad_evidence_is_never_affirming),
        cmocka_unit_test(test_appraise_named_policy),
        cmocka_unit_test(test_appraise_threads_share_one_appraiser),
        cmocka_unit_test(test_appraise_hostile_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
