/*
 * The active policies, compiled once and shared by threads (include/verdict/policyset.h).
 *
 * Each known policy name has one entry holding its active version, compiled. An entry is
 * reference-counted: the set holds one reference while the version is active, and every
 * vd_policyset_get hands out one more. Activating another version (here or in another process)
 * replaces the set's entry under the lock; appraisals that hold the old entry keep using it, and
 * the last release frees it. Policies are compiled when first asked for and again only when
 * their active version changes.
 *
 * Locks: `mu` guards the entry list and every reference count (short critical sections, no
 * I/O). `load_mu` serialises everything that reads the store to change the list (a first load,
 * a refresh), so a load of an old version can never be inserted after a refresh replaced it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict/policy_store.h"
#include "verdict/policyset.h"

#define REFRESH_EVERY_MS 1000

typedef struct entry {
    vd_policy_ref_t ref; /* first: a vd_policy_ref_t * is an entry_t * */
    char name[VD_POLICY_NAME_MAX];
    vd_policy_t *policy;
    unsigned refs;
    struct entry *next;
} entry_t;

struct vd_policyset {
    pthread_mutex_t mu;
    pthread_mutex_t load_mu;
    vd_pstore_t *store;
    entry_t *entries; /* the active version of each name loaded so far */
    uint64_t stamp;   /* the store's stamp when the entries were last brought up to date */
    int64_t last_check_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void entry_free(entry_t *e)
{
    vd_policy_free(&e->policy);
    free(e);
}

/* Drop one reference; the caller holds `mu`. Returns the entry to free (outside the lock), or
 * NULL while it is still referenced. */
static entry_t *unref_locked(entry_t *e)
{
    return --e->refs == 0 ? e : NULL;
}

vd_err_t vd_policyset_open(const char *db_path, vd_policyset_t **out, vd_error_t *err)
{
    *out = NULL;
    vd_policyset_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return VD_ERR(err, VD_E_INTERNAL, "cannot create the policy set lock");
    }
    if (pthread_mutex_init(&s->load_mu, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return VD_ERR(err, VD_E_INTERNAL, "cannot create the policy set lock");
    }
    vd_err_t rc = vd_pstore_open(db_path, 0, &s->store, err);
    if (rc == VD_OK) {
        rc = vd_pstore_stamp(s->store, &s->stamp, err);
    }
    if (rc != VD_OK) {
        vd_policyset_free(&s);
        return rc;
    }
    s->last_check_ms = now_ms();
    *out = s;
    return VD_OK;
}

void vd_policyset_free(vd_policyset_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_policyset_t *s = *pp;
    /* No reference may be outstanding (no appraisal running): free every entry. */
    entry_t *e = s->entries;
    while (e != NULL) {
        entry_t *next = e->next;
        entry_free(e);
        e = next;
    }
    vd_pstore_close(&s->store);
    pthread_mutex_destroy(&s->load_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *pp = NULL;
}

/* The entry for `name` with one more reference, or NULL. Takes `mu`. */
static entry_t *find_ref(vd_policyset_t *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    entry_t *e = s->entries;
    while (e != NULL && strcmp(e->name, name) != 0) {
        e = e->next;
    }
    if (e != NULL) {
        e->refs++;
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

static vd_err_t entry_new(const char *name, vd_policy_t *p, int version, entry_t **out,
                          vd_error_t *err)
{
    entry_t *e = calloc(1, sizeof(*e));
    *out = NULL;
    if (e == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->policy = p;
    e->ref.policy = p;
    e->ref.name = e->name;
    e->ref.version = version;
    e->refs = 1; /* the set's */
    *out = e;
    return VD_OK;
}

/* Replace (or remove, when `repl` is NULL) the set's entry `old`; the caller holds load_mu. */
static void swap_entry(vd_policyset_t *s, entry_t *old, entry_t *repl)
{
    entry_t *dead = NULL;
    pthread_mutex_lock(&s->mu);
    entry_t **pp = &s->entries;
    while (*pp != NULL && *pp != old) {
        pp = &(*pp)->next;
    }
    if (*pp == old) {
        if (repl != NULL) {
            repl->next = old->next;
            *pp = repl;
        } else {
            *pp = old->next;
        }
        old->next = NULL;
        dead = unref_locked(old);
    }
    pthread_mutex_unlock(&s->mu);
    if (dead != NULL) {
        entry_free(dead);
    }
}

/* Bring every loaded entry up to date if the store changed. The caller holds load_mu. */
static vd_err_t refresh_locked(vd_policyset_t *s, vd_error_t *err)
{
    uint64_t stamp = 0;
    /* The stamp first: a change made while we read is seen by the next refresh. */
    vd_err_t rc = vd_pstore_stamp(s->store, &stamp, err);
    if (rc != VD_OK) {
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    s->last_check_ms = now_ms();
    pthread_mutex_unlock(&s->mu);
    if (stamp == s->stamp) {
        return VD_OK;
    }
    /* Only this thread (holding load_mu) changes the list, so walking it without `mu` is
     * safe; reference counts are only touched under `mu`. */
    entry_t *e = s->entries;
    while (e != NULL) {
        entry_t *next = e->next;
        char *source = NULL;
        vd_pstore_version_t info;
        vd_error_t e2 = {0};
        vd_err_t g = vd_pstore_get(s->store, e->name, 0, &source, &info, &e2);
        if (g == VD_E_CONFIG) {
            swap_entry(s, e, NULL); /* deleted: no longer usable */
        } else if (g != VD_OK) {
            free(source);
            return VD_ERR(err, g, "%s", e2.msg);
        } else if (info.version != e->ref.version) {
            vd_policy_t *p = NULL;
            entry_t *repl = NULL;
            char origin[VD_POLICY_NAME_MAX + 32];
            snprintf(origin, sizeof(origin), "%s@v%d", e->name, info.version);
            g = vd_policy_compile(source, strlen(source), origin, &p, &e2);
            if (g == VD_OK) {
                g = entry_new(e->name, p, info.version, &repl, &e2);
                if (g != VD_OK) {
                    vd_policy_free(&p);
                }
            }
            if (g != VD_OK) {
                free(source);
                return VD_ERR(err, g, "%s", e2.msg);
            }
            swap_entry(s, e, repl);
        }
        free(source);
        e = next;
    }
    s->stamp = stamp;
    return VD_OK;
}

vd_pstore_t *vd_policyset_store(vd_policyset_t *s)
{
    return s->store;
}

vd_err_t vd_policyset_refresh(vd_policyset_t *s, vd_error_t *err)
{
    pthread_mutex_lock(&s->load_mu);
    vd_err_t rc = refresh_locked(s, err);
    pthread_mutex_unlock(&s->load_mu);
    return rc;
}

vd_err_t vd_policyset_get(vd_policyset_t *s, const char *name, const vd_policy_ref_t **out,
                          vd_error_t *err)
{
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    int due = now_ms() - s->last_check_ms >= REFRESH_EVERY_MS;
    pthread_mutex_unlock(&s->mu);
    if (due && pthread_mutex_trylock(&s->load_mu) == 0) {
        /* A store that cannot be read now keeps serving the versions already loaded. */
        vd_error_t ignored = {0};
        (void)refresh_locked(s, &ignored);
        pthread_mutex_unlock(&s->load_mu);
    }
    entry_t *e = find_ref(s, name);
    if (e != NULL) {
        *out = &e->ref;
        return VD_OK;
    }
    /* First use of this name: load and compile it once. */
    pthread_mutex_lock(&s->load_mu);
    e = find_ref(s, name); /* another thread may have loaded it meanwhile */
    if (e == NULL) {
        vd_policy_t *p = NULL;
        int version = 0;
        vd_err_t rc = vd_pstore_load(s->store, name, &p, &version, err);
        if (rc == VD_OK) {
            rc = entry_new(name, p, version, &e, err);
            if (rc != VD_OK) {
                vd_policy_free(&p);
            }
        }
        if (rc != VD_OK) {
            pthread_mutex_unlock(&s->load_mu);
            return rc;
        }
        pthread_mutex_lock(&s->mu);
        e->refs++; /* the caller's */
        e->next = s->entries;
        s->entries = e;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&s->load_mu);
    *out = &e->ref;
    return VD_OK;
}

void vd_policyset_release(vd_policyset_t *s, const vd_policy_ref_t **ref)
{
    if (s == NULL || ref == NULL || *ref == NULL) {
        return;
    }
    entry_t *e = (entry_t *)(void *)(uintptr_t)*ref; /* the ref is the entry's first member */
    pthread_mutex_lock(&s->mu);
    entry_t *dead = unref_locked(e);
    pthread_mutex_unlock(&s->mu);
    if (dead != NULL) {
        entry_free(dead);
    }
    *ref = NULL;
}
