/*
 * AMD's chains (include/verdict/chain.h): ARK -> ASK -> VCEK and ARK -> ASVK -> VLEK (KDS.md
 * sections 2-4). Each link is checked by hand rather than with X509_verify_cert so that every
 * failure has its own reason; the algorithm is pinned to RSASSA-PSS with SHA-384, as AMD signs
 * every certificate and CRL in these chains.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "verdict/bytes.h"
#include "verdict/certset.h"
#include "verdict/timefmt.h"
#include "snp_internal.h"

/* ---- the memo ------------------------------------------------------------------------------ */

/* A key: the kind ('x' certificate, 'c' CRL), the SHA-256 of the signed object's DER and the
 * SHA-256 of the signer's certificate's DER. */
#define MEMO_KEY MEMO_KEY_SIZE

/*
 * The DER digests of the last certificates and CRLs seen, by object: the same parsed object
 * comes back with every appraisal of a cached chain, and digesting its DER again would cost
 * as much as the rest of a warm appraisal. The memo holds a reference on each, so an address
 * is never reused for another object while it is remembered.
 */
#define MEMO_OBJS 64

typedef struct memo_obj {
    X509 *x; /* one of x, crl */
    X509_CRL *crl;
    unsigned char md[32];
} memo_obj_t;

struct vd_chain_memo {
    pthread_mutex_t mu;
    size_t cap;  /* entries before the table starts over */
    size_t mask; /* table size - 1 (a power of two, at least 2 * cap) */
    size_t count;
    unsigned char (*keys)[MEMO_KEY];
    unsigned char *used;
    uint64_t hits, misses;
    memo_obj_t objs[MEMO_OBJS];
    size_t obj_next; /* ring: the next slot to reuse */
};

/* SHA-256, fetched once: an implicit fetch per digest costs about as much as the digest. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md != NULL ? sha256_md : EVP_sha256();
}

vd_err_t vd_chain_memo_new(size_t capacity, vd_chain_memo_t **out, vd_error_t *err)
{
    vd_chain_memo_t *m = NULL;
    size_t size = 16;
    *out = NULL;
    if (capacity == 0) {
        capacity = VD_CHAIN_MEMO_DEFAULT;
    }
    if (capacity > ((size_t)1 << 24)) {
        return VD_ERR(err, VD_E_TOO_LARGE, "chain memo: capacity %zu too large", capacity);
    }
    while (size < 2 * capacity) {
        size *= 2;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL || (m->keys = calloc(size, sizeof(*m->keys))) == NULL ||
        (m->used = calloc(size, 1)) == NULL) {
        if (m != NULL) {
            free(m->keys);
        }
        free(m);
        return VD_ERR(err, VD_E_NOMEM, "chain memo: out of memory");
    }
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->used);
        free(m->keys);
        free(m);
        return VD_ERR(err, VD_E_INTERNAL, "chain memo: cannot create a mutex");
    }
    m->cap = capacity;
    m->mask = size - 1;
    *out = m;
    return VD_OK;
}

static void obj_clear(memo_obj_t *o)
{
    X509_free(o->x);
    X509_CRL_free(o->crl);
    memset(o, 0, sizeof(*o));
}

void vd_chain_memo_free(vd_chain_memo_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    for (size_t i = 0; i < MEMO_OBJS; i++) {
        obj_clear(&(*pp)->objs[i]);
    }
    pthread_mutex_destroy(&(*pp)->mu);
    free((*pp)->used);
    free((*pp)->keys);
    free(*pp);
    *pp = NULL;
}

void vd_chain_memo_stats(vd_chain_memo_t *m, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&m->mu);
    *hits = m->hits;
    *misses = m->misses;
    pthread_mutex_unlock(&m->mu);
}

/* Slot of `key`, or of the empty slot where it would go (mu held). */
static size_t memo_slot(const vd_chain_memo_t *m, const unsigned char key[MEMO_KEY])
{
    size_t i = (size_t)(vd_le64(key + 1) ^ vd_le64(key + 33)) & m->mask;
    while (m->used[i] && memcmp(m->keys[i], key, MEMO_KEY) != 0) {
        i = (i + 1) & m->mask;
    }
    return i;
}

/* The remembered digest of `x` or `crl` (mu held): 1 and *out, else 0. */
static int obj_find(vd_chain_memo_t *m, X509 *x, X509_CRL *crl, unsigned char out[32])
{
    for (size_t i = 0; i < MEMO_OBJS; i++) {
        const memo_obj_t *o = &m->objs[i];
        if ((x != NULL && o->x == x) || (crl != NULL && o->crl == crl)) {
            memcpy(out, o->md, 32);
            return 1;
        }
    }
    return 0;
}

/* SHA-256 of the DER of `x` or `crl`, from the memo's object table when it has it. */
static int object_sha256(vd_chain_memo_t *m, X509 *x, X509_CRL *crl, unsigned char out[32])
{
    unsigned int len = 0;
    if (m != NULL) {
        pthread_mutex_lock(&m->mu);
        int found = obj_find(m, x, crl, out);
        pthread_mutex_unlock(&m->mu);
        if (found) {
            return 1;
        }
    }
    int ok = (x != NULL ? X509_digest(x, sha256(), out, &len)
                        : X509_CRL_digest(crl, sha256(), out, &len)) == 1 &&
             len == 32;
    ERR_clear_error();
    if (ok && m != NULL) {
        unsigned char again[32];
        pthread_mutex_lock(&m->mu);
        if (!obj_find(m, x, crl, again) &&
            (x != NULL ? X509_up_ref(x) : X509_CRL_up_ref(crl)) == 1) {
            memo_obj_t *o = &m->objs[m->obj_next++ % MEMO_OBJS];
            obj_clear(o); /* drops the oldest's reference */
            o->x = x;
            o->crl = crl;
            memcpy(o->md, out, 32);
        }
        pthread_mutex_unlock(&m->mu);
    }
    return ok;
}

int vd_snp__x509_sha256(vd_chain_memo_t *m, X509 *x, unsigned char out[32])
{
    return object_sha256(m, x, NULL, out);
}

int vd_snp__crl_sha256(vd_chain_memo_t *m, X509_CRL *crl, unsigned char out[32])
{
    return object_sha256(m, NULL, crl, out);
}

int vd_snp__memo_lookup(vd_chain_memo_t *m, char tag, const unsigned char what[32], X509 *signer,
                        const unsigned char *signer_md, unsigned char key[MEMO_KEY_SIZE])
{
    unsigned char smd[32];
    if (m == NULL) {
        return -1;
    }
    if (signer_md == NULL) {
        if (!vd_snp__x509_sha256(m, signer, smd)) {
            return -1;
        }
        signer_md = smd;
    }
    key[0] = (unsigned char)tag;
    memcpy(key + 1, what, 32);
    memcpy(key + 33, signer_md, 32);
    pthread_mutex_lock(&m->mu);
    int hit = m->used[memo_slot(m, key)];
    if (hit) {
        m->hits++;
    } else {
        m->misses++;
    }
    pthread_mutex_unlock(&m->mu);
    return hit;
}

void vd_snp__memo_remember(vd_chain_memo_t *m, const unsigned char key[MEMO_KEY_SIZE])
{
    pthread_mutex_lock(&m->mu);
    if (m->count >= m->cap) {
        memset(m->used, 0, m->mask + 1); /* full: start over rather than track recency */
        m->count = 0;
    }
    size_t i = memo_slot(m, key);
    if (!m->used[i]) {
        memcpy(m->keys[i], key, MEMO_KEY);
        m->used[i] = 1;
        m->count++;
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- single links -------------------------------------------------------------------------- */

int vd_chain_issued_by(X509 *subject, X509 *issuer)
{
    return X509_NAME_cmp(X509_get_issuer_name(subject), X509_get_subject_name(issuer)) == 0;
}

int vd_chain_self_signed(X509 *x)
{
    return vd_chain_issued_by(x, x);
}

/* 1 if the digest NID of an AlgorithmIdentifier is SHA-384. */
static int algor_is_sha384(const X509_ALGOR *a)
{
    return a != NULL && OBJ_obj2nid(a->algorithm) == NID_sha384;
}

/*
 * AMD signs with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48, trailer 1 (KDS.md sections 2-3).
 * Pin every parameter: OpenSSL would otherwise accept any PSS variant the signer chose.
 */
int vd_chain_pss_params_are_amd(const X509_ALGOR *alg)
{
    const ASN1_OBJECT *oid = NULL;
    const void *pval = NULL;
    int ptype = 0, ok = 0;
    RSA_PSS_PARAMS *pss = NULL;
    X509_ALGOR *mgf_hash = NULL;
    if (alg == NULL) {
        return 0;
    }
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    if (OBJ_obj2nid(oid) != NID_rsassaPss || ptype != V_ASN1_SEQUENCE) {
        goto out;
    }
    pss = ASN1_item_unpack((const ASN1_STRING *)pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
    if (pss == NULL || !algor_is_sha384(pss->hashAlgorithm) || pss->maskGenAlgorithm == NULL ||
        OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
        pss->maskGenAlgorithm->parameter == NULL ||
        pss->maskGenAlgorithm->parameter->type != V_ASN1_SEQUENCE) {
        goto out;
    }
    mgf_hash = ASN1_item_unpack(pss->maskGenAlgorithm->parameter->value.sequence,
                                ASN1_ITEM_rptr(X509_ALGOR));
    ok = algor_is_sha384(mgf_hash) && pss->saltLength != NULL &&
         ASN1_INTEGER_get(pss->saltLength) == 48 &&
         (pss->trailerField == NULL || ASN1_INTEGER_get(pss->trailerField) == 1);
out:
    X509_ALGOR_free(mgf_hash);
    RSA_PSS_PARAMS_free(pss);
    ERR_clear_error();
    return ok;
}

/*
 * vd_chain_signed_by_memo with the DER digests when the caller has them (NULL: computed). A memo
 * entry is made only when every check below passed for exactly these two DER encodings, so a hit
 * answers what the checks would.
 */
static int signed_by(X509 *subject, X509 *issuer, vd_chain_memo_t *memo,
                     const unsigned char *subject_md, const unsigned char *issuer_md, char *detail,
                     size_t n)
{
    char scn[64], icn[64];
    unsigned char smd[32], key[MEMO_KEY];
    int mdnid = NID_undef, pknid = NID_undef, memo_state = -1;
    const X509_ALGOR *alg = NULL;
    vd_x509_common_name(subject, scn, sizeof(scn));
    vd_x509_common_name(issuer, icn, sizeof(icn));
    if (!vd_chain_issued_by(subject, issuer)) {
        snprintf(detail, n, "%s was not issued by %s (issuer name differs)", scn, icn);
        return 0;
    }
    if (memo != NULL && subject_md == NULL && vd_snp__x509_sha256(memo, subject, smd)) {
        subject_md = smd;
    }
    if (memo != NULL && subject_md != NULL) {
        memo_state = vd_snp__memo_lookup(memo, 'x', subject_md, issuer, issuer_md, key);
    }
    if (memo_state != 1) {
        X509_get0_signature(NULL, &alg, subject);
        if (X509_get_signature_nid(subject) != NID_rsassaPss ||
            X509_get_signature_info(subject, &mdnid, &pknid, NULL, NULL) != 1 ||
            mdnid != NID_sha384 || !vd_chain_pss_params_are_amd(alg)) {
            snprintf(detail, n,
                     "%s is not signed with RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48 (%s)", scn,
                     OBJ_nid2sn(X509_get_signature_nid(subject)));
            ERR_clear_error();
            return 0;
        }
        EVP_PKEY *ipub = X509_get0_pubkey(issuer);
        int v = ipub != NULL && X509_verify(subject, ipub) == 1;
        ERR_clear_error();
        if (!v) {
            snprintf(detail, n, "signature on %s does not verify with %s's public key", scn, icn);
            return 0;
        }
        if (memo_state == 0) {
            vd_snp__memo_remember(memo, key); /* only what passed: a failure is checked again */
        }
    }
    snprintf(detail, n, "%s is signed by %s (RSASSA-PSS/SHA-384)", scn, icn);
    return 1;
}

int vd_chain_signed_by_memo(X509 *subject, X509 *issuer, vd_chain_memo_t *memo, char *detail,
                            size_t n)
{
    return signed_by(subject, issuer, memo, NULL, NULL, detail, n);
}

int vd_chain_signed_by(X509 *subject, X509 *issuer, char *detail, size_t n)
{
    return signed_by(subject, issuer, NULL, NULL, NULL, detail, n);
}

int vd_chain_valid_at(X509 *x, time_t at, const char *label, char *detail, size_t n)
{
    char when[32], bound[32];
    const ASN1_TIME *nb = X509_get0_notBefore(x);
    const ASN1_TIME *na = X509_get0_notAfter(x);
    struct tm tm;
    if (detail == NULL || n == 0) { /* the answer only, without formatting a reason */
        return X509_cmp_time(nb, &at) < 0 && X509_cmp_time(na, &at) > 0;
    }
    vd_time_format_rfc3339(at, when, sizeof(when));
    if (X509_cmp_time(nb, &at) >= 0) {
        if (ASN1_TIME_to_tm(nb, &tm) == 1) {
            strftime(bound, sizeof(bound), "%Y-%m-%dT%H:%M:%SZ", &tm);
        } else {
            snprintf(bound, sizeof(bound), "(unreadable)");
        }
        snprintf(detail, n, "%s not yet valid: notBefore %s is after %s", label, bound, when);
        return 0;
    }
    if (X509_cmp_time(na, &at) <= 0) {
        if (ASN1_TIME_to_tm(na, &tm) == 1) {
            strftime(bound, sizeof(bound), "%Y-%m-%dT%H:%M:%SZ", &tm);
        } else {
            snprintf(bound, sizeof(bound), "(unreadable)");
        }
        snprintf(detail, n, "%s expired: notAfter %s is before %s", label, bound, when);
        return 0;
    }
    snprintf(detail, n, "%s valid at %s", label, when);
    return 1;
}

/* ---- the chain builder --------------------------------------------------------------------- */

/* Per-build state: the query, the chain, and each certificate's DER digest computed once. */
typedef struct build {
    const vd_chain_query_t *q;
    vd_chain_t *c;
    struct {
        X509 *x;
        unsigned char md[32];
    } dig[VD_CERTSET_MAX + VD_TRUST_MAX_EXTRA];
    size_t ndig;
} build_t;

/* The DER digest of `x`, for memo keys; NULL without a memo or when it cannot be computed. */
static const unsigned char *digest_of(build_t *b, X509 *x)
{
    if (b->q->memo == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < b->ndig; i++) {
        if (b->dig[i].x == x) {
            return b->dig[i].md;
        }
    }
    if (b->ndig >= sizeof(b->dig) / sizeof(b->dig[0]) ||
        !vd_snp__x509_sha256(b->q->memo, x, b->dig[b->ndig].md)) {
        return NULL;
    }
    b->dig[b->ndig].x = x;
    return b->dig[b->ndig++].md;
}

static int link_ok(build_t *b, X509 *subject, X509 *issuer, char *detail, size_t n)
{
    return signed_by(subject, issuer, b->q->memo, digest_of(b, subject), digest_of(b, issuer),
                     detail, n);
}

static size_t n_certs(const vd_chain_query_t *q)
{
    return q->certs != NULL ? vd_certset_count(q->certs) : 0;
}

void vd_chain_find_leaf(const vd_chain_query_t *q, vd_chain_t *out)
{
    const char *cn = q->vlek ? "SEV-VLEK" : "SEV-VCEK";
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n_certs(q); i++) {
        X509 *x = vd_certset_get(q->certs, i);
        if (!vd_x509_cn_is(x, cn)) {
            continue;
        }
        if (out->leaf == NULL) {
            out->leaf = x;
        }
        if (q->report != NULL && vd_snp_report_signed_by(q->report, X509_get0_pubkey(x), NULL, 0)) {
            out->leaf = x;
            out->leaf_signs_report = 1;
            return;
        }
    }
}

/*
 * The issuer of `subject` among the candidates (and extra anchors when `roots`): preferably one
 * whose signature on `subject` verifies, whose detail then goes to `link` so that the judgement
 * need not verify it again; else the first with the right name (the judgement says why).
 */
static X509 *find_issuer(build_t *b, X509 *subject, int roots, const char **origin,
                         char link[VD_CHAIN_DETAIL_MAX])
{
    const vd_chain_query_t *q = b->q;
    X509 *name_match = NULL;
    link[0] = '\0';
    for (size_t i = 0; i < n_certs(q); i++) {
        X509 *x = vd_certset_get(q->certs, i);
        if (x == subject || !vd_chain_issued_by(subject, x) ||
            (roots && !vd_chain_self_signed(x))) {
            continue;
        }
        if (link_ok(b, subject, x, link, VD_CHAIN_DETAIL_MAX)) {
            *origin = vd_certset_origin(q->certs, i);
            return x;
        }
        link[0] = '\0';
        if (name_match == NULL) {
            name_match = x;
            *origin = vd_certset_origin(q->certs, i);
        }
    }
    for (size_t i = 0; roots && q->trust && i < vd_trust_extra_count(q->trust); i++) {
        X509 *x = vd_trust_extra_get(q->trust, i);
        if (vd_chain_issued_by(subject, x) && link_ok(b, subject, x, link, VD_CHAIN_DETAIL_MAX)) {
            *origin = "extra trust anchor";
            return x;
        }
        link[0] = '\0';
    }
    return name_match;
}

static X509 *find_by_cn(const vd_chain_query_t *q, const char *cn)
{
    for (size_t i = 0; i < n_certs(q); i++) {
        X509 *x = vd_certset_get(q->certs, i);
        if (vd_x509_cn_is(x, cn)) {
            return x;
        }
    }
    return NULL;
}

/* The ARK rules; detail in the core's words. */
static vd_link_state_t judge_ark(build_t *b, X509 *ark, const char *origin, char *d, size_t n)
{
    const vd_chain_query_t *q = b->q;
    vd_chain_t *c = b->c;
    char cn[64], sd[VD_CHAIN_DETAIL_MAX];
    vd_product_t p = q->product;
    c->root_kind = vd_trust_match(q->trust, ark, &c->root_product, c->spki);
    vd_x509_common_name(ark, cn, sizeof(cn));
    if (c->root_kind == VD_ROOT_UNTRUSTED) {
        snprintf(d, n,
                 "root \"%s\" (SPKI SHA-256 %s) is not a pinned AMD ARK nor a configured extra "
                 "root",
                 cn, c->spki);
        return VD_LINK_FAIL;
    }
    if (p != VD_PRODUCT_UNKNOWN && c->root_product != VD_PRODUCT_UNKNOWN && c->root_product != p) {
        snprintf(d, n, "root \"%s\" anchors %s, but the report is from %s", cn,
                 vd_product_name(c->root_product), vd_product_name(p));
        return VD_LINK_FAIL;
    }
    if (!link_ok(b, ark, ark, sd, sizeof(sd))) {
        snprintf(d, n, "root \"%s\" is not validly self-signed: %s", cn, sd);
        return VD_LINK_FAIL;
    }
    if (X509_check_ca(ark) < 1) {
        snprintf(d, n, "root \"%s\" is not a CA certificate", cn);
        return VD_LINK_FAIL;
    }
    snprintf(d, n, "\"%s\" %s (SPKI SHA-256 %s), from %s", cn,
             c->root_kind == VD_ROOT_AMD_PINNED ? "matches the pinned AMD ARK"
                                                : "is a configured extra root",
             c->spki, origin != NULL ? origin : "the caller");
    return VD_LINK_PASS;
}

/* The three judgements; `issuer_link`/`leaf_link` are verified links find_issuer saw. */
static void judge(build_t *b, const char *issuer_link, const char *leaf_link)
{
    const vd_chain_query_t *q = b->q;
    vd_chain_t *c = b->c;
    vd_product_t p = q->product;
    const char *iname = q->vlek ? "ASVK" : "ASK";
    const char *kname = q->vlek ? "VLEK" : "VCEK";
    char *d;

    d = c->ark_detail;
    if (c->ark == NULL) {
        c->ark_state = VD_LINK_ABSENT;
        snprintf(d, VD_CHAIN_DETAIL_MAX, "ARK not available");
    } else {
        c->ark_state = judge_ark(b, c->ark, c->ark_origin, d, VD_CHAIN_DETAIL_MAX);
    }

    d = c->issuer_detail;
    if (c->issuer == NULL || c->ark == NULL) {
        c->issuer_state = VD_LINK_ABSENT;
        snprintf(d, VD_CHAIN_DETAIL_MAX, "%s",
                 c->issuer == NULL ? "ASK/ASVK not available" : "no ARK");
    } else if (issuer_link[0] == '\0' && !link_ok(b, c->issuer, c->ark, d, VD_CHAIN_DETAIL_MAX)) {
        c->issuer_state = VD_LINK_FAIL;
    } else if (X509_check_ca(c->issuer) < 1) {
        c->issuer_state = VD_LINK_FAIL;
        snprintf(d, VD_CHAIN_DETAIL_MAX, "the %s is not a CA certificate", iname);
    } else {
        char want[48], cn[64];
        snprintf(want, sizeof(want), "SEV-%s%s", q->vlek ? "VLEK-" : "", vd_product_name(p));
        if (p != VD_PRODUCT_UNKNOWN && !vd_x509_cn_is(c->issuer, want)) {
            c->issuer_state = VD_LINK_FAIL;
            snprintf(d, VD_CHAIN_DETAIL_MAX,
                     "the %s is \"%s\", expected \"%s\" for a %s-signed %s report", iname,
                     vd_x509_common_name(c->issuer, cn, sizeof(cn)), want, kname,
                     vd_product_name(p));
        } else {
            c->issuer_state = VD_LINK_PASS;
            if (issuer_link[0] != '\0') {
                snprintf(d, VD_CHAIN_DETAIL_MAX, "%s", issuer_link);
            }
        }
    }

    d = c->leaf_detail;
    if (c->leaf == NULL || c->issuer == NULL) {
        c->leaf_state = VD_LINK_ABSENT;
        snprintf(d, VD_CHAIN_DETAIL_MAX, "%s not available", c->leaf == NULL ? kname : iname);
    } else if (leaf_link[0] != '\0') {
        c->leaf_state = VD_LINK_PASS;
        snprintf(d, VD_CHAIN_DETAIL_MAX, "%s", leaf_link);
    } else {
        c->leaf_state =
            link_ok(b, c->leaf, c->issuer, d, VD_CHAIN_DETAIL_MAX) ? VD_LINK_PASS : VD_LINK_FAIL;
    }
}

void vd_chain_locate_and_judge(const vd_chain_query_t *q, vd_chain_t *out)
{
    build_t *b = calloc(1, sizeof(*b));
    build_t local;
    char leaf_link[VD_CHAIN_DETAIL_MAX], issuer_link[VD_CHAIN_DETAIL_MAX], cn[48];
    const char *origin = NULL;
    vd_product_t p = q->product;
    if (b == NULL) { /* the digests are an optimisation: work without them */
        memset(&local, 0, sizeof(local));
        b = &local;
    }
    b->q = q;
    b->c = out;
    leaf_link[0] = issuer_link[0] = '\0';
    out->issuer = out->ark = NULL;
    out->issuer_origin = out->ark_origin = NULL;
    if (out->leaf != NULL) {
        out->issuer = find_issuer(b, out->leaf, 0, &origin, leaf_link);
        out->issuer_origin = origin;
    } else if (p != VD_PRODUCT_UNKNOWN) {
        snprintf(cn, sizeof(cn), "SEV-%s%s", q->vlek ? "VLEK-" : "", vd_product_name(p));
        out->issuer = find_by_cn(q, cn);
        out->issuer_origin = "the supplied certificates";
    }
    if (out->issuer != NULL) {
        out->ark = find_issuer(b, out->issuer, 1, &out->ark_origin, issuer_link);
    } else if (p != VD_PRODUCT_UNKNOWN) {
        /* Only for the messages: say the ARK is there even though the ASK is not. */
        snprintf(cn, sizeof(cn), "ARK-%s", vd_product_name(p));
        out->ark = find_by_cn(q, cn);
        out->ark_origin = "the supplied certificates";
    }
    judge(b, issuer_link, leaf_link);
    if (b != &local) {
        free(b);
    }
}

void vd_chain_build(const vd_chain_query_t *q, vd_chain_t *out)
{
    vd_chain_find_leaf(q, out);
    vd_chain_locate_and_judge(q, out);
}

int vd_chain_pair_ok(const vd_chain_query_t *q, X509 *issuer, X509 *ark, char *why, size_t n)
{
    build_t b;
    vd_chain_t c;
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    b.q = q;
    b.c = &c;
    c.issuer = issuer;
    c.ark = ark;
    c.ark_origin = "the cache";
    judge(&b, "", "");
    if (c.ark_state != VD_LINK_PASS) {
        snprintf(why, n, "%s", c.ark_detail);
        return 0;
    }
    if (c.issuer_state != VD_LINK_PASS) {
        snprintf(why, n, "%s", c.issuer_detail);
        return 0;
    }
    snprintf(why, n, "%s", c.issuer_detail);
    return 1;
}

int vd_chain_ark_ok(const vd_trust_t *trust, X509 *ark, vd_product_t product, vd_chain_memo_t *memo,
                    vd_product_t *anchors, char *why, size_t n)
{
    build_t b;
    vd_chain_t c;
    vd_chain_query_t q;
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    memset(&q, 0, sizeof(q));
    q.trust = trust;
    q.product = product;
    q.memo = memo;
    b.q = &q;
    b.c = &c;
    vd_link_state_t st = ark != NULL ? judge_ark(&b, ark, NULL, why, n) : VD_LINK_ABSENT;
    if (anchors != NULL) {
        *anchors = c.root_product;
    }
    if (ark == NULL) {
        snprintf(why, n, "no ARK");
    }
    return st == VD_LINK_PASS;
}
