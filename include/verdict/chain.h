/*
 * verdict: AMD's SEV-SNP chains, found and judged in one place for the verification core, the
 * certificate cache and bundle imports, so that all of them apply the same rules.
 *
 * AMD signs every certificate of ARK -> ASK/ASVK -> VCEK/VLEK with RSASSA-PSS, SHA-384,
 * MGF1-SHA-384, salt 48 (KDS.md sections 2-3), and every report with ECDSA P-384/SHA-384 over
 * bytes 0x000-0x29F (SNP-FORMAT.md section 6). The rules, written once here:
 *   ARK       pinned AMD ARK or an explicitly configured extra root (trust.h) that anchors this
 *             product; validly self-signed with the pinned PSS parameters; a CA.
 *   ASK/ASVK  signed by that ARK with the pinned PSS parameters; a CA; named SEV-<product>
 *             (SEV-VLEK-<product> for the ASVK).
 *   VCEK/VLEK signed by the ASK/ASVK with the pinned PSS parameters.
 * Validity times, revocation and the leaf's profile are judged by the caller (verify.c), every
 * time: nothing here depends on the clock.
 *
 * Pure: no I/O. The yes/no helpers return 1 (yes) or 0 (no); `detail` (may be NULL) says why.
 *
 * A memo (vd_chain_memo_t) remembers signatures that verified, keyed by the SHA-256 of the DER
 * bytes of what was signed and of the signer's certificate, so that a chain already verified
 * costs no RSA verify. It is an optimisation only: it answers exactly what the verification
 * would, it never remembers a failure, and it is safe to share between threads. It also
 * remembers the DER digest of the last parsed certificates and CRLs it saw, by object (holding
 * a reference on each): certificates and CRLs handed to vd_snp_verify with a memo must not be
 * modified afterwards, which parsed OpenSSL objects never are.
 */
#ifndef verdict__chain_h
#define verdict__chain_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/certset.h"
#include "verdict/check.h"
#include "verdict/error.h"
#include "verdict/product.h"
#include "verdict/report.h"
#include "verdict/trust.h"

/* ---- the verified-signature memo ------------------------------------------------------------ */

typedef struct vd_chain_memo vd_chain_memo_t;

#define VD_CHAIN_MEMO_DEFAULT 4096 /* remembered signatures; a chain uses three, a CRL one */

/** New memo holding up to `capacity` signatures (0 = default). VD_E_NOMEM. */
vd_err_t vd_chain_memo_new(size_t capacity, vd_chain_memo_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/** Free; sets *pp to NULL. NULL-safe. No appraisal may be using it. */
void vd_chain_memo_free(vd_chain_memo_t **pp);

/** Lookups that found a verified signature, and those that had to verify (for tests, bench). */
void vd_chain_memo_stats(vd_chain_memo_t *m, uint64_t *hits, uint64_t *misses);

/* ---- single links ------------------------------------------------------------------------- */

/** `subject`'s issuer name is `issuer`'s subject name. */
int vd_chain_issued_by(X509 *subject, X509 *issuer);

/** Issuer and subject names are equal (a root, or a forgery of one). */
int vd_chain_self_signed(X509 *x);

/**
 * `subject` is issued by `issuer` (names) and signed by its key with AMD's pinned RSA-PSS
 * parameters. `memo` may be NULL.
 */
int vd_chain_signed_by_memo(X509 *subject, X509 *issuer, vd_chain_memo_t *memo, char *detail,
                            size_t n);

/** vd_chain_signed_by_memo without a memo. */
int vd_chain_signed_by(X509 *subject, X509 *issuer, char *detail, size_t n);

/**
 * `x` is valid at `at` (notBefore <= at < notAfter); `label` names it in the
 * detail. With `detail` NULL the answer only.
 */
int vd_chain_valid_at(X509 *x, time_t at, const char *label, char *detail, size_t n);

/** `key` is an EC P-384 public key. */
int vd_chain_key_is_p384(EVP_PKEY *key);

/** The report's ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F verifies with `key`. */
int vd_snp_report_signed_by(const vd_snp_report_t *r, EVP_PKEY *key, char *detail, size_t n);

/** AlgorithmIdentifier `alg` is RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailer 1. */
int vd_chain_pss_params_are_amd(const X509_ALGOR *alg);

/* ---- the chain builder -------------------------------------------------------------------- */

#define VD_CHAIN_DETAIL_MAX VD_CHECK_DETAIL_MAX

/* What a chain is looked for in, and judged against. */
typedef struct vd_chain_query {
    const vd_certset_t *certs;     /* candidates, untrusted; may be NULL */
    const vd_trust_t *trust;       /* pins + extra anchors; NULL = AMD pins only */
    vd_product_t product;          /* VD_PRODUCT_UNKNOWN: names and anchoring not checked */
    int vlek;                      /* ASVK -> VLEK instead of ASK -> VCEK */
    const vd_snp_report_t *report; /* optional: the leaf whose key verifies it is preferred */
    vd_chain_memo_t *memo;         /* optional */
} vd_chain_query_t;

/* A judgement of one certificate of the chain. */
typedef enum vd_link_state {
    VD_LINK_ABSENT = 0, /* not available (or what it hangs on is not); detail says which */
    VD_LINK_PASS,
    VD_LINK_FAIL,
} vd_link_state_t;

typedef struct vd_chain {
    X509 *leaf, *issuer, *ark; /* borrowed from the candidates or the trust set; may be NULL */
    const char *issuer_origin, *ark_origin;
    int leaf_signs_report;     /* the leaf's key verified the query's report */
    vd_root_kind_t root_kind;  /* of the ARK, when there is one */
    vd_product_t root_product; /* the product the ARK anchors, when known */
    char spki[65];             /* the ARK's SPKI SHA-256, hex, or "" */
    vd_link_state_t ark_state, issuer_state, leaf_state;
    char ark_detail[VD_CHAIN_DETAIL_MAX];
    char issuer_detail[VD_CHAIN_DETAIL_MAX];
    char leaf_detail[VD_CHAIN_DETAIL_MAX];
} vd_chain_t;

/**
 * Step 1: the endorsement key among the candidates, a certificate named SEV-VCEK (SEV-VLEK):
 * the one whose key verifies q->report if any, else the first. Sets out->leaf (NULL if none)
 * and out->leaf_signs_report; clears the rest of `out`.
 */
void vd_chain_find_leaf(const vd_chain_query_t *q, vd_chain_t *out);

/**
 * Step 2: find the ASK/ASVK and ARK for out->leaf (or by name for q->product when there is no
 * leaf) among the candidates and the trust set's extra anchors, and judge the three links by
 * the rules above. A candidate whose signature verifies is preferred over one that only has the
 * right name; any choice is then judged in full, so the choice cannot make a forgery pass.
 */
void vd_chain_locate_and_judge(const vd_chain_query_t *q, vd_chain_t *out);

/** vd_chain_find_leaf then vd_chain_locate_and_judge. */
void vd_chain_build(const vd_chain_query_t *q, vd_chain_t *out);

/**
 * Judge a given ASK/ASVK and ARK pair for (q->product, q->vlek), as the cache does for what it
 * stores and serves. 1 if both pass; else 0 with the first failure in `why`.
 */
int vd_chain_pair_ok(const vd_chain_query_t *q, X509 *issuer, X509 *ark, char *why, size_t n);

/**
 * Is `ark` a trusted ARK (pinned, or a configured extra root) for `product` (VD_PRODUCT_UNKNOWN:
 * any), validly self-signed and a CA? 1 or 0 with `why`; *anchors (may be NULL) gets the
 * product it anchors (VD_PRODUCT_UNKNOWN for an extra root without an ARK-<product> name).
 */
int vd_chain_ark_ok(const vd_trust_t *trust, X509 *ark, vd_product_t product, vd_chain_memo_t *memo,
                    vd_product_t *anchors, char *why, size_t n);

#endif
