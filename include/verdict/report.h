/*
 * verdict: the SEV-SNP ATTESTATION_REPORT (1184 bytes), report versions 2 to 5.
 *
 * Layout: SNP-FORMAT.md section 1 (AMD SEV-SNP ABI spec 56860, "ATTESTATION_REPORT
 * Structure"). Every field is decoded explicitly little-endian from the input; the raw bytes
 * are kept for the signature and the must-be-zero checks.
 */
#ifndef verdict__report_h
#define verdict__report_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

#define VD_SNP_REPORT_SIZE                0x4A0 /* 1184 bytes for every version */
#define VD_SNP_SIGNED_SIZE                0x2A0 /* the signature covers bytes 0x000-0x29F */
#define VD_SNP_VERSION_MIN                2
#define VD_SNP_VERSION_MAX                5
#define VD_SNP_SIG_ALGO_ECDSA_P384_SHA384 1

/* SIGNER_INFO.SIGNING_KEY (bits 4:2) values. */
#define VD_SNP_SIGNING_KEY_VCEK 0
#define VD_SNP_SIGNING_KEY_VLEK 1
#define VD_SNP_SIGNING_KEY_NONE 7

/* SIGNER_INFO bits (SNP-FORMAT.md section 5). */
#define VD_SNP_SIGNER_AUTHOR_KEY_EN (1u << 0)
#define VD_SNP_SIGNER_MASK_CHIP_KEY (1u << 1)
#define VD_SNP_SIGNER_RESERVED_MASK 0xFFFFFFE0u

/* Guest POLICY bits (SNP-FORMAT.md section 3). */
#define VD_SNP_POLICY_SMT               (1ull << 16)
#define VD_SNP_POLICY_RESERVED_ONE      (1ull << 17) /* must be 1 */
#define VD_SNP_POLICY_MIGRATE_MA        (1ull << 18)
#define VD_SNP_POLICY_DEBUG             (1ull << 19)
#define VD_SNP_POLICY_SINGLE_SOCKET     (1ull << 20)
#define VD_SNP_POLICY_CXL_ALLOW         (1ull << 21)
#define VD_SNP_POLICY_MEM_AES_256_XTS   (1ull << 22)
#define VD_SNP_POLICY_RAPL_DIS          (1ull << 23)
#define VD_SNP_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define VD_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)
#define VD_SNP_POLICY_RESERVED_MASK     (~0ull << 26) /* bits 63:26 must be zero */

/* PLATFORM_INFO bits (SNP-FORMAT.md section 4). */
#define VD_SNP_PLATFORM_SMT_EN            (1ull << 0)
#define VD_SNP_PLATFORM_TSME_EN           (1ull << 1)
#define VD_SNP_PLATFORM_ECC_EN            (1ull << 2)
#define VD_SNP_PLATFORM_RAPL_DIS          (1ull << 3)
#define VD_SNP_PLATFORM_CIPHERTEXT_HIDING (1ull << 4)
#define VD_SNP_PLATFORM_ALIAS_CHECK       (1ull << 5)
#define VD_SNP_PLATFORM_BIT6              (1ull << 6) /* IOMMU_WRITE_SAFE on Turin (tinfoil) */
#define VD_SNP_PLATFORM_TIO_EN            (1ull << 7)

typedef struct vd_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb;
    uint64_t platform_info;
    uint32_t signer_info;
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id; /* v3+; reserved (zero) in v2 */
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build;
    uint8_t current_minor;
    uint8_t current_major;
    uint8_t committed_build;
    uint8_t committed_minor;
    uint8_t committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector; /* v5+; reserved in v2-v4 */
    uint64_t current_mit_vector;
    uint8_t sig_r[48]; /* little-endian, as in the report */
    uint8_t sig_s[48];
    uint8_t raw[VD_SNP_REPORT_SIZE];
} vd_snp_report_t;

/**
 * Decode a report. Only the two facts without which no field can be trusted to mean anything
 * are errors here: the length (VD_E_MALFORMED) and the version (VD_E_UNSUPPORTED unless 2..5).
 * Every other rule (reserved bits, algorithms, key selection) is a named check in verify.c so
 * that the result says which one failed.
 */
vd_err_t vd_snp_report_parse(const uint8_t *p, size_t len, vd_snp_report_t *out, vd_error_t *err);

/** SIGNER_INFO.SIGNING_KEY (0 VCEK, 1 VLEK, 7 none, others reserved). */
unsigned vd_snp_report_signing_key(const vd_snp_report_t *r);

/**
 * Accept a report file's contents: raw 1184 bytes, or hex text (white space ignored) that
 * decodes to them. Writes up to `out_size` bytes to `out`, sets *out_len. Input that is neither
 * is copied as is (the parser then reports its length). Returns 0, or -1 if `out` is too small.
 */
int vd_snp_report_from_file_bytes(const uint8_t *p, size_t len, uint8_t *out, size_t out_size,
                                  size_t *out_len) __attribute__((warn_unused_result));

#endif
