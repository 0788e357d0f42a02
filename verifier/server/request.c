/*
 * The request object shared by HTTP/2 and HTTP/1.1: the header arena (bounded by header_max
 * and VD_SRV_MAX_HEADERS), the body buffer (bounded by body_max), the request id, the
 * decisions taken when the header block is complete (431, 413, on_headers, the in-flight
 * bound), and problem+json answers (RFC 9457). Trust boundary: every byte here came from the
 * client; lengths are checked before anything is stored. Network thread only, except `view`,
 * `body` and `resp` while a worker owns the request (server_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "verdict/bytes.h"
#include "server_internal.h"

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    vd_srv_req_t *r = arg;
    (void)fd;
    (void)what;
    r->timer_on = 0;
    vd_srv_conn_t *c = r->conn;
    if (c == NULL || r->state == VD_REQ_WORKER) {
        return;
    }
    if (r->state == VD_REQ_ANSWERED && c->proto != VD_SRV_H2) {
        return; /* HTTP/1.1 answers are bounded by the write timeout */
    }
    atomic_fetch_add_explicit(&r->srv->st_timeouts, 1, memory_order_relaxed);
    vd_srv__conn_enter(c);
    if (c->proto == VD_SRV_H2) {
        vd_srv__h2_timeout(r);
    } else {
        vd_srv__h1_timeout(r);
    }
    vd_srv__conn_leave(c);
}

void vd_srv__timer_start(vd_srv_req_t *r, const struct timeval *tv)
{
    evtimer_add(&r->timer, tv);
    r->timer_on = 1;
}

void vd_srv__timer_stop(vd_srv_req_t *r)
{
    if (r->timer_on) {
        evtimer_del(&r->timer);
        r->timer_on = 0;
    }
}

vd_srv_req_t *vd_srv__req_new(vd_srv_conn_t *c)
{
    vd_srv_req_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->srv = c->srv;
    r->conn = c;
    r->cnext = c->reqs;
    if (c->reqs != NULL) {
        c->reqs->cprev = r;
    }
    c->reqs = r;
    memcpy(r->remote, c->remote, sizeof(r->remote));
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    evtimer_assign(&r->timer, c->srv->base, timer_cb, r);
    vd_srv__timer_start(r, c->srv->tv_request);
    vd_srv__conn_busy(c);
    return r;
}

void vd_srv__req_free(vd_srv_req_t *r)
{
    if (r == NULL) {
        return;
    }
    vd_srv__timer_stop(r);
    if (r->holds_slot) {
        r->srv->slots_used--;
        atomic_fetch_sub_explicit(&r->srv->st_in_flight, 1, memory_order_relaxed);
    }
    r->srv->body_bytes -= r->body_cap;
    free(r->buf);
    free(r->hdrs);
    free(r->body);
    free(r->resp.body);
    free(r);
}

void vd_srv__req_detach(vd_srv_req_t *r)
{
    vd_srv_conn_t *c = r->conn;
    if (c != NULL) {
        if (r->cprev != NULL) {
            r->cprev->cnext = r->cnext;
        } else {
            c->reqs = r->cnext;
        }
        if (r->cnext != NULL) {
            r->cnext->cprev = r->cprev;
        }
        r->cprev = r->cnext = NULL;
        r->conn = NULL;
        if (c->reqs == NULL && !c->dead) {
            vd_srv__conn_idle(c);
        }
    }
    if (r->state == VD_REQ_WORKER) {
        return; /* orphaned: workers.c frees it when the worker is done */
    }
    vd_srv__req_free(r);
}

/* Append raw bytes to the arena, keeping it NUL-terminated (the NUL is not counted until
 * end_string). The arena never holds more than header_max plus the fixed extras. */
static int arena_put(vd_srv_req_t *r, const char *p, size_t n, int lower)
{
    size_t cap_max = r->srv->cfg.header_max + 512;
    if (n > cap_max || r->buf_len + 1 > cap_max - n) {
        return -1;
    }
    if (r->buf_len + n + 1 > r->buf_cap) {
        size_t cap = r->buf_cap ? r->buf_cap : 512;
        while (cap < r->buf_len + n + 1) {
            cap *= 2;
        }
        if (cap > cap_max) {
            cap = cap_max;
        }
        char *nb = realloc(r->buf, cap);
        if (nb == NULL) {
            return -1;
        }
        r->buf = nb;
        r->buf_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        r->buf[r->buf_len + i] = (lower && ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    r->buf_len += n;
    r->buf[r->buf_len] = '\0';
    return 0;
}

/* Count header bytes against header_max; 0 when still within it. */
static int count_bytes(vd_srv_req_t *r, size_t n)
{
    r->header_bytes += n;
    if (r->header_bytes > r->srv->cfg.header_max) {
        r->hdr_error = 1;
        return -1;
    }
    return 0;
}

int vd_srv__req_append(vd_srv_req_t *r, const char *p, size_t n, uint32_t *off)
{
    if (count_bytes(r, n) != 0 || r->hdr_error) {
        return 0; /* 431 once the block is complete */
    }
    *off = (uint32_t)r->buf_len;
    if (arena_put(r, p, n, 0) != 0) {
        return -1;
    }
    r->buf_len++;
    return 0;
}

int vd_srv__req_piece(vd_srv_req_t *r, int kind, const char *p, size_t n)
{
    if (count_bytes(r, n) != 0 || r->hdr_error) {
        return 0; /* keep parsing; 431 once the block is complete */
    }
    if (kind == 0) {
        if (!r->has_url) {
            r->url_off = (uint32_t)r->buf_len;
            r->has_url = 1;
        }
        return arena_put(r, p, n, 0);
    }
    if (kind == 1 && !r->hdr_field_open) {
        if (r->n_hdr >= VD_SRV_MAX_HEADERS) {
            r->hdr_error = 2;
            return 0;
        }
        if (arena_put(r, "", 0, 0) != 0) {
            return -1;
        }
        r->buf_len++; /* end the URL or the previous value */
        r->hoff[r->n_hdr][0] = (uint32_t)r->buf_len;
        r->hdr_field_open = 1;
    } else if (kind == 2 && r->hdr_field_open) {
        r->buf_len++; /* end the name */
        if (arena_put(r, "", 0, 0) != 0) {
            return -1;
        }
        r->hoff[r->n_hdr][1] = (uint32_t)r->buf_len;
        r->n_hdr++;
        r->hdr_field_open = 0;
    }
    return arena_put(r, p, n, kind == 1);
}

int vd_srv__req_end_pieces(vd_srv_req_t *r)
{
    if (r->hdr_error) {
        return 0;
    }
    if (r->hdr_field_open) {
        r->buf_len++;
        if (arena_put(r, "", 0, 0) != 0) {
            return -1;
        }
        r->hoff[r->n_hdr][1] = (uint32_t)r->buf_len;
        r->n_hdr++;
        r->hdr_field_open = 0;
    }
    if (arena_put(r, "", 0, 0) != 0) {
        return -1;
    }
    r->buf_len++;
    return 0;
}

int vd_srv__req_add_header(vd_srv_req_t *r, const char *name, size_t nlen, const char *value,
                           size_t vlen, int lower)
{
    if (count_bytes(r, nlen + vlen) != 0 || r->hdr_error) {
        return 0;
    }
    if (r->n_hdr >= VD_SRV_MAX_HEADERS) {
        r->hdr_error = 2;
        return 0;
    }
    uint32_t no = (uint32_t)r->buf_len;
    if (arena_put(r, name, nlen, lower) != 0) {
        return -1;
    }
    r->buf_len++;
    uint32_t vo = (uint32_t)r->buf_len;
    if (arena_put(r, value, vlen, 0) != 0) {
        return -1;
    }
    r->buf_len++;
    r->hoff[r->n_hdr][0] = no;
    r->hoff[r->n_hdr][1] = vo;
    r->n_hdr++;
    return 0;
}

/* Bodies being received share one budget (body_budget, charged by the capacity actually
 * allocated), and in-flight slots are taken only by complete requests: a client opening
 * streams and never sending their bodies holds no slot, and no more budget than twice the
 * bytes it really sent. */
int vd_srv__req_body(vd_srv_req_t *r, const uint8_t *p, size_t n)
{
    vd_server_t *s = r->srv;
    size_t max = s->cfg.body_max;
    if (n > max || r->body_len > max - n) {
        vd_srv__answer(r, 413, "request body larger than the limit");
        return -1;
    }
    size_t need = r->body_len + n;
    if (need > r->body_cap) {
        /* Never more than twice what has arrived (plus 256 bytes), so the budget is charged
         * for bytes really sent; a declared Content-Length is used once half of it is here. */
        size_t cap = r->body_cap ? r->body_cap * 2 : 256;
        if (cap < need) {
            cap = need;
        }
        if (r->has_cl && r->content_length >= need && r->content_length / 2 <= need) {
            cap = (size_t)r->content_length;
        }
        if (cap > max) {
            cap = max;
        }
        size_t more = cap - r->body_cap;
        if (s->body_bytes + more > s->body_budget) {
            vd_srv__answer(r, 503, "too many request bodies in flight; retry later");
            return -1;
        }
        uint8_t *nb = realloc(r->body, cap);
        if (nb == NULL) {
            vd_srv__answer(r, 500, "out of memory");
            return -1;
        }
        s->body_bytes += more;
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

/* X-Request-Id is echoed and logged: only short ids of [A-Za-z0-9._-] are taken as sent. */
static int sane_request_id(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 128) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

int vd_srv__req_headers_done(vd_srv_req_t *r, const char *protocol)
{
    vd_http_request_t *v = &r->view;
    size_t n = r->n_hdr + (r->has_authority ? 1 : 0);
    int has_host = 0;
    if (r->hdr_error || r->buf == NULL || !r->has_url || !r->has_method) {
        return -1; /* over a limit or incomplete: only a minimal view (req_minimal) */
    }
    r->hdrs = calloc(n ? n : 1, sizeof(*r->hdrs));
    if (r->hdrs == NULL) {
        return -1;
    }
    const char *rid = NULL;
    for (size_t i = 0; i < r->n_hdr; i++) {
        r->hdrs[i].name = r->buf + r->hoff[i][0];
        r->hdrs[i].value = r->buf + r->hoff[i][1];
        if (strcmp(r->hdrs[i].name, "x-request-id") == 0 && rid == NULL) {
            rid = r->hdrs[i].value;
        }
        if (strcmp(r->hdrs[i].name, "host") == 0) {
            has_host = 1;
        }
    }
    v->n_headers = r->n_hdr;
    if (r->has_authority && !has_host) {
        r->hdrs[v->n_headers].name = "host";
        r->hdrs[v->n_headers].value = r->buf + r->authority_off;
        v->n_headers++;
    }
    v->headers = r->hdrs;
    v->method = r->buf + r->method_off;
    char *url = r->buf + r->url_off;
    char *q = strchr(url, '?');
    if (q != NULL) {
        *q = '\0';
        v->query = q + 1;
    }
    v->path = url;
    r->head = strcmp(v->method, "HEAD") == 0;
    if (rid != NULL && sane_request_id(rid)) {
        memcpy(r->request_id, rid, strlen(rid) + 1);
    } else {
        uint8_t rnd[16];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return -1;
        }
        vd_hex_encode(rnd, sizeof(rnd), r->request_id, sizeof(r->request_id));
    }
    v->request_id = r->request_id;
    v->remote_addr = r->remote;
    v->protocol = protocol;
    v->tls = r->conn->tls;
    return 0;
}

void vd_srv__req_minimal(vd_srv_req_t *r, const char *protocol)
{
    uint8_t rnd[16];
    r->view.method = "-";
    r->view.path = "-";
    r->view.protocol = protocol;
    if (r->request_id[0] == '\0' && RAND_bytes(rnd, sizeof(rnd)) == 1) {
        vd_hex_encode(rnd, sizeof(rnd), r->request_id, sizeof(r->request_id));
    }
}

const char *vd_srv__reason(int status)
{
    const char *s = http_status_str((enum http_status)status);
    return (s == NULL || s[0] == '<') ? "Unknown" : s;
}

void vd_srv__problem(vd_http_response_t *resp, int status, const char *detail)
{
    char buf[512];
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
    resp->content_type = "application/problem+json";
    int n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
                     vd_srv__reason(status), status, detail); /* detail: our own ASCII text */
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        return;
    }
    resp->body = malloc((size_t)n);
    if (resp->body != NULL) {
        memcpy(resp->body, buf, (size_t)n);
        resp->body_len = (size_t)n;
    }
}

/* Answer before (or instead of) reading the body: the protocol layer ignores the rest of it. */
void vd_srv__answer(vd_srv_req_t *r, int status, const char *detail)
{
    vd_srv__problem(&r->resp, status, detail);
    if (status == 503) {
        r->resp.headers[0].name = "retry-after";
        r->resp.headers[0].value = "1";
        r->resp.n_headers = 1;
        atomic_fetch_add_explicit(&r->srv->st_queue_full, 1, memory_order_relaxed);
    } else {
        r->resp.n_headers = 0;
    }
    if (status == 413 || status == 431) {
        atomic_fetch_add_explicit(&r->srv->st_too_large, 1, memory_order_relaxed);
    }
    r->state = VD_REQ_DISCARD;
    vd_srv__respond(r);
}

/* The header block is complete. Returns 0 to read the body, 1 when answered already. */
int vd_srv__req_headers(vd_srv_req_t *r, const char *protocol)
{
    vd_server_t *s = r->srv;
    if (r->hdr_error) {
        if (vd_srv__req_headers_done(r, protocol) != 0) {
            vd_srv__req_minimal(r, protocol);
        }
        vd_srv__answer(r, 431,
                       r->hdr_error == 2 ? "too many header fields" : "header block too large");
        return 1;
    }
    if (vd_srv__req_headers_done(r, protocol) != 0) {
        vd_srv__req_minimal(r, protocol);
        vd_srv__answer(r, 400, "malformed request");
        return 1;
    }
    /* The route first: a 401 or 404 says more than a 413, and costs as little. */
    vd_route_disposition_t d = s->h.on_headers(s->h.ud, &r->view, &r->resp);
    if (d == VD_ROUTE_ANSWERED) {
        r->state = VD_REQ_DISCARD;
        vd_srv__respond(r);
        return 1;
    }
    if (r->has_cl && r->content_length > s->cfg.body_max) {
        vd_srv__answer(r, 413, "request body larger than the limit");
        return 1;
    }
    if (d == VD_ROUTE_WORKER && s->slots_used >= s->cfg.queue_max) {
        vd_srv__answer(r, 503, "too many requests in flight; retry later"); /* before the body */
        return 1;
    }
    r->disp = d;
    r->state = VD_REQ_BODY;
    return 0;
}

/* The body is complete: run the handler inline or queue it for a worker. */
void vd_srv__req_ready(vd_srv_req_t *r)
{
    vd_server_t *s = r->srv;
    vd_srv__timer_stop(r);
    r->view.body = r->body ? r->body : (const uint8_t *)"";
    r->view.body_len = r->body_len;
    if (r->disp == VD_ROUTE_INLINE) {
        s->h.handle(s->h.ud, &r->view, &r->resp);
        vd_srv__respond(r);
        return;
    }
    if (s->slots_used >= s->cfg.queue_max) {
        vd_srv__answer(r, 503, "too many requests in flight; retry later");
        return;
    }
    s->slots_used++;
    r->holds_slot = 1;
    atomic_fetch_add_explicit(&s->st_in_flight, 1, memory_order_relaxed);
    r->state = VD_REQ_WORKER;
    atomic_fetch_add_explicit(&s->st_queue_depth, 1, memory_order_relaxed);
    vd_srv__pool_push(s->pool, r);
}

/* Final touches common to both protocols, the access log line, then the protocol's writer. */
void vd_srv__respond(vd_srv_req_t *r)
{
    vd_server_t *s = r->srv;
    vd_srv__timer_stop(r);
    if (r->resp.status < 100 || r->resp.status > 599) {
        vd_srv__problem(&r->resp, 500, "the handler produced no answer");
    }
    if (r->resp.n_headers > VD_HTTP_MAX_RESP_HEADERS) {
        r->resp.n_headers = VD_HTTP_MAX_RESP_HEADERS;
    }
    atomic_fetch_add_explicit(&s->st_requests, 1, memory_order_relaxed);
    vd_srv__access_log(s, r, r->resp.status, r->head ? 0 : r->resp.body_len,
                       r->resp.log_note[0] ? r->resp.log_note : NULL);
    if (r->conn->proto == VD_SRV_H2) {
        atomic_fetch_add_explicit(&s->st_h2, 1, memory_order_relaxed);
        vd_srv__h2_respond(r);
    } else {
        atomic_fetch_add_explicit(&s->st_http1, 1, memory_order_relaxed);
        vd_srv__h1_respond(r);
    }
}
