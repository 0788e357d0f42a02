/*
 * HTTP/2 (RFC 9113) on a connection, with nghttp2: one session per connection, one request
 * object per stream (stream user data, freed or orphaned in on_stream_close, STYLE.md 1.4.3).
 * nghttp2 validates the framing, HPACK, flow control and HTTP messaging rules; this file adds
 * the service limits: SETTINGS_MAX_CONCURRENT_STREAMS = max_streams (excess streams are
 * refused by nghttp2), header bytes (431) and body bytes (413 as DATA arrives; nghttp2 checks
 * the DATA against content-length. Not before any DATA: answering then and resetting the
 * stream made curl 7.88 fail the upload instead of showing the 413, tests/api/
 * test_client_faults.py), the request timeout per stream, and a budget of client
 * RST_STREAMs against rapid reset (CVE-2023-44487): VD_SRV_RST_ALLOWANCE plus one per answered
 * request, past which the connection gets GOAWAY(ENHANCE_YOUR_CALM) and is closed.
 *
 * Frames are produced with nghttp2_session_mem_send into the bufferevent only while less than
 * VD_SRV_OUTPUT_HIGH is queued, and input is not read while the output is that full, so a
 * client that does not read cannot make us buffer without bound.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "server_internal.h"

/* Set while nghttp2_session_mem_recv runs: callbacks must not call mem_send then. */
static _Thread_local int in_recv;

static vd_srv_req_t *stream_req(nghttp2_session *session, int32_t id)
{
    return nghttp2_session_get_stream_user_data(session, id);
}

static ssize_t body_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    vd_srv_req_t *r = source->ptr;
    (void)session;
    (void)stream_id;
    (void)user_data;
    size_t left = r->resp.body_len - r->resp_off;
    size_t n = left < length ? left : length;
    memcpy(buf, r->resp.body + r->resp_off, n);
    r->resp_off += n;
    if (r->resp_off == r->resp.body_len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    vd_srv_conn_t *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    vd_srv_req_t *r = vd_srv__req_new(c);
    if (r == NULL) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    }
    r->stream_id = frame->hd.stream_id;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, r);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0; /* trailers are ignored */
    }
    vd_srv_req_t *r = stream_req(session, frame->hd.stream_id);
    if (r == NULL || r->state != VD_REQ_HEADERS) {
        return 0;
    }
    const char *n = (const char *)name, *v = (const char *)value;
    int rc = 0;
    if (namelen > 0 && n[0] == ':') {
        if (namelen == 7 && memcmp(n, ":method", 7) == 0) {
            rc = vd_srv__req_append(r, v, valuelen, &r->method_off);
            r->has_method = !r->hdr_error;
        } else if (namelen == 5 && memcmp(n, ":path", 5) == 0) {
            rc = vd_srv__req_append(r, v, valuelen, &r->url_off);
            r->has_url = !r->hdr_error;
        } else if (namelen == 10 && memcmp(n, ":authority", 10) == 0) {
            rc = vd_srv__req_append(r, v, valuelen, &r->authority_off);
            r->has_authority = !r->hdr_error;
        }
    } else {
        rc = vd_srv__req_add_header(r, n, namelen, v, valuelen, 0);
    }
    return rc != 0 ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    vd_srv_conn_t *c = ud;
    vd_srv_req_t *r;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        r = stream_req(session, frame->hd.stream_id);
        if (r == NULL) {
            return 0;
        }
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && r->state == VD_REQ_HEADERS) {
            if (vd_srv__req_headers(r, c->tls ? "h2" : "h2c") != 0) {
                return 0;
            }
        }
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && r->state == VD_REQ_BODY) {
            vd_srv__req_ready(r);
        }
        return 0;
    case NGHTTP2_DATA:
        r = stream_req(session, frame->hd.stream_id);
        if (r != NULL && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && r->state == VD_REQ_BODY) {
            vd_srv__req_ready(r);
        }
        return 0;
    case NGHTTP2_RST_STREAM:
        c->rst_recv++;
        if (c->rst_recv > VD_SRV_RST_ALLOWANCE + c->answered && !c->goaway_sent) {
            atomic_fetch_add_explicit(&c->srv->st_proto_errors, 1, memory_order_relaxed);
            nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
            c->goaway_sent = 1;
        }
        return 0;
    default:
        return 0;
    }
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    vd_srv_req_t *r = stream_req(session, stream_id);
    if (r == NULL || r->state != VD_REQ_BODY) {
        return 0; /* answered already: ignored (flow control is still credited) */
    }
    (void)vd_srv__req_body(r, data, len); /* answers 413 or 503 itself */
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *ud)
{
    (void)error_code;
    (void)ud;
    vd_srv_req_t *r = stream_req(session, stream_id);
    if (r != NULL) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        vd_srv__req_detach(r);
    }
    return 0;
}

/* An answer sent before the request's body ended: reset the client's side (RFC 9113 8.1). */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    vd_srv_conn_t *c = ud;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        return 0;
    }
    vd_srv_req_t *r = stream_req(session, frame->hd.stream_id);
    if (r == NULL) {
        return 0;
    }
    c->answered++; /* an answer that reached the wire earns back one reset */
    if (r->close_after &&
        nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
    }
    return 0;
}

vd_err_t vd_srv__h2_setup(vd_server_t *s, vd_error_t *err)
{
    nghttp2_session_callbacks *cb = NULL;
    if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&s->h2_opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        return VD_ERR(err, VD_E_NOMEM, "nghttp2 callbacks");
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    s->h2_cbs = cb;
    s->h2_stage = evbuffer_new();
    if (s->h2_stage == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "evbuffer");
    }
    return VD_OK;
}

int vd_srv__h2_start(vd_srv_conn_t *c)
{
    vd_server_t *s = c->srv;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->cfg.max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)s->cfg.header_max},
    };
    if (nghttp2_session_server_new2(&c->h2, s->h2_cbs, c, s->h2_opt) != 0) {
        return -1;
    }
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0) {
        return -1;
    }
    vd_srv__conn_idle(c);
    return 0;
}

/* nghttp2's frames into `to` while it holds less than VD_SRV_OUTPUT_HIGH; -1 (the connection
 * closed) if the session failed. */
static int produce(vd_srv_conn_t *c, struct evbuffer *to)
{
    while (evbuffer_get_length(to) < VD_SRV_OUTPUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0) {
            vd_srv__conn_close(c);
            return -1;
        }
        if (n == 0) {
            break;
        }
        evbuffer_add(to, data, (size_t)n);
    }
    return 0;
}

void vd_srv__h2_flush(vd_srv_conn_t *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->dead || c->h2 == NULL || in_recv) {
        return;
    }
    if (!c->tls && evbuffer_get_length(out) == 0) {
        /* Cleartext with nothing queued: the frames are written to the socket here. Queued on
         * the bufferevent, each answer cost an epoll_ctl to watch for writability, a loop turn,
         * the writev, and an epoll_ctl to stop watching. What the socket does not take (or an
         * error) is left to the bufferevent, which then goes on as it always did. */
        struct evbuffer *stage = c->srv->h2_stage;
        for (;;) {
            if (produce(c, stage) != 0) {
                evbuffer_drain(stage, evbuffer_get_length(stage));
                return;
            }
            size_t n = evbuffer_get_length(stage);
            if (n == 0 || evbuffer_write(stage, c->fd) != (int)n) {
                break; /* all sent, or the socket is full */
            }
        }
        evbuffer_add_buffer(out, stage);
    } else if (produce(c, out) != 0) {
        return;
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        vd_srv__conn_flushed_close(c, 0);
        return;
    }
    if (evbuffer_get_length(out) < VD_SRV_OUTPUT_HIGH && !c->closing) {
        bufferevent_enable(c->bev, EV_READ);
    }
}

/* A flood (CONTINUATION frames without end, control frames whose answers pile up) is fatal to
 * the nghttp2 session, which then queues nothing: tell the client why with a GOAWAY of our own
 * before closing (RFC 9113 section 6.8; tests/server/h2conform.py). */
static void raw_goaway(vd_srv_conn_t *c, uint32_t code)
{
    if (c->goaway_sent) {
        return;
    }
    uint32_t last = (uint32_t)nghttp2_session_get_last_proc_stream_id(c->h2) & 0x7FFFFFFFu;
    uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        f[9 + i] = (uint8_t)(last >> (24 - 8 * i));
        f[13 + i] = (uint8_t)(code >> (24 - 8 * i));
    }
    evbuffer_add(bufferevent_get_output(c->bev), f, sizeof(f));
    c->goaway_sent = 1;
}

void vd_srv__h2_read(vd_srv_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (!c->dead && !c->closing && evbuffer_get_length(in) > 0) {
        if (evbuffer_get_length(out) >= VD_SRV_OUTPUT_HIGH) {
            bufferevent_disable(c->bev, EV_READ); /* h2_flush resumes */
            break;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
            break;
        }
        in_recv = 1;
        ssize_t n = nghttp2_session_mem_recv(c->h2, v.iov_base, v.iov_len);
        in_recv = 0;
        if (n < 0) {
            /* Bad framing: nghttp2 queued GOAWAY when it could; send it, then close. */
            atomic_fetch_add_explicit(&c->srv->st_proto_errors, 1, memory_order_relaxed);
            evbuffer_drain(in, evbuffer_get_length(in));
            vd_srv__h2_flush(c);
            if (!c->dead) {
                if (n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
                    raw_goaway(c, NGHTTP2_ENHANCE_YOUR_CALM);
                }
                vd_srv__conn_flushed_close(c, 0);
            }
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    vd_srv__h2_flush(c);
}

void vd_srv__h2_respond(vd_srv_req_t *r)
{
    vd_srv_conn_t *c = r->conn;
    vd_http_response_t *resp = &r->resp;
    char status[8], clen[24];
    nghttp2_nv nv[4 + VD_HTTP_MAX_RESP_HEADERS];
    size_t n = 0;
#define NV(N, V)                                                                                   \
    nv[n++] = (nghttp2_nv){(uint8_t *)(uintptr_t)(N), (uint8_t *)(uintptr_t)(V), strlen(N),        \
                           strlen(V), NGHTTP2_NV_FLAG_NONE}
    snprintf(status, sizeof(status), "%d", resp->status);
    snprintf(clen, sizeof(clen), "%zu", resp->body_len);
    NV(":status", status);
    if (resp->content_type != NULL) {
        NV("content-type", resp->content_type);
    }
    NV("content-length", clen);
    NV("x-request-id", r->request_id);
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (resp->headers[i].name != NULL && resp->headers[i].value != NULL) {
            NV(resp->headers[i].name, resp->headers[i].value);
        }
    }
#undef NV
    nghttp2_data_provider prd = {.source.ptr = r, .read_callback = body_read};
    int with_body = !r->head && resp->body_len > 0;
    if (with_body) {
        /* Flow control lets a client stall an answer forever; idle_timeout bounds it. */
        vd_srv__timer_stop(r);
        vd_srv__timer_start(r, c->srv->tv_idle);
    }
    r->close_after = r->state == VD_REQ_DISCARD;
    r->state = VD_REQ_ANSWERED;
    if (nghttp2_submit_response(c->h2, r->stream_id, nv, n, with_body ? &prd : NULL) != 0) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_INTERNAL_ERROR);
    }
    vd_srv__h2_flush(c);
}

void vd_srv__h2_timeout(vd_srv_req_t *r)
{
    vd_srv_conn_t *c = r->conn;
    if (r->state == VD_REQ_ANSWERED || r->state == VD_REQ_DISCARD) {
        /* The client does not take the answer (no WINDOW_UPDATE): drop the stream. */
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
        vd_srv__h2_flush(c);
        return;
    }
    if (r->state == VD_REQ_BODY) {
        vd_srv__answer(r, 408, "the request did not arrive in time");
        return;
    }
    /* The header block itself is late (CONTINUATION trickle): the connection goes. */
    nghttp2_session_terminate_session(c->h2, NGHTTP2_ENHANCE_YOUR_CALM);
    c->goaway_sent = 1;
    vd_srv__h2_flush(c);
}

void vd_srv__h2_idle(vd_srv_conn_t *c)
{
    nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
    c->goaway_sent = 1;
    vd_srv__h2_flush(c);
}

void vd_srv__h2_drain(vd_srv_conn_t *c)
{
    if (!c->goaway_sent) {
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                              NULL, 0);
        c->goaway_sent = 1;
    }
    vd_srv__h2_flush(c);
}
