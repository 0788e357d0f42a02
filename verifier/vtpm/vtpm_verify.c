/*
 * The chain of checks of VTPM.md section 8 after the SNP report (include/verdict/vtpm.h).
 *
 *   SNP report -> REPORT_DATA -> runtime data -> AK -> quote -> PCRs + nonce
 *
 * Each link is a named check appended to the SNP result's list, in VTPM.md's order. Every check
 * runs whatever failed before it, so the explanation is complete; a check whose input could not
 * be obtained is "skip" with the reason, and in that case an earlier check has already failed
 * (the one exception, a raw HCL report, carries no quote: its tpm.* checks are skip, and a
 * nonce given for it fails, because nothing in it can bind one). The runtime data is parsed
 * even when REPORT_DATA does not bind it, only to explain what else is wrong: the result is
 * rejected anyway, and the document passed through the same parser as the evidence itself.
 * Digests and nonces are compared in constant time. Pure: no I/O, no clock.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "verdict/amdcert.h"
#include "verdict/bytes.h"
#include "verdict/vtpm.h"

#define SNP_VMPL_OFFSET        0x030
#define SNP_REPORT_DATA_OFFSET 0x050

typedef struct ctx {
    const vd_vtpm_evidence_t *e;
    const uint8_t *nonce; /* the expected qualifying data */
    size_t nonce_len;
    const char *what; /* what it is, for messages: "nonce" or the challenge binding */
    const vd_snp_result_t *snp;
    vd_vtpm_result_t *out;
    vd_checks_t *checks; /* the vTPM checks, merged with the SNP ones at the end */
    EVP_PKEY *ak;
    int signature_ok;
    int selection_ok;
} ctx_t;

#define PASS(c, name, ...) vd_checks_add((c)->checks, name, VD_CHECK_PASS, __VA_ARGS__)
#define FAIL(c, name, ...) vd_checks_add((c)->checks, name, VD_CHECK_FAIL, __VA_ARGS__)
#define SKIP(c, name, ...) vd_checks_add((c)->checks, name, VD_CHECK_SKIP, __VA_ARGS__)

static void hex_prefix(const uint8_t *p, size_t len, char *out, size_t out_size)
{
    vd_hex_encode(p, len, out, out_size);
}

/* ---- 1, 2: the evidence and the HCL header ---------------------------------------------- */

static void check_evidence(ctx_t *c)
{
    const vd_vtpm_evidence_t *e = c->e;
    if (e->form == VD_VTPM_FORM_NONE || e->hcl == NULL) {
        FAIL(c, "vtpm.evidence", "not vTPM evidence");
        return;
    }
    if (e->has_quote) {
        PASS(c, "vtpm.evidence",
             "form %s: HCL report %zu bytes, quote %zu bytes, signature %zu bytes, %zu PCR values, "
             "%s",
             vd_vtpm_form_str(e->form), e->hcl_len, e->quote_len, e->signature_len, e->n_pcrs,
             e->vcek == NULL ? "no VCEK" : "VCEK included");
    } else {
        PASS(c, "vtpm.evidence", "raw HCL report, %zu bytes (no TPM quote, no VCEK)", e->hcl_len);
    }
}

static void check_header(ctx_t *c)
{
    vd_error_t e = {0};
    if (vd_vtpm_hcl_parse(c->e->hcl, c->e->hcl_len, &c->out->hcl, &e) != VD_OK) {
        FAIL(c, "hcl.header", "%s", e.msg);
        return;
    }
    c->out->hcl_ok = 1;
    PASS(c, "hcl.header",
         "HCLA header version %u, request type 2, SEV-SNP report, SHA-256 runtime data of %zu "
         "bytes",
         c->out->hcl.header_version, c->out->hcl.runtime_len);
}

/* ---- 3, 4: the SNP report's VCEK, VMPL and REPORT_DATA ----------------------------------- */

/*
 * A VCEK carried in the evidence must be the one for this report: its hwID equal to CHIP_ID and
 * its SPLs equal to REPORTED_TCB (AMD derives one VCEK per chip and TCB). The SNP core picks
 * whichever candidate verifies the report, so without this a pipeline that also offers cached
 * or fetched VCEKs would pass over a wrong one in the evidence (issue #13: a VCEK in the
 * evidence that does not match is a rejection, never a reason to fetch another).
 */
static vd_err_t check_vcek(ctx_t *c, vd_error_t *err)
{
    vd_error_t e = {0};
    vd_snp_report_t *r = NULL;
    vd_amdcert_t ext;
    size_t len;
    const uint8_t *report = vd_vtpm_snp_report(c->e, &len);
    if (c->e->vcek == NULL || c->e->vcek_len == 0) {
        SKIP(c, "vtpm.vcek", "the evidence carries no VCEK");
        return VD_OK;
    }
    if (c->e->vcek_certs == NULL || vd_certset_count(c->e->vcek_certs) == 0) {
        FAIL(c, "vtpm.vcek", "the evidence's VCEK does not decode: %s", c->e->vcek_problem);
        return VD_OK;
    }
    if (vd_amdcert_parse(vd_certset_get(c->e->vcek_certs, 0), &ext, &e) != VD_OK) {
        FAIL(c, "vtpm.vcek", "the evidence's VCEK has no usable AMD extensions: %s", e.msg);
        return VD_OK;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "vTPM: out of memory");
    }
    if (report == NULL || vd_snp_report_parse(report, len, r, &e) != VD_OK) {
        SKIP(c, "vtpm.vcek", "no SNP report to compare the evidence's VCEK with");
        goto out;
    }
    char a[96], b[96];
    vd_product_t p = c->snp->product;
    vd_tcb_t reported = vd_tcb_decode(r->reported_tcb, p);
    vd_tcb_t cert = vd_amdcert_tcb(&ext, p);
    if (ext.has_hwid &&
        (ext.hwid_len > sizeof(r->chip_id) || CRYPTO_memcmp(ext.hwid, r->chip_id, ext.hwid_len))) {
        FAIL(c, "vtpm.vcek",
             "the evidence's VCEK is for chip %.16s..., the report's CHIP_ID is %.16s...",
             vd_hex_encode(ext.hwid, ext.hwid_len, a, sizeof(a)),
             vd_hex_encode(r->chip_id, 64, b, sizeof(b)));
        goto out;
    }
    if (!vd_tcb_eq(&cert, &reported)) {
        FAIL(c, "vtpm.vcek", "the evidence's VCEK is for TCB %s, the report's REPORTED_TCB is %s",
             vd_tcb_format(&cert, a, sizeof(a)), vd_tcb_format(&reported, b, sizeof(b)));
        goto out;
    }
    PASS(c, "vtpm.vcek", "the evidence's VCEK is for this report's %s and TCB %s",
         ext.has_hwid ? "CHIP_ID" : "signer (no hwID)", vd_tcb_format(&cert, a, sizeof(a)));
out:
    free(r);
    return VD_OK;
}

static void check_vmpl(ctx_t *c)
{
    size_t len;
    const uint8_t *r = vd_vtpm_snp_report(c->e, &len);
    if (r == NULL) {
        SKIP(c, "hcl.vmpl", "no SNP report in the HCL report");
        return;
    }
    uint32_t vmpl = vd_le32(r + SNP_VMPL_OFFSET);
    if (vmpl != 0) {
        FAIL(c, "hcl.vmpl", "VMPL %u: the paravisor requests the report at VMPL 0", vmpl);
    } else {
        PASS(c, "hcl.vmpl", "VMPL 0 (the paravisor's request)");
    }
}

static void check_report_data(ctx_t *c)
{
    size_t len;
    const uint8_t *r = vd_vtpm_snp_report(c->e, &len);
    if (!c->out->hcl_ok || r == NULL) {
        SKIP(c, "hcl.report_data", "the runtime data could not be located");
        return;
    }
    if (!c->snp->report_parsed) {
        FAIL(c, "hcl.report_data", "no decoded SNP report: REPORT_DATA cannot be trusted");
        return;
    }
    if (memcmp(c->snp->report.raw, r, VD_SNP_REPORT_SIZE) != 0) {
        FAIL(c, "hcl.report_data",
             "the SNP verification result is not of this HCL report's SNP report");
        return;
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char want[65], got[65];
    SHA256(c->out->hcl.runtime_data, c->out->hcl.runtime_len, digest);
    hex_prefix(digest, 32, want, sizeof(want));
    hex_prefix(r + SNP_REPORT_DATA_OFFSET, 32, got, sizeof(got));
    const char *rest = vd_all_zero(r + SNP_REPORT_DATA_OFFSET + 32, 32)
                           ? "REPORT_DATA[32..63] zero"
                           : "REPORT_DATA[32..63] not zero (not used)";
    if (CRYPTO_memcmp(digest, r + SNP_REPORT_DATA_OFFSET, 32) != 0) {
        FAIL(c, "hcl.report_data",
             "REPORT_DATA[0..31] %s != SHA-256 of the %zu runtime-data bytes %s: the runtime data "
             "(and its attestation key) is not the one the SNP report binds",
             got, c->out->hcl.runtime_len, want);
        return;
    }
    PASS(c, "hcl.report_data", "REPORT_DATA[0..31] = SHA-256 of the %zu runtime-data bytes %s; %s",
         c->out->hcl.runtime_len, want, rest);
}

/* ---- 5: runtime data and the attestation key ---------------------------------------------- */

static void check_runtime(ctx_t *c)
{
    vd_error_t e = {0};
    if (!c->out->hcl_ok) {
        SKIP(c, "hcl.runtime_data", "the runtime data could not be located");
        return;
    }
    if (vd_vtpm_runtime_parse(c->out->hcl.runtime_data, c->out->hcl.runtime_len, &c->out->runtime,
                              &e) != VD_OK) {
        FAIL(c, "hcl.runtime_data", "%s", e.msg);
        return;
    }
    c->out->runtime_ok = 1;
    const vd_vtpm_runtime_t *rt = &c->out->runtime;
    PASS(c, "hcl.runtime_data", "vmUniqueId %s, secure-boot %s, tpm-enabled %s, console-enabled %s",
         rt->vm_unique_id[0] ? rt->vm_unique_id : "(none)",
         rt->secure_boot < 0 ? "absent"
         : rt->secure_boot   ? "true"
                             : "false",
         rt->tpm_enabled < 0 ? "absent"
         : rt->tpm_enabled   ? "true"
                             : "false",
         rt->console_enabled < 0 ? "absent"
         : rt->console_enabled   ? "true"
                                 : "false");
}

/* An RSA public key from big-endian n and e; NULL on failure. */
static EVP_PKEY *rsa_key(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *be = BN_bin2bn(e, (int)e_len, NULL);
    if (bn == NULL || be == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static void check_ak(ctx_t *c)
{
    const vd_vtpm_runtime_t *rt = &c->out->runtime;
    if (!c->out->runtime_ok) {
        SKIP(c, "hcl.ak", "the runtime data did not parse");
        return;
    }
    if (!rt->ak_ok) {
        FAIL(c, "hcl.ak", "%s", rt->ak_problem);
        return;
    }
    unsigned bits = (unsigned)(rt->ak_n_len * 8);
    for (uint8_t top = rt->ak_n[0]; (top & 0x80) == 0; top = (uint8_t)(top << 1)) {
        bits--;
    }
    if (bits < VD_VTPM_AK_MIN_BITS) {
        FAIL(c, "hcl.ak", "the AK's modulus has %u bits, fewer than %d", bits, VD_VTPM_AK_MIN_BITS);
        return;
    }
    if ((rt->ak_n[rt->ak_n_len - 1] & 1) == 0) {
        FAIL(c, "hcl.ak", "the AK's modulus is even");
        return;
    }
    if ((rt->ak_e[rt->ak_e_len - 1] & 1) == 0 || (rt->ak_e_len == 1 && rt->ak_e[0] < 3)) {
        FAIL(c, "hcl.ak", "the AK's public exponent is not an odd number of at least 3");
        return;
    }
    c->ak = rsa_key(rt->ak_n, rt->ak_n_len, rt->ak_e, rt->ak_e_len);
    if (c->ak == NULL) {
        ERR_clear_error();
        FAIL(c, "hcl.ak", "the AK's n and e do not form an RSA public key");
        return;
    }
    c->out->ak_bits = bits;
    PASS(c, "hcl.ak", "RSA-%u attestation key \"HCLAkPub\" from the runtime data", bits);
    return;
}

/* ---- 6, 7: the quote and its signature ---------------------------------------------------- */

static void check_quote(ctx_t *c)
{
    vd_error_t e = {0};
    if (!c->e->has_quote) {
        SKIP(c, "tpm.quote", "no TPM quote: the evidence is a raw HCL report");
        return;
    }
    if (vd_vtpm_attest_parse(c->e->quote, c->e->quote_len, &c->out->quote, &e) != VD_OK) {
        FAIL(c, "tpm.quote", "%s", e.msg);
        return;
    }
    c->out->quote_ok = 1;
    const vd_tpm_attest_t *q = &c->out->quote;
    char signer[2 * VD_TPM_NAME_MAX + 1];
    hex_prefix(q->signer, q->signer_len, signer, sizeof(signer));
    PASS(c, "tpm.quote",
         "TPMS_ATTEST quote, %zu bytes, extraData %u bytes, firmware 0x%016llx, resetCount %u, "
         "qualifiedSigner %.40s%s (not checkable)",
         c->e->quote_len, q->extra_len, (unsigned long long)q->firmware_version, q->reset_count,
         signer, q->signer_len > 20 ? "..." : "");
}

static vd_err_t check_signature(ctx_t *c, vd_error_t *err)
{
    if (!c->e->has_quote) {
        SKIP(c, "tpm.signature", "no TPM quote: the evidence is a raw HCL report");
        return VD_OK;
    }
    if (c->ak == NULL) {
        SKIP(c, "tpm.signature", "no usable attestation key from the runtime data");
        return VD_OK;
    }
    size_t mod = (size_t)EVP_PKEY_get_size(c->ak);
    if (c->e->signature_len != mod) {
        FAIL(c, "tpm.signature", "signature of %zu bytes, the AK's modulus is %zu bytes",
             c->e->signature_len, mod);
        return VD_OK;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (md == NULL || EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, c->ak, NULL) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
        EVP_MD_CTX_free(md);
        vd_error_t tmp = {0};
        vd_error_add_openssl(&tmp);
        return VD_ERR(err, VD_E_INTERNAL, "vTPM: could not set up an RSA verification%s", tmp.msg);
    }
    int ok =
        EVP_DigestVerify(md, c->e->signature, c->e->signature_len, c->e->quote, c->e->quote_len);
    EVP_MD_CTX_free(md);
    if (ok != 1) {
        ERR_clear_error();
        FAIL(c, "tpm.signature",
             "RSASSA-PKCS1-v1_5/SHA-256 signature over the %zu-byte quote does not verify with "
             "the AK from the runtime data",
             c->e->quote_len);
        return VD_OK;
    }
    c->signature_ok = 1;
    PASS(c, "tpm.signature", "RSASSA-PKCS1-v1_5/SHA-256 by the AK over the %zu-byte quote",
         c->e->quote_len);
    return VD_OK;
}

/* ---- 8: the PCR selection and digest ------------------------------------------------------ */

static void check_selection(ctx_t *c)
{
    const vd_tpm_attest_t *q = &c->out->quote;
    if (!c->e->has_quote) {
        SKIP(c, "tpm.pcr_selection", "no TPM quote: the evidence is a raw HCL report");
        return;
    }
    if (!c->out->quote_ok) {
        SKIP(c, "tpm.pcr_selection", "the quote did not parse");
        return;
    }
    if (q->n_selections != 1 || q->sel[0].hash_alg != VD_TPM_ALG_SHA256) {
        FAIL(c, "tpm.pcr_selection",
             "the quote selects %u banks%s; exactly one SHA-256 (0x000b) bank is accepted",
             q->n_selections, q->n_selections >= 1 ? " (first not SHA-256, or more than one)" : "");
        return;
    }
    const vd_tpm_pcr_selection_t *s = &q->sel[0];
    uint32_t mask = 0;
    size_t count = 0;
    for (unsigned i = 0; i < (unsigned)s->size * 8; i++) {
        if ((s->bitmap[i / 8] >> (i % 8)) & 1) {
            if (i >= VD_VTPM_PCRS) {
                FAIL(c, "tpm.pcr_selection", "the quote selects PCR %u; only PCR 0-23 exist", i);
                return;
            }
            mask |= 1u << i;
            count++;
        }
    }
    if (count == 0) {
        FAIL(c, "tpm.pcr_selection", "the quote selects no PCR");
        return;
    }
    if (count != c->e->n_pcrs) {
        FAIL(c, "tpm.pcr_selection",
             "%zu PCR values sent, the quote selects %zu (mask 0x%06x): the values cannot be "
             "mapped to PCR numbers",
             c->e->n_pcrs, count, mask);
        return;
    }
    size_t k = 0;
    for (unsigned i = 0; i < VD_VTPM_PCRS; i++) {
        if (mask & (1u << i)) {
            memcpy(c->out->pcrs[i], c->e->pcrs[k++], 32);
        }
    }
    c->out->pcr_mask = mask;
    c->selection_ok = 1;
    PASS(c, "tpm.pcr_selection", "SHA-256 bank, %zu PCRs (mask 0x%06x), one value each", count,
         mask);
}

static void check_digest(ctx_t *c)
{
    const vd_tpm_attest_t *q = &c->out->quote;
    if (!c->e->has_quote) {
        SKIP(c, "tpm.pcr_digest", "no TPM quote: the evidence is a raw HCL report");
        return;
    }
    if (!c->selection_ok) {
        SKIP(c, "tpm.pcr_digest", "the PCR values do not match the quote's selection");
        return;
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(c->e->pcrs[0], c->e->n_pcrs * 32, digest); /* the values are contiguous, in order */
    char want[65], got[2 * VD_TPM_DIGEST_MAX + 1];
    hex_prefix(digest, 32, want, sizeof(want));
    hex_prefix(q->digest, q->digest_len, got, sizeof(got));
    if (q->digest_len != 32 || CRYPTO_memcmp(digest, q->digest, 32) != 0) {
        FAIL(c, "tpm.pcr_digest",
             "the quote's pcrDigest %s != SHA-256 of the %zu PCR values sent %s: a PCR value "
             "differs from the quoted state",
             got, c->e->n_pcrs, want);
        return;
    }
    PASS(c, "tpm.pcr_digest", "pcrDigest %s = SHA-256 of the %zu PCR values", got, c->e->n_pcrs);
}

/* ---- 9: the nonce ------------------------------------------------------------------------- */

static void check_nonce(ctx_t *c)
{
    const vd_tpm_attest_t *q = &c->out->quote;
    if (c->nonce_len == 0) {
        SKIP(c, "tpm.nonce", "no nonce given: the quote may be a replay");
        return;
    }
    if (!c->e->has_quote) {
        FAIL(c, "tpm.nonce", "a nonce was given, but a raw HCL report has no quote to bind it");
        return;
    }
    if (!c->out->quote_ok) {
        FAIL(c, "tpm.nonce", "a nonce was given, but the quote did not parse");
        return;
    }
    if (q->extra_len != c->nonce_len || CRYPTO_memcmp(q->extra, c->nonce, c->nonce_len) != 0) {
        char got[2 * VD_TPM_DATA_MAX + 1];
        hex_prefix(q->extra, q->extra_len, got, sizeof(got));
        FAIL(c, "tpm.nonce", "the quote's extraData (%u bytes) %.64s%s is not the %zu-byte %s",
             q->extra_len, got, q->extra_len > 32 ? "..." : "", c->nonce_len, c->what);
        return;
    }
    c->out->nonce_checked = 1;
    PASS(c, "tpm.nonce", "the quote's extraData equals the %zu-byte %s", c->nonce_len, c->what);
}

static void check_user_data(ctx_t *c)
{
    const vd_vtpm_runtime_t *rt = &c->out->runtime;
    if (c->e->form != VD_VTPM_FORM_V2) {
        SKIP(c, "hcl.user_data", "%s evidence: user-data does not carry the nonce",
             vd_vtpm_form_str(c->e->form));
        return;
    }
    if (c->nonce_len == 0) {
        SKIP(c, "hcl.user_data", "no nonce given");
        return;
    }
    if (!c->out->runtime_ok || !rt->has_user_data) {
        FAIL(c, "hcl.user_data", "v2 evidence without a readable user-data in the runtime data");
        return;
    }
    if (c->nonce_len > VD_VTPM_USER_DATA ||
        CRYPTO_memcmp(rt->user_data, c->nonce, c->nonce_len) != 0) {
        FAIL(c, "hcl.user_data", "the runtime data's user-data does not start with the %zu-byte %s",
             c->nonce_len, c->what);
        return;
    }
    PASS(c, "hcl.user_data", "the runtime data's user-data starts with the %zu-byte %s",
         c->nonce_len, c->what);
}

/* ---- entry points ------------------------------------------------------------------------- */

/* snp->checks := pre (vtpm.evidence, hcl.header) + the SNP checks + the rest. */
static void merge(vd_snp_result_t *snp, const vd_checks_t *mine, size_t n_pre, vd_checks_t *tmp)
{
    memset(tmp, 0, sizeof(*tmp));
    for (size_t i = 0; i < n_pre && i < mine->count; i++) {
        vd_checks_add(tmp, mine->items[i].name, mine->items[i].result, "%s", mine->items[i].detail);
    }
    for (size_t i = 0; i < snp->checks.count; i++) {
        vd_checks_add(tmp, snp->checks.items[i].name, snp->checks.items[i].result, "%s",
                      snp->checks.items[i].detail);
    }
    for (size_t i = n_pre; i < mine->count; i++) {
        vd_checks_add(tmp, mine->items[i].name, mine->items[i].result, "%s", mine->items[i].detail);
    }
    snp->checks = *tmp;
}

vd_err_t vd_vtpm_check(const vd_vtpm_evidence_t *e, const uint8_t *nonce, size_t nonce_len,
                       vd_snp_result_t *snp, vd_vtpm_result_t *out, vd_error_t *err)
{
    vd_vtpm_nonce_t n = {.binding = VD_VTPM_BIND_EXACT, .nonce = nonce, .nonce_len = nonce_len};
    return vd_vtpm_check_bound(e, &n, snp, out, err);
}

vd_err_t vd_vtpm_check_bound(const vd_vtpm_evidence_t *e, const vd_vtpm_nonce_t *n,
                             vd_snp_result_t *snp, vd_vtpm_result_t *out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    ctx_t c;
    uint8_t bound[VD_VTPM_CHALLENGE_BIND_LEN];
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.nonce = n->nonce;
    c.nonce_len = n->nonce != NULL ? n->nonce_len : 0;
    c.what = "nonce";
    if (n->binding == VD_VTPM_BIND_SHA384 && c.nonce_len > 0) {
        /* A verdict challenge: the quote binds SHA-384(challenge || runtime data). */
        rc = vd_vtpm_challenge_binding(n->nonce, n->nonce_len, n->runtime_data,
                                       n->runtime_data != NULL ? n->runtime_data_len : 0, bound,
                                       err);
        if (rc != VD_OK) {
            return rc;
        }
        c.nonce = bound;
        c.nonce_len = sizeof(bound);
        c.what =
            n->runtime_data != NULL ? "SHA-384(challenge || runtime data)" : "SHA-384(challenge)";
        out->binding = VD_VTPM_BIND_SHA384;
    }
    vd_checks_t *mine = calloc(2, sizeof(*mine));
    if (mine == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "vTPM: out of memory");
    }
    c.e = e;
    c.snp = snp;
    c.out = out;
    c.checks = &mine[0];
    out->form = e->form;

    check_evidence(&c);
    check_header(&c);
    size_t n_pre = mine[0].count;
    if ((rc = check_vcek(&c, err)) != VD_OK) {
        goto out;
    }
    check_vmpl(&c);
    check_report_data(&c);
    check_runtime(&c);
    check_ak(&c);
    check_quote(&c);
    if ((rc = check_signature(&c, err)) != VD_OK) {
        goto out;
    }
    check_selection(&c);
    check_digest(&c);
    check_nonce(&c);
    check_user_data(&c);

    merge(snp, &mine[0], n_pre, &mine[1]);
    if (vd_checks_count(&mine[0], VD_CHECK_FAIL) > 0 ||
        vd_checks_count(&snp->checks, VD_CHECK_FAIL) > 0) {
        snp->status = VD_SNP_REJECTED;
    }
out:
    EVP_PKEY_free(c.ak);
    free(mine);
    return rc;
}

vd_err_t vd_vtpm_verify(const vd_vtpm_input_t *in, vd_snp_result_t *snp, vd_vtpm_result_t *out,
                        vd_error_t *err)
{
    static const uint8_t none[1] = {0};
    vd_err_t rc;
    vd_certset_t *certs = NULL;
    memset(out, 0, sizeof(*out));
    if ((rc = vd_certset_new(&certs, err)) != VD_OK) {
        return rc;
    }
    vd_error_t vcek_err = {0};
    if ((rc = vd_vtpm_add_certs(in->evidence, certs, &vcek_err)) != VD_OK && rc != VD_E_MALFORMED) {
        rc = VD_ERR(err, rc, "%s", vcek_err.msg);
        goto out;
    } /* a VCEK that does not decode is left out: vtpm.vcek rejects the evidence */
    for (size_t i = 0; in->certs != NULL && i < vd_certset_count(in->certs); i++) {
        if ((rc = vd_certset_add_x509(certs, vd_certset_get(in->certs, i),
                                      vd_certset_origin(in->certs, i), err)) != VD_OK) {
            goto out;
        }
    }
    size_t len = 0;
    const uint8_t *report = vd_vtpm_snp_report(in->evidence, &len);
    vd_snp_input_t sin = {
        .report = report != NULL ? report : none,
        .report_len = len,
        .certs = certs,
        .trust = in->trust,
        .at = in->at,
        .kds_base = in->kds_base,
    };
    if ((rc = vd_snp_verify(&sin, snp, err)) != VD_OK) {
        goto out;
    }
    rc = vd_vtpm_check(in->evidence, in->nonce, in->nonce_len, snp, out, err);
out:
    vd_certset_free(&certs);
    return rc;
}
