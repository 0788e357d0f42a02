/*
 * WAL checkpoints off the audit commit path (audit_internal.h).
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1,000 pages:
 * that commit copies the whole WAL into the database and syncs it, and every appraisal
 * waiting for that commit waits too (several ms, the p99 of an appraisal at half load). So
 * the writer's connection has no automatic checkpoint, and:
 *
 *   writer thread                              checkpointer thread (own connection)
 *   commit; the WAL hook notes its size
 *   past `pages`: ask  ----------------------> PASSIVE checkpoint: copies what is committed,
 *                                              never takes the write lock, so commits go on
 *   next commit after the pass finished  <---
 *   PASSIVE checkpoint of the frames
 *   committed during the pass (a few)
 *
 * The writer's own small pass is what keeps the WAL bounded: SQLite rewinds the WAL at a
 * commit only when every frame in it has been copied, and frames keep arriving during the
 * background pass. The writer copies the rest between two of its own commits, so the next
 * commit starts the WAL from the beginning again. Should a pass be slower than the writer
 * fills four times `pages` (a slow disk under full load), the writer waits for it and copies
 * the rest at once, as SQLite's automatic checkpoint would have.
 *
 * Without a WAL (":memory:"), nothing is started and the calls do nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/db.h"
#include "audit_internal.h"

struct audit_ckpt {
    sqlite3 *writer_db; /* the writer's connection: its hook and its catch-up passes */
    sqlite3 *db;        /* the checkpointer's own */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* want or stop (the thread), a pass finished (the writer) */
    int pages;         /* a pass starts past this; the writer waits past four times it */
    int want, busy, pass_done, stop; /* guarded by mu */
    uint64_t passes, catchups;       /* guarded by mu */
    int wal_pages;                   /* writer thread only: the WAL after its last commit */
};

/* On the writer thread, inside each commit on its connection. */
static int wal_hook(void *ud, sqlite3 *db, const char *schema, int pages)
{
    (void)db;
    (void)schema;
    ((audit_ckpt_t *)ud)->wal_pages = pages;
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    audit_ckpt_t *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->want && !c->stop) {
            pthread_cond_wait(&c->cv, &c->mu);
        }
        if (c->stop) {
            break;
        }
        c->want = 0;
        c->busy = 1;
        pthread_mutex_unlock(&c->mu);
        /* SQLITE_BUSY (another pass, or a reader in the way) only postpones: the writer asks
         * again after a later commit. */
        sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
        c->busy = 0;
        c->pass_done = 1;
        c->passes++;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

vd_err_t vd_audit__ckpt_start(sqlite3 *writer_db, const char *path, const char *synchronous,
                              int pages, audit_ckpt_t **out, vd_error_t *err)
{
    *out = NULL;
    const char *file = sqlite3_db_filename(writer_db, "main");
    if (file == NULL || file[0] == '\0') {
        return VD_OK; /* in memory: no WAL */
    }
    audit_ckpt_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory starting the audit checkpointer");
    }
    c->writer_db = writer_db;
    c->pages = pages > 0 ? pages : AUDIT_CKPT_PAGES;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", synchronous);
    vd_err_t rc = vd_db_open(path, &c->db, err);
    if (rc == VD_OK && sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = vd_db_error(c->db, err, "audit log: cannot set up the checkpointer");
    }
    if (rc == VD_OK &&
        sqlite3_exec(writer_db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK) {
        rc = vd_db_error(writer_db, err, "audit log: cannot set up the checkpointer");
    }
    if (rc == VD_OK) {
        int e = pthread_create(&c->thread, NULL, ckpt_main, c);
        if (e != 0) {
            rc = VD_ERR(err, VD_E_INTERNAL, "audit log: cannot start the checkpointer: %s",
                        vd_strerror(e));
        }
        c->started = e == 0;
    }
    if (rc != VD_OK) { /* vd_audit_open fails too: the writer's connection is closed */
        vd_audit__ckpt_stop(&c);
        return rc;
    }
    sqlite3_wal_hook(writer_db, wal_hook, c);
    *out = c;
    return VD_OK;
}

void vd_audit__ckpt_after_commit(audit_ckpt_t *c)
{
    if (c == NULL) {
        return;
    }
    int hard = c->wal_pages >= 4 * c->pages;
    pthread_mutex_lock(&c->mu);
    if (hard) {
        while (c->want || c->busy) { /* the header comment: a pass slower than the writer */
            pthread_cond_wait(&c->cv, &c->mu);
        }
    }
    int catch_up = hard || c->pass_done;
    if (catch_up) {
        c->pass_done = 0;
    } else if (!c->busy && !c->want && !c->pass_done && c->wal_pages >= c->pages) {
        c->want = 1;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (catch_up && sqlite3_wal_checkpoint_v2(c->writer_db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL,
                                              NULL) == SQLITE_OK) {
        pthread_mutex_lock(&c->mu);
        c->catchups++;
        pthread_mutex_unlock(&c->mu);
    }
}

void vd_audit__ckpt_counts(audit_ckpt_t *c, uint64_t *passes, uint64_t *catchups)
{
    *passes = *catchups = 0;
    if (c != NULL) {
        pthread_mutex_lock(&c->mu);
        *passes = c->passes;
        *catchups = c->catchups;
        pthread_mutex_unlock(&c->mu);
    }
}

void vd_audit__ckpt_stop(audit_ckpt_t **pp)
{
    audit_ckpt_t *c = *pp;
    if (c == NULL) {
        return;
    }
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    sqlite3_wal_hook(c->writer_db, NULL, NULL);
    vd_db_close(&c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    *pp = NULL;
}
