/*
 * configfs-tsm envelope, CBOR form (see include/verdict/evidence.h), decoded with libcbor.
 *
 * Trust boundary: attacker-controlled bytes. libcbor builds the item tree under the size cap;
 * every member is type-checked (definite strings only) before it is copied.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "verdict/evidence.h"

int vd_evidence_is_cbor_map(const uint8_t *p, size_t len)
{
    return len > 0 && (p[0] & 0xE0) == 0xA0;
}

/* A definite text string equal to `s`. */
static int text_is(cbor_item_t *it, const char *s)
{
    size_t n = strlen(s);
    return cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
           memcmp(cbor_string_handle(it), s, n) == 0;
}

static vd_err_t copy_bytes(cbor_item_t *v, const char *name, uint8_t **out, size_t *len,
                           vd_error_t *err)
{
    if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"%s\" must be a byte string",
                      name);
    }
    size_t n = cbor_bytestring_length(v);
    *out = malloc(n > 0 ? n : 1);
    if (*out == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "tsm evidence: out of memory");
    }
    if (n > 0) {
        memcpy(*out, cbor_bytestring_handle(v), n);
    }
    *len = n;
    return VD_OK;
}

static vd_err_t check_provider(cbor_item_t *v, vd_error_t *err)
{
    if (!cbor_isa_string(v) || !cbor_string_is_definite(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"provider\" must be text");
    }
    size_t n = cbor_string_length(v);
    const unsigned char *s = cbor_string_handle(v);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
        n--;
    }
    if (n != 9 || memcmp(s, "sev_guest", 9) != 0) {
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "tsm evidence (CBOR): provider is not sev_guest (AMD SEV-SNP)");
    }
    return VD_OK;
}

vd_err_t vd_evidence_parse_tsm_cbor(const uint8_t *p, size_t len, vd_evidence_t *out,
                                    vd_error_t *err)
{
    struct cbor_load_result res;
    vd_err_t rc = VD_OK;
    memset(out, 0, sizeof(*out));
    if (len > VD_EVIDENCE_MAX_BYTES) {
        return VD_ERR(err, VD_E_TOO_LARGE, "tsm evidence: %zu bytes, more than %d", len,
                      VD_EVIDENCE_MAX_BYTES);
    }
    cbor_item_t *doc = cbor_load(p, len, &res);
    if (doc == NULL || res.error.code != CBOR_ERR_NONE || res.read != len || !cbor_isa_map(doc) ||
        !cbor_map_is_definite(doc)) {
        rc = VD_ERR(err, VD_E_MALFORMED,
                    "tsm evidence: not a CBOR map (or bytes after it, at offset %zu)", res.read);
        goto out;
    }
    struct cbor_pair *pairs = cbor_map_handle(doc);
    for (size_t i = 0; rc == VD_OK && i < cbor_map_size(doc); i++) {
        cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
        if (text_is(k, "outblob")) {
            rc = out->report != NULL
                     ? VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"outblob\" twice")
                     : copy_bytes(v, "outblob", &out->report, &out->report_len, err);
        } else if (text_is(k, "auxblob")) {
            rc = out->cert_table != NULL
                     ? VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"auxblob\" twice")
                     : copy_bytes(v, "auxblob", &out->cert_table, &out->cert_table_len, err);
        } else if (text_is(k, "provider")) {
            rc = check_provider(v, err);
        }
        /* other members (manifestblob, service_provider) are not used */
    }
    if (rc == VD_OK && out->report == NULL) {
        rc = VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"outblob\" is missing");
    }
out:
    if (doc != NULL) {
        cbor_decref(&doc);
    }
    if (rc != VD_OK) {
        vd_evidence_free(out);
    }
    return rc;
}
