/*
 * verdict: error type shared by every module.
 *
 * An error means "the operation could not be carried out" (no memory, unreadable file, bad
 * usage, malformed input that yields no result). It is kept apart from verdicts: evidence that
 * fails a check is a successful appraisal with a negative result (see verify.h), never an error.
 *
 * Pattern (STYLE.md R3): a stable code plus a human-readable message; the first, most specific
 * message wins, like curl's error buffer.
 */
#ifndef verdict__error_h
#define verdict__error_h

#include <stddef.h>

/* Append-only: never renumber, the values appear in logs and metrics. */
typedef enum vd_err {
    VD_OK = 0,
    VD_E_NOMEM = 1,
    VD_E_MALFORMED = 2,
    VD_E_TOO_LARGE = 3,
    VD_E_UNSUPPORTED = 4,
    VD_E_SIGNATURE = 5,
    VD_E_CHAIN_UNTRUSTED = 6,
    VD_E_REVOKED = 7,
    VD_E_EXPIRED = 8,
    VD_E_COLLATERAL_UNAVAILABLE = 9,
    VD_E_STORE = 10,
    VD_E_CONFIG = 11,
    VD_E_INTERNAL = 12,
    VD_E_IO = 13,
    VD_E_USAGE = 14,
    VD_E__LAST
} vd_err_t;

#define VD_ERROR_MSG_MAX 512

typedef struct vd_error {
    vd_err_t code;
    char msg[VD_ERROR_MSG_MAX];
    const char *file; /* source location that set the error, for logs */
    int line;
} vd_error_t;

/** Short, stable description of a code ("malformed input"). Never NULL. */
const char *vd_err_str(vd_err_t code);

/**
 * Record an error in `e` (may be NULL) unless one is already recorded, and return `code`.
 * The message is printf-formatted and truncated to VD_ERROR_MSG_MAX - 1 bytes.
 */
vd_err_t vd_error_set(vd_error_t *e, vd_err_t code, const char *file, int line, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

/**
 * The description of an errno value, as strerror(), but safe to call from any thread (the
 * server's workers): the text is formatted into a buffer of the calling thread.
 */
const char *vd_strerror(int errnum);

/** Reset `e` to VD_OK with an empty message. */
void vd_error_clear(vd_error_t *e);

/**
 * Append the OpenSSL error queue (most recent reason first) to the message of `e`, then clear
 * the queue. Used at the boundary where an OpenSSL call failed.
 */
void vd_error_add_openssl(vd_error_t *e);

/* vd_error_set returns `code`; saying so where the caller can see it lets the static analyzer
 * (scripts/lint.sh) follow error paths instead of assuming a failed call returned VD_OK.
 * `code` is evaluated twice: pass a constant or a variable. */
static inline vd_err_t vd_error__code(vd_err_t set, vd_err_t code)
{
    (void)set;
    return code;
}
#define VD_ERR(e, code, ...)                                                                       \
    vd_error__code(vd_error_set((e), (code), __FILE__, __LINE__, __VA_ARGS__), (code))

#endif
