/*
 * The runtime data JSON of the HCL report (VTPM.md section 4; include/verdict/vtpm.h).
 *
 * It is trusted only once REPORT_DATA binds it (vtpm_verify.c checks that first and reports
 * the parse separately). It carries the vTPM attestation key, the only key a quote may be
 * verified with, as a JWK ("kid": "HCLAkPub"), the VM's configuration flags and the 64 bytes
 * of user-data the guest wrote to NV index 0x01400002. Members are type-checked; a known member
 * of an unexpected type is refused rather than guessed at. Duplicate members are refused so no
 * two readers can see different values.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "verdict/base64.h"
#include "verdict/bytes.h"
#include "verdict/vtpm.h"

#define AK_KID "HCLAkPub"

/* Unpadded base64url of a big-endian integer into `out` (at most `max` bytes, leading zeros
 * stripped). Returns 0, or -1 with `why` set. */
static int decode_int(json_t *v, uint8_t *out, size_t max, size_t *out_len, const char **why)
{
    uint8_t buf[VD_VTPM_AK_MAX_BYTES + 8];
    size_t n = 0;
    if (!json_is_string(v)) {
        *why = "not a string";
        return -1;
    }
    size_t len = json_string_length(v);
    if (vd_base64_decoded_max(len) > sizeof(buf)) {
        *why = "too long";
        return -1;
    }
    if (vd_base64_decode(json_string_value(v), len, buf, &n) != 0) {
        *why = "not base64url";
        return -1;
    }
    size_t z = 0;
    while (z < n && buf[z] == 0) {
        z++;
    }
    if (n - z == 0) {
        *why = "zero";
        return -1;
    }
    if (n - z > max) {
        *why = "too long";
        return -1;
    }
    memcpy(out, buf + z, n - z);
    *out_len = n - z;
    return 0;
}

/* Find the one RSA "HCLAkPub" key among `keys` (already checked to be an array of objects). */
static void extract_ak(json_t *keys, vd_vtpm_runtime_t *out)
{
    json_t *ak = NULL;
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid != NULL && strcmp(kid, AK_KID) == 0) {
            ak = k;
            count++;
        }
    }
    if (count != 1) {
        snprintf(out->ak_problem, sizeof(out->ak_problem),
                 "%zu keys with kid \"" AK_KID "\", exactly one required", count);
        return;
    }
    const char *kty = json_string_value(json_object_get(ak, "kty"));
    if (kty == NULL || strcmp(kty, "RSA") != 0) {
        snprintf(out->ak_problem, sizeof(out->ak_problem), "the AK's kty is \"%.16s\", not RSA",
                 kty != NULL ? kty : "(none)");
        return;
    }
    const char *why = NULL;
    if (decode_int(json_object_get(ak, "n"), out->ak_n, sizeof(out->ak_n), &out->ak_n_len, &why) !=
        0) {
        snprintf(out->ak_problem, sizeof(out->ak_problem), "the AK's modulus n: %s", why);
        return;
    }
    if (decode_int(json_object_get(ak, "e"), out->ak_e, sizeof(out->ak_e), &out->ak_e_len, &why) !=
        0) {
        snprintf(out->ak_problem, sizeof(out->ak_problem), "the AK's exponent e: %s", why);
        return;
    }
    out->ak_ok = 1;
}

/* A boolean member of vm-configuration: 1, 0, or -1 when absent. */
static vd_err_t flag(json_t *cfg, const char *name, int *out, vd_error_t *err)
{
    json_t *v = json_object_get(cfg, name);
    *out = -1;
    if (v == NULL) {
        return VD_OK;
    }
    if (!json_is_boolean(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "runtime data: vm-configuration.%s is not a boolean",
                      name);
    }
    *out = json_is_true(v) ? 1 : 0;
    return VD_OK;
}

static vd_err_t parse_config(json_t *cfg, vd_vtpm_runtime_t *out, vd_error_t *err)
{
    vd_err_t rc;
    out->secure_boot = out->tpm_enabled = out->console_enabled = out->tpm_persisted = -1;
    if (cfg == NULL) {
        return VD_OK;
    }
    if (!json_is_object(cfg)) {
        return VD_ERR(err, VD_E_MALFORMED, "runtime data: vm-configuration is not an object");
    }
    if ((rc = flag(cfg, "secure-boot", &out->secure_boot, err)) != VD_OK ||
        (rc = flag(cfg, "tpm-enabled", &out->tpm_enabled, err)) != VD_OK ||
        (rc = flag(cfg, "console-enabled", &out->console_enabled, err)) != VD_OK ||
        (rc = flag(cfg, "tpm-persisted", &out->tpm_persisted, err)) != VD_OK) {
        return rc;
    }
    json_t *id = json_object_get(cfg, "vmUniqueId");
    if (id != NULL) {
        if (!json_is_string(id) || json_string_length(id) >= sizeof(out->vm_unique_id) ||
            strlen(json_string_value(id)) != json_string_length(id)) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "runtime data: vm-configuration.vmUniqueId is not a short string");
        }
        memcpy(out->vm_unique_id, json_string_value(id), json_string_length(id) + 1);
    }
    return VD_OK;
}

vd_err_t vd_vtpm_runtime_parse(const uint8_t *p, size_t len, vd_vtpm_runtime_t *out,
                               vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    out->secure_boot = out->tpm_enabled = out->console_enabled = out->tpm_persisted = -1;
    if (p == NULL || len == 0) {
        return VD_ERR(err, VD_E_MALFORMED, "runtime data: empty");
    }
    json_t *doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        rc = VD_ERR(err, VD_E_MALFORMED, "runtime data: not a JSON object%s%s",
                    doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
        goto out;
    }
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        rc = VD_ERR(err, VD_E_MALFORMED, "runtime data: \"keys\" is not an array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        if (!json_is_object(json_array_get(keys, i))) {
            rc = VD_ERR(err, VD_E_MALFORMED, "runtime data: keys[%zu] is not an object", i);
            goto out;
        }
    }
    if ((rc = parse_config(json_object_get(doc, "vm-configuration"), out, err)) != VD_OK) {
        goto out;
    }
    json_t *ud = json_object_get(doc, "user-data");
    if (ud != NULL) {
        size_t n = 0;
        if (!json_is_string(ud) || json_string_length(ud) != 2 * VD_VTPM_USER_DATA ||
            vd_hex_decode(json_string_value(ud), json_string_length(ud), out->user_data,
                          sizeof(out->user_data), &n) != 0 ||
            n != VD_VTPM_USER_DATA) {
            rc = VD_ERR(err, VD_E_MALFORMED, "runtime data: user-data is not %d hex digits",
                        2 * VD_VTPM_USER_DATA);
            goto out;
        }
        out->has_user_data = 1;
    }
    extract_ak(keys, out);
out:
    json_decref(doc);
    if (rc != VD_OK) {
        memset(out, 0, sizeof(*out));
        out->secure_boot = out->tpm_enabled = out->console_enabled = out->tpm_persisted = -1;
    }
    return rc;
}
