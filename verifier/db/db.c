/*
 * The shared SQLite file: open, pragmas and schema migrations (see include/verdict/db.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verdict/db.h"

/*
 * Append-only. Each entry runs once, in its own transaction, and bumps user_version by one.
 * Never edit an entry that has shipped: add a new one.
 */
static const char *const migrations[] = {
    /* 1: policies (policies/store.c). Every import of a name is a new version; the active
     * version is a pointer; events keep activations and deletions for audit. */
    "CREATE TABLE policy_versions ("
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  origin TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (name, version)"
    ") WITHOUT ROWID;"
    "CREATE TABLE policy_active ("
    "  name TEXT PRIMARY KEY,"
    "  version INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  FOREIGN KEY (name, version) REFERENCES policy_versions (name, version)"
    ");"
    "CREATE TABLE policy_events ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  version INTEGER,"
    "  action TEXT NOT NULL,"
    "  at INTEGER NOT NULL"
    ");",
    /* 2: the certificate cache (certcache/store.c, certcache/README.md). Rows are untrusted:
     * re-validated against the pinned roots whenever they are loaded. */
    "CREATE TABLE vcek ("
    "  product TEXT NOT NULL, hwid BLOB NOT NULL, tcb INTEGER NOT NULL, der BLOB NOT NULL,"
    "  fetched_at INTEGER NOT NULL, source TEXT,"
    "  PRIMARY KEY (product, hwid, tcb)"
    ");"
    "CREATE TABLE vlek ("
    "  product TEXT NOT NULL, tcb INTEGER NOT NULL, spki BLOB NOT NULL, der BLOB NOT NULL,"
    "  fetched_at INTEGER NOT NULL, source TEXT,"
    "  PRIMARY KEY (product, tcb, spki)"
    ");"
    "CREATE TABLE chain ("
    "  product TEXT NOT NULL, key_type TEXT NOT NULL, pem BLOB NOT NULL,"
    "  fetched_at INTEGER NOT NULL,"
    "  PRIMARY KEY (product, key_type)"
    ");"
    "CREATE TABLE crl ("
    "  product TEXT NOT NULL, key_type TEXT NOT NULL, der BLOB NOT NULL,"
    "  this_update INTEGER, next_update INTEGER, fetched_at INTEGER NOT NULL,"
    "  PRIMARY KEY (product, key_type)"
    ");"
    "CREATE TABLE kds_state (k TEXT PRIMARY KEY, v INTEGER NOT NULL);",
    /* the audit log of `verdict serve` (verifier/audit/, include/verdict/audit.h): one row per
     * appraisal, written by one group-committing writer. Rows are never updated; retention
     * deletes the oldest. */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  request_id TEXT NOT NULL,"
    "  client TEXT NOT NULL,"
    "  route TEXT NOT NULL,"
    "  policy_name TEXT NOT NULL,"
    "  policy_version INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  failed_checks TEXT NOT NULL," /* JSON array of check names */
    "  report_sha256 TEXT NOT NULL,"
    "  chip_id TEXT NOT NULL,"
    "  latency_us INTEGER NOT NULL"
    ");"
    "CREATE INDEX audit_time ON audit (time_ms);"
    "CREATE INDEX audit_request ON audit (request_id);"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit records are never updated'); END;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int vd_db_schema_version(void)
{
    return N_MIGRATIONS;
}

vd_err_t vd_db_error_record(sqlite3 *db, vd_error_t *err, const char *context)
{
    return VD_ERR(err, VD_E_STORE, "%s: %s", context,
                  db != NULL ? sqlite3_errmsg(db) : "cannot allocate a database handle");
}

void vd_db_close(sqlite3 **db)
{
    if (db == NULL || *db == NULL) {
        return;
    }
    sqlite3_close(*db);
    *db = NULL;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

/* How long opening waits for another process (creating the file, switching it to WAL,
 * migrating it) before giving up. */
#define DB_BUSY_MS 5000

static int busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/*
 * sqlite3_exec, retried while another connection holds a lock the busy handler does not wait
 * for (switching to WAL while another process creates the file answers SQLITE_BUSY at once).
 * Bounded: about DB_BUSY_MS in all. Opening only, never an appraisal's path.
 */
static int exec_retry(sqlite3 *db, const char *sql)
{
    int rc = SQLITE_OK;
    for (int waited = 0; waited <= DB_BUSY_MS; waited += 20) {
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (!busy(rc)) {
            break;
        }
        sqlite3_sleep(20);
    }
    return rc;
}

/* The first column of the first row of `sql` as text ("" if none); SQLite's code. Retried. */
static int query_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    int rc = SQLITE_OK;
    out[0] = '\0';
    for (int waited = 0; waited <= DB_BUSY_MS; waited += 20) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                const unsigned char *t = sqlite3_column_text(st, 0);
                snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
                rc = SQLITE_OK;
            } else if (rc == SQLITE_DONE) {
                rc = SQLITE_OK;
            }
        }
        sqlite3_finalize(st);
        if (!busy(rc)) {
            break;
        }
        sqlite3_sleep(20);
    }
    return rc;
}

static vd_err_t migrate(sqlite3 *db, const char *path, vd_error_t *err)
{
    char ctx[512];
    /* BEGIN IMMEDIATE: two processes opening a new file at once migrate one after the other. */
    if (exec_retry(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "%s: cannot start the schema migration", path);
        return vd_db_error(db, err, ctx);
    }
    int v = user_version(db); /* again: another process may have migrated meanwhile */
    if (v < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        snprintf(ctx, sizeof(ctx), "%s: not a SQLite database", path);
        return vd_db_error(db, err, ctx);
    }
    for (; v < N_MIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(ctx, sizeof(ctx), "%s: schema migration %d failed", path, v + 1);
            vd_err_t rc = vd_db_error(db, err, ctx);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    if (exec_retry(db, "COMMIT") != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "%s: cannot commit the schema migration", path);
        vd_err_t rc = vd_db_error(db, err, ctx);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return VD_OK;
}

/* "file:<path>?<query>" with the path percent-encoded. malloc'd; NULL when out of memory. */
static char *file_uri(const char *path, const char *query)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *u = malloc(3 * n + strlen(query) + 8);
    if (u == NULL) {
        return NULL;
    }
    char *o = u + sprintf(u, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~", *p) != NULL) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    sprintf(o, "?%s", query);
    return u;
}

/*
 * Open a file this process cannot write. mode=ro reads a WAL database only if its -shm can be
 * used; when it cannot (a read-only directory), immutable=1 reads the file as it is.
 */
static int open_read_only(const char *path, sqlite3 **out)
{
    static const char *const queries[] = {"mode=ro", "immutable=1"};
    int rc = SQLITE_CANTOPEN;
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char *uri = file_uri(path, queries[i]);
        sqlite3 *db = NULL;
        char v[32];
        if (uri == NULL) {
            return SQLITE_NOMEM;
        }
        rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
        free(uri);
        if (rc == SQLITE_OK) {
            sqlite3_busy_timeout(db, DB_BUSY_MS);
            rc = query_text(db, "PRAGMA user_version", v, sizeof(v));
        }
        if (rc == SQLITE_OK) {
            *out = db;
            return rc;
        }
        sqlite3_close(db);
    }
    return rc;
}

vd_err_t vd_db_check(const char *path, vd_error_t *err)
{
    sqlite3 *db = NULL;
    char first[256] = "";
    if (strcmp(path, ":memory:") == 0 || access(path, F_OK) != 0) {
        return VD_OK;
    }
    int rc = open_read_only(path, &db);
    if (rc == SQLITE_OK) {
        rc = query_text(db, "PRAGMA quick_check", first, sizeof(first));
    }
    if (rc != SQLITE_OK) {
        snprintf(first, sizeof(first), "%s", db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    }
    vd_db_close(&db);
    if (rc == SQLITE_OK && strcmp(first, "ok") == 0) {
        return VD_OK;
    }
    return VD_ERR(err, VD_E_STORE,
                  "%s is damaged or not a database (%s); it was not changed: restore it from a "
                  "backup, or move it aside to start with an empty one",
                  path, first);
}

int vd_db_readonly(sqlite3 *db)
{
    return db != NULL && sqlite3_db_readonly(db, "main") == 1;
}

vd_err_t vd_db_open(const char *path, sqlite3 **out, vd_error_t *err)
{
    sqlite3 *db = NULL;
    char ctx[512], mode[32];
    vd_err_t rc = VD_OK;
    int ro = 0;
    *out = NULL;
    int orc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    /* Read-only when SQLite fell back to reading (then open it properly for that), or when the
     * file is readable but not writable. */
    if ((orc == SQLITE_OK && vd_db_readonly(db)) ||
        (orc != SQLITE_OK && access(path, R_OK) == 0 && access(path, W_OK) != 0)) {
        ro = 1;
    } else if (orc != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "cannot open database %s", path);
        rc = vd_db_error(db, err, ctx);
        goto out;
    }
    if (ro) {
        vd_db_close(&db);
        if (open_read_only(path, &db) != SQLITE_OK) {
            snprintf(ctx, sizeof(ctx), "cannot open database %s (read-only)", path);
            rc = vd_db_error(db, err, ctx);
            goto out;
        }
    }
    sqlite3_busy_timeout(db, DB_BUSY_MS);
    /* WAL is a property of the file: switch only when it is not yet, which needs an exclusive
     * lock that the busy handler does not cover (another process creating the file). */
    if (query_text(db, "PRAGMA journal_mode", mode, sizeof(mode)) != SQLITE_OK ||
        (!ro && strcmp(mode, "wal") != 0 &&
         query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) != SQLITE_OK) ||
        exec_retry(db, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
        (!ro && exec_retry(db, "PRAGMA synchronous = NORMAL") != SQLITE_OK)) {
        snprintf(ctx, sizeof(ctx), "%s: not a usable SQLite database", path);
        rc = vd_db_error(db, err, ctx);
        goto out;
    }
    char vs[32], *end = NULL;
    long lv = query_text(db, "PRAGMA user_version", vs, sizeof(vs)) == SQLITE_OK && vs[0] != '\0'
                  ? strtol(vs, &end, 10)
                  : -1;
    int v = end != NULL && *end == '\0' && lv >= 0 && lv <= INT_MAX ? (int)lv : -1;
    if (v < 0) {
        snprintf(ctx, sizeof(ctx), "%s: not a usable SQLite database", path);
        rc = vd_db_error(db, err, ctx);
        goto out;
    }
    if (v > N_MIGRATIONS) {
        rc = VD_ERR(err, VD_E_STORE,
                    "%s: schema version %d is newer than this verdict knows (%d); upgrade "
                    "verdict",
                    path, v, N_MIGRATIONS);
        goto out;
    }
    if (v < N_MIGRATIONS) { /* current: no write lock at all */
        if (ro) {
            rc = VD_ERR(err, VD_E_STORE,
                        "%s is read-only and its schema (version %d) needs an upgrade to %d; "
                        "open it once with write access",
                        path, v, N_MIGRATIONS);
            goto out;
        }
        if ((rc = migrate(db, path, err)) != VD_OK) {
            goto out;
        }
    }
    *out = db;
    db = NULL;
out:
    vd_db_close(&db);
    return rc;
}
