/*
 * verdict: the HTTP transport of `verdict serve` (issue #8 section 2). It knows nothing about
 * attestation: it accepts connections (h2 over TLS with ALPN, h2c with prior knowledge, and
 * HTTP/1.1 on the same ports), enforces the transport limits, and hands each complete request
 * to the handlers below; the routes live in verifier/api/.
 *
 * Threads: one network thread runs the libevent loop; `handle` runs on a pool of workers (four
 * per core by default: a handler may block, e.g. on a KDS fetch for a chip not seen before)
 * unless `on_headers` asks for it to run inline on the network thread (cheap routes: health,
 * JWKS, metrics). Crypto never runs on the network thread. A handler whose answer waits on
 * another thread (an appraisal's audit commit) defers it (vd_server_defer) instead of holding
 * its worker.
 */
#ifndef verdict__server_h
#define verdict__server_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

#define VD_HTTP_MAX_RESP_HEADERS 8

typedef struct vd_http_header {
    const char *name; /* lower case */
    const char *value;
} vd_http_header_t;

typedef struct vd_http_request {
    const char *method;
    const char *path;  /* without the query, not decoded */
    const char *query; /* after '?', or NULL */
    const vd_http_header_t *headers;
    size_t n_headers;
    const uint8_t *body; /* NULL until the body has been read (always set in `handle`) */
    size_t body_len;
    const char *remote_addr; /* "127.0.0.1:50432" */
    const char *request_id;  /* X-Request-Id as sent (if sane), else generated; echoed */
    const char *protocol;    /* "h2", "h2c", "http/1.1" or "http/1.0" */
    int tls;
} vd_http_request_t;

/* Filled by the handlers; the server copies nothing it does not need and frees `body`. */
typedef struct vd_http_response {
    int status;
    const char *content_type; /* static string, or NULL for none */
    uint8_t *body;            /* malloc'd; the server frees it */
    size_t body_len;
    vd_http_header_t headers[VD_HTTP_MAX_RESP_HEADERS]; /* static strings or `hdr_store` */
    size_t n_headers;
    char hdr_store[512]; /* room for header values built per response */
    char log_note[64];   /* extra word for the access log line (e.g. the appraisal status) */
    char route[64];      /* route template for logs and metrics ("/v1/policies/{name}") */
} vd_http_response_t;

typedef enum vd_route_disposition {
    VD_ROUTE_WORKER = 0, /* read the body, then call `handle` on a worker thread */
    VD_ROUTE_INLINE,     /* read the body, then call `handle` on the network thread */
    VD_ROUTE_ANSWERED,   /* `resp` is the answer (401, 404, 405, ...); the body is not read */
} vd_route_disposition_t;

typedef struct vd_server_handlers {
    /* Network thread, when the headers are complete (body not read yet). Must not block.
     * Header names are lower case for both protocols; on HTTP/2, :authority is also given as
     * "host" when the request has no host header. Runs before the Content-Length check, so a
     * 401 wins over a 413. On HTTP/1.1, answering (VD_ROUTE_ANSWERED) a request that has a
     * body closes the connection after the answer (the body is never read). */
    vd_route_disposition_t (*on_headers)(void *ud, const vd_http_request_t *req,
                                         vd_http_response_t *resp);
    /* The request with its body; fill `resp`. */
    void (*handle)(void *ud, const vd_http_request_t *req, vd_http_response_t *resp);
    /* SIGHUP, on the network thread, after TLS material was reloaded. May be NULL. */
    void (*on_reload)(void *ud);
    void *ud;
} vd_server_handlers_t;

#define VD_SERVER_MAX_LISTEN 8

/* Every field: 0 / NULL means the default in brackets. */
typedef struct vd_server_config {
    const char *listen[VD_SERVER_MAX_LISTEN]; /* "host:port", "[::1]:port" [127.0.0.1:8080] */
    size_t n_listen;
    const char *tls_cert; /* PEM chain; with tls_key, the listeners speak TLS (ALPN h2, http/1.1) */
    const char *tls_key;
    unsigned workers;         /* [4 x number of cores] */
    unsigned queue_max;       /* requests on or queued for a worker before 503 [64 x cores];
                                 request bodies being received share queue_max * body_max bytes
                                 (503 past it) */
    size_t body_max;          /* [256 KiB] -> 413 */
    size_t header_max;        /* total header bytes [16 KiB] -> 431 */
    unsigned max_streams;     /* concurrent streams per HTTP/2 connection [100] */
    unsigned max_connections; /* [4096] */
    long request_timeout_ms;  /* headers + body must arrive within [10 000] */
    long idle_timeout_ms;     /* keep-alive without a request [60 000] */
    long shutdown_grace_ms;   /* SIGTERM: finish in-flight work within [10 000] */
    int log_fd;               /* access log, one JSON line per request [1 = stdout]; -1 off */
} vd_server_config_t;

/* Counters for /metrics; monotonic except the gauges. */
typedef struct vd_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_open; /* gauge */
    uint64_t requests;
    uint64_t requests_h2;
    uint64_t requests_http1;
    uint64_t rejected_queue_full; /* 503 */
    uint64_t rejected_too_large;  /* 413/431 */
    uint64_t timeouts;
    uint64_t protocol_errors;
    uint64_t queue_depth; /* gauge: requests waiting for a worker */
    uint64_t in_flight;   /* gauge */
} vd_server_stats_t;

typedef struct vd_server vd_server_t;

/* A request whose answer is finished after `handle` returned (vd_server_defer). */
typedef struct vd_http_deferred vd_http_deferred_t;

/**
 * In `handle` on a worker: the answer in `resp` is not final when `handle` returns, because it
 * waits on something another thread finishes (the audit commit of an appraisal); the worker
 * goes on to the next request meanwhile. Call vd_server_complete exactly once, from any
 * thread, when `resp` is final; from the moment that can happen, `handle` must leave `resp`
 * alone. NULL when `handle` runs inline on the network thread: answer before returning then.
 */
vd_http_deferred_t *vd_server_defer(vd_http_response_t *resp);
void vd_server_complete(vd_http_deferred_t *d);

/**
 * Bind every listener and start the workers (nothing is served until vd_server_run).
 * VD_E_CONFIG (bad address, unreadable TLS material), VD_E_IO (bind failed, with the errno
 * text), VD_E_NOMEM.
 */
vd_err_t vd_server_new(const vd_server_config_t *cfg, const vd_server_handlers_t *h,
                       vd_server_t **out, vd_error_t *err) __attribute__((warn_unused_result));

/** The address a listener is actually bound to ("127.0.0.1:43121" after port 0). */
const char *vd_server_listen_addr(const vd_server_t *s, size_t i);
size_t vd_server_listen_count(const vd_server_t *s);

/**
 * Serve until SIGTERM or SIGINT (or vd_server_stop): then stop accepting, finish in-flight
 * requests within the grace period, and return. SIGHUP reloads TLS material and calls
 * on_reload. Installs its own signal handling on the network thread.
 */
vd_err_t vd_server_run(vd_server_t *s, vd_error_t *err) __attribute__((warn_unused_result));

/** Ask a running server to shut down gracefully. Thread-safe, async-signal-safe. */
void vd_server_stop(vd_server_t *s);

void vd_server_stats(vd_server_t *s, vd_server_stats_t *out);

/** 1 while every worker thread is running (for /readyz). */
int vd_server_workers_ready(vd_server_t *s);

void vd_server_free(vd_server_t **pp);

#endif
