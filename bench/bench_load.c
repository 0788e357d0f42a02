/*
 * bench_load: an open-loop, constant-rate HTTP/2 (h2c) load for latency at a given rate
 * (issue #9: "p99 below 5 ms at half of the maximum throughput").
 *
 *   bench_load --url http://HOST:PORT/PATH --body FILE --rate R --requests N
 *              [--connections C] [--poisson] [--seed S] [--timeout SECONDS] [--log FILE]
 *
 * Why not h2load --rps: its timer fires at most every 10 ms per client (its period is
 * max(0.01 s, 1/rps)), so 1,900 req/s over 4 clients arrive as 20 requests at once every
 * 10 ms. On 2 cores the last of such a burst waits for the 19 before it whatever the server
 * does, and its latency measures the burst, not the server at that rate.
 *
 * Here request i is due at start + i/R (or, with --poisson, after exponential gaps of mean 1/R:
 * the arrivals of many independent relying parties). A precise timer sends every request that
 * is due, round-robin over C connections, whatever is still in flight (open loop). Latency is
 * counted from when the request was due, not from when it was sent, so a late send on a busy
 * machine counts against the result instead of hiding it (coordinated omission).
 *
 * The request body is FILE (at most 1 MiB), sent as application/json.
 *
 * Prints one JSON object: the target and achieved rate, requests, succeeded (2xx), errors,
 * non-2xx, latency p50/p90/p99/p99.9/max in ms, and how late the sends were (p99, max).
 * --log FILE writes one line per request as h2load's --log-file does: due time (µs since the
 * epoch), status (0 when it failed), latency in µs. Exit status 0 when every request got an
 * answer (any status), 1 otherwise, 2 on a usage error.
 */
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "bench_util.h"

typedef struct load_conn load_conn_t;

typedef struct load_req {
    double due, sent, done; /* monotonic seconds; done 0 until answered */
    int status;             /* 0 until a :status arrives */
    int failed;             /* reset, or its connection failed */
    load_conn_t *conn;      /* the connection it was sent on */
    size_t body_off;        /* request body bytes handed to nghttp2 */
} load_req_t;

struct load_conn {
    struct load *ld;
    struct bufferevent *bev;
    nghttp2_session *h2;
    int up;   /* connected and the session started */
    int dead; /* failed: its unanswered requests are errors */
};

typedef struct load {
    struct event_base *base;
    struct event *tick, *deadline;
    load_conn_t *conns;
    unsigned n_conns, n_up, n_settled, rr; /* settled: connected or failed */
    load_req_t *reqs;
    size_t n, next, finished;
    const uint8_t *body;
    size_t body_len;
    char authority[300], path[1024], body_len_str[32];
    double start;
    int started;
} load_t;

static void finish(load_t *ld, load_req_t *r, int failed)
{
    if (r->done == 0) {
        r->done = vd_bench_wall_s();
        r->failed = failed;
        if (++ld->finished == ld->n) {
            event_base_loopbreak(ld->base);
        }
    }
}

/* nghttp2's frames to the socket. */
static void flush(load_conn_t *c)
{
    const uint8_t *data;
    ssize_t n;
    while (!c->dead && (n = nghttp2_session_mem_send(c->h2, &data)) > 0) {
        bufferevent_write(c->bev, data, (size_t)n);
    }
}

static void start_schedule(load_t *ld);

static void conn_fail(load_conn_t *c)
{
    load_t *ld = c->ld;
    if (c->dead) {
        return;
    }
    c->dead = 1;
    if (c->up) {
        ld->n_up--;
    } else {
        ld->n_settled++;
    }
    for (size_t i = 0; i < ld->next; i++) {
        if (ld->reqs[i].done == 0 && ld->reqs[i].conn == c) {
            finish(ld, &ld->reqs[i], 1);
        }
    }
    if (ld->n_settled == ld->n_conns) {
        if (ld->n_up == 0) {
            event_base_loopbreak(ld->base); /* nothing left to send on */
        } else if (!ld->started) {
            start_schedule(ld); /* on the connections that are up */
        }
    }
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    load_t *ld = ((load_conn_t *)ud)->ld;
    load_req_t *r = src->ptr;
    size_t n = ld->body_len - r->body_off < len ? ld->body_len - r->body_off : len;
    (void)s;
    (void)id;
    memcpy(buf, ld->body + r->body_off, n);
    r->body_off += n;
    if (r->body_off == ld->body_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    if (f->hd.type == NGHTTP2_HEADERS && nlen == 7 && memcmp(name, ":status", 7) == 0) {
        load_req_t *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
        if (r != NULL && vlen == 3) {
            r->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
        }
    }
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    load_req_t *r = nghttp2_session_get_stream_user_data(s, id);
    if (r != NULL) {
        finish(((load_conn_t *)ud)->ld, r, code != NGHTTP2_NO_ERROR || r->status == 0);
    }
    return 0;
}

static void send_one(load_t *ld, size_t i)
{
    load_conn_t *c = NULL;
    for (unsigned k = 0; k < ld->n_conns && c == NULL; k++) {
        load_conn_t *cand = &ld->conns[(ld->rr + k) % ld->n_conns];
        if (!cand->dead) {
            c = cand;
        }
    }
    ld->rr++;
    load_req_t *r = &ld->reqs[i];
    r->sent = vd_bench_wall_s();
    r->conn = c;
    if (c == NULL) {
        finish(ld, r, 1);
        return;
    }
#define NV(n, v)                                                                                   \
    {(uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, strlen(v),               \
     NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv hdrs[] = {
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":authority", ld->authority),
        NV(":path", ld->path),
        NV("content-type", "application/json"),
        NV("content-length", ld->body_len_str),
    };
#undef NV
    nghttp2_data_provider prd = {.source.ptr = r, .read_callback = body_read};
    if (nghttp2_submit_request(c->h2, NULL, hdrs, sizeof(hdrs) / sizeof(hdrs[0]), &prd, r) < 0) {
        finish(ld, r, 1);
        return;
    }
    flush(c);
}

/* Sends everything due, then sleeps until the next request is. */
static void tick(evutil_socket_t fd, short what, void *arg)
{
    load_t *ld = arg;
    (void)fd;
    (void)what;
    double now = vd_bench_wall_s();
    while (ld->next < ld->n && ld->reqs[ld->next].due <= now) {
        send_one(ld, ld->next++);
    }
    if (ld->next < ld->n) {
        double d = ld->reqs[ld->next].due - now;
        struct timeval tv = {(time_t)d, (suseconds_t)((d - floor(d)) * 1e6)};
        evtimer_add(ld->tick, &tv);
    }
}

/* Every connection is up or failed: the schedule starts now. */
static void start_schedule(load_t *ld)
{
    ld->started = 1;
    ld->start = vd_bench_wall_s() + 0.01;
    for (size_t i = 0; i < ld->n; i++) {
        ld->reqs[i].due += ld->start;
    }
    tick(-1, 0, ld);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    load_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    uint8_t *data = evbuffer_pullup(in, -1);
    if (len > 0 && nghttp2_session_mem_recv(c->h2, data, len) < 0) {
        conn_fail(c);
        return;
    }
    evbuffer_drain(in, len);
    flush(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    load_conn_t *c = arg;
    load_t *ld = c->ld;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->up = 1;
        ld->n_up++;
        if (++ld->n_settled == ld->n_conns && !ld->started) {
            start_schedule(ld);
        }
        return;
    }
    conn_fail(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((load_t *)arg)->base);
}

static int conn_open(load_t *ld, load_conn_t *c, struct sockaddr *sa, int salen)
{
    nghttp2_session_callbacks *cb;
    c->ld = ld;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        return -1;
    }
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    int rc = nghttp2_session_client_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        return -1;
    }
    /* Answers are never held back by flow control. */
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 30) != 0) {
        return -1;
    }
    c->bev = bufferevent_socket_new(ld->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        return -1;
    }
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, sa, salen) != 0) {
        return -1;
    }
    flush(c); /* the preface and SETTINGS wait in the output until connected */
    return 0;
}

/* "http://HOST:PORT/PATH" with a numeric IPv4 or [IPv6] host. */
static int parse_url(load_t *ld, const char *url, struct sockaddr_storage *ss, int *salen)
{
    if (strncmp(url, "http://", 7) != 0) {
        return -1;
    }
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= sizeof(ld->authority)) {
        return -1;
    }
    memcpy(ld->authority, h, hl);
    ld->authority[hl] = '\0';
    snprintf(ld->path, sizeof(ld->path), "%s", slash ? slash : "/");
    char host[300];
    const char *colon = strrchr(ld->authority, ':');
    if (colon == NULL) {
        return -1;
    }
    size_t l = (size_t)(colon - ld->authority);
    const char *p = ld->authority;
    if (l >= 2 && p[0] == '[' && p[l - 1] == ']') {
        p++;
        l -= 2;
    }
    memcpy(host, p, l);
    host[l] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *salen = sizeof(*a4);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *salen = sizeof(*a6);
    } else {
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t i = (size_t)(p * (double)n);
    return v[i < n ? i : n - 1];
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_load --url http://HOST:PORT/PATH --body FILE --rate R "
                    "--requests N [--connections C] [--poisson] [--seed S] [--timeout SECONDS] "
                    "[--log FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *body_path = NULL, *log_path = NULL;
    double rate = 0, timeout_s = 60;
    long n = 0, conns = 4, poisson = 0;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--poisson") == 0) {
            poisson = 1;
            continue;
        }
        if (v == NULL) {
            return usage();
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--body") == 0) {
            body_path = v;
        } else if (strcmp(a, "--log") == 0) {
            log_path = v;
        } else if (strcmp(a, "--rate") == 0) {
            rate = strtod(v, NULL);
        } else if (strcmp(a, "--requests") == 0) {
            n = strtol(v, NULL, 10);
        } else if (strcmp(a, "--connections") == 0) {
            conns = strtol(v, NULL, 10);
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--timeout") == 0) {
            timeout_s = strtod(v, NULL);
        } else {
            return usage();
        }
    }
    if (url == NULL || body_path == NULL || !(rate > 0) || n <= 0 || n > 10000000 || conns <= 0 ||
        conns > 1000 || !(timeout_s > 0)) {
        return usage();
    }
    load_t ld = {0};
    struct sockaddr_storage ss;
    int salen;
    if (parse_url(&ld, url, &ss, &salen) != 0) {
        fprintf(stderr, "bench_load: %s: want http://HOST:PORT/PATH with a numeric host\n", url);
        return 2;
    }
    uint8_t *body = vd_bench_read(body_path, &ld.body_len); /* exits 2 if it cannot */
    ld.body = body;
    snprintf(ld.body_len_str, sizeof(ld.body_len_str), "%zu", ld.body_len);
    ld.n = (size_t)n;
    ld.n_conns = (unsigned)conns;
    ld.reqs = calloc(ld.n, sizeof(*ld.reqs));
    ld.conns = calloc(ld.n_conns, sizeof(*ld.conns));
    struct event_config *ec = event_config_new();
    if (ec != NULL) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER); /* timerfd: µs, not ms */
        ld.base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    if (ld.reqs == NULL || ld.conns == NULL || ld.base == NULL) {
        fprintf(stderr, "bench_load: out of memory\n");
        return 2;
    }
    /* The schedule, relative to the start: uniform, or exponential gaps (xorshift64*). */
    double t = 0;
    uint64_t x = seed ? seed : 1;
    for (size_t i = 0; i < ld.n; i++) {
        ld.reqs[i].due = t;
        if (poisson) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            double u = (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
            t += -log(1.0 - u) / rate;
        } else {
            t = (double)(i + 1) / rate;
        }
    }
    ld.tick = evtimer_new(ld.base, tick, &ld);
    ld.deadline = evtimer_new(ld.base, on_deadline, &ld);
    struct timeval dl = {(time_t)(t + timeout_s), 0};
    evtimer_add(ld.deadline, &dl);
    for (unsigned i = 0; i < ld.n_conns; i++) {
        if (conn_open(&ld, &ld.conns[i], (struct sockaddr *)&ss, salen) != 0) {
            fprintf(stderr, "bench_load: cannot open connection %u to %s\n", i, url);
            return 1;
        }
    }
    event_base_dispatch(ld.base);
    double end = vd_bench_wall_s();

    /* Results: latency from due time, for the answered ones. */
    double *lat = malloc(ld.n * sizeof(double)), *late = malloc(ld.n * sizeof(double));
    size_t n_lat = 0, n_late = 0, ok = 0, non2xx = 0, errors = 0;
    FILE *log = log_path ? fopen(log_path, "w") : NULL;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    double wall_minus_mono = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 - vd_bench_wall_s();
    double last_done = ld.start;
    for (size_t i = 0; i < ld.n && lat != NULL && late != NULL; i++) {
        load_req_t *r = &ld.reqs[i];
        int answered = r->done > 0 && !r->failed && r->status > 0;
        if (r->sent > 0) {
            late[n_late++] = (r->sent - r->due) * 1e3;
        }
        if (!answered) {
            errors++;
        } else {
            lat[n_lat++] = (r->done - r->due) * 1e3;
            if (r->status >= 200 && r->status < 300) {
                ok++;
            } else {
                non2xx++;
            }
            last_done = r->done > last_done ? r->done : last_done;
        }
        if (log != NULL) {
            fprintf(log, "%.0f %d %.0f\n", (r->due + wall_minus_mono) * 1e6,
                    answered ? r->status : 0, answered ? (r->done - r->due) * 1e6 : -1.0);
        }
    }
    if (log != NULL) {
        fclose(log);
    }
    if (lat == NULL || late == NULL) {
        fprintf(stderr, "bench_load: out of memory\n");
        return 2;
    }
    qsort(lat, n_lat, sizeof(double), cmp_double);
    qsort(late, n_late, sizeof(double), cmp_double);
    double span = (last_done > ld.start ? last_done : end) - ld.start;
    printf("{\"rate\": %.1f, \"arrivals\": \"%s\", \"connections\": %u, \"requests\": %zu, "
           "\"succeeded\": %zu, \"errors\": %zu, \"non_2xx\": %zu, \"rps\": %.1f, "
           "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
           "\"max_ms\": %.3f, \"send_late_p99_ms\": %.3f, \"send_late_max_ms\": %.3f}\n",
           rate, poisson ? "poisson" : "uniform", ld.n_conns, ld.n, ok, errors, non2xx,
           span > 0 ? (double)n_lat / span : 0.0, pct(lat, n_lat, 0.5), pct(lat, n_lat, 0.9),
           pct(lat, n_lat, 0.99), pct(lat, n_lat, 0.999), n_lat ? lat[n_lat - 1] : 0.0,
           pct(late, n_late, 0.99), n_late ? late[n_late - 1] : 0.0);
    for (unsigned i = 0; i < ld.n_conns; i++) {
        nghttp2_session_del(ld.conns[i].h2);
        if (ld.conns[i].bev != NULL) {
            bufferevent_free(ld.conns[i].bev);
        }
    }
    event_free(ld.tick);
    event_free(ld.deadline);
    event_base_free(ld.base);
    free(lat);
    free(late);
    free(ld.reqs);
    free(ld.conns);
    free(body);
    return errors == 0 ? 0 : 1;
}
