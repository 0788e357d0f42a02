/*
 * How a verdict challenge (and the caller's runtime data) is bound in a vTPM quote's
 * qualifying data, within Azure's 50-byte limit (vtpm.h, "binding a verdict challenge").
 */
#include <openssl/evp.h>

#include "verdict/vtpm.h"

const char *vd_vtpm_binding_str(vd_vtpm_binding_t b)
{
    return b == VD_VTPM_BIND_SHA384 ? "sha384" : "exact";
}

vd_err_t vd_vtpm_challenge_binding(const uint8_t *nonce, size_t nonce_len,
                                   const uint8_t *runtime_data, size_t runtime_data_len,
                                   uint8_t out[VD_VTPM_CHALLENGE_BIND_LEN], vd_error_t *err)
{
    if (nonce == NULL || nonce_len == 0) {
        return VD_ERR(err, VD_E_MALFORMED, "a challenge binding needs the challenge");
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha384(), NULL) == 1 &&
             EVP_DigestUpdate(md, nonce, nonce_len) == 1 &&
             (runtime_data == NULL || runtime_data_len == 0 ||
              EVP_DigestUpdate(md, runtime_data, runtime_data_len) == 1) &&
             EVP_DigestFinal_ex(md, out, &n) == 1 && n == VD_VTPM_CHALLENGE_BIND_LEN;
    EVP_MD_CTX_free(md);
    return ok ? VD_OK : VD_ERR(err, VD_E_INTERNAL, "SHA-384 failed");
}
