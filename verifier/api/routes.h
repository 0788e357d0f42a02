/*
 * The route table of the HTTP API: which handler serves a method and path, where it runs
 * (network thread or worker), and what bearer token it needs. Internal to verifier/api/.
 */
#ifndef verdict__api_routes_h
#define verdict__api_routes_h

#include <stddef.h>

#include "verdict/server.h"

/* What a route needs from the caller. */
typedef enum vd_access {
    VD_ACCESS_OPEN = 0, /* never needs a token */
    VD_ACCESS_EVIDENCE, /* open unless the configuration requires a token */
    VD_ACCESS_READ,     /* a reader or admin token, unless policy reads are opened */
    VD_ACCESS_ADMIN,    /* an admin token; disabled (403) when none is configured */
} vd_access_t;

typedef enum vd_route_id {
    VD_R_ATTEST = 0,
    VD_R_CHALLENGE,
    VD_R_VERAISON_NEW_SESSION,
    VD_R_VERAISON_SESSION_GET,
    VD_R_VERAISON_SESSION_POST,
    VD_R_VERAISON_SESSION_DELETE,
    VD_R_VERAISON_DISCOVERY,
    VD_R_POLICIES_LIST,
    VD_R_POLICY_GET,
    VD_R_POLICY_PUT,
    VD_R_POLICY_DELETE,
    VD_R_POLICY_VERSIONS,
    VD_R_POLICY_ACTIVATE,
    VD_R_POLICY_TEST,
    VD_R_POLICIES_TEST,
    VD_R_CERTS_LIST,
    VD_R_CERTS_IMPORT,
    VD_R_KEYS_ROTATE,
    VD_R_JWKS,
    VD_R_OPENID,
    VD_R_HEALTHZ,
    VD_R_READYZ,
    VD_R_METRICS,
    VD_R_POLICIES_VALIDATE,
    VD_R_POLICIES_INIT,
    VD_R_UI_REDIRECT,
    VD_R_UI_INDEX,
    VD_R_UI_FILE,
    VD_R__COUNT
} vd_route_id_t;

typedef struct vd_route {
    vd_route_id_t id;
    const char *method;
    const char *pattern; /* "/v1/policies/{name}": one {param} segment at most */
    vd_access_t access;
    int inline_ok; /* cheap and free of crypto (HMAC, RNG, signing): may run on the network thread
                    */
} vd_route_t;

#define VD_ROUTE_PARAM_MAX 128

/**
 * Match `method` and `path`. Returns the route, with the {param} segment (percent-decoded,
 * NUL-terminated) in `param`; NULL when nothing matches. *path_known is set when the path
 * matches some route with another method (405 rather than 404), and `allow` then lists the
 * methods ("GET, PUT").
 */
const vd_route_t *vd_routes_match(const char *method, const char *path,
                                  char param[VD_ROUTE_PARAM_MAX], int *path_known, char *allow,
                                  size_t allow_size);

/** The route table, for the documentation test. */
const vd_route_t *vd_routes_all(size_t *n);

#endif
