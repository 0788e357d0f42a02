/*
 * Air-gapped operation: export the cache as a PEM bundle, import one, list what is cached
 * (certcache/README.md describes the bundle format).
 *
 * Format: UTF-8 text; each object is a PEM block ("CERTIFICATE" or "X509 CRL") preceded by one
 * comment line "# <kind> <product> <detail>" that people can read. The comment is advisory: a
 * CRL belongs to the ARK whose signature it carries; its comment only names the distribution
 * point (vcek or vlek) it is filed under, which changes nothing about how it is applied.
 *
 * Trust boundary: a bundle is untrusted. Import is all or nothing and stores an object only if
 * it chains to a root in the trust set: ARKs must match a pin or a configured extra anchor,
 * ASKs/ASVKs must be signed by such an ARK, VCEKs/VLEKs by an accepted ASK/ASVK (from the
 * bundle or the cache), CRLs by an accepted ARK (chain.h's and crl.h's rules, as the core).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "verdict/amdcert.h"
#include "verdict/bytes.h"
#include "verdict/chain.h"
#include "verdict/db.h"
#include "verdict/crl.h"
#include "certcache_internal.h"

#define BUNDLE_MAX_OBJECTS 256

typedef struct obj {
    X509 *x;
    X509_CRL *crl;
    char comment[160];
    int accepted;
    int cached;    /* from the cache, not the bundle: a signer only */
    X509 *crl_ark; /* for a CRL: the accepted ARK that signed it */
    vd_product_t crl_product;
} obj_t;

static int cn_prefix(X509 *x, const char *prefix, char *rest, size_t n)
{
    char cn[64];
    vd_x509_common_name(x, cn, sizeof(cn));
    size_t l = strlen(prefix);
    if (strncmp(cn, prefix, l) != 0) {
        return 0;
    }
    /* Whatever follows the prefix, cut to fit (a name longer than `rest` matches no product). */
    size_t rl = strlen(cn + l);
    if (n == 0) {
        return 1;
    }
    rl = rl < n - 1 ? rl : n - 1;
    memcpy(rest, cn + l, rl);
    rest[rl] = '\0';
    return 1;
}

static const char *name_of(X509 *x, char *buf, size_t n)
{
    return vd_x509_common_name(x, buf, n);
}

/* Split the bundle into PEM blocks with their preceding comment. */
static vd_err_t parse_bundle(const uint8_t *p, size_t len, obj_t *objs, size_t *count,
                             vd_error_t *err)
{
    const char *s = (const char *)p, *end = s + len;
    char comment[160] = "";
    *count = 0;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        const char *line_end = eol ? eol : end;
        size_t ll = (size_t)(line_end - s);
        if (ll > 0 && s[0] == '#') {
            size_t cl = ll - 1 < sizeof(comment) - 1 ? ll - 1 : sizeof(comment) - 1;
            memcpy(comment, s + 1, cl);
            comment[cl] = '\0';
            while (cl > 0 && (comment[cl - 1] == '\r' || comment[cl - 1] == ' ')) {
                comment[--cl] = '\0';
            }
        } else if (ll >= 11 && memcmp(s, "-----BEGIN ", 11) == 0) {
            /* The block ends at the matching END line. */
            const char *stop = s;
            const char *endm = NULL;
            while (stop < end) {
                const char *e2 = memchr(stop, '\n', (size_t)(end - stop));
                const char *le = e2 ? e2 : end;
                if ((size_t)(le - stop) >= 9 && memcmp(stop, "-----END ", 9) == 0) {
                    endm = e2 ? e2 + 1 : end;
                    break;
                }
                stop = e2 ? e2 + 1 : end;
            }
            if (endm == NULL) {
                return VD_ERR(err, VD_E_MALFORMED, "bundle: PEM block without an END line");
            }
            if (*count >= BUNDLE_MAX_OBJECTS) {
                return VD_ERR(err, VD_E_TOO_LARGE, "bundle: more than %d objects",
                              BUNDLE_MAX_OBJECTS);
            }
            obj_t *o = &objs[*count];
            BIO *b = BIO_new_mem_buf(s, (int)(endm - s));
            if (b == NULL) {
                return VD_ERR(err, VD_E_NOMEM, "out of memory");
            }
            if (ll >= 22 && memcmp(s, "-----BEGIN CERTIFICATE", 22) == 0) {
                o->x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            } else if (ll >= 19 && memcmp(s, "-----BEGIN X509 CRL", 19) == 0) {
                o->crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
            }
            BIO_free(b);
            ERR_clear_error();
            if (o->x == NULL && o->crl == NULL) {
                return VD_ERR(err, VD_E_MALFORMED,
                              "bundle: object %zu is not a certificate or CRL that parses",
                              *count + 1);
            }
            snprintf(o->comment, sizeof(o->comment), "%s", comment);
            comment[0] = '\0';
            (*count)++;
            s = endm;
            continue;
        }
        s = eol ? eol + 1 : end;
    }
    return VD_OK;
}

/* An accepted certificate of the bundle (or the cache) that signed `x`: a root or not. */
static X509 *find_signer(obj_t *objs, size_t n, X509 *x, int want_root)
{
    for (size_t i = 0; i < n; i++) {
        X509 *y = objs[i].x;
        int root =
            y != NULL && X509_NAME_cmp(X509_get_subject_name(y), X509_get_issuer_name(y)) == 0;
        if (y != NULL && y != x && objs[i].accepted && root == want_root &&
            vd_chain_signed_by(x, y, NULL, 0)) {
            return y;
        }
    }
    return NULL;
}

/* Append the chains already in the cache (validated again) as accepted signers. */
static void add_cached_chains(vd_certcache_t *c, obj_t *objs, size_t *n)
{
    for (int p = VD_PRODUCT_MILAN; p <= VD_PRODUCT_TURIN; p++) {
        for (int v = 0; v < 2; v++) {
            uint8_t *pem = NULL;
            size_t len = 0;
            vd_certset_t *set = NULL;
            vd_error_t e = {0};
            char why[160];
            if (*n + 2 > BUNDLE_MAX_OBJECTS ||
                vd_certcache__db_get_chain(c, (vd_product_t)p, v, &pem, &len) != 1) {
                free(pem);
                continue;
            }
            if (vd_certcache__parse_blob(pem, len, "cache", &set, &e) == VD_OK &&
                vd_certset_count(set) == 2) {
                X509 *a = vd_certset_get(set, 0), *b = vd_certset_get(set, 1);
                if (vd_certcache__chain_ok(c, (vd_product_t)p, v, a, b, why, sizeof(why))) {
                    X509_up_ref(a);
                    X509_up_ref(b);
                    objs[*n].x = a;
                    objs[*n].accepted = objs[*n].cached = 1;
                    objs[*n + 1].x = b;
                    objs[*n + 1].accepted = objs[*n + 1].cached = 1;
                    *n += 2;
                }
            }
            vd_certset_free(&set);
            free(pem);
        }
    }
}

/* What the memory layer learns of a stored row once the import has committed. */
typedef struct pending {
    cc_put_kind_t kind;
    vd_product_t p;
    int vlek;
    X509 *x, *ark; /* borrowed from objs */
    uint8_t id[64];
    size_t id_len;
    uint64_t tcb;
    uint8_t *blob; /* what puts[i].blob points to: malloc'd (chain PEM) or OpenSSL's (DER) */
} pending_t;

vd_err_t vd_certcache_import(vd_certcache_t *c, const uint8_t *bundle, size_t len, size_t *imported,
                             vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    obj_t *objs = NULL;
    cc_put_t *puts = NULL;
    pending_t *mem = NULL;
    size_t n = 0, npending = 0, crls_kept = 0;
    char name[64], rest[48], why[192];
    if (imported != NULL) {
        *imported = 0;
    }
    if (c->db == NULL && c->warning[0] != '\0') {
        return VD_ERR(err, VD_E_STORE, "import: %s", c->warning);
    }
    if (c->db == NULL) {
        return VD_ERR(err, VD_E_CONFIG, "import needs a certificate cache database (--db)");
    }
    if (vd_db_readonly(c->db)) {
        return VD_ERR(err, VD_E_STORE, "import: %s", c->warning);
    }
    objs = calloc(BUNDLE_MAX_OBJECTS, sizeof(*objs));
    if (objs == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    rc = parse_bundle(bundle, len, objs, &n, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (n == 0) {
        rc = VD_ERR(err, VD_E_MALFORMED, "bundle: no certificates or CRLs");
        goto out;
    }
    size_t nb = n; /* objects from the bundle; cached signers follow */
    add_cached_chains(c, objs, &n);
    /* 1. Roots: every self-signed certificate must be a trusted ARK. */
    for (size_t i = 0; i < n; i++) {
        X509 *x = objs[i].x;
        if (x == NULL || X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) != 0) {
            continue;
        }
        if (!vd_chain_ark_ok(c->trust, x, VD_PRODUCT_UNKNOWN, NULL, NULL, why, sizeof(why))) {
            rc = VD_ERR(err, VD_E_CHAIN_UNTRUSTED, "import refused: %s", why);
            goto out;
        }
        objs[i].accepted = 1;
    }
    /* 2. ASK/ASVK, 3. VCEK/VLEK: each signed by something accepted. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            X509 *x = objs[i].x;
            if (x == NULL || objs[i].accepted) {
                continue;
            }
            int leaf = cn_prefix(x, "SEV-VCEK", rest, sizeof(rest)) ||
                       cn_prefix(x, "SEV-VLEK", rest, sizeof(rest));
            leaf = leaf && rest[0] == '\0';
            if (leaf != pass) {
                continue;
            }
            X509 *signer = find_signer(objs, n, x, !leaf);
            if (signer == NULL) {
                rc = VD_ERR(err, VD_E_CHAIN_UNTRUSTED,
                            "import refused: \"%s\" does not chain to a pinned AMD ARK or a "
                            "configured extra root",
                            name_of(x, name, sizeof(name)));
                goto out;
            }
            if (!leaf && X509_check_ca(x) < 1) {
                rc = VD_ERR(err, VD_E_CHAIN_UNTRUSTED, "import refused: \"%s\" is not a CA",
                            name_of(x, name, sizeof(name)));
                goto out;
            }
            objs[i].accepted = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (objs[i].x != NULL && !objs[i].accepted) {
            rc = VD_ERR(err, VD_E_CHAIN_UNTRUSTED,
                        "import refused: \"%s\" is not an AMD chain "
                        "certificate",
                        name_of(objs[i].x, name, sizeof(name)));
            goto out;
        }
    }
    /* CRLs: issued and signed by an accepted ARK that anchors a named product. */
    for (size_t i = 0; i < n; i++) {
        if (objs[i].crl == NULL) {
            continue;
        }
        objs[i].crl_ark = NULL;
        for (size_t j = 0; j < n && objs[i].crl_ark == NULL; j++) {
            X509 *y = objs[j].x;
            vd_product_t anchors = VD_PRODUCT_UNKNOWN;
            if (y != NULL && objs[j].accepted && vd_chain_self_signed(y) &&
                vd_crl_signed_by(objs[i].crl, y, NULL, why, sizeof(why)) &&
                vd_chain_ark_ok(c->trust, y, VD_PRODUCT_UNKNOWN, NULL, &anchors, why,
                                sizeof(why)) &&
                anchors != VD_PRODUCT_UNKNOWN) {
                objs[i].crl_ark = y;
                objs[i].crl_product = anchors;
            }
        }
        if (objs[i].crl_ark == NULL) {
            rc = VD_ERR(err, VD_E_CHAIN_UNTRUSTED,
                        "import refused: CRL %zu is not signed by a trusted ARK in the bundle or "
                        "the cache",
                        i + 1);
            goto out;
        }
    }

    /* Everything to store is prepared (and validated) first; then one transaction writes it
     * all, and only once it has committed does the memory layer learn of it. */
    /* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI): n >= nb > 0, checked above */
    puts = calloc(n, sizeof(*puts));
    mem = calloc(n, sizeof(*mem));
    if (puts == NULL || mem == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nb; i++) {
        X509 *x = objs[i].x;
        if (x == NULL) {
            continue;
        }
        if (cn_prefix(x, "SEV-VLEK-", rest, sizeof(rest)) ||
            (cn_prefix(x, "SEV-", rest, sizeof(rest)) && strcmp(rest, "VCEK") != 0 &&
             strcmp(rest, "VLEK") != 0)) {
            int vlek = strncmp(name_of(x, name, sizeof(name)), "SEV-VLEK-", 9) == 0;
            vd_product_t p = vd_product_from_name(rest);
            X509 *ark = find_signer(objs, n, x, 1);
            if (p == VD_PRODUCT_UNKNOWN || ark == NULL ||
                !vd_certcache__chain_ok(c, p, vlek, x, ark, why, sizeof(why))) {
                rc = VD_ERR(err, VD_E_CHAIN_UNTRUSTED, "import refused: \"%s\": %s", name,
                            p == VD_PRODUCT_UNKNOWN ? "unknown product" : why);
                goto out;
            }
            size_t plen = 0;
            uint8_t *pem = vd_certcache__chain_pem(x, ark, &plen);
            if (pem == NULL) {
                rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
                goto out;
            }
            mem[npending] = (pending_t){CC_PUT_CHAIN, p, vlek, x, ark, {0}, 0, 0, pem};
            puts[npending++] =
                (cc_put_t){.kind = CC_PUT_CHAIN, .p = p, .vlek = vlek, .blob = pem, .len = plen};
        }
    }
    for (size_t i = 0; i < nb; i++) {
        X509 *x = objs[i].x;
        vd_amdcert_t ext;
        vd_error_t e = {0};
        if (x == NULL ||
            !(cn_prefix(x, "SEV-VCEK", rest, sizeof(rest)) ||
              cn_prefix(x, "SEV-VLEK", rest, sizeof(rest))) ||
            rest[0] != '\0') {
            continue;
        }
        int vlek = strcmp(name_of(x, name, sizeof(name)), "SEV-VLEK") == 0;
        if (vd_amdcert_parse(x, &ext, &e) != VD_OK || !ext.has_product_name) {
            rc = VD_ERR(err, VD_E_MALFORMED, "import refused: %s without usable AMD extensions",
                        name);
            goto out;
        }
        vd_product_t p = vd_product_from_name(ext.product_name);
        const char *missing = NULL;
        if (p == VD_PRODUCT_UNKNOWN || !vd_amdcert_tcb_complete(&ext, p, &missing)) {
            rc = VD_ERR(err, VD_E_MALFORMED,
                        "import refused: %s with product \"%s\" or an "
                        "incomplete TCB",
                        name, ext.product_name);
            goto out;
        }
        if (!vlek && !ext.has_hwid) {
            continue;
        }
        vd_tcb_t t = vd_amdcert_tcb(&ext, p);
        uint64_t raw = vd_certcache__tcb_raw(&t, p);
        unsigned char *der = NULL;
        int dlen = i2d_X509(x, &der);
        if (dlen <= 0) {
            rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
            goto out;
        }
        pending_t *m = &mem[npending];
        *m = (pending_t){vlek ? CC_PUT_VLEK : CC_PUT_VCEK, p, vlek, x, NULL, {0}, 0, raw, der};
        if (vlek) {
            vd_x509_spki_sha256(x, m->id);
            m->id_len = 32;
        } else {
            m->id_len = ext.hwid_len <= sizeof(m->id) ? ext.hwid_len : sizeof(m->id);
            memcpy(m->id, ext.hwid, m->id_len);
        }
        puts[npending++] = (cc_put_t){.kind = m->kind,
                                      .p = p,
                                      .id = m->id,
                                      .id_len = m->id_len,
                                      .tcb = raw,
                                      .blob = der,
                                      .len = (size_t)dlen,
                                      .source = "import"};
    }
    if (vd_certcache__db_put_batch(c, puts, npending) != 0) {
        rc = VD_ERR(err, VD_E_STORE, "cannot store the import in the certificate cache");
        goto out;
    }
    for (size_t i = 0; i < npending; i++) {
        pending_t *m = &mem[i];
        if (m->kind == CC_PUT_CHAIN) {
            vd_certcache__install_chain(c, m->p, m->vlek, m->x, m->ark);
        } else if (m->kind == CC_PUT_VCEK) {
            vd_certcache__install_vcek(c, m->p, m->id, m->id_len, m->tcb, m->x);
        }
    }
    pthread_mutex_lock(&c->mu);
    c->st.stored += npending;
    pthread_mutex_unlock(&c->mu);
    /* CRLs, once the certificates are in (each CRL row is kept on its own, newest first). The
     * ARK that signed it decides whose CRL it is; the comment only says from which distribution
     * point (vcek or vlek) it was taken, and the core applies every CRL of the ARK to both. An
     * older CRL than the one kept is ignored, not an error. */
    for (size_t i = 0; i < n; i++) {
        if (objs[i].crl == NULL) {
            continue;
        }
        char kind[16] = "", prod[32] = "", ktype[16] = "vcek";
        if (sscanf(objs[i].comment, " %15s %31s %15s", kind, prod, ktype) < 3) {
            snprintf(ktype, sizeof(ktype), "vcek");
        }
        if (vd_certcache__keep_crl(c, objs[i].crl_product, strcmp(ktype, "vlek") == 0,
                                   objs[i].crl_ark, objs[i].crl)) {
            crls_kept++;
        }
    }
    if (imported != NULL) {
        *imported = npending + crls_kept;
    }
out:
    for (size_t i = 0; mem != NULL && i < npending; i++) {
        if (mem[i].kind == CC_PUT_CHAIN) {
            free(mem[i].blob);
        } else {
            OPENSSL_free(mem[i].blob);
        }
    }
    free(puts);
    free(mem);
    for (size_t i = 0; objs != NULL && i < n; i++) {
        X509_free(objs[i].x);
        X509_CRL_free(objs[i].crl);
    }
    free(objs);
    return rc;
}

/* Printable ASCII only: database text is untrusted and ends up on terminals. */
static void clean_text(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < n; i++) {
        out[i] = in[i] > 0x20 && in[i] < 0x7f ? in[i] : '?';
    }
    out[i] = '\0';
}

typedef struct each_ctx {
    vd_certcache_entry_fn fn;
    void *ud;
    size_t count;
    int stopped, nomem;
} each_ctx_t;

/* The object as PEM (chains are stored as PEM already). malloc'd, NUL-terminated; NULL if the
 * row does not parse. */
static char *row_pem(const char *kind, const uint8_t *blob, size_t len, size_t *pem_len)
{
    char *out = NULL, *data = NULL;
    if (strcmp(kind, "chain") == 0) {
        out = malloc(len + 2);
        if (out != NULL) {
            memcpy(out, blob, len);
            *pem_len = len;
            if (len > 0 && blob[len - 1] != '\n') {
                out[(*pem_len)++] = '\n';
            }
            out[*pem_len] = '\0';
        }
        return out;
    }
    BIO *b = BIO_new(BIO_s_mem());
    const unsigned char *q = blob;
    int ok = 0;
    if (b != NULL && strcmp(kind, "crl") == 0) {
        X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)len);
        ok = crl != NULL && PEM_write_bio_X509_CRL(b, crl) == 1;
        X509_CRL_free(crl);
    } else if (b != NULL) {
        X509 *x = d2i_X509(NULL, &q, (long)len);
        ok = x != NULL && PEM_write_bio_X509(b, x) == 1;
        X509_free(x);
    }
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        *pem_len = (size_t)n;
    }
    BIO_free(b);
    ERR_clear_error();
    return out;
}

static int each_row(void *ud, const char *kind, const char *product, const char *detail,
                    uint64_t tcb, const uint8_t *blob, size_t len, int64_t fetched_at)
{
    each_ctx_t *x = ud;
    vd_certcache_entry_t e;
    char prod[32], det[160];
    size_t pem_len = 0;
    memset(&e, 0, sizeof(e));
    clean_text(product, prod, sizeof(prod));
    clean_text(detail, det, sizeof(det));
    for (char *d = det; *d != '\0'; d++) {
        *d = (char)(*d >= 'A' && *d <= 'F' ? *d + 32 : *d); /* hex from SQLite's hex() */
    }
    e.kind = kind;
    e.product = prod;
    e.detail = det;
    e.size = len;
    e.fetched_at = fetched_at;
    if (strcmp(kind, "crl") == 0) {
        e.next_update = (int64_t)tcb;
    } else if (strcmp(kind, "chain") != 0) {
        e.tcb = tcb;
    }
    char *pem = row_pem(kind, blob, len, &pem_len);
    e.pem = pem;
    e.pem_len = pem_len;
    x->count++;
    int stop = x->fn != NULL ? x->fn(x->ud, &e) : 0;
    free(pem);
    if (stop) {
        x->stopped = 1;
    }
    return stop;
}

vd_err_t vd_certcache_each(vd_certcache_t *c, vd_certcache_entry_fn fn, void *ud, size_t *count,
                           vd_error_t *err)
{
    each_ctx_t x = {fn, ud, 0, 0, 0};
    if (count != NULL) {
        *count = 0;
    }
    if (c->db == NULL && c->db_path != NULL) {
        return VD_ERR(err, VD_E_STORE, "%s", c->warning); /* configured, but unusable */
    }
    if (vd_certcache__db_each(c, each_row, &x) < 0) {
        return VD_ERR(err, VD_E_STORE, "cannot read the certificate cache");
    }
    if (count != NULL) {
        *count = x.count;
    }
    return VD_OK;
}
