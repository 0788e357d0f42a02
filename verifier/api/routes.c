/*
 * The route table (routes.h). Matching is exact on literal segments; one segment may be a
 * {param}, which must be non-empty, percent-decoded, and free of '/' and control bytes.
 */
#include <stdio.h>
#include <string.h>

#include "verdict/bytes.h"
#include "routes.h"

static const vd_route_t routes[] = {
    {VD_R_ATTEST, "POST", "/v1/attest", VD_ACCESS_EVIDENCE, 0},
    {VD_R_CHALLENGE, "POST", "/v1/challenge", VD_ACCESS_EVIDENCE, 0},
    {VD_R_VERAISON_NEW_SESSION, "POST", "/challenge-response/v1/newSession", VD_ACCESS_EVIDENCE, 0},
    {VD_R_VERAISON_SESSION_GET, "GET", "/challenge-response/v1/session/{id}", VD_ACCESS_EVIDENCE,
     1},
    {VD_R_VERAISON_SESSION_POST, "POST", "/challenge-response/v1/session/{id}", VD_ACCESS_EVIDENCE,
     0},
    {VD_R_VERAISON_SESSION_DELETE, "DELETE", "/challenge-response/v1/session/{id}",
     VD_ACCESS_EVIDENCE, 1},
    {VD_R_VERAISON_DISCOVERY, "GET", "/.well-known/veraison/verification", VD_ACCESS_OPEN, 1},
    {VD_R_POLICIES_LIST, "GET", "/v1/policies", VD_ACCESS_READ, 0},
    {VD_R_POLICIES_TEST, "POST", "/v1/policies:test", VD_ACCESS_READ, 0},
    {VD_R_POLICIES_VALIDATE, "POST", "/v1/policies:validate", VD_ACCESS_READ, 0},
    {VD_R_POLICIES_INIT, "POST", "/v1/policies:init", VD_ACCESS_READ, 0},
    {VD_R_POLICY_GET, "GET", "/v1/policies/{name}", VD_ACCESS_READ, 0},
    {VD_R_POLICY_PUT, "PUT", "/v1/policies/{name}", VD_ACCESS_ADMIN, 0},
    {VD_R_POLICY_DELETE, "DELETE", "/v1/policies/{name}", VD_ACCESS_ADMIN, 0},
    {VD_R_POLICY_VERSIONS, "GET", "/v1/policies/{name}/versions", VD_ACCESS_READ, 0},
    {VD_R_POLICY_ACTIVATE, "POST", "/v1/policies/{name}/activate", VD_ACCESS_ADMIN, 0},
    {VD_R_POLICY_TEST, "POST", "/v1/policies/{name}/test", VD_ACCESS_READ, 0},
    {VD_R_CERTS_LIST, "GET", "/v1/certs", VD_ACCESS_READ, 0},
    {VD_R_CERTS_IMPORT, "POST", "/v1/certs", VD_ACCESS_ADMIN, 0},
    {VD_R_KEYS_ROTATE, "POST", "/v1/keys/rotate", VD_ACCESS_ADMIN, 0},
    {VD_R_JWKS, "GET", "/.well-known/jwks.json", VD_ACCESS_OPEN, 1},
    {VD_R_OPENID, "GET", "/.well-known/openid-configuration", VD_ACCESS_OPEN, 1},
    {VD_R_HEALTHZ, "GET", "/healthz", VD_ACCESS_OPEN, 1},
    {VD_R_READYZ, "GET", "/readyz", VD_ACCESS_OPEN, 1},
    {VD_R_METRICS, "GET", "/metrics", VD_ACCESS_OPEN, 1},
    /* The policy playground (ui.c): static files compiled in; the page calls the API above. */
    {VD_R_UI_REDIRECT, "GET", "/", VD_ACCESS_OPEN, 1},
    {VD_R_UI_REDIRECT, "GET", "/ui", VD_ACCESS_OPEN, 1},
    {VD_R_UI_INDEX, "GET", "/ui/", VD_ACCESS_OPEN, 1},
    {VD_R_UI_FILE, "GET", "/ui/{file}", VD_ACCESS_OPEN, 1},
};

const vd_route_t *vd_routes_all(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

/* Percent-decode one path segment [s, s+len) into out; 0, or -1 if it is not acceptable. */
static int decode_segment(const char *s, size_t len, char out[VD_ROUTE_PARAM_MAX])
{
    size_t n = 0;
    if (len == 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            uint8_t byte = 0;
            size_t got = 0;
            if (i + 2 >= len || vd_hex_decode(s + i + 1, 2, &byte, 1, &got) != 0 || got != 1) {
                return -1;
            }
            c = byte;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '/' || n + 1 >= VD_ROUTE_PARAM_MAX) {
            return -1;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* Does `path` fit `pattern`? On a {param} segment, decode it into `param`. */
static int path_matches(const char *pattern, const char *path, char param[VD_ROUTE_PARAM_MAX])
{
    const char *open = strchr(pattern, '{');
    if (open == NULL) {
        return strcmp(pattern, path) == 0;
    }
    size_t pre = (size_t)(open - pattern);
    const char *close = strchr(open, '}');
    const char *suffix = close + 1;
    size_t plen = strlen(path), slen = strlen(suffix);
    if (plen < pre + slen + 1 || strncmp(pattern, path, pre) != 0 ||
        strcmp(path + plen - slen, suffix) != 0) {
        return 0;
    }
    const char *seg = path + pre;
    size_t seglen = plen - pre - slen;
    if (memchr(seg, '/', seglen) != NULL) {
        return 0;
    }
    return decode_segment(seg, seglen, param) == 0;
}

const vd_route_t *vd_routes_match(const char *method, const char *path,
                                  char param[VD_ROUTE_PARAM_MAX], int *path_known, char *allow,
                                  size_t allow_size)
{
    const vd_route_t *hit = NULL;
    size_t used = 0;
    *path_known = 0;
    if (allow_size > 0) {
        allow[0] = '\0';
    }
    param[0] = '\0';
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char scratch[VD_ROUTE_PARAM_MAX];
        if (!path_matches(routes[i].pattern, path, scratch)) {
            continue;
        }
        if (strcmp(routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            if (hit == NULL) {
                hit = &routes[i];
                memcpy(param, scratch, sizeof(scratch));
            }
            continue;
        }
        *path_known = 1;
        if (used < allow_size) {
            int w = snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "",
                             routes[i].method);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return hit;
}
