/*
 * The audit writer: one thread, one connection, group commit (include/verdict/audit.h).
 *
 *   caller (any thread)                    writer thread
 *   vd_audit_submit: copy the record,      wait for work (or the prune interval)
 *     queue it, signal `work`, return      take up to batch_max queued records
 *                                          BEGIN IMMEDIATE; INSERT each; COMMIT
 *                                          call each record's `done` (unlocked), free it
 *
 * So the callers of one batch share one commit (one fsync with synchronous=FULL), and the
 * next batch forms while this one is being written; nobody blocks on a commit but the writer
 * (vd_audit_append waits on its own thread for callers that want to). The watchdog thread
 * reports records not committed within the commit timeout as failed: it sleeps until the
 * oldest pending record's deadline (records are pending in submission order, so that is the
 * earliest), and needs no wake-up per record. A record it reported may still be committed,
 * but was never acknowledged; the writer then frees it without calling `done` again.
 * Retention runs on the writer too, one small transaction at a time, only when no record is
 * waiting. WAL checkpoints run on a thread of their own (checkpoint.c), not inside a commit.
 *
 * Everything shared is guarded by `mu`; the connection is used by the writer thread alone
 * after vd_audit_open hands it over.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verdict/db.h"
#include "audit_internal.h"

struct vd_audit {
    pthread_mutex_t mu;
    pthread_cond_t work;  /* writer: records queued, prune asked, stop */
    pthread_cond_t done;  /* vd_audit_prune_now: a prune finished */
    pthread_cond_t watch; /* the watchdog: stop */
    pthread_t thread, watch_thread;
    int started, watch_started, watch_stop;

    sqlite3 *db;
    sqlite3_stmt *insert;
    audit_ckpt_t *ckpt; /* WAL checkpoints off the commit path (checkpoint.c) */
    vd_audit_config_t cfg;
    char *path;

    audit_entry_t *head, *tail;           /* waiting for the writer */
    audit_entry_t *pend_head, *pend_tail; /* submitted, not reported: oldest deadline first */
    size_t queued;
    int stop;

    /* Retention: a cycle deletes in chunks until a chunk comes back short. */
    int64_t next_prune_ms; /* monotonic */
    int pruning;
    uint64_t prune_asked;   /* tickets handed to vd_audit_prune_now */
    uint64_t prune_cycle;   /* ticket of the cycle in progress */
    uint64_t prune_done;    /* ticket of the last finished cycle */
    uint64_t cycle_deleted; /* records deleted by the cycle in progress */
    uint64_t last_deleted;  /* ... by the last finished cycle */
    vd_err_t prune_rc;
    char prune_msg[VD_ERROR_MSG_MAX];

    vd_audit_stats_t stats;
    int64_t next_probe_ms; /* monotonic; while unhealthy, when to try writing again */
};

/*
 * While unhealthy (a commit failed: locked, read-only, disk full), the writer tries a write
 * this often, so `healthy` (hence /readyz) comes back once the database can be written again
 * even if no appraisal arrives: a replica that readiness took out of rotation gets none.
 */
#define AUDIT_PROBE_MS 1000

static vd_err_t probe_writable(vd_audit_t *a, vd_error_t *err);

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_deadline(int64_t at_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(at_ms / 1000),
                          .tv_nsec = (long)(at_ms % 1000) * 1000000};
    return ts;
}

/* ---- the writer thread --------------------------------------------------------------------- */

/* With `mu` held: `e` is being reported; it leaves the pending list. */
static void pend_unlink(vd_audit_t *a, audit_entry_t *e)
{
    if (e->pend_prev != NULL) {
        e->pend_prev->pend_next = e->pend_next;
    } else {
        a->pend_head = e->pend_next;
    }
    if (e->pend_next != NULL) {
        e->pend_next->pend_prev = e->pend_prev;
    } else {
        a->pend_tail = e->pend_prev;
    }
    e->pend_prev = e->pend_next = NULL;
}

/* Insert `n` records from `batch` in one transaction. */
static vd_err_t write_batch(vd_audit_t *a, audit_entry_t *batch, size_t n, vd_error_t *err)
{
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return vd_db_error(a->db, err, "audit log: cannot start a transaction");
    }
    audit_entry_t *e = batch;
    for (size_t i = 0; i < n; i++, e = e->next) {
        int rc = vd_audit__bind(a->insert, e);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(a->insert);
        }
        sqlite3_reset(a->insert);
        sqlite3_clear_bindings(a->insert);
        if (rc != SQLITE_DONE) {
            vd_err_t r = vd_db_error(a->db, err, "audit log: cannot insert a record");
            sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
            return r;
        }
    }
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        vd_err_t r = vd_db_error(a->db, err, "audit log: cannot commit");
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    return VD_OK;
}

static int prune_wanted(const vd_audit_t *a, int64_t now)
{
    return a->pruning || a->prune_asked > a->prune_done ||
           ((a->cfg.max_age_s > 0 || a->cfg.max_rows > 0) && now >= a->next_prune_ms);
}

/* With `mu` held: take the batch at the head of the queue, write it unlocked, report back. */
static void commit_some(vd_audit_t *a)
{
    audit_entry_t *batch = a->head, *last = a->head;
    size_t n = 1;
    while (n < a->cfg.batch_max && last->next != NULL) {
        last = last->next;
        n++;
    }
    a->head = last->next;
    if (a->head == NULL) {
        a->tail = NULL;
    }
    a->queued -= n;
    pthread_mutex_unlock(&a->mu);

    vd_error_t err = {0};
    vd_err_t rc = write_batch(a, batch, n, &err);

    pthread_mutex_lock(&a->mu);
    /* The records still pending are this writer's to report (the watchdog may have reported
     * some: their `done` is NULL); unlinked, the watchdog no longer sees them. */
    audit_entry_t *e = batch;
    for (size_t i = 0; i < n; i++, e = e->next) {
        if (e->done != NULL) {
            pend_unlink(a, e);
        }
    }
    if (rc == VD_OK) {
        a->stats.records += n;
        a->stats.commits++;
        a->stats.largest_batch = n > a->stats.largest_batch ? n : a->stats.largest_batch;
        a->stats.healthy = 1;
    } else {
        a->stats.failures += n;
        a->stats.healthy = 0;
        a->next_probe_ms = mono_ms() + AUDIT_PROBE_MS;
    }
    a->stats.queue_depth = a->queued;
    pthread_mutex_unlock(&a->mu);

    /* Callbacks run unlocked: they hand answers on (the server's done queue). */
    e = batch;
    for (size_t i = 0; i < n; i++) {
        audit_entry_t *next = e->next;
        if (e->done != NULL) {
            e->done(e->ud, rc, err.msg);
        }
        free(e);
        e = next;
    }
    if (rc == VD_OK) {
        vd_audit__ckpt_after_commit(a->ckpt);
    }
    pthread_mutex_lock(&a->mu);
}

/* With `mu` held: one chunk of retention, written unlocked. */
static void prune_some(vd_audit_t *a)
{
    if (!a->pruning) {
        a->pruning = 1;
        a->prune_cycle = a->prune_asked;
        a->cycle_deleted = 0;
    }
    vd_audit_config_t cfg = a->cfg;
    pthread_mutex_unlock(&a->mu);

    vd_error_t err = {0};
    uint64_t n = 0;
    vd_err_t rc = vd_audit_prune(a->db, vd_audit__now_ms(), cfg.max_age_s, cfg.max_rows,
                                 VD_AUDIT_PRUNE_CHUNK, &n, &err);

    pthread_mutex_lock(&a->mu);
    a->cycle_deleted += n;
    a->stats.pruned += n;
    if (rc != VD_OK || n < VD_AUDIT_PRUNE_CHUNK) {
        a->pruning = 0;
        a->prune_done = a->prune_cycle;
        a->last_deleted = a->cycle_deleted;
        a->prune_rc = rc;
        snprintf(a->prune_msg, sizeof(a->prune_msg), "%s", err.msg);
        a->next_prune_ms = mono_ms() + a->cfg.prune_interval_ms;
        pthread_cond_broadcast(&a->done);
    }
}

/* With `mu` held, while unhealthy: can the database be written again? */
static void probe_some(vd_audit_t *a)
{
    pthread_mutex_unlock(&a->mu);
    vd_error_t err = {0};
    vd_err_t rc = probe_writable(a, &err);
    pthread_mutex_lock(&a->mu);
    if (rc == VD_OK) {
        a->stats.healthy = 1;
    }
    a->next_probe_ms = mono_ms() + AUDIT_PROBE_MS;
}

static void *writer_main(void *arg)
{
    vd_audit_t *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (a->head != NULL) {
            commit_some(a); /* records first: retention never holds a caller back */
            continue;
        }
        if (a->stop) {
            break;
        }
        int64_t now = mono_ms();
        if (prune_wanted(a, now)) {
            prune_some(a);
            continue;
        }
        if (!a->stats.healthy && now >= a->next_probe_ms) {
            probe_some(a);
            continue;
        }
        int64_t wake = a->cfg.max_age_s > 0 || a->cfg.max_rows > 0 ? a->next_prune_ms : -1;
        if (!a->stats.healthy && (wake < 0 || a->next_probe_ms < wake)) {
            wake = a->next_probe_ms;
        }
        if (wake >= 0) {
            struct timespec until = mono_deadline(wake);
            pthread_cond_timedwait(&a->work, &a->mu, &until);
        } else {
            pthread_cond_wait(&a->work, &a->mu);
        }
    }
    /* Whoever is still waiting for a prune gets an answer. */
    a->prune_done = a->prune_asked;
    a->prune_rc = VD_E_STORE;
    snprintf(a->prune_msg, sizeof(a->prune_msg), "audit log closed");
    pthread_cond_broadcast(&a->done);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- open, close --------------------------------------------------------------------------- */

/* Reports records past their deadline as failed (header comment). */
static void *watchdog_main(void *arg)
{
    vd_audit_t *a = arg;
    char msg[VD_ERROR_MSG_MAX];
    snprintf(msg, sizeof(msg),
             "audit log: the record was not committed within %ld ms; it must be treated as not "
             "written",
             a->cfg.commit_timeout_ms);
    pthread_mutex_lock(&a->mu);
    while (!a->watch_stop) {
        int64_t now = mono_ms();
        audit_entry_t *e = a->pend_head;
        if (e != NULL && e->deadline_ms <= now) {
            vd_audit_done_fn done = e->done; /* the writer may free `e` once unlocked */
            void *ud = e->ud;
            pend_unlink(a, e);
            e->done = NULL; /* reported: the writer frees it without calling it */
            a->stats.rejected++;
            pthread_mutex_unlock(&a->mu);
            done(ud, VD_E_STORE, msg);
            pthread_mutex_lock(&a->mu);
            continue;
        }
        /* A record submitted from now on has a deadline past now + the timeout. */
        struct timespec until =
            mono_deadline(e != NULL ? e->deadline_ms : now + a->cfg.commit_timeout_ms);
        pthread_cond_timedwait(&a->watch, &a->mu, &until);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void destroy(vd_audit_t *a)
{
    vd_audit__ckpt_stop(&a->ckpt); /* the writer has stopped: nothing calls it any more */
    sqlite3_finalize(a->insert);
    vd_db_close(&a->db);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->done);
    pthread_cond_destroy(&a->watch);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

/* Raise a thread's stop flag under `mu`, wake it, and wait for it to end. */
static void stop_thread(vd_audit_t *a, int *stop, pthread_cond_t *cv, pthread_t thread)
{
    pthread_mutex_lock(&a->mu);
    *stop = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(thread, NULL);
}

void vd_audit_close(vd_audit_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_audit_t *a = *pp;
    if (a->started) {
        stop_thread(a, &a->stop, &a->work, a->thread);
    }
    /* The writer drained the queue: every record has been reported. */
    if (a->watch_started) {
        stop_thread(a, &a->watch_stop, &a->watch, a->watch_thread);
    }
    destroy(a);
    *pp = NULL;
}

/*
 * Before SQLite (whose message would be "attempt to write a readonly database"): the file, if
 * it exists, and its directory (WAL creates -wal and -shm files there) must be writable.
 */
static vd_err_t check_access(const char *path, vd_error_t *err)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (access(path, F_OK) == 0 && access(path, W_OK) != 0) {
        return VD_ERR(err, VD_E_STORE,
                      "audit log: the database %s is read-only (%s); appraisals cannot be "
                      "recorded",
                      path, vd_strerror(errno));
    }
    if (access(dir, W_OK) != 0) {
        return VD_ERR(err, VD_E_STORE,
                      "audit log: the directory of the database %s is not writable (%s); "
                      "appraisals cannot be recorded",
                      path, vd_strerror(errno));
    }
    return VD_OK;
}

/* Sets *out to the first column of the first row of `sql`. */
static int query_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/*
 * Can this connection write? At open (a read-only file shows here, not at the first append),
 * and while unhealthy. It rewrites the header's application_id with the value it has (unused by
 * verdict) in a write transaction: a page really reaches the WAL, so a full disk shows too.
 */
static vd_err_t probe_writable(vd_audit_t *a, vd_error_t *err)
{
    char ctx[600], sql[64];
    int id = 0;
    snprintf(ctx, sizeof(ctx), "audit log: cannot write the database %s", a->path);
    if (sqlite3_db_readonly(a->db, "main") == 1) {
        return VD_ERR(err, VD_E_STORE, "%s: the file is read-only", ctx);
    }
    int ok = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             query_int(a->db, "PRAGMA application_id", &id) == SQLITE_OK;
    if (ok) {
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", id);
        ok = sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    }
    if (!ok) {
        vd_err_t rc = vd_db_error(a->db, err, ctx);
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return VD_OK;
}

vd_err_t vd_audit_open(const vd_audit_config_t *cfg, vd_audit_t **out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    char sql[96];
    *out = NULL;
    if (cfg == NULL || cfg->db_path == NULL || cfg->db_path[0] == '\0') {
        return VD_ERR(err, VD_E_CONFIG, "audit log: no database path");
    }
    if (cfg->synchronous != VD_AUDIT_SYNC_FULL && cfg->synchronous != VD_AUDIT_SYNC_NORMAL) {
        return VD_ERR(err, VD_E_CONFIG, "audit log: unknown synchronous mode %d",
                      (int)cfg->synchronous);
    }
    vd_audit_t *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory opening the audit log");
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->work, &ca);
    pthread_cond_init(&a->done, &ca);
    pthread_cond_init(&a->watch, &ca);
    pthread_condattr_destroy(&ca);

    a->cfg = *cfg;
    a->cfg.queue_max = cfg->queue_max > 0 ? cfg->queue_max : VD_AUDIT_DEFAULT_QUEUE;
    a->cfg.commit_timeout_ms =
        cfg->commit_timeout_ms > 0 ? cfg->commit_timeout_ms : VD_AUDIT_DEFAULT_TIMEOUT_MS;
    a->cfg.prune_interval_ms =
        cfg->prune_interval_ms > 0 ? cfg->prune_interval_ms : VD_AUDIT_DEFAULT_PRUNE_MS;
    a->cfg.batch_max = cfg->batch_max > 0 ? cfg->batch_max : VD_AUDIT_DEFAULT_BATCH;
    a->stats.healthy = 1;
    if ((a->path = strdup(cfg->db_path)) == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory opening the audit log");
        goto fail;
    }
    a->cfg.db_path = a->path;
    if (strcmp(a->path, ":memory:") != 0 && (rc = check_access(a->path, err)) != VD_OK) {
        goto fail;
    }
    if ((rc = vd_db_open(a->path, &a->db, err)) != VD_OK ||
        (rc = probe_writable(a, err)) != VD_OK) {
        goto fail;
    }
    /* WAL (vd_db_open) + FULL: every commit fsyncs the WAL; NORMAL: only checkpoints do. */
    const char *sync = a->cfg.synchronous == VD_AUDIT_SYNC_FULL ? "FULL" : "NORMAL";
    snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", sync);
    if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = vd_db_error(a->db, err, "audit log: cannot set the durability");
        goto fail;
    }
    if ((rc = vd_audit__ckpt_start(a->db, a->path, sync, cfg->checkpoint_pages, &a->ckpt, err)) !=
        VD_OK) {
        goto fail;
    }
    if (cfg->max_pages > 0) {
        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)cfg->max_pages);
        if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            rc = vd_db_error(a->db, err, "audit log: cannot cap the file size");
            goto fail;
        }
    }
    if (sqlite3_prepare_v3(a->db, VD_AUDIT__INSERT_SQL, -1, SQLITE_PREPARE_PERSISTENT, &a->insert,
                           NULL) != SQLITE_OK) {
        rc = vd_db_error(a->db, err, "audit log: the audit table is not usable");
        goto fail;
    }
    /* The first retention cycle runs soon after start, not one interval later. */
    a->next_prune_ms = mono_ms();
    int prc = pthread_create(&a->thread, NULL, writer_main, a);
    if (prc != 0) {
        rc = VD_ERR(err, VD_E_INTERNAL, "audit log: cannot start the writer: %s", vd_strerror(prc));
        goto fail;
    }
    a->started = 1;
    prc = pthread_create(&a->watch_thread, NULL, watchdog_main, a);
    if (prc != 0) {
        vd_audit_close(&a);
        return VD_ERR(err, VD_E_INTERNAL, "audit log: cannot start the watchdog: %s",
                      vd_strerror(prc));
    }
    a->watch_started = 1;
    *out = a;
    return VD_OK;
fail:
    destroy(a);
    return rc;
}

/* ---- callers ------------------------------------------------------------------------------- */

vd_err_t vd_audit_submit(vd_audit_t *a, const vd_audit_record_t *rec, vd_audit_done_fn done,
                         void *ud, vd_error_t *err)
{
    audit_entry_t *e = NULL;
    vd_err_t rc = vd_audit__entry_new(rec, vd_audit__now_ms(), &e, err);
    if (rc != VD_OK) {
        return rc;
    }
    e->done = done;
    e->ud = ud;
    pthread_mutex_lock(&a->mu);
    if (a->stop || a->queued >= a->cfg.queue_max) {
        a->stats.rejected++;
        size_t queued = a->queued;
        int stopped = a->stop;
        pthread_mutex_unlock(&a->mu);
        free(e);
        if (stopped) {
            return VD_ERR(err, VD_E_STORE, "audit log: closed; the record was not written");
        }
        return VD_ERR(err, VD_E_STORE,
                      "audit log: %zu records are waiting for the writer (the queue is full); "
                      "the record was not written",
                      queued);
    }
    e->deadline_ms = mono_ms() + a->cfg.commit_timeout_ms;
    if (a->tail != NULL) {
        a->tail->next = e;
    } else {
        a->head = e;
    }
    a->tail = e;
    e->pend_prev = a->pend_tail;
    if (a->pend_tail != NULL) {
        a->pend_tail->pend_next = e;
    } else {
        a->pend_head = e;
    }
    a->pend_tail = e;
    a->queued++;
    a->stats.queue_depth = a->queued;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    return VD_OK;
}

/* vd_audit_append's wait for its own record. */
typedef struct append_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    vd_err_t rc;
    char msg[VD_ERROR_MSG_MAX];
} append_wait_t;

static void append_done(void *ud, vd_err_t rc, const char *msg)
{
    append_wait_t *w = ud;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    snprintf(w->msg, sizeof(w->msg), "%s", msg);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

vd_err_t vd_audit_append(vd_audit_t *a, const vd_audit_record_t *rec, vd_error_t *err)
{
    append_wait_t w;
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    vd_err_t rc = vd_audit_submit(a, rec, append_done, &w, err);
    if (rc == VD_OK) {
        /* The watchdog bounds this wait: `done` comes by the commit timeout. */
        pthread_mutex_lock(&w.mu);
        while (!w.done) {
            pthread_cond_wait(&w.cv, &w.mu);
        }
        pthread_mutex_unlock(&w.mu);
        rc = w.rc;
        if (rc != VD_OK) {
            VD_ERR(err, rc, "%s", w.msg);
        }
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

vd_err_t vd_audit_prune_now(vd_audit_t *a, uint64_t *deleted, vd_error_t *err)
{
    pthread_mutex_lock(&a->mu);
    uint64_t ticket = ++a->prune_asked;
    pthread_cond_signal(&a->work);
    while (a->prune_done < ticket) {
        pthread_cond_wait(&a->done, &a->mu);
    }
    vd_err_t rc = a->prune_rc;
    if (deleted != NULL) {
        *deleted = a->last_deleted;
    }
    if (rc != VD_OK) {
        VD_ERR(err, rc, "%s", a->prune_msg);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void vd_audit_get_stats(vd_audit_t *a, vd_audit_stats_t *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->stats;
    out->queue_depth = a->queued;
    pthread_mutex_unlock(&a->mu);
    vd_audit__ckpt_counts(a->ckpt, &out->checkpoints, &out->checkpoints_writer);
}
