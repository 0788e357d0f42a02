/*
 * libFuzzer target: what a relying party feeds verdict. The input as a compact JWT checked
 * against a fixed JWKS (vd_jwt_verify), as a JWKS that a fixed valid token is checked against,
 * as a JWK (vd_jwk_thumbprint), and as a challenge nonce (vd_challenge_redeem). Invariants: an
 * affirming result always has a verified signature, a valid time and only affirming submodules.
 *
 * The fixed key is RFC 8037's Ed25519 example key (its private half is published), which signed
 * the seeds in corpus/jwt and FIXED_TOKEN (iat 1767225600, valid at FUZZ_NOW).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verdict/challenge.h"
#include "verdict/jwt.h"
#include "verdict/signkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1767225610

static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"use\":\"sig\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
    "\"kid\":\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\"}]}";

static const char fixed_token[] =
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1"
    "R3WEJ5Z3JTNGsifQ.eyJlYXRfcHJvZmlsZSI6InRhZzpnaXRodWIuY29tLDIwMjM6dmVyYWlzb24vZWFyIiwiaWF0I"
    "joxNzY3MjI1NjAwLCJleHAiOjE3NjcyMjU5MDAsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjEiLCJlYXIudmVyaWZpZXI"
    "taWQiOnsiZGV2ZWxvcGVyIjoiaHR0cHM6Ly9naXRodWIuY29tL3ZlcmRpY3QiLCJidWlsZCI6InZlcmRpY3QgZWFyc"
    "2lnbiJ9LCJlYXRfbm9uY2UiOiJBQkVpTTBSVlpuZUltYXE3ek4zdV93PT0iLCJzdWJtb2RzIjp7IlNFVlNOUCI6eyJ"
    "lYXIuc3RhdHVzIjoiYWZmaXJtaW5nIiwiZWFyLnRydXN0d29ydGhpbmVzcy12ZWN0b3IiOnsiaW5zdGFuY2UtaWRlb"
    "nRpdHkiOjAsImNvbmZpZ3VyYXRpb24iOjAsImV4ZWN1dGFibGVzIjozLCJmaWxlLXN5c3RlbSI6MCwiaGFyZHdhcmU"
    "iOjIsInJ1bnRpbWUtb3BhcXVlIjoyLCJzdG9yYWdlLW9wYXF1ZSI6MCwic291cmNlZC1kYXRhIjowfSwiZWFyLmFwc"
    "HJhaXNhbC1wb2xpY3ktaWQiOiJwb2xpY3k6U0VWU05QIiwiZWFyLnZlcmFpc29uLmFubm90YXRlZC1ldmlkZW5jZSI"
    "6eyJtZWFzdXJlbWVudCI6IjAwZmYiLCJ2bXBsIjowfX19fQ.AZ1D23WAhifgaiVKjTFYSDvWO1TqWLR71DTpV2gTud"
    "C2a-dI8C0r_ITctiOo_qEWCOoo_rWO4LpAevXBFqBYBw";

static void check_invariants(const vd_jwt_result_t *r)
{
    if (!r->affirming) {
        return;
    }
    if (r->status != VD_JWT_OK || !r->signature_ok || !r->time_ok || r->n_submods == 0) {
        abort();
    }
    for (size_t i = 0; i < r->n_submods; i++) {
        if (!r->submods[i].status_ok || r->submods[i].status != VD_TIER_AFFIRMING) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *jwks;
    static vd_challenger_t *challenger;
    static const uint8_t secret[32] = "fuzzing secret, 32 bytes long..";
    vd_jwt_opts_t opts = {.now = FUZZ_NOW, .leeway = -1};
    vd_jwt_result_t r;
    if (jwks == NULL) {
        vd_challenge_config_t cfg = {.secret = secret, .secret_len = sizeof secret, .capacity = 64};
        jwks = json_loads(jwks_text, 0, NULL);
        if (jwks == NULL || vd_challenger_new(&cfg, &challenger, NULL) != VD_OK) {
            abort();
        }
    }
    /* 1. The input as a token. */
    if (vd_jwt_verify((const char *)data, size, jwks, &opts, &r, NULL) == VD_OK) {
        check_invariants(&r);
        vd_jwt_result_clear(&r);
    }
    /* 2. The input as a JWKS (or a JWK) for a valid token. */
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (j != NULL) {
        if (vd_jwt_verify(fixed_token, strlen(fixed_token), j, &opts, &r, NULL) == VD_OK) {
            check_invariants(&r);
            vd_jwt_result_clear(&r);
        }
        char kid[VD_KID_MAX];
        (void)vd_jwk_thumbprint(j, kid, NULL);
        json_decref(j);
    }
    /* 3. The input as a challenge: never accepted, it was not issued with this secret. */
    if (vd_challenge_redeem(challenger, (const char *)data, size, FUZZ_NOW, NULL, NULL) ==
        VD_CHALLENGE_OK) {
        abort();
    }
    return 0;
}
