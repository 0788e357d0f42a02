/*
 * TPMS_ATTEST of a TPM2_Quote (TCG TPM 2.0 Library Part 2, 10.12.12; VTPM.md section 5).
 *
 * Trust boundary: the message is untrusted until its signature verified, and is parsed before
 * that (to report what it says). Big-endian throughout; a TPM2B is a u16 size then the bytes.
 * A cursor refuses to read past the end (subtraction form); every TPM2B is bounded by its type's
 * maximum as well as by the input; the whole input must be consumed.
 */
#include <string.h>

#include "verdict/vtpm.h"

typedef struct rd {
    const uint8_t *p;
    size_t len;
} rd_t;

static int take(rd_t *r, size_t n, const uint8_t **out)
{
    if (r->len < n) {
        return -1;
    }
    *out = r->p;
    r->p += n;
    r->len -= n;
    return 0;
}

static int u8(rd_t *r, uint8_t *v)
{
    const uint8_t *b;
    if (take(r, 1, &b) != 0) {
        return -1;
    }
    *v = b[0];
    return 0;
}

static int u16(rd_t *r, uint16_t *v)
{
    const uint8_t *b;
    if (take(r, 2, &b) != 0) {
        return -1;
    }
    *v = (uint16_t)(b[0] << 8 | b[1]);
    return 0;
}

static int u32(rd_t *r, uint32_t *v)
{
    const uint8_t *b;
    if (take(r, 4, &b) != 0) {
        return -1;
    }
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
    return 0;
}

static int u64(rd_t *r, uint64_t *v)
{
    uint32_t hi, lo;
    if (u32(r, &hi) != 0 || u32(r, &lo) != 0) {
        return -1;
    }
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* A TPM2B of at most `max` bytes into `out`. */
static vd_err_t tpm2b(rd_t *r, const char *field, uint8_t *out, size_t max, uint16_t *out_len,
                      vd_error_t *err)
{
    uint16_t n;
    const uint8_t *b;
    if (u16(r, &n) != 0) {
        return VD_ERR(err, VD_E_MALFORMED, "TPMS_ATTEST: truncated in the size of %s", field);
    }
    if (n > max) {
        return VD_ERR(err, VD_E_MALFORMED, "TPMS_ATTEST: %s of %u bytes, more than %zu", field, n,
                      max);
    }
    if (take(r, n, &b) != 0) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "TPMS_ATTEST: %s of %u bytes runs past the end of the message", field, n);
    }
    memcpy(out, b, n);
    *out_len = n;
    return VD_OK;
}

#define NEED(expr, what)                                                                           \
    do {                                                                                           \
        if ((expr) != 0) {                                                                         \
            rc = VD_ERR(err, VD_E_MALFORMED, "TPMS_ATTEST: truncated in %s", what);                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

vd_err_t vd_vtpm_attest_parse(const uint8_t *p, size_t len, vd_tpm_attest_t *out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    rd_t r = {p, p != NULL ? len : 0};
    memset(out, 0, sizeof(*out));

    NEED(u32(&r, &out->magic), "magic");
    if (out->magic != VD_TPM_GENERATED_VALUE) {
        rc =
            VD_ERR(err, VD_E_MALFORMED,
                   "TPMS_ATTEST: magic 0x%08x is not TPM_GENERATED_VALUE (0xff544347)", out->magic);
        goto out;
    }
    NEED(u16(&r, &out->type), "type");
    if (out->type != VD_TPM_ST_ATTEST_QUOTE) {
        rc = VD_ERR(err, VD_E_MALFORMED,
                    "TPMS_ATTEST: type 0x%04x is not TPM_ST_ATTEST_QUOTE (0x8018)", out->type);
        goto out;
    }
    if ((rc = tpm2b(&r, "qualifiedSigner", out->signer, sizeof(out->signer), &out->signer_len,
                    err)) != VD_OK ||
        (rc = tpm2b(&r, "extraData", out->extra, sizeof(out->extra), &out->extra_len, err)) !=
            VD_OK) {
        goto out;
    }
    NEED(u64(&r, &out->clock), "clockInfo.clock");
    NEED(u32(&r, &out->reset_count), "clockInfo.resetCount");
    NEED(u32(&r, &out->restart_count), "clockInfo.restartCount");
    NEED(u8(&r, &out->safe), "clockInfo.safe");
    if (out->safe > 1) {
        rc =
            VD_ERR(err, VD_E_MALFORMED, "TPMS_ATTEST: clockInfo.safe is %u, not 0 or 1", out->safe);
        goto out;
    }
    NEED(u64(&r, &out->firmware_version), "firmwareVersion");
    NEED(u32(&r, &out->n_selections), "pcrSelect.count");
    if (out->n_selections > VD_TPM_SELECTIONS_MAX) {
        rc = VD_ERR(err, VD_E_MALFORMED, "TPMS_ATTEST: %u PCR selections, more than %d",
                    out->n_selections, VD_TPM_SELECTIONS_MAX);
        out->n_selections = 0;
        goto out;
    }
    for (uint32_t i = 0; i < out->n_selections; i++) {
        vd_tpm_pcr_selection_t *s = &out->sel[i];
        const uint8_t *b;
        NEED(u16(&r, &s->hash_alg), "pcrSelect.hash");
        NEED(u8(&r, &s->size), "pcrSelect.sizeofSelect");
        if (s->size > VD_TPM_SELECT_MAX) {
            rc = VD_ERR(err, VD_E_MALFORMED,
                        "TPMS_ATTEST: PCR selection %u has sizeofSelect %u, more than %d", i,
                        s->size, VD_TPM_SELECT_MAX);
            goto out;
        }
        NEED(take(&r, s->size, &b), "pcrSelect.pcrSelect");
        memcpy(s->bitmap, b, s->size);
    }
    if ((rc = tpm2b(&r, "pcrDigest", out->digest, sizeof(out->digest), &out->digest_len, err)) !=
        VD_OK) {
        goto out;
    }
    if (r.len != 0) {
        rc = VD_ERR(err, VD_E_MALFORMED, "TPMS_ATTEST: %zu bytes after pcrDigest", r.len);
        goto out;
    }
out:
    return rc;
}
