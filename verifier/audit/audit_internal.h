/*
 * Internal to verifier/audit/: the queued form of a record, shared by the record code
 * (audit.c) and the group-committing writer (writer.c).
 */
#ifndef verdict__audit_internal_h
#define verdict__audit_internal_h

#include <pthread.h>
#include <sqlite3.h>

#include "verdict/audit.h"

/*
 * One record copied off the caller's stack, waiting for the writer. The strings point into
 * `text` (one allocation). The writer frees every entry it took from the queue; `done` and the
 * pending links are guarded by the writer's mutex until the entry leaves the pending list
 * (writer.c).
 */
typedef struct audit_entry audit_entry_t;
struct audit_entry {
    audit_entry_t *next; /* the queue, then the batch being written */
    int64_t time_ms;
    int64_t latency_us;
    int policy_version;
    const char *request_id, *client, *route, *policy_name, *status, *checks_json, *report_sha256,
        *chip_id;
    vd_audit_done_fn done; /* set by vd_audit_submit; NULL once the watchdog reported it */
    void *ud;
    int64_t deadline_ms;                  /* monotonic: reported failed past it */
    audit_entry_t *pend_prev, *pend_next; /* submitted and not reported yet, oldest first */
    char text[];
};

/**
 * Check the record's limits and copy it into a new entry (strings made printable UTF-8: other
 * bytes become '?'); time_ms 0 becomes `now_ms`. VD_E_TOO_LARGE, VD_E_NOMEM.
 */
vd_err_t vd_audit__entry_new(const vd_audit_record_t *rec, int64_t now_ms, audit_entry_t **out,
                             vd_error_t *err);

/** The INSERT statement that vd_audit__bind fills. */
#define VD_AUDIT__INSERT_SQL                                                                       \
    "INSERT INTO audit (time_ms, request_id, client, route, policy_name, policy_version, status,"  \
    " failed_checks, report_sha256, chip_id, latency_us) VALUES (?,?,?,?,?,?,?,?,?,?,?)"

/** Bind `e` to a prepared VD_AUDIT__INSERT_SQL. SQLITE_OK or an SQLite error code. */
int vd_audit__bind(sqlite3_stmt *st, const audit_entry_t *e);

/** Current time, Unix milliseconds. */
int64_t vd_audit__now_ms(void);

/*
 * WAL checkpoints off the commit path (checkpoint.c): a thread with its own connection copies
 * the WAL into the database once the writer's commits take it past `pages`; after its next
 * commit the writer copies the few frames committed meanwhile, and past four times `pages`
 * waits for the thread's pass and copies the rest itself.
 */
#define AUDIT_CKPT_PAGES 4000 /* the default: 16 MiB of 4 KiB pages */
typedef struct audit_ckpt audit_ckpt_t;

/** Turn off `writer_db`'s automatic checkpoints and start the thread, on a connection to
 * `path` with the writer's `synchronous` ("FULL", "NORMAL"). *out NULL (and VD_OK) for a
 * database in memory. */
vd_err_t vd_audit__ckpt_start(sqlite3 *writer_db, const char *path, const char *synchronous,
                              int pages, audit_ckpt_t **out, vd_error_t *err);
/** Writer thread, after each commit. NULL-safe. */
void vd_audit__ckpt_after_commit(audit_ckpt_t *c);
/** Background passes finished, and the writer's own passes. NULL-safe (zeros). */
void vd_audit__ckpt_counts(audit_ckpt_t *c, uint64_t *passes, uint64_t *catchups);
/** Stop the thread (after its pass) and free; sets *pp to NULL; NULL-safe. */
void vd_audit__ckpt_stop(audit_ckpt_t **pp);

#endif
