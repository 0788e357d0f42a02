/*
 * libFuzzer target: the whole verification core on evidence as a guest hands it over. The
 * input is a 1184-byte report followed by an extended-report cert table; vd_snp_verify gets
 * both (cert table parsing, certificate parsing, product, chain and binding logic together).
 * Inputs shorter than a report are verified as a report without a table.
 *
 * So that mutations can reach the trusted-root branches too, every self-issued certificate in
 * the table's ARK and ASK entries is also configured as an extra trust anchor (as an operator
 * would with --extra-roots for a test PKI); the seeds in corpus/verify are synthetic chains that
 * verify as genuine that way.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "verdict/certset.h"
#include "verdict/certtable.h"
#include "verdict/trust.h"
#include "verdict/verify.h"

#define FUZZ_AT ((time_t)1748736000) /* 2025-06-01T00:00:00Z, see make_seeds.py */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vd_snp_result_t *result; /* large: keep it off the stack */

/* Extra anchors: self-issued certificates from the table's ARK and ASK entries. */
static void add_table_roots(vd_trust_t *trust, const uint8_t *table, size_t len)
{
    vd_certtable_t t;
    vd_certset_t *set = NULL;
    vd_error_t err = {0};
    if (vd_certtable_parse(table, len, &t, &err) != VD_OK || vd_certset_new(&set, &err) != VD_OK) {
        return;
    }
    for (size_t i = 0; i < t.count; i++) {
        if (t.entries[i].kind == VD_CERTTABLE_ARK || t.entries[i].kind == VD_CERTTABLE_ASK) {
            vd_error_t e = {0};
            (void)vd_certset_add_blob(set, t.entries[i].data, t.entries[i].len, "root", &e);
        }
    }
    for (size_t i = 0; i < vd_certset_count(set); i++) {
        X509 *x = vd_certset_get(set, i);
        if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0) {
            vd_error_t e = {0};
            (void)vd_trust_add_extra(trust, x, &e);
        }
    }
    vd_certset_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    vd_snp_input_t in;

    if (result == NULL) {
        result = malloc(sizeof(*result));
        if (result == NULL) {
            abort();
        }
    }
    if (vd_trust_new(&trust, &err) != VD_OK) {
        abort();
    }
    memset(&in, 0, sizeof(in));
    in.report = data;
    in.report_len = size < VD_SNP_REPORT_SIZE ? size : VD_SNP_REPORT_SIZE;
    if (size >= VD_SNP_REPORT_SIZE) {
        in.cert_table = data + VD_SNP_REPORT_SIZE; /* non-NULL even when empty */
        in.cert_table_len = size - VD_SNP_REPORT_SIZE;
        add_table_roots(trust, in.cert_table, in.cert_table_len);
    }
    in.trust = trust;
    in.at = FUZZ_AT;

    if (vd_snp_verify(&in, result, &err) != VD_OK) {
        abort(); /* only VD_E_NOMEM / VD_E_INTERNAL may fail, neither can happen here */
    }
    /* A genuine verdict needs every check to pass or skip, and a signature that verified. */
    if (result->status == VD_SNP_GENUINE) {
        const vd_check_t *sig = vd_checks_find(&result->checks, "report.signature");
        if (vd_checks_count(&result->checks, VD_CHECK_FAIL) != 0 || sig == NULL ||
            sig->result != VD_CHECK_PASS || result->missing[0] != '\0') {
            abort();
        }
    }
    vd_trust_free(&trust);
    ERR_clear_error();
    return 0;
}
