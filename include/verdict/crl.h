/*
 * verdict: AMD's certificate revocation lists, judged by the verification core.
 *
 * AMD publishes one CRL per ARK and distribution point ({base}/{vcek|vlek}/v1/{product}/crl,
 * KDS.md section 1): DER, issued and signed by the ARK with the same RSASSA-PSS parameters as
 * its certificates, listing revoked ASKs/ASVKs (Genoa's lists ASK 0x020001). Serial numbers are
 * per issuer, so the ARK's CRL speaks for what the ARK issued: a VCEK/VLEK (issued by the
 * ASK/ASVK) is covered only by an indirect entry whose certificateIssuer names its issuer
 * (RFC 5280 section 5.3.3), which AMD's CRLs do not carry; a revoked ASK/ASVK revokes every
 * key under it.
 *
 * Pure: no I/O, no clock.
 */
#ifndef verdict__crl_h
#define verdict__crl_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "verdict/chain.h"

/* What to do when no CRL fresh at the appraisal time is known. */
typedef enum vd_crl_mode {
    VD_CRL_FAIL_OPEN = 0, /* default: chain.revocation "skip" with why; listed serials reject */
    VD_CRL_FAIL_CLOSED,   /* status COLLATERAL_MISSING (exit 3); listed serials still reject */
    VD_CRL_OFF,           /* revocation not checked: chain.revocation "skip" saying so */
} vd_crl_mode_t;

#define VD_CRLS_MAX 16 /* CRLs one appraisal is given: two distribution points per ARK, files */

/** "fail-open", "fail-closed" or "off"; -1 for anything else (NULL or "" = fail-open). */
int vd_crl_mode_parse(const char *s, vd_crl_mode_t *out) __attribute__((warn_unused_result));

/**
 * A DER CRL spanning the whole blob, or one PEM "X509 CRL" block. NULL if it does not parse.
 * Caller frees with X509_CRL_free.
 */
X509_CRL *vd_crl_parse(const uint8_t *p, size_t len);

/**
 * `crl` is issued by `ark` (names), signed by its key with AMD's pinned RSA-PSS parameters, and
 * has a nextUpdate. Does not judge whether `ark` is trusted (vd_chain_ark_ok does). `memo` may be
 * NULL. 1, or 0 with `why`.
 */
int vd_crl_signed_by(X509_CRL *crl, X509 *ark, vd_chain_memo_t *memo, char *why, size_t n);

/** thisUpdate and nextUpdate as time_t; 0 when absent or unreadable. */
time_t vd_crl_this_update(const X509_CRL *crl);
time_t vd_crl_next_update(const X509_CRL *crl);

/** The CRL number extension, or -1 when absent or out of range. */
long long vd_crl_number(const X509_CRL *crl);

/** thisUpdate <= at < nextUpdate. */
int vd_crl_fresh_at(const X509_CRL *crl, time_t at);

/**
 * 1 if `a` supersedes `b` (both from the same ARK): a higher CRL number when both carry one,
 * else a later thisUpdate. Equal or older: 0.
 */
int vd_crl_newer(const X509_CRL *a, const X509_CRL *b);

/** 1 if `x` is listed on `crl` (its issuer and serial), with the revocation date in *when. */
int vd_crl_lists(X509_CRL *crl, X509 *x, time_t *when);

#endif
