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

#include <openssl/bn.h>
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
    int leaf_signed;           /* the report signature verified with this key */
    vd_amdcert_t leaf_ext;
    int leaf_ext_ok;
    X509 *issuer; /* ASK or ASVK */
    X509 *root;   /* ARK */
    vd_chain_query_t q;
    vd_chain_t chain;                  /* chain.h's findings and judgements */
    X509_CRL *table_crls[VD_CRLS_MAX]; /* CRLs the cert table carries (owned) */
    size_t n_table_crls;
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
    c->q.product = c->out->product;
    vd_chain_locate_and_judge(&c->q, &c->chain);
    c->issuer = c->chain.issuer;
    c->root = c->chain.ark;
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

static void add_check(ctx_t *c, const char *name, vd_link_state_t st, const char *detail)
{
    vd_checks_add(&c->out->checks, name,
                  st == VD_LINK_PASS   ? VD_CHECK_PASS
                  : st == VD_LINK_FAIL ? VD_CHECK_FAIL
                                       : VD_CHECK_SKIP,
                  "%s", detail);
}

static void check_chain(ctx_t *c)
{
    char d[DETAIL_MAX];
    const char *iname = c->vlek ? "ASVK" : "ASK";
    const char *kname = c->vlek ? "VLEK" : "VCEK";

    /* The links, judged by chain.h's rules. */
    add_check(c, "chain.ark", c->chain.ark_state, c->chain.ark_detail);
    add_check(c, "chain.ask", c->chain.issuer_state, c->chain.issuer_detail);
    add_check(c, "chain.endorsement_key", c->chain.leaf_state, c->chain.leaf_detail);

    /* chain.validity: every certificate present, at the given time. */
    X509 *certs[3] = {c->leaf, c->issuer, c->root};
    const char *labels[3] = {kname, iname, "ARK"};
    int checked = 0;
    for (int i = 0; i < 3; i++) {
        if (certs[i] == NULL) {
            continue;
        }
        checked++;
        if (!vd_chain_valid_at(certs[i], c->in->at, labels[i], NULL, 0) &&
            !vd_chain_valid_at(certs[i], c->in->at, labels[i], d, sizeof(d))) {
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

/* ---- revocation ----------------------------------------------------------------------------- */

static char *serial_hex(X509 *x, char *out, size_t n)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn != NULL ? BN_bn2hex(bn) : NULL;
    snprintf(out, n, "0x%s", h != NULL ? h : "?");
    OPENSSL_free(h);
    BN_free(bn);
    return out;
}

static void format_day(time_t t, char *out, size_t n)
{
    struct tm tm;
    if (t == 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, n, "(date unknown)");
        return;
    }
    strftime(out, n, "%Y-%m-%d", &tm);
}

/*
 * chain.revocation: the CRLs of the chain's ARK among the inputs. A listed ASK/ASVK (or a leaf
 * listed by an indirect entry) fails whatever the CRL's age: revocation is permanent. Otherwise
 * a CRL fresh at the appraisal time passes; without one the mode decides.
 */
static void check_revocation(ctx_t *c)
{
    const char *iname = c->vlek ? "ASVK" : "ASK";
    const char *kname = c->vlek ? "VLEK" : "VCEK";
    char acn[64], iserial[80], lserial[80], why[DETAIL_MAX], day[32], when[40];
    if (c->in->crl_mode == VD_CRL_OFF) {
        SKIP(c, "chain.revocation", "revocation not checked (CRL mode off)");
        return;
    }
    if (c->chain.ark_state != VD_LINK_PASS || c->chain.issuer_state != VD_LINK_PASS) {
        SKIP(c, "chain.revocation", "no trusted %s and ARK to check: %s", iname,
             c->chain.ark_state != VD_LINK_PASS ? c->chain.ark_detail : c->chain.issuer_detail);
        return;
    }
    X509 *ark = c->root, *issuer = c->issuer;
    vd_x509_common_name(ark, acn, sizeof(acn));
    serial_hex(issuer, iserial, sizeof(iserial));
    X509_CRL *fresh = NULL, *newest = NULL;
    size_t signed_count = 0;
    why[0] = '\0';
    size_t n_in = c->in->crls != NULL ? c->in->n_crls : 0;
    for (size_t i = 0; i < n_in + c->n_table_crls; i++) {
        X509_CRL *crl = i < n_in ? c->in->crls[i] : c->table_crls[i - n_in];
        time_t revoked_at = 0;
        if (crl == NULL || !vd_crl_signed_by(crl, ark, c->in->memo, why, sizeof(why))) {
            continue;
        }
        signed_count++;
        if (vd_crl_lists(crl, issuer, &revoked_at)) {
            format_day(revoked_at, day, sizeof(day));
            FAIL(c, "chain.revocation", "the %s (serial %s) is revoked by %s's CRL (revoked %s)",
                 iname, iserial, acn, day);
            return;
        }
        if (c->leaf != NULL && c->chain.leaf_state == VD_LINK_PASS &&
            vd_crl_lists(crl, c->leaf, &revoked_at)) {
            format_day(revoked_at, day, sizeof(day));
            FAIL(c, "chain.revocation", "the %s (serial %s) is revoked by %s's CRL (revoked %s)",
                 kname, serial_hex(c->leaf, lserial, sizeof(lserial)), acn, day);
            return;
        }
        if (newest == NULL || vd_crl_newer(crl, newest)) {
            newest = crl;
        }
        if (vd_crl_fresh_at(crl, c->in->at) && (fresh == NULL || vd_crl_newer(crl, fresh))) {
            fresh = crl;
        }
    }
    if (fresh != NULL) {
        vd_time_format_rfc3339(vd_crl_next_update(fresh), when, sizeof(when));
        PASS(c, "chain.revocation", "%s serial %s is not in %s's CRL (nextUpdate %s)", iname,
             iserial, acn, when);
        return;
    }
    char text[DETAIL_MAX];
    if (newest != NULL) {
        time_t tu = vd_crl_this_update(newest);
        if (tu > c->in->at) {
            vd_time_format_rfc3339(tu, when, sizeof(when));
            snprintf(text, sizeof(text), "no CRL of %s fresh at the appraisal time (issued %s)",
                     acn, when);
        } else {
            vd_time_format_rfc3339(vd_crl_next_update(newest), when, sizeof(when));
            snprintf(text, sizeof(text),
                     "no CRL of %s fresh at the appraisal time (stale since %s)", acn, when);
        }
    } else if (n_in + c->n_table_crls > 0) {
        snprintf(text, sizeof(text),
                 "no CRL of %s fresh at the appraisal time (none of the %zu "
                 "given is usable: %.120s)",
                 acn, n_in + c->n_table_crls, why);
    } else {
        snprintf(text, sizeof(text), "no CRL of %s fresh at the appraisal time (none available)",
                 acn);
    }
    if (c->in->crl_mode == VD_CRL_FAIL_CLOSED) {
        SKIP(c, "chain.revocation", "%s; fail-closed", text);
        add_missing(c, text);
    } else {
        SKIP(c, "chain.revocation", "%s; fail-open: %s serial %s not known to be revoked", text,
             iname, iserial);
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
        if (ent->kind == VD_CERTTABLE_CRL) {
            /* Untrusted like the rest: used only if the chain's ARK signed it. */
            X509_CRL *crl = vd_crl_parse(ent->data, ent->len);
            if (crl != NULL && c->n_table_crls < VD_CRLS_MAX) {
                c->table_crls[c->n_table_crls++] = crl;
            } else {
                X509_CRL_free(crl);
            }
            continue;
        }
        if (ent->kind != VD_CERTTABLE_VCEK && ent->kind != VD_CERTTABLE_VLEK &&
            ent->kind != VD_CERTTABLE_ASK && ent->kind != VD_CERTTABLE_ARK) {
            continue; /* private entries are not certificates */
        }
        snprintf(origin, sizeof(origin), "cert table %s entry", vd_certtable_kind_name(ent->kind));
        if (vd_certset_add_blob(*merged, ent->data, ent->len, origin, &e) != VD_OK) {
            FAIL(c, "evidence.cert_table", "%s", e.msg);
            return VD_OK;
        }
        used++;
    }
    if (c->n_table_crls > 0) {
        PASS(c, "evidence.cert_table", "%zu entries, %zu certificates, %zu CRL%s", table.count,
             used, c->n_table_crls, c->n_table_crls > 1 ? "s" : "");
    } else {
        PASS(c, "evidence.cert_table", "%zu entries, %zu certificates", table.count, used);
    }
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
    c.q.certs = c.certs;
    c.q.trust = in->trust;
    c.q.vlek = c.vlek;
    c.q.report = c.r;
    c.q.memo = in->memo;
    if (c.key_known) {
        vd_chain_find_leaf(&c.q, &c.chain);
        c.leaf = c.chain.leaf;
        c.leaf_signed = c.chain.leaf_signs_report;
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
            "cert.endorsement_key",  "cert.product",    "chain.ark",        "chain.ask",
            "chain.endorsement_key", "chain.validity",  "chain.revocation", "binding.tcb",
            "binding.chip_id",       "report.signature"};
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
        check_revocation(&c);
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
    for (size_t i = 0; i < c.n_table_crls; i++) {
        X509_CRL_free(c.table_crls[i]);
    }
    vd_certset_free(&merged);
    return rc;
}
