/*
 * The attester side of the configfs-tsm envelope (see include/verdict/evidence.h): the
 * REPORT_DATA a guest writes to `inblob`, and the envelope built from what the kernel returned.
 * Pure: `verdict evidence collect` (verifier/cli/evidence_cmd.c) does the configfs I/O.
 *
 * The modes compute what policies/binding.c compares; tests/unit/test_evidence_collect.c checks
 * each against the verifier (vd_appraise on a report signed with the bytes built here).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"

int vd_rdata_mode_from_name(const char *name, vd_rdata_mode_t *out)
{
    static const struct {
        const char *name;
        vd_rdata_mode_t mode;
    } modes[] = {
        {"raw", VD_RDATA_RAW},
        {"sha512", VD_RDATA_SHA512},
        {"sha256-prefix", VD_RDATA_SHA256_PREFIX},
    };
    for (size_t i = 0; name != NULL && i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(name, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    }
    return -1;
}

static int digest2(const EVP_MD *md, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
             (alen == 0 || EVP_DigestUpdate(ctx, a, alen) == 1) &&
             (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
             EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

vd_err_t vd_evidence_report_data(vd_rdata_mode_t mode, const uint8_t *nonce, size_t nonce_len,
                                 const uint8_t *runtime_data, size_t runtime_data_len,
                                 uint8_t out[VD_REPORT_DATA_LEN], vd_error_t *err)
{
    size_t nl = nonce != NULL ? nonce_len : 0, dl = runtime_data != NULL ? runtime_data_len : 0;
    uint8_t md[64];
    memset(out, 0, VD_REPORT_DATA_LEN);
    switch (mode) {
    case VD_RDATA_RAW:
        if (nl > VD_REPORT_DATA_LEN || dl > VD_REPORT_DATA_LEN - nl) {
            return VD_ERR(err, VD_E_TOO_LARGE,
                          "raw binding: the nonce and runtime data are %zu bytes, REPORT_DATA "
                          "holds %d (use --binding sha512)",
                          nl + dl, VD_REPORT_DATA_LEN);
        }
        if (nl > 0) {
            memcpy(out, nonce, nl);
        }
        if (dl > 0) {
            memcpy(out + nl, runtime_data, dl);
        }
        return VD_OK;
    case VD_RDATA_SHA512:
        if (!digest2(EVP_sha512(), nonce, nl, runtime_data, dl, md)) {
            return VD_ERR(err, VD_E_INTERNAL, "SHA-512 of the nonce and runtime data failed");
        }
        memcpy(out, md, 64);
        return VD_OK;
    case VD_RDATA_SHA256_PREFIX:
        if (!digest2(EVP_sha256(), nonce, nl, runtime_data, dl, md)) {
            return VD_ERR(err, VD_E_INTERNAL, "SHA-256 of the nonce and runtime data failed");
        }
        memcpy(out, md, 32);
        return VD_OK;
    }
    return VD_ERR(err, VD_E_INTERNAL, "unknown REPORT_DATA binding %d", (int)mode);
}

/* Base64 (standard, padded) of `len` bytes as a new JSON string; NULL when out of memory. */
static json_t *b64_string(const uint8_t *p, size_t len)
{
    size_t n = vd_base64_encoded_len(len, VD_B64_STD_PAD);
    char *s = malloc(n + 1);
    if (s == NULL) {
        return NULL;
    }
    json_t *j = vd_base64_encode(p, len, VD_B64_STD_PAD, s, n + 1) == n ? json_string(s) : NULL;
    free(s);
    return j;
}

vd_err_t vd_evidence_tsm_build(const char *provider, const uint8_t *outblob, size_t outblob_len,
                               const uint8_t *auxblob, size_t auxblob_len,
                               const uint8_t report_data[VD_REPORT_DATA_LEN], char **json,
                               vd_error_t *err)
{
    *json = NULL;
    size_t pl = provider != NULL ? strlen(provider) : 0;
    if (pl > 0 && provider[pl - 1] == '\n') {
        pl--; /* configfs attributes end with a newline */
    }
    if (pl != 9 || strncmp(provider, "sev_guest", 9) != 0) {
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "the configfs-tsm provider is \"%.*s\", not sev_guest (AMD SEV-SNP): "
                      "verdict verifies SEV-SNP evidence only",
                      (int)(pl > 32 ? 32 : pl), provider != NULL ? provider : "");
    }
    if (outblob_len > VD_EVIDENCE_MAX_BYTES || auxblob_len > VD_EVIDENCE_MAX_BYTES) {
        return VD_ERR(err, VD_E_TOO_LARGE, "outblob or auxblob larger than %d bytes",
                      VD_EVIDENCE_MAX_BYTES);
    }
    if (outblob == NULL || outblob_len < VD_REPORT_DATA_OFFSET + VD_REPORT_DATA_LEN) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "outblob is %zu bytes, too short for an SEV-SNP report (1184)", outblob_len);
    }
    if (memcmp(outblob + VD_REPORT_DATA_OFFSET, report_data, VD_REPORT_DATA_LEN) != 0) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "the report's REPORT_DATA is not what was written to inblob: another "
                      "process wrote to this report entry; collect again");
    }
    json_t *doc = json_object();
    json_t *out = b64_string(outblob, outblob_len);
    json_t *aux = auxblob_len > 0 && auxblob != NULL ? b64_string(auxblob, auxblob_len) : NULL;
    int ok = doc != NULL && out != NULL && (auxblob_len == 0 || aux != NULL) &&
             json_object_set_new(doc, "provider", json_string("sev_guest")) == 0 &&
             json_object_set(doc, "outblob", out) == 0 &&
             (aux == NULL || json_object_set(doc, "auxblob", aux) == 0);
    json_decref(out);
    json_decref(aux);
    if (ok) {
        *json = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(doc);
    if (*json == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory building the envelope");
    }
    return VD_OK;
}
