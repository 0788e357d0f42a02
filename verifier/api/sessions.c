/*
 * Veraison sessions (sessions.h): a fixed table under one mutex. Work under the lock is a
 * lookup and a copy; encoding to JSON happens on a snapshot.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "verdict/base64.h"
#include "verdict/timefmt.h"
#include "sessions.h"

typedef struct session {
    int used;
    char id[VD_SESSION_ID_LEN + 1];
    vd_session_status_t status;
    uint8_t nonce[VD_SESSION_NONCE_MAX];
    size_t nonce_len;
    time_t expiry;
    char media_type[96];
    char *evidence_b64; /* standard base64, padded (what Go's []byte decodes) */
    char *token;
} session_t;

struct vd_sessions {
    pthread_mutex_t mu;
    session_t *items;
    size_t max;
    long ttl_s;
};

static const char *const accept_types[] = {
    "application/vnd.veraison.tsm-report+json", "application/vnd.veraison.tsm-report+cbor",
    "application/vnd.verdict.azure-vtpm+json", /* Azure vTPM evidence (vtpm.h) */
};

json_t *vd_sessions_accept_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sizeof(accept_types) / sizeof(accept_types[0]); i++) {
        json_array_append_new(a, json_string(accept_types[i]));
    }
    return a;
}

vd_err_t vd_sessions_new(size_t max, long ttl_s, vd_sessions_t **out, vd_error_t *err)
{
    vd_sessions_t *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (s == NULL || (s->items = calloc(max, sizeof(session_t))) == NULL) {
        free(s);
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    s->max = max;
    s->ttl_s = ttl_s;
    *out = s;
    return VD_OK;
}

static void clear(session_t *x)
{
    free(x->evidence_b64);
    free(x->token);
    memset(x, 0, sizeof(*x));
}

void vd_sessions_free(vd_sessions_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_sessions_t *s = *pp;
    for (size_t i = 0; i < s->max; i++) {
        clear(&s->items[i]);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->items);
    free(s);
    *pp = NULL;
}

/* Whether slot `x` holds session `id`. A session id is a capability (whoever knows it reads
 * the session), so it is compared in constant time, never with strcmp. */
static int holds(const session_t *x, const char *id)
{
    return x->used && strlen(id) == VD_SESSION_ID_LEN &&
           CRYPTO_memcmp(x->id, id, VD_SESSION_ID_LEN) == 0;
}

/* A live session by id (caller holds the lock); expired ones are cleared on the way. */
static session_t *find(vd_sessions_t *s, const char *id, time_t now)
{
    for (size_t i = 0; i < s->max; i++) {
        session_t *x = &s->items[i];
        if (holds(x, id)) {
            if (now >= x->expiry) {
                clear(x);
                return NULL;
            }
            return x;
        }
    }
    return NULL;
}

static void uuid4(char out[VD_SESSION_ID_LEN + 1])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        abort(); /* no randomness: nothing safe can be handed out */
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, VD_SESSION_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

vd_err_t vd_sessions_create(vd_sessions_t *s, const uint8_t *nonce, size_t nonce_len, time_t now,
                            char id[VD_SESSION_ID_LEN + 1], vd_error_t *err)
{
    if (nonce_len < VD_SESSION_NONCE_MIN || nonce_len > VD_SESSION_NONCE_MAX) {
        return VD_ERR(err, VD_E_MALFORMED, "a session nonce is %d to %d bytes, not %zu",
                      VD_SESSION_NONCE_MIN, VD_SESSION_NONCE_MAX, nonce_len);
    }
    session_t *slot = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->max; i++) {
        session_t *x = &s->items[i];
        if (x->used && now >= x->expiry) {
            clear(x);
        }
        if (!x->used && slot == NULL) {
            slot = x;
        }
    }
    if (slot != NULL) {
        slot->used = 1;
        uuid4(slot->id);
        slot->status = VD_SESSION_WAITING;
        memcpy(slot->nonce, nonce, nonce_len);
        slot->nonce_len = nonce_len;
        slot->expiry = now + s->ttl_s;
        memcpy(id, slot->id, VD_SESSION_ID_LEN + 1);
    }
    pthread_mutex_unlock(&s->mu);
    return slot != NULL
               ? VD_OK
               : VD_ERR(err, VD_E_TOO_LARGE, "%zu sessions are open; try again later", s->max);
}

int vd_sessions_claim(vd_sessions_t *s, const char *id, time_t now, uint8_t *nonce,
                      size_t *nonce_len)
{
    int rc;
    pthread_mutex_lock(&s->mu);
    session_t *x = find(s, id, now);
    if (x == NULL) {
        rc = -1;
    } else if (x->status != VD_SESSION_WAITING) {
        rc = -2;
    } else {
        x->status = VD_SESSION_PROCESSING;
        memcpy(nonce, x->nonce, x->nonce_len);
        *nonce_len = x->nonce_len;
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void vd_sessions_finish(vd_sessions_t *s, const char *id, vd_session_status_t status,
                        const char *media_type, const uint8_t *evidence, size_t evidence_len,
                        const char *token)
{
    size_t cap = vd_base64_encoded_len(evidence_len, VD_B64_STD_PAD) + 1;
    char *b64 = malloc(cap);
    char *tok = token != NULL ? strdup(token) : NULL;
    if (b64 != NULL) {
        vd_base64_encode(evidence, evidence_len, VD_B64_STD_PAD, b64, cap);
    }
    pthread_mutex_lock(&s->mu);
    session_t *x = NULL;
    for (size_t i = 0; i < s->max && x == NULL; i++) {
        if (holds(&s->items[i], id)) {
            x = &s->items[i];
        }
    }
    if (x != NULL) {
        x->status = status;
        snprintf(x->media_type, sizeof(x->media_type), "%s", media_type);
        free(x->evidence_b64);
        free(x->token);
        x->evidence_b64 = b64;
        x->token = tok;
        b64 = tok = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(b64);
    free(tok);
}

json_t *vd_sessions_json(vd_sessions_t *s, const char *id, time_t now)
{
    static const char *const names[] = {"waiting", "processing", "complete", "failed"};
    session_t snap;
    int found = 0;
    pthread_mutex_lock(&s->mu);
    session_t *x = find(s, id, now);
    if (x != NULL) {
        snap = *x;
        snap.evidence_b64 = x->evidence_b64 != NULL ? strdup(x->evidence_b64) : NULL;
        snap.token = x->token != NULL ? strdup(x->token) : NULL;
        found = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!found) {
        return NULL;
    }
    char nonce[VD_SESSION_NONCE_MAX * 2], expiry[32];
    vd_base64_encode(snap.nonce, snap.nonce_len, VD_B64_STD_PAD, nonce, sizeof(nonce));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "status", names[snap.status], "nonce", nonce,
                          "expiry", vd_time_format_rfc3339(snap.expiry, expiry, sizeof(expiry)),
                          "accept", vd_sessions_accept_json());
    if (o != NULL && snap.evidence_b64 != NULL) {
        json_object_set_new(
            o, "evidence",
            json_pack("{s:s, s:s}", "type", snap.media_type, "value", snap.evidence_b64));
    }
    if (o != NULL && snap.token != NULL) {
        json_object_set_new(o, "result", json_string(snap.token));
    }
    free(snap.evidence_b64);
    free(snap.token);
    return o;
}

int vd_sessions_delete(vd_sessions_t *s, const char *id)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->max; i++) {
        if (holds(&s->items[i], id)) {
            clear(&s->items[i]);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
