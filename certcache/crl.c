/*
 * Revocation of the AMD chain (KDS.md sections 1 and 4, item 8): the CRL at
 * {base}/{vcek|vlek}/v1/{product}/crl, DER, signed by the ARK, lists revoked ASKs/ASVKs (AMD
 * revoked Genoa ASK 0x20001). AMD does not revoke VCEKs, but a VCEK serial that is listed is
 * honoured too.
 *
 * Trust boundary: a CRL is used only if its issuer is the chain's ARK (itself validated against
 * the pins) and the ARK's signature over it verifies.
 *
 * Freshness: a listed serial rejects whatever the CRL's age (revocation is permanent). An
 * unlisted serial passes only if the CRL is fresh at the appraisal time (before nextUpdate).
 * Otherwise the configured mode decides: fail-open (default) or fail-closed; see
 * certcache/README.md for why fail-open is the default. A CRL is refreshed from KDS when it is
 * within crl_margin_s of nextUpdate, at most once per crl_refetch_s (remembered in SQLite so
 * that one-shot CLI runs do not ask KDS every time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "verdict/kds.h"
#include "verdict/report.h"
#include "verdict/chain.h"
#include "certcache_internal.h"

time_t vd_certcache__asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return timegm(&tm);
}

/* Parse a DER (or PEM) CRL and verify it against `ark`. NULL with `why` on failure. */
static X509_CRL *crl_parse_verify(const uint8_t *p, size_t len, X509 *ark, char *why, size_t n)
{
    X509_CRL *crl = NULL;
    const unsigned char *q = p;
    if (len > 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl != NULL && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    if (crl == NULL) {
        snprintf(why, n, "not a CRL (%zu bytes)", len);
        goto fail;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0) {
        snprintf(why, n, "the CRL is not issued by the ARK");
        goto fail;
    }
    EVP_PKEY *k = X509_get0_pubkey(ark);
    if (k == NULL || X509_CRL_verify(crl, k) != 1) {
        snprintf(why, n, "the CRL's signature does not verify with the ARK's key");
        goto fail;
    }
    if (X509_CRL_get0_nextUpdate(crl) == NULL) {
        snprintf(why, n, "the CRL has no nextUpdate");
        goto fail;
    }
    ERR_clear_error();
    return crl;
fail:
    ERR_clear_error();
    X509_CRL_free(crl);
    return NULL;
}

static time_t next_update(const X509_CRL *crl)
{
    return vd_certcache__asn1_time(X509_CRL_get0_nextUpdate(crl));
}

static void install_crl(vd_certcache_t *c, vd_product_t p, int vlek, X509_CRL *crl)
{
    pthread_mutex_lock(&c->mu);
    cc_crl_slot_t *s = &c->crls[p][vlek ? 1 : 0];
    X509_CRL_up_ref(crl);
    X509_CRL_free(s->crl);
    s->crl = crl;
    s->next_update = next_update(crl);
    pthread_mutex_unlock(&c->mu);
}

/* Fetch from KDS, verify, store. On success *got is a new reference to the CRL installed. */
static vd_err_t fetch_crl(vd_certcache_t *c, vd_product_t p, int vlek, X509 *ark, int64_t deadline,
                          X509_CRL **got, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    uint8_t *body = NULL;
    size_t len = 0;
    X509_CRL *crl = NULL;
    char url[VD_KDS_URL_MAX], why[160], k[64];
    if (c->kds == NULL) {
        return VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "offline: CRL not fetched");
    }
    if (vd_kds_crl_url(c->kds_base, p, vlek, url, sizeof(url)) != 0) {
        return VD_ERR(err, VD_E_INTERNAL, "cannot build the CRL URL");
    }
    time_t now = time(NULL);
    snprintf(k, sizeof(k), "crl_attempt:%s:%s", vd_product_name(p), vd_certcache__key_type(vlek));
    vd_certcache__db_put_state(c, k, (int64_t)now);
    pthread_mutex_lock(&c->mu);
    c->crls[p][vlek ? 1 : 0].attempt_at = now;
    c->st.fetches++;
    pthread_mutex_unlock(&c->mu);
    rc = vd_kds_get(c->kds, url, deadline, &body, &len, NULL, NULL, err);
    if (rc != VD_OK) {
        goto fail;
    }
    crl = crl_parse_verify(body, len, ark, why, sizeof(why));
    if (crl == NULL) {
        rc = VD_ERR(err, VD_E_SIGNATURE, "KDS answered %s with an unusable CRL: %s", url, why);
        goto fail;
    }
    unsigned char *der = NULL;
    int dlen = i2d_X509_CRL(crl, &der);
    if (dlen > 0 &&
        vd_certcache__db_put_crl(c, p, vlek, der, (size_t)dlen,
                                 vd_certcache__asn1_time(X509_CRL_get0_lastUpdate(crl)),
                                 next_update(crl)) == 0 &&
        c->db != NULL) {
        vd_certcache__count(c, &c->st.stored);
    }
    OPENSSL_free(der);
    install_crl(c, p, vlek, crl);
    *got = crl; /* our own reference: the slot may be dropped (drop_memory) at any time */
    crl = NULL;
    goto out;
fail:
    vd_certcache__count(c, &c->st.fetch_errors);
out:
    X509_CRL_free(crl);
    free(body);
    return rc;
}

/*
 * The best CRL for (p, vlek): memory, then SQLite, refreshed from KDS when due. New reference
 * in *out (NULL if none). Fetch errors are returned in `ferr` but are not fatal.
 */
static void get_crl(vd_certcache_t *c, vd_product_t p, int vlek, X509 *ark, int64_t deadline,
                    int force, X509_CRL **out, vd_error_t *ferr)
{
    char why[160], k[64];
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    cc_crl_slot_t *s = &c->crls[p][vlek ? 1 : 0];
    X509_CRL *crl = s->crl;
    if (crl != NULL) {
        X509_CRL_up_ref(crl);
    }
    time_t attempt = s->attempt_at;
    pthread_mutex_unlock(&c->mu);
    if (crl == NULL) {
        uint8_t *der = NULL;
        size_t len = 0;
        if (vd_certcache__db_get_crl(c, p, vlek, &der, &len) == 1) {
            crl = crl_parse_verify(der, len, ark, why, sizeof(why));
            if (crl != NULL) {
                install_crl(c, p, vlek, crl);
                vd_certcache__count(c, &c->st.db_hits);
            } else {
                vd_certcache__count(c, &c->st.invalid);
            }
        }
        free(der);
    }
    if (attempt == 0) {
        int64_t v = 0;
        snprintf(k, sizeof(k), "crl_attempt:%s:%s", vd_product_name(p),
                 vd_certcache__key_type(vlek));
        if (vd_certcache__db_get_state(c, k, &v) == 1) {
            attempt = (time_t)v;
        }
    }
    time_t now = time(NULL);
    int due = crl == NULL || next_update(crl) - c->cfg.crl_margin_s <= now;
    int go = 0;
    if (c->kds != NULL && deadline != CC_NO_WAIT) {
        /* Claim the attempt under the lock: concurrent appraisals do not all fetch. */
        pthread_mutex_lock(&c->mu);
        if (attempt < s->attempt_at) {
            attempt = s->attempt_at;
        }
        go = force || (due && now - attempt >= c->cfg.crl_refetch_s);
        if (go) {
            s->attempt_at = now;
        }
        pthread_mutex_unlock(&c->mu);
    }
    if (go) {
        X509_CRL *fresh = NULL;
        if (fetch_crl(c, p, vlek, ark, deadline, &fresh, ferr) == VD_OK) {
            X509_CRL_free(crl);
            crl = fresh;
        }
    }
    *out = crl;
}

void vd_certcache__crl_prefetch(vd_certcache_t *c, vd_product_t p, int vlek, int64_t deadline)
{
    X509 *issuer = NULL, *ark = NULL;
    X509_CRL *crl = NULL;
    vd_error_t e = {0};
    if (vd_certcache_get_chain(c, p, vlek, 0, &issuer, &ark, &e) == VD_OK) {
        get_crl(c, p, vlek, ark, deadline, 0, &crl, &e);
    }
    X509_CRL_free(crl);
    X509_free(issuer);
    X509_free(ark);
}

vd_err_t vd_certcache_refresh_crl(vd_certcache_t *c, vd_product_t p, int vlek, time_t at,
                                  long budget_ms, vd_error_t *err)
{
    X509 *issuer = NULL, *ark = NULL;
    X509_CRL *crl = NULL;
    vd_error_t fe = {0};
    int64_t deadline = vd_certcache__deadline(c, budget_ms < 0 ? 0 : budget_ms);
    (void)at;
    vd_err_t rc = vd_certcache_get_chain(c, p, vlek, budget_ms, &issuer, &ark, err);
    if (rc != VD_OK) {
        return rc;
    }
    get_crl(c, p, vlek, ark, deadline, 1, &crl, &fe);
    if (fe.code != VD_OK) {
        rc = VD_ERR(err, fe.code, "%s", fe.msg);
    } else if (crl == NULL) {
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "no CRL available");
    }
    X509_CRL_free(crl);
    X509_free(issuer);
    X509_free(ark);
    return rc;
}

static char *serial_hex(X509 *x, char *out, size_t n)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn != NULL ? BN_bn2hex(bn) : NULL;
    snprintf(out, n, "0x%s", h != NULL ? h : "?");
    OPENSSL_free(h);
    BN_free(bn);
    return out;
}

/* 1 and the revocation date if `x` is listed in `crl`. */
static int listed(X509_CRL *crl, X509 *x, char *when, size_t n)
{
    X509_REVOKED *rev = NULL;
    if (X509_CRL_get0_by_cert(crl, &rev, x) != 1 || rev == NULL) {
        return 0;
    }
    time_t t = vd_certcache__asn1_time(X509_REVOKED_get0_revocationDate(rev));
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, n, "%Y-%m-%d", &tm);
    return 1;
}

static void append_missing(vd_snp_result_t *res, const char *what)
{
    size_t used = strlen(res->missing);
    snprintf(res->missing + used, sizeof(res->missing) - used, "%s%s", used ? "; " : "", what);
}

vd_err_t vd_certcache_check_revocation(vd_certcache_t *c, const vd_certset_t *certs, time_t at,
                                       long budget_ms, vd_snp_result_t *res, vd_error_t *err)
{
    X509 *leaf = NULL, *issuer = NULL, *ark = NULL, *cached_issuer = NULL, *cached_ark = NULL;
    X509_CRL *crl = NULL;
    vd_error_t fe = {0};
    char iserial[80], lserial[80], when[64], nu[32], acn[64];
    (void)err;
    if (c->cfg.crl_mode == VD_CRL_OFF || res->status != VD_SNP_GENUINE || certs == NULL) {
        return VD_OK;
    }
    vd_product_t p = res->product;
    int vlek = res->signing_key == VD_SNP_SIGNING_KEY_VLEK;
    const char *iname = vlek ? "ASVK" : "ASK";
    int64_t deadline = vd_certcache__deadline(c, budget_ms);

    /* The chain the core accepted: the leaf that verifies, its issuer, the issuer's root. */
    for (size_t i = 0; i < vd_certset_count(certs) && leaf == NULL; i++) {
        X509 *x = vd_certset_get(certs, i);
        if (vd_x509_cn_is(x, vlek ? "SEV-VLEK" : "SEV-VCEK") &&
            vd_snp_report_signed_by(&res->report, X509_get0_pubkey(x), NULL, 0)) {
            leaf = x;
        }
    }
    for (size_t i = 0; leaf != NULL && i < vd_certset_count(certs) && issuer == NULL; i++) {
        X509 *x = vd_certset_get(certs, i);
        if (x != leaf && vd_chain_signed_by(leaf, x, NULL, 0)) {
            issuer = x;
        }
    }
    for (size_t i = 0; issuer != NULL && i < vd_certset_count(certs) && ark == NULL; i++) {
        X509 *x = vd_certset_get(certs, i);
        if (x != issuer && vd_chain_signed_by(issuer, x, NULL, 0) &&
            vd_certcache__chain_ok(c, p, vlek, issuer, x, when, sizeof(when))) {
            ark = x;
        }
    }
    for (size_t i = 0; issuer != NULL && ark == NULL && i < vd_trust_extra_count(c->trust); i++) {
        X509 *x = vd_trust_extra_get(c->trust, i);
        if (vd_chain_signed_by(issuer, x, NULL, 0)) {
            ark = x;
        }
    }
    if (leaf == NULL || issuer == NULL || ark == NULL) {
        vd_checks_add(&res->checks, "chain.revocation", VD_CHECK_SKIP,
                      "the chain the report was verified with could not be located");
        return VD_OK;
    }
    get_crl(c, p, vlek, ark, deadline, 0, &crl, &fe);
    vd_x509_common_name(ark, acn, sizeof(acn));
    serial_hex(issuer, iserial, sizeof(iserial));
    serial_hex(leaf, lserial, sizeof(lserial));
    if (crl != NULL) {
        if (listed(crl, issuer, when, sizeof(when))) {
            vd_checks_add(&res->checks, "chain.revocation", VD_CHECK_FAIL,
                          "the %s (serial %s) is revoked by %s's CRL (revoked %s)", iname, iserial,
                          acn, when);
            res->status = VD_SNP_REJECTED;
            goto out;
        }
        if (listed(crl, leaf, when, sizeof(when))) {
            vd_checks_add(&res->checks, "chain.revocation", VD_CHECK_FAIL,
                          "the %s (serial %s) is revoked by %s's CRL (revoked %s)",
                          vlek ? "VLEK" : "VCEK", lserial, acn, when);
            res->status = VD_SNP_REJECTED;
            goto out;
        }
        time_t nut = next_update(crl);
        struct tm tm;
        gmtime_r(&nut, &tm);
        strftime(nu, sizeof(nu), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (at < nut) {
            vd_checks_add(&res->checks, "chain.revocation", VD_CHECK_PASS,
                          "%s serial %s is not in %s's CRL (nextUpdate %s)", iname, iserial, acn,
                          nu);
            goto out;
        }
        snprintf(when, sizeof(when), "stale since %s", nu);
    } else {
        snprintf(when, sizeof(when), "none available");
    }
    char text[VD_ERROR_MSG_MAX + 200];
    snprintf(text, sizeof(text), "no CRL of %.63s fresh at the appraisal time (%s)%s%.200s", acn,
             when, fe.code != VD_OK ? ": " : "", fe.code != VD_OK ? fe.msg : "");
    if (c->cfg.crl_mode == VD_CRL_FAIL_CLOSED) {
        vd_checks_add(&res->checks, "chain.revocation", VD_CHECK_SKIP, "%s; fail-closed", text);
        append_missing(res, text);
        res->status = VD_SNP_COLLATERAL_MISSING;
    } else {
        vd_checks_add(&res->checks, "chain.revocation", VD_CHECK_SKIP,
                      "%s; fail-open: %s serial %s not known to be revoked", text, iname, iserial);
    }
out:
    X509_CRL_free(crl);
    X509_free(cached_issuer);
    X509_free(cached_ark);
    return VD_OK;
}
