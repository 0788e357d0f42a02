/*
 * Versioned policy store on SQLite (see include/verdict/policy_store.h; tables in
 * verifier/db/db.c, migration 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "verdict/db.h"
#include "verdict/policy_store.h"

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

vd_err_t vd_pstore_begin(sqlite3 *db, vd_error_t *err)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "policy store: begin");
    }
    return VD_OK;
}

vd_err_t vd_pstore_commit(sqlite3 *db, vd_error_t *err)
{
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "policy store: commit");
    }
    return VD_OK;
}

void vd_pstore_rollback(sqlite3 *db)
{
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
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

vd_err_t vd_pstore_put(sqlite3 *db, const char *source, size_t len, const char *origin,
                       char name[VD_POLICY_NAME_MAX], int *version, int *created, vd_error_t *err)
{
    vd_policy_t *p = NULL;
    char sha[65], active_sha[65];
    char *text = NULL;
    vd_err_t rc = vd_policy_compile(source, len, origin, &p, err);
    *created = 0;
    *version = 0;
    if (rc != VD_OK) {
        return rc;
    }
    if (memchr(source, '\0', len) != NULL) {
        rc = VD_ERR(err, VD_E_MALFORMED, "%s: policy text contains a NUL byte", origin);
        goto out;
    }
    snprintf(name, VD_POLICY_NAME_MAX, "%s", vd_policy_name(p));
    sha256_hex(source, len, sha);
    int active = active_of(db, name, active_sha);
    if (active > 0 && strcmp(active_sha, sha) == 0) {
        *version = active; /* same text: nothing to do */
        goto out;
    }
    text = strndup(source, len);
    if (text == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory");
        goto out;
    }
    /* A savepoint makes the three writes one unit, inside a caller's transaction or not. */
    if (sqlite3_exec(db, "SAVEPOINT pstore_put", NULL, NULL, NULL) != SQLITE_OK) {
        rc = vd_db_error(db, err, "policy store");
        goto out;
    }
    int64_t next = (int64_t)max_version(db, name) + 1;
    int64_t now = (int64_t)time(NULL);
    const void *args[] = {name, &next, text, sha, origin, &now};
    rc = exec_bind(db,
                   "INSERT INTO policy_versions (name, version, source, sha256, origin, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                   "tittti", args, err);
    if (rc == VD_OK) {
        rc = set_active(db, name, next, err);
    }
    if (rc == VD_OK) {
        rc = log_event(db, name, next, "import", err);
    }
    if (rc == VD_OK) {
        *version = (int)next;
        *created = 1;
    } else {
        sqlite3_exec(db, "ROLLBACK TO pstore_put", NULL, NULL, NULL);
    }
    sqlite3_exec(db, "RELEASE pstore_put", NULL, NULL, NULL);
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

vd_err_t vd_pstore_get(sqlite3 *db, const char *name, int version, char **source,
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

vd_err_t vd_pstore_load(sqlite3 *db, const char *name, vd_policy_t **out, vd_error_t *err)
{
    char *source = NULL;
    vd_pstore_version_t info;
    char origin[VD_POLICY_NAME_MAX + 32];
    *out = NULL;
    vd_err_t rc = vd_pstore_get(db, name, 0, &source, &info, err);
    if (rc == VD_OK) {
        snprintf(origin, sizeof(origin), "%s@v%d", name, info.version);
        rc = vd_policy_compile(source, strlen(source), origin, out, err);
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

vd_err_t vd_pstore_list(sqlite3 *db, vd_pstore_cb cb, void *ctx, vd_error_t *err)
{
    size_t rows;
    return query_versions(db,
                          "SELECT " VERSION_COLUMNS " FROM policy_versions v JOIN policy_active a "
                          "ON a.name = v.name AND a.version = v.version ORDER BY v.name",
                          NULL, cb, ctx, &rows, err);
}

vd_err_t vd_pstore_history(sqlite3 *db, const char *name, vd_pstore_cb cb, void *ctx,
                           vd_error_t *err)
{
    size_t rows;
    vd_err_t rc = query_versions(db,
                                 "SELECT " VERSION_COLUMNS " FROM policy_versions v "
                                 "WHERE v.name = ? ORDER BY v.version",
                                 name, cb, ctx, &rows, err);
    if (rc == VD_OK && rows == 0) {
        rc = VD_ERR(err, VD_E_CONFIG, "no policy named \"%s\" was ever imported", name);
    }
    return rc;
}

vd_err_t vd_pstore_activate(sqlite3 *db, const char *name, int version, vd_error_t *err)
{
    char *source = NULL;
    vd_pstore_version_t info;
    vd_err_t rc = vd_pstore_begin(db, err);
    if (rc != VD_OK) {
        return rc;
    }
    rc = vd_pstore_get(db, name, version, &source, &info, err);
    free(source);
    if (rc == VD_OK) {
        rc = set_active(db, name, version, err);
    }
    if (rc == VD_OK) {
        rc = log_event(db, name, version, "activate", err);
    }
    if (rc == VD_OK) {
        return vd_pstore_commit(db, err);
    }
    vd_pstore_rollback(db);
    return rc;
}

vd_err_t vd_pstore_delete(sqlite3 *db, const char *name, vd_error_t *err)
{
    char sha[65];
    vd_err_t rc = vd_pstore_begin(db, err);
    if (rc != VD_OK) {
        return rc;
    }
    int active = active_of(db, name, sha);
    if (active == 0) {
        vd_pstore_rollback(db);
        return VD_ERR(err, VD_E_CONFIG, "no active policy named \"%s\"", name);
    }
    const void *args[] = {name};
    rc = exec_bind(db, "DELETE FROM policy_active WHERE name = ?", "t", args, err);
    if (rc == VD_OK) {
        rc = log_event(db, name, active, "delete", err);
    }
    if (rc == VD_OK) {
        return vd_pstore_commit(db, err);
    }
    vd_pstore_rollback(db);
    return rc;
}
