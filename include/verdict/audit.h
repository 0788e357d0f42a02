/*
 * verdict: the audit log of `verdict serve` (issue #8 section 5): one record per appraisal, in
 * the table `audit` of the shared SQLite file (verifier/db/db.c), committed before the answer
 * is sent.
 *
 * Group commit: vd_audit_submit copies the record into a bounded queue and returns; ONE writer
 * thread, with its own connection, takes everything queued, inserts it in one transaction,
 * commits, and reports each record of the batch to its caller's callback. Many appraisals share
 * one fsync, and none waits on its own fsync alone. A record that could not be committed (disk
 * full, a read-only or locked file, the queue full or the commit not done within the commit
 * timeout because the writer is stuck) is reported as an error, so the API can answer 503
 * instead of an unrecorded result. vd_audit_append is the same, waiting on the calling thread.
 *
 * Durability of an acknowledged record (vd_audit_append returned VD_OK), in WAL mode:
 *  - VD_AUDIT_SYNC_FULL (the default): the WAL is fsync'd at every commit, so the record
 *    survives a process crash and a power loss or kernel panic.
 *  - VD_AUDIT_SYNC_NORMAL: the WAL is fsync'd only at checkpoints, so the record survives a
 *    process crash (kill -9), but the last transactions before a power loss may be lost (never
 *    corrupting the file).
 *
 * Retention: the writer deletes records older than max_age and beyond max_rows (oldest first)
 * about once per prune interval, in small transactions between batches, so pruning never holds
 * appends back for long. Records are never updated (a trigger refuses UPDATE).
 *
 * Readers (vd_audit_query, vd_audit_find) take any connection from vd_db_open; WAL lets them
 * read while the writer commits.
 */
#ifndef verdict__audit_h
#define verdict__audit_h

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "verdict/error.h"

typedef enum vd_audit_sync {
    VD_AUDIT_SYNC_FULL = 0, /* PRAGMA synchronous = FULL: survives power loss */
    VD_AUDIT_SYNC_NORMAL,   /* PRAGMA synchronous = NORMAL: survives a process crash */
} vd_audit_sync_t;

#define VD_AUDIT_DEFAULT_QUEUE      4096
#define VD_AUDIT_DEFAULT_TIMEOUT_MS 10000
#define VD_AUDIT_DEFAULT_PRUNE_MS   60000
#define VD_AUDIT_DEFAULT_BATCH      1024
#define VD_AUDIT_PRUNE_CHUNK        5000 /* rows deleted per pruning transaction */

/* Every field: 0 / NULL means the default. */
typedef struct vd_audit_config {
    const char *db_path;         /* required; the shared database file */
    vd_audit_sync_t synchronous; /* [FULL] */
    size_t queue_max;            /* records waiting for the writer [4096]; beyond: error */
    long commit_timeout_ms;      /* a record not committed within this is reported failed
                                    [10 000] */
    int64_t max_age_s;           /* delete records older than this; 0 = no age limit */
    int64_t max_rows;            /* keep at most this many records; 0 = no limit */
    long prune_interval_ms;      /* [60 000] */
    size_t batch_max;            /* records per transaction [1024] */
    int64_t max_pages;           /* cap on the file, in pages (PRAGMA max_page_count); 0 = none.
                                    Reaching it behaves like a full disk. */
    int checkpoint_pages;        /* WAL pages that start a background checkpoint [4000]; the
                                    WAL stays below about four times this */
} vd_audit_config_t;

/* Field limits: a longer field makes vd_audit_append fail with VD_E_TOO_LARGE. */
#define VD_AUDIT_MAX_ID     128 /* request_id */
#define VD_AUDIT_MAX_SHORT  128 /* client, route, policy_name, status */
#define VD_AUDIT_MAX_CHECKS 64  /* failed check names */
#define VD_AUDIT_MAX_CHECK  128 /* one check name */

/* One appraisal. Strings may be NULL (stored as ""); on reads they are never NULL. */
typedef struct vd_audit_record {
    int64_t id;                       /* reads: the record number; ignored by append */
    int64_t time_ms;                  /* Unix time in ms; 0 on append = now */
    const char *request_id;           /* X-Request-Id */
    const char *client;               /* client address, "127.0.0.1:50432" */
    const char *route;                /* "/v1/attest", "/challenge-response/v1/session/{id}" */
    const char *policy_name;          /* "" = no policy applied */
    int policy_version;               /* 0 = none or not from the store */
    const char *status;               /* EAR status: affirming, warning, contraindicated, none */
    const char *const *failed_checks; /* names of the checks that failed */
    size_t n_failed_checks;
    const char *report_sha256; /* hex SHA-256 of the report bytes, "" if there was none */
    const char *chip_id;       /* hex CHIP_ID, "" if unknown */
    int64_t latency_us;        /* request received to answer ready */
} vd_audit_record_t;

typedef struct vd_audit vd_audit_t;

/* Counters for /metrics. */
typedef struct vd_audit_stats {
    uint64_t records;       /* records committed */
    uint64_t commits;       /* transactions committed (records / commits = batching) */
    uint64_t failures;      /* records whose transaction failed */
    uint64_t rejected;      /* appends refused (queue full, closed) or timed out */
    uint64_t pruned;        /* records deleted by retention */
    uint64_t queue_depth;   /* gauge: records waiting for the writer */
    uint64_t largest_batch; /* most records in one transaction */
    uint64_t checkpoints;   /* WAL checkpoints by the background thread (off the commit path) */
    uint64_t checkpoints_writer; /* ... by the writer: the frames committed during one, or the
                                    WAL past its bound while one is slow */
    int healthy;                 /* 0 after a failed commit, until one succeeds */
} vd_audit_stats_t;

/**
 * Open the database (creating it and its schema if needed), check it can be written, and start
 * the writer. VD_E_STORE naming the file when it cannot be opened, is not a verdict database,
 * or cannot be written (read-only file or directory); VD_E_CONFIG for a bad config;
 * VD_E_NOMEM. Close with vd_audit_close.
 */
vd_err_t vd_audit_open(const vd_audit_config_t *cfg, vd_audit_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * How a submitted record ended: `rc` VD_OK once it is committed (durable as the header comment
 * says); otherwise it must be treated as not recorded and `msg` says why (the SQLite error,
 * "not committed within N ms", "closed"). Called exactly once per record accepted by
 * vd_audit_submit, on the writer thread (after the commit) or on the audit log's watchdog
 * thread (at the commit timeout; the record may still be written later, but was never
 * acknowledged). Must be quick and must not call into the audit log.
 */
typedef void (*vd_audit_done_fn)(void *ud, vd_err_t rc, const char *msg);

/**
 * Queue one appraisal's record and return without waiting; `done(ud, ...)` reports its commit.
 * Thread-safe. Fails at once, without calling `done`: VD_E_TOO_LARGE for a field past its
 * limit, VD_E_STORE when the queue is full or the log closed, VD_E_NOMEM.
 */
vd_err_t vd_audit_submit(vd_audit_t *a, const vd_audit_record_t *rec, vd_audit_done_fn done,
                         void *ud, vd_error_t *err) __attribute__((warn_unused_result));

/**
 * Record one appraisal; returns once it is committed (durable as the header comment says).
 * Thread-safe; blocks the calling thread only. VD_E_TOO_LARGE for a field past its limit,
 * VD_E_STORE when the record could not be committed (the message says why: the SQLite error,
 * "queue full", "timed out", "closed"): the record must then be treated as not recorded.
 */
vd_err_t vd_audit_append(vd_audit_t *a, const vd_audit_record_t *rec, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Ask the writer to apply retention now and wait until it has (tests, operators). Sets
 * *deleted (may be NULL) to the number of records it removed. VD_E_STORE on failure.
 */
vd_err_t vd_audit_prune_now(vd_audit_t *a, uint64_t *deleted, vd_error_t *err)
    __attribute__((warn_unused_result));

void vd_audit_get_stats(vd_audit_t *a, vd_audit_stats_t *out);

/** Commit what is queued, stop the writer, close. Sets *pp to NULL; NULL-safe. */
void vd_audit_close(vd_audit_t **pp);

/**
 * Retention on any connection: delete records with time_ms < now_ms - max_age_s * 1000
 * (max_age_s > 0) and all but the newest max_rows (max_rows > 0), at most `chunk` rows
 * (0 = no bound) in one transaction. *deleted (may be NULL) = rows removed; fewer than `chunk`
 * means done. VD_E_STORE.
 */
vd_err_t vd_audit_prune(sqlite3 *db, int64_t now_ms, int64_t max_age_s, int64_t max_rows,
                        size_t chunk, uint64_t *deleted, vd_error_t *err)
    __attribute__((warn_unused_result));

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct vd_audit_filter {
    int64_t since_ms;   /* time_ms >= since_ms; 0 = no bound */
    int64_t until_ms;   /* time_ms < until_ms; 0 = no bound */
    const char *status; /* exact status; NULL = any */
    size_t limit;       /* 0 = no limit */
    int newest_first;   /* order by record number, descending (with limit: the latest N) */
} vd_audit_filter_t;

/* Called once per record; the record and its strings are valid during the call only. Return
 * nonzero to stop (vd_audit_query then returns VD_OK). */
typedef int (*vd_audit_row_fn)(void *ud, const vd_audit_record_t *rec);

/** Records matching `f` (NULL = all, oldest first). VD_E_STORE. */
vd_err_t vd_audit_query(sqlite3 *db, const vd_audit_filter_t *f, vd_audit_row_fn fn, void *ud,
                        vd_error_t *err) __attribute__((warn_unused_result));

/**
 * Records whose number is `key` (all digits) or whose request id is `key`. *found (may be
 * NULL) = how many were passed to `fn`. VD_E_STORE.
 */
vd_err_t vd_audit_find(sqlite3 *db, const char *key, vd_audit_row_fn fn, void *ud, size_t *found,
                       vd_error_t *err) __attribute__((warn_unused_result));

/**
 * One record as a single-line JSON object (no newline): id, time (RFC 3339 with ms), time_ms,
 * request_id, client, route, policy {name, version} or null, status, failed_checks [],
 * report_sha256, chip_id, latency_us. Malloc'd; NULL when out of memory.
 */
char *vd_audit_record_json(const vd_audit_record_t *rec);

#endif
