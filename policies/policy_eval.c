/*
 * Policy evaluation: compiled policy + verified evidence -> named checks, AR4SI vector, status.
 *
 * Pure: no allocation, no I/O; microseconds per appraisal. Each rule present in the policy
 * yields one check whose detail names the field, the expected and the actual value; a failing
 * check lowers its AR4SI claim (defaults below, documented in policies/README.md, overridable
 * per check with appraisal.on_failure).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "verdict/bytes.h"
#include "verdict/report.h"
#include "verdict/vtpm.h"
#include "binding.h"
#include "policy_internal.h"

/* Guest POLICY bits (SNP-FORMAT.md section 3). */
const vd_flag_def_t vd_policy__guest_flags[VD_GUEST_FLAGS] = {
    {"smt", 16, "policy.guest_policy.smt"},
    {"migrate_ma", 18, "policy.guest_policy.migrate_ma"},
    {"debug", 19, "policy.guest_policy.debug"},
    {"single_socket", 20, "policy.guest_policy.single_socket"},
    {"cxl_allowed", 21, "policy.guest_policy.cxl_allowed"},
    {"mem_aes_256_xts", 22, "policy.guest_policy.mem_aes_256_xts"},
    {"rapl_disabled", 23, "policy.guest_policy.rapl_disabled"},
    {"ciphertext_hiding", 24, "policy.guest_policy.ciphertext_hiding"},
    {"page_swap_disabled", 25, "policy.guest_policy.page_swap_disabled"},
};

/* PLATFORM_INFO bits (SNP-FORMAT.md section 4). */
const vd_flag_def_t vd_policy__platform_flags[VD_PLATFORM_FLAGS] = {
    {"smt", 0, "policy.platform_info.smt"},
    {"tsme", 1, "policy.platform_info.tsme"},
    {"ecc", 2, "policy.platform_info.ecc"},
    {"rapl_disabled", 3, "policy.platform_info.rapl_disabled"},
    {"ciphertext_hiding", 4, "policy.platform_info.ciphertext_hiding"},
    {"alias_check_complete", 5, "policy.platform_info.alias_check_complete"},
    {"iommu_write_safe", 6, "policy.platform_info.iommu_write_safe"},
    {"tio", 7, "policy.platform_info.tio"},
};

/* Every other check: the claim it speaks for, its value on failure and on success. */
const vd_check_def_t vd_policy__checks[] = {
    {"policy.product", VD_CLAIM_HARDWARE, VD_AR_UNRECOGNIZED, VD_AR_AFFIRMING},
    {"policy.signing_key", VD_CLAIM_HARDWARE, VD_AR_UNRECOGNIZED, VD_AR_AFFIRMING},
    {"policy.min_tcb", VD_CLAIM_HARDWARE, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.min_launch_tcb", VD_CLAIM_HARDWARE, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.provisional_firmware", VD_CLAIM_HARDWARE, VD_AR_WARNING, VD_AR_AFFIRMING},
    {"policy.min_api_version", VD_CLAIM_HARDWARE, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.min_firmware_build", VD_CLAIM_HARDWARE, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.guest_policy.min_abi", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.vmpl", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.min_guest_svn", VD_CLAIM_EXECUTABLES, VD_AR_WARNING, VD_AR_AFFIRMING},
    {"policy.min_launch_mit_vector", VD_CLAIM_HARDWARE, VD_AR_WARNING, VD_AR_AFFIRMING},
    {"policy.min_current_mit_vector", VD_CLAIM_HARDWARE, VD_AR_WARNING, VD_AR_AFFIRMING},
    {"policy.measurement", VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED, VD_AR_APPROVED_BOOT},
    {"policy.host_data", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.family_id", VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.image_id", VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.chip_id", VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED, VD_AR_AFFIRMING},
    {"policy.id_key", VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.author_key", VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.freshness", VD_CLAIM_INSTANCE_IDENTITY, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    /* REPORT_ID names one guest instance, REPORT_ID_MA the same guest as its migration agent
     * knows it: an instance outside the list is not recognized (97). A fixed REPORT_DATA that
     * differs means the evidence does not bind the expected key (96). */
    {"policy.report_id", VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED, VD_AR_AFFIRMING},
    {"policy.report_id_ma", VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED, VD_AR_AFFIRMING},
    {"policy.report_data", VD_CLAIM_INSTANCE_IDENTITY, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    /* Flag checks: DEBUG exposes guest memory (runtime-opaque); missing platform mitigations
     * are hardware with known vulnerabilities (a warning). */
    {"policy.guest_policy.smt", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.guest_policy.migrate_ma", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.guest_policy.debug", VD_CLAIM_RUNTIME_OPAQUE, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.guest_policy.single_socket", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.guest_policy.cxl_allowed", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.guest_policy.mem_aes_256_xts", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.guest_policy.rapl_disabled", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.guest_policy.ciphertext_hiding", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.guest_policy.page_swap_disabled", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.platform_info.smt", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.platform_info.tsme", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.platform_info.ecc", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.platform_info.rapl_disabled", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.platform_info.ciphertext_hiding", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED,
     VD_AR_AFFIRMING},
    {"policy.platform_info.alias_check_complete", VD_CLAIM_HARDWARE, VD_AR_WARNING,
     VD_AR_AFFIRMING},
    {"policy.platform_info.iommu_write_safe", VD_CLAIM_HARDWARE, VD_AR_WARNING, VD_AR_AFFIRMING},
    {"policy.platform_info.tio", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    /* Azure vTPM evidence (verifier/vtpm/README.md): a PCR outside its allow-list is an
     * unapproved boot chain; vm-configuration flags are configuration; an unknown VM id is an
     * unrecognized instance. "policy.tpm.pcrN" (one check per listed PCR) maps to the first. */
    {"policy.tpm.pcrs", VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED, VD_AR_APPROVED_BOOT},
    {"policy.azure.secure_boot", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.azure.tpm_enabled", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.azure.console", VD_CLAIM_CONFIGURATION, VD_AR_CONTRAINDICATED, VD_AR_AFFIRMING},
    {"policy.azure.vm_id", VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED, VD_AR_AFFIRMING},
};
const size_t vd_policy__check_count = sizeof(vd_policy__checks) / sizeof(vd_policy__checks[0]);

/* "policy.tpm.pcrN", N = 0..23 without leading zeros: one check per listed PCR. */
static int pcr_check_name(const char *name)
{
    static const char prefix[] = "policy.tpm.pcr";
    const char *d = name + sizeof(prefix) - 1;
    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || d[0] < '0' || d[0] > '9' ||
        (d[0] == '0' && d[1] != '\0')) {
        return 0;
    }
    if (d[1] == '\0') {
        return 1;
    }
    return d[1] >= '0' && d[1] <= '9' && d[2] == '\0' && (d[0] - '0') * 10 + (d[1] - '0') < 24;
}

const vd_check_def_t *vd_policy__check_def(const char *name)
{
    if (pcr_check_name(name)) {
        name = "policy.tpm.pcrs";
    }
    for (size_t i = 0; i < vd_policy__check_count; i++) {
        if (strcmp(vd_policy__checks[i].name, name) == 0) {
            return &vd_policy__checks[i];
        }
    }
    return NULL;
}

const char *vd_policy__binding_name(vd_binding_t b)
{
    switch (b) {
    case VD_BIND_NONE:
        return "none";
    case VD_BIND_RAW:
        return "raw";
    case VD_BIND_SHA512:
        return "sha512";
    case VD_BIND_SHA384_JCS:
        return "sha384-jcs";
    case VD_BIND_SHA256_PREFIX:
        return "sha256-prefix";
    case VD_BIND_UNSET:
        break;
    }
    return "unset";
}

typedef struct ectx {
    const vd_policy_t *p;
    const vd_snp_result_t *snp;
    const vd_snp_report_t *r;
    const vd_policy_input_t *in;
    vd_appraisal_t *out;
} ectx_t;

/* Append a check and move the trust vector: failures lower their claim, passes affirm it. */
static void __attribute__((format(printf, 4, 5)))
record(ectx_t *e, const char *name, vd_check_result_t result, const char *fmt, ...)
{
    char detail[VD_CHECK_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    vd_checks_add(&e->out->checks, name, result, "%s", detail);
    const vd_check_def_t *def = vd_policy__check_def(name);
    if (def == NULL || result == VD_CHECK_SKIP) {
        return;
    }
    vd_claim_t claim = def->claim;
    int8_t value = result == VD_CHECK_PASS ? def->pass_value : def->fail_value;
    for (size_t i = 0; result == VD_CHECK_FAIL && e->p != NULL && i < e->p->override_count; i++) {
        if (strcmp(e->p->overrides[i].check, name) == 0) {
            claim = e->p->overrides[i].claim;
            value = e->p->overrides[i].value;
        }
    }
    vd_tvec_raise(&e->out->tvec, claim, value);
}

/* ---- rules --------------------------------------------------------------------------------- */

static void eval_product_and_key(ectx_t *e)
{
    const vd_policy_t *p = e->p;
    vd_product_t pr = e->snp->product;
    if (p->products != 0) {
        char list[64] = "";
        for (int i = VD_PRODUCT_MILAN; i <= VD_PRODUCT_TURIN; i++) {
            if (p->products & (1u << i)) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
                         vd_product_name((vd_product_t)i));
            }
        }
        if (p->products & (1u << pr)) {
            record(e, "policy.product", VD_CHECK_PASS, "product %s is accepted (%s)",
                   vd_product_name(pr), list);
        } else {
            record(e, "policy.product", VD_CHECK_FAIL, "product %s is not accepted (expected %s)",
                   vd_product_name(pr), list);
        }
    }
    if (p->signing_keys != 0) {
        unsigned k = e->snp->signing_key;
        if (k < 8 && (p->signing_keys & (1u << k))) {
            record(e, "policy.signing_key", VD_CHECK_PASS, "signed by a %s, accepted",
                   vd_signing_key_name(k));
        } else {
            record(e, "policy.signing_key", VD_CHECK_FAIL,
                   "signed by a %s; the policy accepts %s%s%s", vd_signing_key_name(k),
                   p->signing_keys & 1u ? "VCEK" : "", (p->signing_keys & 3u) == 3u ? " and " : "",
                   p->signing_keys & 2u ? "VLEK" : "");
        }
    }
}

static void eval_tcb_min(ectx_t *e, const char *name, const char *field, const vd_tcb_min_t *m,
                         const vd_tcb_t *t)
{
    static const char *const comp[VD_TCBC__COUNT] = {"fmc", "bootloader", "tee", "snp",
                                                     "microcode"};
    const uint8_t actual[VD_TCBC__COUNT] = {t->fmc, t->bootloader, t->tee, t->snp, t->microcode};
    char below[192] = "", ok[160] = "";
    for (int i = 0; i < VD_TCBC__COUNT; i++) {
        if (!m->has[i]) {
            continue;
        }
        if (i == VD_TCBC_FMC && !t->has_fmc) {
            continue; /* no FMC before Turin: the component does not exist */
        }
        char *buf = actual[i] < m->v[i] ? below : ok;
        size_t size = actual[i] < m->v[i] ? sizeof(below) : sizeof(ok);
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s %u%s%u", used ? ", " : "", comp[i], actual[i],
                 actual[i] < m->v[i] ? " < minimum " : " >= ", m->v[i]);
    }
    if (below[0] != '\0') {
        record(e, name, VD_CHECK_FAIL, "%s below the minimum: %s", field, below);
    } else if (ok[0] == '\0') {
        record(e, name, VD_CHECK_SKIP, "%s: only fmc is constrained and this product has none",
               field);
    } else {
        record(e, name, VD_CHECK_PASS, "%s: %s", field, ok);
    }
}

static void eval_firmware(ectx_t *e)
{
    const vd_policy_t *p = e->p;
    const vd_snp_report_t *r = e->r;
    if (p->provisional_firmware == VD_RULE_FORBIDDEN) {
        char cur[64], com[64];
        vd_tcb_format(&e->snp->current_tcb, cur, sizeof(cur));
        vd_tcb_format(&e->snp->committed_tcb, com, sizeof(com));
        int same_tcb = r->committed_tcb == r->current_tcb;
        int same_fw = r->committed_major == r->current_major &&
                      r->committed_minor == r->current_minor &&
                      r->committed_build == r->current_build;
        if (same_tcb && same_fw) {
            record(e, "policy.provisional_firmware", VD_CHECK_PASS,
                   "firmware %u.%u.%u is committed (COMMITTED_TCB = CURRENT_TCB = %s)",
                   r->current_major, r->current_minor, r->current_build, cur);
        } else {
            record(e, "policy.provisional_firmware", VD_CHECK_FAIL,
                   "provisional firmware: CURRENT %u.%u.%u (%s) != COMMITTED %u.%u.%u (%s)",
                   r->current_major, r->current_minor, r->current_build, cur, r->committed_major,
                   r->committed_minor, r->committed_build, com);
        }
    }
    if (p->has_min_api) {
        int ok = r->current_major > p->min_api_major ||
                 (r->current_major == p->min_api_major && r->current_minor >= p->min_api_minor);
        record(e, "policy.min_api_version", ok ? VD_CHECK_PASS : VD_CHECK_FAIL,
               "firmware API version %u.%u %s minimum %u.%u", r->current_major, r->current_minor,
               ok ? ">=" : "<", p->min_api_major, p->min_api_minor);
    }
    if (p->has_min_build) {
        int ok = r->current_build >= p->min_build;
        record(e, "policy.min_firmware_build", ok ? VD_CHECK_PASS : VD_CHECK_FAIL,
               "firmware build %u %s minimum %u", r->current_build, ok ? ">=" : "<", p->min_build);
    }
}

static void eval_flags(ectx_t *e, const char *field, uint64_t value, const vd_flag_def_t *defs,
                       size_t n, const vd_flag_rule_t *rules)
{
    for (size_t i = 0; i < n; i++) {
        if (rules[i] == VD_RULE_UNSET) {
            continue;
        }
        int set = (value >> defs[i].bit) & 1u;
        const char *state = set ? "set" : "clear";
        if (rules[i] == VD_RULE_ALLOWED) {
            record(e, defs[i].check, VD_CHECK_PASS, "%s bit %u (%s) is %s; either is allowed",
                   field, defs[i].bit, defs[i].key, state);
        } else if ((rules[i] == VD_RULE_REQUIRED) == set) {
            record(e, defs[i].check, VD_CHECK_PASS, "%s bit %u (%s) is %s; the policy %s it", field,
                   defs[i].bit, defs[i].key, state,
                   rules[i] == VD_RULE_REQUIRED ? "requires" : "forbids");
        } else {
            record(e, defs[i].check, VD_CHECK_FAIL, "%s 0x%llx bit %u (%s) is %s but %s", field,
                   (unsigned long long)value, defs[i].bit, defs[i].key, state,
                   rules[i] == VD_RULE_REQUIRED ? "required" : "forbidden");
        }
    }
}

static void eval_guest(ectx_t *e)
{
    const vd_policy_t *p = e->p;
    const vd_snp_report_t *r = e->r;
    if (p->has_min_abi) {
        unsigned major = (unsigned)(r->policy >> 8) & 0xFF, minor = (unsigned)r->policy & 0xFF;
        int ok =
            major > p->min_abi_major || (major == p->min_abi_major && minor >= p->min_abi_minor);
        record(e, "policy.guest_policy.min_abi", ok ? VD_CHECK_PASS : VD_CHECK_FAIL,
               "guest POLICY requires ABI %u.%u, %s minimum %u.%u", major, minor, ok ? ">=" : "<",
               p->min_abi_major, p->min_abi_minor);
    }
    eval_flags(e, "POLICY", r->policy, vd_policy__guest_flags, VD_GUEST_FLAGS, p->guest_flags);
    eval_flags(e, "PLATFORM_INFO", r->platform_info, vd_policy__platform_flags, VD_PLATFORM_FLAGS,
               p->platform_flags);
    if (p->vmpl_mask != 0) {
        char list[16] = "";
        for (unsigned v = 0; v < 4; v++) {
            if (p->vmpl_mask & (1u << v)) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%u", used ? ", " : "", v);
            }
        }
        int ok = r->vmpl < 4 && (p->vmpl_mask & (1u << r->vmpl));
        record(e, "policy.vmpl", ok ? VD_CHECK_PASS : VD_CHECK_FAIL, "VMPL %u %s (accepted: %s)",
               r->vmpl, ok ? "accepted" : "not accepted", list);
    }
    if (p->has_min_guest_svn) {
        int ok = r->guest_svn >= p->min_guest_svn;
        record(e, "policy.min_guest_svn", ok ? VD_CHECK_PASS : VD_CHECK_FAIL,
               "GUEST_SVN %u %s minimum %u", r->guest_svn, ok ? ">=" : "<", p->min_guest_svn);
    }
    const struct {
        int has;
        const char *name, *field;
        uint64_t want, got;
    } mit[] = {
        {p->has_launch_mit, "policy.min_launch_mit_vector", "LAUNCH_MIT_VECTOR", p->min_launch_mit,
         r->launch_mit_vector},
        {p->has_current_mit, "policy.min_current_mit_vector", "CURRENT_MIT_VECTOR",
         p->min_current_mit, r->current_mit_vector},
    };
    for (size_t i = 0; i < 2; i++) {
        if (!mit[i].has) {
            continue;
        }
        if (r->version < 5) {
            record(e, mit[i].name, VD_CHECK_FAIL,
                   "%s required to include 0x%llx, but a v%u report carries no mitigation vector",
                   mit[i].field, (unsigned long long)mit[i].want, r->version);
            continue;
        }
        uint64_t missing = mit[i].want & ~mit[i].got;
        if (missing != 0) {
            record(e, mit[i].name, VD_CHECK_FAIL,
                   "%s 0x%llx lacks bits 0x%llx of the required 0x%llx", mit[i].field,
                   (unsigned long long)mit[i].got, (unsigned long long)missing,
                   (unsigned long long)mit[i].want);
        } else {
            record(e, mit[i].name, VD_CHECK_PASS, "%s 0x%llx has every required bit (0x%llx)",
                   mit[i].field, (unsigned long long)mit[i].got, (unsigned long long)mit[i].want);
        }
    }
}

/* Number of equal hex digits at equal positions: how "close" two values look to a person. */
static size_t hex_similarity(const uint8_t *a, const uint8_t *b, size_t len)
{
    size_t same = 0;
    for (size_t i = 0; i < len; i++) {
        same += (a[i] >> 4) == (b[i] >> 4);
        same += (a[i] & 0xF) == (b[i] & 0xF);
    }
    return same;
}

/* Membership of `actual` (len bytes) in a reference set, with the closest label on failure. */
static void eval_refset(ectx_t *e, const char *name, const char *field, const vd_refset_t *set,
                        const uint8_t *actual, size_t len)
{
    char hex[129];
    if (!set->present) {
        return;
    }
    vd_hex_encode(actual, len, hex, sizeof(hex));
    size_t best = 0, best_score = 0;
    for (size_t i = 0; i < set->count; i++) {
        const vd_refval_t *v = &set->items[i];
        size_t n = v->len < len ? v->len : len;
        if (v->len <= len && CRYPTO_memcmp(v->v, actual, n) == 0 &&
            (v->len == len || vd_all_zero(actual + n, len - n))) {
            record(e, name, VD_CHECK_PASS, "%s %.24s... matches%s%s%s", field, hex,
                   v->label[0] ? " \"" : "", v->label, v->label[0] ? "\"" : "");
            return;
        }
        size_t score = hex_similarity(v->v, actual, n);
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    const char *label = set->count > 0 ? set->items[best].label : "";
    record(e, name, VD_CHECK_FAIL, "%s %s not in the allowed set (%zu value%s)%s%s%s", field, hex,
           set->count, set->count == 1 ? "" : "s", label[0] ? "; closest label \"" : "", label,
           label[0] ? "\"" : "");
}

static int all_ff(const uint8_t *p, size_t n)
{
    uint8_t acc = 0xFF;
    for (size_t i = 0; i < n; i++) {
        acc &= p[i];
    }
    return acc == 0xFF;
}

/* REPORT_ID, REPORT_ID_MA (all 0xFF when the guest has no migration agent) and a fixed
 * REPORT_DATA. */
static void eval_report_ids(ectx_t *e)
{
    const vd_policy_t *p = e->p;
    const vd_snp_report_t *r = e->r;
    eval_refset(e, "policy.report_id", "REPORT_ID", &p->report_ids, r->report_id, 32);
    int listed_ff = 0;
    for (size_t i = 0; i < p->report_id_mas.count; i++) {
        listed_ff |= all_ff(p->report_id_mas.items[i].v, 32);
    }
    if (p->report_id_mas.present && all_ff(r->report_id_ma, 32) && !listed_ff) {
        record(e, "policy.report_id_ma", VD_CHECK_FAIL,
               "REPORT_ID_MA is all 0xFF: the guest has no migration agent, so it cannot be the "
               "migrated guest the policy lists (%zu value%s)",
               p->report_id_mas.count, p->report_id_mas.count == 1 ? "" : "s");
    } else {
        eval_refset(e, "policy.report_id_ma", "REPORT_ID_MA", &p->report_id_mas, r->report_id_ma,
                    32);
    }
    if (p->has_report_data) {
        char got[129], want[129];
        vd_hex_encode(r->report_data, 64, got, sizeof(got));
        if (CRYPTO_memcmp(r->report_data, p->report_data, 64) == 0) {
            record(e, "policy.report_data", VD_CHECK_PASS,
                   "REPORT_DATA %.32s... equals the policy's value", got);
        } else {
            vd_hex_encode(p->report_data, 64, want, sizeof(want));
            record(e, "policy.report_data", VD_CHECK_FAIL,
                   "REPORT_DATA %s differs from the policy's %.32s...", got, want);
        }
    }
}

static void eval_refvals(ectx_t *e)
{
    const vd_policy_t *p = e->p;
    const vd_snp_report_t *r = e->r;
    eval_refset(e, "policy.measurement", "MEASUREMENT", &p->measurements, r->measurement, 48);
    eval_refset(e, "policy.host_data", "HOST_DATA", &p->host_data, r->host_data, 32);
    eval_refset(e, "policy.family_id", "FAMILY_ID", &p->family_ids, r->family_id, 16);
    eval_refset(e, "policy.image_id", "IMAGE_ID", &p->image_ids, r->image_id, 16);
    if (p->chip_ids.present && vd_all_zero(r->chip_id, 64)) {
        record(e, "policy.chip_id", VD_CHECK_FAIL,
               "CHIP_ID is masked (all zero): the chip cannot be matched to the allowed set");
    } else {
        /* An 8-byte entry (Turin) matches CHIP_ID[0..7] with the rest zero. */
        eval_refset(e, "policy.chip_id", "CHIP_ID", &p->chip_ids, r->chip_id, 64);
    }
    eval_report_ids(e);
    int id_block = !vd_all_zero(r->id_key_digest, 48);
    int author = (r->signer_info & VD_SNP_SIGNER_AUTHOR_KEY_EN) != 0;
    if (p->require_id_block && !id_block) {
        record(e, "policy.id_key", VD_CHECK_FAIL,
               "an ID block is required, but ID_KEY_DIGEST is zero (the guest launched without "
               "one)");
    } else if (p->id_keys.present && !id_block) {
        record(e, "policy.id_key", VD_CHECK_FAIL,
               "trusted ID keys are listed, but the guest launched without an ID block");
    } else if (p->id_keys.present) {
        eval_refset(e, "policy.id_key", "ID_KEY_DIGEST", &p->id_keys, r->id_key_digest, 48);
    } else if (p->require_id_block) {
        record(e, "policy.id_key", VD_CHECK_PASS, "ID block present (no key list to match)");
    }
    if (p->require_author_key && !author) {
        record(e, "policy.author_key", VD_CHECK_FAIL,
               "an author key is required, but SIGNER_INFO.AUTHOR_KEY_EN is clear");
    } else if (p->author_keys.present && !author) {
        record(e, "policy.author_key", VD_CHECK_FAIL,
               "trusted author keys are listed, but SIGNER_INFO.AUTHOR_KEY_EN is clear");
    } else if (p->author_keys.present) {
        eval_refset(e, "policy.author_key", "AUTHOR_KEY_DIGEST", &p->author_keys,
                    r->author_key_digest, 48);
    } else if (p->require_author_key) {
        record(e, "policy.author_key", VD_CHECK_PASS, "author key present (no key list)");
    }
}

/*
 * Freshness of Azure vTPM evidence: REPORT_DATA binds the paravisor's runtime data, so the nonce
 * is bound in the quote's extraData (and v2 user-data), which vd_vtpm_check compared
 * (tpm.nonce, hcl.user_data): as it is, or, for a verdict challenge, as SHA-384(challenge ||
 * runtime data) (vtpm.h). A policy that asks for freshness needs a nonce; runtime data of the
 * caller can be bound only with a challenge.
 */
static void eval_freshness_vtpm(ectx_t *e, vd_binding_t mode, int have_nonce, int have_data)
{
    const vd_vtpm_result_t *v = e->in->vtpm;
    int hashed = have_nonce && v->binding == VD_VTPM_BIND_SHA384;
    if (have_data && !hashed) {
        record(e, "policy.freshness", VD_CHECK_FAIL,
               "runtime data given, but vTPM evidence cannot bind it with a plain nonce: "
               "REPORT_DATA carries the paravisor's runtime data; use a challenge (the quote then "
               "binds SHA-384(challenge || runtime data))");
    } else if (have_nonce) {
        if (v->nonce_checked && hashed) {
            record(e, "policy.freshness", VD_CHECK_PASS,
                   "the vTPM quote's extraData is SHA-384 of the %zu-byte challenge%s (tpm.nonce)",
                   e->in->nonce_len, have_data ? " and the runtime data" : "");
        } else if (v->nonce_checked) {
            record(e, "policy.freshness", VD_CHECK_PASS,
                   "the nonce (%zu bytes) equals the vTPM quote's extraData (tpm.nonce)",
                   e->in->nonce_len);
        } else if (hashed) {
            record(e, "policy.freshness", VD_CHECK_FAIL,
                   "the challenge is not bound by this vTPM evidence (tpm.nonce did not pass: the "
                   "quote must bind SHA-384(challenge%s))",
                   have_data ? " || runtime data" : "");
        } else {
            record(e, "policy.freshness", VD_CHECK_FAIL,
                   "the nonce is not bound by this vTPM evidence (tpm.nonce did not pass)");
        }
    } else if (mode != VD_BIND_UNSET && mode != VD_BIND_NONE) {
        record(e, "policy.freshness", VD_CHECK_FAIL,
               "the policy asks for freshness (%s) but no nonce was given: the vTPM quote may be "
               "a replay",
               vd_policy__binding_name(mode));
    }
}

/* ---- Azure vTPM rules (tpm.*, azure.*) ------------------------------------------------------- */

static int has_vtpm_rules(const vd_policy_t *p)
{
    int any = p->azure_secure_boot != VD_RULE_UNSET || p->azure_tpm_enabled != VD_RULE_UNSET ||
              p->azure_console != VD_RULE_UNSET || p->vm_ids.present;
    for (int i = 0; i < VD_POLICY_PCRS; i++) {
        any |= p->pcrs[i].present;
    }
    return any;
}

/* A vm-configuration flag (1, 0, -1 absent) under required / forbidden / allowed. */
static void eval_vm_flag(ectx_t *e, const char *name, const char *field, vd_flag_rule_t rule,
                         int value, const char *no_claims)
{
    const char *state = value > 0 ? "true" : value == 0 ? "false" : "absent";
    if (rule == VD_RULE_UNSET) {
        return;
    }
    if (no_claims != NULL) {
        record(e, name, VD_CHECK_FAIL, "%s cannot be checked: %s", field, no_claims);
    } else if (rule == VD_RULE_ALLOWED) {
        record(e, name, VD_CHECK_PASS, "vm-configuration %s is %s; either is allowed", field,
               state);
    } else if (value < 0) {
        record(e, name, VD_CHECK_FAIL,
               "vm-configuration %s is absent from the runtime data, but the policy %s it", field,
               rule == VD_RULE_REQUIRED ? "requires" : "forbids");
    } else if ((rule == VD_RULE_REQUIRED) == (value == 1)) {
        record(e, name, VD_CHECK_PASS, "vm-configuration %s is %s; the policy %s it", field, state,
               rule == VD_RULE_REQUIRED ? "requires" : "forbids");
    } else {
        record(e, name, VD_CHECK_FAIL, "vm-configuration %s is %s but %s", field, state,
               rule == VD_RULE_REQUIRED ? "required" : "forbidden");
    }
}

/* The tpm.* and azure.* rules. Evidence that is not vTPM evidence (or lacks the claims) fails
 * each of them: a rule that cannot be checked never passes. */
static void eval_vtpm(ectx_t *e)
{
    const vd_policy_t *p = e->p;
    const vd_vtpm_result_t *v = e->in != NULL ? e->in->vtpm : NULL;
    const char *no_claims = v == NULL        ? "the evidence is not Azure vTPM evidence"
                            : !v->runtime_ok ? "the vTPM runtime data did not parse"
                                             : NULL;
    for (unsigned i = 0; i < VD_POLICY_PCRS; i++) {
        char name[VD_CHECK_NAME_MAX], field[16];
        if (!p->pcrs[i].present) {
            continue;
        }
        snprintf(name, sizeof(name), "policy.tpm.pcr%u", i);
        snprintf(field, sizeof(field), "PCR %u", i);
        if (v == NULL) {
            record(e, name, VD_CHECK_FAIL,
                   "PCR %u cannot be checked: the evidence is not Azure vTPM evidence (no quote)",
                   i);
        } else if (!(v->pcr_mask & (1u << i))) {
            record(e, name, VD_CHECK_FAIL, "PCR %u is not in the evidence's %s", i,
                   v->quote_ok ? "quote" : "(there is no quote)");
        } else {
            eval_refset(e, name, field, &p->pcrs[i], v->pcrs[i], 32);
        }
    }
    const vd_vtpm_runtime_t *rt = v != NULL ? &v->runtime : NULL;
    eval_vm_flag(e, "policy.azure.secure_boot", "secure-boot", p->azure_secure_boot,
                 rt ? rt->secure_boot : -1, no_claims);
    eval_vm_flag(e, "policy.azure.tpm_enabled", "tpm-enabled", p->azure_tpm_enabled,
                 rt ? rt->tpm_enabled : -1, no_claims);
    eval_vm_flag(e, "policy.azure.console", "console-enabled", p->azure_console,
                 rt ? rt->console_enabled : -1, no_claims);
    if (p->vm_ids.present) {
        if (no_claims != NULL || rt->vm_unique_id[0] == '\0') {
            record(e, "policy.azure.vm_id", VD_CHECK_FAIL, "the VM id cannot be checked: %s",
                   no_claims != NULL ? no_claims : "the runtime data has no vmUniqueId");
            return;
        }
        for (size_t i = 0; i < p->vm_ids.count; i++) {
            const vd_refval_t *id = &p->vm_ids.items[i];
            if (strcasecmp((const char *)id->v, rt->vm_unique_id) == 0) {
                record(e, "policy.azure.vm_id", VD_CHECK_PASS, "vmUniqueId %s is listed%s%s%s",
                       rt->vm_unique_id, id->label[0] ? " as \"" : "", id->label,
                       id->label[0] ? "\"" : "");
                return;
            }
        }
        record(e, "policy.azure.vm_id", VD_CHECK_FAIL, "vmUniqueId %s is not in the list (%zu)",
               rt->vm_unique_id, p->vm_ids.count);
    }
}

/* Whatever the caller gives (nonce, runtime data) is checked, in the policy's mode or `raw`;
 * a policy that says `none` cannot bind it, so the check fails rather than ignore it (a
 * replayed report must never affirm a fresh nonce). Also runs without a policy. */
static void eval_freshness(ectx_t *e)
{
    char detail[VD_CHECK_DETAIL_MAX];
    vd_binding_t mode = e->p != NULL ? e->p->binding : VD_BIND_UNSET;
    int have_nonce = e->in != NULL && e->in->nonce != NULL;
    int have_data = e->in != NULL && e->in->runtime_data != NULL;
    if (e->in != NULL && e->in->vtpm != NULL) {
        eval_freshness_vtpm(e, mode, have_nonce, have_data);
        return;
    }
    if (mode == VD_BIND_NONE) {
        if (have_nonce || have_data) {
            record(e, "policy.freshness", VD_CHECK_FAIL,
                   "%s%s%s given, but the policy says freshness: none, so it cannot be bound to "
                   "REPORT_DATA (set a freshness mode, or give no nonce)",
                   have_nonce ? "a nonce" : "", have_nonce && have_data ? " and " : "",
                   have_data ? "runtime data" : "");
        }
        return;
    }
    if (mode == VD_BIND_UNSET) {
        if (!have_nonce && !have_data) {
            return;
        }
        mode = VD_BIND_RAW; /* given with no stated binding: compare it as is (Veraison) */
    }
    int ok = vd_policy__binding_check(mode, e->r->report_data, e->in, detail, sizeof(detail));
    record(e, "policy.freshness", ok ? VD_CHECK_PASS : VD_CHECK_FAIL, "%s", detail);
}

/* ---- entry point ---------------------------------------------------------------------------- */

void vd_policy_evaluate(const vd_policy_t *policy, const vd_snp_result_t *snp,
                        const vd_policy_input_t *in, vd_appraisal_t *out)
{
    memset(out, 0, sizeof(*out));
    if (policy != NULL) {
        snprintf(out->policy_name, sizeof(out->policy_name), "%s", policy->name);
    }
    if (snp->status == VD_SNP_COLLATERAL_MISSING) {
        /* Nothing is known yet: no claim either way (AR4SI 0), status none. */
        out->status = VD_TIER_NONE;
        return;
    }
    if (snp->status != VD_SNP_GENUINE) {
        /* Malformed evidence is "unexpected" (1); anything else failed cryptographic
         * validation (99). Either way no policy rule is worth running. */
        int8_t v = snp->report_parsed ? VD_AR_CRYPTO_FAILED : VD_AR_UNEXPECTED;
        for (int i = 0; i < VD_CLAIM__COUNT; i++) {
            out->tvec.claims[i] = v;
        }
        out->status = VD_TIER_CONTRAINDICATED; /* never better than "not genuine" */
        return;
    }
    /* Genuine SEV-SNP: AMD hardware with encrypted, integrity-protected guest memory. */
    vd_tvec_raise(&out->tvec, VD_CLAIM_HARDWARE, VD_AR_AFFIRMING);
    vd_tvec_raise(&out->tvec, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_AFFIRMING);
    vd_tvec_raise(&out->tvec, VD_CLAIM_RUNTIME_OPAQUE, VD_AR_AFFIRMING);
    if (policy != NULL) {
        ectx_t e = {.p = policy, .snp = snp, .r = &snp->report, .in = in, .out = out};
        eval_product_and_key(&e);
        if (policy->min_tcb.present) {
            eval_tcb_min(&e, "policy.min_tcb", "REPORTED_TCB", &policy->min_tcb,
                         &snp->reported_tcb);
        }
        if (policy->min_launch_tcb.present) {
            eval_tcb_min(&e, "policy.min_launch_tcb", "LAUNCH_TCB", &policy->min_launch_tcb,
                         &snp->launch_tcb);
        }
        eval_firmware(&e);
        eval_guest(&e);
        eval_refvals(&e);
        if (has_vtpm_rules(policy)) {
            eval_vtpm(&e);
        }
    }
    ectx_t fe = {.p = policy, .snp = snp, .r = &snp->report, .in = in, .out = out};
    eval_freshness(&fe);
    out->status = vd_tvec_status(&out->tvec);
}
