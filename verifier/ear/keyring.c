/*
 * The keyring: the current signing key plus the retired public keys that relying parties still
 * need to verify tokens signed before a rotation (see include/verdict/signkey.h).
 *
 * Retired list file, `<keyfile>.retired.json`, written atomically with mode 0600:
 *   {"retired": [{"kid": "...", "retired_at": 1767225600, "keep_until": 1767226020,
 *                 "jwk": {public JWK with alg and kid}}, ...]}
 * keep_until = retired_at + token TTL + VD_KEYRING_GRACE_S, fixed when the key is retired. On
 * load every entry is checked (its kid must be the thumbprint of its JWK, which must carry a
 * supported alg); a damaged file is an error, never silently dropped, because dropping it
 * would make valid tokens unverifiable.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ear_internal.h"

#define RETIRED_MAX      32 /* rotations within one token lifetime; more are refused */
#define RETIRED_FILE_MAX (256 * 1024)

struct vd_keyring {
    pthread_mutex_t mu;        /* guards current and retired */
    pthread_mutex_t rotate_mu; /* one rotation or reload at a time */
    char *path;
    char *retired_path;
    int64_t ttl;
    vd_signkey_t *current;
    json_t *retired; /* array of entries, as in the file */
};

static char *retired_path_of(const char *key_path)
{
    size_t n = strlen(key_path) + sizeof ".retired.json";
    char *p = malloc(n);
    if (p != NULL) {
        snprintf(p, n, "%s.retired.json", key_path);
    }
    return p;
}

/* Check one entry of a retired list read from disk. */
static int entry_ok(const json_t *e, char *why, size_t why_size)
{
    const json_t *jwk = json_object_get(e, "jwk");
    const char *kid = json_string_value(json_object_get(e, "kid"));
    char tp[VD_KID_MAX];
    EVP_PKEY *pkey = NULL;
    vd_sigalg_t alg;
    if (!json_is_object(e) || kid == NULL || !json_is_integer(json_object_get(e, "keep_until")) ||
        !json_is_integer(json_object_get(e, "retired_at")) || !json_is_object(jwk)) {
        snprintf(why, why_size, "an entry lacks kid, retired_at, keep_until or jwk");
        return -1;
    }
    const char *jwk_kid = json_string_value(json_object_get(jwk, "kid"));
    if (vd_jwk_thumbprint(jwk, tp, NULL) != VD_OK || strcmp(tp, kid) != 0 || jwk_kid == NULL ||
        strcmp(jwk_kid, kid) != 0) {
        snprintf(why, why_size, "entry %.50s: kid is not the thumbprint of its JWK", kid);
        return -1;
    }
    if (!json_is_string(json_object_get(jwk, "alg")) ||
        vd_ear__jwk_to_pkey(jwk, &pkey, &alg, why, why_size) != 0) {
        if (!json_is_string(json_object_get(jwk, "alg"))) {
            snprintf(why, why_size, "entry %.50s: JWK has no alg", kid);
        }
        return -1;
    }
    EVP_PKEY_free(pkey);
    return 0;
}

/* Read the retired list at `path` (absent = empty), keeping the entries still needed at `now`. */
static vd_err_t retired_load(const char *path, int64_t now, json_t **out, vd_error_t *err)
{
    vd_error_t local = {0};
    json_error_t je;
    uint8_t *buf = NULL;
    size_t len = 0, i;
    int missing = 0;
    json_t *doc = NULL, *list = NULL, *kept = NULL, *e;
    vd_err_t rc = VD_OK;
    char why[160];
    *out = NULL;
    rc = vd_ear__read_file(path, RETIRED_FILE_MAX, &buf, &len, &missing, &local);
    if (rc != VD_OK && missing) {
        *out = json_array();
        return *out != NULL ? VD_OK : VD_ERR(err, VD_E_NOMEM, "keyring: out of memory");
    }
    if (rc != VD_OK) {
        return VD_ERR(err, VD_E_CONFIG, "retired keys: %s", local.msg);
    }
    doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    list = json_object_get(doc, "retired");
    if (doc == NULL || !json_is_array(list)) {
        rc = VD_ERR(err, VD_E_CONFIG, "%s: not a retired key list (%s)", path,
                    doc == NULL ? je.text : "no \"retired\" array");
        goto out;
    }
    kept = json_array();
    if (kept == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "keyring: out of memory");
        goto out;
    }
    json_array_foreach(list, i, e)
    {
        if (entry_ok(e, why, sizeof why) != 0) {
            rc = VD_ERR(err, VD_E_CONFIG, "%s: %s", path, why);
            goto out;
        }
        if (json_integer_value(json_object_get(e, "keep_until")) < now) {
            continue; /* its tokens have all expired */
        }
        if (json_array_size(kept) >= RETIRED_MAX || json_array_append(kept, e) != 0) {
            rc = VD_ERR(err, VD_E_CONFIG, "%s: more than %d retired keys still needed", path,
                        RETIRED_MAX);
            goto out;
        }
    }
    *out = kept;
    kept = NULL;
out:
    json_decref(kept);
    json_decref(doc);
    free(buf);
    return rc;
}

static vd_err_t retired_save(const char *path, const json_t *list, vd_error_t *err)
{
    json_t *doc = json_pack("{sO}", "retired", list);
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    vd_err_t rc = text == NULL ? VD_ERR(err, VD_E_NOMEM, "keyring: out of memory")
                               : vd_ear__write_file_atomic(path, text, strlen(text), 1, NULL, err);
    free(text);
    json_decref(doc);
    return rc;
}

vd_err_t vd_signkey_rotate(const char *key_path, vd_sigalg_t alg, int64_t token_ttl, int64_t now,
                           vd_signkey_t **new_key, vd_error_t *err)
{
    vd_signkey_t *old = NULL, *fresh = NULL;
    json_t *list = NULL, *entry = NULL, *e;
    char *rpath = NULL, *pem = NULL;
    size_t pem_len = 0, i;
    int64_t keep_until = now + (token_ttl > 0 ? token_ttl : 0) + VD_KEYRING_GRACE_S;
    vd_err_t rc;
    if (new_key != NULL) {
        *new_key = NULL;
    }
    rc = vd_signkey_load(key_path, &old, err);
    if (rc != VD_OK) {
        return rc;
    }
    rpath = retired_path_of(key_path);
    if (rpath == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "keyring: out of memory");
        goto out;
    }
    rc = retired_load(rpath, now, &list, err);
    if (rc != VD_OK) {
        goto out;
    }
    /* The old key may already be listed (a rotation interrupted between the two writes). */
    json_array_foreach(list, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "kid")), vd_signkey_kid(old)) == 0) {
            json_array_remove(list, i);
            break;
        }
    }
    if (json_array_size(list) >= RETIRED_MAX) {
        rc = VD_ERR(err, VD_E_USAGE,
                    "too many rotations: %d retired keys are still within their tokens' "
                    "lifetime",
                    RETIRED_MAX);
        goto out;
    }
    entry = json_pack("{ss sI sI so}", "kid", vd_signkey_kid(old), "retired_at", (json_int_t)now,
                      "keep_until", (json_int_t)keep_until, "jwk", vd_signkey_jwk(old));
    if (entry == NULL || json_array_insert_new(list, 0, entry) != 0) {
        rc = VD_ERR(err, VD_E_NOMEM, "keyring: out of memory");
        goto out;
    }
    rc = vd_signkey_generate(alg, &fresh, err);
    if (rc != VD_OK) {
        goto out;
    }
    rc = vd_signkey_to_pem(fresh, &pem, &pem_len, err);
    if (rc != VD_OK) {
        goto out;
    }
    /* Retired list first: if we stop between the two writes, the old key is both current and
     * listed as retired, which publishes it twice at worst (the JWKS skips duplicates). */
    rc = retired_save(rpath, list, err);
    if (rc != VD_OK) {
        goto out;
    }
    rc = vd_ear__write_file_atomic(key_path, pem, pem_len, 1, NULL, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (new_key != NULL) {
        *new_key = fresh;
        fresh = NULL;
    }
out:
    vd_signkey_pem_free(pem, pem_len);
    vd_signkey_free(&fresh);
    vd_signkey_free(&old);
    json_decref(list);
    free(rpath);
    return rc;
}

vd_err_t vd_keyring_open(const char *key_path, vd_sigalg_t alg, int64_t token_ttl, int64_t now,
                         vd_keyring_t **out, int *created, vd_error_t *err)
{
    vd_keyring_t *kr = NULL;
    vd_err_t rc = VD_OK;
    *out = NULL;
    if (token_ttl <= 0) {
        return VD_ERR(err, VD_E_USAGE, "keyring: token TTL must be positive");
    }
    kr = calloc(1, sizeof *kr);
    if (kr == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "keyring: out of memory");
    }
    pthread_mutex_init(&kr->mu, NULL);
    pthread_mutex_init(&kr->rotate_mu, NULL);
    kr->ttl = token_ttl;
    kr->path = strdup(key_path);
    kr->retired_path = retired_path_of(key_path);
    if (kr->path == NULL || kr->retired_path == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "keyring: out of memory");
        goto out;
    }
    rc = vd_signkey_load_or_create(key_path, alg, &kr->current, created, err);
    if (rc != VD_OK) {
        goto out;
    }
    rc = retired_load(kr->retired_path, now, &kr->retired, err);
    if (rc != VD_OK) {
        goto out;
    }
    *out = kr;
    kr = NULL;
out:
    vd_keyring_free(&kr);
    return rc;
}

void vd_keyring_free(vd_keyring_t **pp)
{
    vd_keyring_t *kr = pp != NULL ? *pp : NULL;
    if (kr == NULL) {
        return;
    }
    *pp = NULL;
    vd_signkey_free(&kr->current);
    json_decref(kr->retired);
    free(kr->path);
    free(kr->retired_path);
    pthread_mutex_destroy(&kr->mu);
    pthread_mutex_destroy(&kr->rotate_mu);
    free(kr);
}

vd_signkey_t *vd_keyring_signer(vd_keyring_t *kr)
{
    pthread_mutex_lock(&kr->mu);
    vd_signkey_t *k = vd_signkey_ref(kr->current);
    pthread_mutex_unlock(&kr->mu);
    return k;
}

static int has_kid(const json_t *keys, const char *kid)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0) {
            return 1;
        }
    }
    return 0;
}

json_t *vd_keyring_jwks(vd_keyring_t *kr, int64_t now)
{
    json_t *keys = json_array(), *e;
    size_t i;
    int ok = keys != NULL;
    pthread_mutex_lock(&kr->mu);
    ok = ok && json_array_append_new(keys, vd_signkey_jwk(kr->current)) == 0;
    json_array_foreach(kr->retired, i, e)
    {
        const char *kid = json_string_value(json_object_get(e, "kid"));
        if (!ok || json_integer_value(json_object_get(e, "keep_until")) < now ||
            has_kid(keys, kid)) {
            continue;
        }
        ok = json_array_append_new(keys, json_deep_copy(json_object_get(e, "jwk"))) == 0;
    }
    pthread_mutex_unlock(&kr->mu);
    json_t *jwks = ok ? json_pack("{so}", "keys", keys) : NULL;
    if (jwks == NULL) {
        json_decref(keys);
    }
    return jwks;
}

json_t *vd_keyring_openid_configuration(vd_keyring_t *kr, const char *issuer, int64_t now)
{
    size_t n = strlen(issuer), i;
    json_t *jwks = vd_keyring_jwks(kr, now), *algs = json_array(), *k, *doc = NULL;
    char *uri = NULL;
    if (n > 0 && issuer[n - 1] == '/') {
        n--;
    }
    uri = malloc(n + sizeof "/.well-known/jwks.json");
    if (jwks == NULL || algs == NULL || uri == NULL) {
        goto out;
    }
    snprintf(uri, n + sizeof "/.well-known/jwks.json", "%.*s/.well-known/jwks.json", (int)n,
             issuer);
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        json_t *alg = json_object_get(k, "alg");
        int seen = 0;
        size_t j;
        json_t *a;
        json_array_foreach(algs, j, a)
        {
            seen = seen || json_equal(a, alg);
        }
        if (!seen && json_array_append(algs, alg) != 0) {
            goto out;
        }
    }
    doc = json_pack("{ss% ss sO s[sssssss]}", "issuer", issuer, n, "jwks_uri", uri,
                    "id_token_signing_alg_values_supported", algs, "claims_supported",
                    "eat_profile", "iat", "exp", "iss", "ear.verifier-id", "submods", "eat_nonce");
out:
    free(uri);
    json_decref(algs);
    json_decref(jwks);
    return doc;
}

/* Swap in a new current key and retired list (both consumed). */
static void install(vd_keyring_t *kr, vd_signkey_t *k, json_t *retired)
{
    pthread_mutex_lock(&kr->mu);
    vd_signkey_t *old = kr->current;
    json_t *old_list = kr->retired;
    kr->current = k;
    kr->retired = retired;
    pthread_mutex_unlock(&kr->mu);
    vd_signkey_free(&old);
    json_decref(old_list);
}

vd_err_t vd_keyring_reload(vd_keyring_t *kr, int64_t now, vd_error_t *err)
{
    vd_signkey_t *k = NULL;
    json_t *list = NULL;
    vd_err_t rc;
    pthread_mutex_lock(&kr->rotate_mu);
    rc = vd_signkey_load(kr->path, &k, err);
    if (rc == VD_OK) {
        rc = retired_load(kr->retired_path, now, &list, err);
    }
    if (rc == VD_OK) {
        install(kr, k, list);
        k = NULL;
        list = NULL;
    }
    pthread_mutex_unlock(&kr->rotate_mu);
    vd_signkey_free(&k);
    json_decref(list);
    return rc;
}

vd_err_t vd_keyring_rotate(vd_keyring_t *kr, vd_sigalg_t alg, int64_t now, vd_error_t *err)
{
    vd_signkey_t *k = NULL;
    json_t *list = NULL;
    vd_err_t rc;
    pthread_mutex_lock(&kr->rotate_mu);
    rc = vd_signkey_rotate(kr->path, alg, kr->ttl, now, &k, err);
    if (rc == VD_OK) {
        rc = retired_load(kr->retired_path, now, &list, err);
    }
    if (rc == VD_OK) {
        install(kr, k, list);
        k = NULL;
        list = NULL;
    }
    pthread_mutex_unlock(&kr->rotate_mu);
    vd_signkey_free(&k);
    json_decref(list);
    return rc;
}
