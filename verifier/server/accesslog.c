/*
 * Access log: one JSON line per request on log_fd, written when the answer is handed to the
 * protocol (network thread). Fields: time (RFC 3339), request_id, remote, protocol, method,
 * route (the handler's route template, else the path, which never holds the query), status,
 * bytes (response body), latency_ms, note (the handler's log_note). Never logged: bodies,
 * header values (Authorization included), query strings. Client-supplied text (method, path)
 * is escaped and cut at 256 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "verdict/timefmt.h"
#include "server_internal.h"

/* Append `s` as JSON string contents, at most `max` input bytes; returns the new length. */
static size_t put_str(char *out, size_t pos, size_t cap, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (pos + 7 >= cap) {
            break;
        }
        if (ch == '"' || ch == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            /* Bytes outside printable ASCII are escaped one by one, so the line stays valid
             * JSON even for invalid UTF-8. */
            out[pos++] = '\\';
            out[pos++] = 'u';
            out[pos++] = '0';
            out[pos++] = '0';
            out[pos++] = hex[ch >> 4];
            out[pos++] = hex[ch & 15];
        } else {
            out[pos++] = (char)ch;
        }
    }
    return pos;
}

static size_t put_field(char *out, size_t pos, size_t cap, const char *name, const char *s)
{
    /* ,"name":" as snprintf made it (the names are ours, plain), without its format parsing. */
    size_t len = strlen(name);
    if (len + 5 >= cap - pos) {
        return pos;
    }
    out[pos++] = ',';
    out[pos++] = '"';
    for (size_t i = 0; i < len; i++) {
        out[pos++] = name[i];
    }
    out[pos++] = '"';
    out[pos++] = ':';
    out[pos++] = '"';
    pos = put_str(out, pos, cap, s ? s : "", 256);
    if (pos + 1 < cap) {
        out[pos++] = '"';
    }
    return pos;
}

void vd_srv__access_log(vd_server_t *s, const vd_srv_req_t *r, int status, size_t bytes,
                        const char *note)
{
    char line[2048], ts[32];
    struct timespec now;
    if (s->cfg.log_fd < 0) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms =
        (double)(now.tv_sec - r->t0.tv_sec) * 1e3 + (double)(now.tv_nsec - r->t0.tv_nsec) / 1e6;
    vd_time_format_rfc3339(time(NULL), ts, sizeof(ts));
    size_t pos = 0, cap = sizeof(line) - 2;
    int n = snprintf(line, cap, "{\"time\":\"%s\"", ts);
    pos = (size_t)n;
    pos = put_field(line, pos, cap, "request_id", r->request_id);
    pos = put_field(line, pos, cap, "remote", r->remote);
    pos = put_field(line, pos, cap, "protocol", r->view.protocol);
    pos = put_field(line, pos, cap, "method", r->view.method);
    pos = put_field(line, pos, cap, "route", r->resp.route[0] ? r->resp.route : r->view.path);
    n = snprintf(line + pos, cap - pos, ",\"status\":%d,\"bytes\":%zu,\"latency_ms\":%.3f", status,
                 bytes, ms);
    if (n > 0 && (size_t)n < cap - pos) {
        pos += (size_t)n;
    }
    if (note != NULL) {
        pos = put_field(line, pos, cap, "note", note);
    }
    line[pos++] = '}';
    line[pos++] = '\n';
    /* One write per line: lines from one process never interleave (O_APPEND files, pipes up to
     * PIPE_BUF). A full pipe blocks the loop; point log_fd at a file for heavy traffic. */
    size_t off = 0;
    while (off < pos) {
        ssize_t w = write(s->cfg.log_fd, line + off, pos - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
}
