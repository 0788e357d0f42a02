/*
 * REPORT_DATA binding modes (STANDARDS.md section 6):
 *   raw            nonce || runtime_data, at most 64 bytes, zero-padded, all 64 compared
 *   sha512         SHA-512(nonce || runtime_data), all 64 bytes
 *   sha384-jcs     Trustee: SHA-384 of the runtime data JSON in canonical form (RFC 8785, jcs.c),
 *                  then 16 zero bytes; a nonce, if given, must be the JSON's "nonce" member
 *                  (standard base64, as Trustee's KBS challenge sends it)
 *   sha256-prefix  SHA-256(nonce || runtime_data) in bytes 0..31 (Azure style); 32..63 ignored
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "verdict/evidence.h"
#include "binding.h"
#include "jcs.h"

static size_t len_of(const uint8_t *p, size_t n)
{
    return p != NULL ? n : 0;
}

static int check_jcs(const uint8_t report_data[64], const vd_policy_input_t *in, char *detail,
                     size_t n)
{
    int ok = 0;
    json_error_t jerr;
    char *canon = NULL;
    json_t *doc = NULL;
    uint8_t expect[64] = {0};
    if (in->runtime_data == NULL) {
        snprintf(detail, n, "sha384-jcs binding needs the runtime data JSON; none was supplied");
        goto out;
    }
    doc = json_loadb((const char *)in->runtime_data, in->runtime_data_len, JSON_REJECT_DUPLICATES,
                     &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        snprintf(detail, n, "runtime data is not a JSON object: %s",
                 doc == NULL ? jerr.text : "wrong type");
        goto out;
    }
    if (in->nonce != NULL) {
        char b64[4 * ((64 + 2) / 3) + 1];
        if (in->nonce_len > 64) {
            snprintf(detail, n, "nonce longer than 64 bytes");
            goto out;
        }
        EVP_EncodeBlock((unsigned char *)b64, in->nonce, (int)in->nonce_len);
        const char *got = json_string_value(json_object_get(doc, "nonce"));
        if (got == NULL || strcmp(got, b64) != 0) {
            snprintf(detail, n, "runtime data \"nonce\" is %s%s%s, expected \"%s\"",
                     got ? "\"" : "", got ? got : "absent", got ? "\"" : "", b64);
            goto out;
        }
    }
    size_t canon_len = 0;
    const char *why = NULL;
    canon = vd_jcs_serialize(doc, &canon_len, &why);
    if (canon == NULL) {
        snprintf(detail, n, "runtime data cannot be canonicalised: %s", why);
        goto out;
    }
    if (EVP_Digest(canon, canon_len, expect, NULL, EVP_sha384(), NULL) != 1) {
        snprintf(detail, n, "internal error hashing the runtime data");
        goto out;
    }
    ok = CRYPTO_memcmp(expect, report_data, 64) == 0;
    char hex[97];
    snprintf(detail, n, "REPORT_DATA %s SHA-384 of the canonical runtime data (%s) + 16 zero bytes",
             ok ? "equals" : "differs from", vd_hex_encode(expect, 48, hex, sizeof(hex)));
out:
    free(canon);
    json_decref(doc);
    return ok;
}

int vd_policy__binding_check(vd_binding_t mode, const uint8_t report_data[64],
                             const vd_policy_input_t *in, char *detail, size_t n)
{
    static const vd_policy_input_t empty = {0};
    uint8_t expect[64] = {0};
    char hex[129];
    if (in == NULL) {
        in = &empty;
    }
    size_t nl = len_of(in->nonce, in->nonce_len),
           dl = len_of(in->runtime_data, in->runtime_data_len);
    if (mode == VD_BIND_SHA384_JCS) {
        return check_jcs(report_data, in, detail, n);
    }
    if (nl + dl == 0) {
        snprintf(detail, n,
                 "the policy binds REPORT_DATA as %s, but no nonce or runtime data was "
                 "supplied to compare",
                 vd_policy__binding_name(mode));
        return 0;
    }
    /* The same rule the attester applies (verdict evidence collect): written once, in
     * vd_evidence_report_data. */
    vd_rdata_mode_t rmode;
    switch (mode) {
    case VD_BIND_RAW:
        if (nl + dl > 64) {
            snprintf(detail, n,
                     "raw binding: nonce and runtime data are %zu bytes, REPORT_DATA "
                     "holds 64",
                     nl + dl);
            return 0;
        }
        rmode = VD_RDATA_RAW;
        break;
    case VD_BIND_SHA512:
        rmode = VD_RDATA_SHA512;
        break;
    case VD_BIND_SHA256_PREFIX:
        rmode = VD_RDATA_SHA256_PREFIX;
        break;
    default:
        snprintf(detail, n, "binding mode not applicable");
        return 0;
    }
    vd_error_t e = {0};
    if (vd_evidence_report_data(rmode, in->nonce, nl, in->runtime_data, dl, expect, &e) != VD_OK) {
        snprintf(detail, n, "%s", e.msg);
        return 0;
    }
    size_t cmp = mode == VD_BIND_SHA256_PREFIX ? 32 : 64;
    int ok = CRYPTO_memcmp(expect, report_data, cmp) == 0;
    if (ok) {
        snprintf(detail, n, "REPORT_DATA%s binds the %s%s%s (%s)", cmp == 32 ? "[0..31]" : "",
                 nl ? "nonce" : "", nl && dl ? " and " : "", dl ? "runtime data" : "",
                 vd_policy__binding_name(mode));
    } else {
        char want[129];
        snprintf(detail, n, "REPORT_DATA%s %.*s... != expected %.*s... (%s of the %s%s%s)",
                 cmp == 32 ? "[0..31]" : "", 32, vd_hex_encode(report_data, cmp, hex, sizeof(hex)),
                 32, vd_hex_encode(expect, cmp, want, sizeof(want)), vd_policy__binding_name(mode),
                 nl ? "nonce" : "", nl && dl ? " and " : "", dl ? "runtime data" : "");
    }
    return ok;
}
