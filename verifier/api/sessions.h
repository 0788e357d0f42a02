/*
 * Veraison challenge-response sessions (STANDARDS.md section 3.1): a nonce handed out by
 * newSession, the evidence posted against it, and the signed result. Kept in memory, bounded in
 * number, expired after a TTL. Thread-safe. Internal to verifier/api/.
 */
#ifndef verdict__api_sessions_h
#define verdict__api_sessions_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "verdict/error.h"

#define VD_SESSION_ID_LEN    36 /* a UUID */
#define VD_SESSION_NONCE_MIN 8
#define VD_SESSION_NONCE_MAX 64

typedef struct vd_sessions vd_sessions_t;

typedef enum vd_session_status {
    VD_SESSION_WAITING = 0,
    VD_SESSION_PROCESSING,
    VD_SESSION_COMPLETE,
    VD_SESSION_FAILED,
} vd_session_status_t;

vd_err_t vd_sessions_new(size_t max, long ttl_s, vd_sessions_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_sessions_free(vd_sessions_t **pp);

/**
 * A new session waiting for evidence, with `nonce` (8..64 bytes). Its id goes to `id`.
 * VD_E_TOO_LARGE when the table is full of live sessions.
 */
vd_err_t vd_sessions_create(vd_sessions_t *s, const uint8_t *nonce, size_t nonce_len, time_t now,
                            char id[VD_SESSION_ID_LEN + 1], vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Claim a waiting session for evidence: it becomes processing and its nonce is copied out.
 * Returns 0; -1 unknown or expired; -2 not waiting (evidence already posted).
 */
int vd_sessions_claim(vd_sessions_t *s, const char *id, time_t now, uint8_t *nonce,
                      size_t *nonce_len);

/** Record the outcome of a claimed session (status complete or failed). */
void vd_sessions_finish(vd_sessions_t *s, const char *id, vd_session_status_t status,
                        const char *media_type, const uint8_t *evidence, size_t evidence_len,
                        const char *token);

/** The session resource as JSON (new reference); NULL if unknown or expired. */
json_t *vd_sessions_json(vd_sessions_t *s, const char *id, time_t now);

/** Delete a session. 0, or -1 if unknown. */
int vd_sessions_delete(vd_sessions_t *s, const char *id);

/** The media types evidence may be posted as. */
json_t *vd_sessions_accept_json(void);

#endif
