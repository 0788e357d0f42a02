/*
 * Test helper: synthetic Azure vTPM evidence signed by a test PKI (../shared/docs/VTPM.md), so
 * that tests can bind values made up at run time (a server's challenge, a key broker's public
 * key) with a real signature chain:
 *
 *   test VCEK (ECDSA P-384) -> SNP report at HCL 0x020, REPORT_DATA[0..31] = SHA-256(runtime
 *   data) -> runtime data JSON with the AK (RSA-2048 JWK) -> TPMS_ATTEST quote (extraData, PCR
 *   digest over the given PCR values) -> RSASSA-PKCS1-v1_5/SHA-256 signature by the AK
 *
 * written as Trustee's evidence JSON v1 or v2. The SNP report is signed with
 * vd_testreport_sign (testpki.h): there is no second signer. Like the test PKI, such evidence
 * is accepted only when the test ARK is configured as an extra root.
 */
#ifndef verdict_test__testvtpm_h
#define verdict_test__testvtpm_h

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/report.h"

/** What to put in the evidence. Zero-initialise, then set what matters. */
typedef struct vd_testvtpm_opts {
    int version;          /* evidence JSON form 1 or 2; 0 = 2 */
    const uint8_t *extra; /* the quote's extraData (qualifying data), at most 64 bytes */
    size_t extra_len;
    /* v2: user-data (at most 64 bytes, zero-filled); NULL = a copy of `extra`, as the guest
     * writes it before reading the HCL report (VTPM.md section 7). Ignored for v1 (zero). */
    const uint8_t *user_data;
    size_t user_data_len;
    const uint8_t (*pcrs)[32]; /* PCR 0..23 values; NULL = a fixed pattern (vd_testvtpm_pcr) */
    int secure_boot_off;       /* vm-configuration secure-boot false (default true) */
    int console_on;            /* vm-configuration console-enabled true (default false) */
    const char *vm_id;         /* vmUniqueId; NULL = a fixed GUID */
} vd_testvtpm_opts_t;

/** The default value of PCR `i` (a pattern: each PCR distinct). */
void vd_testvtpm_pcr(unsigned i, uint8_t out[32]);

/** A fresh RSA-2048 attestation key (e = 65537). NULL on failure. */
EVP_PKEY *vd_testvtpm_new_ak(void);

/**
 * Build evidence JSON (malloc'd, NUL-terminated) from `snp_template` (a well-formed report
 * whose CHIP_ID and TCB match `vcek`; REPORT_DATA is replaced and the report re-signed with
 * `vcek_key`), the AK `ak` and `o`. NULL on failure (a message on stderr).
 */
char *vd_testvtpm_evidence(const uint8_t snp_template[VD_SNP_REPORT_SIZE], EVP_PKEY *vcek_key,
                           X509 *vcek, EVP_PKEY *ak, const vd_testvtpm_opts_t *o);

#endif
