/*
 * KDS HTTP client on libcurl: timeouts, size bound, rate limiter, retries, Retry-After, negative
 * cache and circuit breaker (include/verdict/kdsclient.h explains each; KDS.md sections 1, 5).
 *
 * Trust boundary: nothing here trusts a response body. It returns bytes; certcache.c validates
 * them against the pinned roots before anything is used or stored.
 *
 * Locking: one mutex guards the limiter, breaker, negative cache and counters. It is never held
 * across a network transfer or a sleep.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "verdict/kds.h"
#include "verdict/kdsclient.h"

typedef struct negative {
    char url[VD_KDS_URL_MAX];
    int64_t until;
} negative_t;

struct vd_kds_client {
    vd_kds_config_t cfg; /* with defaults filled in; cfg.base_url points at base */
    char base[VD_KDS_URL_MAX];
    pthread_mutex_t mu;
    int64_t tat;           /* GCRA theoretical arrival time of the next request */
    int64_t blocked_until; /* from a 429 */
    unsigned fails;        /* consecutive failed attempts */
    unsigned throttles;    /* consecutive 429 answers (backoff exponent without Retry-After) */
    int64_t open_until;    /* circuit open until; 0 = closed */
    unsigned opened_after; /* failed attempts that opened it here; 0 = restored saved state */
    int probing;           /* a half-open probe is running */
    negative_t neg[VD_KDS_NEGATIVE_MAX];
    uint64_t rng;
    vd_kds_stats_t st;
};

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* ---- clock -------------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vd_kds_client_now_ms(const vd_kds_client_t *c)
{
    if (c->cfg.hooks.now_ms != NULL) {
        return c->cfg.hooks.now_ms(c->cfg.hooks.ud);
    }
    return mono_ms();
}

static void sleep_for(const vd_kds_client_t *c, int64_t ms)
{
    if (ms <= 0) {
        return;
    }
    if (c->cfg.hooks.sleep_ms != NULL) {
        c->cfg.hooks.sleep_ms(c->cfg.hooks.ud, ms);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* xorshift64*: jitter only, not security relevant. Called with the mutex held. */
static uint64_t next_rand(vd_kds_client_t *c)
{
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 2685821657736338717ull;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

vd_err_t vd_kds_client_new(const vd_kds_config_t *cfg, vd_kds_client_t **out, vd_error_t *err)
{
    vd_kds_config_t zero;
    *out = NULL;
    if (cfg == NULL) {
        memset(&zero, 0, sizeof(zero));
        cfg = &zero;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        return VD_ERR(err, VD_E_INTERNAL, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
    }
    const char *base =
        cfg->base_url != NULL && cfg->base_url[0] != '\0' ? cfg->base_url : VD_KDS_DEFAULT_BASE;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') {
        blen--; /* the URL builders add the slash */
    }
    if (blen == 0 || blen >= VD_KDS_URL_MAX - 200 ||
        (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0)) {
        return VD_ERR(err, VD_E_CONFIG, "KDS base URL '%s' is not an http(s) URL", base);
    }
    vd_kds_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    c->cfg = *cfg;
    memcpy(c->base, base, blen);
    c->base[blen] = '\0';
    c->cfg.base_url = c->base;
#define DEF(f, v)                                                                                  \
    if (c->cfg.f == 0) {                                                                           \
        c->cfg.f = (v);                                                                            \
    }
    DEF(connect_timeout_ms, VD_KDS_DEFAULT_CONNECT_MS);
    DEF(total_timeout_ms, VD_KDS_DEFAULT_TOTAL_MS);
    DEF(max_body, VD_KDS_DEFAULT_MAX_BODY);
    DEF(max_attempts, VD_KDS_DEFAULT_ATTEMPTS);
    DEF(backoff_base_ms, VD_KDS_DEFAULT_BACKOFF_MS);
    DEF(backoff_max_ms, VD_KDS_DEFAULT_BACKOFF_MAX_MS);
    DEF(rate_interval_ms, VD_KDS_DEFAULT_RATE_INTERVAL_MS);
    DEF(rate_burst, VD_KDS_DEFAULT_RATE_BURST);
    DEF(negative_ttl_ms, VD_KDS_DEFAULT_NEGATIVE_TTL_MS);
    DEF(breaker_threshold, VD_KDS_DEFAULT_BREAKER_FAILS);
    DEF(breaker_cooldown_ms, VD_KDS_DEFAULT_BREAKER_COOL_MS);
#undef DEF
    pthread_mutex_init(&c->mu, NULL);
    c->rng = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)c;
    if (c->rng == 0) {
        c->rng = 1;
    }
    c->tat = vd_kds_client_now_ms(c);
    *out = c;
    return VD_OK;
}

void vd_kds_client_free(vd_kds_client_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    pthread_mutex_destroy(&(*pp)->mu);
    free(*pp);
    *pp = NULL;
}

const char *vd_kds_client_base(const vd_kds_client_t *c)
{
    return c->base;
}

void vd_kds_client_stats(vd_kds_client_t *c, vd_kds_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
}

void vd_kds_client_get_state(vd_kds_client_t *c, int64_t *open_left_ms, int64_t *blocked_left_ms)
{
    int64_t now = vd_kds_client_now_ms(c);
    pthread_mutex_lock(&c->mu);
    *open_left_ms = c->open_until > now ? c->open_until - now : 0;
    *blocked_left_ms = c->blocked_until > now ? c->blocked_until - now : 0;
    pthread_mutex_unlock(&c->mu);
}

void vd_kds_client_set_state(vd_kds_client_t *c, int64_t open_left_ms, int64_t blocked_left_ms)
{
    int64_t now = vd_kds_client_now_ms(c);
    pthread_mutex_lock(&c->mu);
    /* Saved state is untrusted (a cache row like any other): bounded by our own cooldown and
     * backoff cap, so a corrupt or hostile value cannot keep verdict away from KDS for long. */
    if (open_left_ms > 0) {
        int64_t left =
            open_left_ms < c->cfg.breaker_cooldown_ms ? open_left_ms : c->cfg.breaker_cooldown_ms;
        c->open_until = now + left;
        c->fails = c->cfg.breaker_threshold;
        c->opened_after = 0; /* not this process's failures: the message says so */
    }
    if (blocked_left_ms > 0) {
        int64_t left =
            blocked_left_ms < c->cfg.backoff_max_ms ? blocked_left_ms : c->cfg.backoff_max_ms;
        c->blocked_until = max64(c->blocked_until, now + left);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- one transfer --------------------------------------------------------------------------- */

typedef struct xfer {
    uint8_t *buf;
    size_t len, cap, max;
    int too_large;
    long retry_after_s; /* -1 = absent */
} xfer_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer_t *x = ud;
    size_t add = size * n;
    if (add > x->max - x->len) {
        x->too_large = 1;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    if (x->len + add > x->cap) {
        size_t cap = x->cap ? x->cap : 8192;
        while (cap < x->len + add) {
            cap *= 2;
        }
        uint8_t *nb = realloc(x->buf, cap);
        if (nb == NULL) {
            return 0;
        }
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, p, add);
    x->len += add;
    return add;
}

/* Retry-After: delta-seconds or an HTTP date (RFC 9110 section 10.2.3). */
static long parse_retry_after(const char *v, size_t n)
{
    char s[64];
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) {
        n--;
    }
    if (n == 0 || n >= sizeof(s)) {
        return -1;
    }
    memcpy(s, v, n);
    s[n] = '\0';
    char *end = NULL;
    errno = 0;
    long secs = strtol(s, &end, 10);
    if (end != s && *end == '\0') {
        if (secs < 0) {
            return -1;
        }
        /* Untrusted: a huge value (or one past LONG_MAX, ERANGE) is capped, never multiplied
         * into an overflow; vd_kds_get caps the wait again at backoff_max_ms. */
        return errno == ERANGE || secs > VD_KDS_RETRY_AFTER_MAX_S ? VD_KDS_RETRY_AFTER_MAX_S : secs;
    }
    time_t when = curl_getdate(s, NULL);
    if (when == (time_t)-1) {
        return -1;
    }
    time_t now = time(NULL);
    if (when <= now) {
        return 0;
    }
    return when - now > VD_KDS_RETRY_AFTER_MAX_S ? VD_KDS_RETRY_AFTER_MAX_S : (long)(when - now);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer_t *x = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        x->retry_after_s = parse_retry_after(p + sizeof(name) - 1, len - (sizeof(name) - 1));
    }
    return len;
}

/*
 * One attempt. Returns the curl code; *status gets the HTTP status (0 if none). The body is
 * left in `x`.
 */
static CURLcode perform(const vd_kds_client_t *c, const char *url, long timeout_ms, xfer_t *x,
                        long *status)
{
    CURLcode cc = CURLE_FAILED_INIT;
    CURL *h = curl_easy_init();
    *status = 0;
    if (h == NULL) {
        return cc;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     c->cfg.connect_timeout_ms < timeout_ms ? c->cfg.connect_timeout_ms
                                                            : timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->cfg.max_body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     "verdict-certcache/"
                     "0.1");
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    return cc;
}

/* ---- policy: negative cache, breaker, limiter (mutex held) ---------------------------------- */

static negative_t *neg_find(vd_kds_client_t *c, const char *url, int64_t now)
{
    for (size_t i = 0; i < VD_KDS_NEGATIVE_MAX; i++) {
        if (c->neg[i].until > now && strcmp(c->neg[i].url, url) == 0) {
            return &c->neg[i];
        }
    }
    return NULL;
}

static void neg_add(vd_kds_client_t *c, const char *url, int64_t now)
{
    if (c->cfg.negative_ttl_ms < 0) {
        return;
    }
    negative_t *slot = &c->neg[0];
    for (size_t i = 0; i < VD_KDS_NEGATIVE_MAX; i++) {
        if (c->neg[i].until <= now || strcmp(c->neg[i].url, url) == 0) {
            slot = &c->neg[i];
            break;
        }
        if (c->neg[i].until < slot->until) {
            slot = &c->neg[i]; /* evict the entry closest to expiry */
        }
    }
    snprintf(slot->url, sizeof(slot->url), "%s", url);
    slot->until = now + c->cfg.negative_ttl_ms;
}

static void breaker_ok(vd_kds_client_t *c)
{
    c->fails = 0;
    c->open_until = 0;
    c->opened_after = 0;
    c->probing = 0;
}

/* A failed attempt; `hard` (a timeout) opens the circuit at once. Returns 1 if it opened. */
static int breaker_fail(vd_kds_client_t *c, int64_t now, int hard)
{
    c->fails++;
    c->probing = 0;
    if (hard || c->fails >= c->cfg.breaker_threshold) {
        c->open_until = now + c->cfg.breaker_cooldown_ms;
        c->opened_after = c->fails;
        c->st.breaker_trips++;
        return 1;
    }
    return 0;
}

static int64_t backoff_ms(vd_kds_client_t *c, unsigned attempt, long base)
{
    int64_t d = base;
    for (unsigned i = 1; i < attempt && d < c->cfg.backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > c->cfg.backoff_max_ms) {
        d = c->cfg.backoff_max_ms;
    }
    /* Jitter: +0..25 %, so that replicas that failed together do not retry together. */
    return d + (int64_t)(next_rand(c) % (uint64_t)(d / 4 + 1));
}

/* ---- the request loop ----------------------------------------------------------------------- */

/* Mutex held: the earliest time the limiter and any Retry-After let a request start. */
static int64_t earliest_start(const vd_kds_client_t *c)
{
    int64_t start = c->blocked_until;
    if (c->cfg.rate_interval_ms > 0) {
        int64_t slack = (int64_t)(c->cfg.rate_burst - 1) * c->cfg.rate_interval_ms;
        start = max64(start, c->tat - slack);
    }
    return start;
}

/* Mutex held: ms until the open circuit lets a request through (0 = closed). */
static int64_t open_left(const vd_kds_client_t *c, int64_t now)
{
    if (c->open_until == 0) {
        return 0;
    }
    if (now < c->open_until) {
        return c->open_until - now;
    }
    /* Half-open with a probe running: its answer decides; ask again within a second. */
    return c->probing ? 1000 : 0;
}

int64_t vd_kds_client_wait_ms(vd_kds_client_t *c)
{
    int64_t now = vd_kds_client_now_ms(c);
    pthread_mutex_lock(&c->mu);
    int64_t w = max64(open_left(c, now), earliest_start(c) - now);
    pthread_mutex_unlock(&c->mu);
    return w > 0 ? w : 0;
}

int64_t vd_kds_client_throttle_ms(vd_kds_client_t *c)
{
    int64_t now = vd_kds_client_now_ms(c);
    pthread_mutex_lock(&c->mu);
    int64_t w = earliest_start(c) - now;
    pthread_mutex_unlock(&c->mu);
    return w > 0 ? w : 0;
}

static void set_retry(int64_t *out, int64_t ms)
{
    if (out != NULL) {
        *out = ms > 0 ? ms : 1;
    }
}

vd_err_t vd_kds_get(vd_kds_client_t *c, const char *url, int64_t deadline_ms, uint8_t **body,
                    size_t *len, long *http_status, int64_t *retry_after_ms, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    xfer_t x;
    long status = 0;
    memset(&x, 0, sizeof(x));
    *body = NULL;
    *len = 0;
    if (http_status != NULL) {
        *http_status = 0;
    }
    if (retry_after_ms != NULL) {
        *retry_after_ms = 0;
    }

    for (unsigned attempt = 1;; attempt++) {
        int64_t now = vd_kds_client_now_ms(c);
        pthread_mutex_lock(&c->mu);
        negative_t *ng = neg_find(c, url, now);
        if (ng != NULL) {
            c->st.negative_hits++;
            int64_t left = ng->until - now;
            pthread_mutex_unlock(&c->mu);
            status = 404;
            set_retry(retry_after_ms, left);
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                        "KDS answered 404 Not Found for %s (remembered for %lld s more)", url,
                        (long long)((left + 999) / 1000));
            goto out;
        }
        int64_t closed_in = open_left(c, now);
        if (closed_in > 0) {
            c->st.breaker_refused++;
            unsigned after = c->opened_after;
            pthread_mutex_unlock(&c->mu);
            set_retry(retry_after_ms, closed_in);
            if (after == 0) {
                rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                            "KDS at %s is unavailable (circuit opened by an earlier run; next try "
                            "in %lld s)",
                            c->base, (long long)((closed_in + 999) / 1000));
            } else {
                rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                            "KDS at %s is unavailable (circuit open after %u failed attempt%s; "
                            "next try in %lld s)",
                            c->base, after, after > 1 ? "s" : "",
                            (long long)((closed_in + 999) / 1000));
            }
            goto out;
        }
        /* The limiter and a Retry-After are never waited for: the caller learns when to retry
         * and does something else meanwhile (issue #7: no sleeping inside an appraisal). */
        int64_t start = earliest_start(c);
        if (start > now) {
            int blocked = c->blocked_until > now;
            c->st.rate_limit_refused++;
            pthread_mutex_unlock(&c->mu);
            set_retry(retry_after_ms, start - now);
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                        "KDS %s: the next request to %s is allowed in %lld ms",
                        blocked ? "rate limit (Retry-After in force)" : "rate limit", c->base,
                        (long long)(start - now));
            goto out;
        }
        if (c->open_until != 0) {
            c->probing = 1; /* half-open: this request is the probe */
        }
        if (c->cfg.rate_interval_ms > 0) {
            c->tat = max64(c->tat, now) + c->cfg.rate_interval_ms;
        }
        if (attempt > 1) {
            c->st.retries++;
        }
        c->st.requests++;
        pthread_mutex_unlock(&c->mu);

        long timeout = c->cfg.total_timeout_ms;
        if (deadline_ms != 0) {
            int64_t left = deadline_ms - now;
            if (left < timeout) {
                timeout = left > 1 ? (long)left : 1;
            }
        }
        free(x.buf);
        memset(&x, 0, sizeof(x));
        x.max = c->cfg.max_body;
        x.retry_after_s = -1;
        CURLcode cc = perform(c, url, timeout, &x, &status);
        now = vd_kds_client_now_ms(c);
        if (http_status != NULL) {
            *http_status = status;
        }

        pthread_mutex_lock(&c->mu);
        if (x.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
            c->st.transport_errors++;
            breaker_ok(c); /* the server is alive; its answer is just unusable */
            pthread_mutex_unlock(&c->mu);
            rc = VD_ERR(err, VD_E_TOO_LARGE, "KDS body for %s is larger than %zu bytes", url,
                        c->cfg.max_body);
            goto out;
        }
        if (cc == CURLE_OK && status == 200) {
            c->st.ok++;
            c->throttles = 0;
            breaker_ok(c);
            pthread_mutex_unlock(&c->mu);
            *body = x.buf;
            *len = x.len;
            x.buf = NULL;
            goto out;
        }
        if (cc == CURLE_OK && status == 404) {
            c->st.not_found++;
            breaker_ok(c);
            neg_add(c, url, now);
            pthread_mutex_unlock(&c->mu);
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "KDS answered 404 Not Found for %s", url);
            goto out;
        }
        if (cc == CURLE_OK && status == 429) {
            /* Every later request waits for it; nothing here does. Retry-After is untrusted:
             * capped at backoff_max_ms (a huge value must not lock verdict out of KDS). */
            c->st.rate_limited++;
            breaker_ok(c);
            c->throttles++;
            int64_t ra = x.retry_after_s >= 0
                             ? (int64_t)x.retry_after_s * 1000 /* parse caps it: no overflow */
                             : backoff_ms(c, c->throttles,
                                          c->cfg.rate_interval_ms > c->cfg.backoff_base_ms
                                              ? c->cfg.rate_interval_ms
                                              : c->cfg.backoff_base_ms);
            if (ra > c->cfg.backoff_max_ms) {
                ra = c->cfg.backoff_max_ms;
            }
            c->blocked_until = max64(c->blocked_until, now + ra);
            pthread_mutex_unlock(&c->mu);
            set_retry(retry_after_ms, ra);
            if (x.retry_after_s >= 0) {
                rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                            "KDS rate limit: 429 Too Many Requests for %s (Retry-After %ld s; next "
                            "try in %lld s)",
                            url, x.retry_after_s, (long long)((ra + 999) / 1000));
            } else {
                rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                            "KDS rate limit: 429 Too Many Requests for %s (backing off %lld s)",
                            url, (long long)((ra + 999) / 1000));
            }
            goto out;
        }
        /* 5xx or a transport failure: retry with backoff unless the circuit opened. */
        /* A timeout already cost a full budget, and nobody listening will not start within a
         * backoff: both open the circuit at once instead of being retried. */
        int timed_out = cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT ||
                        cc == CURLE_COULDNT_RESOLVE_HOST;
        int server = cc == CURLE_OK && status >= 500;
        if (cc == CURLE_OK && !server) {
            breaker_ok(c);
            pthread_mutex_unlock(&c->mu);
            rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE, "KDS answered HTTP %ld for %s", status,
                        url);
            goto out;
        }
        if (server) {
            c->st.server_errors++;
        } else {
            c->st.transport_errors++;
        }
        int opened = breaker_fail(c, now, timed_out);
        int64_t pause = backoff_ms(c, attempt, c->cfg.backoff_base_ms);
        int64_t retry = opened ? c->cfg.breaker_cooldown_ms : pause;
        /* The backoff is waited for only within the caller's deadline: it is this request's own
         * retry, not a wait for someone else's. */
        int give_up = opened || attempt >= c->cfg.max_attempts ||
                      (deadline_ms != 0 && now + pause >= deadline_ms);
        if (!give_up) {
            c->st.backoff_waits++;
            c->st.backoff_wait_ms += (uint64_t)pause;
        }
        pthread_mutex_unlock(&c->mu);
        if (give_up) {
            set_retry(retry_after_ms, retry);
            if (server) {
                rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                            "KDS unavailable: HTTP %ld for %s after %u attempt%s", status, url,
                            attempt, attempt > 1 ? "s" : "");
            } else {
                rc = VD_ERR(err, VD_E_COLLATERAL_UNAVAILABLE,
                            "KDS unreachable: %s for %s after %u attempt%s", curl_easy_strerror(cc),
                            url, attempt, attempt > 1 ? "s" : "");
            }
            goto out;
        }
        sleep_for(c, pause);
    }
out:
    free(x.buf);
    return rc;
}
