/*
 * The shared SQLite file: open, pragmas and schema migrations (see include/verdict/db.h).
 */
#include <stdio.h>

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

vd_err_t vd_db_error(sqlite3 *db, vd_error_t *err, const char *context)
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

static vd_err_t migrate(sqlite3 *db, const char *path, vd_error_t *err)
{
    char ctx[512];
    /* BEGIN IMMEDIATE: two processes opening a new file at once migrate one after the other. */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "%s: cannot start the schema migration", path);
        return vd_db_error(db, err, ctx);
    }
    int v = user_version(db);
    if (v < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        snprintf(ctx, sizeof(ctx), "%s: not a SQLite database", path);
        return vd_db_error(db, err, ctx);
    }
    if (v > N_MIGRATIONS) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return VD_ERR(err, VD_E_STORE,
                      "%s: schema version %d is newer than this verdict knows (%d); upgrade "
                      "verdict",
                      path, v, N_MIGRATIONS);
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
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "%s: cannot commit the schema migration", path);
        return vd_db_error(db, err, ctx);
    }
    return VD_OK;
}

vd_err_t vd_db_open(const char *path, sqlite3 **out, vd_error_t *err)
{
    sqlite3 *db = NULL;
    char ctx[512];
    vd_err_t rc = VD_OK;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "cannot open database %s", path);
        rc = vd_db_error(db, err, ctx);
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL;"
                     "PRAGMA synchronous = NORMAL;"
                     "PRAGMA foreign_keys = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(ctx, sizeof(ctx), "%s: not a usable SQLite database", path);
        rc = vd_db_error(db, err, ctx);
        goto out;
    }
    if ((rc = migrate(db, path, err)) != VD_OK) {
        goto out;
    }
    *out = db;
    db = NULL;
out:
    vd_db_close(&db);
    return rc;
}
