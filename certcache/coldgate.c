/*
 * Cold fetches (include/verdict/certcache.h, vd_certcache_cold_admit): which appraisals may make
 * the cache ask KDS. KDS's own limit is global (about one VCEK per 10 s for the whole service),
 * so without this a stream of reports with made-up CHIP_IDs from one client would spend it and
 * starve every other client's first appraisal of a new chip. Two bounds:
 *
 *   - per client, a token bucket (GCRA: a burst of cold_burst, then one per cold_interval_ms),
 *     charged when an appraisal is admitted, whatever it then fetches;
 *   - while KDS rate limits us (our limiter is empty, or its 429's Retry-After holds), nobody
 *     is admitted: the request would be refused at once, so it spends no client's budget;
 *   - for everyone, at most cold_max_concurrent admitted appraisals at once, so that cold ones
 *     (which may wait up to their budget for KDS) never hold every worker and a cached chip is
 *     never queued behind them.
 *
 * An appraisal for the same chip as one already admitted (the same `what`) joins it: the
 * single flight makes one KDS request for both, so it is neither charged nor capped.
 *
 * Only appraisals that cannot be decided from the evidence and the cache ask (verifier/appraise
 * checks everything else first), so a known chip never spends a budget.
 *
 * A client is its IPv4 address or its IPv6 /64 (a single host usually holds a whole /64, so
 * keying by full IPv6 address would give one attacker 2^64 budgets); the port never counts.
 * The table is fixed (VD_CERTCACHE_COLD_CLIENTS slots, open addressing in a short window): a
 * new client takes a free slot or one whose bucket has refilled (indistinguishable from a new
 * client), else the fullest bucket in its window. Memory is bounded whatever the clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/netaddr.h"
#include "certcache_internal.h"

#define COLD_WINDOW 8 /* slots probed per client */

vd_err_t vd_certcache__cold_init(vd_certcache_t *c, vd_error_t *err)
{
    pthread_mutex_init(&c->coldmu, NULL);
    if (c->cfg.cold_burst == 0) {
        c->cfg.cold_burst = VD_CERTCACHE_COLD_BURST;
    }
    if (c->cfg.cold_interval_ms == 0) {
        c->cfg.cold_interval_ms = VD_CERTCACHE_COLD_INTERVAL_MS;
    }
    if (c->cfg.cold_max_concurrent == 0) {
        c->cfg.cold_max_concurrent = 1;
    }
    c->cold_clients = calloc(VD_CERTCACHE_COLD_CLIENTS, sizeof(*c->cold_clients));
    c->cold_runs = calloc(c->cfg.cold_max_concurrent, sizeof(*c->cold_runs));
    if (c->cold_clients == NULL || c->cold_runs == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    return VD_OK;
}

void vd_certcache__cold_free(vd_certcache_t *c)
{
    free(c->cold_clients);
    free(c->cold_runs);
    c->cold_clients = NULL;
    c->cold_runs = NULL;
    pthread_mutex_destroy(&c->coldmu);
}

/* The 16-byte key of a peer address: see the file comment. */
static void client_key(const char *client, uint8_t key[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (vd_netaddr_parse(client, key)) {
        if (memcmp(key, mapped, 12) != 0) {
            memset(key + 8, 0, 8); /* the /64 */
        }
        return;
    }
    /* Not an address (a test's name, a Unix socket): its text, hashed, in a range no address
     * maps to (first byte 0xff is multicast, never a peer). */
    uint64_t h1 = 1469598103934665603ull, h2 = 7809847782465536322ull;
    for (const char *p = client; *p; p++) {
        h1 = (h1 ^ (uint8_t)*p) * 1099511628211ull;
        h2 = (h2 ^ (uint8_t)*p) * 0x9e3779b97f4a7c15ull;
    }
    memcpy(key, &h1, 8);
    memcpy(key + 8, &h2, 8);
    key[0] = 0xff;
}

static size_t key_hash(const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++) {
        h = (h ^ key[i]) * 1099511628211ull;
    }
    return (size_t)(h ^ (h >> 29));
}

/* coldmu held: the client's slot, claimed if new: a free slot first, else one whose bucket has
 * refilled, else the fullest bucket of the window. */
static cc_cold_client_t *client_slot(vd_certcache_t *c, const uint8_t key[16], int64_t now)
{
    size_t base = key_hash(key) % VD_CERTCACHE_COLD_CLIENTS;
    cc_cold_client_t *free_slot = NULL, *refilled = NULL, *fullest = NULL;
    for (size_t i = 0; i < COLD_WINDOW; i++) {
        cc_cold_client_t *s = &c->cold_clients[(base + i) % VD_CERTCACHE_COLD_CLIENTS];
        if (!s->used) {
            free_slot = free_slot != NULL ? free_slot : s;
        } else if (memcmp(s->key, key, 16) == 0) {
            return s;
        } else if (s->tat <= now) {
            refilled = refilled != NULL ? refilled : s;
        } else if (fullest == NULL || s->tat < fullest->tat) {
            fullest = s;
        }
    }
    cc_cold_client_t *s = free_slot != NULL ? free_slot : refilled != NULL ? refilled : fullest;
    memcpy(s->key, key, 16);
    s->used = 1;
    s->tat = now; /* a full bucket */
    return s;
}

/* coldmu held: the running slot for `what` (NULL: an anonymous one never matches), or NULL. */
static cc_cold_run_t *run_for(vd_certcache_t *c, const uint8_t *what)
{
    for (unsigned i = 0; what != NULL && i < c->cfg.cold_max_concurrent; i++) {
        cc_cold_run_t *r = &c->cold_runs[i];
        if (r->refs > 0 && !r->anon && memcmp(r->what, what, 32) == 0) {
            return r;
        }
    }
    return NULL;
}

vd_cold_verdict_t vd_certcache_cold_admit(vd_certcache_t *c, const char *client,
                                          const uint8_t what[32], int64_t *retry_ms)
{
    int64_t now = vd_certcache__now_ms(c);
    vd_cold_verdict_t v = VD_COLD_ADMITTED;
    uint8_t key[16];
    *retry_ms = 0;
    if (client != NULL) {
        client_key(client, key);
    }
    pthread_mutex_lock(&c->coldmu);
    cc_cold_run_t *run = run_for(c, what);
    if (run != NULL) {
        run->refs++; /* the same fetch: nothing more is asked of KDS */
        c->cold_joined++;
        pthread_mutex_unlock(&c->coldmu);
        return VD_COLD_ADMITTED;
    }
    cc_cold_client_t *s = NULL;
    int64_t tat = 0;
    if (client != NULL && c->cfg.cold_interval_ms > 0) {
        s = client_slot(c, key, now);
        int64_t t = (int64_t)c->cfg.cold_interval_ms;
        int64_t slack = (int64_t)(c->cfg.cold_burst - 1) * t;
        tat = s->tat > now ? s->tat : now;
        if (tat - now > slack) {
            v = VD_COLD_CLIENT_BUDGET;
            *retry_ms = tat - now - slack;
        }
        tat += t;
    }
    int64_t throttled = v == VD_COLD_ADMITTED ? vd_certcache_kds_throttled_ms(c) : 0;
    if (throttled > 0) {
        v = VD_COLD_THROTTLED;
        *retry_ms = throttled;
    } else if (v == VD_COLD_ADMITTED && c->cold_running >= c->cfg.cold_max_concurrent) {
        v = VD_COLD_BUSY;
        *retry_ms = VD_CERTCACHE_RETRY_HINT_MS;
    }
    if (v == VD_COLD_ADMITTED) {
        if (s != NULL) {
            s->tat = tat; /* charged only when admitted: a refusal costs no budget */
        }
        for (unsigned i = 0; i < c->cfg.cold_max_concurrent; i++) {
            if (c->cold_runs[i].refs == 0) {
                c->cold_runs[i].refs = 1;
                c->cold_runs[i].anon = what == NULL;
                if (what != NULL) {
                    memcpy(c->cold_runs[i].what, what, 32);
                }
                break;
            }
        }
        c->cold_running++;
        c->cold_admitted++;
    } else if (v == VD_COLD_CLIENT_BUDGET) {
        c->cold_refused_client++;
    } else if (v == VD_COLD_BUSY) {
        c->cold_refused_busy++;
    } else {
        c->cold_refused_throttled++;
    }
    pthread_mutex_unlock(&c->coldmu);
    if (v != VD_COLD_ADMITTED && *retry_ms < 1) {
        *retry_ms = 1;
    }
    return v;
}

void vd_certcache_cold_done(vd_certcache_t *c, const uint8_t what[32])
{
    pthread_mutex_lock(&c->coldmu);
    cc_cold_run_t *r = run_for(c, what);
    for (unsigned i = 0; r == NULL && what == NULL && i < c->cfg.cold_max_concurrent; i++) {
        if (c->cold_runs[i].refs > 0 && c->cold_runs[i].anon) {
            r = &c->cold_runs[i];
        }
    }
    if (r != NULL && --r->refs == 0) {
        c->cold_running--;
    }
    pthread_mutex_unlock(&c->coldmu);
}

void vd_certcache__cold_stats(vd_certcache_t *c, vd_certcache_stats_t *out)
{
    pthread_mutex_lock(&c->coldmu);
    out->cold_admitted = c->cold_admitted;
    out->cold_refused_client = c->cold_refused_client;
    out->cold_refused_busy = c->cold_refused_busy;
    out->cold_refused_throttled = c->cold_refused_throttled;
    out->cold_joined = c->cold_joined;
    out->cold_in_flight = c->cold_running;
    pthread_mutex_unlock(&c->coldmu);
}

int64_t vd_certcache_kds_throttled_ms(vd_certcache_t *c)
{
    return c->kds != NULL ? vd_kds_client_throttle_ms(c->kds) : 0;
}
