/*
 * AMD's CRLs (include/verdict/crl.h): parsing, the ARK's signature, freshness, ordering and
 * lookup. The revocation check of an appraisal (chain.revocation) is in verify.c.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "verdict/certset.h"
#include "verdict/crl.h"
#include "snp_internal.h"

#define CRL_MAX_BYTES (1024 * 1024)

int vd_crl_mode_parse(const char *s, vd_crl_mode_t *out)
{
    if (s == NULL || s[0] == '\0' || strcmp(s, "fail-open") == 0) {
        *out = VD_CRL_FAIL_OPEN;
    } else if (strcmp(s, "fail-closed") == 0) {
        *out = VD_CRL_FAIL_CLOSED;
    } else if (strcmp(s, "off") == 0) {
        *out = VD_CRL_OFF;
    } else {
        return -1;
    }
    return 0;
}

X509_CRL *vd_crl_parse(const uint8_t *p, size_t len)
{
    X509_CRL *crl = NULL;
    if (p == NULL || len == 0 || len > CRL_MAX_BYTES) {
        return NULL;
    }
    if (len > 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *q = p;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl != NULL && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    return crl;
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return 0;
    }
    return timegm(&tm);
}

time_t vd_crl_this_update(const X509_CRL *crl)
{
    return asn1_time(X509_CRL_get0_lastUpdate(crl));
}

time_t vd_crl_next_update(const X509_CRL *crl)
{
    return asn1_time(X509_CRL_get0_nextUpdate(crl));
}

long long vd_crl_number(const X509_CRL *crl)
{
    int crit = 0;
    long long v = -1;
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
    int64_t n = 0;
    if (num != NULL && ASN1_INTEGER_get_int64(&n, num) == 1 && n >= 0) {
        v = (long long)n;
    }
    ASN1_INTEGER_free(num);
    ERR_clear_error();
    return v;
}

int vd_crl_fresh_at(const X509_CRL *crl, time_t at)
{
    const ASN1_TIME *tu = X509_CRL_get0_lastUpdate(crl);
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
    /* X509_cmp_time: -1 when the time is at or before `at`, 1 when after, 0 on error. */
    return tu != NULL && nu != NULL && X509_cmp_time(tu, &at) < 0 && X509_cmp_time(nu, &at) > 0;
}

int vd_crl_newer(const X509_CRL *a, const X509_CRL *b)
{
    long long na = vd_crl_number(a), nb = vd_crl_number(b);
    if (na >= 0 && nb >= 0 && na != nb) {
        return na > nb;
    }
    return vd_crl_this_update(a) > vd_crl_this_update(b);
}

int vd_crl_signed_by(X509_CRL *crl, X509 *ark, vd_chain_memo_t *memo, char *why, size_t n)
{
    char cn[64];
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *alg = NULL;
    unsigned char md[32], key[MEMO_KEY_SIZE];
    int memo_state = -1;
    vd_x509_common_name(ark, cn, sizeof(cn));
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0) {
        snprintf(why, n, "the CRL is not issued by %s", cn);
        return 0;
    }
    if (memo != NULL && vd_snp__crl_sha256(memo, crl, md)) {
        memo_state = vd_snp__memo_lookup(memo, 'c', md, ark, NULL, key);
    }
    if (memo_state != 1) {
        X509_CRL_get0_signature(crl, &sig, &alg);
        if (!vd_chain_pss_params_are_amd(alg)) {
            snprintf(why, n, "the CRL is not signed with RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48");
            return 0;
        }
        EVP_PKEY *pub = X509_get0_pubkey(ark);
        int ok = pub != NULL && X509_CRL_verify(crl, pub) == 1;
        ERR_clear_error();
        if (!ok) {
            snprintf(why, n, "the CRL's signature does not verify with %s's key", cn);
            return 0;
        }
        if (X509_CRL_get0_nextUpdate(crl) == NULL || vd_crl_this_update(crl) == 0) {
            snprintf(why, n, "the CRL has no readable thisUpdate or nextUpdate");
            return 0;
        }
        if (memo_state == 0) {
            vd_snp__memo_remember(memo, key); /* only what passed every check above */
        }
    }
    snprintf(why, n, "the CRL is signed by %s", cn);
    return 1;
}

int vd_crl_lists(X509_CRL *crl, X509 *x, time_t *when)
{
    X509_REVOKED *rev = NULL;
    /* Matches the serial under the certificate's issuer: a direct entry when the CRL's issuer
     * issued `x`, or an indirect entry whose certificateIssuer names x's issuer. */
    int r = X509_CRL_get0_by_cert(crl, &rev, x);
    ERR_clear_error();
    if (r != 1 || rev == NULL) {
        return 0;
    }
    if (when != NULL) {
        *when = asn1_time(X509_REVOKED_get0_revocationDate(rev));
    }
    return 1;
}
