/*
 * SEV-SNP report verification: the checks listed in include/verdict/verify.h.
 *
 * Trust boundary: the report and every candidate certificate are untrusted. Nothing here reads a
 * file, the clock or the network; the collateral, the trust anchors and the time come in through
 * vd_snp_input_t. Every check appends a named result; a check whose inputs are absent is "skip"
 * with the reason, and a needed certificate that was not supplied makes the status
 * COLLATERAL_MISSING (unless something already failed) with the place it would come from.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "verdict/amdcert.h"
#include "verdict/bytes.h"
#include "verdict/certtable.h"
#include "verdict/kds.h"
#include "verdict/timefmt.h"
#include "verdict/verify.h"
#include "snp_internal.h"

#define DETAIL_MAX VD_CHECK_DETAIL_MAX

/* Everything one appraisal works on, so the steps below stay small. */
typedef struct ctx {
    const vd_snp_input_t *in;
    vd_snp_result_t *out;
    const vd_snp_report_t *r;
    const vd_certset_t *certs; /* the caller's candidates plus the cert table's */
    int vlek;                  /* the report says it is signed by a VLEK */
    int key_known;             /* SIGNING_KEY is VCEK or VLEK */
    X509 *leaf;                /* VCEK or VLEK, borrowed from the candidates */
    int leaf_signed;           /* find_leaf saw the report signature verify with this key */
    vd_amdcert_t leaf_ext;
    int leaf_ext_ok;
    X509 *issuer; /* ASK or ASVK */
    X509 *root;   /* ARK */
    /* find_issuer's successful signature checks, reused by check_chain ("" = not verified) */
    char leaf_link[DETAIL_MAX];
    char issuer_link[DETAIL_MAX];
    const char *root_origin;
} ctx_t;

const char *vd_snp_status_str(vd_snp_status_t s)
{
    switch (s) {
    case VD_SNP_GENUINE:
        return "genuine";
    case VD_SNP_REJECTED:
        return "rejected";
    case VD_SNP_COLLATERAL_MISSING:
        return "collateral-missing";
    }
    return "rejected";
}

const char *vd_signing_key_name(unsigned k)
{
    switch (k) {
    case VD_SNP_SIGNING_KEY_VCEK:
        return "VCEK";
    case VD_SNP_SIGNING_KEY_VLEK:
        return "VLEK";
    case VD_SNP_SIGNING_KEY_NONE:
        return "none";
    default:
        return "reserved";
    }
}

#define PASS(c, name, ...) vd_checks_add(&(c)->out->checks, name, VD_CHECK_PASS, __VA_ARGS__)
#define FAIL(c, name, ...) vd_checks_add(&(c)->out->checks, name, VD_CHECK_FAIL, __VA_ARGS__)
#define SKIP(c, name, ...) vd_checks_add(&(c)->out->checks, name, VD_CHECK_SKIP, __VA_ARGS__)

/* Append `what` to the list of missing collateral ("; "-separated). */
static void add_missing(ctx_t *c, const char *what)
{
    vd_snp_result_t *o = c->out;
    size_t used = strlen(o->missing);
    snprintf(o->missing + used, sizeof(o->missing) - used, "%s%s", used ? "; " : "", what);
}

static const char *kds_base(const ctx_t *c)
{
    return c->in->kds_base != NULL ? c->in->kds_base : VD_KDS_DEFAULT_BASE;
}

/* ---- report fields ------------------------------------------------------------------------ */

static void check_report_fields(ctx_t *c)
{
    const vd_snp_report_t *r = c->r;
    unsigned key = vd_snp_report_signing_key(r);

    if (r->signature_algo == VD_SNP_SIG_ALGO_ECDSA_P384_SHA384) {
        PASS(c, "report.signature_algo", "SIGNATURE_ALGO 1 (ECDSA P-384 with SHA-384)");
    } else {
        FAIL(c, "report.signature_algo",
             "SIGNATURE_ALGO %u is not 1 (ECDSA P-384 with SHA-384, the only defined value)",
             r->signature_algo);
    }

    if (r->signer_info & VD_SNP_SIGNER_RESERVED_MASK) {
        FAIL(c, "report.signer_info", "SIGNER_INFO 0x%08x has reserved bits 31:5 set",
             r->signer_info);
    } else if (key == VD_SNP_SIGNING_KEY_NONE) {
        FAIL(c, "report.signer_info", "SIGNING_KEY 7: the report is not signed");
    } else if (key != VD_SNP_SIGNING_KEY_VCEK && key != VD_SNP_SIGNING_KEY_VLEK) {
        FAIL(c, "report.signer_info", "SIGNING_KEY %u is reserved (0 VCEK and 1 VLEK expected)",
             key);
    } else if (r->signer_info & VD_SNP_SIGNER_MASK_CHIP_KEY) {
        FAIL(c, "report.signer_info",
             "MASK_CHIP_KEY is set: the firmware wrote zeros instead of a signature");
    } else {
        c->key_known = 1;
        PASS(c, "report.signer_info", "SIGNING_KEY %s, AUTHOR_KEY_EN %u", vd_signing_key_name(key),
             r->signer_info & VD_SNP_SIGNER_AUTHOR_KEY_EN);
    }
    c->vlek = key == VD_SNP_SIGNING_KEY_VLEK;

    if (!(r->policy & VD_SNP_POLICY_RESERVED_ONE)) {
        FAIL(c, "report.policy", "POLICY 0x%llx: reserved bit 17 must be 1",
             (unsigned long long)r->policy);
    } else if (r->policy & VD_SNP_POLICY_RESERVED_MASK) {
        FAIL(c, "report.policy", "POLICY 0x%llx: reserved bits 63:26 must be zero",
             (unsigned long long)r->policy);
    } else {
        PASS(c, "report.policy", "POLICY 0x%llx: reserved bits as required",
             (unsigned long long)r->policy);
    }

    if (r->vmpl > 3) {
        FAIL(c, "report.vmpl", "VMPL %u is not 0..3", r->vmpl);
    } else {
        PASS(c, "report.vmpl", "VMPL %u", r->vmpl);
    }
}

/* Must-be-zero byte ranges by version (SNP-FORMAT.md section 10, item 5). */
static void check_reserved(ctx_t *c)
{
    struct range {
        unsigned from, to; /* inclusive */
    };
    const struct range common[] = {{0x04C, 0x04F}, {0x1EB, 0x1EB}, {0x1EF, 0x1EF}};
    const vd_snp_report_t *r = c->r;
    struct range ranges[6];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        ranges[n++] = common[i];
    }
    ranges[n++] = r->version >= 3 ? (struct range){0x18B, 0x19F} : (struct range){0x188, 0x19F};
    ranges[n++] = r->version >= 5 ? (struct range){0x208, 0x29F} : (struct range){0x1F8, 0x29F};
    for (size_t i = 0; i < n; i++) {
        for (unsigned off = ranges[i].from; off <= ranges[i].to; off++) {
            if (r->raw[off] != 0) {
                FAIL(c, "report.reserved",
                     "reserved byte 0x%03X is 0x%02x; bytes 0x%03X-0x%03X must be zero in a v%u "
                     "report",
                     off, r->raw[off], ranges[i].from, ranges[i].to, r->version);
                return;
            }
        }
    }
    PASS(c, "report.reserved", "all reserved ranges of a v%u report are zero", r->version);
}

/* ---- candidate certificates ---------------------------------------------------------------- */

static size_t n_certs(const ctx_t *c)
{
    return c->certs != NULL ? vd_certset_count(c->certs) : 0;
}

/*
 * The endorsement key: a candidate with CN SEV-VCEK or SEV-VLEK. With several (a cert table and
 * --certs may both carry one) the one whose key verifies the report wins, else the first: any
 * choice is then checked in full, so the choice cannot make a forgery pass.
 */
static X509 *find_leaf(ctx_t *c)
{
    const char *cn = c->vlek ? "SEV-VLEK" : "SEV-VCEK";
    X509 *first = NULL;
    char scratch[DETAIL_MAX];
    for (size_t i = 0; i < n_certs(c); i++) {
        X509 *x = vd_certset_get(c->certs, i);
        if (!vd_x509_cn_is(x, cn)) {
            continue;
        }
        if (first == NULL) {
            first = x;
        }
        if (vd_snp_report_signed_by(c->r, X509_get0_pubkey(x), scratch, sizeof(scratch))) {
            c->leaf_signed = 1;
            return x;
        }
    }
    return first;
}

/*
 * The issuer of `subject` among the candidates (and extra anchors when `roots`): preferably one
 * whose signature on `subject` verifies, whose detail then goes to `link` so that check_chain
 * need not verify it again; else the first with the right name (check_chain then says why).
 */
static X509 *find_issuer(const ctx_t *c, X509 *subject, int roots, const char **origin,
                         char link[DETAIL_MAX])
{
    X509 *name_match = NULL;
    link[0] = '\0';
    for (size_t i = 0; i < n_certs(c); i++) {
        X509 *x = vd_certset_get(c->certs, i);
        if (x == subject || !vd_chain_issued_by(subject, x) ||
            (roots && !vd_chain_self_signed(x))) {
            continue;
        }
        if (vd_chain_signed_by(subject, x, link, DETAIL_MAX)) {
            *origin = vd_certset_origin(c->certs, i);
            return x;
        }
        link[0] = '\0';
        if (name_match == NULL) {
            name_match = x;
            *origin = vd_certset_origin(c->certs, i);
        }
    }
    for (size_t i = 0; roots && c->in->trust && i < vd_trust_extra_count(c->in->trust); i++) {
        X509 *x = vd_trust_extra_get(c->in->trust, i);
        if (vd_chain_issued_by(subject, x) && vd_chain_signed_by(subject, x, link, DETAIL_MAX)) {
            *origin = "extra trust anchor";
            return x;
        }
        link[0] = '\0';
    }
    return name_match;
}

/* A candidate whose CN is exactly `cn` (used to locate the chain when the leaf is absent). */
static X509 *find_by_cn(const ctx_t *c, const char *cn)
{
    for (size_t i = 0; i < n_certs(c); i++) {
        X509 *x = vd_certset_get(c->certs, i);
        if (vd_x509_cn_is(x, cn)) {
            return x;
        }
    }
    return NULL;
}

/* ---- product ------------------------------------------------------------------------------- */

static void determine_product(ctx_t *c)
{
    vd_snp_result_t *o = c->out;
    const vd_snp_report_t *r = c->r;
    vd_product_t from_cert = VD_PRODUCT_UNKNOWN;
    if (c->leaf_ext_ok && c->leaf_ext.has_product_name) {
        from_cert = vd_product_from_name(c->leaf_ext.product_name);
    }
    if (r->version >= 3) {
        o->product = vd_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id, &o->product_variant);
        if (o->product == VD_PRODUCT_UNKNOWN) {
            FAIL(c, "product",
                 "CPUID family 0x%02x model 0x%02x stepping %u is not a known SEV-SNP product "
                 "(Milan, Genoa, Siena/Bergamo, Turin)",
                 r->cpuid_fam_id, r->cpuid_mod_id, r->cpuid_step);
            return;
        }
        o->product_source = "cpuid";
        PASS(c, "product", "%s (CPUID family 0x%02x model 0x%02x stepping %u)", o->product_variant,
             r->cpuid_fam_id, r->cpuid_mod_id, r->cpuid_step);
        return;
    }
    /* v2: no CPUID. Never guess (SNP-FORMAT.md section 7). */
    vd_product_t hint = c->in->product_hint;
    if (from_cert != VD_PRODUCT_UNKNOWN && hint != VD_PRODUCT_UNKNOWN && from_cert != hint) {
        FAIL(c, "product",
             "v2 report: the certificate says %s (productName \"%s\") but %s was "
             "named as the product",
             vd_product_name(from_cert), c->leaf_ext.product_name, vd_product_name(hint));
        return;
    }
    if (from_cert != VD_PRODUCT_UNKNOWN) {
        o->product = from_cert;
        o->product_source = "certificate";
        PASS(c, "product", "%s (v2 report has no CPUID; from the %s productName \"%s\")",
             vd_product_name(from_cert), c->vlek ? "VLEK" : "VCEK", c->leaf_ext.product_name);
    } else if (hint != VD_PRODUCT_UNKNOWN) {
        o->product = hint;
        o->product_source = "hint";
        PASS(c, "product", "%s (v2 report has no CPUID; as named by the caller)",
             vd_product_name(hint));
    } else {
        SKIP(c, "product", "v2 report has no CPUID and no certificate names the product");
        add_missing(c, "product unknown: a v2 report carries no CPUID; supply its VCEK "
                       "(--certs) or name the product (--product Milan|Genoa|Turin)");
    }
    if (o->product_variant == NULL && o->product != VD_PRODUCT_UNKNOWN) {
        o->product_variant = vd_product_name(o->product);
    }
}

/* ---- certificates -------------------------------------------------------------------------- */

/*
 * AMD's subject for every VCEK/VLEK: OU=Engineering, C=US, L=Santa Clara, ST=CA,
 * O=Advanced Micro Devices (go-sev-guest checks the same). Returns the first field that is
 * absent, repeated or different, or NULL.
 */
static const char *amd_subject_mismatch(X509 *x)
{
    static const struct {
        int nid;
        const char *value;
        const char *label;
    } fields[] = {
        {NID_organizationalUnitName, "Engineering", "OU"},
        {NID_countryName, "US", "C"},
        {NID_localityName, "Santa Clara", "L"},
        {NID_stateOrProvinceName, "CA", "ST"},
        {NID_organizationName, "Advanced Micro Devices", "O"},
    };
    X509_NAME *name = X509_get_subject_name(x);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int idx = X509_NAME_get_index_by_NID(name, fields[i].nid, -1);
        if (idx < 0 || X509_NAME_get_index_by_NID(name, fields[i].nid, idx) >= 0) {
            return fields[i].label;
        }
        const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
        size_t len = strlen(fields[i].value);
        if ((size_t)ASN1_STRING_length(d) != len ||
            memcmp(ASN1_STRING_get0_data(d), fields[i].value, len) != 0) {
            return fields[i].label;
        }
    }
    return NULL;
}

static void check_leaf_profile(ctx_t *c)
{
    const char *kname = c->vlek ? "VLEK" : "VCEK";
    vd_error_t e = {0};
    if (!vd_chain_key_is_p384(X509_get0_pubkey(c->leaf))) {
        FAIL(c, "cert.endorsement_key", "the %s's public key is not EC P-384", kname);
        return;
    }
    const char *bad_field = amd_subject_mismatch(c->leaf);
    if (bad_field != NULL) {
        FAIL(c, "cert.endorsement_key", "the %s's subject %s is not AMD's (KDS.md section 2)",
             kname, bad_field);
        return;
    }
    if (!c->leaf_ext_ok) {
        vd_amdcert_t tmp;
        vd_amdcert_parse(c->leaf, &tmp, &e);
        FAIL(c, "cert.endorsement_key", "the %s's AMD extensions do not decode: %s", kname, e.msg);
        return;
    }
    const char *missing = NULL;
    vd_product_t p = c->out->product;
    if (p != VD_PRODUCT_UNKNOWN && !vd_amdcert_tcb_complete(&c->leaf_ext, p, &missing)) {
        FAIL(c, "cert.endorsement_key", "the %s has no %s extension", kname, missing);
        return;
    }
    if (!c->vlek && !c->leaf_ext.has_hwid) {
        FAIL(c, "cert.endorsement_key", "the VCEK has no hwID extension");
        return;
    }
    if (c->vlek && c->leaf_ext.has_hwid) {
        FAIL(c, "cert.endorsement_key", "a VLEK must not carry a hwID extension");
        return;
    }
    PASS(c, "cert.endorsement_key", "%s: EC P-384, AMD extensions decode%s%s", kname,
         c->leaf_ext.has_csp_id ? ", cspID " : "",
         c->leaf_ext.has_csp_id ? c->leaf_ext.csp_id : "");
}

static void check_cert_product(ctx_t *c)
{
    vd_product_t p = c->out->product;
    if (p == VD_PRODUCT_UNKNOWN || c->leaf == NULL) {
        SKIP(c, "cert.product", "%s",
             p == VD_PRODUCT_UNKNOWN ? "product unknown" : "endorsement key not available");
        return;
    }
    if (!c->leaf_ext_ok || !c->leaf_ext.has_product_name) {
        FAIL(c, "cert.product", "the endorsement key has no productName extension");
        return;
    }
    /* Milan VCEKs say "Milan-B0" even on B1 parts and Genoa ones carry no stepping
     * (go-sev-guest#115, #103): compare the product line only. */
    vd_product_t cp = vd_product_from_name(c->leaf_ext.product_name);
    if (cp != p) {
        FAIL(c, "cert.product", "productName \"%s\" does not match the report's product %s",
             c->leaf_ext.product_name, vd_product_name(p));
        return;
    }
    /* VCEK structVersion is 1 on Turin and 0 before (go-sev-guest PR #199; real certificates).
     * VLEKs are not checked: the only real one (Milan) says 0, Turin's is not known. */
    if (!c->vlek) {
        long want = p == VD_PRODUCT_TURIN ? 1 : 0;
        if (!c->leaf_ext.has_struct_version || c->leaf_ext.struct_version != want) {
            FAIL(c, "cert.product", "VCEK structVersion %ld, a %s VCEK has %ld",
                 c->leaf_ext.has_struct_version ? c->leaf_ext.struct_version : -1L,
                 vd_product_name(p), want);
            return;
        }
    }
    PASS(c, "cert.product", "productName \"%s\" matches %s", c->leaf_ext.product_name,
         vd_product_name(p));
}

static void locate_chain(ctx_t *c)
{
    vd_product_t p = c->out->product;
    const char *origin = NULL;
    char cn[48];
    if (c->leaf != NULL) {
        c->issuer = find_issuer(c, c->leaf, 0, &origin, c->leaf_link);
    } else if (p != VD_PRODUCT_UNKNOWN) {
        snprintf(cn, sizeof(cn), "SEV-%s%s", c->vlek ? "VLEK-" : "", vd_product_name(p));
        c->issuer = find_by_cn(c, cn);
    }
    if (c->issuer != NULL) {
        c->root = find_issuer(c, c->issuer, 1, &c->root_origin, c->issuer_link);
    } else if (p != VD_PRODUCT_UNKNOWN) {
        /* Only for the messages: say the ARK is there even though the ASK is not. */
        snprintf(cn, sizeof(cn), "ARK-%s", vd_product_name(p));
        c->root = find_by_cn(c, cn);
        c->root_origin = "the supplied certificates";
    }
}

static void report_missing(ctx_t *c)
{
    vd_product_t p = c->out->product;
    char url[VD_KDS_URL_MAX], chain[VD_KDS_URL_MAX], text[VD_KDS_URL_MAX + 64];
    int have_chain_url = vd_kds_chain_url(kds_base(c), p, c->vlek, chain, sizeof(chain)) == 0;
    if (c->leaf == NULL) {
        if (c->vlek) {
            add_missing(c, "VLEK not supplied: it must come with the evidence (extended report "
                           "cert table) or an imported bundle; KDS serves VLEKs only to cloud "
                           "providers");
        } else if (vd_all_zero(c->r->chip_id, sizeof(c->r->chip_id))) {
            add_missing(c, "VCEK not supplied and CHIP_ID is masked (all zero), so KDS cannot "
                           "serve it: supply it with the evidence");
        } else if (vd_kds_vcek_url(kds_base(c), p, c->r->chip_id, &c->out->reported_tcb, url,
                                   sizeof(url)) == 0) {
            snprintf(text, sizeof(text), "VCEK not supplied; KDS serves it at %s", url);
            add_missing(c, text);
        } else {
            add_missing(c, "VCEK not supplied");
        }
    }
    if (p == VD_PRODUCT_UNKNOWN) {
        return; /* the chain cannot be named before the product is known */
    }
    if (c->issuer == NULL) {
        add_missing(c, c->vlek ? "ASVK not supplied" : "ASK not supplied");
    }
    if (c->root == NULL) {
        add_missing(c, "ARK not supplied");
    }
    if ((c->issuer == NULL || c->root == NULL) && have_chain_url) {
        snprintf(text, sizeof(text), "KDS serves the %s and ARK at %s", c->vlek ? "ASVK" : "ASK",
                 chain);
        add_missing(c, text);
    }
}

/* `subject` signed by `issuer`: from find_issuer's result when it verified, else now. */
static int link_verified(X509 *subject, X509 *issuer, const char *cached, char d[DETAIL_MAX])
{
    if (cached[0] != '\0') {
        snprintf(d, DETAIL_MAX, "%s", cached);
        return 1;
    }
    return vd_chain_signed_by(subject, issuer, d, DETAIL_MAX);
}

static void check_chain(ctx_t *c)
{
    char d[DETAIL_MAX], spki[65];
    vd_product_t p = c->out->product;
    const char *iname = c->vlek ? "ASVK" : "ASK";
    const char *kname = c->vlek ? "VLEK" : "VCEK";

    /* chain.ark: the root must be pinned (or explicitly configured) and anchor this product. */
    if (c->root == NULL) {
        SKIP(c, "chain.ark", "ARK not available");
    } else {
        char cn[64];
        vd_product_t rp = VD_PRODUCT_UNKNOWN;
        vd_root_kind_t kind = vd_trust_match(c->in->trust, c->root, &rp, spki);
        vd_x509_common_name(c->root, cn, sizeof(cn));
        if (kind == VD_ROOT_UNTRUSTED) {
            FAIL(c, "chain.ark",
                 "root \"%s\" (SPKI SHA-256 %s) is not a pinned AMD ARK nor a configured extra "
                 "root",
                 cn, spki);
        } else if (p != VD_PRODUCT_UNKNOWN && rp != VD_PRODUCT_UNKNOWN && rp != p) {
            FAIL(c, "chain.ark", "root \"%s\" anchors %s, but the report is from %s", cn,
                 vd_product_name(rp), vd_product_name(p));
        } else if (!vd_chain_signed_by(c->root, c->root, d, sizeof(d))) {
            FAIL(c, "chain.ark", "root \"%s\" is not validly self-signed: %s", cn, d);
        } else if (X509_check_ca(c->root) < 1) {
            FAIL(c, "chain.ark", "root \"%s\" is not a CA certificate", cn);
        } else {
            PASS(c, "chain.ark", "\"%s\" %s (SPKI SHA-256 %s), from %s", cn,
                 kind == VD_ROOT_AMD_PINNED ? "matches the pinned AMD ARK"
                                            : "is a configured extra root",
                 spki, c->root_origin);
        }
    }

    /* chain.ask: ASK/ASVK signed by the ARK, a CA, named for the product. */
    if (c->issuer == NULL || c->root == NULL) {
        SKIP(c, "chain.ask", "%s", c->issuer == NULL ? "ASK/ASVK not available" : "no ARK");
    } else if (!link_verified(c->issuer, c->root, c->issuer_link, d)) {
        FAIL(c, "chain.ask", "%s", d);
    } else if (X509_check_ca(c->issuer) < 1) {
        FAIL(c, "chain.ask", "the %s is not a CA certificate", iname);
    } else {
        char want[48];
        snprintf(want, sizeof(want), "SEV-%s%s", c->vlek ? "VLEK-" : "", vd_product_name(p));
        if (p != VD_PRODUCT_UNKNOWN && !vd_x509_cn_is(c->issuer, want)) {
            char cn[64];
            FAIL(c, "chain.ask", "the %s is \"%s\", expected \"%s\" for a %s-signed %s report",
                 iname, vd_x509_common_name(c->issuer, cn, sizeof(cn)), want, kname,
                 vd_product_name(p));
        } else {
            PASS(c, "chain.ask", "%s", d);
        }
    }

    /* chain.endorsement_key: VCEK/VLEK signed by the ASK/ASVK. */
    if (c->leaf == NULL || c->issuer == NULL) {
        SKIP(c, "chain.endorsement_key", "%s not available", c->leaf == NULL ? kname : iname);
    } else if (!link_verified(c->leaf, c->issuer, c->leaf_link, d)) {
        FAIL(c, "chain.endorsement_key", "%s", d);
    } else {
        PASS(c, "chain.endorsement_key", "%s", d);
    }

    /* chain.validity: every certificate present, at the given time. */
    X509 *certs[3] = {c->leaf, c->issuer, c->root};
    const char *labels[3] = {kname, iname, "ARK"};
    int checked = 0;
    for (int i = 0; i < 3; i++) {
        if (certs[i] == NULL) {
            continue;
        }
        checked++;
        if (!vd_chain_valid_at(certs[i], c->in->at, labels[i], d, sizeof(d))) {
            FAIL(c, "chain.validity", "%s", d);
            checked = -1;
            break;
        }
    }
    if (checked == 0) {
        SKIP(c, "chain.validity", "no certificates");
    } else if (checked > 0) {
        char when[32];
        vd_time_format_rfc3339(c->in->at, when, sizeof(when));
        PASS(c, "chain.validity", "%d certificate%s valid at %s", checked, checked > 1 ? "s" : "",
             when);
    }
}

/* ---- bindings between the certificate and the report ------------------------------------- */

static void check_binding_tcb(ctx_t *c)
{
    vd_product_t p = c->out->product;
    if (c->leaf == NULL || !c->leaf_ext_ok || p == VD_PRODUCT_UNKNOWN) {
        SKIP(c, "binding.tcb", "%s",
             p == VD_PRODUCT_UNKNOWN ? "product unknown" : "endorsement key not available");
        return;
    }
    const char *missing = NULL;
    if (!vd_amdcert_tcb_complete(&c->leaf_ext, p, &missing)) {
        FAIL(c, "binding.tcb", "the endorsement key has no %s extension", missing);
        return;
    }
    vd_tcb_t cert = vd_amdcert_tcb(&c->leaf_ext, p);
    const vd_tcb_t *rep = &c->out->reported_tcb;
    struct {
        const char *name;
        unsigned cert, report;
        int applies;
    } parts[] = {
        {"fmcSPL", cert.fmc, rep->fmc, p == VD_PRODUCT_TURIN},
        {"blSPL", cert.bootloader, rep->bootloader, 1},
        {"teeSPL", cert.tee, rep->tee, 1},
        {"snpSPL", cert.snp, rep->snp, 1},
        {"ucodeSPL", cert.microcode, rep->microcode, 1},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (parts[i].applies && parts[i].cert != parts[i].report) {
            char a[64], b[64];
            FAIL(c, "binding.tcb",
                 "%s %u in the certificate != %u in REPORTED_TCB (certificate %s, report %s)",
                 parts[i].name, parts[i].cert, parts[i].report, vd_tcb_format(&cert, a, sizeof(a)),
                 vd_tcb_format(rep, b, sizeof(b)));
            return;
        }
    }
    char t[64];
    PASS(c, "binding.tcb", "certificate SPLs equal REPORTED_TCB (%s)",
         vd_tcb_format(rep, t, sizeof(t)));
}

static void check_binding_chip_id(ctx_t *c)
{
    const vd_snp_report_t *r = c->r;
    if (c->vlek) {
        SKIP(c, "binding.chip_id", "VLEK-signed: a VLEK is not bound to one chip");
        return;
    }
    if (vd_all_zero(r->chip_id, sizeof(r->chip_id))) {
        SKIP(c, "binding.chip_id", "CHIP_ID is masked (all zero) by the host");
        return;
    }
    if (c->leaf == NULL || !c->leaf_ext_ok || !c->leaf_ext.has_hwid ||
        c->out->product == VD_PRODUCT_UNKNOWN) {
        SKIP(c, "binding.chip_id", "VCEK hwID not available");
        return;
    }
    /* Turin VCEKs carry CHIP_ID[0..7] only (KDS.md section 2). */
    size_t want = c->out->product == VD_PRODUCT_TURIN ? 8 : 64;
    char hex[129];
    if (c->leaf_ext.hwid_len != want) {
        FAIL(c, "binding.chip_id", "hwID is %zu bytes, a %s VCEK has %zu", c->leaf_ext.hwid_len,
             vd_product_name(c->out->product), want);
        return;
    }
    if (CRYPTO_memcmp(c->leaf_ext.hwid, r->chip_id, want) != 0) {
        char hw[129];
        FAIL(c, "binding.chip_id", "hwID %s != CHIP_ID %s",
             vd_hex_encode(c->leaf_ext.hwid, want, hw, sizeof(hw)),
             vd_hex_encode(r->chip_id, want, hex, sizeof(hex)));
        return;
    }
    PASS(c, "binding.chip_id", "hwID equals CHIP_ID%s %.16s...", want == 8 ? "[0..7]" : "",
         vd_hex_encode(r->chip_id, want, hex, sizeof(hex)));
}

static void check_signature(ctx_t *c)
{
    char d[DETAIL_MAX];
    if (c->leaf == NULL) {
        SKIP(c, "report.signature", "%s not available", c->vlek ? "VLEK" : "VCEK");
        return;
    }
    /* find_leaf already verified the signature with this key if it could. */
    if (c->leaf_signed || vd_snp_report_signed_by(c->r, X509_get0_pubkey(c->leaf), d, sizeof(d))) {
        if (c->leaf_signed) {
            snprintf(d, sizeof(d), "ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F verifies");
        }
        PASS(c, "report.signature", "%s (%s)", d, c->vlek ? "VLEK" : "VCEK");
    } else {
        FAIL(c, "report.signature", "%s (%s)", d, c->vlek ? "VLEK" : "VCEK");
    }
}

/* ---- the extended-report certificate table ------------------------------------------------ */

/*
 * Merge the caller's candidates with the certificates of the evidence's cert table into `*merged`
 * (caller frees). A table that does not parse, or a certificate entry that is not a certificate,
 * is a rejection: the table is part of the evidence.
 */
static vd_err_t merge_cert_table(ctx_t *c, vd_certset_t **merged, vd_error_t *err)
{
    vd_certtable_t table;
    vd_error_t e = {0};
    vd_err_t rc = vd_certset_new(merged, err);
    if (rc != VD_OK) {
        return rc;
    }
    for (size_t i = 0; c->in->certs != NULL && i < vd_certset_count(c->in->certs); i++) {
        rc = vd_certset_add_x509(*merged, vd_certset_get(c->in->certs, i),
                                 vd_certset_origin(c->in->certs, i), err);
        if (rc != VD_OK) {
            return rc;
        }
    }
    c->certs = *merged;
    if (vd_certtable_parse(c->in->cert_table, c->in->cert_table_len, &table, &e) != VD_OK) {
        FAIL(c, "evidence.cert_table", "%s", e.msg);
        return VD_OK;
    }
    size_t used = 0;
    for (size_t i = 0; i < table.count; i++) {
        const vd_certtable_entry_t *ent = &table.entries[i];
        char origin[48];
        if (ent->kind != VD_CERTTABLE_VCEK && ent->kind != VD_CERTTABLE_VLEK &&
            ent->kind != VD_CERTTABLE_ASK && ent->kind != VD_CERTTABLE_ARK) {
            continue; /* CRLs and private entries are not certificates */
        }
        snprintf(origin, sizeof(origin), "cert table %s entry", vd_certtable_kind_name(ent->kind));
        if (vd_certset_add_blob(*merged, ent->data, ent->len, origin, &e) != VD_OK) {
            FAIL(c, "evidence.cert_table", "%s", e.msg);
            return VD_OK;
        }
        used++;
    }
    PASS(c, "evidence.cert_table", "%zu entries, %zu certificates", table.count, used);
    return VD_OK;
}

/* ---- entry point ---------------------------------------------------------------------------- */

vd_err_t vd_snp_verify(const vd_snp_input_t *in, vd_snp_result_t *out, vd_error_t *err)
{
    vd_error_t perr = {0};
    vd_err_t rc = VD_OK;
    vd_certset_t *merged = NULL;
    ctx_t c;
    char d[DETAIL_MAX];
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.in = in;
    c.out = out;
    c.r = &out->report;
    c.certs = in->certs;

    if (vd_snp_report_parse(in->report, in->report_len, &out->report, &perr) != VD_OK) {
        FAIL(&c, "report.format", "%s", perr.msg);
        out->status = VD_SNP_REJECTED;
        goto out;
    }
    out->report_parsed = 1;
    out->signing_key = vd_snp_report_signing_key(c.r);
    PASS(&c, "report.format", "%d bytes, version %u", VD_SNP_REPORT_SIZE, c.r->version);

    check_report_fields(&c);
    check_reserved(&c);
    if (vd_snp__signature_format(c.r, d, sizeof(d))) {
        PASS(&c, "report.signature_format", "%s", d);
    } else {
        FAIL(&c, "report.signature_format", "%s", d);
    }

    if (in->cert_table != NULL) {
        rc = merge_cert_table(&c, &merged, err);
        if (rc != VD_OK) {
            goto out;
        }
    }
    if (c.key_known) {
        c.leaf = find_leaf(&c);
        if (c.leaf != NULL) {
            vd_error_t e = {0};
            c.leaf_ext_ok = vd_amdcert_parse(c.leaf, &c.leaf_ext, &e) == VD_OK;
        }
    }
    determine_product(&c);
    vd_product_t p = out->product;
    out->reported_tcb = vd_tcb_decode(c.r->reported_tcb, p);
    out->current_tcb = vd_tcb_decode(c.r->current_tcb, p);
    out->committed_tcb = vd_tcb_decode(c.r->committed_tcb, p);
    out->launch_tcb = vd_tcb_decode(c.r->launch_tcb, p);

    if (!c.key_known) {
        static const char *const skipped[] = {
            "cert.endorsement_key",  "cert.product",   "chain.ark",   "chain.ask",
            "chain.endorsement_key", "chain.validity", "binding.tcb", "binding.chip_id",
            "report.signature"};
        for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
            SKIP(&c, skipped[i], "no usable SIGNING_KEY");
        }
    } else {
        if (c.leaf == NULL) {
            SKIP(&c, "cert.endorsement_key", "%s not available", c.vlek ? "VLEK" : "VCEK");
        } else {
            check_leaf_profile(&c);
        }
        check_cert_product(&c);
        locate_chain(&c);
        report_missing(&c);
        check_chain(&c);
        check_signature(&c);
        check_binding_tcb(&c);
        check_binding_chip_id(&c);
    }

    if (vd_checks_count(&out->checks, VD_CHECK_FAIL) > 0) {
        out->status = VD_SNP_REJECTED;
    } else if (out->missing[0] != '\0') {
        out->status = VD_SNP_COLLATERAL_MISSING;
    } else {
        out->status = VD_SNP_GENUINE;
    }
out:
    vd_certset_free(&merged);
    return rc;
}
