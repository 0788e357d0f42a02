/*
 * verdict: a careful HTTP client for AMD's Key Distribution Service (KDS.md sections 1 and 5).
 *
 * KDS allows roughly one VCEK request per 10 s per client, answers 429 and transient 404s during
 * incidents, and is sometimes down (500s, timeouts). This client is the only place verdict talks
 * to it, and it protects both sides:
 *   - connect and total timeouts per attempt, a body size bound (CURLOPT_MAXFILESIZE_LARGE plus
 *     a write-callback cap), no redirects, http/https only;
 *   - a global rate limiter (GCRA token bucket, default one request per 10 s, burst 3 so that a
 *     cold appraisal's chain + CRL + VCEK go out together);
 *   - 429: Retry-After honoured (seconds or HTTP date, capped at backoff_max_ms: the header is
 *     untrusted), else exponential backoff over consecutive 429s starting at the rate interval;
 *     every later request is refused until then;
 *   - nothing waits for the limiter, a Retry-After or an open circuit: such a request fails at
 *     once with VD_E_COLLATERAL_UNAVAILABLE and says when to retry (*retry_after_ms), so that no
 *     appraisal sleeps because of another one's requests (issue #7);
 *   - 5xx and transport errors: bounded retries with exponential backoff and jitter (the only
 *     wait: the request's own retry, and only within the caller's deadline);
 *   - 404: remembered per URL for a short time (negative cache), never retried;
 *   - a circuit breaker: after `breaker_threshold` consecutive failed attempts (or one timeout,
 *     refused connection or DNS failure: retrying those within a backoff does not help and a
 *     timeout already cost a full budget) every request fails at once for
 *     `breaker_cooldown_ms`, then one probe is let through;
 *   - every wait is bounded by the caller's deadline: a backoff that would pass it fails at once
 *     with VD_E_COLLATERAL_UNAVAILABLE instead of sleeping.
 *
 * Bodies are returned as bytes; callers sniff PEM vs DER (KDS sends both as octet-stream).
 * Thread-safe: one client is shared by every appraisal thread.
 */
#ifndef verdict__kdsclient_h
#define verdict__kdsclient_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

/* Defaults (KDS.md section 1: ~1 VCEK / 10 s per client IP; bodies are 1.3-4.7 KB). */
#define VD_KDS_DEFAULT_RATE_INTERVAL_MS 10000
#define VD_KDS_DEFAULT_RATE_BURST       3
#define VD_KDS_DEFAULT_CONNECT_MS       5000
#define VD_KDS_DEFAULT_TOTAL_MS         20000
#define VD_KDS_DEFAULT_ATTEMPTS         3
#define VD_KDS_DEFAULT_BACKOFF_MS       1000
#define VD_KDS_DEFAULT_BACKOFF_MAX_MS   30000
#define VD_KDS_DEFAULT_NEGATIVE_TTL_MS  60000
#define VD_KDS_DEFAULT_BREAKER_FAILS    3
#define VD_KDS_DEFAULT_BREAKER_COOL_MS  30000
#define VD_KDS_DEFAULT_MAX_BODY         65536
#define VD_KDS_NEGATIVE_MAX             64    /* URLs remembered as 404 */
#define VD_KDS_RETRY_AFTER_MAX_S        86400 /* a larger Retry-After is read as this */

/* Clock and sleep, replaceable so tests can observe waits without taking wall-clock time. */
typedef struct vd_kds_hooks {
    int64_t (*now_ms)(void *ud);            /* monotonic ms; NULL = CLOCK_MONOTONIC */
    void (*sleep_ms)(void *ud, int64_t ms); /* NULL = nanosleep */
    void *ud;
} vd_kds_hooks_t;

/* Every field: 0 means the default above. */
typedef struct vd_kds_config {
    const char *base_url;       /* NULL or "" = VD_KDS_DEFAULT_BASE; copied */
    long connect_timeout_ms;    /* per attempt */
    long total_timeout_ms;      /* per attempt, also capped by the caller's deadline */
    size_t max_body;            /* larger bodies fail with VD_E_TOO_LARGE */
    unsigned max_attempts;      /* attempts per request, including the first */
    long backoff_base_ms;       /* first retry delay after a 5xx or transport error */
    long backoff_max_ms;        /* cap on any single backoff, Retry-After or saved 429 state */
    long rate_interval_ms;      /* one request per interval; < 0 disables the limiter */
    unsigned rate_burst;        /* requests allowed back to back */
    long negative_ttl_ms;       /* how long a 404 is remembered; < 0 disables */
    unsigned breaker_threshold; /* consecutive failed attempts that open the circuit */
    long breaker_cooldown_ms;
    vd_kds_hooks_t hooks;
} vd_kds_config_t;

/* Counters, for /metrics. Monotonic since the client was created. */
typedef struct vd_kds_stats {
    uint64_t requests;         /* HTTP attempts sent */
    uint64_t ok;               /* 200 answers */
    uint64_t not_found;        /* 404 answers */
    uint64_t rate_limited;     /* 429 answers */
    uint64_t server_errors;    /* 5xx answers */
    uint64_t transport_errors; /* timeouts, refused connections, truncated bodies */
    uint64_t retries;
    uint64_t backoff_waits; /* times a request waited before retrying a 5xx / transport error */
    uint64_t backoff_wait_ms;
    uint64_t rate_limit_refused; /* refused at once: limiter empty or a Retry-After in force */
    uint64_t negative_hits;      /* answered from the 404 cache */
    uint64_t breaker_trips;
    uint64_t breaker_refused; /* refused at once because the circuit was open */
} vd_kds_stats_t;

typedef struct vd_kds_client vd_kds_client_t;

/**
 * New client. Calls curl_global_init once per process (not thread-safe: create clients before
 * starting threads). Caller frees with vd_kds_client_free. VD_E_NOMEM, VD_E_CONFIG.
 */
vd_err_t vd_kds_client_new(const vd_kds_config_t *cfg, vd_kds_client_t **out, vd_error_t *err);

/** Free; sets *pp to NULL. NULL-safe. No request may be running. */
void vd_kds_client_free(vd_kds_client_t **pp);

/** The base URL requests are built from (borrowed). */
const char *vd_kds_client_base(const vd_kds_client_t *c);

/** The client's monotonic clock in ms (the hooks' clock when set). Deadlines use it. */
int64_t vd_kds_client_now_ms(const vd_kds_client_t *c);

/**
 * GET `url`. `deadline_ms` is an absolute time on vd_kds_client_now_ms's clock after which
 * nothing more is attempted (0 = no deadline beyond the attempt budget). On success *body is a
 * malloc'd buffer (caller frees) of *len bytes and VD_OK is returned.
 * Never sleeps for the rate limiter, a Retry-After or an open circuit: those fail at once.
 * Errors: VD_E_COLLATERAL_UNAVAILABLE (404, 429, 5xx, transport failure, circuit open, limiter
 * empty, or a backoff past the deadline; the message says which), VD_E_TOO_LARGE, VD_E_NOMEM.
 * *http_status (may be NULL) gets the last HTTP status, 0 if none. *retry_after_ms (may be
 * NULL) gets, on VD_E_COLLATERAL_UNAVAILABLE, the ms after which a retry may succeed (> 0;
 * for a remembered 404 the time until it is forgotten), else 0. Thread-safe.
 */
vd_err_t vd_kds_get(vd_kds_client_t *c, const char *url, int64_t deadline_ms, uint8_t **body,
                    size_t *len, long *http_status, int64_t *retry_after_ms, vd_error_t *err);

/**
 * How long (ms) before a request could be sent now: open circuit, Retry-After, empty limiter.
 * 0 = at once. For callers that must not wait and want to say when to come back. Thread-safe.
 */
int64_t vd_kds_client_wait_ms(vd_kds_client_t *c);

/**
 * How long (ms) the limiter or a 429's Retry-After keeps requests from starting now (the open
 * circuit is not counted). 0 = at once. Thread-safe.
 */
int64_t vd_kds_client_throttle_ms(vd_kds_client_t *c);

/**
 * The circuit breaker and 429 state as time left (ms, 0 = none), so that a caller can keep it
 * across processes (the CLI stores it in SQLite): a dead or throttling KDS then costs one
 * timeout per cooldown, not one per `verdict` run. Thread-safe.
 */
void vd_kds_client_get_state(vd_kds_client_t *c, int64_t *open_left_ms, int64_t *blocked_left_ms);

/** Restore state saved with vd_kds_client_get_state (values <= 0 are ignored). Thread-safe. */
void vd_kds_client_set_state(vd_kds_client_t *c, int64_t open_left_ms, int64_t blocked_left_ms);

/** Snapshot of the counters. Thread-safe. */
void vd_kds_client_stats(vd_kds_client_t *c, vd_kds_stats_t *out);

#endif
