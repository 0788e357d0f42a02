/*
 * Publishing the result-signing keys (STANDARDS.md sections 3.2 and 5): the JWKS, the
 * OpenID-style configuration that points to it, Veraison's verification discovery document, and
 * key rotation (an admin route).
 */
#include <string.h>
#include <time.h>

#include "verdict/ear.h"
#include "api_internal.h"

#define JWKS_TYPE "application/jwk-set+json"

static void jwks(vd_api_call_t *call)
{
    json_t *set = vd_keyring_jwks(call->api->c.keys, (int64_t)time(NULL));
    vd_api_json_as(call->resp, 200, set, JWKS_TYPE);
    vd_api_header(call->resp, "cache-control", "max-age=60");
}

static void openid(vd_api_call_t *call)
{
    vd_api_json(
        call->resp, 200,
        vd_keyring_openid_configuration(call->api->c.keys, call->api->issuer, (int64_t)time(NULL)));
}

static void veraison_discovery(vd_api_call_t *call)
{
    vd_signkey_t *key = vd_keyring_signer(call->api->c.keys);
    json_t *doc = json_pack(
        "{s:o, s:o, s:s, s:s, s:{s:s}}", "ear-verification-key", vd_signkey_jwk(key), "media-types",
        vd_sessions_accept_json(), "version", call->api->c.build, "service-state", "READY",
        "api-endpoints", "newChallengeResponseSession", "/challenge-response/v1/newSession");
    vd_signkey_free(&key);
    vd_api_json_as(call->resp, 200, doc, "application/vnd.veraison.discovery+json");
    vd_api_header(call->resp, "cache-control", "max-age=60");
}

void vd_api_discovery(vd_api_call_t *call)
{
    switch (call->route->id) {
    case VD_R_JWKS:
        jwks(call);
        break;
    case VD_R_OPENID:
        openid(call);
        break;
    default:
        veraison_discovery(call);
        break;
    }
}

/* POST /v1/keys/rotate [{"alg": "ES256"|"ES384"|"EdDSA"}]: a new signing key; the old public
 * key stays in the JWKS until the tokens it signed have expired. */
void vd_api_keys_rotate(vd_api_call_t *call)
{
    vd_error_t err = {0};
    vd_signkey_t *cur = vd_keyring_signer(call->api->c.keys);
    vd_sigalg_t alg = vd_signkey_alg(cur);
    vd_signkey_free(&cur);
    if (call->req->body_len > 0) {
        json_t *doc = vd_api_body_json(call);
        if (doc == NULL) {
            return;
        }
        json_t *a = json_object_get(doc, "alg");
        int bad = json_object_size(doc) > (a != NULL ? 1u : 0u) ||
                  (a != NULL &&
                   (!json_is_string(a) || vd_sigalg_from_name(json_string_value(a), &alg) != 0));
        json_decref(doc);
        if (bad) {
            vd_api_problem(call->resp, 400, "the body is {\"alg\": \"ES256\"|\"ES384\"|\"EdDSA\"}");
            return;
        }
    }
    if (vd_keyring_rotate(call->api->c.keys, alg, (int64_t)time(NULL), &err) != VD_OK) {
        vd_api_problem(call->resp, 500, "rotation failed: %s", err.msg);
        return;
    }
    vd_signkey_t *key = vd_keyring_signer(call->api->c.keys);
    vd_api_json(call->resp, 200,
                json_pack("{s:s, s:s}", "kid", vd_signkey_kid(key), "alg",
                          vd_sigalg_name(vd_signkey_alg(key))));
    vd_signkey_free(&key);
}
