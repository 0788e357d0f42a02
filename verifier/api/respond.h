/*
 * Building HTTP answers for the API: JSON bodies and RFC 9457 problem details. Internal to
 * verifier/api/.
 */
#ifndef verdict__api_respond_h
#define verdict__api_respond_h

#include <jansson.h>

#include "verdict/server.h"

/** Answer `status` with `body` as JSON (steals the reference). 500 if it cannot be encoded. */
void vd_api_json(vd_http_response_t *resp, int status, json_t *body);

/** Same, with a content type other than application/json (a static string). */
void vd_api_json_as(vd_http_response_t *resp, int status, json_t *body, const char *type);

/**
 * Answer with application/problem+json {"type":"about:blank","title":<reason phrase>,
 * "status", "detail"} (printf-style detail).
 */
void vd_api_problem(vd_http_response_t *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Add a response header; the value is copied into the response's own storage. */
void vd_api_header(vd_http_response_t *resp, const char *name, const char *value);

/** Answer with `text` as-is (copied) and a static content type. */
void vd_api_text(vd_http_response_t *resp, int status, const char *type, const char *text,
                 size_t len);

/**
 * 400 for a policy that does not compile: the compiler's "file:line:col: message" as detail,
 * with "line" and "column" members.
 */
void vd_api_policy_problem(vd_http_response_t *resp, const char *msg);

/** The standard reason phrase for `status` ("Not Found"). */
const char *vd_api_reason(int status);

#endif
