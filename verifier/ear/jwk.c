/*
 * Public JWKs (RFC 7517, RFC 7518 section 6.2 for EC, RFC 8037 for Ed25519), their RFC 7638
 * thumbprints, and the reverse: a JWK from a JWKS (untrusted input) turned into a public key
 * with the single algorithm it may verify. Pure.
 *
 * Thumbprint (RFC 7638 section 3): SHA-256 over the required members only, in lexicographic
 * order, no white space: {"crv","kty","x","y"} (EC), {"crv","kty","x"} (OKP, RFC 8037 section
 * 2), {"e","kty","n"} (RSA). The member values are JWK strings (base64url, no escapes needed),
 * but they are written with jansson's escaping anyway so that a hostile value cannot break out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "verdict/base64.h"
#include "ear_internal.h"

char *vd_ear__b64url(const uint8_t *p, size_t len)
{
    size_t n = vd_base64_encoded_len(len, VD_B64_URL_NOPAD) + 1;
    char *s = malloc(n);
    if (s != NULL && vd_base64_encode(p, len, VD_B64_URL_NOPAD, s, n) == (size_t)-1) {
        free(s);
        s = NULL;
    }
    return s;
}

int vd_ear__b64url_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok) {
            return -1; /* padding, '+', '/', white space: not JWS base64url */
        }
    }
    uint8_t *b = malloc(vd_base64_decoded_max(len) + 1);
    if (b == NULL) {
        return -1;
    }
    if (vd_base64_decode(s, len, b, out_len) != 0) {
        free(b);
        *out_len = 0;
        return -1;
    }
    *out = b;
    return 0;
}

/* Curve facts per algorithm. */
typedef struct alg_info {
    vd_sigalg_t alg;
    const char *kty;
    const char *crv;
    const char *group; /* OpenSSL group name; NULL for Ed25519 */
    size_t coord_len;
} alg_info_t;

static const alg_info_t algs[] = {
    {VD_SIGALG_ES256, "EC", "P-256", SN_X9_62_prime256v1, 32},
    {VD_SIGALG_ES384, "EC", "P-384", SN_secp384r1, 48},
    {VD_SIGALG_EDDSA, "OKP", "Ed25519", NULL, 32},
};

static const alg_info_t *info_for(vd_sigalg_t alg)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        if (algs[i].alg == alg) {
            return &algs[i];
        }
    }
    return NULL;
}

static int set_b64(json_t *o, const char *key, const uint8_t *p, size_t len)
{
    char *s = vd_ear__b64url(p, len);
    int rc = s == NULL ? -1 : json_object_set_new(o, key, json_string(s));
    free(s);
    return rc;
}

json_t *vd_ear__jwk_from_pkey(EVP_PKEY *pkey, vd_sigalg_t alg, vd_error_t *err)
{
    const alg_info_t *ai = info_for(alg);
    json_t *jwk = json_object();
    BIGNUM *x = NULL, *y = NULL;
    uint8_t xb[48], yb[48];
    size_t xl = sizeof xb;
    if (jwk == NULL || ai == NULL) {
        VD_ERR(err, VD_E_NOMEM, "JWK: out of memory");
        goto fail;
    }
    if (json_object_set_new(jwk, "kty", json_string(ai->kty)) != 0 ||
        json_object_set_new(jwk, "crv", json_string(ai->crv)) != 0) {
        VD_ERR(err, VD_E_NOMEM, "JWK: out of memory");
        goto fail;
    }
    if (alg == VD_SIGALG_EDDSA) {
        if (EVP_PKEY_get_raw_public_key(pkey, xb, &xl) != 1 || xl != ai->coord_len) {
            VD_ERR(err, VD_E_INTERNAL, "JWK: cannot read the Ed25519 public key");
            vd_error_add_openssl(err);
            goto fail;
        }
        if (set_b64(jwk, "x", xb, xl) != 0) {
            VD_ERR(err, VD_E_NOMEM, "JWK: out of memory");
            goto fail;
        }
    } else {
        /* Coordinates as fixed-length big-endian, leading zeros kept (RFC 7518 6.2.1.2). */
        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
            EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
            BN_bn2binpad(x, xb, (int)ai->coord_len) < 0 ||
            BN_bn2binpad(y, yb, (int)ai->coord_len) < 0) {
            VD_ERR(err, VD_E_INTERNAL, "JWK: cannot read the EC public key");
            vd_error_add_openssl(err);
            goto fail;
        }
        if (set_b64(jwk, "x", xb, ai->coord_len) != 0 ||
            set_b64(jwk, "y", yb, ai->coord_len) != 0) {
            VD_ERR(err, VD_E_NOMEM, "JWK: out of memory");
            goto fail;
        }
    }
    if (json_object_set_new(jwk, "alg", json_string(vd_sigalg_name(alg))) != 0 ||
        json_object_set_new(jwk, "use", json_string("sig")) != 0) {
        VD_ERR(err, VD_E_NOMEM, "JWK: out of memory");
        goto fail;
    }
    BN_free(x);
    BN_free(y);
    return jwk;
fail:
    BN_free(x);
    BN_free(y);
    json_decref(jwk);
    return NULL;
}

/* The string member `key` of `o`, or NULL. */
static const char *member(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

vd_err_t vd_jwk_thumbprint(const json_t *jwk, char out[VD_KID_MAX], vd_error_t *err)
{
    static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
    static const char *const okp[] = {"crv", "kty", "x", NULL};
    static const char *const rsa[] = {"e", "kty", "n", NULL};
    const char *const *names = NULL;
    const char *kty = NULL;
    json_t *req = NULL;
    char *text = NULL;
    vd_err_t rc = VD_OK;
    uint8_t md[SHA256_DIGEST_LENGTH];
    out[0] = '\0';
    if (!json_is_object(jwk) || (kty = member(jwk, "kty")) == NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "JWK: no \"kty\" string");
    }
    if (strcmp(kty, "EC") == 0) {
        names = ec;
    } else if (strcmp(kty, "OKP") == 0) {
        names = okp;
    } else if (strcmp(kty, "RSA") == 0) {
        names = rsa;
    } else {
        return VD_ERR(err, VD_E_UNSUPPORTED, "JWK: key type \"%.16s\" not supported", kty);
    }
    req = json_object();
    if (req == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "JWK thumbprint: out of memory");
    }
    for (size_t i = 0; names[i] != NULL; i++) {
        const char *v = member(jwk, names[i]);
        if (v == NULL) {
            rc = VD_ERR(err, VD_E_MALFORMED, "JWK: no \"%s\" string", names[i]);
            goto out;
        }
        if (json_object_set_new(req, names[i], json_string(v)) != 0) {
            rc = VD_ERR(err, VD_E_NOMEM, "JWK thumbprint: out of memory");
            goto out;
        }
    }
    /* JSON_SORT_KEYS: lexicographic member order; the names are ASCII, so byte order is the
     * Unicode code point order RFC 7638 3.3 asks for. */
    text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "JWK thumbprint: out of memory");
        goto out;
    }
    SHA256((const uint8_t *)text, strlen(text), md);
    if (vd_base64_encode(md, sizeof md, VD_B64_URL_NOPAD, out, VD_KID_MAX) == (size_t)-1) {
        rc = VD_ERR(err, VD_E_INTERNAL, "JWK thumbprint: buffer too small");
    }
out:
    free(text);
    json_decref(req);
    return rc;
}

/* Decode the base64url member `key` into exactly `want` bytes. */
static int coord(const json_t *jwk, const char *key, size_t want, uint8_t *dst, char *why,
                 size_t why_size)
{
    const char *s = member(jwk, key);
    uint8_t *b = NULL;
    size_t n = 0;
    if (s == NULL) {
        snprintf(why, why_size, "JWK has no \"%s\" string", key);
        return -1;
    }
    if (vd_ear__b64url_decode(s, strlen(s), &b, &n) != 0 || n != want) {
        snprintf(why, why_size, "JWK \"%s\" is not base64url of %zu bytes", key, want);
        free(b);
        return -1;
    }
    memcpy(dst, b, n);
    free(b);
    return 0;
}

static EVP_PKEY *ec_public(const alg_info_t *ai, const uint8_t *x, const uint8_t *y)
{
    uint8_t point[1 + 2 * 48];
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM params[3];
    point[0] = 0x04; /* uncompressed: X || Y (SEC 1 2.3.3) */
    memcpy(point + 1, x, ai->coord_len);
    memcpy(point + 1 + ai->coord_len, y, ai->coord_len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)(uintptr_t)ai->group, 0);
    params[1] =
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * ai->coord_len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    /* fromdata decodes the point, which fails unless it lies on the curve. */
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

int vd_ear__jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, vd_sigalg_t *alg, char *why,
                        size_t why_size)
{
    const alg_info_t *ai = NULL;
    const char *kty, *crv, *alg_name, *use;
    const json_t *ops;
    uint8_t x[48], y[48];
    EVP_PKEY *pkey = NULL;
    *out = NULL;
    if (!json_is_object(jwk) || (kty = member(jwk, "kty")) == NULL ||
        (crv = member(jwk, "crv")) == NULL) {
        snprintf(why, why_size, "JWK has no \"kty\" and \"crv\" strings");
        return -1;
    }
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        if (strcmp(algs[i].kty, kty) == 0 && strcmp(algs[i].crv, crv) == 0) {
            ai = &algs[i];
        }
    }
    if (ai == NULL) {
        snprintf(why, why_size, "JWK key type %.16s/%.16s is not supported", kty, crv);
        return -1;
    }
    /* The algorithm is pinned by the key, never taken from the token (STYLE.md R7). */
    alg_name = member(jwk, "alg");
    if (json_object_get(jwk, "alg") != NULL &&
        (alg_name == NULL || strcmp(alg_name, vd_sigalg_name(ai->alg)) != 0)) {
        snprintf(why, why_size, "JWK alg %.16s does not fit its %s %s key",
                 alg_name != NULL ? alg_name : "(not a string)", kty, crv);
        return -1;
    }
    use = member(jwk, "use");
    if (json_object_get(jwk, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0)) {
        snprintf(why, why_size, "JWK \"use\" is not \"sig\"");
        return -1;
    }
    ops = json_object_get(jwk, "key_ops");
    if (ops != NULL) {
        int verify = 0;
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op)
        {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0) {
                verify = 1;
            }
        }
        if (!verify) {
            snprintf(why, why_size, "JWK \"key_ops\" does not allow \"verify\"");
            return -1;
        }
    }
    if (json_object_get(jwk, "d") != NULL) {
        snprintf(why, why_size, "JWK holds a private key (\"d\"): refusing a leaked key");
        return -1;
    }
    if (coord(jwk, "x", ai->coord_len, x, why, why_size) != 0) {
        return -1;
    }
    if (ai->alg == VD_SIGALG_EDDSA) {
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, ai->coord_len);
    } else {
        if (coord(jwk, "y", ai->coord_len, y, why, why_size) != 0) {
            return -1;
        }
        pkey = ec_public(ai, x, y);
    }
    if (pkey == NULL) {
        ERR_clear_error();
        snprintf(why, why_size, "JWK is not a valid %s public key", crv);
        return -1;
    }
    *out = pkey;
    *alg = ai->alg;
    return 0;
}
