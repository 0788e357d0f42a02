/*
 * The certificate cache's SQLite layer: one function per query. The schema is migration 2 of the
 * one list for the shared database file (verifier/db/db.c, PRAGMA user_version). Rows hold
 * certificates exactly as fetched or imported; nothing read back is trusted: certcache.c
 * re-validates every row against the pinned roots before use.
 *
 * One connection, serialised by dbmu. SQLite is off the hot path (the memory LRU answers
 * repeated lookups), so one connection is enough for the CLI and the service.
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
     * user_version; vd_db_open also sets WAL. */
    return vd_db_open(c->db_path, &c->db, err);
}

void vd_certcache__db_close(vd_certcache_t *c)
{
    vd_db_close(&c->db);
}

int vd_certcache__db_exec(vd_certcache_t *c, const char *sql)
{
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    pthread_mutex_unlock(&c->dbmu);
    return rc;
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

int vd_certcache__db_put_vcek(vd_certcache_t *c, vd_product_t p, const uint8_t *hwid,
                              size_t hwid_len, uint64_t tcb, const uint8_t *der, size_t len,
                              const char *source)
{
    int rc = -1;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
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
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_put_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb,
                              const uint8_t spki[32], const uint8_t *der, size_t len,
                              const char *source)
{
    int rc = -1;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
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
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_each_vlek(vd_certcache_t *c, vd_product_t p, uint64_t tcb,
                               void (*fn)(void *ud, const uint8_t *der, size_t len), void *ud)
{
    int n = 0;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, "SELECT der FROM vlek WHERE product=?1 AND tcb=?2");
    if (st == NULL) {
        n = -1;
        goto out;
    }
    sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)tcb);
    while (sqlite3_step(st) == SQLITE_ROW && n < VD_CERTSET_MAX) {
        int len = sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (b != NULL && len > 0) {
            fn(ud, b, (size_t)len);
            n++;
        }
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
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

int vd_certcache__db_put_chain(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *pem,
                               size_t len)
{
    int rc = -1;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO chain(product, key_type, pem, fetched_at)"
                               " VALUES(?1, ?2, ?3, strftime('%s','now'))");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, vd_product_name(p), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, vd_certcache__key_type(vlek), -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, pem, (int)len, SQLITE_STATIC);
        rc = step_done(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->dbmu);
    return rc;
}

int vd_certcache__db_get_crl(vd_certcache_t *c, vd_product_t p, int vlek, uint8_t **der,
                             size_t *len)
{
    return get_by_product(c, "SELECT der FROM crl WHERE product=?1 AND key_type=?2", p, vlek, der,
                          len);
}

int vd_certcache__db_put_crl(vd_certcache_t *c, vd_product_t p, int vlek, const uint8_t *der,
                             size_t len, time_t this_update, time_t next_update)
{
    int rc = -1;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
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

int vd_certcache__db_each(vd_certcache_t *c, vd_certcache__row_fn fn, void *ud)
{
    static const char *const queries[] = {
        "SELECT 'chain', product, key_type, 0, pem, fetched_at FROM chain ORDER BY 2, 3",
        "SELECT 'crl', product, key_type, next_update, der, fetched_at FROM crl ORDER BY 2, 3",
        "SELECT 'vcek', product, hex(hwid), tcb, der, fetched_at FROM vcek ORDER BY 2, 3, 4",
        "SELECT 'vlek', product, hex(spki), tcb, der, fetched_at FROM vlek ORDER BY 2, 4, 3",
    };
    int n = 0;
    if (c->db == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->dbmu);
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        sqlite3_stmt *st = prep(c, queries[q]);
        if (st == NULL) {
            n = -1;
            break;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            int len = sqlite3_column_bytes(st, 4);
            const void *b = sqlite3_column_blob(st, 4);
            const unsigned char *detail = sqlite3_column_text(st, 2);
            const unsigned char *product = sqlite3_column_text(st, 1);
            const unsigned char *kind = sqlite3_column_text(st, 0);
            if (b == NULL || len <= 0 || detail == NULL || product == NULL || kind == NULL) {
                continue;
            }
            fn(ud, (const char *)kind, (const char *)product, (const char *)detail,
               (uint64_t)sqlite3_column_int64(st, 3), b, (size_t)len, sqlite3_column_int64(st, 5));
            n++;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&c->dbmu);
    return n;
}
