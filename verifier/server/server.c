/*
 * The server's lifecycle: configuration defaults, creating the loop, listeners, TLS context
 * and workers, running until SIGTERM/SIGINT or vd_server_stop, the graceful drain (listeners
 * closed, GOAWAY on HTTP/2, Connection: close on HTTP/1.1, in-flight requests finished within
 * shutdown_grace_ms), SIGHUP (new SSL_CTX for new connections, then on_reload), and freeing.
 * The process ignores SIGPIPE from vd_server_new on: a client closing its socket must not
 * kill the server while we write to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "server_internal.h"

static void loop_exit_cb(evutil_socket_t fd, short what, void *arg)
{
    vd_server_t *s = arg;
    (void)fd;
    (void)what;
    event_base_loopexit(s->base, NULL);
}

static void begin_shutdown(vd_server_t *s)
{
    if (s->draining) {
        return;
    }
    s->draining = 1;
    vd_srv__listeners_close(s);
    vd_srv_conn_t *c = s->conns;
    while (c != NULL) {
        vd_srv_conn_t *next = c->next;
        vd_srv__conn_drain(c);
        c = next;
    }
    if (s->n_conns == 0) {
        event_base_loopexit(s->base, NULL);
        return;
    }
    long ms = s->cfg.shutdown_grace_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    s->grace_ev = evtimer_new(s->base, loop_exit_cb, s);
    if (s->grace_ev == NULL || evtimer_add(s->grace_ev, &tv) != 0) {
        event_base_loopexit(s->base, NULL);
    }
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    vd_server_t *s = arg;
    (void)what;
    if (sig == SIGHUP) {
        vd_srv__tls_reload(s);
        if (s->h.on_reload != NULL) {
            s->h.on_reload(s->h.ud);
        }
        return;
    }
    begin_shutdown(s);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    char buf[64];
    (void)what;
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    begin_shutdown(arg);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

vd_err_t vd_server_new(const vd_server_config_t *cfg, const vd_server_handlers_t *h,
                       vd_server_t **out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    vd_server_t *s = NULL;
    *out = NULL;
    if (cfg == NULL || h == NULL || h->on_headers == NULL || h->handle == NULL) {
        return VD_ERR(err, VD_E_USAGE, "server: configuration and both handlers are required");
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        return VD_ERR(err, VD_E_CONFIG, "TLS needs both a certificate and a key");
    }
    if (cfg->n_listen > VD_SERVER_MAX_LISTEN) {
        return VD_ERR(err, VD_E_CONFIG, "at most %d listen addresses", VD_SERVER_MAX_LISTEN);
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "server");
    }
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->cfg = *cfg;
    s->h = *h;
    vd_server_config_t *c = &s->cfg;
    if (c->n_listen == 0) {
        c->listen[0] = "127.0.0.1:8080";
        c->n_listen = 1;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cores = ncpu > 0 && ncpu < 256 ? (unsigned)ncpu : 1;
    if (c->workers == 0) {
        /* A handler may block (a KDS fetch for a chip not seen before, a policy write, an
         * audit query): four per core keep the cores busy meanwhile. An appraisal's audit
         * commit holds no worker (vd_server_defer). */
        c->workers = VD_SRV_WORKERS_PER_CORE * cores;
    }
    if (c->queue_max == 0) {
        c->queue_max = 64 * cores;
    }
    if (c->body_max == 0) {
        c->body_max = 256 * 1024;
    }
    if (c->header_max == 0) {
        c->header_max = 16 * 1024;
    }
    if (c->header_max > 64 * 1024) {
        c->header_max = 64 * 1024; /* below http-parser's compiled-in 80 KiB */
    }
    if (c->max_streams == 0) {
        c->max_streams = 100;
    }
    if (c->max_connections == 0) {
        c->max_connections = 4096;
    }
    if (c->request_timeout_ms <= 0) {
        c->request_timeout_ms = 10000;
    }
    if (c->idle_timeout_ms <= 0) {
        c->idle_timeout_ms = 60000;
    }
    if (c->shutdown_grace_ms <= 0) {
        c->shutdown_grace_ms = 10000;
    }
    s->body_budget = (size_t)c->queue_max * c->body_max;
    if (c->log_fd == 0) {
        c->log_fd = 1;
    }
    signal(SIGPIPE, SIG_IGN);
    s->base = event_base_new();
    if (s->base == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "event base");
        goto out;
    }
    struct timeval tv_request = {.tv_sec = c->request_timeout_ms / 1000,
                                 .tv_usec = (c->request_timeout_ms % 1000) * 1000};
    struct timeval tv_idle = {.tv_sec = c->idle_timeout_ms / 1000,
                              .tv_usec = (c->idle_timeout_ms % 1000) * 1000};
    struct timeval tv_linger = {.tv_sec = VD_SRV_LINGER_MS / 1000,
                                .tv_usec = (VD_SRV_LINGER_MS % 1000) * 1000};
    s->tv_request = event_base_init_common_timeout(s->base, &tv_request);
    s->tv_idle = event_base_init_common_timeout(s->base, &tv_idle);
    s->tv_linger = event_base_init_common_timeout(s->base, &tv_linger);
    if (s->tv_request == NULL || s->tv_idle == NULL || s->tv_linger == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "event timeouts");
        goto out;
    }
    rc = vd_srv__h2_setup(s, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (c->tls_cert != NULL) {
        s->tls_cert = dup_str(c->tls_cert);
        s->tls_key = dup_str(c->tls_key);
        if (s->tls_cert == NULL || s->tls_key == NULL) {
            rc = VD_ERR(err, VD_E_NOMEM, "TLS paths");
            goto out;
        }
        rc = vd_srv__tls_ctx_new(s->tls_cert, s->tls_key, &s->ssl_ctx, err);
        if (rc != VD_OK) {
            goto out;
        }
    }
    for (size_t i = 0; i < c->n_listen; i++) {
        if (c->listen[i] == NULL) {
            rc = VD_ERR(err, VD_E_CONFIG, "listen address %zu is empty", i);
            goto out;
        }
        rc = vd_srv__listen(s, c->listen[i], i, err);
        if (rc != VD_OK) {
            goto out;
        }
        s->n_listen++;
    }
    /* The listen strings are the caller's: not kept past this call. */
    for (size_t i = 0; i < c->n_listen; i++) {
        c->listen[i] = NULL;
    }
    c->tls_cert = c->tls_key = NULL;
    if (pipe(s->stop_pipe) != 0) {
        rc = VD_ERR(err, VD_E_IO, "pipe: %s", vd_strerror(errno));
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(s->stop_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(s->stop_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ | EV_PERSIST, stop_cb, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, signal_cb, s);
    s->sig_int = evsignal_new(s->base, SIGINT, signal_cb, s);
    s->sig_hup = evsignal_new(s->base, SIGHUP, signal_cb, s);
    if (s->stop_ev == NULL || s->sig_term == NULL || s->sig_int == NULL || s->sig_hup == NULL ||
        event_add(s->stop_ev, NULL) != 0) {
        rc = VD_ERR(err, VD_E_NOMEM, "server events");
        goto out;
    }
    rc = vd_srv__pool_new(s, c->workers, &s->pool, err);
    if (rc != VD_OK) {
        goto out;
    }
    *out = s;
    s = NULL;
out:
    vd_server_free(&s);
    return rc;
}

const char *vd_server_listen_addr(const vd_server_t *s, size_t i)
{
    return i < s->n_listen ? s->lis[i].addr : NULL;
}

size_t vd_server_listen_count(const vd_server_t *s)
{
    return s->n_listen;
}

vd_err_t vd_server_run(vd_server_t *s, vd_error_t *err)
{
    if (evsignal_add(s->sig_term, NULL) != 0 || evsignal_add(s->sig_int, NULL) != 0 ||
        evsignal_add(s->sig_hup, NULL) != 0) {
        return VD_ERR(err, VD_E_INTERNAL, "cannot install signal handlers");
    }
    int r = event_base_dispatch(s->base);
    evsignal_del(s->sig_term);
    evsignal_del(s->sig_int);
    evsignal_del(s->sig_hup);
    if (r < 0) {
        return VD_ERR(err, VD_E_INTERNAL, "event loop failed");
    }
    return VD_OK;
}

void vd_server_stop(vd_server_t *s)
{
    int saved = errno;
    ssize_t w = write(s->stop_pipe[1], "x", 1);
    (void)w; /* a full pipe means a stop is already pending */
    errno = saved;
}

void vd_server_stats(vd_server_t *s, vd_server_stats_t *o)
{
    o->connections_accepted = atomic_load_explicit(&s->st_accepted, memory_order_relaxed);
    o->connections_open = atomic_load_explicit(&s->st_open, memory_order_relaxed);
    o->requests = atomic_load_explicit(&s->st_requests, memory_order_relaxed);
    o->requests_h2 = atomic_load_explicit(&s->st_h2, memory_order_relaxed);
    o->requests_http1 = atomic_load_explicit(&s->st_http1, memory_order_relaxed);
    o->rejected_queue_full = atomic_load_explicit(&s->st_queue_full, memory_order_relaxed);
    o->rejected_too_large = atomic_load_explicit(&s->st_too_large, memory_order_relaxed);
    o->timeouts = atomic_load_explicit(&s->st_timeouts, memory_order_relaxed);
    o->protocol_errors = atomic_load_explicit(&s->st_proto_errors, memory_order_relaxed);
    o->queue_depth = atomic_load_explicit(&s->st_queue_depth, memory_order_relaxed);
    o->in_flight = atomic_load_explicit(&s->st_in_flight, memory_order_relaxed);
}

int vd_server_workers_ready(vd_server_t *s)
{
    return vd_srv__pool_ready(s->pool);
}

void vd_server_free(vd_server_t **pp)
{
    vd_server_t *s = *pp;
    if (s == NULL) {
        return;
    }
    vd_srv__listeners_close(s);
    s->draining = 0; /* no loop exit from conn_free: the loop is not running */
    while (s->conns != NULL) {
        vd_srv__conn_close(s->conns);
    }
    vd_srv__pool_free(&s->pool);
    struct event **evs[] = {&s->stop_ev, &s->sig_term, &s->sig_int, &s->sig_hup, &s->grace_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if (*evs[i] != NULL) {
            event_free(*evs[i]);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (s->stop_pipe[i] >= 0) {
            close(s->stop_pipe[i]);
        }
    }
    SSL_CTX_free(s->ssl_ctx);
    nghttp2_session_callbacks_del(s->h2_cbs);
    nghttp2_option_del(s->h2_opt);
    if (s->h2_stage != NULL) {
        evbuffer_free(s->h2_stage);
    }
    if (s->base != NULL) {
        event_base_free(s->base);
    }
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
    *pp = NULL;
}
