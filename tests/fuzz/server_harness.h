/*
 * The fuzzed server of fuzz_server_h1 and fuzz_server_h2: a real vd_server (verifier/server) on
 * 127.0.0.1, port chosen by the kernel, running on a thread of the fuzzing process, so that its
 * code is instrumented and its memory errors are caught by ASan. Handlers are stubs that stand
 * for the API: an appraisal is a fixed result (no crypto), one route answers 401 from
 * on_headers, one runs inline on the network thread. Short timeouts keep incomplete requests
 * from blocking an input for long.
 *
 * Each input is one connection: connect, send the bytes (after `prefix`), shut down the sending
 * side, read until the server closes. Aborts if the server stops accepting, does not close a
 * connection whose client went away within a bound, or answers with bytes that are not the
 * start of a response of the protocol spoken.
 */
#ifndef verdict__fuzz_server_harness_h
#define verdict__fuzz_server_harness_h

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "verdict/server.h"

static vd_server_t *fz_srv;
static struct sockaddr_in fz_addr;

static const char fz_result[] =
    "{\"status\":\"affirming\",\"ear.status\":\"affirming\",\"note\":\"fixed fuzzing result\"}";

static void fz_fill(vd_http_response_t *resp, int status, const char *ct, const char *body)
{
    size_t n = strlen(body);
    resp->status = status;
    resp->content_type = ct;
    resp->body = malloc(n);
    if (resp->body != NULL) {
        memcpy(resp->body, body, n);
        resp->body_len = n;
    }
}

static vd_route_disposition_t fz_on_headers(void *ud, const vd_http_request_t *req,
                                            vd_http_response_t *resp)
{
    (void)ud;
    snprintf(resp->route, sizeof(resp->route), "/fuzz");
    if (strcmp(req->path, "/deny") == 0) {
        fz_fill(resp, 401, "application/problem+json", "{\"status\":401}");
        resp->headers[0].name = "www-authenticate";
        resp->headers[0].value = "Bearer";
        resp->n_headers = 1;
        return VD_ROUTE_ANSWERED;
    }
    if (strcmp(req->path, "/healthz") == 0) {
        return VD_ROUTE_INLINE;
    }
    return VD_ROUTE_WORKER;
}

static void fz_handle(void *ud, const vd_http_request_t *req, vd_http_response_t *resp)
{
    (void)ud;
    /* What a handler may rely on: the strings are there and the body is complete. */
    if (req->method == NULL || req->path == NULL || req->protocol == NULL ||
        req->request_id == NULL || (req->body == NULL && req->body_len != 0)) {
        abort();
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (req->headers[i].name == NULL || req->headers[i].value == NULL) {
            abort();
        }
    }
    size_t sum = 0;
    for (size_t i = 0; i < req->body_len; i++) {
        sum += req->body[i]; /* touch every byte (ASan checks the bound) */
    }
    (void)sum;
    fz_fill(resp, 200, "application/json", fz_result);
    snprintf(resp->log_note, sizeof(resp->log_note), "affirming");
}

static void *fz_run(void *arg)
{
    (void)arg;
    vd_error_t err = {0};
    if (vd_server_run(fz_srv, &err) != VD_OK) {
        fprintf(stderr, "fuzz server: %s\n", err.msg);
        abort();
    }
    return NULL;
}

static void fz_start(void)
{
    static const vd_server_handlers_t h = {
        .on_headers = fz_on_headers, .handle = fz_handle, .on_reload = NULL, .ud = NULL};
    vd_server_config_t cfg = {0};
    cfg.listen[0] = "127.0.0.1:0";
    cfg.n_listen = 1;
    cfg.workers = 2;
    cfg.queue_max = 16;
    cfg.body_max = 16 * 1024;
    cfg.header_max = 4096;
    cfg.max_streams = 8;
    cfg.max_connections = 64;
    cfg.request_timeout_ms = 200;
    cfg.idle_timeout_ms = 200;
    cfg.shutdown_grace_ms = 100;
    cfg.log_fd = -1;
    vd_error_t err = {0};
    if (vd_server_new(&cfg, &h, &fz_srv, &err) != VD_OK) {
        fprintf(stderr, "fuzz server: %s\n", err.msg);
        abort();
    }
    const char *a = vd_server_listen_addr(fz_srv, 0);
    const char *colon = strrchr(a, ':');
    if (colon == NULL) {
        abort();
    }
    memset(&fz_addr, 0, sizeof(fz_addr));
    fz_addr.sin_family = AF_INET;
    fz_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    fz_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pthread_t t;
    if (pthread_create(&t, NULL, fz_run, NULL) != 0) {
        abort();
    }
    pthread_detach(t);
}

static long fz_ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* One connection; the answer's first bytes go to `head` (up to `head_cap`). */
static size_t fz_exchange(const uint8_t *prefix, size_t plen, const uint8_t *data, size_t size,
                          uint8_t *head, size_t head_cap)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fz_start);
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            abort();
        }
        if (connect(fd, (const struct sockaddr *)&fz_addr, sizeof(fz_addr)) != 0) {
            close(fd);
            fd = -1;
            usleep(10000); /* the listener is still starting */
        }
    }
    if (fd < 0) {
        fprintf(stderr, "fuzz server: no longer accepting connections\n");
        abort();
    }
    const uint8_t *parts[2] = {prefix, data};
    size_t lens[2] = {plen, size};
    for (int k = 0; k < 2; k++) {
        size_t off = 0;
        while (off < lens[k]) {
            ssize_t n = send(fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
            if (n <= 0) {
                break; /* the server closed the connection: fine */
            }
            off += (size_t)n;
        }
    }
    shutdown(fd, SHUT_WR);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t got = 0;
    uint8_t buf[4096];
    for (;;) {
        /* The request timeout is 200 ms and the client has gone: the server must close. */
        long left = 5000 - fz_ms_since(&t0);
        if (left <= 0) {
            fprintf(stderr, "fuzz server: connection not closed 5 s after the client's EOF\n");
            abort();
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
            abort();
        }
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            break; /* closed (or reset) */
        }
        for (ssize_t i = 0; i < n && got < head_cap; i++) {
            head[got++] = buf[i];
        }
    }
    close(fd);
    return got;
}

#endif
