/*
 * The certificate routes: GET /v1/certs lists what the cache holds; POST /v1/certs imports a
 * bundle as `verdict certs import` reads it (PEM; everything must chain to a pinned ARK or a
 * configured extra root, all or nothing).
 */
#include <string.h>

#include "verdict/timefmt.h"
#include "api_internal.h"

#define BUNDLE_MAX (1024 * 1024)

static int list_entry(void *ud, const vd_certcache_entry_t *e)
{
    char fetched[32], next[32];
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "kind", e->kind, "product", e->product,
                          "detail", e->detail, "size", (json_int_t)e->size, "fetched_at",
                          vd_time_format_rfc3339((time_t)e->fetched_at, fetched, sizeof(fetched)));
    if (o != NULL && e->tcb != 0) {
        char tcb[19];
        snprintf(tcb, sizeof(tcb), "0x%016llx", (unsigned long long)e->tcb);
        json_object_set_new(o, "tcb", json_string(tcb));
    }
    if (o != NULL && e->next_update != 0) {
        json_object_set_new(
            o, "next_update",
            json_string(vd_time_format_rfc3339((time_t)e->next_update, next, sizeof(next))));
    }
    return o == NULL || json_array_append_new(ud, o) != 0;
}

void vd_api_certs(vd_api_call_t *call)
{
    vd_certcache_t *cache = call->api->c.cache;
    vd_error_t err = {0};
    if (cache == NULL) {
        vd_api_problem(call->resp, 503, "no certificate cache is configured");
        return;
    }
    if (call->route->id == VD_R_CERTS_LIST) {
        json_t *rows = json_array();
        if (rows == NULL || vd_certcache_each(cache, list_entry, rows, NULL, &err) != VD_OK) {
            json_decref(rows);
            vd_api_problem(call->resp, 503, "%s", err.msg[0] ? err.msg : "out of memory");
            return;
        }
        vd_api_json(call->resp, 200, json_pack("{s:o}", "certificates", rows));
        return;
    }
    size_t imported = 0;
    if (call->req->body_len == 0 || call->req->body_len > BUNDLE_MAX) {
        vd_api_problem(call->resp, 400, "the body is a PEM bundle of at most %d bytes", BUNDLE_MAX);
        return;
    }
    vd_err_t rc = vd_certcache_import(cache, call->req->body, call->req->body_len, &imported, &err);
    if (rc == VD_E_CHAIN_UNTRUSTED) {
        vd_api_problem(call->resp, 422, "refused: %s", err.msg);
    } else if (rc == VD_E_MALFORMED || rc == VD_E_TOO_LARGE) {
        vd_api_problem(call->resp, 400, "%s", err.msg);
    } else if (rc != VD_OK) {
        vd_api_problem(call->resp, 503, "%s", err.msg);
    } else {
        vd_api_json(call->resp, 200, json_pack("{s:I}", "imported", (json_int_t)imported));
    }
}
