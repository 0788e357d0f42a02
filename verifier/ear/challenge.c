/*
 * Self-authenticating challenge nonces and the single-use table (see
 * include/verdict/challenge.h for the layout and the checks). Pure except the secret file,
 * which goes through keyfile.c.
 *
 * The single-use table is an open-addressing hash set keyed by the first 16 bytes of the
 * nonce's HMAC (unforgeable, so an attacker cannot aim collisions), holding each redeemed
 * nonce's expiry. It is never larger than `capacity` entries in a table of at least twice as
 * many slots, so probes stay short and always end. Entries are removed only by rebuilding the
 * table without the expired ones, which happens when it is full and something has expired;
 * when nothing has, redeeming fails with "busy" rather than forgetting a nonce.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "verdict/base64.h"
#include "verdict/challenge.h"
#include "ear_internal.h"

#define MAC_OFFSET 32
#define TAG_LEN    16
#define FRESH_LEN  32 /* bytes of a generated secret */

static const char mac_label[] = "verdict challenge v1"; /* domain separation for the secret */

typedef struct slot {
    uint8_t tag[TAG_LEN];
    int64_t expiry; /* 0 = empty */
} slot_t;

struct vd_challenger {
    uint8_t *secret;
    size_t secret_len;
    int64_t ttl;
    size_t capacity;
    pthread_mutex_t mu; /* guards everything below */
    slot_t *slots;
    size_t n_slots; /* a power of two, >= 2 * capacity */
    size_t count;
    int64_t min_expiry; /* earliest expiry in the table (0 when empty) */
};

const char *vd_challenge_status_str(vd_challenge_status_t s)
{
    switch (s) {
    case VD_CHALLENGE_OK:
        return "ok";
    case VD_CHALLENGE_MALFORMED:
        return "malformed";
    case VD_CHALLENGE_FORGED:
        return "forged";
    case VD_CHALLENGE_EXPIRED:
        return "expired";
    case VD_CHALLENGE_REUSED:
        return "reused";
    case VD_CHALLENGE_BUSY:
        return "busy";
    }
    return "unknown";
}

vd_err_t vd_challenger_new(const vd_challenge_config_t *cfg, vd_challenger_t **out, vd_error_t *err)
{
    vd_challenger_t *c = NULL;
    size_t cap = cfg->capacity != 0 ? cfg->capacity : VD_CHALLENGE_DEFAULT_CAP;
    int64_t ttl = cfg->ttl != 0 ? cfg->ttl : VD_CHALLENGE_DEFAULT_TTL;
    *out = NULL;
    if (cfg->secret == NULL || cfg->secret_len < VD_CHALLENGE_SECRET_MIN ||
        cfg->secret_len > VD_CHALLENGE_SECRET_MAX) {
        return VD_ERR(err, VD_E_CONFIG, "challenge secret must be %d..%d bytes",
                      VD_CHALLENGE_SECRET_MIN, VD_CHALLENGE_SECRET_MAX);
    }
    if (ttl <= 0 || ttl > VD_CHALLENGE_MAX_TTL) {
        return VD_ERR(err, VD_E_CONFIG, "challenge TTL must be 1..%d seconds",
                      VD_CHALLENGE_MAX_TTL);
    }
    if (cap > SIZE_MAX / 4 / sizeof(slot_t)) {
        return VD_ERR(err, VD_E_CONFIG, "challenge capacity %zu is too large", cap);
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "challenge: out of memory");
    }
    c->n_slots = 16;
    while (c->n_slots < 2 * cap) {
        c->n_slots *= 2;
    }
    c->slots = calloc(c->n_slots, sizeof *c->slots);
    c->secret = malloc(cfg->secret_len);
    if (c->slots == NULL || c->secret == NULL) {
        free(c->slots);
        free(c->secret);
        free(c);
        return VD_ERR(err, VD_E_NOMEM, "challenge: out of memory");
    }
    memcpy(c->secret, cfg->secret, cfg->secret_len);
    c->secret_len = cfg->secret_len;
    c->ttl = ttl;
    c->capacity = cap;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return VD_OK;
}

void vd_challenger_free(vd_challenger_t **pp)
{
    vd_challenger_t *c = pp != NULL ? *pp : NULL;
    if (c == NULL) {
        return;
    }
    *pp = NULL;
    vd_ear__free_secret(c->secret, c->secret_len);
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int mac(const vd_challenger_t *c, const uint8_t *nonce, uint8_t out[32])
{
    uint8_t msg[sizeof mac_label - 1 + MAC_OFFSET];
    unsigned int len = 0;
    memcpy(msg, mac_label, sizeof mac_label - 1);
    memcpy(msg + sizeof mac_label - 1, nonce, MAC_OFFSET);
    return HMAC(EVP_sha256(), c->secret, (int)c->secret_len, msg, sizeof msg, out, &len) != NULL &&
                   len == 32
               ? 0
               : -1;
}

vd_err_t vd_challenge_issue(vd_challenger_t *c, int64_t now, vd_challenge_t *out, vd_error_t *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *n = out->raw;
    uint64_t exp;
    if (now <= 0 || now > INT64_MAX - c->ttl) {
        return VD_ERR(err, VD_E_USAGE, "challenge: invalid time");
    }
    exp = (uint64_t)(now + c->ttl);
    n[0] = VD_CHALLENGE_VERSION;
    for (int i = 0; i < 8; i++) {
        n[1 + i] = (uint8_t)(exp >> (56 - 8 * i));
    }
    if (RAND_bytes(n + 9, MAC_OFFSET - 9) != 1 || mac(c, n, n + MAC_OFFSET) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        VD_ERR(err, VD_E_INTERNAL, "challenge: random bytes or HMAC unavailable");
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    if (vd_base64_encode(n, VD_CHALLENGE_LEN, VD_B64_STD_PAD, out->b64, sizeof out->b64) !=
        VD_CHALLENGE_B64_LEN) {
        return VD_ERR(err, VD_E_INTERNAL, "challenge: encoding failed");
    }
    out->expires_at = (int64_t)exp;
    return VD_OK;
}

static size_t slot_of(const vd_challenger_t *c, const uint8_t *tag)
{
    uint64_t h = 0;
    memcpy(&h, tag, sizeof h);
    return (size_t)(h & (c->n_slots - 1));
}

/* The slot holding `tag`, or the empty slot where it would go. Caller holds the lock. */
static slot_t *probe(vd_challenger_t *c, const uint8_t *tag)
{
    size_t i = slot_of(c, tag);
    /* The table is at most half full, so an empty slot is found within n_slots steps. */
    for (size_t step = 0; step < c->n_slots; step++) {
        slot_t *s = &c->slots[i];
        if (s->expiry == 0 || CRYPTO_memcmp(s->tag, tag, TAG_LEN) == 0) {
            return s;
        }
        i = (i + 1) & (c->n_slots - 1);
    }
    return NULL;
}

/* Rebuild the table without the entries expired at `now`. Caller holds the lock. */
static void prune(vd_challenger_t *c, int64_t now)
{
    slot_t *old = c->slots;
    slot_t *fresh = calloc(c->n_slots, sizeof *fresh);
    if (fresh == NULL) {
        return; /* keep everything: redeeming then reports busy, never forgets */
    }
    c->slots = fresh;
    c->count = 0;
    c->min_expiry = 0;
    for (size_t i = 0; i < c->n_slots; i++) {
        if (old[i].expiry != 0 && old[i].expiry > now) {
            slot_t *s = probe(c, old[i].tag);
            *s = old[i];
            c->count++;
            if (c->min_expiry == 0 || s->expiry < c->min_expiry) {
                c->min_expiry = s->expiry;
            }
        }
    }
    free(old);
}

vd_challenge_status_t vd_challenge_redeem(vd_challenger_t *c, const char *text, size_t len,
                                          int64_t now, uint8_t raw[VD_CHALLENGE_LEN],
                                          int64_t *expires_at)
{
    uint8_t n[VD_CHALLENGE_LEN + 8], want[32]; /* 88 characters decode to at most 66 bytes */
    size_t n_len = 0;
    uint64_t exp = 0;
    vd_challenge_status_t st;
    if (text == NULL || len > VD_CHALLENGE_B64_LEN || vd_base64_decode(text, len, n, &n_len) != 0 ||
        n_len != VD_CHALLENGE_LEN || n[0] != VD_CHALLENGE_VERSION) {
        return VD_CHALLENGE_MALFORMED;
    }
    if (mac(c, n, want) != 0 || CRYPTO_memcmp(want, n + MAC_OFFSET, sizeof want) != 0) {
        return VD_CHALLENGE_FORGED;
    }
    for (int i = 0; i < 8; i++) {
        exp = exp << 8 | n[1 + i];
    }
    if (exp > INT64_MAX || (int64_t)exp <= now) {
        return VD_CHALLENGE_EXPIRED;
    }
    pthread_mutex_lock(&c->mu);
    slot_t *s = probe(c, n + MAC_OFFSET);
    if (s != NULL && s->expiry != 0) {
        st = VD_CHALLENGE_REUSED;
        goto out;
    }
    if (c->count >= c->capacity) {
        if (c->min_expiry != 0 && c->min_expiry <= now) {
            prune(c, now);
        }
        if (c->count >= c->capacity) {
            st = VD_CHALLENGE_BUSY;
            goto out;
        }
        s = probe(c, n + MAC_OFFSET);
    }
    if (s == NULL) {
        st = VD_CHALLENGE_BUSY; /* cannot happen while count < capacity <= n_slots / 2 */
        goto out;
    }
    memcpy(s->tag, n + MAC_OFFSET, TAG_LEN);
    s->expiry = (int64_t)exp;
    c->count++;
    if (c->min_expiry == 0 || s->expiry < c->min_expiry) {
        c->min_expiry = s->expiry;
    }
    st = VD_CHALLENGE_OK;
out:
    pthread_mutex_unlock(&c->mu);
    if (st == VD_CHALLENGE_OK) {
        if (raw != NULL) {
            memcpy(raw, n, VD_CHALLENGE_LEN);
        }
        if (expires_at != NULL) {
            *expires_at = (int64_t)exp;
        }
    }
    return st;
}

size_t vd_challenge_remembered(vd_challenger_t *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

vd_err_t vd_challenge_secret_load_or_create(const char *path, uint8_t **secret, size_t *len,
                                            int *created, vd_error_t *err)
{
    vd_error_t local = {0};
    uint8_t fresh[FRESH_LEN];
    int missing = 0, exists = 0;
    vd_err_t rc;
    *secret = NULL;
    *len = 0;
    if (created != NULL) {
        *created = 0;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        vd_error_clear(&local);
        rc = vd_ear__read_file(path, VD_CHALLENGE_SECRET_MAX, secret, len, &missing, &local);
        if (rc == VD_OK) {
            if (*len < VD_CHALLENGE_SECRET_MIN) {
                vd_ear__free_secret(*secret, *len);
                *secret = NULL;
                *len = 0;
                return VD_ERR(err, VD_E_CONFIG, "%s: a challenge secret needs at least %d bytes",
                              path, VD_CHALLENGE_SECRET_MIN);
            }
            return VD_OK;
        }
        if (!missing) {
            return VD_ERR(err, local.code == VD_E_TOO_LARGE ? VD_E_CONFIG : local.code, "%s",
                          local.msg);
        }
        if (RAND_bytes(fresh, sizeof fresh) != 1) {
            return VD_ERR(err, VD_E_INTERNAL, "challenge secret: no random bytes");
        }
        vd_error_clear(&local);
        rc = vd_ear__write_file_atomic(path, fresh, sizeof fresh, 0, &exists, &local);
        if (rc == VD_OK) {
            *secret = malloc(sizeof fresh);
            if (*secret == NULL) {
                OPENSSL_cleanse(fresh, sizeof fresh);
                return VD_ERR(err, VD_E_NOMEM, "challenge secret: out of memory");
            }
            memcpy(*secret, fresh, sizeof fresh);
            *len = sizeof fresh;
            OPENSSL_cleanse(fresh, sizeof fresh);
            if (created != NULL) {
                *created = 1;
            }
            return VD_OK;
        }
        OPENSSL_cleanse(fresh, sizeof fresh);
        if (!exists) {
            return VD_ERR(err, local.code, "%s", local.msg);
        }
        /* Another process created it meanwhile: read that one. */
    }
    return VD_ERR(err, VD_E_IO, "%s: cannot read or create the challenge secret", path);
}

void vd_challenge_secret_free(uint8_t *secret, size_t len)
{
    vd_ear__free_secret(secret, len);
}
