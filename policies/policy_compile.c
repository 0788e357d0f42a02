/*
 * Policy compiler: YAML tree (verifier/yaml/yamltree.c) -> struct vd_policy (policy_internal.h).
 *
 * Every rule of the language is checked here, once, with a message of the form
 * "file:line:col: path.to.key: expected ..., got ..."; evaluation then trusts the compiled form.
 * The language is documented in policies/README.md; keep the two in step.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verdict/bytes.h"
#include "verdict/product.h"
#include "verdict/report.h"
#include "policy_internal.h"
#include "verdict/yamltree.h"

typedef struct cctx {
    const char *file;
    vd_policy_t *p;
    vd_error_t *err;
} cctx_t;

/* Record a schema error at `n` for key path `path`. Always returns VD_E_MALFORMED. */
static vd_err_t __attribute__((format(printf, 4, 5)))
bad(cctx_t *c, const vd_ynode_t *n, const char *path, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return VD_ERR(c->err, VD_E_MALFORMED, "%s:%u:%u: %s: %s", c->file, n ? n->line : 0,
                  n ? n->column : 0, path, what);
}

static const char *shown(const vd_ynode_t *n)
{
    return n->kind == VD_YNODE_SCALAR ? n->scalar : vd_ynode_kind_name(n->kind);
}

/* ---- scalars ------------------------------------------------------------------------------- */

static vd_err_t want_kind(cctx_t *c, const vd_ynode_t *n, const char *path, vd_ynode_kind_t k)
{
    if (n->kind != k) {
        return bad(c, n, path, "expected a %s, got a %s", vd_ynode_kind_name(k),
                   vd_ynode_kind_name(n->kind));
    }
    return VD_OK;
}

/* Unsigned integer, decimal or 0x-hex, at most `max`. */
static vd_err_t get_uint(cctx_t *c, const vd_ynode_t *n, const char *path, uint64_t max,
                         uint64_t *out)
{
    if (n->kind != VD_YNODE_SCALAR || n->scalar[0] == '\0' || n->scalar[0] == '-' ||
        n->scalar[0] == '+' || n->scalar[0] == ' ') {
        return bad(c, n, path, "expected an integer 0..%llu, got '%s'", (unsigned long long)max,
                   shown(n));
    }
    /* Decimal (leading zeros are not octal) or 0x-hex: digits only after the prefix. */
    const char *s = n->scalar;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || end == s || *end != '\0' ||
        strspn(s, base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != strlen(s) || v > max) {
        return bad(c, n, path, "expected an integer 0..%llu, got '%s'", (unsigned long long)max,
                   n->scalar);
    }
    *out = v;
    return VD_OK;
}

static vd_err_t get_u8(cctx_t *c, const vd_ynode_t *n, const char *path, uint8_t *out)
{
    uint64_t v = 0;
    vd_err_t rc = get_uint(c, n, path, 255, &v);
    *out = (uint8_t)v;
    return rc;
}

static vd_err_t get_bool(cctx_t *c, const vd_ynode_t *n, const char *path, int *out)
{
    if (n->kind == VD_YNODE_SCALAR && !n->quoted) {
        if (strcmp(n->scalar, "true") == 0) {
            *out = 1;
            return VD_OK;
        }
        if (strcmp(n->scalar, "false") == 0) {
            *out = 0;
            return VD_OK;
        }
    }
    return bad(c, n, path, "expected true or false, got '%s'", shown(n));
}

/* A string of at most `max_chars` characters (UTF-8 code points, not bytes: libyaml has
 * already checked the encoding); `out_size` holds 4 bytes per character. */
static vd_err_t get_string(cctx_t *c, const vd_ynode_t *n, const char *path, char *out,
                           size_t out_size, size_t max_chars)
{
    if (n->kind != VD_YNODE_SCALAR) {
        return bad(c, n, path, "expected a string, got a %s", vd_ynode_kind_name(n->kind));
    }
    size_t bytes = strlen(n->scalar), chars = 0;
    for (size_t i = 0; i < bytes; i++) {
        chars += ((unsigned char)n->scalar[i] & 0xc0) != 0x80;
    }
    if (chars > max_chars || bytes >= out_size) {
        return bad(c, n, path, "longer than %zu characters", max_chars);
    }
    memcpy(out, n->scalar, strlen(n->scalar) + 1);
    return VD_OK;
}

/* "MAJOR.MINOR" with each part 0..255. */
static vd_err_t get_version(cctx_t *c, const vd_ynode_t *n, const char *path, uint8_t *major,
                            uint8_t *minor)
{
    unsigned a = 0, b = 0;
    char tail = 0;
    /* NOLINTNEXTLINE(cert-err34-c): %3u cannot overflow; strspn and the range check below. */
    if (n->kind != VD_YNODE_SCALAR || sscanf(n->scalar, "%3u.%3u%c", &a, &b, &tail) != 2 ||
        a > 255 || b > 255 || strspn(n->scalar, "0123456789.") != strlen(n->scalar)) {
        return bad(c, n, path, "expected a version MAJOR.MINOR such as \"1.55\", got '%s'",
                   shown(n));
    }
    *major = (uint8_t)a;
    *minor = (uint8_t)b;
    return VD_OK;
}

static vd_err_t get_rule(cctx_t *c, const vd_ynode_t *n, const char *path, vd_flag_rule_t *out)
{
    if (n->kind == VD_YNODE_SCALAR) {
        if (strcmp(n->scalar, "required") == 0) {
            *out = VD_RULE_REQUIRED;
            return VD_OK;
        }
        if (strcmp(n->scalar, "forbidden") == 0) {
            *out = VD_RULE_FORBIDDEN;
            return VD_OK;
        }
        if (strcmp(n->scalar, "allowed") == 0) {
            *out = VD_RULE_ALLOWED;
            return VD_OK;
        }
    }
    return bad(c, n, path, "expected required, forbidden or allowed, got '%s'", shown(n));
}

/* Exactly `len` bytes of hex (or, when `alt_len` is non-zero, alternatively `alt_len`). */
static vd_err_t get_hex(cctx_t *c, const vd_ynode_t *n, const char *path, size_t len,
                        size_t alt_len, uint8_t *out, size_t *out_len)
{
    size_t got = 0;
    const char *s = n->kind == VD_YNODE_SCALAR ? n->scalar : "";
    size_t slen = strlen(s);
    if (n->kind == VD_YNODE_SCALAR && slen > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        slen -= 2;
    }
    int ok = n->kind == VD_YNODE_SCALAR && strchr(s, ' ') == NULL && strchr(s, '\n') == NULL &&
             vd_hex_decode(s, slen, out, 64, &got) == 0 &&
             (got == len || (alt_len && got == alt_len));
    if (!ok) {
        if (alt_len) {
            return bad(c, n, path,
                       "expected %zu or %zu hex digits (%zu or %zu bytes), got '%.40s%s'", 2 * len,
                       2 * alt_len, len, alt_len, shown(n), strlen(shown(n)) > 40 ? "..." : "");
        }
        return bad(c, n, path, "expected %zu hex digits (%zu bytes), got %zu characters '%.40s%s'",
                   2 * len, len, strlen(shown(n)), shown(n), strlen(shown(n)) > 40 ? "..." : "");
    }
    *out_len = got;
    return VD_OK;
}

/* ---- mappings ------------------------------------------------------------------------------ */

/*
 * Check that `map` is a mapping whose keys are all in `allowed` (NULL-terminated), unique, and
 * scalars.
 */
static vd_err_t check_keys(cctx_t *c, const vd_ynode_t *map, const char *path,
                           const char *const *allowed)
{
    vd_err_t rc = want_kind(c, map, path, VD_YNODE_MAPPING);
    if (rc != VD_OK) {
        return rc;
    }
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        const vd_ynode_t *k = map->items[i];
        if (k->kind != VD_YNODE_SCALAR) {
            return bad(c, k, path, "keys must be plain strings");
        }
        int known = 0;
        for (size_t a = 0; allowed[a] != NULL; a++) {
            known |= strcmp(k->scalar, allowed[a]) == 0;
        }
        if (!known) {
            char list[1024] = "";
            for (size_t a = 0; allowed[a] != NULL; a++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%s", a ? ", " : "", allowed[a]);
            }
            return bad(c, k, path, "unknown key '%s' (expected one of: %s)", k->scalar, list);
        }
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(map->items[j]->scalar, k->scalar) == 0) {
                return bad(c, k, path, "key '%s' appears twice", k->scalar);
            }
        }
    }
    return VD_OK;
}

static void join(char *out, size_t n, const char *a, const char *b)
{
    snprintf(out, n, "%s.%s", a, b);
}

/* ---- sections ------------------------------------------------------------------------------ */

static vd_err_t compile_tcb(cctx_t *c, const vd_ynode_t *n, const char *path, vd_tcb_min_t *t)
{
    static const char *const keys[] = {"fmc", "bootloader", "tee", "snp", "microcode", NULL};
    vd_err_t rc = check_keys(c, n, path, keys);
    if (rc != VD_OK) {
        return rc;
    }
    if (n->count == 0) {
        return bad(c, n, path, "empty: name at least one of fmc, bootloader, tee, snp, microcode");
    }
    t->present = 1;
    for (int i = 0; i < VD_TCBC__COUNT; i++) {
        const vd_ynode_t *v = vd_ynode_get(n, keys[i]);
        char sub[96];
        if (v == NULL) {
            continue;
        }
        join(sub, sizeof(sub), path, keys[i]);
        if ((rc = get_u8(c, v, sub, &t->v[i])) != VD_OK) {
            return rc;
        }
        t->has[i] = 1;
    }
    return VD_OK;
}

static vd_err_t compile_flags(cctx_t *c, const vd_ynode_t *n, const char *path,
                              const vd_flag_def_t *defs, size_t ndefs, vd_flag_rule_t *rules,
                              const char *extra_key)
{
    const char *keys[16];
    size_t k = 0;
    for (size_t i = 0; i < ndefs; i++) {
        keys[k++] = defs[i].key;
    }
    if (extra_key != NULL) {
        keys[k++] = extra_key;
    }
    keys[k] = NULL;
    vd_err_t rc = check_keys(c, n, path, keys);
    for (size_t i = 0; rc == VD_OK && i < ndefs; i++) {
        const vd_ynode_t *v = vd_ynode_get(n, defs[i].key);
        char sub[96];
        if (v != NULL) {
            join(sub, sizeof(sub), path, defs[i].key);
            rc = get_rule(c, v, sub, &rules[i]);
        }
    }
    return rc;
}

static vd_err_t compile_products(cctx_t *c, const vd_ynode_t *n, const char *path)
{
    vd_err_t rc = want_kind(c, n, path, VD_YNODE_SEQUENCE);
    if (rc == VD_OK && n->count == 0) {
        rc = bad(c, n, path, "empty list: name at least one of Milan, Genoa, Turin");
    }
    for (size_t i = 0; rc == VD_OK && i < n->count; i++) {
        const vd_ynode_t *v = n->items[i];
        vd_product_t pr =
            v->kind == VD_YNODE_SCALAR ? vd_product_from_name(v->scalar) : VD_PRODUCT_UNKNOWN;
        if (pr == VD_PRODUCT_UNKNOWN || strchr(v->scalar, '-') != NULL) {
            rc = bad(c, v, path, "expected Milan, Genoa or Turin, got '%s'", shown(v));
        }
        c->p->products |= 1u << pr;
    }
    return rc;
}

static vd_err_t compile_keys(cctx_t *c, const vd_ynode_t *n, const char *path)
{
    vd_err_t rc = want_kind(c, n, path, VD_YNODE_SEQUENCE);
    if (rc == VD_OK && n->count == 0) {
        rc = bad(c, n, path, "empty list: name VCEK, VLEK or both");
    }
    for (size_t i = 0; rc == VD_OK && i < n->count; i++) {
        const vd_ynode_t *v = n->items[i];
        if (v->kind == VD_YNODE_SCALAR && strcmp(v->scalar, "VCEK") == 0) {
            c->p->signing_keys |= 1u << VD_SNP_SIGNING_KEY_VCEK;
        } else if (v->kind == VD_YNODE_SCALAR && strcmp(v->scalar, "VLEK") == 0) {
            c->p->signing_keys |= 1u << VD_SNP_SIGNING_KEY_VLEK;
        } else {
            rc = bad(c, v, path, "expected VCEK or VLEK, got '%s'", shown(v));
        }
    }
    return rc;
}

static vd_err_t compile_vmpl(cctx_t *c, const vd_ynode_t *n, const char *path)
{
    uint64_t v = 0;
    vd_err_t rc = VD_OK;
    if (n->kind == VD_YNODE_SCALAR) {
        rc = get_uint(c, n, path, 3, &v);
        c->p->vmpl_mask = 1u << v;
        return rc;
    }
    rc = want_kind(c, n, path, VD_YNODE_SEQUENCE);
    if (rc == VD_OK && n->count == 0) {
        rc = bad(c, n, path, "empty list: name the accepted VMPLs (0..3)");
    }
    for (size_t i = 0; rc == VD_OK && i < n->count; i++) {
        rc = get_uint(c, n->items[i], path, 3, &v);
        c->p->vmpl_mask |= 1u << v;
    }
    return rc;
}

/*
 * A list of reference values: each item a hex string or {value: HEX, label: TEXT}. `len` bytes
 * (or `alt_len`).
 */
static vd_err_t compile_refset(cctx_t *c, const vd_ynode_t *n, const char *path, size_t len,
                               size_t alt_len, vd_refset_t *set)
{
    static const char *const keys[] = {"value", "label", NULL};
    vd_err_t rc = want_kind(c, n, path, VD_YNODE_SEQUENCE);
    if (rc != VD_OK) {
        return rc;
    }
    if (n->count == 0) {
        return bad(c, n, path,
                   "empty list: an empty allow-list would reject everything; "
                   "remove the key to accept any value");
    }
    if (n->count > VD_POLICY_MAX_VALUES) {
        return bad(c, n, path, "more than %d values", VD_POLICY_MAX_VALUES);
    }
    set->items = calloc(n->count, sizeof(*set->items));
    if (set->items == NULL) {
        return VD_ERR(c->err, VD_E_NOMEM, "out of memory compiling %s", path);
    }
    set->present = 1;
    for (size_t i = 0; i < n->count; i++) {
        const vd_ynode_t *item = n->items[i];
        const vd_ynode_t *value = item;
        vd_refval_t *rv = &set->items[set->count];
        char sub[96];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (item->kind == VD_YNODE_MAPPING) {
            if ((rc = check_keys(c, item, sub, keys)) != VD_OK) {
                return rc;
            }
            value = vd_ynode_get(item, "value");
            if (value == NULL) {
                return bad(c, item, sub, "missing 'value'");
            }
            const vd_ynode_t *label = vd_ynode_get(item, "label");
            char lpath[112];
            join(lpath, sizeof(lpath), sub, "label");
            if (label != NULL && (rc = get_string(c, label, lpath, rv->label, sizeof(rv->label),
                                                  VD_POLICY_LABEL_CHARS)) != VD_OK) {
                return rc;
            }
            join(sub + strlen(sub), sizeof(sub) - strlen(sub), "", "value");
        }
        if ((rc = get_hex(c, value, sub, len, alt_len, rv->v, &rv->len)) != VD_OK) {
            return rc;
        }
        for (size_t j = 0; j < set->count; j++) {
            if (set->items[j].len == rv->len && memcmp(set->items[j].v, rv->v, rv->len) == 0) {
                return bad(c, value, sub, "duplicate of item %zu", j);
            }
        }
        set->count++;
    }
    return VD_OK;
}

/*
 * Trusted ID or author keys given as PEM (a public key or a certificate), each item the PEM text
 * or {value: PEM, label: TEXT}: appended to `set` (which may already hold the digests listed
 * under `digests_key`) as the SHA-384 digest of the key's SEV-SNP API form, which is what the
 * report carries. A key listed twice, in either form, is an error.
 */
static vd_err_t compile_keyset(cctx_t *c, const vd_ynode_t *n, const char *path,
                               const char *digests_key, vd_refset_t *set)
{
    static const char *const keys[] = {"value", "label", NULL};
    vd_err_t rc = want_kind(c, n, path, VD_YNODE_SEQUENCE);
    if (rc != VD_OK) {
        return rc;
    }
    if (n->count == 0) {
        return bad(c, n, path,
                   "empty list: an empty allow-list would reject everything; "
                   "remove the key to accept any value");
    }
    if (n->count > VD_POLICY_MAX_VALUES || set->count > VD_POLICY_MAX_VALUES - n->count) {
        return bad(c, n, path, "more than %d keys with %s", VD_POLICY_MAX_VALUES, digests_key);
    }
    vd_refval_t *items = realloc(set->items, (set->count + n->count) * sizeof(*items));
    if (items == NULL) {
        return VD_ERR(c->err, VD_E_NOMEM, "out of memory compiling %s", path);
    }
    set->items = items;
    set->present = 1;
    size_t first = set->count;
    for (size_t i = 0; i < n->count; i++) {
        const vd_ynode_t *item = n->items[i], *value = item;
        vd_refval_t *rv = &set->items[set->count];
        char sub[96];
        memset(rv, 0, sizeof(*rv));
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (item->kind == VD_YNODE_MAPPING) {
            if ((rc = check_keys(c, item, sub, keys)) != VD_OK) {
                return rc;
            }
            if ((value = vd_ynode_get(item, "value")) == NULL) {
                return bad(c, item, sub, "missing 'value'");
            }
            const vd_ynode_t *label = vd_ynode_get(item, "label");
            char lpath[112];
            join(lpath, sizeof(lpath), sub, "label");
            if (label != NULL && (rc = get_string(c, label, lpath, rv->label, sizeof(rv->label),
                                                  VD_POLICY_LABEL_CHARS)) != VD_OK) {
                return rc;
            }
        }
        if (value->kind != VD_YNODE_SCALAR) {
            return bad(c, value, sub, "expected a PEM public key or certificate, got a %s",
                       vd_ynode_kind_name(value->kind));
        }
        vd_error_t kerr = {0};
        if (vd_policy_sev_key_digest(value->scalar, strlen(value->scalar), rv->v, &kerr) != VD_OK) {
            return bad(c, value, sub, "%s", kerr.msg);
        }
        rv->len = 48;
        for (size_t j = 0; j < set->count; j++) {
            if (memcmp(set->items[j].v, rv->v, 48) == 0) {
                return j < first ? bad(c, value, sub, "the same key as %s[%zu]", digests_key, j)
                                 : bad(c, value, sub, "duplicate of item %zu", j - first);
            }
        }
        set->count++;
    }
    return VD_OK;
}

static vd_err_t compile_binding(cctx_t *c, const vd_ynode_t *n, const char *path)
{
    static const vd_binding_t modes[] = {VD_BIND_NONE, VD_BIND_RAW, VD_BIND_SHA512,
                                         VD_BIND_SHA384_JCS, VD_BIND_SHA256_PREFIX};
    for (size_t i = 0; n->kind == VD_YNODE_SCALAR && i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(n->scalar, vd_policy__binding_name(modes[i])) == 0) {
            c->p->binding = modes[i];
            return VD_OK;
        }
    }
    return bad(c, n, path, "expected raw, sha512, sha384-jcs, sha256-prefix or none, got '%s'",
               shown(n));
}

static vd_err_t compile_on_failure(cctx_t *c, const vd_ynode_t *n, const char *path)
{
    vd_err_t rc = want_kind(c, n, path, VD_YNODE_MAPPING);
    for (size_t i = 0; rc == VD_OK && i + 1 < n->count; i += 2) {
        const vd_ynode_t *k = n->items[i], *v = n->items[i + 1];
        char sub[128];
        snprintf(sub, sizeof(sub), "%s.%s", path, k->kind == VD_YNODE_SCALAR ? k->scalar : "?");
        if (k->kind != VD_YNODE_SCALAR || vd_policy__check_def(k->scalar) == NULL) {
            return bad(c, k, path, "'%s' is not a policy check name (see policies/README.md)",
                       shown(k));
        }
        for (size_t j = 0; j < c->p->override_count; j++) {
            if (strcmp(c->p->overrides[j].check, k->scalar) == 0) {
                return bad(c, k, path, "key '%s' appears twice", k->scalar);
            }
        }
        if ((rc = want_kind(c, v, sub, VD_YNODE_MAPPING)) != VD_OK) {
            return rc;
        }
        if (v->count != 2 || v->items[0]->kind != VD_YNODE_SCALAR ||
            vd_claim_from_name(v->items[0]->scalar) < 0) {
            return bad(c, v, sub,
                       "expected one claim and its value, e.g. {executables: 33}; claims: "
                       "instance-identity, configuration, executables, file-system, hardware, "
                       "runtime-opaque, storage-opaque, sourced-data");
        }
        const vd_ynode_t *val = v->items[1];
        char *end = NULL;
        long x = val->kind == VD_YNODE_SCALAR ? strtol(val->scalar, &end, 10) : 0;
        if (val->kind != VD_YNODE_SCALAR || end == val->scalar || *end != '\0' || x < -128 ||
            x > 127 || vd_tier_of((int8_t)x) < VD_TIER_WARNING) {
            return bad(c, val, sub,
                       "expected a claim value -128..127 in the warning or contraindicated "
                       "range (32..127 or -33..-128), got '%s'",
                       shown(val));
        }
        if (c->p->override_count >= VD_POLICY_MAX_OVERRIDES) {
            return bad(c, k, path, "more than %d overrides", VD_POLICY_MAX_OVERRIDES);
        }
        vd_override_t *o = &c->p->overrides[c->p->override_count++];
        snprintf(o->check, sizeof(o->check), "%s", k->scalar);
        o->claim = (vd_claim_t)vd_claim_from_name(v->items[0]->scalar);
        o->value = (int8_t)x;
    }
    return rc;
}

static vd_err_t compile_snp(cctx_t *c, const vd_ynode_t *snp)
{
    static const char *const keys[] = {"products",
                                       "signing_keys",
                                       "min_tcb",
                                       "min_launch_tcb",
                                       "provisional_firmware",
                                       "min_api_version",
                                       "min_firmware_build",
                                       "guest_policy",
                                       "platform_info",
                                       "vmpl",
                                       "min_guest_svn",
                                       "min_launch_mit_vector",
                                       "min_current_mit_vector",
                                       "measurements",
                                       "host_data",
                                       "family_ids",
                                       "image_ids",
                                       "chip_ids",
                                       "id_key_digests",
                                       "author_key_digests",
                                       "id_keys",
                                       "author_keys",
                                       "report_ids",
                                       "report_id_mas",
                                       "report_data",
                                       "require_id_block",
                                       "require_author_key",
                                       "freshness",
                                       NULL};
    vd_policy_t *p = c->p;
    vd_err_t rc = check_keys(c, snp, "snp", keys);
    const vd_ynode_t *n;
    uint64_t v = 0;
    if (rc == VD_OK && (n = vd_ynode_get(snp, "products")) != NULL) {
        rc = compile_products(c, n, "snp.products");
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "signing_keys")) != NULL) {
        rc = compile_keys(c, n, "snp.signing_keys");
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_tcb")) != NULL) {
        rc = compile_tcb(c, n, "snp.min_tcb", &p->min_tcb);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_launch_tcb")) != NULL) {
        rc = compile_tcb(c, n, "snp.min_launch_tcb", &p->min_launch_tcb);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "provisional_firmware")) != NULL) {
        rc = get_rule(c, n, "snp.provisional_firmware", &p->provisional_firmware);
        if (rc == VD_OK && p->provisional_firmware == VD_RULE_REQUIRED) {
            rc = bad(c, n, "snp.provisional_firmware", "expected allowed or forbidden");
        }
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_api_version")) != NULL) {
        rc = get_version(c, n, "snp.min_api_version", &p->min_api_major, &p->min_api_minor);
        p->has_min_api = 1;
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_firmware_build")) != NULL) {
        rc = get_u8(c, n, "snp.min_firmware_build", &p->min_build);
        p->has_min_build = 1;
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "guest_policy")) != NULL) {
        rc = compile_flags(c, n, "snp.guest_policy", vd_policy__guest_flags, VD_GUEST_FLAGS,
                           p->guest_flags, "min_abi");
        const vd_ynode_t *abi = rc == VD_OK ? vd_ynode_get(n, "min_abi") : NULL;
        if (abi != NULL) {
            rc = get_version(c, abi, "snp.guest_policy.min_abi", &p->min_abi_major,
                             &p->min_abi_minor);
            p->has_min_abi = 1;
        }
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "platform_info")) != NULL) {
        rc = compile_flags(c, n, "snp.platform_info", vd_policy__platform_flags, VD_PLATFORM_FLAGS,
                           p->platform_flags, NULL);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "vmpl")) != NULL) {
        rc = compile_vmpl(c, n, "snp.vmpl");
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_guest_svn")) != NULL) {
        rc = get_uint(c, n, "snp.min_guest_svn", UINT32_MAX, &v);
        p->min_guest_svn = (uint32_t)v;
        p->has_min_guest_svn = 1;
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_launch_mit_vector")) != NULL) {
        rc = get_uint(c, n, "snp.min_launch_mit_vector", UINT64_MAX, &p->min_launch_mit);
        p->has_launch_mit = 1;
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "min_current_mit_vector")) != NULL) {
        rc = get_uint(c, n, "snp.min_current_mit_vector", UINT64_MAX, &p->min_current_mit);
        p->has_current_mit = 1;
    }
    static const struct {
        const char *key;
        size_t len, alt;
        size_t off;
    } sets[] = {
        {"measurements", 48, 0, offsetof(vd_policy_t, measurements)},
        {"host_data", 32, 0, offsetof(vd_policy_t, host_data)},
        {"family_ids", 16, 0, offsetof(vd_policy_t, family_ids)},
        {"image_ids", 16, 0, offsetof(vd_policy_t, image_ids)},
        {"chip_ids", 64, 8, offsetof(vd_policy_t, chip_ids)},
        {"id_key_digests", 48, 0, offsetof(vd_policy_t, id_keys)},
        {"author_key_digests", 48, 0, offsetof(vd_policy_t, author_keys)},
        {"report_ids", 32, 0, offsetof(vd_policy_t, report_ids)},
        {"report_id_mas", 32, 0, offsetof(vd_policy_t, report_id_mas)},
    };
    for (size_t i = 0; rc == VD_OK && i < sizeof(sets) / sizeof(sets[0]); i++) {
        char path[64];
        if ((n = vd_ynode_get(snp, sets[i].key)) == NULL) {
            continue;
        }
        join(path, sizeof(path), "snp", sets[i].key);
        rc = compile_refset(c, n, path, sets[i].len, sets[i].alt,
                            (vd_refset_t *)(void *)((char *)p + sets[i].off));
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "id_keys")) != NULL) {
        rc = compile_keyset(c, n, "snp.id_keys", "snp.id_key_digests", &p->id_keys);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "author_keys")) != NULL) {
        rc = compile_keyset(c, n, "snp.author_keys", "snp.author_key_digests", &p->author_keys);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "report_data")) != NULL) {
        size_t got = 0;
        rc = get_hex(c, n, "snp.report_data", 64, 0, p->report_data, &got);
        p->has_report_data = 1;
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "require_id_block")) != NULL) {
        rc = get_bool(c, n, "snp.require_id_block", &p->require_id_block);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "require_author_key")) != NULL) {
        rc = get_bool(c, n, "snp.require_author_key", &p->require_author_key);
    }
    if (rc == VD_OK && (n = vd_ynode_get(snp, "freshness")) != NULL) {
        rc = compile_binding(c, n, "snp.freshness");
    }
    /* A fixed REPORT_DATA and a nonce bound into it cannot both hold. */
    if (rc == VD_OK && p->has_report_data && p->binding != VD_BIND_UNSET &&
        p->binding != VD_BIND_NONE) {
        rc = bad(c, vd_ynode_get(snp, "freshness"), "snp.freshness",
                 "'%s' binds a nonce into REPORT_DATA, but snp.report_data pins it to a fixed "
                 "value: use one or the other (or freshness: none)",
                 vd_policy__binding_name(p->binding));
    }
    return rc;
}

/* tpm: {pcrs: {INDEX: [values like snp.measurements, 32 bytes]}} (Azure vTPM evidence). */
static vd_err_t compile_tpm(cctx_t *c, const vd_ynode_t *tpm)
{
    static const char *const keys[] = {"pcrs", NULL};
    vd_err_t rc = check_keys(c, tpm, "tpm", keys);
    const vd_ynode_t *n = rc == VD_OK ? vd_ynode_get(tpm, "pcrs") : NULL;
    if (n == NULL) {
        return rc;
    }
    if ((rc = want_kind(c, n, "tpm.pcrs", VD_YNODE_MAPPING)) != VD_OK) {
        return rc;
    }
    if (n->count == 0) {
        return bad(c, n, "tpm.pcrs", "empty: name at least one PCR index (0..23)");
    }
    for (size_t i = 0; rc == VD_OK && i + 1 < n->count; i += 2) {
        uint64_t idx = 0;
        char path[32];
        if ((rc = get_uint(c, n->items[i], "tpm.pcrs (a PCR index)", VD_POLICY_PCRS - 1, &idx)) !=
            VD_OK) {
            return rc;
        }
        if (c->p->pcrs[idx].present) {
            return bad(c, n->items[i], "tpm.pcrs", "PCR %u appears twice", (unsigned)idx);
        }
        snprintf(path, sizeof(path), "tpm.pcrs.%u", (unsigned)idx);
        rc = compile_refset(c, n->items[i + 1], path, 32, 0, &c->p->pcrs[idx]);
    }
    return rc;
}

/* azure.vm_ids: vmUniqueId strings, each a string or {value, label}. */
static vd_err_t compile_vm_ids(cctx_t *c, const vd_ynode_t *n, const char *path)
{
    static const char *const keys[] = {"value", "label", NULL};
    vd_refset_t *set = &c->p->vm_ids;
    vd_err_t rc = want_kind(c, n, path, VD_YNODE_SEQUENCE);
    if (rc != VD_OK) {
        return rc;
    }
    if (n->count == 0) {
        return bad(c, n, path, "empty list: remove the key to accept any VM");
    }
    if (n->count > VD_POLICY_MAX_VALUES) {
        return bad(c, n, path, "more than %d values", VD_POLICY_MAX_VALUES);
    }
    if ((set->items = calloc(n->count, sizeof(*set->items))) == NULL) {
        return VD_ERR(c->err, VD_E_NOMEM, "out of memory compiling %s", path);
    }
    set->present = 1;
    for (size_t i = 0; i < n->count; i++) {
        const vd_ynode_t *value = n->items[i];
        vd_refval_t *rv = &set->items[set->count];
        char sub[96];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (value->kind == VD_YNODE_MAPPING) {
            const vd_ynode_t *item = value, *label;
            char lpath[112];
            if ((rc = check_keys(c, item, sub, keys)) != VD_OK) {
                return rc;
            }
            if ((value = vd_ynode_get(item, "value")) == NULL) {
                return bad(c, item, sub, "missing 'value'");
            }
            join(lpath, sizeof(lpath), sub, "label");
            if ((label = vd_ynode_get(item, "label")) != NULL &&
                (rc = get_string(c, label, lpath, rv->label, sizeof(rv->label),
                                 VD_POLICY_LABEL_CHARS)) != VD_OK) {
                return rc;
            }
        }
        if ((rc = get_string(c, value, sub, (char *)rv->v, sizeof(rv->v), sizeof(rv->v) - 1)) !=
            VD_OK) {
            return rc;
        }
        rv->len = strlen((const char *)rv->v);
        if (rv->len == 0) {
            return bad(c, value, sub, "empty VM id");
        }
        for (size_t j = 0; j < set->count; j++) {
            if (strcasecmp((const char *)set->items[j].v, (const char *)rv->v) == 0) {
                return bad(c, value, sub, "duplicate of item %zu", j);
            }
        }
        set->count++;
    }
    return VD_OK;
}

/* azure: the runtime data's vm-configuration and VM id (Azure vTPM evidence). */
static vd_err_t compile_azure(cctx_t *c, const vd_ynode_t *az)
{
    static const char *const keys[] = {"secure_boot", "tpm_enabled", "console", "vm_ids", NULL};
    vd_flag_rule_t *rules[] = {&c->p->azure_secure_boot, &c->p->azure_tpm_enabled,
                               &c->p->azure_console};
    vd_err_t rc = check_keys(c, az, "azure", keys);
    for (size_t i = 0; rc == VD_OK && i < 3; i++) {
        const vd_ynode_t *n = vd_ynode_get(az, keys[i]);
        char path[32];
        if (n != NULL) {
            join(path, sizeof(path), "azure", keys[i]);
            rc = get_rule(c, n, path, rules[i]);
        }
    }
    const vd_ynode_t *ids = rc == VD_OK ? vd_ynode_get(az, "vm_ids") : NULL;
    if (ids != NULL) {
        rc = compile_vm_ids(c, ids, "azure.vm_ids");
    }
    return rc;
}

int vd_policy__name_ok(const char *s)
{
    if (s[0] == '\0') {
        return 0;
    }
    for (const char *q = s; *q; q++) {
        int ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                 *q == '-' || *q == '_' || *q == '.';
        if (!ok) {
            return 0;
        }
    }
    return s[0] != '.' && s[0] != '-';
}

vd_err_t vd_policy_compile(const char *yaml, size_t len, const char *filename, vd_policy_t **out,
                           vd_error_t *err)
{
    static const char *const top_keys[] = {"name",  "description", "snp", "tpm",
                                           "azure", "appraisal",   NULL};
    static const char *const appraisal_keys[] = {"on_failure", NULL};
    vd_ydoc_t doc;
    vd_err_t rc;
    cctx_t c = {.file = filename, .err = err};
    *out = NULL;
    if ((rc = vd_ydoc_parse(yaml, len, filename, "policies", &doc, err)) != VD_OK) {
        return rc;
    }
    c.p = calloc(1, sizeof(*c.p));
    if (c.p == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory compiling %s", filename);
        goto out;
    }
    if (doc.root == NULL) {
        rc = VD_ERR(err, VD_E_MALFORMED, "%s: empty document; a policy needs at least a name",
                    filename);
        goto out;
    }
    if ((rc = check_keys(&c, doc.root, "(top level)", top_keys)) != VD_OK) {
        goto out;
    }
    const vd_ynode_t *n = vd_ynode_get(doc.root, "name");
    if (n == NULL) {
        rc = bad(&c, doc.root, "name", "missing: every policy has a name");
        goto out;
    }
    if ((rc = get_string(&c, n, "name", c.p->name, sizeof(c.p->name), VD_POLICY_NAME_MAX - 1)) !=
        VD_OK) {
        goto out;
    }
    if (!vd_policy__name_ok(c.p->name)) {
        rc =
            bad(&c, n, "name", "'%s': use letters, digits, '-', '_' and '.', not first", n->scalar);
        goto out;
    }
    if ((n = vd_ynode_get(doc.root, "description")) != NULL &&
        (rc = get_string(&c, n, "description", c.p->description, sizeof(c.p->description),
                         VD_POLICY_DESCRIPTION_CHARS)) != VD_OK) {
        goto out;
    }
    if ((n = vd_ynode_get(doc.root, "snp")) != NULL && (rc = compile_snp(&c, n)) != VD_OK) {
        goto out;
    }
    if ((n = vd_ynode_get(doc.root, "tpm")) != NULL && (rc = compile_tpm(&c, n)) != VD_OK) {
        goto out;
    }
    if ((n = vd_ynode_get(doc.root, "azure")) != NULL && (rc = compile_azure(&c, n)) != VD_OK) {
        goto out;
    }
    if ((n = vd_ynode_get(doc.root, "appraisal")) != NULL) {
        if ((rc = check_keys(&c, n, "appraisal", appraisal_keys)) != VD_OK) {
            goto out;
        }
        const vd_ynode_t *of = vd_ynode_get(n, "on_failure");
        if (of != NULL && (rc = compile_on_failure(&c, of, "appraisal.on_failure")) != VD_OK) {
            goto out;
        }
    }
    *out = c.p;
    c.p = NULL;
out:
    vd_policy_free(&c.p);
    vd_ydoc_free(&doc);
    return rc;
}

void vd_policy_free(vd_policy_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_policy_t *p = *pp;
    vd_refset_t *sets[] = {&p->measurements, &p->host_data,  &p->family_ids,
                           &p->image_ids,    &p->chip_ids,   &p->id_keys,
                           &p->author_keys,  &p->report_ids, &p->report_id_mas};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        free(sets[i]->items);
    }
    for (size_t i = 0; i < VD_POLICY_PCRS; i++) {
        free(p->pcrs[i].items);
    }
    free(p->vm_ids.items);
    free(p);
    *pp = NULL;
}

const char *vd_policy_name(const vd_policy_t *p)
{
    return p->name;
}

const char *vd_policy_description(const vd_policy_t *p)
{
    return p->description;
}
