/*
 * Test helper: a throw-away AMD-shaped PKI and synthetic SEV-SNP reports.
 *
 * vd_testpki_* builds an ARK -> ASK / ASVK hierarchy with AMD's names, extensions and RSA-PSS
 * signatures (KDS.md sections 2-3), and issues VCEK/VLEK leaves carrying the AMD extensions
 * that the verifier binds to the report. vd_testreport_* fills and signs 1184-byte reports
 * (SNP-FORMAT.md sections 1, 2, 5 and 6). Everything is generated relative to the current time,
 * so tests pass time(NULL) as the verification time.
 *
 * These certificates chain to no AMD pin: a verifier must only accept them when the test ARK is
 * added explicitly as an extra trust anchor.
 */
#ifndef verdict_test__testpki_h
#define verdict_test__testpki_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/product.h"
#include "verdict/report.h"
#include "verdict/tcb.h"

typedef struct vd_testpki vd_testpki_t;

/**
 * Generate ARK ("ARK-<product>", self-signed), ASK ("SEV-<product>") and ASVK
 * ("SEV-VLEK-<product>") for `product` (Milan, Genoa or Turin). Returns NULL on failure (the
 * OpenSSL error queue says why). Caller frees with vd_testpki_free. Slow (three RSA keys): make
 * one per product per test group.
 */
vd_testpki_t *vd_testpki_new(vd_product_t product);

/** Free the PKI and its keys; sets *pp to NULL. NULL-safe. */
void vd_testpki_free(vd_testpki_t **pp);

/** The product the PKI was made for. */
vd_product_t vd_testpki_product(const vd_testpki_t *pki);

/** Borrowed certificates, valid while the PKI lives (X509_up_ref to keep one longer). */
X509 *vd_testpki_ark(const vd_testpki_t *pki);
X509 *vd_testpki_ask(const vd_testpki_t *pki);
X509 *vd_testpki_asvk(const vd_testpki_t *pki);

/** What to put in a VCEK/VLEK. Zero-initialise, then set what matters. */
typedef struct vd_testpki_leaf_opts {
    int vlek;                 /* VLEK (CN SEV-VLEK, signed by the ASVK, cspID) instead of VCEK */
    const char *product_name; /* productName extension, e.g. "Milan-B0"; NULL = omit */
    vd_tcb_t tcb;             /* SPL values; fmcSPL (3.9) only if tcb.has_fmc */
    const uint8_t *hwid;      /* hwID extension value (64 or 8 bytes); NULL = omit */
    size_t hwid_len;
    int hwid_der_wrapped; /* encode hwID as a DER OCTET STRING instead of raw bytes */
    time_t not_before;    /* 0 = now - 1 day */
    time_t not_after;     /* 0 = not_before + 7 years */
    int omit_spl;         /* SPL index (1..9) to leave out, 0 = none */
    /* Deviations from AMD's profile, for negative tests. */
    int swap_issuer;            /* VCEK signed by the ASVK, VLEK signed by the ASK */
    const long *struct_version; /* structVersion value; NULL = 1 on Turin, else 0 */
    const char *subject_org;    /* subject O; NULL = "Advanced Micro Devices" */
} vd_testpki_leaf_opts_t;

/**
 * Issue a VCEK (signed by the ASK) or VLEK (signed by the ASVK) with a fresh EC P-384 key.
 * The key is returned in *key_out (caller frees with EVP_PKEY_free); the certificate is the
 * caller's too (X509_free). Returns NULL on failure, with *key_out NULL.
 */
X509 *vd_testpki_issue_leaf(const vd_testpki_t *pki, const vd_testpki_leaf_opts_t *o,
                            EVP_PKEY **key_out);

/** A fresh EC P-384 key, e.g. to sign a report with the wrong key. NULL on failure. */
EVP_PKEY *vd_testpki_new_ec_key(void);

/** Compose a TCB_VERSION in product `p`'s layout (fmc is ignored outside Turin). */
uint64_t vd_testreport_tcb_raw(vd_product_t p, uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp,
                               uint8_t ucode);

/**
 * Fill `raw` with a well-formed, unsigned report: `version`, POLICY 0x30000, VMPL 0, SIGNATURE_ALGO
 * 1, all four TCBs = `reported_tcb_raw`, PLATFORM_INFO 0x25, SIGNER_INFO 0 (VCEK), patterned
 * REPORT_DATA and MEASUREMENT, REPORT_ID_MA all 0xFF, `chip_id` (NULL = all zero), CPUID for
 * version 3 and up, firmware 1.55.x, mitigation vectors 0x3F for version 5 and up. Everything
 * reserved is zero.
 */
void vd_testreport_init(uint8_t raw[VD_SNP_REPORT_SIZE], uint32_t version, vd_product_t product,
                        uint64_t reported_tcb_raw, const uint8_t chip_id[64]);

/** Set SIGNER_INFO.SIGNING_KEY (bits 4:2) to `key` (0 VCEK, 1 VLEK, 7 none). */
void vd_testreport_set_signing_key(uint8_t raw[VD_SNP_REPORT_SIZE], unsigned key);

/**
 * Sign bytes 0x000-0x29F with `ec_key` (ECDSA P-384, SHA-384) and store R and S little-endian
 * at 0x2A0 and 0x2E8; the padding after each and 0x330-0x49F are zeroed. Returns 0, or -1.
 */
int vd_testreport_sign(uint8_t raw[VD_SNP_REPORT_SIZE], EVP_PKEY *ec_key);

/** What to put in a CRL. Zero-initialise, then set what matters. */
typedef struct vd_testpki_crl_opts {
    const long *serials; /* revoked serial numbers (ASK 0x10001 etc.) */
    size_t n_serials;
    time_t this_update; /* 0 = now - 1 hour */
    time_t next_update; /* 0 = this_update + 30 days */
    long number;        /* CRL number extension; 0 = none */
    EVP_PKEY *sign_key; /* NULL = the ARK's key; another key for a forgery */
    int sha256;         /* sign with PSS SHA-256/salt 32 instead of AMD's parameters */
    X509 *entry_issuer; /* entries are indirect: certificateIssuer = its subject, and the CRL
                           carries an indirectCRL issuingDistributionPoint */
} vd_testpki_crl_opts_t;

/**
 * A v2 CRL issued by the PKI's ARK (name, CRL number) and signed with RSA-PSS like AMD's,
 * listing `serials`. Returned as parsed back from DER (as a verifier would see it). NULL on
 * failure. Caller frees with X509_CRL_free.
 */
X509_CRL *vd_testpki_crl(const vd_testpki_t *pki, const vd_testpki_crl_opts_t *o);

/** Write `x` as PEM to `path` (for inspecting with openssl x509). Returns 0, or -1. */
int vd_testpki_write_pem(X509 *x, const char *path);

#endif
