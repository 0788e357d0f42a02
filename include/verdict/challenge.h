/*
 * verdict: self-authenticating challenge nonces (POST /v1/challenge, and "challenge" in
 * POST /v1/attest).
 *
 * A nonce is 64 bytes, so that it fills SNP REPORT_DATA exactly (attesters that insist on a
 * 64-byte nonce, such as Veraison's ratsd TSM attester, can use it as is):
 *
 *   offset  size  content
 *   0       1     version (1)
 *   1       8     expiry, Unix seconds, big-endian
 *   9       23    random bytes (RAND_bytes)
 *   32      32    HMAC-SHA256(secret, "verdict challenge v1" || bytes 0..31)
 *
 * Any replica holding the same secret recognises a nonce it did not issue itself, without
 * shared state (DESIGN.md, "Scale"). It is handed out as standard base64 with padding (88
 * characters); on the way back any base64 form is accepted.
 *
 * Redeeming checks, in order: it decodes to 64 bytes of version 1 (else malformed), the HMAC
 * matches in constant time (else forged), now < expiry (else expired), and it was not redeemed
 * before in this process (else reused). Redeemed nonces are remembered until they expire, in a
 * bounded table: when the table is full of unexpired nonces, redeeming is refused ("busy")
 * rather than forgetting one, so a nonce can never be used twice. Only VD_CHALLENGE_OK may
 * ever lead to an affirming result.
 *
 * The secret is at least 32 bytes, read from a file (every byte of it is the key, so replicas
 * given the same file agree), or generated on first start: 32 random bytes, mode 0600, written
 * atomically, never replacing an existing file.
 *
 * Azure vTPM evidence cannot carry 64 bytes in its quote (the vTPM takes at most 50 bytes of
 * qualifying data): with a challenge, such evidence must bind SHA-384(challenge || runtime data)
 * in the quote's extraData (and v2 user-data) instead, 48 bytes; the runtime data is optional
 * (vtpm.h, vd_vtpm_challenge_binding; docs/evidence.md). The challenge is redeemed as for SNP.
 *
 * Thread-safe: one vd_challenger_t serves every worker thread. No clock reads: callers pass
 * `now` (Unix seconds).
 */
#ifndef verdict__challenge_h
#define verdict__challenge_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

#define VD_CHALLENGE_LEN         64
#define VD_CHALLENGE_B64_LEN     88 /* standard base64 with padding, without the NUL */
#define VD_CHALLENGE_VERSION     1
#define VD_CHALLENGE_DEFAULT_TTL 300
#define VD_CHALLENGE_MAX_TTL     86400
#define VD_CHALLENGE_SECRET_MIN  32
#define VD_CHALLENGE_SECRET_MAX  4096
#define VD_CHALLENGE_DEFAULT_CAP 100000 /* redeemed nonces remembered at once (~6 MB) */
/* Secret file when neither --nonce-secret nor VERDICT_NONCE_SECRET names one. */
#define VD_CHALLENGE_DEFAULT_SECRET_PATH "verdict-nonce.secret"

typedef enum vd_challenge_status {
    VD_CHALLENGE_OK = 0,
    VD_CHALLENGE_MALFORMED, /* not base64 of a 64-byte version-1 nonce */
    VD_CHALLENGE_FORGED,    /* the HMAC does not match: not issued with this secret */
    VD_CHALLENGE_EXPIRED,
    VD_CHALLENGE_REUSED, /* already redeemed in this process */
    VD_CHALLENGE_BUSY,   /* too many unexpired redeemed nonces to remember one more */
} vd_challenge_status_t;

/** "ok", "malformed", "forged", "expired", "reused", "busy". */
const char *vd_challenge_status_str(vd_challenge_status_t s);

typedef struct vd_challenger vd_challenger_t;

typedef struct vd_challenge_config {
    const uint8_t *secret; /* copied; VD_CHALLENGE_SECRET_MIN..MAX bytes */
    size_t secret_len;
    int64_t ttl;     /* seconds; 0 = VD_CHALLENGE_DEFAULT_TTL; at most VD_CHALLENGE_MAX_TTL */
    size_t capacity; /* redeemed nonces remembered; 0 = VD_CHALLENGE_DEFAULT_CAP */
} vd_challenge_config_t;

/** New challenger. VD_E_CONFIG (secret too short or long, TTL out of range), VD_E_NOMEM. */
vd_err_t vd_challenger_new(const vd_challenge_config_t *cfg, vd_challenger_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/** Wipe the secret and free. NULL-safe; sets *pp to NULL. */
void vd_challenger_free(vd_challenger_t **pp);

/** A fresh nonce issued now. */
typedef struct vd_challenge {
    uint8_t raw[VD_CHALLENGE_LEN];      /* the bytes REPORT_DATA binds */
    char b64[VD_CHALLENGE_B64_LEN + 1]; /* standard base64, padded */
    int64_t expires_at;                 /* Unix seconds */
} vd_challenge_t;

/** Issue a nonce valid until now + ttl. VD_E_INTERNAL if the RNG fails. */
vd_err_t vd_challenge_issue(vd_challenger_t *c, int64_t now, vd_challenge_t *out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Check and consume the nonce `text` (len bytes of base64, any form). On VD_CHALLENGE_OK the
 * nonce's bytes are copied to `raw` (may be NULL) and *expires_at (may be NULL) is set; a
 * second redeem of the same nonce then returns VD_CHALLENGE_REUSED. A nonce that is not OK is
 * not consumed.
 */
vd_challenge_status_t vd_challenge_redeem(vd_challenger_t *c, const char *text, size_t len,
                                          int64_t now, uint8_t raw[VD_CHALLENGE_LEN],
                                          int64_t *expires_at);

/** Redeemed nonces currently remembered (for /metrics and tests). */
size_t vd_challenge_remembered(vd_challenger_t *c);

/**
 * Read the secret file `path`, or when it does not exist create it with 32 random bytes
 * (0600, atomic, never replacing a file that appeared meanwhile: that one is read instead).
 * *secret is malloc'd; free it with vd_challenge_secret_free. *created (may be NULL) says
 * whether the file was made. VD_E_CONFIG for a file shorter than VD_CHALLENGE_SECRET_MIN or
 * longer than VD_CHALLENGE_SECRET_MAX bytes, VD_E_IO.
 */
vd_err_t vd_challenge_secret_load_or_create(const char *path, uint8_t **secret, size_t *len,
                                            int *created, vd_error_t *err)
    __attribute__((warn_unused_result));

/** Wipe and free a secret from vd_challenge_secret_load_or_create. NULL-safe. */
void vd_challenge_secret_free(uint8_t *secret, size_t len);

#endif
