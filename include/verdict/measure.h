/*
 * verdict: the expected SEV-SNP launch digest of a guest (report MEASUREMENT), computed from its
 * firmware, kernel, initrd, command line and vCPUs: the Reference Value Provider role of RATS.
 *
 * Replays what the VMM (QEMU/KVM, EC2 or GCE) passes to SNP_LAUNCH_UPDATE for an OVMF guest, as
 * ../shared/docs/MEASURE.md describes: OVMF's footer GUID table and SEV metadata sections, the
 * SEV hashes table for measured direct boot, one VMSA page per vCPU, chained with SHA-384.
 *
 * Pure: no I/O. The caller hands in the firmware bytes and the SHA-256 digests of the kernel
 * and initrd (which may be large: vd_measure_sha256_* hashes them in pieces, so nothing has to
 * be loaded whole). Thread-safe: no shared state.
 */
#ifndef verdict__measure_h
#define verdict__measure_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

#define VD_MEASURE_DIGEST_LEN  48 /* SHA-384: MEASUREMENT, report offset 0x090 */
#define VD_MEASURE_SHA256_LEN  32 /* the hashes table's entries */
#define VD_MEASURE_PAGE        4096u
#define VD_MEASURE_VCPUS_MAX   4096u               /* KVM_MAX_VCPUS on x86 (CONFIG_MAXSMP) */
#define VD_MEASURE_OVMF_MAX    (64u * 1024 * 1024) /* firmware is mapped below 4 GiB */
#define VD_OVMF_SECTIONS_MAX   32 /* edk2 builds carry 5 to 7 metadata descriptors */
#define VD_MEASURE_REGIONS_MAX (VD_OVMF_SECTIONS_MAX + 3) /* firmware + sections + 2 VMSA runs */
#define VD_MEASURE_VMSA_GPA    0x0000FFFFFFFFF000ull /* KVM's INITIAL_VMSA_GPA (MEASURE.md 1) */

/* Who launches the guest: their VMSAs and metadata pages differ (MEASURE.md 2 and 4). */
typedef enum vd_vmm {
    VD_VMM_QEMU = 0,
    VD_VMM_EC2,
    VD_VMM_GCE,
} vd_vmm_t;

/* PAGE_INFO.PAGE_TYPE of SNP_LAUNCH_UPDATE (AMD SEV-SNP Firmware ABI #56860, PAGE_INFO). */
typedef enum vd_page_type {
    VD_PAGE_NORMAL = 1,
    VD_PAGE_VMSA = 2,
    VD_PAGE_ZERO = 3,
    VD_PAGE_UNMEASURED = 4,
    VD_PAGE_SECRETS = 5,
    VD_PAGE_CPUID = 6,
} vd_page_type_t;

/* SEV metadata descriptor types (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm). */
typedef enum vd_ovmf_section_type {
    VD_OVMF_SNP_SEC_MEM = 0x1,
    VD_OVMF_SNP_SECRETS = 0x2,
    VD_OVMF_CPUID = 0x3,
    VD_OVMF_SVSM_CAA = 0x4,
    VD_OVMF_SNP_KERNEL_HASHES = 0x10,
} vd_ovmf_section_type_t;

typedef struct vd_ovmf_section {
    uint32_t gpa;
    uint32_t size;
    uint32_t type; /* vd_ovmf_section_type_t; anything else is refused by vd_ovmf_parse */
} vd_ovmf_section_t;

/* What the firmware's footer table and SEV metadata say (MEASURE.md 2). */
typedef struct vd_ovmf {
    size_t size;          /* file size, a multiple of 4096 */
    uint64_t base;        /* load GPA: 4 GiB - size */
    uint32_t reset_addr;  /* SEV-ES reset block: the APs' reset address */
    int has_hashes_table; /* SEV hashes table block present */
    uint32_t hashes_gpa;  /* ... its GPA and size */
    uint32_t hashes_size;
    uint32_t metadata_offset; /* the metadata header is at size - metadata_offset */
    vd_ovmf_section_t sections[VD_OVMF_SECTIONS_MAX]; /* in file order */
    size_t n_sections;
} vd_ovmf_t;

/**
 * Parse the OVMF footer table and SEV metadata of the firmware image `fw` (`len` bytes,
 * untrusted). Refuses (VD_E_MALFORMED, message names the problem) a size that is not a
 * non-zero multiple of 4096, no footer table, no SEV-ES reset block, no SEV metadata (such a
 * firmware cannot be launched as SNP), a metadata version other than 1, an unknown descriptor
 * type, descriptors outside 4 GiB or not page-aligned, descriptors that overlap each other or
 * the firmware (a page cannot be validated twice); VD_E_TOO_LARGE above
 * VD_MEASURE_OVMF_MAX or VD_OVMF_SECTIONS_MAX descriptors. `out` is zeroed first.
 */
vd_err_t vd_ovmf_parse(const uint8_t *fw, size_t len, vd_ovmf_t *out, vd_error_t *err);

/** "SNP_SEC_MEM", "SNP_SECRETS", "CPUID", "SVSM_CAA", "SNP_KERNEL_HASHES" or "unknown". */
const char *vd_ovmf_section_name(uint32_t type);

/** "normal", "vmsa", "zero", "unmeasured", "secrets", "cpuid" or "unknown". */
const char *vd_page_type_name(vd_page_type_t t);

/** "qemu", "ec2", "gce". */
const char *vd_vmm_name(vd_vmm_t v);

/** Parse "qemu", "ec2" or "gce" (exact). 0, or -1 if unknown. */
int vd_vmm_parse(const char *s, vd_vmm_t *out);

/**
 * The CPUID Fn0000_0001_EAX signature of QEMU CPU model `name` (EPYC, EPYC-v1..v4, EPYC-IBPB,
 * EPYC-Rome[-v1..v3], EPYC-Milan[-v1,-v2], EPYC-Genoa[-v1], EPYC-Turin; ASCII case ignored).
 * 0 with *sig set, or -1 if the name is unknown.
 */
int vd_vcpu_sig_by_name(const char *name, uint32_t *sig);

/** The signature for family/model/stepping (AMD CPUID Specification #25481). */
uint32_t vd_vcpu_sig(unsigned family, unsigned model, unsigned stepping);

/** Comma-separated list of the known QEMU model names, for error messages. Static. */
const char *vd_vcpu_names(void);

/* Streaming SHA-256 of a kernel or initrd, fed in pieces of any size. */
typedef struct vd_measure_sha256 vd_measure_sha256_t;

/** Start a hash; caller frees with vd_measure_sha256_free. VD_E_NOMEM / VD_E_INTERNAL. */
vd_err_t vd_measure_sha256_new(vd_measure_sha256_t **out, vd_error_t *err);
vd_err_t vd_measure_sha256_update(vd_measure_sha256_t *h, const void *p, size_t len,
                                  vd_error_t *err);
/** Finish into `out`; the hash is then reset and can be fed again. */
vd_err_t vd_measure_sha256_final(vd_measure_sha256_t *h, uint8_t out[VD_MEASURE_SHA256_LEN],
                                 vd_error_t *err);
void vd_measure_sha256_free(vd_measure_sha256_t **pp);

typedef struct vd_measure_input {
    const uint8_t *ovmf; /* the whole firmware image (borrowed) */
    size_t ovmf_len;
    uint32_t vcpus; /* 1..VD_MEASURE_VCPUS_MAX */
    vd_vmm_t vmm;
    int has_vcpu_sig; /* required for QEMU; ignored for EC2 and GCE (their RDX is 0x600) */
    uint32_t vcpu_sig;
    uint64_t guest_features; /* VMSA SEV_FEATURES; bit 0 (SNPActive) must be set */
    int has_kernel;          /* measured direct boot: the three digests below */
    uint8_t kernel_sha256[VD_MEASURE_SHA256_LEN];
    int has_initrd; /* absent counts as empty */
    uint8_t initrd_sha256[VD_MEASURE_SHA256_LEN];
    const char *append; /* NULL or the command line, hashed with its terminating NUL */
    int has_ovmf_hash;  /* start from this LD and skip the firmware pages (MEASURE.md 6) */
    uint8_t ovmf_hash[VD_MEASURE_DIGEST_LEN];
} vd_measure_input_t;

/* One run of pages measured with the same type at consecutive GPAs. */
typedef struct vd_measure_region {
    const char *what; /* "firmware", a section name, "VMSA (BSP)", "VMSA (AP)" (static) */
    uint64_t gpa;     /* first page's GPA (for VMSAs the constant VD_MEASURE_VMSA_GPA) */
    vd_page_type_t type;
    uint64_t pages;
    uint8_t digest_after[VD_MEASURE_DIGEST_LEN]; /* LD after the run */
} vd_measure_region_t;

typedef struct vd_measure_result {
    uint8_t digest[VD_MEASURE_DIGEST_LEN];         /* the launch digest: expected MEASUREMENT */
    uint8_t ovmf_hash[VD_MEASURE_DIGEST_LEN];      /* LD after the firmware pages (or as given) */
    uint8_t cmdline_sha256[VD_MEASURE_SHA256_LEN]; /* with a kernel: the hashes table's */
    vd_ovmf_t ovmf;
    vd_measure_region_t regions[VD_MEASURE_REGIONS_MAX]; /* in measurement order */
    size_t n_regions;
} vd_measure_result_t;

/**
 * Compute the launch digest of `in` into `out` (zeroed first; meaningful only on VD_OK).
 * Errors (message names the problem): the firmware errors of vd_ovmf_parse; VD_E_USAGE for a
 * vCPU count out of range, QEMU without a vCPU signature, guest features without SNPActive, an
 * initrd or non-empty command line without a kernel, a kernel for a firmware with no
 * SNP_KERNEL_HASHES section or no hashes table block (that firmware would never check the
 * hashes); VD_E_MALFORMED for a hashes table that does not fit its page; VD_E_NOMEM,
 * VD_E_INTERNAL (OpenSSL).
 */
vd_err_t vd_measure(const vd_measure_input_t *in, vd_measure_result_t *out, vd_error_t *err);

#endif
