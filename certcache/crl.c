/*
 * CRLs for appraisals (KDS.md sections 1 and 4, item 8): the CRLs at
 * {base}/{vcek|vlek}/v1/{product}/crl, DER, issued and signed by the ARK, list revoked
 * ASKs/ASVKs (AMD revoked Genoa ASK 0x20001). The cache only provides them
 * (vd_certcache_get_crls); the verification core judges them (include/verdict/crl.h,
 * chain.revocation).
 *
 * Trust boundary: a CRL from KDS, SQLite or a bundle is kept only if a trusted ARK (pinned or a
 * configured extra root, chain.h's rules) for its product issued and signed it. Which ARK a CRL
 * belongs to is decided by that signature, never by a URL or a bundle comment.
 *
 * Rollback: per ARK and distribution point only the newest CRL is kept (higher CRL number, else
 * later thisUpdate; include/verdict/crl.h), in memory and in SQLite, so an older CRL from an
 * import, a mirror or a hostile KDS never replaces a newer one and cannot un-revoke an ASK.
 *
 * Refresh: a CRL is fetched from KDS when it is missing or within crl_margin_s of nextUpdate,
 * at most once per crl_refetch_s per URL (remembered in SQLite so that one-shot CLI runs do not
 * ask KDS every time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "verdict/chain.h"
#include "verdict/crl.h"
#include "verdict/kds.h"
#include "verdict/report.h"
#include "certcache_internal.h"

time_t vd_certcache__asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return timegm(&tm);
}

void vd_crl_list_free(vd_crl_list_t *l)
{
    for (size_t i = 0; i < l->n && i < VD_CRLS_MAX; i++) {
        X509_CRL_free(l->crls[i]);
        l->crls[i] = NULL;
    }
    l->n = 0;
}

static void list_add(vd_crl_list_t *l, X509_CRL *crl)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->crls[i] == crl) {
            return;
        }
    }
    if (l->n >= VD_CRLS_MAX) {
        l->overflow = 1; /* never silently: the caller is told (vd_crl_list_t.overflow) */
        return;
    }
    if (X509_CRL_up_ref(crl) == 1) {
        l->crls[l->n++] = crl;
    }
}

static void note(vd_crl_list_t *l, const char *prefix, const char *what)
{
    size_t used = strlen(l->note);
    snprintf(l->note + used, sizeof(l->note) - used, "%s%s%s", used ? "; " : "", prefix, what);
}

/* The memory slot of `ark` (mu held); created when `create`. NULL when absent. */
static cc_crl_slot_t *slot_for(vd_certcache_t *c, const unsigned char spki[32], int create)
{
    for (size_t i = 0; i < CC_CRL_ARKS; i++) {
        if (c->crls[i].used && CRYPTO_memcmp(c->crls[i].ark_spki, spki, 32) == 0) {
            return &c->crls[i];
        }
    }
    if (!create) {
        return NULL;
    }
    for (size_t i = 0; i < CC_CRL_ARKS; i++) {
        if (!c->crls[i].used) {
            c->crls[i].used = 1;
            memcpy(c->crls[i].ark_spki, spki, 32);
            return &c->crls[i];
        }
    }
    /* Every slot taken (more ARKs than any deployment has): reuse one; SQLite still has it. */
    cc_crl_slot_t *s = &c->crls[c->crl_next++ % CC_CRL_ARKS];
    X509_CRL_free(s->crl[0]);
    X509_CRL_free(s->crl[1]);
    memset(s, 0, sizeof(*s));
    s->used = 1;
    memcpy(s->ark_spki, spki, 32);
    return s;
}

int vd_certcache__keep_crl(vd_certcache_t *c, vd_product_t p, int vlek, X509 *ark, X509_CRL *crl)
{
    unsigned char spki[32];
    int newer = 0;
    if (vd_x509_spki_sha256(ark, spki) != 0) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    cc_crl_slot_t *s = slot_for(c, spki, 1);
    X509_CRL *old = s->crl[vlek ? 1 : 0];
    if (old == NULL || vd_crl_newer(crl, old)) {
        X509_CRL_up_ref(crl);
        s->crl[vlek ? 1 : 0] = crl;
        X509_CRL_free(old);
        newer = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (!newer) {
        return 0;
    }
    /* SQLite keeps the newest too (store.c compares thisUpdate), whatever the memory held. */
    unsigned char *der = NULL;
    int dlen = i2d_X509_CRL(crl, &der);
    if (dlen > 0 && c->db != NULL &&
        vd_certcache__db_put_crl(c, p, vlek, der, (size_t)dlen, vd_crl_this_update(crl),
                                 vd_crl_next_update(crl)) == 0) {
        vd_certcache__count(c, &c->st.stored);
    }
    OPENSSL_free(der);
    return 1;
}

/*
 * The CRLs of `ark` into `out`: memory, else SQLite's row for that distribution point (then kept
 * in memory; a row is read once per slot). References are taken under the lock or from the
 * parse itself, so a concurrent drop of the memory layer never leaves this appraisal without a
 * CRL the cache holds.
 */
static void take_crls(vd_certcache_t *c, vd_product_t p, X509 *ark, vd_crl_list_t *out)
{
    unsigned char spki[32];
    char why[160];
    if (vd_x509_spki_sha256(ark, spki) != 0) {
        return;
    }
    for (int v = 0; v < 2; v++) {
        pthread_mutex_lock(&c->mu);
        cc_crl_slot_t *s = slot_for(c, spki, 0);
        int done = s != NULL && (s->db_loaded[v] || s->crl[v] != NULL);
        if (s != NULL && s->crl[v] != NULL) {
            list_add(out, s->crl[v]);
        }
        pthread_mutex_unlock(&c->mu);
        if (done || c->db == NULL) {
            continue;
        }
        uint8_t *der = NULL;
        size_t len = 0;
        int got = vd_certcache__db_get_crl(c, p, v, &der, &len);
        X509_CRL *crl = got == 1 ? vd_crl_parse(der, len) : NULL;
        int ok = crl != NULL && vd_crl_signed_by(crl, ark, NULL, why, sizeof(why));
        if (ok) {
            list_add(out, crl);
        }
        pthread_mutex_lock(&c->mu);
        cc_crl_slot_t *t = slot_for(c, spki, 1);
        if (ok && (t->crl[v] == NULL || vd_crl_newer(crl, t->crl[v]))) {
            X509_CRL_free(t->crl[v]);
            X509_CRL_up_ref(crl);
            t->crl[v] = crl;
        }
        t->db_loaded[v] = got >= 0; /* a read error is retried next time */
        if (ok) {
            c->st.db_hits++;
        } else if (got == 1) {
            c->st.invalid++; /* another ARK's (a different trust set) or a poisoned row */
        }
        pthread_mutex_unlock(&c->mu);
        X509_CRL_free(crl);
        free(der);
    }
}

/* Fetch (p, vlek)'s CRL from KDS and keep it if `ark` signed it. */
static vd_err_t fetch_crl(vd_certcache_t *c, vd_product_t p, int vlek, X509 *ark, int64_t deadline,
                          vd_crl_list_t *out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    uint8_t *body = NULL;
    size_t len = 0;
    X509_CRL *crl = NULL;
    char url[VD_KDS_URL_MAX], why[160];
    if (c->kds == NULL) {
        return VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "offline: CRL not fetched");
    }
    if (vd_kds_crl_url(c->kds_base, p, vlek, url, sizeof(url)) != 0) {
        return VD_ERR(err, VD_E_INTERNAL, "cannot build the CRL URL");
    }
    vd_certcache__count(c, &c->st.fetches);
    rc = vd_kds_get(c->kds, url, deadline, &body, &len, NULL, NULL, err);
    if (rc != VD_OK) {
        goto fail;
    }
    crl = vd_crl_parse(body, len);
    if (crl == NULL) {
        rc = VD_ERR(err, VD_E_SIGNATURE,
                    "KDS answered %s with an unusable CRL: not a CRL (%zu "
                    "bytes)",
                    url, len);
        goto fail;
    }
    if (!vd_crl_signed_by(crl, ark, NULL, why, sizeof(why))) {
        rc = VD_ERR(err, VD_E_SIGNATURE, "KDS answered %s with an unusable CRL: %s", url, why);
        goto fail;
    }
    vd_certcache__keep_crl(c, p, vlek, ark, crl); /* an older one than known is not kept */
    list_add(out, crl);
    goto out;
fail:
    vd_certcache__count(c, &c->st.fetch_errors);
out:
    X509_CRL_free(crl);
    free(body);
    return rc;
}

/* mu held: the memory half of claim_fetch's question for the ARK with SPKI `spki`. */
static int due_locked(vd_certcache_t *c, vd_product_t p, int vlek, const unsigned char spki[32],
                      time_t now, time_t *last)
{
    cc_crl_slot_t *s = slot_for(c, spki, 0);
    X509_CRL *have = s != NULL ? s->crl[vlek ? 1 : 0] : NULL;
    *last = c->crl_attempt[p][vlek ? 1 : 0];
    return have == NULL || vd_crl_next_update(have) - c->cfg.crl_margin_s <= now;
}

int vd_certcache_crl_due(vd_certcache_t *c, vd_product_t p, int vlek)
{
    unsigned char spki[32];
    X509 *ark = NULL;
    time_t now = time(NULL), last = 0;
    int due = 0, have = 0;
    if (c->kds == NULL || c->cfg.crl_mode == VD_CRL_OFF || p <= VD_PRODUCT_UNKNOWN ||
        p >= CC_PRODUCTS) {
        return 0;
    }
    /* The ARK's SPKI digest is kept with the chain: the hot path hashes nothing. */
    pthread_mutex_lock(&c->mu);
    cc_chain_slot_t *s = &c->chains[p][vlek ? 1 : 0];
    if (s->ark != NULL && s->spki_set) {
        due = due_locked(c, p, vlek, s->ark_spki, now, &last);
        have = 1;
    } else if (s->ark != NULL) {
        ark = s->ark;
        X509_up_ref(ark);
    }
    pthread_mutex_unlock(&c->mu);
    if (ark != NULL && vd_x509_spki_sha256(ark, spki) == 0) {
        pthread_mutex_lock(&c->mu);
        if (s->ark == ark) {
            memcpy(s->ark_spki, spki, 32);
            s->spki_set = 1;
        }
        due = due_locked(c, p, vlek, spki, now, &last);
        have = 1;
        pthread_mutex_unlock(&c->mu);
    }
    X509_free(ark);
    return have && due && now - last >= c->cfg.crl_refetch_s;
}

/* Claim the KDS attempt for (p, vlek) when due (or `force`): 1 if this caller should fetch. */
static int claim_fetch(vd_certcache_t *c, vd_product_t p, int vlek, X509 *ark, int force)
{
    unsigned char spki[32];
    char k[64];
    int64_t saved = 0;
    time_t now = time(NULL);
    if (c->kds == NULL || vd_x509_spki_sha256(ark, spki) != 0) {
        return 0;
    }
    /* Due? From memory alone, so that the hot path asks SQLite nothing. */
    time_t last = 0;
    pthread_mutex_lock(&c->mu);
    int due = due_locked(c, p, vlek, spki, now, &last);
    pthread_mutex_unlock(&c->mu);
    if (!force && !due) {
        return 0;
    }
    snprintf(k, sizeof(k), "crl_attempt:%s:%s", vd_product_name(p), vd_certcache__key_type(vlek));
    if (!force && last == 0 && vd_certcache__db_get_state(c, k, &saved) == 1 && saved > 0 &&
        saved <= (int64_t)now) {
        last = (time_t)saved; /* another process's attempt; one in the future is not believed */
    }
    int go;
    pthread_mutex_lock(&c->mu);
    time_t *attempt = &c->crl_attempt[p][vlek ? 1 : 0];
    if (*attempt > last) {
        last = *attempt;
    }
    go = force || now - last >= c->cfg.crl_refetch_s;
    if (go) {
        *attempt = now; /* concurrent appraisals do not all fetch */
    }
    pthread_mutex_unlock(&c->mu);
    if (go) {
        vd_certcache__db_put_state(c, k, (int64_t)now);
    }
    return go;
}

/* The ARK for (p, vlek): the cached chain's (fetched when allowed), else an extra root. */
static X509 *ark_for(vd_certcache_t *c, vd_product_t p, int vlek, int fetch, int64_t deadline,
                     vd_crl_list_t *out)
{
    X509 *issuer = NULL, *ark = NULL;
    vd_error_t e = {0};
    if (vd_certcache__cached_chain(c, p, vlek, &issuer, &ark) ||
        vd_certcache__cached_chain(c, p, !vlek, &issuer, &ark)) {
        X509_free(issuer);
        return ark;
    }
    if (fetch && c->kds != NULL) {
        if (vd_certcache_get_chain(c, p, vlek, (long)(deadline - vd_certcache__now_ms(c)), &issuer,
                                   &ark, &e) == VD_OK) {
            X509_free(issuer);
            return ark;
        }
        note(out, "", e.msg);
    }
    for (size_t i = 0; c->trust != NULL && i < vd_trust_extra_count(c->trust); i++) {
        X509 *x = vd_trust_extra_get(c->trust, i);
        char why[160];
        vd_product_t anchors = VD_PRODUCT_UNKNOWN;
        if (vd_chain_ark_ok(c->trust, x, p, NULL, &anchors, why, sizeof(why)) && anchors == p) {
            X509_up_ref(x);
            return x;
        }
    }
    return NULL;
}

static void crls_for(vd_certcache_t *c, vd_product_t p, int vlek, int fetch, int force,
                     int64_t deadline, vd_crl_list_t *out, vd_error_t *ferr)
{
    X509 *ark = ark_for(c, p, vlek, fetch, deadline, out);
    if (ark == NULL) {
        /* No ARK to verify them with here: hand over what SQLite has; the core keeps only
         * what the chain's ARK signed. */
        for (int v = 0; v < 2; v++) {
            uint8_t *der = NULL;
            size_t len = 0;
            X509_CRL *crl = NULL;
            if (vd_certcache__db_get_crl(c, p, v, &der, &len) == 1 &&
                (crl = vd_crl_parse(der, len)) != NULL) {
                list_add(out, crl);
            }
            X509_CRL_free(crl);
            free(der);
        }
        return;
    }
    take_crls(c, p, ark, out);
    if (fetch && claim_fetch(c, p, vlek, ark, force)) {
        vd_error_t e = {0};
        if (fetch_crl(c, p, vlek, ark, deadline, out, &e) != VD_OK) {
            note(out, "CRL refresh: ", e.msg);
            if (ferr != NULL) {
                VD_ERR(ferr, e.code, "%s", e.msg);
            }
        }
    }
    X509_free(ark);
}

vd_err_t vd_certcache_get_crls(vd_certcache_t *c, vd_product_t p, int vlek, long budget_ms,
                               int no_fetch, vd_crl_list_t *out, vd_error_t *err)
{
    /* VD_CERTCACHE_NO_WAIT: what memory and SQLite hold, nothing fetched (certcache.h). */
    int64_t deadline = vd_certcache__deadline(c, budget_ms < 0 ? 0 : budget_ms);
    no_fetch = no_fetch || budget_ms < 0;
    (void)err;
    memset(out, 0, sizeof(*out));
    if (c->cfg.crl_mode == VD_CRL_OFF) {
        return VD_OK;
    }
    if (p != VD_PRODUCT_UNKNOWN) {
        crls_for(c, p, vlek, !no_fetch, 0, deadline, out, NULL);
    } else {
        for (int q = VD_PRODUCT_MILAN; q <= VD_PRODUCT_TURIN; q++) {
            crls_for(c, (vd_product_t)q, vlek, 0, 0, deadline, out, NULL);
        }
    }
    return VD_OK;
}

vd_err_t vd_certcache_get_crls_for_report(vd_certcache_t *c, const uint8_t *report,
                                          size_t report_len, vd_product_t hint, long budget_ms,
                                          int no_fetch, vd_crl_list_t *out, vd_error_t *err)
{
    vd_snp_report_t *r = malloc(sizeof(*r));
    vd_error_t pe = {0};
    memset(out, 0, sizeof(*out));
    if (r == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    vd_err_t rc = VD_OK;
    if (vd_snp_report_parse(report, report_len, r, &pe) == VD_OK) {
        vd_product_t p =
            r->version >= 3 ? vd_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id, NULL) : hint;
        int vlek = vd_snp_report_signing_key(r) == VD_SNP_SIGNING_KEY_VLEK;
        /* Unknown product (a v2 report without a hint): whatever is cached, nothing fetched. */
        rc = vd_certcache_get_crls(c, p, vlek, budget_ms, no_fetch || p == VD_PRODUCT_UNKNOWN, out,
                                   err);
    }
    free(r);
    return rc;
}

void vd_certcache__crl_prefetch(vd_certcache_t *c, vd_product_t p, int vlek, int64_t deadline)
{
    vd_crl_list_t l;
    memset(&l, 0, sizeof(l));
    if (c->cfg.crl_mode != VD_CRL_OFF && p != VD_PRODUCT_UNKNOWN) {
        crls_for(c, p, vlek, 1, 0, deadline, &l, NULL); /* fetched only when due */
    }
    vd_crl_list_free(&l);
}

vd_err_t vd_certcache_refresh_crl(vd_certcache_t *c, vd_product_t p, int vlek, time_t at,
                                  long budget_ms, vd_error_t *err)
{
    vd_crl_list_t l;
    vd_error_t fe = {0};
    vd_err_t rc = VD_OK;
    int64_t deadline = vd_certcache__deadline(c, budget_ms < 0 ? 0 : budget_ms);
    (void)at;
    if (p == VD_PRODUCT_UNKNOWN) {
        return VD_ERR(err, VD_E_USAGE, "refresh_crl: product unknown");
    }
    memset(&l, 0, sizeof(l));
    crls_for(c, p, vlek, 1, 1, deadline, &l, &fe);
    if (fe.code != VD_OK) {
        rc = VD_ERR(err, fe.code, "%s", fe.msg);
    } else if (l.n == 0) {
        rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "no CRL available%s%s", l.note[0] ? ": " : "",
                    l.note);
    }
    vd_crl_list_free(&l);
    return rc;
}
