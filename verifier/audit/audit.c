/*
 * Audit records: their queued form, retention, reading and JSON (include/verdict/audit.h).
 * The writer thread that commits them lives in writer.c.
 *
 * Trust boundary: some fields come from the network (the request id, the client address) and
 * are stored after their length is checked and their bytes made printable UTF-8, so every
 * record exports as valid JSON and no control character reaches an operator's terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "verdict/db.h"
#include "verdict/timefmt.h"
#include "audit_internal.h"

int64_t vd_audit__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the queued form ----------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;
    if (p[0] < 0x80) {
        return 1;
    } else if ((p[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = p[0] & 0x1fu;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = p[0] & 0x0fu;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    /* No overlong forms, surrogates or code points past U+10FFFF. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    return len;
}

/* Copy `s` to `dst` as printable UTF-8 (control bytes and invalid sequences become '?');
 * returns the byte after the terminating NUL. */
static char *copy_clean(char *dst, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        size_t l = utf8_len(p, n);
        if (l == 0 || (l == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
            *dst++ = '?';
            l = l == 0 ? 1 : l;
        } else {
            memcpy(dst, p, l);
            dst += l;
        }
        p += l;
        n -= l;
    }
    *dst++ = '\0';
    return dst;
}

static const char *nz(const char *s)
{
    return s != NULL ? s : "";
}

vd_err_t vd_audit__entry_new(const vd_audit_record_t *rec, int64_t now_ms, audit_entry_t **out,
                             vd_error_t *err)
{
    static const struct {
        const char *name;
        size_t max;
    } fields[] = {
        {"request_id", VD_AUDIT_MAX_ID},
        {"client", VD_AUDIT_MAX_SHORT},
        {"route", VD_AUDIT_MAX_SHORT},
        {"policy_name", VD_AUDIT_MAX_SHORT},
        {"status", VD_AUDIT_MAX_SHORT},
        {"report_sha256", 64},
        {"chip_id", 128},
    };
    const char *value[] = {nz(rec->request_id),  nz(rec->client), nz(rec->route),
                           nz(rec->policy_name), nz(rec->status), nz(rec->report_sha256),
                           nz(rec->chip_id)};
    _Static_assert(sizeof(value) / sizeof(value[0]) == sizeof(fields) / sizeof(fields[0]),
                   "one limit per field");
    size_t total = 0;
    *out = NULL;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        size_t len = strlen(value[i]);
        if (len > fields[i].max) {
            return VD_ERR(err, VD_E_TOO_LARGE, "audit record: %s is %zu bytes, at most %zu",
                          fields[i].name, len, fields[i].max);
        }
        total += len + 1;
    }
    if (rec->n_failed_checks > VD_AUDIT_MAX_CHECKS) {
        return VD_ERR(err, VD_E_TOO_LARGE, "audit record: %zu failed checks, at most %d",
                      rec->n_failed_checks, VD_AUDIT_MAX_CHECKS);
    }
    /* Failed checks as a JSON array: ["a","b"]. Names are cleaned first, so every byte that
     * needs escaping in JSON is '"' or '\\' (control bytes were replaced). */
    size_t checks_len = 3;
    for (size_t i = 0; i < rec->n_failed_checks; i++) {
        size_t len = strlen(nz(rec->failed_checks[i]));
        if (len > VD_AUDIT_MAX_CHECK) {
            return VD_ERR(err, VD_E_TOO_LARGE,
                          "audit record: a check name of %zu bytes, at most %d", len,
                          VD_AUDIT_MAX_CHECK);
        }
        checks_len += 2 * len + 3;
    }
    audit_entry_t *e = calloc(1, sizeof(*e) + total + checks_len);
    if (e == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory for an audit record");
    }
    char *p = e->text;
    const char **dst[] = {&e->request_id, &e->client,        &e->route,  &e->policy_name,
                          &e->status,     &e->report_sha256, &e->chip_id};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        *dst[i] = p;
        p = copy_clean(p, value[i]);
    }
    e->checks_json = p;
    *p++ = '[';
    char name[VD_AUDIT_MAX_CHECK * 4 + 1];
    for (size_t i = 0; i < rec->n_failed_checks; i++) {
        copy_clean(name, nz(rec->failed_checks[i]));
        if (i > 0) {
            *p++ = ',';
        }
        *p++ = '"';
        for (const char *q = name; *q != '\0'; q++) {
            if (*q == '"' || *q == '\\') {
                *p++ = '\\';
            }
            *p++ = *q;
        }
        *p++ = '"';
    }
    *p++ = ']';
    *p = '\0';
    e->time_ms = rec->time_ms != 0 ? rec->time_ms : now_ms;
    e->latency_us = rec->latency_us;
    e->policy_version = rec->policy_version;
    *out = e;
    return VD_OK;
}

int vd_audit__bind(sqlite3_stmt *st, const audit_entry_t *e)
{
    int rc = sqlite3_bind_int64(st, 1, e->time_ms);
    const char *text[] = {e->request_id, e->client, e->route, e->policy_name};
    for (int i = 0; i < 4 && rc == SQLITE_OK; i++) {
        rc = sqlite3_bind_text(st, 2 + i, text[i], -1, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int(st, 6, e->policy_version);
    }
    const char *text2[] = {e->status, e->checks_json, e->report_sha256, e->chip_id};
    for (int i = 0; i < 4 && rc == SQLITE_OK; i++) {
        rc = sqlite3_bind_text(st, 7 + i, text2[i], -1, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(st, 11, e->latency_us);
    }
    return rc;
}

/* ---- retention ----------------------------------------------------------------------------- */

static vd_err_t run_delete(sqlite3 *db, const char *sql, int64_t a, int64_t b, uint64_t *n,
                           vd_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "audit retention");
    }
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return vd_db_error(db, err, "audit retention");
    }
    *n += (uint64_t)sqlite3_changes(db);
    return VD_OK;
}

vd_err_t vd_audit_prune(sqlite3 *db, int64_t now_ms, int64_t max_age_s, int64_t max_rows,
                        size_t chunk, uint64_t *deleted, vd_error_t *err)
{
    uint64_t n = 0;
    vd_err_t rc = VD_OK;
    int64_t limit = chunk > 0 ? (int64_t)chunk : -1; /* LIMIT -1: none */
    if (deleted != NULL) {
        *deleted = 0;
    }
    if (max_age_s <= 0 && max_rows <= 0) {
        return VD_OK;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "audit retention");
    }
    if (max_age_s > 0) {
        rc = run_delete(db,
                        "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time_ms < ?1"
                        " ORDER BY id LIMIT ?2)",
                        now_ms - max_age_s * 1000, limit, &n, err);
    }
    if (rc == VD_OK && max_rows > 0 && (limit < 0 || n < (uint64_t)limit)) {
        /* Everything up to the (max_rows + 1)-th newest record. */
        rc = run_delete(db,
                        "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <="
                        " (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?1)"
                        " ORDER BY id LIMIT ?2)",
                        max_rows, limit < 0 ? -1 : limit - (int64_t)n, &n, err);
    }
    if (rc != VD_OK || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        if (rc == VD_OK) {
            rc = vd_db_error(db, err, "audit retention");
        }
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (deleted != NULL) {
        *deleted = n;
    }
    return VD_OK;
}

/* ---- reading ------------------------------------------------------------------------------- */

#define SELECT_COLUMNS                                                                             \
    "SELECT id, time_ms, request_id, client, route, policy_name, policy_version, status,"          \
    " failed_checks, report_sha256, chip_id, latency_us FROM audit"

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t != NULL ? (const char *)t : "";
}

/* Pass every row of `st` to `fn`. */
static vd_err_t each_row(sqlite3 *db, sqlite3_stmt *st, vd_audit_row_fn fn, void *ud, size_t *count,
                         vd_error_t *err)
{
    int rc;
    size_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vd_audit_record_t r;
        const char *names[VD_AUDIT_MAX_CHECKS];
        memset(&r, 0, sizeof(r));
        r.id = sqlite3_column_int64(st, 0);
        r.time_ms = sqlite3_column_int64(st, 1);
        r.request_id = col_text(st, 2);
        r.client = col_text(st, 3);
        r.route = col_text(st, 4);
        r.policy_name = col_text(st, 5);
        r.policy_version = sqlite3_column_int(st, 6);
        r.status = col_text(st, 7);
        json_t *checks = json_loads(col_text(st, 8), 0, NULL);
        for (size_t i = 0; json_is_array(checks) && i < json_array_size(checks) &&
                           r.n_failed_checks < VD_AUDIT_MAX_CHECKS;
             i++) {
            const char *s = json_string_value(json_array_get(checks, i));
            if (s != NULL) {
                names[r.n_failed_checks++] = s;
            }
        }
        r.failed_checks = names;
        r.report_sha256 = col_text(st, 9);
        r.chip_id = col_text(st, 10);
        r.latency_us = sqlite3_column_int64(st, 11);
        n++;
        int stop = fn(ud, &r);
        json_decref(checks);
        if (stop) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (count != NULL) {
        *count = n;
    }
    if (rc != SQLITE_DONE) {
        return vd_db_error(db, err, "reading the audit log");
    }
    return VD_OK;
}

vd_err_t vd_audit_query(sqlite3 *db, const vd_audit_filter_t *f, vd_audit_row_fn fn, void *ud,
                        vd_error_t *err)
{
    static const vd_audit_filter_t all = {0};
    char sql[512];
    sqlite3_stmt *st = NULL;
    if (f == NULL) {
        f = &all;
    }
    snprintf(sql, sizeof(sql),
             SELECT_COLUMNS " WHERE (?1 = 0 OR time_ms >= ?1) AND (?2 = 0 OR time_ms < ?2)"
                            " AND (?3 IS NULL OR status = ?3) ORDER BY id %s LIMIT ?4",
             f->newest_first ? "DESC" : "ASC");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "reading the audit log");
    }
    sqlite3_bind_int64(st, 1, f->since_ms);
    sqlite3_bind_int64(st, 2, f->until_ms);
    if (f->status != NULL) {
        sqlite3_bind_text(st, 3, f->status, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 4, f->limit > 0 ? (int64_t)f->limit : -1);
    vd_err_t rc = each_row(db, st, fn, ud, NULL, err);
    sqlite3_finalize(st);
    return rc;
}

vd_err_t vd_audit_find(sqlite3 *db, const char *key, vd_audit_row_fn fn, void *ud, size_t *found,
                       vd_error_t *err)
{
    sqlite3_stmt *st = NULL;
    int numeric = key[0] != '\0' && strspn(key, "0123456789") == strlen(key) && strlen(key) < 19;
    if (found != NULL) {
        *found = 0;
    }
    if (sqlite3_prepare_v2(db, SELECT_COLUMNS " WHERE id = ?1 OR request_id = ?2 ORDER BY id", -1,
                           &st, NULL) != SQLITE_OK) {
        return vd_db_error(db, err, "reading the audit log");
    }
    sqlite3_bind_int64(st, 1, numeric ? strtoll(key, NULL, 10) : -1);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    vd_err_t rc = each_row(db, st, fn, ud, found, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

char *vd_audit_record_json(const vd_audit_record_t *r)
{
    char when[40], stamp[48];
    time_t secs = (time_t)(r->time_ms / 1000);
    int ms = (int)(r->time_ms % 1000);
    if (ms < 0) {
        secs -= 1;
        ms += 1000;
    }
    vd_time_format_rfc3339(secs, when, sizeof(when));
    /* "2026-01-31T12:00:00Z" -> "2026-01-31T12:00:00.123Z" */
    size_t wl = strlen(when);
    snprintf(stamp, sizeof(stamp), "%.*s.%03dZ", (int)(wl > 0 ? wl - 1 : 0), when, ms);

    json_t *o = json_object(), *checks = json_array();
    json_t *policy = nz(r->policy_name)[0] != '\0' ? json_pack("{s:s, s:i}", "name", r->policy_name,
                                                               "version", r->policy_version)
                                                   : json_null();
    for (size_t i = 0; checks != NULL && i < r->n_failed_checks; i++) {
        json_array_append_new(checks, json_string(nz(r->failed_checks[i])));
    }
    char *out = NULL;
    if (o != NULL && checks != NULL && policy != NULL &&
        json_object_set_new(o, "id", json_integer(r->id)) == 0 &&
        json_object_set_new(o, "time", json_string(stamp)) == 0 &&
        json_object_set_new(o, "time_ms", json_integer(r->time_ms)) == 0 &&
        json_object_set_new(o, "request_id", json_string(nz(r->request_id))) == 0 &&
        json_object_set_new(o, "client", json_string(nz(r->client))) == 0 &&
        json_object_set_new(o, "route", json_string(nz(r->route))) == 0 &&
        json_object_set(o, "policy", policy) == 0 &&
        json_object_set_new(o, "status", json_string(nz(r->status))) == 0 &&
        json_object_set(o, "failed_checks", checks) == 0 &&
        json_object_set_new(o, "report_sha256", json_string(nz(r->report_sha256))) == 0 &&
        json_object_set_new(o, "chip_id", json_string(nz(r->chip_id))) == 0 &&
        json_object_set_new(o, "latency_us", json_integer(r->latency_us)) == 0) {
        out = json_dumps(o, JSON_COMPACT);
    }
    json_decref(policy);
    json_decref(checks);
    json_decref(o);
    return out;
}
