/*
 * The compiled form of a policy, shared by the compiler and the evaluator. Not a public API.
 */
#ifndef verdict__policy_internal_h
#define verdict__policy_internal_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/ar4si.h"
#include "verdict/policy.h"

#define VD_POLICY_MAX_VALUES        4096 /* reference values per list */
#define VD_POLICY_LABEL_CHARS       95   /* characters, not bytes */
#define VD_POLICY_LABEL_MAX         (4 * VD_POLICY_LABEL_CHARS + 1)
#define VD_POLICY_DESCRIPTION_CHARS 511

typedef enum vd_flag_rule {
    VD_RULE_UNSET = 0,
    VD_RULE_ALLOWED,
    VD_RULE_REQUIRED,
    VD_RULE_FORBIDDEN,
} vd_flag_rule_t;

/* Components of a minimum TCB, in display order. */
enum { VD_TCBC_FMC, VD_TCBC_BL, VD_TCBC_TEE, VD_TCBC_SNP, VD_TCBC_UCODE, VD_TCBC__COUNT };

typedef struct vd_tcb_min {
    int present;
    int has[VD_TCBC__COUNT];
    uint8_t v[VD_TCBC__COUNT];
} vd_tcb_min_t;

typedef struct vd_refval {
    uint8_t v[64];
    size_t len;
    char label[VD_POLICY_LABEL_MAX];
} vd_refval_t;

typedef struct vd_refset {
    int present;
    vd_refval_t *items;
    size_t count;
} vd_refset_t;

typedef enum vd_binding {
    VD_BIND_UNSET = 0,
    VD_BIND_NONE,
    VD_BIND_RAW,
    VD_BIND_SHA512,
    VD_BIND_SHA384_JCS,
    VD_BIND_SHA256_PREFIX,
} vd_binding_t;

/* A single-bit rule of POLICY or PLATFORM_INFO. Its AR4SI claim is its check's entry in
 * vd_policy__checks. */
typedef struct vd_flag_def {
    const char *key;   /* YAML key */
    unsigned bit;      /* bit number in the u64 */
    const char *check; /* check name */
} vd_flag_def_t;

#define VD_GUEST_FLAGS    9
#define VD_PLATFORM_FLAGS 8
extern const vd_flag_def_t vd_policy__guest_flags[VD_GUEST_FLAGS];
extern const vd_flag_def_t vd_policy__platform_flags[VD_PLATFORM_FLAGS];

/* What each named policy check lowers on failure (and raises on success), by default. */
typedef struct vd_check_def {
    const char *name;
    vd_claim_t claim;
    int8_t fail_value;
    int8_t pass_value;
} vd_check_def_t;

extern const vd_check_def_t vd_policy__checks[];
extern const size_t vd_policy__check_count;

/* A policy author's remapping of one check's failure. */
typedef struct vd_override {
    char check[VD_CHECK_NAME_MAX];
    vd_claim_t claim;
    int8_t value;
} vd_override_t;

#define VD_POLICY_MAX_OVERRIDES 64

/* Azure vTPM rules (tpm.*, azure.*): PCR 0..23 of the SHA-256 bank (vtpm.h). */
#define VD_POLICY_PCRS 24

struct vd_policy {
    char name[VD_POLICY_NAME_MAX];
    char description[4 * VD_POLICY_DESCRIPTION_CHARS + 1];
    unsigned products;     /* bit (1 << vd_product_t); 0 = any */
    unsigned signing_keys; /* bit (1 << SIGNING_KEY); 0 = any */
    vd_tcb_min_t min_tcb, min_launch_tcb;
    vd_flag_rule_t provisional_firmware;
    int has_min_api;
    uint8_t min_api_major, min_api_minor;
    int has_min_build;
    uint8_t min_build;
    int has_min_abi;
    uint8_t min_abi_major, min_abi_minor;
    vd_flag_rule_t guest_flags[VD_GUEST_FLAGS];
    vd_flag_rule_t platform_flags[VD_PLATFORM_FLAGS];
    unsigned vmpl_mask; /* bit i = VMPL i accepted; 0 = any */
    int has_min_guest_svn;
    uint32_t min_guest_svn;
    int has_launch_mit, has_current_mit;
    uint64_t min_launch_mit, min_current_mit;
    vd_refset_t measurements, host_data, family_ids, image_ids, chip_ids, id_keys, author_keys;
    vd_refset_t report_ids, report_id_mas;
    int has_report_data;
    uint8_t report_data[64];
    int require_id_block, require_author_key;
    vd_binding_t binding;
    vd_override_t overrides[VD_POLICY_MAX_OVERRIDES];
    size_t override_count;
    /* tpm.pcrs: allowed SHA-256 values per PCR index; azure.*: vm-configuration rules;
     * azure.vm_ids: vmUniqueId strings (in vd_refval_t.v, NUL-terminated, len = strlen). */
    vd_refset_t pcrs[VD_POLICY_PCRS];
    vd_flag_rule_t azure_secure_boot, azure_tpm_enabled, azure_console;
    vd_refset_t vm_ids;
};

/** Default definition of a check by name, or NULL. */
const vd_check_def_t *vd_policy__check_def(const char *name);

/** 1 if `s` is a valid policy name: letters, digits, '-', '_', '.', not first '.' or '-'. */
int vd_policy__name_ok(const char *s);

/** Name of a binding mode as written in YAML. */
const char *vd_policy__binding_name(vd_binding_t b);

#endif
