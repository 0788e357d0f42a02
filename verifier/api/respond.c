/*
 * JSON and problem+json answers (respond.h). Every body is encoded by jansson.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/error.h"
#include "verdict/jsonout.h"
#include "verdict/text.h"
#include "respond.h"

const char *vd_api_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/* End of the part of hdr_store already used by earlier headers. */
static size_t store_used(const vd_http_response_t *resp)
{
    size_t used = 0;
    const char *lo = resp->hdr_store, *hi = resp->hdr_store + sizeof(resp->hdr_store);
    for (size_t i = 0; i < resp->n_headers; i++) {
        const char *v = resp->headers[i].value;
        if (v >= lo && v < hi) {
            size_t end = (size_t)(v - lo) + strlen(v) + 1;
            used = end > used ? end : used;
        }
    }
    return used;
}

void vd_api_header(vd_http_response_t *resp, const char *name, const char *value)
{
    size_t used = store_used(resp), len = strlen(value);
    if (resp->n_headers >= VD_HTTP_MAX_RESP_HEADERS || used + len + 1 > sizeof(resp->hdr_store)) {
        return; /* the fixed headers all fit; a header that does not is dropped, never cut */
    }
    char *dst = resp->hdr_store + used;
    memcpy(dst, value, len + 1);
    resp->headers[resp->n_headers].name = name;
    resp->headers[resp->n_headers].value = dst;
    resp->n_headers++;
}

void vd_api_text(vd_http_response_t *resp, int status, const char *type, const char *text,
                 size_t len)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
    resp->content_type = type;
    if (len == 0) {
        return;
    }
    resp->body = malloc(len);
    if (resp->body == NULL) {
        resp->status = 500;
        resp->content_type = NULL;
        return;
    }
    memcpy(resp->body, text, len);
    resp->body_len = len;
}

void vd_api_json_as(vd_http_response_t *resp, int status, json_t *body, const char *type)
{
    char *text = body != NULL ? vd_json_dumps(body) : NULL;
    json_decref(body);
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (text == NULL) {
        resp->status = 500;
        resp->content_type = NULL;
        return;
    }
    resp->status = status;
    resp->content_type = type;
    resp->body = (uint8_t *)text;
    resp->body_len = strlen(text);
}

void vd_api_json(vd_http_response_t *resp, int status, json_t *body)
{
    vd_api_json_as(resp, status, body, "application/json");
}

void vd_api_problem(vd_http_response_t *resp, int status, const char *fmt, ...)
{
    char raw[512], detail[VD_TEXT_ESCAPED_SIZE(sizeof(raw))];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    vd_text_escape(raw, detail, sizeof(detail)); /* details may quote the request's bytes */
    json_t *body = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
                             vd_api_reason(status), "status", status, "detail", detail);
    vd_api_json_as(resp, status, body, "application/problem+json");
}

/* The policy compiler's "file:line:col: message" as problem members. */
void vd_api_policy_problem(vd_http_response_t *resp, const char *msg)
{
    unsigned long line = 0, col = 0;
    const char *p = strchr(msg, ':');
    char *end = NULL;
    /* strtoul, not sscanf's %u: an out-of-range number must not be undefined behaviour. */
    if (p != NULL && p[1] >= '0' && p[1] <= '9') {
        line = strtoul(p + 1, &end, 10);
        if (end[0] == ':' && end[1] >= '0' && end[1] <= '9') {
            col = strtoul(end + 1, NULL, 10);
        }
    }
    char detail[VD_TEXT_ESCAPED_SIZE(VD_ERROR_MSG_MAX)];
    vd_text_escape(msg, detail, sizeof(detail)); /* the message may quote the YAML */
    json_t *body = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", "Bad Request",
                             "status", 400, "detail", detail);
    if (body != NULL && line > 0) {
        json_object_set_new(body, "line", json_integer(line));
        json_object_set_new(body, "column", json_integer(col));
    }
    vd_api_json_as(resp, 400, body, "application/problem+json");
}
