/*
 * Synthetic Azure vTPM evidence signed by a test PKI (testvtpm.h). Formats: VTPM.md sections
 * 1-6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "verdict/base64.h"
#include "verdict/bytes.h"
#include "testpki.h"
#include "testvtpm.h"

#define HCL_NV_SIZE   2600
#define HCL_SNP       0x020
#define HCL_REQUEST   0x4C0
#define HCL_RUNTIME   0x4D4
#define PCRS          24
#define FIRMWARE_VER  0x2020031200120003ull
#define DEFAULT_VM_ID "6b5c1f2e-0d3a-4c8e-9f71-2a4b8c0d1e3f"

void vd_testvtpm_pcr(unsigned i, uint8_t out[32])
{
    for (unsigned k = 0; k < 32; k++) {
        out[k] = (uint8_t)(0x10 * (i % 16) + k + i);
    }
}

EVP_PKEY *vd_testvtpm_new_ak(void)
{
    return EVP_RSA_gen(2048);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

/* base64url without padding of a big-endian BIGNUM (JWK "n"); malloc'd. */
static char *bn_b64url(const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    uint8_t *buf = malloc((size_t)n);
    size_t cap = vd_base64_encoded_len((size_t)n, VD_B64_URL_NOPAD) + 1;
    char *out = malloc(cap);
    if (buf == NULL || out == NULL || BN_bn2bin(bn, buf) != n ||
        vd_base64_encode(buf, (size_t)n, VD_B64_URL_NOPAD, out, cap) == (size_t)-1) {
        free(out);
        out = NULL;
    }
    free(buf);
    return out;
}

/* The runtime data JSON, compact, keys in Azure's order (VTPM.md section 4). */
static char *runtime_json(EVP_PKEY *ak, const vd_testvtpm_opts_t *o, int v2)
{
    BIGNUM *n = NULL;
    char *nb64 = NULL, *text = NULL;
    char user_hex[2 * 64 + 1];
    uint8_t user[64] = {0};
    if (EVP_PKEY_get_bn_param(ak, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        (nb64 = bn_b64url(n)) == NULL) {
        goto out;
    }
    if (v2) {
        const uint8_t *u = o->user_data != NULL ? o->user_data : o->extra;
        size_t ul = o->user_data != NULL ? o->user_data_len : o->extra_len;
        memcpy(user, u, ul < sizeof(user) ? ul : sizeof(user));
    }
    vd_hex_encode(user, sizeof(user), user_hex, sizeof(user_hex));
    for (char *c = user_hex; *c != '\0'; c++) {
        if (*c >= 'a' && *c <= 'f') {
            *c = (char)(*c - 'a' + 'A'); /* Azure writes upper case */
        }
    }
    json_t *doc = json_pack("{s:[{s:s, s:[s], s:s, s:s, s:s}], s:{s:b, s:b, s:b, s:s}, s:s}",
                            "keys", "kid", "HCLAkPub", "key_ops", "sign", "kty", "RSA", "e", "AQAB",
                            "n", nb64, "vm-configuration", "console-enabled", o->console_on,
                            "secure-boot", !o->secure_boot_off, "tpm-enabled", 1, "vmUniqueId",
                            o->vm_id != NULL ? o->vm_id : DEFAULT_VM_ID, "user-data", user_hex);
    if (doc != NULL) {
        text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(doc);
    }
out:
    BN_free(n);
    free(nb64);
    return text;
}

/* The HCL report (VTPM.md section 2) around `snp` and `rd`; 0, or -1 if it does not fit. */
static int hcl_report(const uint8_t snp[VD_SNP_REPORT_SIZE], const char *rd,
                      uint8_t out[HCL_NV_SIZE])
{
    size_t n = strlen(rd);
    if (HCL_RUNTIME + n > HCL_NV_SIZE) {
        return -1;
    }
    memset(out, 0, HCL_NV_SIZE);
    memcpy(out, "HCLA", 4);
    put_le32(out + 0x04, 1);                           /* header version (Milan) */
    put_le32(out + 0x08, (uint32_t)(HCL_RUNTIME + n)); /* report size */
    put_le32(out + 0x0C, 2);                           /* request type */
    memcpy(out + HCL_SNP, snp, VD_SNP_REPORT_SIZE);
    put_le32(out + HCL_REQUEST, (uint32_t)(20 + n));
    put_le32(out + HCL_REQUEST + 4, 1);  /* request-data version */
    put_le32(out + HCL_REQUEST + 8, 2);  /* SEV-SNP */
    put_le32(out + HCL_REQUEST + 12, 1); /* SHA-256 */
    put_le32(out + HCL_REQUEST + 16, (uint32_t)n);
    memcpy(out + HCL_RUNTIME, rd, n);
    return 0;
}

/* TPMS_ATTEST of a quote over PCR 0..23 (SHA-256 bank); returns its length, 0 on error. */
static size_t quote_message(const vd_testvtpm_opts_t *o, const uint8_t pcrs[PCRS][32],
                            const uint8_t ak_name[32], uint8_t *out, size_t cap)
{
    size_t need = 4 + 2 + 2 + 34 + 2 + o->extra_len + 17 + 8 + 4 + 2 + 1 + 3 + 2 + 32;
    if (o->extra_len > 64 || need > cap) {
        return 0;
    }
    uint8_t *p = out;
    put_be(p, 0xFF544347u, 4), p += 4;
    put_be(p, 0x8018, 2), p += 2;
    put_be(p, 34, 2), p += 2; /* qualifiedSigner: nameAlg SHA-256 + digest */
    put_be(p, 0x000B, 2), p += 2;
    memcpy(p, ak_name, 32), p += 32;
    put_be(p, o->extra_len, 2), p += 2;
    if (o->extra_len > 0) {
        memcpy(p, o->extra, o->extra_len), p += o->extra_len;
    }
    put_be(p, 123456789, 8), p += 8; /* clock */
    put_be(p, 7, 4), p += 4;         /* resetCount */
    put_be(p, 0, 4), p += 4;         /* restartCount */
    *p++ = 1;                        /* safe */
    put_be(p, FIRMWARE_VER, 8), p += 8;
    put_be(p, 1, 4), p += 4; /* one selection: SHA-256, PCR 0..23 */
    put_be(p, 0x000B, 2), p += 2;
    *p++ = 3;
    *p++ = 0xFF, *p++ = 0xFF, *p++ = 0xFF;
    put_be(p, 32, 2), p += 2;
    SHA256(&pcrs[0][0], PCRS * 32, p), p += 32; /* the values in selection order */
    return (size_t)(p - out);
}

static int rsa_sign(EVP_PKEY *ak, const uint8_t *msg, size_t len, uint8_t *sig, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = md != NULL && EVP_DigestSignInit(md, &pc, EVP_sha256(), NULL, ak) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
             EVP_DigestSign(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

static json_t *hex_string(const uint8_t *p, size_t len)
{
    char *buf = malloc(2 * len + 1);
    json_t *j = buf != NULL ? json_string(vd_hex_encode(p, len, buf, 2 * len + 1)) : NULL;
    free(buf);
    return j;
}

static json_t *b64url_string(const uint8_t *p, size_t len)
{
    size_t cap = vd_base64_encoded_len(len, VD_B64_URL_PAD) + 1;
    char *buf = malloc(cap);
    json_t *j = buf != NULL && vd_base64_encode(p, len, VD_B64_URL_PAD, buf, cap) != (size_t)-1
                    ? json_string(buf)
                    : NULL;
    free(buf);
    return j;
}

char *vd_testvtpm_evidence(const uint8_t snp_template[VD_SNP_REPORT_SIZE], EVP_PKEY *vcek_key,
                           X509 *vcek, EVP_PKEY *ak, const vd_testvtpm_opts_t *o)
{
    static const vd_testvtpm_opts_t none = {0};
    uint8_t snp[VD_SNP_REPORT_SIZE], hcl[HCL_NV_SIZE], msg[256], sig[512], ak_name[32];
    uint8_t pcrs[PCRS][32], *der = NULL;
    size_t sig_len = sizeof(sig), msg_len = 0;
    char *rd = NULL, *text = NULL;
    json_t *doc = NULL, *pcr_list = NULL;
    if (o == NULL) {
        o = &none;
    }
    int version = o->version != 0 ? o->version : 2;
    for (unsigned i = 0; i < PCRS; i++) {
        if (o->pcrs != NULL) {
            memcpy(pcrs[i], o->pcrs[i], 32);
        } else {
            vd_testvtpm_pcr(i, pcrs[i]);
        }
    }
    rd = runtime_json(ak, o, version == 2);
    if (rd == NULL) {
        fprintf(stderr, "testvtpm: cannot write the runtime data\n");
        goto out;
    }
    /* REPORT_DATA[0..31] binds the runtime data as stored; the SNP report is signed again. */
    memcpy(snp, snp_template, sizeof(snp));
    memset(snp + 0x50, 0, 64);
    SHA256((const uint8_t *)rd, strlen(rd), snp + 0x50);
    SHA256((const uint8_t *)rd, strlen(rd), ak_name); /* qualifiedSigner: not checkable */
    int der_len = i2d_X509(vcek, &der);
    if (vd_testreport_sign(snp, vcek_key) != 0 || hcl_report(snp, rd, hcl) != 0 || der_len <= 0 ||
        (msg_len = quote_message(o, (const uint8_t(*)[32])pcrs, ak_name, msg, sizeof(msg))) == 0 ||
        rsa_sign(ak, msg, msg_len, sig, &sig_len) != 0) {
        fprintf(stderr, "testvtpm: cannot build or sign the evidence\n");
        goto out;
    }
    pcr_list = json_array();
    for (unsigned i = 0; pcr_list != NULL && i < PCRS; i++) {
        json_array_append_new(pcr_list, hex_string(pcrs[i], 32));
    }
    doc = json_pack("{s:i, s:o, s:{s:o, s:o, s:o}, s:o}", "version", version, "hcl_report",
                    b64url_string(hcl, sizeof(hcl)), "tpm_quote", "signature",
                    hex_string(sig, sig_len), "message", hex_string(msg, msg_len), "pcrs", pcr_list,
                    "vcek", b64url_string(der, (size_t)der_len));
    pcr_list = NULL; /* owned by doc (or freed by json_pack on failure) */
    if (doc != NULL) {
        text = json_dumps(doc, JSON_PRESERVE_ORDER);
    }
out:
    json_decref(doc);
    json_decref(pcr_list);
    OPENSSL_free(der);
    free(rd);
    return text;
}
