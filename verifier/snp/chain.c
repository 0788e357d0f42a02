/*
 * X.509 links of the AMD chains (KDS.md sections 2-4): ARK -> ASK -> VCEK and ARK -> ASVK ->
 * VLEK. Each link is checked by hand rather than with X509_verify_cert so that every failure
 * has its own check name and reason; the algorithm is pinned to RSASSA-PSS with SHA-384, as
 * AMD signs every certificate in these chains.
 */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "verdict/certset.h"
#include "verdict/timefmt.h"
#include "snp_internal.h"

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
static int pss_params_are_amd(X509 *x)
{
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *oid = NULL;
    const void *pval = NULL;
    int ptype = 0, ok = 0;
    RSA_PSS_PARAMS *pss = NULL;
    X509_ALGOR *mgf_hash = NULL;
    X509_get0_signature(NULL, &alg, x);
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

int vd_chain_signed_by(X509 *subject, X509 *issuer, char *detail, size_t n)
{
    char scn[64], icn[64];
    int mdnid = NID_undef, pknid = NID_undef;
    vd_x509_common_name(subject, scn, sizeof(scn));
    vd_x509_common_name(issuer, icn, sizeof(icn));
    if (!vd_chain_issued_by(subject, issuer)) {
        snprintf(detail, n, "%s was not issued by %s (issuer name differs)", scn, icn);
        return 0;
    }
    if (X509_get_signature_nid(subject) != NID_rsassaPss ||
        X509_get_signature_info(subject, &mdnid, &pknid, NULL, NULL) != 1 || mdnid != NID_sha384 ||
        !pss_params_are_amd(subject)) {
        snprintf(detail, n, "%s is not signed with RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48 (%s)",
                 scn, OBJ_nid2sn(X509_get_signature_nid(subject)));
        ERR_clear_error();
        return 0;
    }
    EVP_PKEY *ipub = X509_get0_pubkey(issuer);
    int v = ipub != NULL ? X509_verify(subject, ipub) : -1;
    ERR_clear_error();
    if (v != 1) {
        snprintf(detail, n, "signature on %s does not verify with %s's public key", scn, icn);
        return 0;
    }
    snprintf(detail, n, "%s is signed by %s (RSASSA-PSS/SHA-384)", scn, icn);
    return 1;
}

int vd_chain_valid_at(X509 *x, time_t at, const char *label, char *detail, size_t n)
{
    char when[32], bound[32];
    vd_time_format_rfc3339(at, when, sizeof(when));
    const ASN1_TIME *nb = X509_get0_notBefore(x);
    const ASN1_TIME *na = X509_get0_notAfter(x);
    struct tm tm;
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
