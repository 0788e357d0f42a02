/*
 * Test PKI and synthetic SEV-SNP reports (see testpki.h).
 *
 * The certificates follow AMD's profile (KDS.md sections 2-3) closely enough that a verifier
 * cannot tell them from AMD's by shape: same name attributes in the same order and string
 * types, same extensions and criticality, RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48 everywhere,
 * serial 0 and raw hwID on the leaf. Only the keys differ, and the RSA keys are 2048-bit (AMD
 * uses 4096) to keep key generation fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "verdict/bytes.h"
#include "testpki.h"

/* AMD's roots are RSA-4096; 2048 is enough to exercise RSA-PSS and keeps setup well under a
 * second per product. */
#define TESTPKI_RSA_BITS 2048

#define DAY_SECONDS  86400L
#define YEAR_SECONDS (365L * DAY_SECONDS)

#define AMD_OID "1.3.6.1.4.1.3704.1."
#define AMD_ORG "Advanced Micro Devices"

struct vd_testpki {
    vd_product_t product;
    EVP_PKEY *ark_key, *ask_key, *asvk_key;
    X509 *ark, *ask, *asvk;
};

/* Serial numbers modelled on AMD's (KDS.md section 3). */
static const struct {
    vd_product_t product;
    long ark, ask, asvk;
} serials[] = {
    {VD_PRODUCT_MILAN, 0x10000, 0x10001, 0x10101},
    {VD_PRODUCT_GENOA, 0x20000, 0x20002, 0x20101},
    {VD_PRODUCT_TURIN, 0x30000, 0x30001, 0x30101},
};

/* OU, C, L, ST, O, CN in AMD's order; C is a PrintableString, the rest UTF8String. */
static int set_amd_name(X509_NAME *n, const char *org, const char *cn)
{
    const char *const fields[][2] = {
        {"OU", "Engineering"}, {"C", "US"}, {"L", "Santa Clara"},
        {"ST", "CA"},          {"O", org},  {"CN", cn},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (X509_NAME_add_entry_by_txt(n, fields[i][0], MBSTRING_UTF8,
                                       (const unsigned char *)fields[i][1], -1, -1, 0) != 1) {
            return -1;
        }
    }
    return 0;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: the only algorithm AMD uses on these certs. */
static int pss_sign(X509 *x, EVP_PKEY *key)
{
    int rc = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (md == NULL) {
        goto out;
    }
    if (EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) <= 0) {
        goto out;
    }
    if (X509_sign_ctx(x, md) <= 0) {
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* A v3 certificate with AMD names, validity and public key, not yet extended or signed.
 * `issuer` NULL means self-issued. */
static X509 *new_cert(const char *org, const char *cn, X509 *issuer, long serial, time_t not_before,
                      time_t not_after, EVP_PKEY *pub)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (x == NULL || name == NULL) {
        goto fail;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
        set_amd_name(name, org, cn) != 0 || X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(x), not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), not_after) == NULL || X509_set_pubkey(x, pub) != 1) {
        goto fail;
    }
    X509_NAME_free(name);
    return x;
fail:
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

/* A standard extension from its OpenSSL config string ("critical,CA:TRUE"). */
static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    int ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A non-critical extension whose extnValue content is exactly `der` (`len` bytes). */
static int add_raw_ext(X509 *x, const char *oid, const unsigned char *der, size_t len)
{
    int rc = -1;
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    if (obj == NULL || os == NULL || len > 4096 || ASN1_OCTET_STRING_set(os, der, (int)len) != 1) {
        goto out;
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
        goto out;
    }
    rc = 0;
out:
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return rc;
}

static int add_int_ext(X509 *x, const char *oid, long v)
{
    int rc = -1;
    unsigned char *der = NULL;
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    if (ai == NULL || ASN1_INTEGER_set(ai, v) != 1) {
        goto out;
    }
    int len = i2d_ASN1_INTEGER(ai, &der);
    if (len <= 0) {
        goto out;
    }
    rc = add_raw_ext(x, oid, der, (size_t)len);
out:
    OPENSSL_free(der);
    ASN1_INTEGER_free(ai);
    return rc;
}

static int add_ia5_ext(X509 *x, const char *oid, const char *s)
{
    int rc = -1;
    unsigned char *der = NULL;
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    if (ia5 == NULL || ASN1_STRING_set(ia5, s, -1) != 1) {
        goto out;
    }
    int len = i2d_ASN1_IA5STRING(ia5, &der);
    if (len <= 0) {
        goto out;
    }
    rc = add_raw_ext(x, oid, der, (size_t)len);
out:
    OPENSSL_free(der);
    ASN1_IA5STRING_free(ia5);
    return rc;
}

static int add_octet_string_ext(X509 *x, const char *oid, const uint8_t *p, size_t n)
{
    int rc = -1;
    unsigned char *der = NULL;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    if (os == NULL || n > 4096 || ASN1_OCTET_STRING_set(os, p, (int)n) != 1) {
        goto out;
    }
    int len = i2d_ASN1_OCTET_STRING(os, &der);
    if (len <= 0) {
        goto out;
    }
    rc = add_raw_ext(x, oid, der, (size_t)len);
out:
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(os);
    return rc;
}

static EVP_PKEY *new_rsa_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)TESTPKI_RSA_BITS);
}

EVP_PKEY *vd_testpki_new_ec_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

/* ARK (issuer NULL: self-signed, KU keyCertSign+cRLSign, CA without pathlen) or ASK/ASVK
 * (KU keyCertSign, CA pathlen 0, AKI = ARK's SKI). */
static X509 *new_ca(const char *cn, long serial, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                    const char *crl_uri)
{
    time_t now = time(NULL);
    X509 *x =
        new_cert(AMD_ORG, cn, issuer, serial, now - YEAR_SECONDS, now + 25 * YEAR_SECONDS, key);
    char dp[128];
    snprintf(dp, sizeof(dp), "URI:%s", crl_uri);
    if (x == NULL) {
        return NULL;
    }
    int ok;
    if (issuer == NULL) {
        ok = add_conf_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             add_conf_ext(x, NULL, NID_subject_key_identifier, "hash") == 0 &&
             add_conf_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
             add_conf_ext(x, NULL, NID_crl_distribution_points, dp) == 0 && pss_sign(x, key) == 0;
    } else {
        ok = add_conf_ext(x, issuer, NID_subject_key_identifier, "hash") == 0 &&
             add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always") == 0 &&
             add_conf_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0 &&
             add_conf_ext(x, issuer, NID_key_usage, "critical,keyCertSign") == 0 &&
             add_conf_ext(x, issuer, NID_crl_distribution_points, dp) == 0 &&
             pss_sign(x, issuer_key) == 0;
    }
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

vd_testpki_t *vd_testpki_new(vd_product_t product)
{
    vd_testpki_t *pki = NULL;
    size_t si = 0;
    while (si < sizeof(serials) / sizeof(serials[0]) && serials[si].product != product) {
        si++;
    }
    if (si == sizeof(serials) / sizeof(serials[0])) {
        goto fail;
    }
    pki = calloc(1, sizeof(*pki));
    if (pki == NULL) {
        goto fail;
    }
    pki->product = product;
    const char *name = vd_product_name(product);
    char cn[64], crl[128];

    pki->ark_key = new_rsa_key();
    pki->ask_key = new_rsa_key();
    pki->asvk_key = new_rsa_key();
    if (pki->ark_key == NULL || pki->ask_key == NULL || pki->asvk_key == NULL) {
        goto fail;
    }
    snprintf(cn, sizeof(cn), "ARK-%s", name);
    snprintf(crl, sizeof(crl), "https://kdsintf.amd.com/vcek/v1/%s/crl", name);
    pki->ark = new_ca(cn, serials[si].ark, pki->ark_key, NULL, NULL, crl);
    if (pki->ark == NULL) {
        goto fail;
    }
    snprintf(cn, sizeof(cn), "SEV-%s", name);
    pki->ask = new_ca(cn, serials[si].ask, pki->ask_key, pki->ark, pki->ark_key, crl);
    snprintf(cn, sizeof(cn), "SEV-VLEK-%s", name);
    snprintf(crl, sizeof(crl), "https://kdsintf.amd.com/vlek/v1/%s/crl", name);
    pki->asvk = new_ca(cn, serials[si].asvk, pki->asvk_key, pki->ark, pki->ark_key, crl);
    if (pki->ask == NULL || pki->asvk == NULL) {
        goto fail;
    }
    return pki;
fail:
    vd_testpki_free(&pki);
    return NULL;
}

void vd_testpki_free(vd_testpki_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_testpki_t *pki = *pp;
    X509_free(pki->asvk);
    X509_free(pki->ask);
    X509_free(pki->ark);
    EVP_PKEY_free(pki->asvk_key);
    EVP_PKEY_free(pki->ask_key);
    EVP_PKEY_free(pki->ark_key);
    free(pki);
    *pp = NULL;
}

vd_product_t vd_testpki_product(const vd_testpki_t *pki)
{
    return pki->product;
}

X509 *vd_testpki_ark(const vd_testpki_t *pki)
{
    return pki->ark;
}

X509 *vd_testpki_ask(const vd_testpki_t *pki)
{
    return pki->ask;
}

X509 *vd_testpki_asvk(const vd_testpki_t *pki)
{
    return pki->asvk;
}

/* One SPL extension (1.3.6.1.4.1.3704.1.3.<idx>) unless it is the one to omit. */
static int add_spl(X509 *x, const vd_testpki_leaf_opts_t *o, int idx, uint8_t v)
{
    char oid[48];
    if (o->omit_spl == idx) {
        return 0;
    }
    snprintf(oid, sizeof(oid), AMD_OID "3.%d", idx);
    return add_int_ext(x, oid, v);
}

/* AMD's extensions in the order KDS emits them: Milan/Genoa put snpSPL (3.3) after 3.7; Turin
 * puts fmcSPL (3.9) right after productName, keeps 3.1-3.3 in order and has no 3.4. */
static int add_amd_extensions(X509 *x, vd_product_t product, const vd_testpki_leaf_opts_t *o)
{
    const vd_tcb_t *t = &o->tcb;
    int turin = product == VD_PRODUCT_TURIN;
    long sv = o->struct_version != NULL ? *o->struct_version : turin ? 1 : 0;
    if (add_int_ext(x, AMD_OID "1", sv) != 0) {
        return -1;
    }
    if (o->product_name != NULL && add_ia5_ext(x, AMD_OID "2", o->product_name) != 0) {
        return -1;
    }
    if (t->has_fmc && add_spl(x, o, 9, t->fmc) != 0) {
        return -1;
    }
    if (add_spl(x, o, 1, t->bootloader) != 0 || add_spl(x, o, 2, t->tee) != 0) {
        return -1;
    }
    if (turin && add_spl(x, o, 3, t->snp) != 0) {
        return -1;
    }
    if (!turin && add_spl(x, o, 4, 0) != 0) {
        return -1;
    }
    if (add_spl(x, o, 5, 0) != 0 || add_spl(x, o, 6, 0) != 0 || add_spl(x, o, 7, 0) != 0) {
        return -1;
    }
    if (!turin && add_spl(x, o, 3, t->snp) != 0) {
        return -1;
    }
    if (add_spl(x, o, 8, t->microcode) != 0) {
        return -1;
    }
    if (o->hwid != NULL) {
        /* KDS puts the raw bytes straight into extnValue, with no inner OCTET STRING. */
        int rc = o->hwid_der_wrapped ? add_octet_string_ext(x, AMD_OID "4", o->hwid, o->hwid_len)
                                     : add_raw_ext(x, AMD_OID "4", o->hwid, o->hwid_len);
        if (rc != 0) {
            return -1;
        }
    }
    if (o->vlek && add_ia5_ext(x, AMD_OID "5", "CN=test.example") != 0) {
        return -1;
    }
    return 0;
}

X509 *vd_testpki_issue_leaf(const vd_testpki_t *pki, const vd_testpki_leaf_opts_t *o,
                            EVP_PKEY **key_out)
{
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    *key_out = NULL;
    time_t nb = o->not_before != 0 ? o->not_before : time(NULL) - DAY_SECONDS;
    time_t na = o->not_after != 0 ? o->not_after : nb + 7 * YEAR_SECONDS;
    int by_asvk = o->swap_issuer ? !o->vlek : o->vlek;
    X509 *issuer = by_asvk ? pki->asvk : pki->ask;
    EVP_PKEY *issuer_key = by_asvk ? pki->asvk_key : pki->ask_key;

    key = vd_testpki_new_ec_key();
    if (key == NULL) {
        goto fail;
    }
    /* Serial 0 and no standard extensions, as KDS issues them. */
    x = new_cert(o->subject_org != NULL ? o->subject_org : AMD_ORG,
                 o->vlek ? "SEV-VLEK" : "SEV-VCEK", issuer, 0, nb, na, key);
    if (x == NULL || add_amd_extensions(x, pki->product, o) != 0 || pss_sign(x, issuer_key) != 0) {
        goto fail;
    }
    *key_out = key;
    return x;
fail:
    X509_free(x);
    EVP_PKEY_free(key);
    return NULL;
}

uint64_t vd_testreport_tcb_raw(vd_product_t p, uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp,
                               uint8_t ucode)
{
    if (p == VD_PRODUCT_TURIN) {
        return (uint64_t)fmc | (uint64_t)bl << 8 | (uint64_t)tee << 16 | (uint64_t)snp << 24 |
               (uint64_t)ucode << 56;
    }
    return (uint64_t)bl | (uint64_t)tee << 8 | (uint64_t)snp << 48 | (uint64_t)ucode << 56;
}

void vd_testreport_init(uint8_t raw[VD_SNP_REPORT_SIZE], uint32_t version, vd_product_t product,
                        uint64_t reported_tcb_raw, const uint8_t chip_id[64])
{
    /* CPUID family/model/stepping and a plausible firmware build per product. */
    uint8_t fam = 0x19, model = 0x01, step = 1, build = 29;
    if (product == VD_PRODUCT_GENOA) {
        model = 0x11;
        build = 40;
    } else if (product == VD_PRODUCT_TURIN) {
        fam = 0x1A;
        model = 0x02;
        build = 65;
    }
    memset(raw, 0, VD_SNP_REPORT_SIZE);
    vd_put_le32(raw + 0x000, version);
    vd_put_le32(raw + 0x004, 1);       /* GUEST_SVN */
    vd_put_le64(raw + 0x008, 0x30000); /* POLICY: SMT + reserved bit 17 */
    vd_put_le32(raw + 0x030, 0);       /* VMPL */
    vd_put_le32(raw + 0x034, VD_SNP_SIG_ALGO_ECDSA_P384_SHA384);
    vd_put_le64(raw + 0x038, reported_tcb_raw); /* CURRENT_TCB */
    vd_put_le64(raw + 0x040, 0x25);             /* PLATFORM_INFO: SMT, ECC, alias check */
    vd_put_le32(raw + 0x048, 0);                /* SIGNER_INFO: VCEK */
    for (size_t i = 0; i < 64; i++) {
        raw[0x050 + i] = (uint8_t)(0x40 + i); /* REPORT_DATA */
    }
    for (size_t i = 0; i < 48; i++) {
        raw[0x090 + i] = (uint8_t)(0xA0 ^ i); /* MEASUREMENT */
    }
    for (size_t i = 0; i < 32; i++) {
        raw[0x140 + i] = (uint8_t)(0x11 * (i + 1)); /* REPORT_ID */
    }
    memset(raw + 0x160, 0xFF, 32); /* REPORT_ID_MA: no migration agent */
    vd_put_le64(raw + 0x180, reported_tcb_raw);
    if (version >= 3) {
        raw[0x188] = fam;
        raw[0x189] = model;
        raw[0x18A] = step;
    }
    if (chip_id != NULL) {
        memcpy(raw + 0x1A0, chip_id, 64);
    }
    vd_put_le64(raw + 0x1E0, reported_tcb_raw); /* COMMITTED_TCB */
    raw[0x1E8] = build;                         /* CURRENT 1.55.<build> */
    raw[0x1E9] = 55;
    raw[0x1EA] = 1;
    raw[0x1EC] = build; /* COMMITTED */
    raw[0x1ED] = 55;
    raw[0x1EE] = 1;
    vd_put_le64(raw + 0x1F0, reported_tcb_raw); /* LAUNCH_TCB */
    if (version >= 5) {
        vd_put_le64(raw + 0x1F8, 0x3F); /* LAUNCH_MIT_VECTOR */
        vd_put_le64(raw + 0x200, 0x3F); /* CURRENT_MIT_VECTOR */
    }
}

void vd_testreport_set_signing_key(uint8_t raw[VD_SNP_REPORT_SIZE], unsigned key)
{
    uint32_t si = vd_le32(raw + 0x048);
    si = (si & ~(uint32_t)0x1C) | (uint32_t)(key & 7u) << 2;
    vd_put_le32(raw + 0x048, si);
}

int vd_testreport_sign(uint8_t raw[VD_SNP_REPORT_SIZE], EVP_PKEY *ec_key)
{
    int rc = -1;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *sig = NULL;
    unsigned char der[160];
    size_t der_len = sizeof(der);

    memset(raw + VD_SNP_SIGNED_SIZE, 0, VD_SNP_REPORT_SIZE - VD_SNP_SIGNED_SIZE);
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, ec_key) != 1 ||
        EVP_DigestSign(md, der, &der_len, raw, VD_SNP_SIGNED_SIZE) != 1) {
        goto out;
    }
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        goto out;
    }
    /* R at 0x2A0 and S at 0x2E8, 48 bytes little-endian each, then 24 zero bytes. */
    if (BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), raw + 0x2A0, 48) != 48 ||
        BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), raw + 0x2E8, 48) != 48) {
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return rc;
}

int vd_testpki_write_pem(X509 *x, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    int ok = PEM_write_X509(f, x) == 1;
    if (fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* certificateIssuer (an indirect entry) naming `issuer`'s subject. */
static int add_entry_issuer(X509_REVOKED *r, X509 *issuer)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *gen = GENERAL_NAME_new();
    X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(issuer));
    int ok = gens != NULL && gen != NULL && nm != NULL;
    if (ok) {
        GENERAL_NAME_set0_value(gen, GEN_DIRNAME, nm);
        nm = NULL;
        ok = sk_GENERAL_NAME_push(gens, gen) > 0;
        if (ok) {
            gen = NULL;
        }
    }
    ok = ok && X509_REVOKED_add1_ext_i2d(r, NID_certificate_issuer, gens, 1, 0) == 1;
    X509_NAME_free(nm);
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(gens);
    return ok ? 0 : -1;
}

X509_CRL *vd_testpki_crl(const vd_testpki_t *pki, const vd_testpki_crl_opts_t *o)
{
    X509_CRL *crl = X509_CRL_new(), *out = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    time_t tu = o->this_update != 0 ? o->this_update : time(NULL) - 3600;
    time_t nu = o->next_update != 0 ? o->next_update : tu + 30 * DAY_SECONDS;
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, tu), *t2 = ASN1_TIME_set(NULL, nu);
    unsigned char *der = NULL;
    int ok = crl != NULL && md != NULL && t1 != NULL && t2 != NULL &&
             X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki->ark)) == 1 &&
             X509_CRL_set1_lastUpdate(crl, t1) == 1 && X509_CRL_set1_nextUpdate(crl, t2) == 1;
    for (size_t i = 0; ok && i < o->n_serials; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();
        ok = r != NULL && sn != NULL && ASN1_INTEGER_set(sn, o->serials[i]) == 1 &&
             X509_REVOKED_set_serialNumber(r, sn) == 1 &&
             X509_REVOKED_set_revocationDate(r, t1) == 1 &&
             (o->entry_issuer == NULL || add_entry_issuer(r, o->entry_issuer) == 0) &&
             X509_CRL_add0_revoked(crl, r) == 1;
        if (!ok) {
            X509_REVOKED_free(r);
        }
        ASN1_INTEGER_free(sn);
    }
    if (ok && o->number > 0) {
        ASN1_INTEGER *num = ASN1_INTEGER_new();
        ok = num != NULL && ASN1_INTEGER_set(num, o->number) == 1 &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
        ASN1_INTEGER_free(num);
    }
    if (ok && o->entry_issuer != NULL) {
        ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
        ok = idp != NULL && (idp->indirectCRL = 0xFF, 1) &&
             X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0) == 1;
        ISSUING_DIST_POINT_free(idp);
    }
    const EVP_MD *h = o->sha256 ? EVP_sha256() : EVP_sha384();
    ok = ok && X509_CRL_sort(crl) == 1 &&
         EVP_DigestSignInit(md, &pctx, h, NULL, o->sign_key != NULL ? o->sign_key : pki->ark_key) ==
             1 &&
         EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, o->sha256 ? 32 : 48) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, h) > 0 && X509_CRL_sign_ctx(crl, md) > 0;
    /* Round trip through DER: OpenSSL indexes the entries (and indirect issuers) on parsing. */
    int len = ok ? i2d_X509_CRL(crl, &der) : -1;
    if (len > 0) {
        const unsigned char *q = der;
        out = d2i_X509_CRL(NULL, &q, len);
    }
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    X509_CRL_free(crl);
    return out;
}
