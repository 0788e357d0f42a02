/*
 * The result of an appraisal as one JSON object (jansson, never hand-written JSON): what
 * `verify --json` prints and `/v1/attest` returns. Every string that can carry text from the
 * evidence goes through vd_text_escape, so the object always encodes (valid UTF-8, no control
 * characters), whatever names an attacker put in a certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verdict/appraise.h"
#include "verdict/bytes.h"
#include "verdict/jsonbuild.h"
#include "verdict/text.h"
#include "verdict/timefmt.h"
#include "appraise_vtpm.h"

/* A JSON string of untrusted text, escaped when needed. NULL only when out of memory. Both
 * clean text and vd_text_escape's output are valid UTF-8: jansson need not check it again. */
static json_t *text_json(const char *s)
{
    if (vd_text_is_clean(s)) {
        return json_string_nocheck(s != NULL ? s : "");
    }
    size_t n = VD_TEXT_ESCAPED_SIZE(strlen(s));
    char *buf = malloc(n);
    if (buf == NULL) {
        return NULL;
    }
    json_t *j = json_string_nocheck(vd_text_escape(s, buf, n));
    free(buf);
    return j;
}

static json_t *tcb_json(const vd_tcb_t *t)
{
    static const char *const names[] = {"raw", "bootloader", "tee", "snp", "microcode"};
    char raw[19];
    snprintf(raw, sizeof(raw), "0x%016llx", (unsigned long long)t->raw);
    json_t *values[] = {json_string_nocheck(raw), json_integer(t->bootloader), json_integer(t->tee),
                        json_integer(t->snp), json_integer(t->microcode)};
    json_t *o = vd_json_object_of(names, values, sizeof(values) / sizeof(values[0]));
    if (o != NULL && t->has_fmc) {
        json_object_set_new_nocheck(o, "fmc", json_integer(t->fmc));
    }
    return o;
}

/* Hex and the numbers below are ASCII: jansson need not check their UTF-8. */
static json_t *hex_json(const uint8_t *p, size_t len)
{
    char buf[129];
    return json_string_nocheck(vd_hex_encode(p, len, buf, sizeof(buf)));
}

static json_t *u64_hex(uint64_t v)
{
    char buf[19];
    snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
    return json_string_nocheck(buf);
}

/* The fields a policy author looks at; the full report for `verdict policy test` comes later. */
static json_t *report_json(const vd_snp_report_t *r)
{
    char fw[16], cfw[16];
    snprintf(fw, sizeof(fw), "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
    snprintf(cfw, sizeof(cfw), "%u.%u.%u", r->committed_major, r->committed_minor,
             r->committed_build);
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "version", json_integer(r->version));
    json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
    json_object_set_new(o, "policy", u64_hex(r->policy));
    json_object_set_new(o, "vmpl", json_integer(r->vmpl));
    json_object_set_new(o, "platform_info", u64_hex(r->platform_info));
    json_object_set_new(o, "signer_info", u64_hex(r->signer_info));
    json_object_set_new(o, "measurement", hex_json(r->measurement, sizeof(r->measurement)));
    json_object_set_new(o, "report_data", hex_json(r->report_data, sizeof(r->report_data)));
    json_object_set_new(o, "host_data", hex_json(r->host_data, sizeof(r->host_data)));
    json_object_set_new(o, "family_id", hex_json(r->family_id, sizeof(r->family_id)));
    json_object_set_new(o, "image_id", hex_json(r->image_id, sizeof(r->image_id)));
    json_object_set_new(o, "id_key_digest", hex_json(r->id_key_digest, 48));
    json_object_set_new(o, "author_key_digest", hex_json(r->author_key_digest, 48));
    json_object_set_new(o, "report_id", hex_json(r->report_id, 32));
    json_object_set_new(o, "chip_id", hex_json(r->chip_id, sizeof(r->chip_id)));
    json_object_set_new(o, "current_firmware", json_string_nocheck(fw));
    json_object_set_new(o, "committed_firmware", json_string_nocheck(cfw));
    if (r->version >= 3) {
        json_object_set_new(o, "cpuid",
                            json_pack("{s:i, s:i, s:i}", "family", r->cpuid_fam_id, "model",
                                      r->cpuid_mod_id, "stepping", r->cpuid_step));
    }
    if (r->version >= 5) {
        json_object_set_new(o, "launch_mit_vector", u64_hex(r->launch_mit_vector));
        json_object_set_new(o, "current_mit_vector", u64_hex(r->current_mit_vector));
    }
    return o;
}

static json_t *checks_json(const vd_checks_t *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < c->count; i++) {
        const vd_check_t *k = &c->items[i];
        /* json_pack's format parsing cost more than the strings: built member by member. */
        json_t *item = json_object();
        if (item != NULL &&
            (json_object_set_new_nocheck(item, "name", text_json(k->name)) != 0 ||
             json_object_set_new_nocheck(
                 item, "result", json_string_nocheck(vd_check_result_str(k->result))) != 0 ||
             json_object_set_new_nocheck(item, "detail", text_json(k->detail)) != 0)) {
            json_decref(item);
            item = NULL;
        }
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The policy appraisal: status, AR4SI vector (non-zero claims), and the policy's checks.
 * "policy" is null when no policy was applied (only a nonce's freshness was checked). */
static json_t *appraisal_json(const vd_appraisal_t *a, int policy_applied)
{
    json_t *tv = json_object();
    for (int i = 0; tv != NULL && i < VD_CLAIM__COUNT; i++) {
        if (a->tvec.claims[i] != 0) {
            json_object_set_new(tv, vd_claim_name((vd_claim_t)i), json_integer(a->tvec.claims[i]));
        }
    }
    return json_pack("{s:o, s:s, s:o*, s:o*}", "policy",
                     policy_applied ? text_json(a->policy_name) : json_null(), "status",
                     vd_tier_name(a->status), "trust_vector", tv, "checks",
                     checks_json(&a->checks));
}

json_t *vd_appraise_result_json(const vd_appraise_result_t *r, time_t at)
{
    char when[32];
    const vd_snp_result_t *res = &r->snp;
    json_t *root = json_object();
    json_t *checks = checks_json(&res->checks);
    if (root == NULL || checks == NULL) {
        goto fail;
    }
    json_object_set_new(root, "status",
                        json_string(r->outcome == VD_OUTCOME_BAD_EVIDENCE
                                        ? vd_appraise_outcome_str(r->outcome)
                                        : vd_snp_status_str(res->status)));
    /* The whole appraisal (genuineness, policy, freshness): what a relying party acts on. */
    json_object_set_new(root, "outcome", json_string(vd_appraise_outcome_str(r->outcome)));
    const vd_check_t *first_fail = vd_checks_first(&res->checks, VD_CHECK_FAIL);
    if (first_fail != NULL) {
        char reason[VD_CHECK_NAME_MAX + VD_CHECK_DETAIL_MAX + 2];
        snprintf(reason, sizeof(reason), "%s: %s", first_fail->name, first_fail->detail);
        json_object_set_new(root, "reason", text_json(reason));
    }
    if (res->missing[0] != '\0') {
        json_object_set_new(root, "missing", text_json(res->missing));
    }
    json_object_set_new(root, "verified_at",
                        json_string(vd_time_format_rfc3339(at, when, sizeof(when))));
    json_object_set_new(root, "product",
                        res->product != VD_PRODUCT_UNKNOWN
                            ? json_string(vd_product_name(res->product))
                            : json_null());
    json_object_set_new(root, "product_variant",
                        res->product_variant ? text_json(res->product_variant) : json_null());
    json_object_set_new(root, "product_source",
                        res->product_source ? text_json(res->product_source) : json_null());
    if (res->report_parsed) {
        json_object_set_new(root, "report_version", json_integer(res->report.version));
        json_object_set_new(root, "signing_key",
                            json_string(vd_signing_key_name(res->signing_key)));
        static const char *const tcbs[] = {"reported", "current", "committed", "launch"};
        json_t *tv[] = {tcb_json(&res->reported_tcb), tcb_json(&res->current_tcb),
                        tcb_json(&res->committed_tcb), tcb_json(&res->launch_tcb)};
        json_object_set_new(root, "tcb", vd_json_object_of(tcbs, tv, sizeof(tv) / sizeof(tv[0])));
        json_object_set_new(root, "report", report_json(&res->report));
    } else {
        json_object_set_new(root, "report_version", json_null());
        json_object_set_new(root, "signing_key", json_null());
        json_object_set_new(root, "tcb", json_null());
    }
    if (r->has_vtpm) {
        /* Azure vTPM claims (PCRs by number, vm-configuration, the quote); the hcl.* tpm.*
         * vtpm.* checks are in "checks" with the SNP ones. */
        json_t *v = vd_appraise__vtpm_json(&r->vtpm);
        if (v == NULL || json_object_set_new(root, "vtpm", v) != 0) {
            goto fail;
        }
    }
    if (json_object_set_new(root, "checks", checks) != 0) {
        checks = NULL;
        goto fail;
    }
    checks = NULL;
    if (r->policy_applied || r->appraisal.checks.count > 0) {
        json_t *a = appraisal_json(&r->appraisal, r->policy_applied);
        if (a == NULL || json_object_set_new(root, "appraisal", a) != 0) {
            goto fail;
        }
    }
    /* A member whose value could not be made (out of memory) is left out by jansson: at
     * least the verdict itself must be there. */
    if (json_object_get(root, "status") == NULL || json_object_get(root, "outcome") == NULL ||
        json_object_get(root, "verified_at") == NULL) {
        goto fail;
    }
    return root;
fail:
    json_decref(checks);
    json_decref(root);
    return NULL;
}
