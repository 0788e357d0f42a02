/*
 * verdict: the SQLite database every stateful module shares (DESIGN.md: one `--db` file).
 *
 * One ordered, append-only list of schema migrations for the whole file (db.c); PRAGMA
 * user_version counts how many have run. Modules own their tables but add their migrations to
 * that one list, so two modules can never disagree about the version of the same file.
 * Opened in WAL mode, so readers never block on the writer and never see half a transaction.
 */
#ifndef verdict__db_h
#define verdict__db_h

#include <sqlite3.h>

#include "verdict/error.h"

#define VD_DB_DEFAULT_PATH "verdict.db"

/**
 * Open (creating if needed) the database at `path` and bring its schema up to date. Fails with
 * VD_E_STORE naming the file if it cannot be opened, is not a verdict database, or was written
 * by a newer verdict (a higher user_version than this build knows). Close with vd_db_close.
 * Many processes may open a new file at once (each waits for the others, bounded).
 * A file this process cannot write is opened read-only (vd_db_readonly says so; writes then
 * fail with SQLITE_READONLY), provided its schema is current; nothing is migrated when the
 * schema is current, so readers never take a write lock.
 */
vd_err_t vd_db_open(const char *path, sqlite3 **out, vd_error_t *err);

/**
 * Check the whole file with SQLite's quick_check, read-only (the file is never changed), before
 * a long-running process writes to it: a damaged database must be noticed at start, not when
 * a write lands on a bad page. OK when `path` does not exist yet or is ":memory:". VD_E_STORE
 * naming the file and SQLite's first complaint otherwise. Reads every page: about a second per
 * few hundred MB.
 */
vd_err_t vd_db_check(const char *path, vd_error_t *err);

/** 1 if `db` was opened read-only (the file cannot be written by this process). */
int vd_db_readonly(sqlite3 *db);

/** Close; sets *db to NULL. NULL-safe. */
void vd_db_close(sqlite3 **db);

/** Schema version this build writes (the number of migrations it knows). */
int vd_db_schema_version(void);

/** Record the current SQLite error of `db` with a context prefix. Returns VD_E_STORE. */
vd_err_t vd_db_error_record(sqlite3 *db, vd_error_t *err, const char *context);
/* The same, inline so that the static analyzer sees it never returns VD_OK (as VD_ERR). */
static inline vd_err_t vd_db_error(sqlite3 *db, vd_error_t *err, const char *context)
{
    return vd_error__code(vd_db_error_record(db, err, context), VD_E_STORE);
}

#endif
