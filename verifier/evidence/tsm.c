/*
 * configfs-tsm JSON envelope (see include/verdict/evidence.h).
 *
 * Trust boundary: the whole document is attacker-controlled; it is parsed with jansson under a
 * size cap, and each member is type-checked before it is decoded.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"

int vd_evidence_is_json(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
            continue;
        }
        return p[i] == '{';
    }
    return 0;
}

void vd_evidence_free(vd_evidence_t *e)
{
    if (e == NULL) {
        return;
    }
    free(e->report);
    free(e->cert_table);
    memset(e, 0, sizeof(*e));
}

/* Decode the base64 string member `name` into a malloc'd buffer. */
static vd_err_t decode_member(json_t *doc, const char *name, int required, uint8_t **out,
                              size_t *out_len, vd_error_t *err)
{
    json_t *v = json_object_get(doc, name);
    *out = NULL;
    *out_len = 0;
    if (v == NULL) {
        return required ? VD_ERR(err, VD_E_MALFORMED, "tsm evidence: \"%s\" is missing", name)
                        : VD_OK;
    }
    if (!json_is_string(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence: \"%s\" must be a base64 string", name);
    }
    size_t len = json_string_length(v);
    uint8_t *buf = malloc(vd_base64_decoded_max(len));
    if (buf == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "tsm evidence: out of memory");
    }
    if (vd_base64_decode(json_string_value(v), len, buf, out_len) != 0) {
        free(buf);
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence: \"%s\" is not valid base64", name);
    }
    *out = buf;
    return VD_OK;
}

vd_err_t vd_evidence_parse_tsm_json(const uint8_t *p, size_t len, vd_evidence_t *out,
                                    vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    json_error_t jerr;
    json_t *doc = NULL;
    memset(out, 0, sizeof(*out));
    if (len > VD_EVIDENCE_MAX_BYTES) {
        return VD_ERR(err, VD_E_TOO_LARGE, "tsm evidence: %zu bytes, more than %d", len,
                      VD_EVIDENCE_MAX_BYTES);
    }
    doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        rc = VD_ERR(err, VD_E_MALFORMED, "tsm evidence: not a JSON object%s%s",
                    doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
        goto out;
    }
    json_t *provider = json_object_get(doc, "provider");
    if (provider != NULL) {
        const char *s = json_string_value(provider);
        size_t n = s != NULL ? strlen(s) : 0;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
            n--; /* configfs attributes end with a newline */
        }
        if (s == NULL || n != 9 || strncmp(s, "sev_guest", 9) != 0) {
            rc = VD_ERR(err, VD_E_UNSUPPORTED,
                        "tsm evidence: provider \"%.32s\" is not sev_guest (AMD SEV-SNP)",
                        s != NULL ? s : "(not a string)");
            goto out;
        }
    }
    if ((rc = decode_member(doc, "outblob", 1, &out->report, &out->report_len, err)) != VD_OK ||
        (rc = decode_member(doc, "auxblob", 0, &out->cert_table, &out->cert_table_len, err)) !=
            VD_OK) {
        goto out;
    }
out:
    json_decref(doc);
    if (rc != VD_OK) {
        vd_evidence_free(out);
    }
    return rc;
}
