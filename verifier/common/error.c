/*
 * Error codes and messages (see include/verdict/error.h). No allocation, no I/O.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "verdict/error.h"

const char *vd_err_str(vd_err_t code)
{
    /* A switch with no default: -Wswitch reports any code added without a description. */
    switch (code) {
    case VD_OK:
        return "ok";
    case VD_E_NOMEM:
        return "out of memory";
    case VD_E_MALFORMED:
        return "malformed input";
    case VD_E_TOO_LARGE:
        return "input too large";
    case VD_E_UNSUPPORTED:
        return "unsupported";
    case VD_E_SIGNATURE:
        return "signature invalid";
    case VD_E_CHAIN_UNTRUSTED:
        return "certificate chain untrusted";
    case VD_E_REVOKED:
        return "certificate revoked";
    case VD_E_EXPIRED:
        return "certificate expired";
    case VD_E_COLLATERAL_UNAVAILABLE:
        return "collateral unavailable";
    case VD_E_STORE:
        return "store error";
    case VD_E_CONFIG:
        return "configuration error";
    case VD_E_INTERNAL:
        return "internal error";
    case VD_E_IO:
        return "i/o error";
    case VD_E_USAGE:
        return "usage error";
    case VD_E__LAST:
        break;
    }
    return "unknown error";
}

vd_err_t vd_error_set(vd_error_t *e, vd_err_t code, const char *file, int line, const char *fmt,
                      ...)
{
    if (e == NULL || e->code != VD_OK) {
        return code;
    }
    e->code = code;
    e->file = file;
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *vd_strerror(int errnum)
{
    static _Thread_local char buf[128];
    /* The XSI strerror_r (no _GNU_SOURCE here): 0, or an error with buf left unspecified. */
    if (strerror_r(errnum, buf, sizeof(buf)) != 0) {
        snprintf(buf, sizeof(buf), "error %d", errnum);
    }
    return buf;
}

void vd_error_clear(vd_error_t *e)
{
    if (e == NULL) {
        return;
    }
    memset(e, 0, sizeof(*e));
}

void vd_error_add_openssl(vd_error_t *e)
{
    unsigned long code;
    while ((code = ERR_get_error()) != 0) {
        if (e == NULL) {
            continue;
        }
        size_t used = strlen(e->msg);
        if (used + 3 >= sizeof(e->msg)) {
            continue;
        }
        char reason[128];
        ERR_error_string_n(code, reason, sizeof(reason));
        snprintf(e->msg + used, sizeof(e->msg) - used, ": %s", reason);
    }
}
