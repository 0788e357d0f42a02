/*
 * The audit log (verifier/audit/): records round trip, group commit from many threads with
 * every acknowledged record present, retention by age and count, read-only and full
 * databases, a locked database, and kill -9 of a writing process (every acknowledged record
 * survives, PRAGMA integrity_check is ok).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "verdict/audit.h"
#include "verdict/db.h"

typedef struct fixture {
    char dir[64];
    char db[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vd-audit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/verdict.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char path[160];
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", f->db, suffix[i]);
        unlink(path);
    }
    chmod(f->dir, 0700);
    rmdir(f->dir);
    free(f);
    return 0;
}

static vd_audit_t *open_audit(const fixture_t *f, const vd_audit_config_t *over)
{
    vd_audit_config_t cfg = {0};
    if (over != NULL) {
        cfg = *over;
    }
    cfg.db_path = f->db;
    vd_audit_t *a = NULL;
    vd_error_t err = {0};
    if (vd_audit_open(&cfg, &a, &err) != VD_OK) {
        fail_msg("vd_audit_open: %s", err.msg);
    }
    return a;
}

static sqlite3 *open_db(const fixture_t *f)
{
    sqlite3 *db = NULL;
    vd_error_t err = {0};
    if (vd_db_open(f->db, &db, &err) != VD_OK) {
        fail_msg("vd_db_open: %s", err.msg);
    }
    return db;
}

static vd_audit_record_t record(const char *request_id, const char *status)
{
    vd_audit_record_t r;
    memset(&r, 0, sizeof(r));
    r.request_id = request_id;
    r.client = "127.0.0.1:50000";
    r.route = "/v1/attest";
    r.status = status;
    r.latency_us = 1234;
    return r;
}

static void append_ok(vd_audit_t *a, const vd_audit_record_t *r)
{
    vd_error_t err = {0};
    if (vd_audit_append(a, r, &err) != VD_OK) {
        fail_msg("vd_audit_append: %s", err.msg);
    }
}

static int64_t count_rows(sqlite3 *db, const char *where)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit %s", where);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Collects rows as JSON lines. */
typedef struct collect {
    json_t *rows;
    size_t stop_after;
} collect_t;

static int collect_row(void *ud, const vd_audit_record_t *r)
{
    collect_t *c = ud;
    char *line = vd_audit_record_json(r);
    assert_non_null(line);
    assert_null(strchr(line, '\n'));
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    if (j == NULL) {
        fail_msg("not JSON: %s (%s)", line, je.text);
    }
    json_array_append_new(c->rows, j);
    free(line);
    return c->stop_after > 0 && json_array_size(c->rows) >= c->stop_after;
}

static json_t *query(sqlite3 *db, const vd_audit_filter_t *flt)
{
    collect_t c = {.rows = json_array()};
    vd_error_t err = {0};
    if (vd_audit_query(db, flt, collect_row, &c, &err) != VD_OK) {
        fail_msg("vd_audit_query: %s", err.msg);
    }
    return c.rows;
}

static const char *str_at(json_t *rows, size_t i, const char *key)
{
    const char *s = json_string_value(json_object_get(json_array_get(rows, i), key));
    assert_non_null(s);
    return s;
}

/* ---- records ------------------------------------------------------------------------------- */

static void test_audit_record_round_trip(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL);
    const char *checks[] = {"report.signature", "policy.\"quoted\"\\name"};
    vd_audit_record_t r = record("req-1", "contraindicated");
    r.time_ms = 1767225600123LL; /* 2026-01-01T00:00:00.123Z */
    r.policy_name = "production";
    r.policy_version = 3;
    r.failed_checks = checks;
    r.n_failed_checks = 2;
    r.report_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    r.chip_id = "59790fb1c39f35c1";
    append_ok(a, &r);
    /* Network-supplied text is made printable UTF-8; time 0 = now; no policy = null. */
    vd_audit_record_t r2 = record("evil\n\x1b[31mid\xff\xc3\xa9", "affirming");
    append_ok(a, &r2);
    vd_audit_close(&a);
    assert_null(a);

    sqlite3 *db = open_db(f);
    json_t *rows = query(db, NULL);
    assert_int_equal(json_array_size(rows), 2);
    json_t *j = json_array_get(rows, 0);
    assert_string_equal(str_at(rows, 0, "request_id"), "req-1");
    assert_string_equal(str_at(rows, 0, "time"), "2026-01-01T00:00:00.123Z");
    assert_int_equal(json_integer_value(json_object_get(j, "time_ms")), 1767225600123LL);
    assert_string_equal(str_at(rows, 0, "client"), "127.0.0.1:50000");
    assert_string_equal(str_at(rows, 0, "route"), "/v1/attest");
    assert_string_equal(str_at(rows, 0, "status"), "contraindicated");
    json_t *pol = json_object_get(j, "policy");
    assert_string_equal(json_string_value(json_object_get(pol, "name")), "production");
    assert_int_equal(json_integer_value(json_object_get(pol, "version")), 3);
    json_t *fc = json_object_get(j, "failed_checks");
    assert_int_equal(json_array_size(fc), 2);
    assert_string_equal(json_string_value(json_array_get(fc, 0)), "report.signature");
    assert_string_equal(json_string_value(json_array_get(fc, 1)), "policy.\"quoted\"\\name");
    assert_string_equal(str_at(rows, 0, "report_sha256"), r.report_sha256);
    assert_string_equal(str_at(rows, 0, "chip_id"), "59790fb1c39f35c1");
    assert_int_equal(json_integer_value(json_object_get(j, "latency_us")), 1234);
    assert_true(json_integer_value(json_object_get(j, "id")) > 0);

    assert_string_equal(str_at(rows, 1, "request_id"), "evil??[31mid?\xc3\xa9");
    assert_true(json_is_null(json_object_get(json_array_get(rows, 1), "policy")));
    assert_int_equal(json_array_size(json_object_get(json_array_get(rows, 1), "failed_checks")), 0);
    assert_true(json_integer_value(json_object_get(json_array_get(rows, 1), "time_ms")) >
                1767225600123LL);

    /* Records are never updated. */
    char *msg = NULL;
    assert_int_not_equal(
        sqlite3_exec(db, "UPDATE audit SET status = 'affirming'", NULL, NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "never updated"));
    sqlite3_free(msg);
    json_decref(rows);
    vd_db_close(&db);
}

static void test_audit_field_limits(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL);
    char long_id[VD_AUDIT_MAX_ID + 2];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    vd_audit_record_t r = record(long_id, "none");
    vd_error_t err = {0};
    assert_int_equal(vd_audit_append(a, &r, &err), VD_E_TOO_LARGE);
    assert_non_null(strstr(err.msg, "request_id is 129 bytes, at most 128"));
    long_id[VD_AUDIT_MAX_ID] = '\0'; /* exactly at the limit: fine */
    r = record(long_id, "none");
    append_ok(a, &r);
    const char *names[VD_AUDIT_MAX_CHECKS + 1];
    for (size_t i = 0; i < VD_AUDIT_MAX_CHECKS + 1; i++) {
        names[i] = "c";
    }
    r = record("many", "none");
    r.failed_checks = names;
    r.n_failed_checks = VD_AUDIT_MAX_CHECKS + 1;
    vd_error_clear(&err);
    assert_int_equal(vd_audit_append(a, &r, &err), VD_E_TOO_LARGE);
    r.n_failed_checks = VD_AUDIT_MAX_CHECKS;
    append_ok(a, &r);
    r = record(NULL, NULL); /* NULL strings are stored as "" */
    r.client = NULL;
    r.route = NULL;
    append_ok(a, &r);
    vd_audit_close(&a);

    sqlite3 *db = open_db(f);
    assert_int_equal(count_rows(db, ""), 3);
    assert_int_equal(count_rows(db, "WHERE request_id = '' AND client = '' AND status = ''"), 1);
    vd_db_close(&db);
}

static void test_audit_query_and_find(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL);
    static const char *const statuses[] = {"affirming", "warning", "contraindicated", "none"};
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof(id), "q-%02d", i);
        vd_audit_record_t r = record(id, statuses[i % 4]);
        r.time_ms = 1000000 + i * 1000;
        append_ok(a, &r);
    }
    vd_audit_record_t dup = record("q-05", "none");
    dup.time_ms = 5000000;
    append_ok(a, &dup);
    vd_audit_close(&a);

    sqlite3 *db = open_db(f);
    json_t *rows = query(db, NULL);
    assert_int_equal(json_array_size(rows), 21);
    json_decref(rows);
    vd_audit_filter_t flt = {.since_ms = 1005000, .until_ms = 1010000};
    rows = query(db, &flt);
    assert_int_equal(json_array_size(rows), 5);
    assert_string_equal(str_at(rows, 0, "request_id"), "q-05");
    assert_string_equal(str_at(rows, 4, "request_id"), "q-09");
    json_decref(rows);
    flt = (vd_audit_filter_t){.status = "warning"};
    rows = query(db, &flt);
    assert_int_equal(json_array_size(rows), 5);
    json_decref(rows);
    flt = (vd_audit_filter_t){.limit = 3, .newest_first = 1};
    rows = query(db, &flt);
    assert_int_equal(json_array_size(rows), 3);
    assert_string_equal(str_at(rows, 0, "request_id"), "q-05"); /* the duplicate, newest */
    assert_string_equal(str_at(rows, 1, "request_id"), "q-19");
    json_decref(rows);

    /* A callback may stop early. */
    collect_t c = {.rows = json_array(), .stop_after = 2};
    vd_error_t err = {0};
    assert_int_equal(vd_audit_query(db, NULL, collect_row, &c, &err), VD_OK);
    assert_int_equal(json_array_size(c.rows), 2);
    json_decref(c.rows);

    /* By record number, by request id (all records with it), or nothing. */
    size_t found = 0;
    c = (collect_t){.rows = json_array()};
    assert_int_equal(vd_audit_find(db, "3", collect_row, &c, &found, &err), VD_OK);
    assert_int_equal(found, 1);
    assert_string_equal(str_at(c.rows, 0, "request_id"), "q-02");
    json_decref(c.rows);
    c = (collect_t){.rows = json_array()};
    assert_int_equal(vd_audit_find(db, "q-05", collect_row, &c, &found, &err), VD_OK);
    assert_int_equal(found, 2);
    json_decref(c.rows);
    c = (collect_t){.rows = json_array()};
    assert_int_equal(vd_audit_find(db, "no-such", collect_row, &c, &found, &err), VD_OK);
    assert_int_equal(found, 0);
    assert_int_equal(vd_audit_find(db, "99999999999999999999999", collect_row, &c, &found, &err),
                     VD_OK);
    assert_int_equal(found, 0);
    json_decref(c.rows);
    vd_db_close(&db);
}

/* ---- many threads -------------------------------------------------------------------------- */

#define THREADS    8
#define PER_THREAD 250

typedef struct worker {
    vd_audit_t *a;
    int index;
    int failures;
} worker_t;

static void *append_many(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d-%d", w->index, i);
        vd_audit_record_t r = record(id, "affirming");
        vd_error_t err = {0};
        if (vd_audit_append(w->a, &r, &err) != VD_OK) {
            w->failures++;
        }
    }
    return NULL;
}

static void test_audit_concurrent_appends(void **state)
{
    fixture_t *f = *state;
    vd_audit_config_t cfg = {.synchronous = VD_AUDIT_SYNC_NORMAL};
    vd_audit_t *a = open_audit(f, &cfg);
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){.a = a, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, append_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    vd_audit_stats_t st;
    vd_audit_get_stats(a, &st);
    assert_int_equal(st.records, THREADS * PER_THREAD);
    assert_true(st.commits >= 1 && st.commits <= st.records);
    assert_true(st.largest_batch >= 1);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(st.queue_depth, 0);
    assert_int_equal(st.healthy, 1);
    vd_audit_close(&a);

    /* Every record is there, exactly once. */
    sqlite3 *db = open_db(f);
    assert_int_equal(count_rows(db, ""), THREADS * PER_THREAD);
    assert_int_equal(count_rows(db, "WHERE request_id IN (SELECT request_id FROM audit GROUP BY "
                                    "request_id HAVING count(*) > 1)"),
                     0);
    for (int t = 0; t < THREADS; t++) {
        char where[64];
        snprintf(where, sizeof(where), "WHERE request_id LIKE 't%d-%%'", t);
        assert_int_equal(count_rows(db, where), PER_THREAD);
    }
    vd_db_close(&db);
}

/* ---- retention ----------------------------------------------------------------------------- */

static void test_audit_retention_by_count(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL); /* no retention */
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "c-%03d", i);
        vd_audit_record_t r = record(id, "none");
        append_ok(a, &r);
    }
    uint64_t deleted = 99;
    vd_error_t err = {0};
    assert_int_equal(vd_audit_prune_now(a, &deleted, &err), VD_OK);
    assert_int_equal(deleted, 0);
    vd_audit_close(&a);

    vd_audit_config_t cfg = {.max_rows = 10};
    a = open_audit(f, &cfg);
    assert_int_equal(vd_audit_prune_now(a, &deleted, &err), VD_OK);
    /* The first cycle may already have run at start; either way 90 are gone in total. */
    vd_audit_stats_t st;
    vd_audit_get_stats(a, &st);
    assert_int_equal(st.pruned, 90);
    assert_true(deleted == 90 || deleted == 0);
    vd_audit_close(&a);

    sqlite3 *db = open_db(f);
    json_t *rows = query(db, NULL);
    assert_int_equal(json_array_size(rows), 10);
    assert_string_equal(str_at(rows, 0, "request_id"), "c-090"); /* the newest ten stay */
    assert_string_equal(str_at(rows, 9, "request_id"), "c-099");
    json_decref(rows);

    /* In chunks: each call removes at most `chunk`, and a short chunk means done. */
    uint64_t n = 0;
    assert_int_equal(vd_audit_prune(db, 0, 0, 3, 4, &n, &err), VD_OK);
    assert_int_equal(n, 4);
    assert_int_equal(vd_audit_prune(db, 0, 0, 3, 4, &n, &err), VD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(vd_audit_prune(db, 0, 0, 3, 4, &n, &err), VD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(count_rows(db, ""), 3);
    assert_int_equal(count_rows(db, "WHERE request_id >= 'c-097'"), 3);
    /* No limits: nothing happens. */
    assert_int_equal(vd_audit_prune(db, 0, 0, 0, 0, &n, &err), VD_OK);
    assert_int_equal(n, 0);
    vd_db_close(&db);
}

static void test_audit_retention_by_age(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL);
    int64_t now = (int64_t)time(NULL) * 1000;
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%s-%02d", i < 20 ? "old" : "new", i);
        vd_audit_record_t r = record(id, "none");
        /* 20 records 10..29 days old, 10 records of today. */
        r.time_ms = i < 20 ? now - (int64_t)(29 - i) * 86400000 - 1000 : now - i;
        append_ok(a, &r);
    }
    vd_audit_close(&a);
    vd_audit_config_t cfg = {.max_age_s = 5 * 86400};
    a = open_audit(f, &cfg);
    vd_error_t err = {0};
    assert_int_equal(vd_audit_prune_now(a, NULL, &err), VD_OK);
    vd_audit_stats_t st;
    vd_audit_get_stats(a, &st);
    assert_int_equal(st.pruned, 20);
    /* A record appended afterwards, dated now, stays. */
    vd_audit_record_t r = record("after", "none");
    append_ok(a, &r);
    assert_int_equal(vd_audit_prune_now(a, NULL, &err), VD_OK);
    vd_audit_close(&a);
    sqlite3 *db = open_db(f);
    assert_int_equal(count_rows(db, ""), 11);
    assert_int_equal(count_rows(db, "WHERE request_id LIKE 'old-%'"), 0);

    /* Age and count together, directly on a connection. */
    uint64_t n = 0;
    assert_int_equal(vd_audit_prune(db, now + 86400000LL * 365, 30 * 86400, 0, 0, &n, &err), VD_OK);
    assert_int_equal(n, 11);
    vd_db_close(&db);
}

/* ---- storage faults ------------------------------------------------------------------------ */

static void test_audit_read_only_database(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL);
    vd_audit_record_t r = record("before", "none");
    append_ok(a, &r);
    vd_audit_close(&a);
    /* Checkpoint so the file holds everything, then make it read-only. */
    sqlite3 *db = open_db(f);
    assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                     SQLITE_OK);
    vd_db_close(&db);
    assert_int_equal(chmod(f->db, 0444), 0);
    assert_int_equal(chmod(f->dir, 0555), 0);

    /* root ignores file modes: the check runs in a child that is not root. */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(90);
        }
        vd_audit_config_t cfg = {.db_path = f->db};
        vd_error_t err = {0};
        vd_audit_t *ro = NULL;
        vd_err_t rc = vd_audit_open(&cfg, &ro, &err);
        if (rc == VD_OK) {
            _exit(91);
        }
        printf("read-only: %s\n", err.msg);
        fflush(stdout);
        /* Clear: names the file and says it cannot be written. */
        if (rc != VD_E_STORE || strstr(err.msg, f->db) == NULL ||
            strstr(err.msg, "is read-only (Permission denied)") == NULL) {
            _exit(92);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    chmod(f->dir, 0700);
    chmod(f->db, 0600);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_audit_full_database(void **state)
{
    fixture_t *f = *state;
    sqlite3 *db = open_db(f);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t pages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    vd_db_close(&db);

    vd_audit_config_t cfg = {.max_pages = pages + 3};
    vd_audit_t *a = open_audit(f, &cfg);
    char id[VD_AUDIT_MAX_ID + 1];
    int acked = 0;
    vd_err_t rc = VD_OK;
    vd_error_t err = {0};
    for (int i = 0; i < 100000 && rc == VD_OK; i++) {
        int len = snprintf(id, sizeof(id), "%d-", i);
        memset(id + len, 'z', VD_AUDIT_MAX_ID - (size_t)len);
        id[VD_AUDIT_MAX_ID] = '\0';
        vd_audit_record_t r = record(id, "affirming");
        rc = vd_audit_append(a, &r, &err);
        acked += rc == VD_OK;
    }
    assert_int_equal(rc, VD_E_STORE);
    assert_non_null(strstr(err.msg, "full"));
    assert_true(acked > 0);
    vd_audit_stats_t s;
    vd_audit_get_stats(a, &s);
    assert_int_equal(s.healthy, 0);
    assert_true(s.failures >= 1);
    assert_int_equal(s.records, (uint64_t)acked);
    vd_audit_close(&a);

    db = open_db(f);
    assert_int_equal(count_rows(db, ""), acked);
    vd_db_close(&db);
}

/* Another process holds the write lock: callers time out with an error, never hang. */
static void test_audit_locked_database(void **state)
{
    fixture_t *f = *state;
    vd_audit_config_t cfg = {.commit_timeout_ms = 200, .queue_max = 1};
    vd_audit_t *a = open_audit(f, &cfg);
    sqlite3 *other = open_db(f);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    vd_error_t err = {0};
    for (int i = 0; i < 3; i++) {
        vd_audit_record_t r = record("locked", "affirming");
        vd_error_clear(&err);
        assert_int_equal(vd_audit_append(a, &r, &err), VD_E_STORE);
        assert_true(strstr(err.msg, "not committed within 200 ms") != NULL ||
                    strstr(err.msg, "queue is full") != NULL || strstr(err.msg, "locked") != NULL);
    }
    vd_audit_stats_t s;
    vd_audit_get_stats(a, &s);
    assert_true(s.rejected + s.failures >= 3);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    vd_db_close(&other);
    /* Once the lock is gone, appends work again. */
    vd_audit_record_t r = record("unlocked", "affirming");
    vd_error_clear(&err);
    vd_err_t rc = VD_E_STORE;
    for (int i = 0; i < 600 && rc != VD_OK; i++) { /* the writer may still be backing off */
        vd_error_clear(&err);
        if ((rc = vd_audit_append(a, &r, &err)) != VD_OK) {
            usleep(50 * 1000);
        }
    }
    assert_int_equal(rc, VD_OK);
    vd_audit_close(&a);
    sqlite3 *db = open_db(f);
    assert_true(count_rows(db, "WHERE request_id = 'unlocked'") >= 1);
    vd_db_close(&db);
}

/* vd_audit_submit's callbacks: what each record reported, once. */
#define SUBMIT_N 300
typedef struct reports {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned calls[SUBMIT_N];
    vd_err_t rc[SUBMIT_N];
    char msg[SUBMIT_N][VD_ERROR_MSG_MAX];
    unsigned total;
} reports_t;

typedef struct report_slot {
    reports_t *r;
    size_t i;
} report_slot_t;

static void on_reported(void *ud, vd_err_t rc, const char *msg)
{
    report_slot_t *s = ud;
    pthread_mutex_lock(&s->r->mu);
    s->r->calls[s->i]++;
    s->r->rc[s->i] = rc;
    snprintf(s->r->msg[s->i], sizeof(s->r->msg[s->i]), "%s", msg);
    s->r->total++;
    pthread_cond_broadcast(&s->r->cv);
    pthread_mutex_unlock(&s->r->mu);
}

/* Bounded wait (30 s) until `n` callbacks came; the count seen. */
static unsigned wait_reports(reports_t *r, unsigned n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&r->mu);
    while (r->total < n && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0) {
    }
    unsigned total = r->total;
    pthread_mutex_unlock(&r->mu);
    return total;
}

/* Every submitted record is reported exactly once, as committed, and is in the table; the
 * caller never waits. */
static void test_audit_submit_reports_each_commit(void **state)
{
    fixture_t *f = *state;
    vd_audit_t *a = open_audit(f, NULL);
    static reports_t r;
    static report_slot_t slots[SUBMIT_N];
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    for (size_t i = 0; i < SUBMIT_N; i++) {
        char id[32];
        snprintf(id, sizeof(id), "submit-%zu", i);
        vd_audit_record_t rec = record(id, "affirming");
        slots[i] = (report_slot_t){.r = &r, .i = i};
        vd_error_t err = {0};
        assert_int_equal(vd_audit_submit(a, &rec, on_reported, &slots[i], &err), VD_OK);
    }
    assert_int_equal(wait_reports(&r, SUBMIT_N), SUBMIT_N);
    vd_audit_close(&a);
    for (size_t i = 0; i < SUBMIT_N; i++) {
        assert_int_equal(r.calls[i], 1);
        assert_int_equal(r.rc[i], VD_OK);
    }
    sqlite3 *db = open_db(f);
    assert_int_equal(count_rows(db, "WHERE request_id LIKE 'submit-%'"), SUBMIT_N);
    vd_db_close(&db);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
}

/* The writer is stuck on a locked file: the watchdog reports the record failed at the commit
 * timeout, and never twice, even when the writer gets through afterwards. */
static void test_audit_submit_times_out(void **state)
{
    fixture_t *f = *state;
    vd_audit_config_t cfg = {.commit_timeout_ms = 300};
    vd_audit_t *a = open_audit(f, &cfg);
    sqlite3 *other = open_db(f);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    static reports_t r;
    static report_slot_t slot;
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    slot = (report_slot_t){.r = &r, .i = 0};
    vd_audit_record_t rec = record("stuck", "affirming");
    vd_error_t err = {0};
    assert_int_equal(vd_audit_submit(a, &rec, on_reported, &slot, &err), VD_OK);
    assert_int_equal(wait_reports(&r, 1), 1);
    assert_int_not_equal(r.rc[0], VD_OK);
    /* The writer waits up to 5 s for the lock (SQLite's busy timeout): the watchdog speaks. */
    assert_non_null(strstr(r.msg[0], "not committed within 300 ms"));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    vd_db_close(&other);
    vd_audit_close(&a); /* whatever the writer did with it since, no second report */
    assert_int_equal(r.calls[0], 1);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
}

/* Checkpoints run off the commit path, and the WAL still starts over: with a pass every 64
 * pages, 1,500 commits (several pages each) leave a WAL under four times that, where SQLite
 * without checkpoints would have let it grow past 4,000 pages. */
static void test_audit_checkpoints_bound_the_wal(void **state)
{
    fixture_t *f = *state;
    enum { PAGES = 64, COMMITS = 1500 };
    vd_audit_config_t cfg = {.synchronous = VD_AUDIT_SYNC_NORMAL, .checkpoint_pages = PAGES};
    vd_audit_t *a = open_audit(f, &cfg);
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    sqlite3 *db = open_db(f);
    int page_size = 0;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    page_size = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    vd_db_close(&db);
    off_t largest = 0;
    for (int i = 0; i < COMMITS; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ckpt-%d", i);
        vd_audit_record_t rec = record(id, "affirming");
        append_ok(a, &rec); /* one record, one commit */
        struct stat sb;
        if (stat(wal, &sb) == 0 && sb.st_size > largest) {
            largest = sb.st_size;
        }
    }
    vd_audit_stats_t stats;
    vd_audit_get_stats(a, &stats);
    vd_audit_close(&a);
    assert_int_equal(stats.commits, COMMITS);
    assert_true(stats.checkpoints >= 2);
    assert_true(stats.checkpoints_writer >= 2);
    /* A WAL frame is a page and a 24-byte header; the file has a 32-byte header. */
    if (largest > (off_t)(4 * PAGES + 32) * (page_size + 24) + 32) {
        fail_msg("the WAL reached %lld bytes (%lld pages)", (long long)largest,
                 (long long)(largest / (page_size + 24)));
    }
    db = open_db(f);
    assert_int_equal(count_rows(db, "WHERE request_id LIKE 'ckpt-%'"), COMMITS);
    vd_db_close(&db);
}

static void test_audit_bad_config(void **state)
{
    fixture_t *f = *state;
    vd_audit_config_t cfg = {0};
    vd_audit_t *a = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_audit_open(&cfg, &a, &err), VD_E_CONFIG);
    assert_null(a);
    cfg.db_path = f->db;
    cfg.synchronous = (vd_audit_sync_t)7;
    assert_int_equal(vd_audit_open(&cfg, &a, &err), VD_E_CONFIG);
    /* Not a database at all. */
    FILE *fp = fopen(f->db, "wb");
    assert_non_null(fp);
    fputs("this is not a database, it is a text file long enough to have a header......\n", fp);
    fclose(fp);
    cfg.synchronous = VD_AUDIT_SYNC_FULL;
    vd_error_clear(&err);
    assert_int_equal(vd_audit_open(&cfg, &a, &err), VD_E_STORE);
    assert_non_null(strstr(err.msg, f->db));
    vd_audit_close(&a); /* NULL-safe */
}

/* ---- kill -9 ------------------------------------------------------------------------------- */

#define KILL_THREADS 4
#define ACK_LEN      32 /* fixed-size lines: each write() to the pipe is atomic */

typedef struct killer {
    vd_audit_t *a;
    int fd;
    int index;
} killer_t;

static void *child_appender(void *arg)
{
    killer_t *k = arg;
    for (int i = 0; i < 1000000; i++) {
        char id[ACK_LEN];
        memset(id, 0, sizeof(id));
        snprintf(id, sizeof(id), "k%d-%d", k->index, i);
        vd_audit_record_t r = record(id, "affirming");
        vd_error_t err = {0};
        if (vd_audit_append(k->a, &r, &err) != VD_OK) {
            _exit(80);
        }
        /* Only now is the record acknowledged. */
        if (write(k->fd, id, ACK_LEN) != ACK_LEN) {
            _exit(81);
        }
    }
    return NULL;
}

static void run_kill_test(fixture_t *f, vd_audit_sync_t sync)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        vd_audit_config_t cfg = {.db_path = f->db, .synchronous = sync};
        vd_audit_t *a = NULL;
        vd_error_t err = {0};
        if (vd_audit_open(&cfg, &a, &err) != VD_OK) {
            _exit(70);
        }
        pthread_t th[KILL_THREADS];
        killer_t k[KILL_THREADS];
        for (int i = 0; i < KILL_THREADS; i++) {
            k[i] = (killer_t){.a = a, .fd = fds[1], .index = i};
            if (pthread_create(&th[i], NULL, child_appender, &k[i]) != 0) {
                _exit(71);
            }
        }
        for (int i = 0; i < KILL_THREADS; i++) {
            pthread_join(th[i], NULL);
        }
        _exit(72); /* never reached within the test's bounds */
    }
    close(fds[1]);

    /* Read acknowledgements until enough arrived, kill -9 mid-stream, then read the rest. */
    size_t cap = 1 << 20, n = 0;
    char *acks = malloc(cap);
    assert_non_null(acks);
    int killed = 0;
    for (;;) {
        if (n + ACK_LEN > cap) {
            cap *= 2;
            acks = realloc(acks, cap);
            assert_non_null(acks);
        }
        ssize_t got = read(fds[0], acks + n, cap - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
        if (!killed && n / ACK_LEN >= 400) {
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(killed);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    size_t n_acks = n / ACK_LEN; /* a torn last line cannot happen: writes are atomic */
    assert_int_equal(n % ACK_LEN, 0);
    assert_true(n_acks >= 400);

    /* Reopen: the file is sound and every acknowledged record is in it. */
    sqlite3 *db = open_db(f);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM audit WHERE request_id = ?", -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < n_acks; i++) {
        const char *id = acks + i * ACK_LEN;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 1) {
            fail_msg("acknowledged record %s is missing after kill -9", id);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_true(count_rows(db, "") >= (int64_t)n_acks);
    vd_db_close(&db);
    free(acks);

    /* And the writer starts again on it. */
    vd_audit_t *a = open_audit(f, NULL);
    vd_audit_record_t r = record("after-restart", "affirming");
    append_ok(a, &r);
    vd_audit_close(&a);
}

static void test_audit_kill9_full(void **state)
{
    run_kill_test(*state, VD_AUDIT_SYNC_FULL);
}

static void test_audit_kill9_normal(void **state)
{
    run_kill_test(*state, VD_AUDIT_SYNC_NORMAL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_audit_record_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_field_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_query_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_retention_by_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_retention_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_read_only_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_full_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_locked_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_submit_reports_each_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_submit_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_checkpoints_bound_the_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_kill9_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_kill9_normal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
