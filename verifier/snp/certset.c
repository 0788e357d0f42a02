/*
 * Candidate certificate bag (see include/verdict/certset.h).
 *
 * Trust boundary: blobs are untrusted. Parsing is bounded by VD_CERT_BLOB_MAX and the bag by
 * VD_CERTSET_MAX; DER must be exactly one certificate with no trailing bytes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "verdict/certset.h"

struct vd_certset {
    X509 *certs[VD_CERTSET_MAX];
    char origins[VD_CERTSET_MAX][VD_CERT_ORIGIN_MAX];
    size_t count;
};

vd_err_t vd_certset_new(vd_certset_t **out, vd_error_t *err)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "certificate set: out of memory");
    }
    return VD_OK;
}

void vd_certset_free(vd_certset_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    for (size_t i = 0; i < (*pp)->count; i++) {
        X509_free((*pp)->certs[i]);
    }
    free(*pp);
    *pp = NULL;
}

vd_err_t vd_certset_add_x509(vd_certset_t *s, X509 *x, const char *origin, vd_error_t *err)
{
    if (s->count >= VD_CERTSET_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "%s: more than %d certificates", origin, VD_CERTSET_MAX);
    }
    if (X509_up_ref(x) != 1) {
        return VD_ERR(err, VD_E_INTERNAL, "%s: X509_up_ref failed", origin);
    }
    s->certs[s->count] = x;
    snprintf(s->origins[s->count], VD_CERT_ORIGIN_MAX, "%s", origin);
    s->count++;
    return VD_OK;
}

static int looks_like_pem(const uint8_t *p, size_t len)
{
    static const char marker[] = "-----BEGIN";
    size_t m = sizeof(marker) - 1;
    for (size_t i = 0; len >= m && i <= len - m; i++) {
        if (memcmp(p + i, marker, m) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Parsed certificates by the SHA-256 of their DER bytes, shared by the whole process: relying
 * parties send the same chain with every request, and parsing it (DER, the RSA-4096 and P-384
 * public keys through OpenSSL's decoders) cost more than the appraisal's ECDSA verify. Only
 * bytes that parsed completely (no trailing bytes) are kept, so a hit gives exactly what
 * d2i_X509 would. Direct-mapped and bounded: a collision replaces the slot. The lock is held
 * only to compare a digest and take a reference, never while parsing. A parsed X509 is shared
 * read-only (certsets and the certificate cache already share them by reference).
 */
#define PARSED_SLOTS 1024

typedef struct parsed_slot {
    unsigned char digest[32];
    X509 *x;
} parsed_slot_t;

static parsed_slot_t parsed[PARSED_SLOTS];
static pthread_mutex_t parsed_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md; /* fetched once; NULL: no cache (parse every time) */

/* The cache lives as long as the process (reachable through `parsed`, so leak checkers do
 * not count it): freeing it at exit could race with a thread still appraising. */
static void init_cache(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The cache key of `p`: SHA-256 of a one-byte domain (D: DER bytes, P: a whole PEM blob), so
 * that the same bytes seen as DER and as PEM text never share a slot. 0: no key (no cache). */
static int cache_key(char domain, const uint8_t *p, size_t len, unsigned char d[32])
{
    unsigned int dl = 0;
    pthread_once(&sha256_once, init_cache);
    EVP_MD_CTX *ctx = sha256_md != NULL ? EVP_MD_CTX_new() : NULL;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, sha256_md, NULL) == 1 &&
             EVP_DigestUpdate(ctx, &domain, 1) == 1 && EVP_DigestUpdate(ctx, p, len) == 1 &&
             EVP_DigestFinal_ex(ctx, d, &dl) == 1 && dl == 32;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static parsed_slot_t *slot_of(const unsigned char d[32])
{
    return &parsed[(((size_t)d[0] << 8) | d[1]) % PARSED_SLOTS];
}

/* The certificate cached under `d` (a new reference), or NULL. */
static X509 *cache_get(const unsigned char d[32])
{
    parsed_slot_t *slot = slot_of(d);
    X509 *hit = NULL;
    pthread_mutex_lock(&parsed_mu);
    if (slot->x != NULL && memcmp(slot->digest, d, 32) == 0 && X509_up_ref(slot->x) == 1) {
        hit = slot->x;
    }
    pthread_mutex_unlock(&parsed_mu);
    return hit;
}

static void cache_put(const unsigned char d[32], X509 *x)
{
    parsed_slot_t *slot = slot_of(d);
    if (X509_up_ref(x) != 1) {
        return;
    }
    pthread_mutex_lock(&parsed_mu);
    X509 *old = slot->x;
    memcpy(slot->digest, d, 32);
    slot->x = x;
    pthread_mutex_unlock(&parsed_mu);
    X509_free(old);
}

/* d2i_X509 of `der`, through the cache. *used: how many bytes the certificate spans. */
static X509 *parse_der(const uint8_t *der, size_t len, size_t *used)
{
    unsigned char d[32];
    int keyed = cache_key('D', der, len, d);
    X509 *x = keyed ? cache_get(d) : NULL;
    if (x != NULL) {
        *used = len;
        return x;
    }
    const unsigned char *q = der;
    x = d2i_X509(NULL, &q, (long)len);
    if (x == NULL) {
        return NULL;
    }
    *used = (size_t)(q - der);
    if (keyed && *used == len) {
        cache_put(d, x);
    }
    return x;
}

static vd_err_t add_pem(vd_certset_t *s, const uint8_t *p, size_t len, const char *origin,
                        vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    size_t added = 0;
    /* A blob that held exactly one certificate before holds it again: what follows is a pure
     * function of the bytes, so the base64 decoding is skipped too. */
    unsigned char d[32];
    int keyed = cache_key('P', p, len, d);
    X509 *known = keyed ? cache_get(d) : NULL;
    if (known != NULL) {
        rc = vd_certset_add_x509(s, known, origin, err);
        X509_free(known);
        return rc;
    }
    BIO *bio = BIO_new_mem_buf(p, (int)len);
    if (bio == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "%s: out of memory", origin);
    }
    for (;;) {
        /* The blocks PEM_read_bio_X509 reads (CERTIFICATE, others skipped), then d2i_X509 of
         * the decoded bytes as it does (trailing bytes ignored), with the parse cached. */
        unsigned char *der = NULL;
        long der_len = 0;
        if (PEM_bytes_read_bio(&der, &der_len, NULL, PEM_STRING_X509, bio, NULL, NULL) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error(); /* normal end: no more certificates */
            } else if (e != 0) {
                rc = VD_ERR(err, VD_E_MALFORMED, "%s: certificate %zu is not valid PEM/X.509",
                            origin, added + 1);
                vd_error_add_openssl(err);
            }
            break;
        }
        size_t used = 0;
        X509 *x = der_len > 0 ? parse_der(der, (size_t)der_len, &used) : NULL;
        OPENSSL_free(der);
        if (x == NULL) {
            rc = VD_ERR(err, VD_E_MALFORMED, "%s: certificate %zu is not valid PEM/X.509", origin,
                        added + 1);
            vd_error_add_openssl(err);
            break;
        }
        rc = vd_certset_add_x509(s, x, origin, err);
        X509_free(x);
        if (rc != VD_OK) {
            break;
        }
        added++;
    }
    BIO_free(bio);
    if (rc == VD_OK && added == 0) {
        rc = VD_ERR(err, VD_E_MALFORMED, "%s: no PEM certificate found", origin);
    }
    if (rc == VD_OK && added == 1 && keyed) {
        cache_put(d, s->certs[s->count - 1]);
    }
    return rc;
}

static vd_err_t add_der(vd_certset_t *s, const uint8_t *p, size_t len, const char *origin,
                        vd_error_t *err)
{
    size_t used = 0;
    X509 *x = parse_der(p, len, &used);
    if (x == NULL) {
        vd_err_t rc = VD_ERR(err, VD_E_MALFORMED, "%s: neither PEM nor a DER certificate", origin);
        vd_error_add_openssl(err);
        return rc;
    }
    if (used != len) {
        X509_free(x);
        return VD_ERR(err, VD_E_MALFORMED, "%s: %zu trailing bytes after the DER certificate",
                      origin, len - used);
    }
    vd_err_t rc = vd_certset_add_x509(s, x, origin, err);
    X509_free(x);
    return rc;
}

vd_err_t vd_certset_add_blob(vd_certset_t *s, const uint8_t *p, size_t len, const char *origin,
                             vd_error_t *err)
{
    if (len == 0) {
        return VD_ERR(err, VD_E_MALFORMED, "%s: empty", origin);
    }
    if (len > VD_CERT_BLOB_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "%s: %zu bytes, more than %d", origin, len,
                      VD_CERT_BLOB_MAX);
    }
    /* KDS serves PEM and DER alike as application/octet-stream: sniff (KDS.md section 1). */
    if (looks_like_pem(p, len)) {
        return add_pem(s, p, len, origin, err);
    }
    return add_der(s, p, len, origin, err);
}

size_t vd_certset_count(const vd_certset_t *s)
{
    return s->count;
}

X509 *vd_certset_get(const vd_certset_t *s, size_t i)
{
    return i < s->count ? s->certs[i] : NULL;
}

const char *vd_certset_origin(const vd_certset_t *s, size_t i)
{
    return i < s->count ? s->origins[i] : "";
}

char *vd_x509_common_name(X509 *x, char *out, size_t out_size)
{
    out[0] = '\0';
    X509_NAME *name = X509_get_subject_name(x);
    int idx = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    if (idx < 0) {
        return out;
    }
    ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    const unsigned char *bytes = ASN1_STRING_get0_data(d);
    int n = ASN1_STRING_length(d);
    if (bytes == NULL || n < 0) {
        return out;
    }
    size_t k = (size_t)n < out_size - 1 ? (size_t)n : out_size - 1;
    memcpy(out, bytes, k);
    out[k] = '\0';
    /* A NUL inside the name would make it compare equal to a shorter one: cut it visibly. */
    if (strlen(out) != k) {
        snprintf(out, out_size, "(invalid)");
    }
    return out;
}

int vd_x509_cn_is(X509 *x, const char *cn)
{
    char buf[64];
    return strcmp(vd_x509_common_name(x, buf, sizeof(buf)), cn) == 0;
}
