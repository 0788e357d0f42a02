/*
 * echo_server: a small server on vd_server for the transport tests (tests/server). Routes:
 *   /auth    401 from on_headers (before the body is read) without an Authorization header
 *   /inline  handled on the network thread (VD_ROUTE_INLINE)
 *   /slow    sleeps ?ms=N (default 300, at most 5000) on a worker, then echoes
 *   /deferred  echoes, but the answer is completed by another thread ?ms=N (default 0, at most
 *            5000) later (vd_server_defer), perhaps before `handle` returns
 *   /big     answers ?n=BYTES (default 1 MiB, at most 8 MiB) of 'x'
 *   /stats   vd_server_stats and vd_server_workers_ready as JSON (inline)
 *   anything else: echoes method, path, query, protocol, tls, request id, body and headers as
 *   JSON, on a worker.
 * Prints "listening ADDR" per listener on stdout, "reloaded N" on stderr after each SIGHUP.
 * Options map to vd_server_config_t: --listen A (repeatable), --tls-cert F --tls-key F,
 * --workers N, --queue N, --body-max N, --header-max N, --max-streams N, --max-conns N,
 * --request-timeout MS, --idle-timeout MS, --grace MS, --log FILE (access log; default stderr).
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "verdict/server.h"

static long query_num(const char *q, const char *key, long def, long max)
{
    size_t kl = strlen(key);
    for (const char *p = q; p != NULL && *p != '\0';) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            long v = strtol(p + kl + 1, NULL, 10);
            return v < 0 ? def : (v > max ? max : v);
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return def;
}

static void set_json(vd_http_response_t *resp, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = (uint8_t *)s;
    resp->body_len = s ? strlen(s) : 0;
}

static vd_route_disposition_t on_headers(void *ud, const vd_http_request_t *req,
                                         vd_http_response_t *resp)
{
    (void)ud;
    if (strcmp(req->path, "/auth") == 0) {
        for (size_t i = 0; i < req->n_headers; i++) {
            if (strcmp(req->headers[i].name, "authorization") == 0) {
                return VD_ROUTE_WORKER;
            }
        }
        static const char body[] = "{\"type\":\"about:blank\",\"title\":\"Unauthorized\","
                                   "\"status\":401,\"detail\":\"a bearer token is required\"}";
        resp->status = 401;
        resp->content_type = "application/problem+json";
        resp->body = malloc(sizeof(body) - 1);
        if (resp->body != NULL) {
            memcpy(resp->body, body, sizeof(body) - 1);
            resp->body_len = sizeof(body) - 1;
        }
        resp->headers[0].name = "www-authenticate";
        resp->headers[0].value = "Bearer";
        resp->n_headers = 1;
        snprintf(resp->route, sizeof(resp->route), "/auth");
        return VD_ROUTE_ANSWERED;
    }
    if (strcmp(req->path, "/inline") == 0 || strcmp(req->path, "/stats") == 0) {
        return VD_ROUTE_INLINE;
    }
    return VD_ROUTE_WORKER;
}

/* /deferred: the answer is finished on another thread after `ms` (vd_server_defer), which may
 * be before or after `handle` returns. */
typedef struct deferred_job {
    vd_http_deferred_t *d;
    vd_http_response_t *resp;
    long ms;
} deferred_job_t;

static void *deferred_main(void *arg)
{
    deferred_job_t *job = arg;
    struct timespec ts = {.tv_sec = job->ms / 1000, .tv_nsec = (job->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    snprintf(job->resp->log_note, sizeof(job->resp->log_note), "deferred");
    vd_server_complete(job->d);
    free(job);
    return NULL;
}

static void echo(const vd_http_request_t *req, vd_http_response_t *resp);

static void handle(void *ud, const vd_http_request_t *req, vd_http_response_t *resp)
{
    vd_server_t *srv = *(vd_server_t **)ud;
    if (strcmp(req->path, "/stats") == 0) {
        vd_server_stats_t st;
        vd_server_stats(srv, &st);
        set_json(resp, 200,
                 json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                           "connections_accepted", (json_int_t)st.connections_accepted,
                           "connections_open", (json_int_t)st.connections_open, "requests",
                           (json_int_t)st.requests, "requests_h2", (json_int_t)st.requests_h2,
                           "requests_http1", (json_int_t)st.requests_http1, "rejected_queue_full",
                           (json_int_t)st.rejected_queue_full, "rejected_too_large",
                           (json_int_t)st.rejected_too_large, "timeouts", (json_int_t)st.timeouts,
                           "protocol_errors", (json_int_t)st.protocol_errors, "queue_depth",
                           (json_int_t)st.queue_depth, "in_flight", (json_int_t)st.in_flight,
                           "workers_ready", vd_server_workers_ready(srv)));
        snprintf(resp->route, sizeof(resp->route), "/stats");
        return;
    }
    if (strcmp(req->path, "/deferred") == 0) {
        echo(req, resp);
        snprintf(resp->route, sizeof(resp->route), "/deferred");
        deferred_job_t *job = malloc(sizeof(*job));
        vd_http_deferred_t *d = job != NULL ? vd_server_defer(resp) : NULL;
        if (d == NULL) {
            free(job);
            return; /* answered now */
        }
        *job = (deferred_job_t){.d = d, .resp = resp, .ms = query_num(req->query, "ms", 0, 5000)};
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, deferred_main, job) != 0) {
            free(job);
            vd_server_complete(d);
        }
        pthread_attr_destroy(&at);
        return; /* `resp` is the thread's now */
    }
    if (strcmp(req->path, "/slow") == 0) {
        long ms = query_num(req->query, "ms", 300, 5000);
        fprintf(stderr, "slow start\n"); /* the drain test waits for this line */
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (strcmp(req->path, "/big") == 0) {
        size_t n = (size_t)query_num(req->query, "n", 1 << 20, 8 << 20);
        resp->body = malloc(n ? n : 1);
        if (resp->body == NULL) {
            resp->status = 500;
            return;
        }
        memset(resp->body, 'x', n);
        resp->body_len = n;
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        snprintf(resp->route, sizeof(resp->route), "/big");
        return;
    }
    echo(req, resp);
}

/* The request as JSON. */
static void echo(const vd_http_request_t *req, vd_http_response_t *resp)
{
    json_t *h = json_object();
    for (size_t i = 0; i < req->n_headers; i++) {
        json_object_set_new(h, req->headers[i].name, json_string(req->headers[i].value));
    }
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s, s:b, s:s, s:s%, s:I, s:o}", "method", req->method,
                          "path", req->path, "query", req->query, "protocol", req->protocol, "tls",
                          req->tls, "request_id", req->request_id, "body", (const char *)req->body,
                          req->body_len, "body_len", (json_int_t)req->body_len, "headers", h);
    if (j == NULL) {
        /* Not UTF-8: echo the length only. */
        j = json_pack("{s:s, s:s, s:I}", "method", req->method, "path", req->path, "body_len",
                      (json_int_t)req->body_len);
    }
    set_json(resp, 200, j);
    snprintf(resp->route, sizeof(resp->route), "%s",
             strcmp(req->path, "/slow") == 0 ? "/slow" : "/echo");
    snprintf(resp->log_note, sizeof(resp->log_note), "echo");
}

static unsigned reloads;

static void on_reload(void *ud)
{
    (void)ud;
    fprintf(stderr, "reloaded %u\n", ++reloads);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"workers", required_argument, NULL, 'w'},
        {"queue", required_argument, NULL, 'q'},
        {"body-max", required_argument, NULL, 'b'},
        {"header-max", required_argument, NULL, 'H'},
        {"max-streams", required_argument, NULL, 's'},
        {"max-conns", required_argument, NULL, 'm'},
        {"request-timeout", required_argument, NULL, 'r'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"grace", required_argument, NULL, 'g'},
        {"log", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    vd_server_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.log_fd = 2;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            if (cfg.n_listen < VD_SERVER_MAX_LISTEN) {
                cfg.listen[cfg.n_listen++] = optarg;
            }
            break;
        case 'c':
            cfg.tls_cert = optarg;
            break;
        case 'k':
            cfg.tls_key = optarg;
            break;
        case 'w':
            cfg.workers = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'q':
            cfg.queue_max = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            cfg.body_max = strtoul(optarg, NULL, 10);
            break;
        case 'H':
            cfg.header_max = strtoul(optarg, NULL, 10);
            break;
        case 's':
            cfg.max_streams = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            cfg.max_connections = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            cfg.request_timeout_ms = strtol(optarg, NULL, 10);
            break;
        case 'i':
            cfg.idle_timeout_ms = strtol(optarg, NULL, 10);
            break;
        case 'g':
            cfg.shutdown_grace_ms = strtol(optarg, NULL, 10);
            break;
        case 'L':
            cfg.log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (cfg.log_fd < 0) {
                perror(optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: echo_server [--listen HOST:PORT] [options]\n");
            return 2;
        }
    }
    vd_server_t *s = NULL;
    vd_server_handlers_t h = {
        .on_headers = on_headers, .handle = handle, .on_reload = on_reload, .ud = &s};
    vd_error_t err;
    vd_error_clear(&err);
    if (vd_server_new(&cfg, &h, &s, &err) != VD_OK) {
        fprintf(stderr, "echo_server: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < vd_server_listen_count(s); i++) {
        printf("listening %s\n", vd_server_listen_addr(s, i));
    }
    fflush(stdout);
    int rc = vd_server_run(s, &err) == VD_OK ? 0 : 1;
    if (rc != 0) {
        fprintf(stderr, "echo_server: %s\n", err.msg);
    }
    vd_server_free(&s);
    fprintf(stderr, "stopped\n");
    return rc;
}
