/*
 * HTTP/1.1 (RFC 9112) on the same connections as HTTP/2: requests parsed by Node's
 * http-parser (Debian's libhttp-parser-dev), answers written here.
 *
 * Why not libevent's evhttp: it cannot give the answers the issue requires. Its own limit
 * errors (body and header size) go out as fixed HTML pages instead of problem+json, a header
 * block over the limit becomes 413 or 400 instead of 431, its header callback can only close
 * the connection (no 401 before the body), its timeouts are per read so a client trickling
 * one byte at a time is never timed out, and it wants the socket from accept() so it cannot
 * take over the bytes we already read to choose between HTTP/2 and HTTP/1.1. With
 * http-parser, both protocols share one connection object, one request object and one set of
 * limits and errors (request.c); the parsing itself (request line, headers, Content-Length,
 * chunked framing, keep-alive rules) stays in the well-kept library.
 *
 * One request at a time per connection: the parser is paused when a request is complete and
 * reading stops while a worker has it; pipelined requests wait in the input buffer and are
 * parsed once the answer is queued and the output has drained below VD_SRV_OUTPUT_HIGH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "server_internal.h"

static vd_srv_conn_t *conn_of(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    vd_srv_conn_t *c = conn_of(p);
    c->cur = vd_srv__req_new(c);
    return c->cur == NULL ? -1 : 0;
}

static int piece(http_parser *p, int kind, const char *at, size_t len)
{
    vd_srv_conn_t *c = conn_of(p);
    if (c->cur == NULL || c->cur->state != VD_REQ_HEADERS) {
        return 0;
    }
    return vd_srv__req_piece(c->cur, kind, at, len) != 0 ? -1 : 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    return piece(p, 0, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    return piece(p, 1, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    return piece(p, 2, at, len);
}

static const char *proto_name(const http_parser *p)
{
    return p->http_minor == 0 ? "http/1.0" : "http/1.1";
}

static int on_headers_complete(http_parser *p)
{
    vd_srv_conn_t *c = conn_of(p);
    vd_srv_req_t *r = c->cur;
    if (r == NULL) {
        return -1;
    }
    if (vd_srv__req_end_pieces(r) != 0) {
        return -1;
    }
    const char *m = http_method_str((enum http_method)p->method);
    if (vd_srv__req_append(r, m, strlen(m), &r->method_off) != 0) {
        return -1;
    }
    r->has_method = !r->hdr_error;
    if (p->flags & F_CONTENTLENGTH) {
        r->has_cl = 1;
        r->content_length = p->content_length;
    }
    int has_body = (p->flags & F_CHUNKED) || (r->has_cl && r->content_length > 0);
    r->close_after = !http_should_keep_alive(p) || has_body; /* only if answered early */
    int answered;
    if (p->method == HTTP_CONNECT) {
        r->close_after = 1; /* what follows was meant for a tunnel */
        if (vd_srv__req_headers_done(r, proto_name(p)) != 0) {
            vd_srv__req_minimal(r, proto_name(p));
        }
        vd_srv__answer(r, 405, "CONNECT is not supported");
        answered = 1;
    } else {
        answered = vd_srv__req_headers(r, proto_name(p));
    }
    if (answered) {
        http_parser_pause(p, 1);
        return 0;
    }
    r->close_after = !http_should_keep_alive(p);
    /* RFC 9110 section 10.1.1: the client waits for 100 before sending the body. */
    for (size_t i = 0; i < r->view.n_headers; i++) {
        if (strcmp(r->view.headers[i].name, "expect") == 0 &&
            strcasecmp(r->view.headers[i].value, "100-continue") == 0 && p->http_minor >= 1) {
            evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    vd_srv_conn_t *c = conn_of(p);
    vd_srv_req_t *r = c->cur;
    if (r == NULL || r->state != VD_REQ_BODY) {
        return 0;
    }
    r->close_after = 1; /* if answered now, before the rest of the body */
    if (vd_srv__req_body(r, (const uint8_t *)at, len) != 0) {
        http_parser_pause(p, 1); /* answered (413 or 503): the connection closes */
        return 0;
    }
    r->close_after = !http_should_keep_alive(p);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    vd_srv_conn_t *c = conn_of(p);
    vd_srv_req_t *r = c->cur;
    http_parser_pause(p, 1); /* one request at a time; the read loop resumes */
    if (r != NULL && r->state == VD_REQ_BODY) {
        vd_srv__req_ready(r);
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void vd_srv__h1_start(vd_srv_conn_t *c)
{
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
}

/* Parse what is buffered, one request at a time. */
void vd_srv__h1_read(vd_srv_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* Bounded: each turn consumes input or returns. */
    for (;;) {
        if (c->dead || c->closing || c->lingering || c->proto != VD_SRV_HTTP1) {
            return;
        }
        if (c->cur != NULL && c->cur->state == VD_REQ_WORKER) {
            bufferevent_disable(c->bev, EV_READ); /* resumed by the answer */
            return;
        }
        if (evbuffer_get_length(out) > VD_SRV_OUTPUT_HIGH) {
            return; /* write_cb resumes */
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
            if (c->peer_eof) {
                /* Nothing more will come: close once the output is written (an incomplete
                 * request is dropped; one on a worker is answered first). */
                if (c->cur == NULL || c->cur->state != VD_REQ_WORKER) {
                    vd_srv__conn_flushed_close(c, 0);
                }
            }
            return;
        }
        if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
        }
        size_t n = http_parser_execute(&c->parser, &settings, v.iov_base, v.iov_len);
        evbuffer_drain(in, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED || (e == HPE_OK && n > 0)) {
            continue;
        }
        if (e == HPE_OK) {
            return;
        }
        /* A protocol error: answer 400 if a request is being read, else just close. */
        atomic_fetch_add_explicit(&c->srv->st_proto_errors, 1, memory_order_relaxed);
        vd_srv_req_t *r = c->cur;
        if (r != NULL && (r->state == VD_REQ_HEADERS || r->state == VD_REQ_BODY)) {
            r->close_after = 1;
            if (r->state == VD_REQ_HEADERS) {
                vd_srv__req_minimal(r, proto_name(&c->parser));
            }
            vd_srv__answer(r, e == HPE_HEADER_OVERFLOW ? 431 : 400, http_errno_description(e));
        } else if (r == NULL) {
            vd_srv__conn_close(c);
        }
        return;
    }
}

/* CR or LF in a handler's header would split the response: such headers are dropped. */
static int header_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

void vd_srv__h1_respond(vd_srv_req_t *r)
{
    vd_srv_conn_t *c = r->conn;
    vd_http_response_t *resp = &r->resp;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int early = r->state == VD_REQ_DISCARD;
    int keep = !(early && r->close_after) && !r->close_after && !c->srv->draining;
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", resp->status, vd_srv__reason(resp->status));
    if (resp->content_type != NULL && header_ok(resp->content_type)) {
        evbuffer_add_printf(out, "content-type: %s\r\n", resp->content_type);
    }
    evbuffer_add_printf(out, "content-length: %zu\r\nx-request-id: %s\r\n", resp->body_len,
                        r->request_id);
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (header_ok(resp->headers[i].name) && header_ok(resp->headers[i].value)) {
            evbuffer_add_printf(out, "%s: %s\r\n", resp->headers[i].name, resp->headers[i].value);
        }
    }
    evbuffer_add(out, keep ? "\r\n" : "connection: close\r\n\r\n", keep ? 2 : 21);
    if (!r->head && resp->body_len > 0) {
        evbuffer_add(out, resp->body, resp->body_len);
    }
    r->state = VD_REQ_ANSWERED;
    c->cur = NULL;
    vd_srv__req_detach(r);
    if (!keep) {
        /* Answered before the body was read: linger so the client reads the answer. */
        vd_srv__conn_flushed_close(c, early);
    } else {
        if (!c->peer_eof) {
            bufferevent_enable(c->bev, EV_READ);
        }
    }
}

void vd_srv__h1_timeout(vd_srv_req_t *r)
{
    r->close_after = 1;
    if (r->state == VD_REQ_HEADERS) {
        vd_srv__req_minimal(r, "http/1.1");
    }
    vd_srv__answer(r, 408, "the request did not arrive in time");
}

void vd_srv__h1_drain(vd_srv_conn_t *c)
{
    if (c->cur == NULL) {
        vd_srv__conn_flushed_close(c, 0);
    }
    /* else: the answer in progress carries Connection: close (srv->draining) */
}

/* Could these first bytes begin an HTTP/1.x request line ("METHOD SP target SP HTTP/1.x")?
 * 1: a whole line, 0: a prefix of one, -1: no. Only a classifier; the parser parses. */
int vd_srv__h1_sniff(const uint8_t *p, size_t len)
{
    static const char ver[] = "HTTP/1.";
    size_t i = 0, t;
    while (i < len && ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-')) {
        i++;
    }
    if (i > 24) {
        return -1;
    }
    if (i == len) {
        return 0;
    }
    if (i == 0 || p[i] != ' ') {
        return -1;
    }
    t = ++i;
    while (i < len && p[i] > 0x20 && p[i] < 0x7f) {
        i++;
    }
    if (i == len) {
        return 0;
    }
    if (i == t || p[i] != ' ') {
        return -1;
    }
    i++;
    for (size_t k = 0; k < sizeof(ver) - 1; k++, i++) {
        if (i == len) {
            return 0;
        }
        if (p[i] != (uint8_t)ver[k]) {
            return -1;
        }
    }
    if (i == len) {
        return 0;
    }
    if (p[i] < '0' || p[i] > '9') {
        return -1;
    }
    if (++i == len) {
        return 0;
    }
    if (p[i] == '\n') {
        return 1;
    }
    if (p[i] != '\r') {
        return -1;
    }
    if (++i == len) {
        return 0;
    }
    return p[i] == '\n' ? 1 : -1;
}
