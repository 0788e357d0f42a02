/*
 * `verdict policy init`: a first policy, as commented YAML, from a genuine verified report or
 * from computed measurements (include/verdict/policy_init.h). The language is policies/README.md.
 *
 * From a report, the policy accepts that guest's configuration and anything at least as strict
 * and as recent: minimum TCBs at the reported values; for each guest POLICY flag that permits
 * something (SMT, a migration agent, DEBUG, CXL) "allowed" if it was set and "forbidden" if not,
 * for each flag that demands something (single socket, AES-256-XTS, RAPL off, ciphertext hiding,
 * no page swap) "required" if it was set and "allowed" if not. DEBUG that was on stays allowed,
 * with a warning. What identifies one instance (CHIP_ID, REPORT_ID, REPORT_DATA) is written as
 * comments only: a policy is for a fleet of such guests.
 *
 * Pure: the text is built in memory and compiled before it is returned, so what the caller
 * prints always validates.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/policy.h"
#include "verdict/policy_init.h"
#include "verdict/product.h"
#include "verdict/report.h"
#include "verdict/vtpm.h"
#include "policy_internal.h"

#define OUT_MAX (1024 * 1024) /* the compiler's document bound */

typedef struct out {
    char *p;
    size_t len, cap;
    int failed; /* out of memory or past OUT_MAX */
} out_t;

static void __attribute__((format(printf, 2, 3))) put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    if (o->failed) {
        return;
    }
    va_start(ap, fmt);
    int n =
        vsnprintf(o->p != NULL ? o->p + o->len : NULL, o->p != NULL ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->failed = 1;
        return;
    }
    if (o->p == NULL || o->len + (size_t)n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + (size_t)n + 1) {
            cap *= 2;
        }
        char *np = cap <= OUT_MAX ? realloc(o->p, cap) : NULL;
        if (np == NULL) {
            o->failed = 1;
            return;
        }
        o->p = np;
        o->cap = cap;
        va_start(ap, fmt);
        vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
    }
    o->len += (size_t)n;
}

static void put_hex(out_t *o, const uint8_t *p, size_t n)
{
    char hex[129];
    put(o, "%s", vd_hex_encode(p, n, hex, sizeof(hex)));
}

/*
 * Characters of `s` if it is valid UTF-8 without control characters and at most `max_chars`
 * long, else -1.
 */
static long text_chars(const char *s, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    while (*p != '\0') {
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xE0) == 0xC0 ? 2
                   : (*p & 0xF0) == 0xE0 ? 3
                   : (*p & 0xF8) == 0xF0 ? 4
                                         : 0;
        if (n == 0 || (n == 2 && *p < 0xC2) || (n == 4 && *p > 0xF4) || *p < 0x20 || *p == 0x7F) {
            return -1;
        }
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                return -1;
            }
        }
        /* Overlong 3-byte forms and UTF-16 surrogates (ED A0..BF) are not UTF-8. */
        if ((n == 3 && *p == 0xE0 && p[1] < 0xA0) || (n == 3 && *p == 0xED && p[1] >= 0xA0) ||
            (n == 4 && *p == 0xF0 && p[1] < 0x90) || (n == 4 && *p == 0xF4 && p[1] >= 0x90)) {
            return -1;
        }
        if (n == 2 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            return -1; /* C1 control characters */
        }
        p += n;
        if (++chars > max_chars) {
            return -1;
        }
    }
    return (long)chars;
}

/* A YAML double-quoted string (already checked with text_chars). */
static void put_quoted(out_t *o, const char *s)
{
    put(o, "\"");
    for (const char *q = s; *q != '\0'; q++) {
        if (*q == '"' || *q == '\\') {
            put(o, "\\%c", *q);
        } else {
            put(o, "%c", *q);
        }
    }
    put(o, "\"");
}

/* A comment's text: printable ASCII only (anything else becomes '?'), one line, at most
 * VD_PINIT_COMMENT_MAX characters. */
static void put_comment_text(out_t *o, const char *s)
{
    size_t n = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q != '\0'; q++) {
        if (n++ == VD_PINIT_COMMENT_MAX) {
            put(o, "...");
            break;
        }
        put(o, "%c", *q >= 0x20 && *q < 0x7F ? *q : '?');
    }
}

static void put_tcb(out_t *o, const char *key, const char *why, const vd_tcb_t *t)
{
    int pad = 24 - (int)strlen(key);
    put(o, "  %s:%*s# %s\n", key, pad < 1 ? 1 : pad, "", why);
    if (t->has_fmc) {
        put(o, "    fmc: %u\n", t->fmc);
    }
    put(o, "    bootloader: %u\n    tee: %u\n    snp: %u\n    microcode: %u\n", t->bootloader,
        t->tee, t->snp, t->microcode);
}

/* Guest POLICY bits that permit something; the others demand something (SNP-FORMAT.md 3). */
static int permissive_bit(unsigned bit)
{
    return bit == 16 || bit == 18 || bit == 19 || bit == 21;
}

static void put_guest_policy(out_t *o, uint64_t policy)
{
    put(o, "  guest_policy:             # POLICY 0x%llx as launched: this or stricter\n",
        (unsigned long long)policy);
    put(o, "    min_abi: \"%u.%u\"\n", (unsigned)(policy >> 8) & 0xFF, (unsigned)policy & 0xFF);
    for (size_t i = 0; i < VD_GUEST_FLAGS; i++) {
        const vd_flag_def_t *d = &vd_policy__guest_flags[i];
        int set = (int)((policy >> d->bit) & 1u);
        const char *rule, *why;
        if (permissive_bit(d->bit)) {
            rule = set ? "allowed" : "forbidden";
            why = set ? "set at launch" : "clear at launch";
        } else {
            rule = set ? "required" : "allowed";
            why = set ? "set at launch" : "clear at launch; 'required' would demand it";
        }
        if (d->bit == 19 && set) {
            why = "WARNING: launched with DEBUG, the host can read and change guest memory; "
                  "use forbidden in production";
        }
        int pad = 26 - (int)(strlen(d->key) + strlen(rule));
        put(o, "    %s: %s%*s# %s\n", d->key, rule, pad < 1 ? 1 : pad, "", why);
    }
}

static void put_from_report(out_t *o, const vd_pinit_t *in)
{
    const vd_snp_result_t *s = in->snp;
    const vd_snp_report_t *r = &s->report;
    const char *variant =
        s->product_variant != NULL && strcmp(s->product_variant, vd_product_name(s->product)) != 0
            ? s->product_variant
            : NULL;
    put(o, "  # A %s%s%s%s chip, the report signed by its %s.\n", vd_product_name(s->product),
        variant ? " (" : "", variant ? variant : "", variant ? ")" : "",
        vd_signing_key_name(s->signing_key));
    put(o, "  products: [%s]\n  signing_keys: [%s]\n\n", vd_product_name(s->product),
        vd_signing_key_name(s->signing_key));
    put(o, "  # Minimum TCBs at this report's values: raise them as AMD publishes fixes.\n");
    put_tcb(o, "min_tcb", "against REPORTED_TCB (the VCEK's TCB)", &s->reported_tcb);
    put_tcb(o, "min_launch_tcb", "against LAUNCH_TCB (the TCB the guest launched on)",
            &s->launch_tcb);
    int same = r->committed_tcb == r->current_tcb && r->committed_major == r->current_major &&
               r->committed_minor == r->current_minor && r->committed_build == r->current_build;
    if (same) {
        put(o, "  provisional_firmware: forbidden   # COMMITTED equals CURRENT in this report\n");
    } else {
        put(o,
            "  provisional_firmware: allowed     # this report's firmware is provisional: "
            "CURRENT %u.%u.%u, COMMITTED %u.%u.%u (TCB 0x%016llx, 0x%016llx)\n",
            r->current_major, r->current_minor, r->current_build, r->committed_major,
            r->committed_minor, r->committed_build, (unsigned long long)r->current_tcb,
            (unsigned long long)r->committed_tcb);
    }
    put(o, "  min_api_version: \"%u.%u\"       # firmware %u.%u build %u\n", r->current_major,
        r->current_minor, r->current_major, r->current_minor, r->current_build);
    put(o,
        "  # min_firmware_build: %u     # builds restart with each API version: pin with care\n\n",
        r->current_build);
    put_guest_policy(o, r->policy);
    put(o,
        "  # platform_info:            # the host's PLATFORM_INFO 0x%llx: not pinned, hosts "
        "differ\n  #   alias_check_complete: required\n",
        (unsigned long long)r->platform_info);
    put(o, "  vmpl: %u\n", r->vmpl);
    put(o, "  min_guest_svn: %u\n", r->guest_svn);
    if (r->version >= 5) {
        put(o, "  min_launch_mit_vector: 0x%llx\n  min_current_mit_vector: 0x%llx\n",
            (unsigned long long)r->launch_mit_vector, (unsigned long long)r->current_mit_vector);
    }
    put(o, "\n  measurements:\n    - value: ");
    put_hex(o, r->measurement, 48);
    put(o, "\n      label: ");
    put_quoted(o, in->report_label != NULL && in->report_label[0] != '\0' ? in->report_label
                                                                          : "known-good report");
    put(o, "\n");
    if (!vd_all_zero(r->host_data, 32)) {
        put(o, "  host_data: [");
        put_hex(o, r->host_data, 32);
        put(o, "]\n");
    }
    if (!vd_all_zero(r->id_key_digest, 48)) {
        put(o, "  # The ID block the guest owner signed at launch.\n  family_ids: [");
        put_hex(o, r->family_id, 16);
        put(o, "]\n  image_ids: [");
        put_hex(o, r->image_id, 16);
        put(o, "]\n  id_key_digests: [");
        put_hex(o, r->id_key_digest, 48);
        put(o, "]\n  require_id_block: true\n");
        if (r->signer_info & VD_SNP_SIGNER_AUTHOR_KEY_EN) {
            put(o, "  author_key_digests: [");
            put_hex(o, r->author_key_digest, 48);
            put(o, "]\n  require_author_key: true\n");
        }
    }
    put(o, "\n  # This one instance, not pinned (a policy is for every such guest):\n");
    if (!vd_all_zero(r->chip_id, 64)) {
        int eight = s->product == VD_PRODUCT_TURIN && vd_all_zero(r->chip_id + 8, 56);
        put(o, "  # chip_ids: [");
        put_hex(o, r->chip_id, eight ? 8 : 64);
        put(o, "]\n");
    }
    put(o, "  # report_ids: [");
    put_hex(o, r->report_id, 32);
    put(o, "]\n  # report_id_mas: [");
    put_hex(o, r->report_id_ma, 32);
    put(o, "]%s\n  # report_data: ",
        r->report_id_ma[0] == 0xFF && r->report_id_ma[31] == 0xFF
            ? "   # all ff: no migration agent"
            : "");
    put_hex(o, r->report_data, 64);
    put(o, "\n  # freshness: sha512           # how REPORT_DATA binds a nonce: raw, sha512, "
           "sha384-jcs, sha256-prefix\n");
}

/*
 * Azure vTPM evidence: the guest's boot chain is in the PCRs (MEASUREMENT is the paravisor's).
 * The PCRs that describe the boot chain are pinned; those that change at run time or are not
 * used are comments. vm-configuration as for guest POLICY flags: what this VM enforces is
 * required, what it permits is allowed (with a note). The VM id is one instance: a comment.
 */
static void put_vtpm(out_t *o, const vd_vtpm_result_t *v)
{
    static const char *const meaning[VD_VTPM_PCRS] = {
        "firmware code",
        "firmware configuration (may differ between VM sizes)",
        "option ROM code",
        "option ROM configuration",
        "boot manager code: shim, grub, kernel",
        "boot manager configuration, GPT",
        "platform specific",
        "Secure Boot policy: PK, KEK, db, dbx",
        "grub commands; Trustee's init-data",
        "files grub loaded",
        "IMA: grows at run time",
        "systemd-stub / UKI",
        "kernel command line",
        "system extensions",
        "shim MOK list",
        "systemd",
        "debug",
        "dynamic launch",
        "dynamic launch",
        "dynamic launch",
        "dynamic launch",
        "dynamic launch",
        "dynamic launch",
        "application",
    };
    /* Pinned: the boot chain up to the kernel and its command line. */
    const uint32_t pinned = 0x7BBFu; /* 0-5, 7-9, 11-14 */
    if (v->pcr_mask != 0) {
        put(o,
            "\n# The guest's boot chain, from this VM's quoted PCRs (SHA-256 bank). MEASUREMENT\n"
            "# above is Azure's paravisor, the same for every guest on its firmware.\ntpm:\n"
            "  pcrs:\n");
        for (unsigned i = 0; i < VD_VTPM_PCRS; i++) {
            if (!(v->pcr_mask & (1u << i))) {
                continue;
            }
            int pin = (pinned >> i) & 1u;
            put(o, "    %s%u: [", pin ? "" : "# ", i);
            put_hex(o, v->pcrs[i], 32);
            put(o, "]%*s# %s\n", i < 10 ? 2 : 1, "", meaning[i]);
        }
    } else {
        put(o, "\n# No TPM quote in this evidence (a raw HCL report): no PCRs to pin.\n");
    }
    const vd_vtpm_runtime_t *rt = &v->runtime;
    if (!v->runtime_ok) {
        return;
    }
    put(o, "\n# The paravisor's vm-configuration, bound by REPORT_DATA.\nazure:\n");
    const struct {
        const char *key, *what;
        int value, strict_when_true;
    } flags[] = {
        {"secure_boot", "secure boot", rt->secure_boot, 1},
        {"tpm_enabled", "the vTPM", rt->tpm_enabled, 1},
        {"console", "the serial console", rt->console_enabled, 0},
    };
    for (size_t i = 0; i < 3; i++) {
        int val = flags[i].value;
        if (val < 0) {
            put(o, "  # %s: allowed   # absent from this VM's runtime data\n", flags[i].key);
        } else if (flags[i].strict_when_true) {
            put(o, "  %s: %s%s\n", flags[i].key, val ? "required" : "allowed",
                val ? "" : "   # off on this VM: require it for production");
        } else {
            put(o, "  %s: %s%s\n", flags[i].key, val ? "allowed" : "forbidden",
                val ? "   # on for this VM: forbid it for production" : "");
        }
    }
    if (rt->vm_unique_id[0] != '\0') {
        put(o, "  # vm_ids: [");
        put_comment_text(o, rt->vm_unique_id); /* evidence text: printable ASCII only */
        put(o, "]   # this one VM (vmUniqueId)\n");
    }
}

/* Is measurement i equal to an earlier one? Its index, or `i`. */
static size_t first_equal(const vd_pinit_t *in, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (memcmp(in->measurements[j].digest, in->measurements[i].digest, 48) == 0) {
            return j;
        }
    }
    return i;
}

static void put_from_measure(out_t *o, const vd_pinit_t *in)
{
    put(o, "  # Say what you know about the hosts; until then any product, key and TCB passes:\n"
           "  # products: [Genoa]\n  # signing_keys: [VCEK]\n"
           "  # min_tcb: {bootloader: 0, tee: 0, snp: 0, microcode: 0}\n"
           "  # vmpl: 0\n\n");
    put(o, "  guest_policy:\n    debug: forbidden          # the host must not read guest "
           "memory\n\n");
    put(o, "  measurements:\n");
    for (size_t i = 0; i < in->n_measurements; i++) {
        const vd_pinit_measurement_t *m = &in->measurements[i];
        size_t first = first_equal(in, i);
        if (first != i) {
            continue;
        }
        if (m->comment != NULL && m->comment[0] != '\0') {
            put(o, "    # ");
            put_comment_text(o, m->comment);
            put(o, "\n");
        }
        for (size_t j = i + 1; j < in->n_measurements; j++) {
            if (first_equal(in, j) == i) {
                put(o, "    # the same digest: ");
                put_comment_text(o, in->measurements[j].label ? in->measurements[j].label : "");
                if (in->measurements[j].comment != NULL) {
                    put(o, " (");
                    put_comment_text(o, in->measurements[j].comment);
                    put(o, ")");
                }
                put(o, "\n");
            }
        }
        put(o, "    - value: ");
        put_hex(o, m->digest, 48);
        put(o, "\n");
        if (m->label != NULL && m->label[0] != '\0') {
            put(o, "      label: ");
            put_quoted(o, m->label);
            put(o, "\n");
        }
    }
    put(o, "\n  # freshness: sha512           # how REPORT_DATA binds a nonce: raw, sha512, "
           "sha384-jcs, sha256-prefix\n");
}

static vd_err_t check_inputs(const vd_pinit_t *in, vd_error_t *err)
{
    if (in->name == NULL || strlen(in->name) >= VD_POLICY_NAME_MAX ||
        !vd_policy__name_ok(in->name)) {
        return VD_ERR(err, VD_E_USAGE,
                      "policy name '%s': use 1 to %d letters, digits, '-', '_' and '.', not "
                      "'-' or '.' first",
                      in->name ? in->name : "", VD_POLICY_NAME_MAX - 1);
    }
    if ((in->snp != NULL) == (in->n_measurements > 0)) {
        return VD_ERR(err, VD_E_USAGE,
                      "a policy is made from a report or from measurements, "
                      "exactly one of the two");
    }
    if (in->n_measurements > VD_PINIT_MEASUREMENTS_MAX ||
        (in->n_measurements && !in->measurements)) {
        return VD_ERR(err, VD_E_USAGE, "at most %d measurements", VD_PINIT_MEASUREMENTS_MAX);
    }
    if (in->snp != NULL && (in->snp->status != VD_SNP_GENUINE || !in->snp->report_parsed)) {
        return VD_ERR(err, VD_E_USAGE,
                      "the evidence is %s, not genuine: a policy is only made from genuine "
                      "evidence",
                      vd_snp_status_str(in->snp->status));
    }
    if (in->description != NULL && text_chars(in->description, VD_POLICY_DESCRIPTION_CHARS) < 0) {
        return VD_ERR(err, VD_E_USAGE,
                      "the description must be UTF-8 text of at most %d characters without "
                      "control characters",
                      VD_POLICY_DESCRIPTION_CHARS);
    }
    const char *labels[1] = {in->report_label};
    for (size_t i = 0; i < (in->snp != NULL ? 1 : in->n_measurements); i++) {
        const char *l = in->snp != NULL ? labels[0] : in->measurements[i].label;
        if (l != NULL && text_chars(l, VD_POLICY_LABEL_CHARS) < 0) {
            return VD_ERR(err, VD_E_USAGE,
                          "label '%.40s%s': at most %d characters of UTF-8 text without control "
                          "characters",
                          l, strlen(l) > 40 ? "..." : "", VD_POLICY_LABEL_CHARS);
        }
    }
    return VD_OK;
}

vd_err_t vd_policy_init(const vd_pinit_t *in, char **out, vd_error_t *err)
{
    out_t o = {0};
    vd_policy_t *check = NULL;
    *out = NULL;
    vd_err_t rc = check_inputs(in, err);
    if (rc != VD_OK) {
        return rc;
    }
    put(&o, "# An appraisal policy written by `verdict policy init` from %s.\n",
        in->snp != NULL ? "a genuine report" : "computed launch measurements");
    if (in->source != NULL && in->source[0] != '\0') {
        put(&o, "#   ");
        put_comment_text(&o, in->source);
        put(&o, "\n");
    }
    put(&o,
        "# It accepts %s. Review every value, then try it:\n"
        "#   verdict policy validate FILE; verdict policy test --policy FILE --report ...\n"
        "# The language: policies/README.md.\n",
        in->snp != NULL ? "guests configured like this one, or stricter and more recent"
                        : "guests that launch with one of these measurements");
    put(&o, "name: %s\ndescription: ", in->name);
    if (in->description != NULL) {
        put_quoted(&o, in->description);
    } else if (in->snp != NULL) {
        put(&o, "\"Pinned to a known-good %s guest (verdict policy init)\"",
            vd_product_name(in->snp->product));
    } else {
        put(&o, "\"%zu reference measurement%s (verdict policy init --measure)\"",
            in->n_measurements, in->n_measurements == 1 ? "" : "s");
    }
    put(&o, "\n\nsnp:\n");
    if (in->snp != NULL) {
        put_from_report(&o, in);
        if (in->vtpm != NULL) {
            put_vtpm(&o, in->vtpm);
        }
    } else {
        put_from_measure(&o, in);
    }
    if (o.failed) {
        free(o.p);
        return VD_ERR(err, VD_E_NOMEM, "out of memory writing the policy (or past 1 MiB)");
    }
    /* What is printed always validates: compile it, as `verdict policy validate` would. */
    vd_error_t cerr = {0};
    rc = vd_policy_compile(o.p, o.len, "policy init", &check, &cerr);
    vd_policy_free(&check);
    if (rc != VD_OK) {
        free(o.p);
        return VD_ERR(err, rc == VD_E_NOMEM ? VD_E_NOMEM : VD_E_INTERNAL,
                      "the written policy does not compile: %s", cerr.msg);
    }
    *out = o.p;
    return VD_OK;
}
