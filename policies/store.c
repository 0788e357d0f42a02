/*
 * Versioned policy store on SQLite (see include/verdict/policy_store.h; tables in
 * verifier/db/db.c, migration 1).
 *
 * One connection per vd_pstore_t, guarded by a recursive mutex: every public function takes
 * it, and vd_pstore_begin keeps it until commit or rollback, so a transaction is never
 * interleaved with another thread's statements on the same connection. Writers use BEGIN
 * IMMEDIATE (the write lock up front, waiting up to VD_PSTORE_BUSY_MS for another process),
 * and nothing is reported as written before its COMMIT or RELEASE succeeded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "verdict/db.h"
#include "verdict/policy_store.h"

struct vd_pstore {
    pthread_mutex_t mu; /* recursive: begin() holds it across puts */
    sqlite3 *db;
    int read_only;
    int in_txn;             /* inside vd_pstore_begin */
    uint64_t local_commits; /* data_version does not count this connection's own commits */
};

static void sha256_hex(const char *s, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        memset(md, 0, sizeof(md));
    }
    vd_hex_encode(md, sizeof(md), out, 65);
}

static void copy_text(char *dst, size_t n, const unsigned char *src)
{
    snprintf(dst, n, "%s", src != NULL ? (const char *)src : "");
}

static void lock(vd_pstore_t *s)
{
    pthread_mutex_lock(&s->mu);
}

static void unlock(vd_pstore_t *s)
{
    pthread_mutex_unlock(&s->mu);
}

/* Read-only fallback: no migration, but the schema must already be this build's or older
 * with the policy tables present. */
vd_err_t vd_pstore_open(const char *path, int read_only, vd_pstore_t **out, vd_error_t *err)
{
    pthread_mutexattr_t attr;
    *out = NULL;
    vd_pstore_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    /* The database module opens a file this process cannot write read-only (db.h); the store
     * then refuses writes, as it does when asked to be read-only. */
    if (vd_db_open(path, &s->db, err) != VD_OK) {
        free(s);
        return err != NULL && err->code != VD_OK ? err->code : VD_E_STORE;
    }
    sqlite3_busy_timeout(s->db, VD_PSTORE_BUSY_MS);
    s->read_only = read_only || vd_db_readonly(s->db);
    if (pthread_mutexattr_init(&attr) != 0 ||
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
        pthread_mutex_init(&s->mu, &attr) != 0) {
        vd_db_close(&s->db);
        free(s);
        return VD_ERR(err, VD_E_INTERNAL, "cannot create the policy store lock");
    }
    pthread_mutexattr_destroy(&attr);
    *out = s;
    return VD_OK;
}

void vd_pstore_close(vd_pstore_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_pstore_t *s = *pp;
    if (s->in_txn) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    vd_db_close(&s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *pp = NULL;
}

int vd_pstore_read_only(const vd_pstore_t *s)
{
    return s->read_only;
}

vd_err_t vd_pstore_stamp(vd_pstore_t *s, uint64_t *stamp, vd_error_t *err)
{
    sqlite3_stmt *st = NULL;
    vd_err_t rc = VD_OK;
    lock(s);
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = vd_db_error(s->db, err, "policy store: data_version");
    } else {
        /* Both parts only grow: their sum changes whenever either does. */
        *stamp = (uint64_t)sqlite3_column_int64(st, 0) + s->local_commits;
    }
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

static vd_err_t writable(vd_pstore_t *s, vd_error_t *err)
{
    if (s->read_only) {
        return VD_ERR(err, VD_E_STORE, "policy store: the database is read-only");
    }
    return VD_OK;
}

vd_err_t vd_pstore_begin(vd_pstore_t *s, vd_error_t *err)
{
    lock(s);
    vd_err_t rc = writable(s, err);
    if (rc == VD_OK && s->in_txn) {
        rc = VD_ERR(err, VD_E_INTERNAL, "policy store: transaction already open");
    }
    if (rc == VD_OK && sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = vd_db_error(s->db, err, "policy store: begin");
    }
    if (rc != VD_OK) {
        unlock(s);
        return rc;
    }
    s->in_txn = 1;
    return VD_OK; /* the lock is kept until commit or rollback */
}

vd_err_t vd_pstore_commit(vd_pstore_t *s, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    if (!s->in_txn) {
        return VD_ERR(err, VD_E_INTERNAL, "policy store: commit without begin");
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = vd_db_error(s->db, err, "policy store: commit");
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    } else {
        s->local_commits++;
    }
    s->in_txn = 0;
    unlock(s);
    return rc;
}

void vd_pstore_rollback(vd_pstore_t *s)
{
    if (!s->in_txn) {
        return;
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_txn = 0;
    unlock(s);
}

/* Run one statement with text/int bindings given as a format: 't' text, 'i' int. */
static vd_err_t exec_bind(sqlite3 *db, const char *sql, const char *types, const void *const *args,
                          vd_error_t *err)
{
    sqlite3_stmt *st = NULL;
    vd_err_t rc = VD_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "policy store");
    }
    for (int i = 0; types[i] != '\0'; i++) {
        if (types[i] == 't') {
            sqlite3_bind_text(st, i + 1, (const char *)args[i], -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_int64(st, i + 1, *(const int64_t *)args[i]);
        }
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = vd_db_error(db, err, "policy store");
    }
    sqlite3_finalize(st);
    return rc;
}

static vd_err_t log_event(sqlite3 *db, const char *name, int64_t version, const char *action,
                          vd_error_t *err)
{
    int64_t now = (int64_t)time(NULL);
    const void *args[] = {name, &version, action, &now};
    return exec_bind(db,
                     "INSERT INTO policy_events (name, version, action, at) VALUES (?, ?, ?, ?)",
                     "titi", args, err);
}

/* The active version of `name` and its sha256, or 0 if none. */
static int active_of(sqlite3 *db, const char *name, char sha[65])
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    sha[0] = '\0';
    if (sqlite3_prepare_v2(db,
                           "SELECT a.version, v.sha256 FROM policy_active a JOIN policy_versions v "
                           "ON v.name = a.name AND v.version = a.version WHERE a.name = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int(st, 0);
            copy_text(sha, 65, sqlite3_column_text(st, 1));
        }
    }
    sqlite3_finalize(st);
    return v;
}

static int max_version(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(db, "SELECT MAX(version) FROM policy_versions WHERE name = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
}

static vd_err_t set_active(sqlite3 *db, const char *name, int64_t version, vd_error_t *err)
{
    int64_t now = (int64_t)time(NULL);
    const void *args[] = {name, &version, &now};
    return exec_bind(db,
                     "INSERT INTO policy_active (name, version, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
                     "updated_at = excluded.updated_at",
                     "tii", args, err);
}

/* End a unit of work started by start_unit: commit it when rc is VD_OK (and check that the
 * commit happened), else undo it. */
static vd_err_t end_unit(vd_pstore_t *s, int own, vd_err_t rc, vd_error_t *err)
{
    if (rc == VD_OK) {
        if (sqlite3_exec(s->db, own ? "COMMIT" : "RELEASE pstore_unit", NULL, NULL, NULL) ==
            SQLITE_OK) {
            s->local_commits += own ? 1 : 0;
            return VD_OK;
        }
        rc = vd_db_error(s->db, err, own ? "policy store: commit" : "policy store: release");
    }
    if (own) {
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    } else {
        sqlite3_exec(s->db, "ROLLBACK TO pstore_unit", NULL, NULL, NULL);
        sqlite3_exec(s->db, "RELEASE pstore_unit", NULL, NULL, NULL);
    }
    return rc;
}

/* A write of its own (BEGIN IMMEDIATE) or, inside vd_pstore_begin, a savepoint. */
static vd_err_t start_unit(vd_pstore_t *s, int *own, vd_error_t *err)
{
    vd_err_t rc = writable(s, err);
    if (rc != VD_OK) {
        return rc;
    }
    *own = !s->in_txn;
    if (sqlite3_exec(s->db, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT pstore_unit", NULL, NULL, NULL) !=
        SQLITE_OK) {
        return vd_db_error(s->db, err, "policy store: begin");
    }
    return VD_OK;
}

vd_err_t vd_pstore_put(vd_pstore_t *s, const char *source, size_t len, const char *origin,
                       char name[VD_POLICY_NAME_MAX], int *version, int *created, vd_error_t *err)
{
    vd_policy_t *p = NULL;
    char sha[65], active_sha[65];
    char *text = NULL;
    int own = 0, inserted = 0;
    int64_t next = 0;
    *created = 0;
    *version = 0;
    vd_err_t rc = vd_policy_compile(source, len, origin, &p, err);
    if (rc != VD_OK) {
        return rc;
    }
    if (memchr(source, '\0', len) != NULL) {
        rc = VD_ERR(err, VD_E_MALFORMED, "%s: policy text contains a NUL byte", origin);
        goto out;
    }
    snprintf(name, VD_POLICY_NAME_MAX, "%s", vd_policy_name(p));
    sha256_hex(source, len, sha);
    text = strndup(source, len);
    if (text == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
        goto out;
    }
    lock(s);
    rc = start_unit(s, &own, err);
    if (rc != VD_OK) {
        unlock(s);
        goto out;
    }
    /* Read and write in one unit: two importers of the same text make one version. */
    int active = active_of(s->db, name, active_sha);
    if (active > 0 && strcmp(active_sha, sha) == 0) {
        next = active; /* same text: nothing to do */
    } else {
        next = (int64_t)max_version(s->db, name) + 1;
        int64_t now = (int64_t)time(NULL);
        const void *args[] = {name, &next, text, sha, origin, &now};
        rc = exec_bind(s->db,
                       "INSERT INTO policy_versions (name, version, source, sha256, origin, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       "tittti", args, err);
        if (rc == VD_OK) {
            rc = set_active(s->db, name, next, err);
        }
        if (rc == VD_OK) {
            rc = log_event(s->db, name, next, "import", err);
        }
        inserted = 1;
    }
    rc = end_unit(s, own, rc, err);
    unlock(s);
    if (rc == VD_OK) {
        *version = (int)next;
        *created = inserted;
    }
out:
    free(text);
    vd_policy_free(&p);
    return rc;
}

static void row_to_version(sqlite3_stmt *st, vd_pstore_version_t *v)
{
    memset(v, 0, sizeof(*v));
    copy_text(v->name, sizeof(v->name), sqlite3_column_text(st, 0));
    v->version = sqlite3_column_int(st, 1);
    v->created_at = sqlite3_column_int64(st, 2);
    copy_text(v->sha256, sizeof(v->sha256), sqlite3_column_text(st, 3));
    copy_text(v->origin, sizeof(v->origin), sqlite3_column_text(st, 4));
    v->active = sqlite3_column_int(st, 5);
}

#define VERSION_COLUMNS                                                                            \
    "v.name, v.version, v.created_at, v.sha256, v.origin, "                                        \
    "(SELECT COUNT(*) FROM policy_active a WHERE a.name = v.name AND a.version = v.version)"

static vd_err_t get_locked(sqlite3 *db, const char *name, int version, char **source,
                           vd_pstore_version_t *info, vd_error_t *err)
{
    sqlite3_stmt *st = NULL;
    vd_err_t rc = VD_OK;
    *source = NULL;
    const char *sql = version > 0
                          ? "SELECT " VERSION_COLUMNS ", v.source FROM policy_versions v "
                            "WHERE v.name = ?1 AND v.version = ?2"
                          : "SELECT " VERSION_COLUMNS
                            ", v.source FROM policy_versions v JOIN policy_active a "
                            "ON a.name = v.name AND a.version = v.version WHERE v.name = ?1";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "policy store");
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version > 0) {
        sqlite3_bind_int(st, 2, version);
    }
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        row_to_version(st, info);
        const unsigned char *text = sqlite3_column_text(st, 6);
        *source = strdup(text != NULL ? (const char *)text : "");
        if (*source == NULL) {
            rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
        }
    } else if (step == SQLITE_DONE) {
        rc = version > 0
                 ? VD_ERR(err, VD_E_CONFIG, "policy \"%s\" has no version %d", name, version)
                 : VD_ERR(err, VD_E_CONFIG, "no active policy named \"%s\"", name);
    } else {
        rc = vd_db_error(db, err, "policy store");
    }
    sqlite3_finalize(st);
    return rc;
}

vd_err_t vd_pstore_get(vd_pstore_t *s, const char *name, int version, char **source,
                       vd_pstore_version_t *info, vd_error_t *err)
{
    lock(s);
    vd_err_t rc = get_locked(s->db, name, version, source, info, err);
    unlock(s);
    return rc;
}

vd_err_t vd_pstore_load(vd_pstore_t *s, const char *name, vd_policy_t **out, int *version,
                        vd_error_t *err)
{
    char *source = NULL;
    vd_pstore_version_t info = {0};
    char origin[VD_POLICY_NAME_MAX + 32];
    *out = NULL;
    vd_err_t rc = vd_pstore_get(s, name, 0, &source, &info, err);
    if (rc == VD_OK) {
        snprintf(origin, sizeof(origin), "%s@v%d", name, info.version);
        rc = vd_policy_compile(source, strlen(source), origin, out, err);
    }
    if (rc == VD_OK && version != NULL) {
        *version = info.version;
    }
    free(source);
    return rc;
}

static vd_err_t query_versions(sqlite3 *db, const char *sql, const char *name, vd_pstore_cb cb,
                               void *ctx, size_t *rows, vd_error_t *err)
{
    sqlite3_stmt *st = NULL;
    vd_err_t rc = VD_OK;
    *rows = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "policy store");
    }
    if (name != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        vd_pstore_version_t v;
        row_to_version(st, &v);
        (*rows)++;
        if (cb(&v, ctx) != 0) {
            break;
        }
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = vd_db_error(db, err, "policy store");
    }
    sqlite3_finalize(st);
    return rc;
}

vd_err_t vd_pstore_list(vd_pstore_t *s, vd_pstore_cb cb, void *ctx, vd_error_t *err)
{
    size_t rows;
    lock(s);
    vd_err_t rc =
        query_versions(s->db,
                       "SELECT " VERSION_COLUMNS " FROM policy_versions v JOIN policy_active a "
                       "ON a.name = v.name AND a.version = v.version ORDER BY v.name",
                       NULL, cb, ctx, &rows, err);
    unlock(s);
    return rc;
}

vd_err_t vd_pstore_history(vd_pstore_t *s, const char *name, vd_pstore_cb cb, void *ctx,
                           vd_error_t *err)
{
    size_t rows;
    lock(s);
    vd_err_t rc = query_versions(s->db,
                                 "SELECT " VERSION_COLUMNS " FROM policy_versions v "
                                 "WHERE v.name = ? ORDER BY v.version",
                                 name, cb, ctx, &rows, err);
    unlock(s);
    if (rc == VD_OK && rows == 0) {
        rc = VD_ERR(err, VD_E_CONFIG, "no policy named \"%s\" was ever imported", name);
    }
    return rc;
}

vd_err_t vd_pstore_activate(vd_pstore_t *s, const char *name, int version, vd_error_t *err)
{
    char *source = NULL;
    vd_pstore_version_t info;
    int own = 0;
    lock(s);
    vd_err_t rc = start_unit(s, &own, err);
    if (rc != VD_OK) {
        unlock(s);
        return rc;
    }
    rc = get_locked(s->db, name, version, &source, &info, err);
    free(source);
    if (rc == VD_OK) {
        rc = set_active(s->db, name, version, err);
    }
    if (rc == VD_OK) {
        rc = log_event(s->db, name, version, "activate", err);
    }
    rc = end_unit(s, own, rc, err);
    unlock(s);
    return rc;
}

vd_err_t vd_pstore_delete(vd_pstore_t *s, const char *name, vd_error_t *err)
{
    char sha[65];
    int own = 0;
    lock(s);
    vd_err_t rc = start_unit(s, &own, err);
    if (rc != VD_OK) {
        unlock(s);
        return rc;
    }
    int active = active_of(s->db, name, sha);
    if (active == 0) {
        rc = VD_ERR(err, VD_E_CONFIG, "no active policy named \"%s\"", name);
    }
    if (rc == VD_OK) {
        const void *args[] = {name};
        rc = exec_bind(s->db, "DELETE FROM policy_active WHERE name = ?", "t", args, err);
    }
    if (rc == VD_OK) {
        rc = log_event(s->db, name, active, "delete", err);
    }
    rc = end_unit(s, own, rc, err);
    unlock(s);
    return rc;
}
