/*
 * verdict: the keys that sign attestation results, their public JWKs and the JWKS.
 *
 * A signing key is ES256 (ECDSA P-256 with SHA-256, the default: Trustee signs and verifies only
 * ES256), ES384 (P-384) or EdDSA (Ed25519). It is generated on first start and saved as a PKCS#8
 * PEM file with mode 0600, or loaded from a PEM file the operator provides; the key's type
 * decides its algorithm.
 *
 * Its public half is published as a JWK (RFC 7517/7518, RFC 8037 for Ed25519) carrying `alg`
 * and `use: "sig"`, with `kid` = the RFC 7638 thumbprint (base64url, no padding), which is also
 * the `kid` of every JWT header it signs (STANDARDS.md section 5; a Trustee KBS needs `kid`
 * found in the JWKS and `alg` in that JWK, section 0 point 6).
 *
 * A keyring is what a service publishes: the current key plus retired public keys, each kept
 * until the tokens it signed can no longer be valid (retired_at + token TTL + a grace period).
 * Retired keys are persisted next to the key file, in `<keyfile>.retired.json`, so a restart
 * keeps publishing them. Rotation writes a new key at the same path and moves the old public JWK
 * to that list.
 *
 * Files are written atomically (temporary file, fsync, rename, fsync of the directory) with mode
 * 0600; a generated key never replaces an existing file, only rotation does. Nothing here reads
 * the clock: callers pass `now` (Unix seconds).
 *
 * Thread safety: a vd_signkey_t is immutable once made and may sign from any number of threads
 * at once (the digest is fetched once per key; each signature uses its own EVP_MD_CTX). It is
 * reference-counted so that a key replaced by rotation stays valid for the signers that hold it.
 * A vd_keyring_t is internally locked: vd_keyring_signer, vd_keyring_jwks, vd_keyring_rotate and
 * vd_keyring_reload may be called concurrently.
 */
#ifndef verdict__signkey_h
#define verdict__signkey_h

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "verdict/error.h"

typedef enum vd_sigalg {
    VD_SIGALG_ES256 = 0, /* ECDSA P-256 + SHA-256; signature R||S, 64 bytes (RFC 7518 3.4) */
    VD_SIGALG_ES384,     /* ECDSA P-384 + SHA-384; R||S, 96 bytes */
    VD_SIGALG_EDDSA,     /* Ed25519 (RFC 8037); 64 bytes */
} vd_sigalg_t;

#define VD_SIGALG_DEFAULT VD_SIGALG_ES256
/* Key file when neither --signing-key nor VERDICT_SIGNING_KEY names one (working directory). */
#define VD_SIGNKEY_DEFAULT_PATH "verdict-signing-key.pem"
#define VD_SIG_MAX              96 /* longest JWS signature of any vd_sigalg_t */
#define VD_KID_MAX              44 /* base64url of a SHA-256 (43) + NUL */

/* Retired keys stay published this long past retired_at + TTL: tokens signed by a worker that
 * still held the old key when it was retired, and verifiers' clock leeway on `exp`. */
#define VD_KEYRING_GRACE_S 120

/** JWS name: "ES256", "ES384", "EdDSA". */
const char *vd_sigalg_name(vd_sigalg_t alg);

/** Parse "ES256", "ES384" or "EdDSA" (exact case). 0, or -1 if unknown. */
int vd_sigalg_from_name(const char *name, vd_sigalg_t *out);

/** Length of a JWS signature for `alg` (64, 96, 64). */
size_t vd_sigalg_sig_len(vd_sigalg_t alg);

typedef struct vd_signkey vd_signkey_t;

/** A fresh random key for `alg`. VD_E_NOMEM, VD_E_INTERNAL. Free with vd_signkey_free. */
vd_err_t vd_signkey_generate(vd_sigalg_t alg, vd_signkey_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * A key from PEM text (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"). Encrypted PEM is refused
 * (no passphrase prompt). The algorithm follows the key: P-256 -> ES256, P-384 -> ES384,
 * Ed25519 -> EdDSA; anything else is VD_E_UNSUPPORTED. VD_E_MALFORMED when no key parses.
 */
vd_err_t vd_signkey_from_pem(const char *pem, size_t len, vd_signkey_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * The private key as unencrypted PKCS#8 PEM; caller frees with vd_signkey_pem_free (which wipes
 * it). VD_E_NOMEM, VD_E_INTERNAL.
 */
vd_err_t vd_signkey_to_pem(const vd_signkey_t *k, char **pem, size_t *len, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_signkey_pem_free(char *pem, size_t len);

/** Load the PEM file `path` (at most 64 KiB). VD_E_IO, plus vd_signkey_from_pem's codes. */
vd_err_t vd_signkey_load(const char *path, vd_signkey_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Save `k` to `path` with mode 0600, atomically. Fails with VD_E_IO if `path` already exists
 * (never overwrites a key silently).
 */
vd_err_t vd_signkey_save(const vd_signkey_t *k, const char *path, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Load `path`, or when it does not exist generate a key for `alg` and save it there (0600,
 * atomic). *created (may be NULL) says which happened. When the file exists, its key decides
 * the algorithm and `alg` is ignored.
 */
vd_err_t vd_signkey_load_or_create(const char *path, vd_sigalg_t alg, vd_signkey_t **out,
                                   int *created, vd_error_t *err)
    __attribute__((warn_unused_result));

/** Another reference to `k` (thread-safe). Returns `k`. */
vd_signkey_t *vd_signkey_ref(vd_signkey_t *k);

/** Drop a reference (thread-safe); the last one wipes and frees the key. NULL-safe; sets *pp. */
void vd_signkey_free(vd_signkey_t **pp);

vd_sigalg_t vd_signkey_alg(const vd_signkey_t *k);

/** The key's RFC 7638 thumbprint (base64url, no padding); valid while `k` lives. */
const char *vd_signkey_kid(const vd_signkey_t *k);

/**
 * The public JWK: {"kty","crv","x"[,"y"],"alg","use":"sig","kid"}, coordinates fixed-length
 * (RFC 7518 6.2.1.2). New reference; NULL only when out of memory.
 */
json_t *vd_signkey_jwk(const vd_signkey_t *k);

/**
 * Sign `msg` as JWS requires for the key's algorithm: ECDSA as R||S of fixed-length big-endian
 * integers (RFC 7518 3.4, not DER), Ed25519 as its raw 64 bytes. `sig` holds at least
 * VD_SIG_MAX bytes; *sig_len is set. Thread-safe. VD_E_INTERNAL, VD_E_NOMEM.
 */
vd_err_t vd_signkey_sign(const vd_signkey_t *k, const uint8_t *msg, size_t len,
                         uint8_t sig[VD_SIG_MAX], size_t *sig_len, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * RFC 7638 thumbprint of a public JWK (EC: crv,kty,x,y; OKP: crv,kty,x; RSA: e,kty,n), as
 * base64url of SHA-256 without padding, into `out` (VD_KID_MAX bytes). Other members are
 * ignored. VD_E_MALFORMED when a required member is missing or not a string, VD_E_UNSUPPORTED
 * for another kty.
 */
vd_err_t vd_jwk_thumbprint(const json_t *jwk, char out[VD_KID_MAX], vd_error_t *err)
    __attribute__((warn_unused_result));

/* ---- keyring: the current key and the retired public keys (the JWKS) ---- */

typedef struct vd_keyring vd_keyring_t;

/**
 * Open the key at `key_path` (created for `alg` if missing, as vd_signkey_load_or_create) and
 * its retired list `<key_path>.retired.json` (absent = empty). `token_ttl` (seconds, > 0) is
 * how long the tokens it signs stay valid, which decides how long retired keys stay published.
 * VD_E_CONFIG for a retired list that does not parse (it is never dropped silently). Free with
 * vd_keyring_free.
 */
vd_err_t vd_keyring_open(const char *key_path, vd_sigalg_t alg, int64_t token_ttl, int64_t now,
                         vd_keyring_t **out, int *created, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_keyring_free(vd_keyring_t **pp);

/** The current signing key, as a new reference: release it with vd_signkey_free. */
vd_signkey_t *vd_keyring_signer(vd_keyring_t *kr);

/**
 * The JWKS {"keys": [current, retired still valid at `now`...]}, newest first, no duplicate
 * kid. New reference; NULL only when out of memory.
 */
json_t *vd_keyring_jwks(vd_keyring_t *kr, int64_t now);

/**
 * The OpenID-style discovery document for `issuer` (STANDARDS.md section 5, the minimal set a
 * Trustee KBS follows): {"issuer", "jwks_uri": issuer + "/.well-known/jwks.json",
 * "id_token_signing_alg_values_supported": [the algorithms of the keys published at `now`],
 * "claims_supported": [...]}. `issuer` is the base URL clients use, without a trailing slash
 * (one is removed). New reference; NULL only when out of memory.
 */
json_t *vd_keyring_openid_configuration(vd_keyring_t *kr, const char *issuer, int64_t now);

/**
 * Rotate: a new key for `alg` replaces the one at the keyring's path (on disk first, then in
 * memory); the old public JWK joins the retired list. Signers holding the old key keep a valid
 * reference. On error nothing changes in memory.
 */
vd_err_t vd_keyring_rotate(vd_keyring_t *kr, vd_sigalg_t alg, int64_t now, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Re-read the key file and the retired list (after an offline `verdict token rotate`, on
 * SIGHUP). On error the keyring keeps what it had.
 */
vd_err_t vd_keyring_reload(vd_keyring_t *kr, int64_t now, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Offline rotation of the key file `key_path` (which must exist): generate a key for `alg`,
 * add the old public JWK to `<key_path>.retired.json` (kept until now + token_ttl + grace;
 * entries already past their time are pruned), then replace the key file atomically. The new
 * key is returned in *new_key when that is not NULL.
 */
vd_err_t vd_signkey_rotate(const char *key_path, vd_sigalg_t alg, int64_t token_ttl, int64_t now,
                           vd_signkey_t **new_key, vd_error_t *err)
    __attribute__((warn_unused_result));

#endif
