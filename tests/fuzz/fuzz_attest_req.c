/*
 * libFuzzer target: the body of POST /v1/attest (verifier/api/attest_req.c). The input is parsed
 * the way the API parses a body (jansson, duplicates refused), then vd_attest_req_decode decodes
 * it twice: as /v1/attest (no extra members) and as a policy dry run (one extra member allowed).
 * Aborts if a refusal has no message, a decoded request has no report or a member over its
 * bound, or a string member is not the NUL-free text it claims to be.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verdict/appraise.h"
#include "verdict/evidence.h"
#include "attest_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(json_t *doc, const char *const *extra)
{
    vd_attest_req_t req;
    vd_error_t err = {0};
    if (vd_attest_req_decode(doc, extra, &req, &err) != VD_OK) {
        if (err.msg[0] == '\0') {
            abort();
        }
        vd_attest_req_free(&req);
        return;
    }
    if (req.report == NULL || req.report_len > VD_EVIDENCE_MAX_BYTES) {
        abort();
    }
    if (req.cert_table == NULL && req.cert_table_len != 0) {
        abort();
    }
    if (req.nonce != NULL && (req.nonce_len == 0 || req.nonce_len > VD_APPRAISE_NONCE_MAX)) {
        abort();
    }
    if (req.runtime_data != NULL && req.runtime_data_len > VD_APPRAISE_RUNTIME_MAX) {
        abort();
    }
    if ((req.challenge != NULL && (req.challenge[0] == '\0' || strlen(req.challenge) > 256)) ||
        (req.policy != NULL && (req.policy[0] == '\0' || strlen(req.policy) > 256))) {
        abort();
    }
    vd_attest_req_free(&req);
    if (req.report != NULL || req.certs != NULL) { /* free clears the struct */
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const extra[] = {"input", NULL};
    json_error_t jerr;
    if (size > 512 * 1024) {
        return 0; /* the server's body_max is far below */
    }
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        return 0;
    }
    check(doc, NULL);
    check(doc, extra);
    json_decref(doc);
    return 0;
}
