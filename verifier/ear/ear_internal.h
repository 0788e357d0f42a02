/*
 * Declarations shared by the files of verifier/ear (signing keys, JWKs, JWS, challenges).
 * Not a public header.
 */
#ifndef verdict__ear_internal_h
#define verdict__ear_internal_h

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "verdict/error.h"
#include "verdict/signkey.h"

/* ---- keyfile.c: the only file I/O of the module ---- */

/**
 * Read the regular file `path` (at most `max` bytes) into a malloc'd buffer with a NUL after the
 * data. When it does not exist, VD_E_IO with *missing = 1 (`missing` may be NULL). The caller
 * frees with vd_ear__free_secret when the content is secret.
 */
vd_err_t vd_ear__read_file(const char *path, size_t max, uint8_t **buf, size_t *len, int *missing,
                           vd_error_t *err);

/**
 * Write `len` bytes to `path` atomically with mode 0600: a temporary file in the same directory,
 * fsync, then rename (`replace`) or link (not `replace`: VD_E_IO with *exists = 1 if `path`
 * already exists; `exists` may be NULL), then fsync of the directory.
 */
vd_err_t vd_ear__write_file_atomic(const char *path, const void *data, size_t len, int replace,
                                   int *exists, vd_error_t *err);

/** OPENSSL_cleanse `len` bytes of `p`, then free it. NULL-safe. */
void vd_ear__free_secret(void *p, size_t len);

/* ---- jwk.c ---- */

/** base64url without padding, malloc'd and NUL-terminated; NULL when out of memory. */
char *vd_ear__b64url(const uint8_t *p, size_t len);

/**
 * Strict JWS base64url decoding (RFC 7515 section 2: URL-safe alphabet, no padding, no white
 * space) into a malloc'd buffer (*out, *out_len; may be 0 bytes). -1 on invalid input or
 * memory; *out is then NULL.
 */
int vd_ear__b64url_decode(const char *s, size_t len, uint8_t **out, size_t *out_len);

/** The public JWK of `pkey` for `alg`, without kid (kty, crv, x[, y], alg, use). */
json_t *vd_ear__jwk_from_pkey(EVP_PKEY *pkey, vd_sigalg_t alg, vd_error_t *err);

/**
 * The public key of a JWK from a JWKS (untrusted) and the one algorithm it may verify: `alg`
 * when present (it must agree with kty and crv), else the algorithm its kty/crv implies.
 * `use`, when present, must be "sig"; `key_ops`, when present, must contain "verify".
 * Coordinates must have the curve's exact length and lie on the curve. -1 with `why` set on any
 * problem; 0 with *out (caller frees with EVP_PKEY_free) and *alg.
 */
int vd_ear__jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, vd_sigalg_t *alg, char *why,
                        size_t why_size);

/* ---- signkey.c ---- */

/** The key's EVP_PKEY (borrowed, read-only). */
EVP_PKEY *vd_ear__signkey_pkey(const vd_signkey_t *k);

/**
 * Verify a JWS signature (R||S for ECDSA, raw for Ed25519) over `msg` with `pkey` for `alg`.
 * 1 valid, 0 invalid (including a wrong length), -1 internal error.
 */
int vd_ear__jws_verify_sig(EVP_PKEY *pkey, vd_sigalg_t alg, const uint8_t *msg, size_t len,
                           const uint8_t *sig, size_t sig_len);

#endif
