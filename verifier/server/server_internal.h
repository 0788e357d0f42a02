/*
 * verdict server internals: the objects shared by the transport files (server.c, listener.c,
 * tls.c, h2.c, http1.c, request.c, workers.c, accesslog.c). Nothing here is public.
 *
 * Ownership and threads. Everything below belongs to the network thread (the libevent loop),
 * except a request while it sits in the worker queue or runs `handle` on a worker: then only
 * that worker touches `view`, `body` and `resp`, and the loop touches only `conn` and the list
 * links (to orphan it when its stream or connection goes away). A request comes back to the
 * loop through the done queue (workers.c) and is answered or, if orphaned, freed there.
 */
#ifndef verdict__server_internal_h
#define verdict__server_internal_h

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "verdict/server.h"

#define VD_SRV_WORKERS_PER_CORE 4 /* the default pool: see vd_server_new */

/* Header fields kept per request; more is a 431 (typical clients send 5 to 20). */
#define VD_SRV_MAX_HEADERS 100
/* Output queued on a connection before we stop producing (HTTP/2 frames, pipelined answers). */
#define VD_SRV_OUTPUT_HIGH (64 * 1024)
/* An HTTP/1.1 connection answered before its body was read is closed "lingering": we read and
 * discard at most this much, for at most VD_SRV_LINGER_MS, so the client sees the answer
 * instead of a reset. */
#define VD_SRV_LINGER_BYTES (1024 * 1024)
#define VD_SRV_LINGER_MS    2000
/* HTTP/2 rapid reset (CVE-2023-44487): a client may reset this many streams, plus one per
 * answered request, before the connection is closed with GOAWAY(ENHANCE_YOUR_CALM). */
#define VD_SRV_RST_ALLOWANCE 100
/* accept() out of descriptors (or kernel memory): the listener pauses this long, then retries. */
#define VD_SRV_ACCEPT_PAUSE_MS 250

typedef struct vd_srv_conn vd_srv_conn_t;
typedef struct vd_srv_req vd_srv_req_t;
typedef struct vd_srv_pool vd_srv_pool_t;

enum vd_srv_proto { VD_SRV_SNIFF = 0, VD_SRV_H2, VD_SRV_HTTP1 };

enum vd_srv_req_state {
    VD_REQ_HEADERS = 0, /* reading the header block */
    VD_REQ_BODY,        /* reading the body */
    VD_REQ_DISCARD,     /* answered before the body; the rest is ignored */
    VD_REQ_WORKER,      /* queued for or running on a worker */
    VD_REQ_ANSWERED,    /* response submitted */
};

struct vd_srv_req {
    vd_server_t *srv;
    vd_srv_conn_t *conn;         /* NULL once orphaned (stream or connection gone) */
    vd_srv_req_t *cprev, *cnext; /* the connection's requests */
    vd_srv_req_t *qnext;         /* worker queue / done queue */
    int32_t stream_id;           /* HTTP/2 */
    enum vd_srv_req_state state;
    vd_route_disposition_t disp; /* from on_headers, used when the body is complete */
    unsigned holds_slot : 1;     /* counted in the in-flight bound */
    unsigned timer_on : 1;       /* `timer` is armed */
    unsigned head : 1;           /* HEAD: no body in the answer */
    unsigned close_after : 1;    /* HTTP/1.1: Connection: close */
    unsigned hdr_field_open : 1; /* HTTP/1.1 parser: inside a header name (vs value) */
    unsigned hdr_error : 2;      /* 1: header bytes over the limit, 2: too many fields */
    unsigned has_cl : 1;
    unsigned char deferred; /* `handle` called vd_server_defer (not a bit field: a worker sets
                               it while the loop may write the bits above) */
    atomic_int refs;        /* on a worker: the worker's and a deferred completer's references */
    struct timespec t0;
    struct event timer; /* request timeout while headers and body arrive */

    /* Header arena: NUL-terminated strings; offsets until the block is complete. */
    char *buf;
    size_t buf_len, buf_cap;
    size_t header_bytes;
    uint32_t hoff[VD_SRV_MAX_HEADERS][2];
    size_t n_hdr;
    uint32_t url_off, method_off, authority_off;
    int has_url, has_method, has_authority;
    vd_http_header_t *hdrs;
    uint64_t content_length;

    uint8_t *body;
    size_t body_len, body_cap;

    char remote[64];
    char request_id[129];
    vd_http_request_t view;
    vd_http_response_t resp;
    size_t resp_off; /* HTTP/2: response body bytes handed to nghttp2 */
};

struct vd_srv_conn {
    vd_server_t *srv;
    struct bufferevent *bev;
    int fd;
    enum vd_srv_proto proto;
    int tls;
    int handshaken;
    char remote[64];
    struct event timer; /* handshake and sniffing, idle, lingering close */
    int timer_on;
    vd_srv_conn_t *prev, *next;
    vd_srv_req_t *reqs;
    int closing;       /* close once the output has been written */
    int linger_wanted; /* with closing: linger once written */
    int lingering;     /* HTTP/1.1: read and discard until EOF or the linger bound */
    size_t linger_bytes;
    int peer_eof; /* the client shut down its sending side */
    int dead;     /* freed at the end of the current callback */
    int in_cb;

    /* HTTP/2 */
    nghttp2_session *h2;
    unsigned n_streams;
    uint64_t rst_recv, answered;
    int goaway_sent;

    /* HTTP/1.1 */
    http_parser parser;
    vd_srv_req_t *cur; /* the request being read or answered */
};

struct vd_server {
    vd_server_config_t cfg;
    vd_server_handlers_t h;
    struct event_base *base;
    struct vd_srv_listener {
        vd_server_t *s;
        struct evconnlistener *lev;
        struct event *resume; /* re-enables `lev` after an accept() failure */
        int paused;           /* said so in the log; cleared by the next accepted connection */
        char addr[64];
    } lis[VD_SERVER_MAX_LISTEN];
    size_t n_listen;
    char *tls_cert, *tls_key; /* copies of the configured paths */
    SSL_CTX *ssl_ctx;         /* for new connections; replaced on SIGHUP */
    nghttp2_session_callbacks *h2_cbs;
    nghttp2_option *h2_opt;
    struct evbuffer *h2_stage; /* cleartext HTTP/2 frames on their way to the socket (h2.c) */
    vd_srv_conn_t *conns;
    unsigned n_conns;
    unsigned slots_used; /* requests on or queued for a worker (network thread only) */
    size_t body_bytes;   /* request body buffers allocated (network thread only) */
    size_t body_budget;  /* their bound: queue_max * body_max */
    vd_srv_pool_t *pool;
    struct event *sig_term, *sig_int, *sig_hup, *stop_ev, *grace_ev;
    int stop_pipe[2];
    int draining;
    /* libevent "common timeouts": many timers of one duration cost O(1) each. */
    const struct timeval *tv_request, *tv_idle, *tv_linger;

    _Atomic uint64_t st_accepted, st_open, st_requests, st_h2, st_http1, st_queue_full,
        st_too_large, st_timeouts, st_proto_errors, st_queue_depth, st_in_flight;
};

/* listener.c */
vd_err_t vd_srv__listen(vd_server_t *s, const char *addr, size_t i, vd_error_t *err);
void vd_srv__listeners_close(vd_server_t *s);
void vd_srv__conn_read(vd_srv_conn_t *c);  /* input arrived (or was left unparsed) */
void vd_srv__conn_close(vd_srv_conn_t *c); /* free now, or at the end of the callback */
/* Close once the output is written; `linger`: then read and discard a while (HTTP/1.1 answered
 * before its body was read, so the client sees the answer instead of a reset). */
void vd_srv__conn_flushed_close(vd_srv_conn_t *c, int linger);
void vd_srv__conn_idle(vd_srv_conn_t *c);  /* no request in progress: arm the idle timer */
void vd_srv__conn_busy(vd_srv_conn_t *c);  /* a request started: disarm it */
void vd_srv__conn_drain(vd_srv_conn_t *c); /* graceful shutdown began */
void vd_srv__conn_enter(vd_srv_conn_t *c); /* around every callback that may close it */
void vd_srv__conn_leave(vd_srv_conn_t *c);

/* tls.c */
vd_err_t vd_srv__tls_ctx_new(const char *cert, const char *key, SSL_CTX **out, vd_error_t *err);
void vd_srv__tls_reload(vd_server_t *s);

/* h2.c */
vd_err_t vd_srv__h2_setup(vd_server_t *s, vd_error_t *err);
int vd_srv__h2_start(vd_srv_conn_t *c);
void vd_srv__h2_read(vd_srv_conn_t *c);
void vd_srv__h2_flush(vd_srv_conn_t *c);
void vd_srv__h2_respond(vd_srv_req_t *r);
void vd_srv__h2_drain(vd_srv_conn_t *c);
void vd_srv__h2_timeout(vd_srv_req_t *r);
void vd_srv__h2_idle(vd_srv_conn_t *c);

/* http1.c */
void vd_srv__h1_start(vd_srv_conn_t *c);
void vd_srv__h1_read(vd_srv_conn_t *c);
void vd_srv__h1_respond(vd_srv_req_t *r);
void vd_srv__h1_drain(vd_srv_conn_t *c);
void vd_srv__h1_timeout(vd_srv_req_t *r);
int vd_srv__h1_sniff(const uint8_t *p, size_t len);

/* request.c: the request object shared by both protocols */
vd_srv_req_t *vd_srv__req_new(vd_srv_conn_t *c);
void vd_srv__req_free(vd_srv_req_t *r);
void vd_srv__req_detach(vd_srv_req_t *r); /* unlink from its connection; free unless on a worker */
int vd_srv__req_add_header(vd_srv_req_t *r, const char *name, size_t nlen, const char *value,
                           size_t vlen, int lower);
/* 0, or -1 when the request was answered instead (413 over body_max, 503 over the shared
 * body budget, 500 without memory). */
int vd_srv__req_body(vd_srv_req_t *r, const uint8_t *p, size_t n);
/* Header bytes: 0 when stored or counted over the limit (hdr_error, a 431 later), -1 no memory */
int vd_srv__req_append(vd_srv_req_t *r, const char *p, size_t n, uint32_t *off); /* string */
int vd_srv__req_piece(vd_srv_req_t *r, int kind, const char *p, size_t n);       /* HTTP/1.1: 0 URL,
                                                                         1 header name, 2 value */
int vd_srv__req_end_pieces(vd_srv_req_t *r);
int vd_srv__req_headers(vd_srv_req_t *r, const char *protocol); /* 0 read body, 1 answered */
int vd_srv__req_headers_done(vd_srv_req_t *r, const char *protocol);
void vd_srv__req_ready(vd_srv_req_t *r);
void vd_srv__req_minimal(vd_srv_req_t *r, const char *protocol); /* "-" view for errors */
void vd_srv__problem(vd_http_response_t *resp, int status, const char *detail);
void vd_srv__answer(vd_srv_req_t *r, int status, const char *detail);
void vd_srv__respond(vd_srv_req_t *r);
const char *vd_srv__reason(int status);
/* The request's timer: receiving (tv_request) or, on HTTP/2, sending the answer (tv_idle). */
void vd_srv__timer_start(vd_srv_req_t *r, const struct timeval *tv);
void vd_srv__timer_stop(vd_srv_req_t *r);

/* workers.c */
vd_err_t vd_srv__pool_new(vd_server_t *s, unsigned n, vd_srv_pool_t **out, vd_error_t *err);
void vd_srv__pool_push(vd_srv_pool_t *p, vd_srv_req_t *r);
int vd_srv__pool_ready(vd_srv_pool_t *p);
void vd_srv__pool_free(vd_srv_pool_t **pp);

/* accesslog.c */
void vd_srv__access_log(vd_server_t *s, const vd_srv_req_t *r, int status, size_t bytes,
                        const char *note);

#endif
