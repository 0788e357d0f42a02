/*
 * earsign: sign an EAR with the library, for the end-to-end token tests (the server is the
 * product's signer; this tool lets the tests produce tokens without it).
 *
 * usage: earsign KEYFILE [--alg ES256|ES384|EdDSA] [--status TIER] [--claim NAME=VALUE]...
 *                [--nonce-hex HEX] [--iat UNIX] [--ttl S] [--policy NAME] [--version N]
 *                [--problem TEXT]
 * KEYFILE is created (0600) when missing. Prints the token on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict/bytes.h"
#include "verdict/ear.h"

static int tier(const char *s, vd_tier_t *t)
{
    static const vd_tier_t all[] = {VD_TIER_NONE, VD_TIER_AFFIRMING, VD_TIER_WARNING,
                                    VD_TIER_CONTRAINDICATED};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, vd_tier_name(all[i])) == 0) {
            *t = all[i];
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    vd_ear_input_t in = {0};
    vd_sigalg_t alg = VD_SIGALG_ES256;
    vd_signkey_t *k = NULL;
    vd_error_t err = {0};
    uint8_t nonce[64];
    char *tok = NULL;
    json_t *ev = json_pack("{ss si}", "measurement", "00ff", "vmpl", 0);
    if (argc < 2) {
        fprintf(stderr, "usage: earsign KEYFILE [options]\n");
        return 2;
    }
    in.status = VD_TIER_AFFIRMING;
    in.tvec.claims[VD_CLAIM_HARDWARE] = VD_AR_AFFIRMING;
    in.tvec.claims[VD_CLAIM_RUNTIME_OPAQUE] = VD_AR_AFFIRMING;
    in.tvec.claims[VD_CLAIM_EXECUTABLES] = VD_AR_APPROVED_BOOT;
    in.iat = (int64_t)time(NULL);
    in.developer = "https://github.com/verdict";
    in.build = "verdict earsign";
    in.issuer = "http://127.0.0.1";
    in.annotated_evidence = ev;
    for (int i = 2; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "earsign: %s needs a value\n", argv[i]);
            return 2;
        }
        int ok = 1;
        if (strcmp(argv[i], "--alg") == 0) {
            ok = vd_sigalg_from_name(v, &alg) == 0;
        } else if (strcmp(argv[i], "--status") == 0) {
            ok = tier(v, &in.status) == 0;
        } else if (strcmp(argv[i], "--claim") == 0 && strchr(v, '=') != NULL) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(strchr(v, '=') - v), v);
            int c = vd_claim_from_name(name);
            if (c < 0) {
                fprintf(stderr, "earsign: unknown claim %s\n", name);
                return 2;
            }
            in.tvec.claims[c] = (int8_t)atoi(strchr(v, '=') + 1);
        } else if (strcmp(argv[i], "--nonce-hex") == 0) {
            ok = vd_hex_decode(v, strlen(v), nonce, sizeof nonce, &in.nonce_len) == 0;
            in.nonce = nonce;
        } else if (strcmp(argv[i], "--iat") == 0) {
            in.iat = strtoll(v, NULL, 10);
        } else if (strcmp(argv[i], "--ttl") == 0) {
            in.ttl = strtoll(v, NULL, 10);
        } else if (strcmp(argv[i], "--policy") == 0) {
            in.policy_name = v;
        } else if (strcmp(argv[i], "--version") == 0) {
            in.policy_version = atoi(v);
        } else if (strcmp(argv[i], "--problem") == 0) {
            in.problem = v;
        } else {
            ok = 0;
        }
        if (!ok) {
            fprintf(stderr, "earsign: bad option %s %s\n", argv[i], v);
            return 2;
        }
    }
    if (vd_signkey_load_or_create(argv[1], alg, &k, NULL, &err) != VD_OK ||
        vd_ear_sign(&in, k, &tok, &err) != VD_OK) {
        fprintf(stderr, "earsign: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", tok);
    free(tok);
    vd_signkey_free(&k);
    json_decref(ev);
    return 0;
}
