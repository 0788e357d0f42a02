/*
 * Listeners and connections: binding, accepting (with the max_connections bound), the TLS
 * handshake, choosing the protocol (ALPN on TLS; on cleartext the first bytes: the HTTP/2
 * preface, an HTTP/1.x request line, or anything else which closes the connection at once),
 * the connection timers (handshake and sniffing within request_timeout, idle keep-alive,
 * lingering close) and freeing. A connection is freed only at the end of the callback that
 * decided it (`dead` / `in_cb`), so no protocol code ever runs on a freed connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "server_internal.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)

static void conn_free(vd_srv_conn_t *c)
{
    vd_server_t *s = c->srv;
    c->dead = 1;
    while (c->reqs != NULL) {
        vd_srv__req_detach(c->reqs);
    }
    c->cur = NULL;
    if (c->timer_on) {
        evtimer_del(&c->timer);
    }
    if (c->h2 != NULL) {
        nghttp2_session_del(c->h2);
    }
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    s->n_conns--;
    atomic_fetch_sub_explicit(&s->st_open, 1, memory_order_relaxed);
    free(c);
    if (s->draining && s->n_conns == 0) {
        event_base_loopexit(s->base, NULL);
    }
}

void vd_srv__conn_close(vd_srv_conn_t *c)
{
    if (c->in_cb > 0) {
        c->dead = 1;
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        return;
    }
    conn_free(c);
}

static void timer_set(vd_srv_conn_t *c, const struct timeval *tv)
{
    evtimer_add(&c->timer, tv);
    c->timer_on = 1;
}

void vd_srv__conn_idle(vd_srv_conn_t *c)
{
    if (c->closing || c->lingering) {
        return;
    }
    if (c->srv->draining && c->proto == VD_SRV_HTTP1 && c->cur == NULL) {
        vd_srv__conn_flushed_close(c, 0);
        return;
    }
    timer_set(c, c->srv->tv_idle);
}

void vd_srv__conn_busy(vd_srv_conn_t *c)
{
    if (c->timer_on) {
        evtimer_del(&c->timer);
        c->timer_on = 0;
    }
}

void vd_srv__conn_enter(vd_srv_conn_t *c)
{
    c->in_cb++;
}

void vd_srv__conn_leave(vd_srv_conn_t *c)
{
    if (--c->in_cb == 0 && c->dead) {
        conn_free(c);
    }
}

static void start_linger(vd_srv_conn_t *c)
{
    c->closing = 0;
    c->lingering = 1;
    if (!c->tls) {
        shutdown(c->fd, SHUT_WR);
    }
    bufferevent_enable(c->bev, EV_READ);
    timer_set(c, c->srv->tv_linger);
}

void vd_srv__conn_flushed_close(vd_srv_conn_t *c, int linger)
{
    c->closing = 1;
    c->linger_wanted = linger;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        if (linger) {
            start_linger(c);
        } else {
            vd_srv__conn_close(c);
        }
    }
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    vd_srv_conn_t *c = arg;
    (void)fd;
    (void)what;
    c->timer_on = 0;
    int idle = !c->lingering && c->handshaken && c->proto != VD_SRV_SNIFF;
    if (idle && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
        /* Still writing the last answer: not idle (a stalled write has its own timeout). */
        timer_set(c, c->srv->tv_idle);
        return;
    }
    vd_srv__conn_enter(c);
    if (!c->lingering && !idle) {
        atomic_fetch_add_explicit(&c->srv->st_timeouts, 1, memory_order_relaxed);
    }
    if (c->proto == VD_SRV_H2 && !c->lingering) {
        vd_srv__h2_idle(c);
    } else {
        vd_srv__conn_close(c);
    }
    vd_srv__conn_leave(c);
}

/* Cleartext (or TLS without ALPN): decide from the first bytes. */
static void sniff(vd_srv_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    size_t max_line = c->srv->cfg.header_max;
    size_t look = len < max_line ? len : max_line;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)look);
    if (p == NULL || look == 0) {
        return;
    }
    size_t m = look < H2_PREFACE_LEN ? look : H2_PREFACE_LEN;
    if (memcmp(p, h2_preface, m) == 0) {
        if (len >= H2_PREFACE_LEN) {
            c->proto = VD_SRV_H2;
            vd_srv__conn_busy(c);
            if (vd_srv__h2_start(c) != 0) {
                vd_srv__conn_close(c);
                return;
            }
            vd_srv__h2_read(c);
        }
        return;
    }
    int v = vd_srv__h1_sniff(p, look);
    if (v == 0 && look >= max_line) {
        v = 1; /* a request line too long to see whole: the parser answers 431 */
    }
    if (v < 0) {
        /* Neither HTTP/2 nor HTTP/1.x: close at once instead of waiting for more. */
        atomic_fetch_add_explicit(&c->srv->st_proto_errors, 1, memory_order_relaxed);
        vd_srv__conn_close(c);
        return;
    }
    if (v == 1) {
        c->proto = VD_SRV_HTTP1;
        vd_srv__conn_busy(c);
        vd_srv__h1_start(c);
        vd_srv__h1_read(c);
    }
}

void vd_srv__conn_read(vd_srv_conn_t *c)
{
    if (c->dead) {
        return;
    }
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t n = evbuffer_get_length(in);
        c->linger_bytes += n;
        evbuffer_drain(in, n);
        if (c->linger_bytes > VD_SRV_LINGER_BYTES) {
            vd_srv__conn_close(c);
        }
        return;
    }
    if (!c->handshaken) {
        return;
    }
    switch (c->proto) {
    case VD_SRV_SNIFF:
        sniff(c);
        break;
    case VD_SRV_H2:
        vd_srv__h2_read(c);
        break;
    case VD_SRV_HTTP1:
        vd_srv__h1_read(c);
        break;
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    vd_srv_conn_t *c = arg;
    (void)bev;
    vd_srv__conn_enter(c);
    vd_srv__conn_read(c);
    vd_srv__conn_leave(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    vd_srv_conn_t *c = arg;
    (void)bev;
    vd_srv__conn_enter(c);
    if (c->closing) {
        if (c->linger_wanted) {
            start_linger(c);
        } else {
            vd_srv__conn_close(c);
        }
    } else if (c->proto == VD_SRV_H2) {
        /* Input left unread while the output was full is read now, which flushes too. */
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
            vd_srv__h2_read(c);
        } else {
            vd_srv__h2_flush(c);
        }
    } else if (c->proto == VD_SRV_HTTP1) {
        vd_srv__h1_read(c); /* pipelined requests waited for the output to drain */
    }
    vd_srv__conn_leave(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    vd_srv_conn_t *c = arg;
    vd_srv__conn_enter(c);
    if (what & BEV_EVENT_CONNECTED) {
        /* TLS handshake done: ALPN h2 goes straight to HTTP/2, anything else is sniffed. */
        const unsigned char *alpn = NULL;
        unsigned int alpn_len = 0;
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        c->handshaken = 1;
        if (ssl != NULL) {
            SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        }
        if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) {
            c->proto = VD_SRV_H2;
            vd_srv__conn_busy(c);
            if (vd_srv__h2_start(c) != 0) {
                vd_srv__conn_close(c);
            } else {
                vd_srv__h2_read(c);
            }
        } else {
            vd_srv__conn_read(c);
        }
    } else if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->lingering &&
               c->handshaken && c->proto != VD_SRV_SNIFF) {
        /* The client closed its side: what it sent before is still answered. */
        c->peer_eof = 1;
        bufferevent_disable(bev, EV_READ);
        if (c->proto == VD_SRV_HTTP1) {
            vd_srv__h1_read(c); /* closes once the last answer is queued */
        } else {
            vd_srv__conn_flushed_close(c, 0);
        }
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (what & BEV_EVENT_TIMEOUT) {
            atomic_fetch_add_explicit(&c->srv->st_timeouts, 1, memory_order_relaxed);
        }
        vd_srv__conn_close(c);
    }
    vd_srv__conn_leave(c);
}

static void format_addr(const struct sockaddr *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, n, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, n, "[%s]:%u", host, port);
    } else {
        snprintf(out, n, "unknown");
    }
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    vd_server_t *s = ((struct vd_srv_listener *)arg)->s;
    SSL *ssl = NULL;
    (void)lev;
    (void)socklen;
    ((struct vd_srv_listener *)arg)->paused = 0;
    if (s->draining || s->n_conns >= s->cfg.max_connections) {
        close(fd);
        return;
    }
    vd_srv_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->srv = s;
    c->fd = fd;
    c->tls = s->ssl_ctx != NULL;
    c->handshaken = !c->tls;
    format_addr(sa, c->remote, sizeof(c->remote));
    if (c->tls) {
        ssl = SSL_new(s->ssl_ctx);
        c->bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (c->bev != NULL) {
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        }
    } else {
        c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (c->bev == NULL) {
        SSL_free(ssl);
        close(fd);
        free(c);
        return;
    }
    /* A client that stops reading is dropped once a write has waited request_timeout. */
    bufferevent_set_timeouts(c->bev, NULL, s->tv_request);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    evtimer_assign(&c->timer, s->base, conn_timer_cb, c);
    timer_set(c, s->tv_request); /* handshake and the first bytes in time */
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->n_conns++;
    atomic_fetch_add_explicit(&s->st_accepted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->st_open, 1, memory_order_relaxed);
}

void vd_srv__conn_drain(vd_srv_conn_t *c)
{
    vd_srv__conn_enter(c);
    if (!c->handshaken || c->proto == VD_SRV_SNIFF || c->lingering) {
        vd_srv__conn_close(c);
    } else if (c->proto == VD_SRV_H2) {
        vd_srv__h2_drain(c);
    } else {
        vd_srv__h1_drain(c);
    }
    /* conn_enter made in_cb > 0, so conn_close only marked c dead and conn_leave frees it (the
     * analyzer assumes in_cb may have been negative before the increment). */
    vd_srv__conn_leave(c); /* NOLINT(clang-analyzer-unix.Malloc) */
}

/*
 * accept() failed for a reason that is not transient: out of descriptors (EMFILE, ENFILE) or
 * kernel memory. The connection stays in the backlog, so the listener would wake at once and
 * fail again, spinning the loop and flooding the log (tests/api/test_client_faults.py,
 * OutOfDescriptors). Pause this listener for VD_SRV_ACCEPT_PAUSE_MS instead (connections that
 * close meanwhile give descriptors back) and say so once per episode.
 */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    struct vd_srv_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {0, VD_SRV_ACCEPT_PAUSE_MS * 1000};
    evconnlistener_disable(lev);
    evtimer_add(l->resume, &tv);
    if (!l->paused) {
        fprintf(stderr,
                "verdict: cannot accept connections on %s: %s; retrying every %d ms (raise the "
                "descriptor limit or lower server.max_connections)\n",
                l->addr, evutil_socket_error_to_string(e), VD_SRV_ACCEPT_PAUSE_MS);
        l->paused = 1;
    }
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vd_srv_listener *l = arg;
    (void)fd;
    (void)what;
    if (l->lev != NULL) {
        evconnlistener_enable(l->lev);
    }
}

vd_err_t vd_srv__listen(vd_server_t *s, const char *addr, size_t i, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    char host[256], port[16];
    struct addrinfo hints, *ai = NULL;
    int fd = -1;
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen;
    if (colon == NULL || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port)) {
        return VD_ERR(err, VD_E_CONFIG, "listen address %s: expected host:port", addr);
    }
    hlen = (size_t)(colon - addr);
    if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
        h = addr + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        return VD_ERR(err, VD_E_CONFIG, "listen address %s: bad host", addr);
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int e = getaddrinfo(host, port, &hints, &ai);
    if (e != 0) {
        return VD_ERR(err, VD_E_CONFIG, "listen address %s: %s", addr, gai_strerror(e));
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = VD_ERR(err, VD_E_IO, "socket: %s", vd_strerror(errno));
        goto out;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        rc = VD_ERR(err, VD_E_IO, "listen on %s: %s", addr, vd_strerror(errno));
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = VD_ERR(err, VD_E_IO, "getsockname: %s", vd_strerror(errno));
        goto out;
    }
    format_addr((struct sockaddr *)&ss, s->lis[i].addr, sizeof(s->lis[i].addr));
    s->lis[i].s = s;
    s->lis[i].lev =
        evconnlistener_new(s->base, accept_cb, &s->lis[i], LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (s->lis[i].lev == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "listener");
        goto out;
    }
    fd = -1;
    s->lis[i].resume = evtimer_new(s->base, accept_resume_cb, &s->lis[i]);
    if (s->lis[i].resume == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "listener");
        goto out;
    }
    evconnlistener_set_error_cb(s->lis[i].lev, accept_error_cb);
out:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

void vd_srv__listeners_close(vd_server_t *s)
{
    for (size_t i = 0; i < s->n_listen; i++) {
        if (s->lis[i].resume != NULL) {
            event_free(s->lis[i].resume);
            s->lis[i].resume = NULL;
        }
        if (s->lis[i].lev != NULL) {
            evconnlistener_free(s->lis[i].lev);
            s->lis[i].lev = NULL;
        }
    }
}
