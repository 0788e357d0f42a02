/*
 * The policy playground (issue #14): GET /ui/ and /ui/{file} answer the static files compiled
 * into the binary (ui_assets.h), GET / and /ui redirect to /ui/. The page is only a client of
 * the API: it holds no secret and gets no access the API would not give any other client.
 *
 * Every answer carries a Content-Security-Policy that allows nothing but this origin (no inline
 * script or style, no framing, no form posts elsewhere) and X-Content-Type-Options: nosniff.
 * ui.enabled = false answers 404 on all of these paths.
 */
#include <string.h>

#include "api_internal.h"
#include "ui_assets.h"

#define UI_CSP                                                                                     \
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "            \
    "object-src 'none'"

/* The content type of a file by its extension; NULL for one the playground does not serve. */
static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            return types[i].type;
        }
    }
    return NULL;
}

static const vd_ui_asset_t *find_asset(const char *name)
{
    for (size_t i = 0; i < vd_ui_assets_count; i++) {
        if (strcmp(vd_ui_assets[i].name, name) == 0) {
            return &vd_ui_assets[i];
        }
    }
    return NULL;
}

static void security_headers(vd_http_response_t *resp)
{
    vd_api_header(resp, "content-security-policy", UI_CSP);
    vd_api_header(resp, "x-content-type-options", "nosniff");
    vd_api_header(resp, "referrer-policy", "no-referrer");
    vd_api_header(resp, "x-frame-options", "DENY");
    vd_api_header(resp, "cache-control", "no-cache");
}

void vd_api_ui(vd_api_call_t *call)
{
    vd_http_response_t *resp = call->resp;
    if (!vd_api_cfg(call->api)->ui_enabled) {
        vd_api_problem(resp, 404, "no such endpoint");
        return;
    }
    if (call->route->id == VD_R_UI_REDIRECT) {
        vd_api_text(resp, 302, NULL, "", 0);
        vd_api_header(resp, "location", "/ui/");
        security_headers(resp);
        return;
    }
    const char *name = call->route->id == VD_R_UI_INDEX ? "index.html" : call->param;
    const vd_ui_asset_t *asset = find_asset(name);
    const char *type = content_type(name);
    if (asset == NULL || type == NULL) {
        vd_api_problem(resp, 404, "no such file in the playground");
        security_headers(resp);
        return;
    }
    vd_api_text(resp, 200, type, (const char *)asset->data, asset->len);
    security_headers(resp);
}
