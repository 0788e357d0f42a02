/*
 * Result-signing keys: generation, PEM in and out, JWS signatures (see include/verdict/signkey.h).
 * Pure except vd_signkey_load/save/load_or_create, which go through keyfile.c.
 *
 * Signing is on the hot path of every appraisal and runs on many worker threads at once: the
 * digest (EVP_MD) is fetched once when the key is made, the EVP_PKEY is shared read-only (safe
 * in OpenSSL 3), and each signature gets its own EVP_MD_CTX. ECDSA signatures come out of
 * OpenSSL as DER ECDSA-Sig-Value and are converted to JWS R||S (RFC 7518 section 3.4).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "ear_internal.h"

#define PEM_MAX (64 * 1024)

struct vd_signkey {
    atomic_int refs;
    vd_sigalg_t alg;
    EVP_PKEY *pkey;
    EVP_MD *md; /* NULL for Ed25519 (PureEdDSA takes the message itself) */
    /* ECDSA: a context initialised for signing once; each signature signs with a copy of it.
     * EVP_DigestSignInit looks the signature algorithm up in the provider every time (OpenSSL
     * 3.0); a copy does not. Only read after wrap(), so threads copy it concurrently. */
    EVP_MD_CTX *sign_tmpl;
    char kid[VD_KID_MAX];
    json_t *jwk; /* public, with kid; never handed out (callers get copies) */
};

const char *vd_sigalg_name(vd_sigalg_t alg)
{
    switch (alg) {
    case VD_SIGALG_ES256:
        return "ES256";
    case VD_SIGALG_ES384:
        return "ES384";
    case VD_SIGALG_EDDSA:
        return "EdDSA";
    }
    return "unknown";
}

int vd_sigalg_from_name(const char *name, vd_sigalg_t *out)
{
    static const vd_sigalg_t all[] = {VD_SIGALG_ES256, VD_SIGALG_ES384, VD_SIGALG_EDDSA};
    for (size_t i = 0; name != NULL && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, vd_sigalg_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -1;
}

size_t vd_sigalg_sig_len(vd_sigalg_t alg)
{
    return alg == VD_SIGALG_ES384 ? 96 : 64;
}

static size_t coord_len(vd_sigalg_t alg)
{
    return alg == VD_SIGALG_ES384 ? 48 : 32;
}

/* The algorithm a private key can sign with, from its type and curve. */
static int alg_of_pkey(EVP_PKEY *pkey, vd_sigalg_t *alg)
{
    char group[64];
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *alg = VD_SIGALG_EDDSA;
        return 0;
    }
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1) {
        return -1;
    }
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(group);
    }
    if (nid == NID_X9_62_prime256v1) {
        *alg = VD_SIGALG_ES256;
        return 0;
    }
    if (nid == NID_secp384r1) {
        *alg = VD_SIGALG_ES384;
        return 0;
    }
    return -1;
}

/* Take ownership of `pkey` (freed on failure too) and build the key object around it. */
static vd_err_t wrap(EVP_PKEY *pkey, vd_sigalg_t alg, vd_signkey_t **out, vd_error_t *err)
{
    static const uint8_t probe[] = "verdict signing key self-test";
    vd_err_t rc = VD_OK;
    uint8_t sig[VD_SIG_MAX];
    size_t sig_len = 0;
    vd_signkey_t *k = calloc(1, sizeof *k);
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return VD_ERR(err, VD_E_NOMEM, "signing key: out of memory");
    }
    atomic_init(&k->refs, 1);
    k->alg = alg;
    k->pkey = pkey;
    if (alg != VD_SIGALG_EDDSA) {
        k->md = EVP_MD_fetch(NULL, alg == VD_SIGALG_ES384 ? "SHA384" : "SHA256", NULL);
        if (k->md == NULL) {
            rc = VD_ERR(err, VD_E_INTERNAL, "signing key: no SHA-2 digest available");
            vd_error_add_openssl(err);
            goto out;
        }
        k->sign_tmpl = EVP_MD_CTX_new();
        if (k->sign_tmpl == NULL ||
            EVP_DigestSignInit(k->sign_tmpl, NULL, k->md, NULL, k->pkey) != 1) {
            rc = VD_ERR(err, VD_E_INTERNAL, "signing key: cannot set up %s signing",
                        vd_sigalg_name(alg));
            vd_error_add_openssl(err);
            goto out;
        }
    }
    k->jwk = vd_ear__jwk_from_pkey(pkey, alg, err);
    if (k->jwk == NULL) {
        rc = err != NULL && err->code != VD_OK ? err->code : VD_E_NOMEM;
        goto out;
    }
    rc = vd_jwk_thumbprint(k->jwk, k->kid, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (json_object_set_new(k->jwk, "kid", json_string(k->kid)) != 0) {
        rc = VD_ERR(err, VD_E_NOMEM, "signing key: out of memory");
        goto out;
    }
    /* A key whose private and public halves disagree (a damaged file) would sign tokens nobody
     * can verify: catch it now with one signature checked against the published JWK's key. */
    rc = vd_signkey_sign(k, probe, sizeof probe, sig, &sig_len, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (vd_ear__jws_verify_sig(pkey, alg, probe, sizeof probe, sig, sig_len) != 1) {
        rc = VD_ERR(err, VD_E_MALFORMED,
                    "signing key: its public key does not verify its own "
                    "signature (damaged key)");
        goto out;
    }
    *out = k;
    k = NULL;
out:
    vd_signkey_free(&k);
    return rc;
}

vd_err_t vd_signkey_generate(vd_sigalg_t alg, vd_signkey_t **out, vd_error_t *err)
{
    EVP_PKEY *pkey = NULL;
    *out = NULL;
    switch (alg) {
    case VD_SIGALG_ES256:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case VD_SIGALG_ES384:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case VD_SIGALG_EDDSA:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    default:
        return VD_ERR(err, VD_E_UNSUPPORTED, "signing key: unknown algorithm %d", (int)alg);
    }
    if (pkey == NULL) {
        VD_ERR(err, VD_E_INTERNAL, "signing key: %s key generation failed", vd_sigalg_name(alg));
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    return wrap(pkey, alg, out, err);
}

/* Never prompt for a passphrase: an encrypted key file is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

vd_err_t vd_signkey_from_pem(const char *pem, size_t len, vd_signkey_t **out, vd_error_t *err)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    vd_sigalg_t alg = VD_SIGALG_ES256;
    *out = NULL;
    if (len == 0 || len > PEM_MAX) {
        return VD_ERR(err, VD_E_MALFORMED, "signing key: PEM of %zu bytes (1..%d accepted)", len,
                      PEM_MAX);
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "signing key: out of memory");
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        VD_ERR(err, VD_E_MALFORMED,
               "signing key: no unencrypted PEM private key (PKCS#8 or EC) found");
        vd_error_add_openssl(err);
        return VD_E_MALFORMED;
    }
    if (alg_of_pkey(pkey, &alg) != 0) {
        EVP_PKEY_free(pkey);
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "signing key: only EC P-256 (ES256), P-384 (ES384) and Ed25519 (EdDSA) "
                      "keys can sign results");
    }
    return wrap(pkey, alg, out, err);
}

vd_err_t vd_signkey_to_pem(const vd_signkey_t *k, char **pem, size_t *len, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    BUF_MEM *mem = NULL;
    /* Secure-heap BIO: the buffer holding the private key is cleansed when freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    *pem = NULL;
    *len = 0;
    if (bio == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "signing key: out of memory");
    }
    if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
        rc = VD_ERR(err, VD_E_INTERNAL, "signing key: cannot encode PKCS#8 PEM");
        vd_error_add_openssl(err);
        goto out;
    }
    *pem = malloc(mem->length + 1);
    if (*pem == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "signing key: out of memory");
        goto out;
    }
    memcpy(*pem, mem->data, mem->length);
    (*pem)[mem->length] = '\0';
    *len = mem->length;
out:
    BIO_free(bio);
    return rc;
}

void vd_signkey_pem_free(char *pem, size_t len)
{
    vd_ear__free_secret(pem, len);
}

vd_err_t vd_signkey_load(const char *path, vd_signkey_t **out, vd_error_t *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    vd_err_t rc;
    *out = NULL;
    rc = vd_ear__read_file(path, PEM_MAX, &buf, &len, NULL, err);
    if (rc == VD_OK) {
        rc = vd_signkey_from_pem((const char *)buf, len, out, err);
    }
    vd_ear__free_secret(buf, len);
    return rc;
}

vd_err_t vd_signkey_save(const vd_signkey_t *k, const char *path, vd_error_t *err)
{
    char *pem = NULL;
    size_t len = 0;
    vd_err_t rc = vd_signkey_to_pem(k, &pem, &len, err);
    if (rc == VD_OK) {
        rc = vd_ear__write_file_atomic(path, pem, len, 0, NULL, err);
    }
    vd_signkey_pem_free(pem, len);
    return rc;
}

vd_err_t vd_signkey_load_or_create(const char *path, vd_sigalg_t alg, vd_signkey_t **out,
                                   int *created, vd_error_t *err)
{
    vd_error_t local = {0};
    vd_signkey_t *k = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int missing = 0, exists = 0;
    vd_err_t rc;
    *out = NULL;
    if (created != NULL) {
        *created = 0;
    }
    rc = vd_ear__read_file(path, PEM_MAX, &buf, &len, &missing, &local);
    if (rc == VD_OK) {
        rc = vd_signkey_from_pem((const char *)buf, len, out, err);
        vd_ear__free_secret(buf, len);
        return rc;
    }
    if (!missing) {
        return VD_ERR(err, local.code, "%s", local.msg);
    }
    rc = vd_signkey_generate(alg, &k, err);
    if (rc != VD_OK) {
        return rc;
    }
    vd_error_clear(&local);
    char *pem = NULL;
    rc = vd_signkey_to_pem(k, &pem, &len, err);
    if (rc == VD_OK) {
        rc = vd_ear__write_file_atomic(path, pem, len, 0, &exists, &local);
    }
    vd_signkey_pem_free(pem, len);
    if (rc != VD_OK && exists) {
        /* Another process created it first: use that one, so both agree. */
        vd_signkey_free(&k);
        return vd_signkey_load(path, out, err);
    }
    if (rc != VD_OK) {
        vd_signkey_free(&k);
        return local.code != VD_OK ? VD_ERR(err, local.code, "%s", local.msg) : rc;
    }
    if (created != NULL) {
        *created = 1;
    }
    *out = k;
    return VD_OK;
}

vd_signkey_t *vd_signkey_ref(vd_signkey_t *k)
{
    atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    return k;
}

void vd_signkey_free(vd_signkey_t **pp)
{
    vd_signkey_t *k = pp != NULL ? *pp : NULL;
    if (k == NULL) {
        return;
    }
    *pp = NULL;
    if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    EVP_PKEY_free(k->pkey); /* OpenSSL cleanses private key material on free */
    EVP_MD_free(k->md);
    EVP_MD_CTX_free(k->sign_tmpl);
    json_decref(k->jwk);
    free(k);
}

vd_sigalg_t vd_signkey_alg(const vd_signkey_t *k)
{
    return k->alg;
}

const char *vd_signkey_kid(const vd_signkey_t *k)
{
    return k->kid;
}

json_t *vd_signkey_jwk(const vd_signkey_t *k)
{
    return json_deep_copy(k->jwk);
}

EVP_PKEY *vd_ear__signkey_pkey(const vd_signkey_t *k)
{
    return k->pkey;
}

vd_err_t vd_signkey_sign(const vd_signkey_t *k, const uint8_t *msg, size_t len,
                         uint8_t sig[VD_SIG_MAX], size_t *sig_len, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    uint8_t der[160];
    size_t der_len = sizeof der;
    ECDSA_SIG *es = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    *sig_len = 0;
    if (ctx == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "sign: out of memory");
    }
    int ready;
    if (k->sign_tmpl != NULL) {
        ready = EVP_MD_CTX_copy_ex(ctx, k->sign_tmpl) == 1;
        /* The one signature made with this copy may consume it (no copy of the copy). */
        EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
    } else {
        ready = EVP_DigestSignInit(ctx, NULL, k->md, NULL, k->pkey) == 1;
    }
    if (!ready || EVP_DigestSign(ctx, der, &der_len, msg, len) != 1) {
        rc = VD_ERR(err, VD_E_INTERNAL, "sign: %s signature failed", vd_sigalg_name(k->alg));
        vd_error_add_openssl(err);
        goto out;
    }
    if (k->alg == VD_SIGALG_EDDSA) {
        if (der_len != 64) {
            rc = VD_ERR(err, VD_E_INTERNAL, "sign: Ed25519 signature of %zu bytes", der_len);
            goto out;
        }
        memcpy(sig, der, 64);
        *sig_len = 64;
        goto out;
    }
    const uint8_t *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    int n = (int)coord_len(k->alg);
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL) {
        rc = VD_ERR(err, VD_E_INTERNAL, "sign: ECDSA signature does not decode");
        vd_error_add_openssl(err);
        goto out;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, n) != n || BN_bn2binpad(s, sig + n, n) != n) {
        rc = VD_ERR(err, VD_E_INTERNAL, "sign: ECDSA r or s too long");
        goto out;
    }
    *sig_len = 2 * (size_t)n;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    return rc;
}

int vd_ear__jws_verify_sig(EVP_PKEY *pkey, vd_sigalg_t alg, const uint8_t *msg, size_t len,
                           const uint8_t *sig, size_t sig_len)
{
    int ok = -1;
    const uint8_t *vsig = sig;
    size_t vsig_len = sig_len;
    uint8_t *der = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    EVP_MD_CTX *ctx = NULL;
    EVP_MD *md = NULL;
    if (sig_len != vd_sigalg_sig_len(alg)) {
        return 0;
    }
    if (alg != VD_SIGALG_EDDSA) {
        int n = (int)coord_len(alg), der_len;
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, n, NULL);
        s = BN_bin2bn(sig + n, n, NULL);
        if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
            goto out;
        }
        r = s = NULL; /* owned by es */
        der_len = i2d_ECDSA_SIG(es, &der);
        if (der_len <= 0) {
            goto out;
        }
        vsig = der;
        vsig_len = (size_t)der_len;
        md = EVP_MD_fetch(NULL, alg == VD_SIGALG_ES384 ? "SHA384" : "SHA256", NULL);
        if (md == NULL) {
            goto out;
        }
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1) {
        goto out;
    }
    ok = EVP_DigestVerify(ctx, vsig, vsig_len, msg, len) == 1 ? 1 : 0;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    return ok;
}
