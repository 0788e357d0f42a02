/*
 * The certificate cache's SQLite layer: one function per query. The schema is migration 2 of the
 * one list for the shared database file (verifier/db/db.c, PRAGMA user_version). Rows hold
 * certificates exactly as fetched or imported; nothing read back is trusted: certcache.c
 * re-validates every row against the pinned roots before use.
 *
 * One connection, serialised by dbmu. SQLite is off the hot path (the memory LRU answers
 * repeated lookups), so one connection is enough for the CLI and the service. dbmu is held only
 * for SQLite calls: rows are copied out and callbacks run after it is released, and a multi-row
 * write (a bundle import) is one transaction taken and finished under one hold of dbmu, so no
 * other thread's statement can land inside it (and be rolled back with it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/db.h"
#include "certcache_internal.h"

vd_err_t vd_certcache__db_open(vd_certcache_t *c, vd_error_t *err)
{
    if (c->db_path == NULL) {
        return VD_OK;
    }
    /* The file is shared with the policy store: its schema (tables vcek, vlek, chain, crl,
     * kds_state) is migration 2 of the one list in verifier/db/db.c, versioned by PRAGMA
     * user_version; vd_db_open also sets WAL.
     * The cache is an optimisation: a file that cannot be used is a warning, not a failure (an
     * appraisal whose evidence carries every certificate needs no cache), and a read-only one
     * is still read. */
    vd_error_t e = {0};
    (void)err;
    if (vd_db_open(c->db_path, &c->db, &e) != VD_OK) {
        snprintf(c->warning, sizeof(c->warning),
                 "certificate cache %s is not usable, continuing without it: %s", c->db_path,
                 e.msg);
    } else if (vd_db_readonly(c->db)) {
        snprintf(c->warning, sizeof(c->warning),
                 "certificate cache %s is read-only: it is read, but nothing new is stored",
                 c->db_path);
    }
    return VD_OK;
}

void vd_certcache__db_close(vd_certcache_t *c)
{
    vd_db_close(&c->db);
}

/* Prepare with dbmu held. */
static sqlite3_stmt *prep(vd_certcache_t *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Step a statement that returns one blob in column 0. 1 found, 0 not, -1 error. */
static int step_blob(sqlite3_stmt *st, uint8_t **out, size_t *len)
{
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        return 0;
    }
    if (s != SQLITE_ROW) {
        return -1;
    }
    int n = sqlite3_column_bytes(st, 0);
    const void *b = sqlite3_column_blob(st, 0);
    if (n <= 0 || b == NULL || (size_t)n > VD_CERT_BLOB_MAX) {
        return -1;
    }
    *out = malloc((size_t)n);
    if (*out == NULL) {
        return -1;
    }
    memcpy(*out, b, (size_t)n);
    *len = (size_t)n;
    return 1;
}

/* Run a write statement to completion. 0 or -1. */
static int step_done(sqlite3_stmt *st)
{
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int vd_certcache__db_get_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                              size_t hwid_len, uint64_t tcb, uint8_t **der, size_t *len)
{
    int rc = 0;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, "SELECT der FROM vcek WHERE product=?1 AND hwid=?2 AND tcb=?3");
    if (st == NULL) {
        rc = -1;
        goto out;
    }
    sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hwid, (int)hwid_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)tcb);
    rc = step_blob(st, der, len);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

/* dbmu held. */
static int put_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid, size_t hwid_len,
                    uint64_t tcb, const uint8_t *der, size_t len, const char *source)
{
    int rc = -1;
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO vcek(product, hwid, tcb, der, fetched_at,"
                               " source) VALUES(?1, ?2, ?3, ?4, strftime('%s','now'), ?5)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, hwid, (int)hwid_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)tcb);
        sqlite3_bind_blob(st, 4, der, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
        rc = step_done(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int vd_certcache__db_put_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                              size_t hwid_len, uint64_t tcb, const uint8_t *der, size_t len,
                              const char *source)
{
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    int rc = put_vcek(c, p, hwid, hwid_len, tcb, der, len, source);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

/* dbmu held. */
static int put_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb, const uint8_t spki[32],
                    const uint8_t *der, size_t len, const char *source)
{
    int rc = -1;
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO vlek(product, tcb, spki, der, fetched_at,"
                               " source) VALUES(?1, ?2, ?3, ?4, strftime('%s','now'), ?5)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)tcb);
        sqlite3_bind_blob(st, 3, spki, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, der, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
        rc = step_done(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int vd_certcache__db_put_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb,
                              const uint8_t spki[32], const uint8_t *der, size_t len,
                              const char *source)
{
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    int rc = put_vlek(c, p, tcb, spki, der, len, source);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_each_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb,
                               void (*fn)(void *ud, const uint8_t *der, size_t len), void *ud)
{
    int n = 0;
    uint8_t *blobs[VD_CERTSET_MAX];
    size_t lens[VD_CERTSET_MAX];
    if (c->db == NULL) {
        return 0;
    }
    /* Copied out under the lock; fn (parsing, signature checks) runs without it. */
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, "SELECT der FROM vlek WHERE product=?1 AND tcb=?2");
    if (st == NULL) {
        n = -1;
        goto out;
    }
    sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)tcb);
    while (n < VD_CERTSET_MAX && sqlite3_step(st) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (b != NULL && len > 0 && (size_t)len <= VD_CERT_BLOB_MAX &&
            (blobs[n] = malloc((size_t)len)) != NULL) {
            memcpy(blobs[n], b, (size_t)len);
            lens[n++] = (size_t)len;
        }
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
    for (int i = 0; i < n; i++) {
        fn(ud, blobs[i], lens[i]);
        free(blobs[i]);
    }
    return n;
}

/* One blob column of the row (product, key type) that `sql` selects. 1 found, 0 not, -1 error. */
static int get_by_product(vd_certcache_t *c, const char *sql, vd_product_t p, int vlek,
                          uint8_t **out, size_t *len)
{
    int rc = 0;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, sql);
    if (st == NULL) {
        rc = -1;
        goto out;
    }
    sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vd_certcache__key_type(vlek), -1, SQLITE_STATIC);
    rc = step_blob(st, out, len);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_get_chain(vd_certcache_t *c, vd_product_t p, int vlek, uint8_t **pem,
                               size_t *len)
{
    return get_by_product(c, "SELECT pem FROM chain WHERE product=?1 AND key_type=?2", p, vlek, pem,
                          len);
}

/* dbmu held. */
static int put_chain(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *pem, size_t len)
{
    int rc = -1;
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO chain(product, key_type, pem, fetched_at)"
                               " VALUES(?1, ?2, ?3, strftime('%s','now'))");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, vd_certcache__key_type(vlek), -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, pem, (int)len, SQLITE_STATIC);
        rc = step_done(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int vd_certcache__db_put_chain(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *pem,
                               size_t len)
{
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    int rc = put_chain(c, p, vlek, pem, len);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_get_crl(vd_certcache_t *c, vd_product_t p, int vlek, uint8_t **der,
                             size_t *len)
{
    return get_by_product(c, "SELECT der FROM crl WHERE product=?1 AND key_type=?2", p, vlek, der,
                          len);
}

/* dbmu held. */
static int put_crl(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *der, size_t len,
                   time_t this_update, time_t next_update)
{
    int rc = -1;
    sqlite3_stmt *st =
        prep(c, "INSERT INTO crl(product, key_type, der, this_update, next_update, fetched_at)"
                " VALUES(?1, ?2, ?3, ?4, ?5, strftime('%s','now'))"
                " ON CONFLICT(product, key_type) DO UPDATE SET der = excluded.der,"
                " this_update = excluded.this_update, next_update = excluded.next_update,"
                " fetched_at = excluded.fetched_at"
                " WHERE crl.this_update IS NULL OR excluded.this_update > crl.this_update");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, vd_certcache__key_type(vlek), -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, der, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)this_update);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)next_update);
        rc = step_done(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int vd_certcache__db_put_crl(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *der,
                             size_t len, time_t this_update, time_t next_update)
{
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    int rc = put_crl(c, p, vlek, der, len, this_update, next_update);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_put_batch(vd_certcache_t *c, const cc_put_t *puts, size_t n)
{
    int rc = 0;
    if (c->db == NULL) {
        return -1;
    }
    pthread_mutex_lock(&c->dbmu);
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&c->dbmu);
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const cc_put_t *w = &puts[i];
        switch (w->kind) {
        case CC_PUT_CHAIN:
            rc = put_chain(c, w->p, w->vlek, w->blob, w->len);
            break;
        case CC_PUT_VCEK:
            rc = put_vcek(c, w->p, w->id, w->id_len, w->tcb, w->blob, w->len, w->source);
            break;
        case CC_PUT_VLEK:
            rc = put_vlek(c, w->p, w->tcb, w->id, w->blob, w->len, w->source);
            break;
        case CC_PUT_CRL:
            rc = put_crl(c, w->p, w->vlek, w->blob, w->len, w->this_update, w->next_update);
            break;
        default:
            rc = -1;
        }
    }
    if (rc == 0 && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = -1;
    }
    if (rc != 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_get_state(vd_certcache_t *c, const char *k, int64_t *v)
{
    int rc = 0;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, "SELECT v FROM kds_state WHERE k=?1");
    if (st == NULL) {
        rc = -1;
        goto out;
    }
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = 1;
    } else if (s != SQLITE_DONE) {
        rc = -1;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_put_state(vd_certcache_t *c, const char *k, int64_t v)
{
    int rc = -1;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO kds_state(k, v) VALUES(?1, ?2)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
        rc = step_done(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

typedef struct row {
    char kind[8], product[32], detail[160];
    uint64_t tcb;
    uint8_t *blob;
    size_t len;
    int64_t fetched_at;
} row_t;

static void text_col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

int vd_certcache__db_each(vd_certcache_t *c, vd_certcache__row_fn fn, void *ud)
{
    static const char *const queries[] = {
        "SELECT 'chain', product, key_type, 0, pem, fetched_at FROM chain ORDER BY 2, 3",
        "SELECT 'crl', product, key_type, next_update, der, fetched_at FROM crl ORDER BY 2, 3",
        "SELECT 'vcek', product, hex(hwid), tcb, der, fetched_at FROM vcek ORDER BY 2, 3, 4",
        "SELECT 'vlek', product, hex(spki), tcb, der, fetched_at FROM vlek ORDER BY 2, 4, 3",
    };
    row_t *rows = NULL;
    size_t n = 0, cap = 0;
    int failed = 0;
    if (c->db == NULL) {
        return 0;
    }
    /* Rows are copied out under the lock; fn (formatting, file writes) runs without it. */
    pthread_mutex_lock(&c->dbmu);
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]) && !failed; q++) {
        sqlite3_stmt *st = prep(c, queries[q]);
        if (st == NULL) {
            failed = 1;
            break;
        }
        int sr;
        while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
            int len = sqlite3_column_bytes(st, 4);
            const void *b = sqlite3_column_blob(st, 4);
            if (b == NULL || len <= 0 || (size_t)len > VD_CERT_BLOB_MAX) {
                continue;
            }
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                row_t *nr = realloc(rows, ncap * sizeof(*rows));
                if (nr == NULL) {
                    failed = 1;
                    break;
                }
                rows = nr;
                cap = ncap;
            }
            row_t *r = &rows[n];
            if ((r->blob = malloc((size_t)len)) == NULL) {
                failed = 1;
                break;
            }
            memcpy(r->blob, b, (size_t)len);
            r->len = (size_t)len;
            text_col(st, 0, r->kind, sizeof(r->kind));
            text_col(st, 1, r->product, sizeof(r->product));
            text_col(st, 2, r->detail, sizeof(r->detail));
            r->tcb = (uint64_t)sqlite3_column_int64(st, 3);
            r->fetched_at = sqlite3_column_int64(st, 5);
            n++;
        }
        if (sr != SQLITE_DONE && sr != SQLITE_ROW) {
            failed = 1;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&c->dbmu);
    int stop = failed;
    for (size_t i = 0; i < n; i++) {
        if (!stop) {
            stop = fn(ud, rows[i].kind, rows[i].product, rows[i].detail, rows[i].tcb, rows[i].blob,
                      rows[i].len, rows[i].fetched_at);
        }
        free(rows[i].blob);
    }
    free(rows);
    return failed ? -1 : (int)n;
}
