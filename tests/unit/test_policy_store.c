/*
 * The versioned policy store: versions, idempotent re-import, activate/rollback, delete and
 * restore, history, validation before storing, atomic multi-policy transactions, a reader on
 * another connection never seeing half a write, and schema versioning of the database file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "verdict/db.h"
#include "verdict/policy_store.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    vd_pstore_t *db;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    vd_error_t err = {0};
    snprintf(f->dir, sizeof(f->dir), "/tmp/vd-pstore-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/verdict.db", f->dir);
    assert_int_equal(vd_pstore_open(f->path, 0, &f->db, &err), VD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char p[160];
    vd_pstore_close(&f->db);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int put(vd_pstore_t *db, const char *yaml, int *created)
{
    char name[VD_POLICY_NAME_MAX];
    int version = 0, c = 0;
    vd_error_t err = {0};
    if (vd_pstore_put(db, yaml, strlen(yaml), "test", name, &version, &c, &err) != VD_OK) {
        fail_msg("put: %s", err.msg);
    }
    if (created != NULL) {
        *created = c;
    }
    return version;
}

static int count_rows(const vd_pstore_version_t *v, void *ctx)
{
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

static int active_version(vd_pstore_t *db, const char *name)
{
    char *src = NULL;
    vd_pstore_version_t info;
    vd_error_t err = {0};
    if (vd_pstore_get(db, name, 0, &src, &info, &err) != VD_OK) {
        return 0;
    }
    free(src);
    return info.version;
}

static const char *const V1 = "name: p\nsnp:\n  vmpl: 0\n";
static const char *const V2 = "name: p\nsnp:\n  vmpl: [0, 1]\n";

static void test_pstore_put_versions_and_idempotence(void **state)
{
    fixture_t *f = *state;
    int created = 0;
    assert_int_equal(put(f->db, V1, &created), 1);
    assert_true(created);
    assert_int_equal(put(f->db, V1, &created), 1); /* same text: unchanged */
    assert_false(created);
    assert_int_equal(put(f->db, V2, &created), 2);
    assert_true(created);
    assert_int_equal(active_version(f->db, "p"), 2);
    int rows = 0;
    vd_error_t err = {0};
    assert_int_equal(vd_pstore_history(f->db, "p", count_rows, &rows, &err), VD_OK);
    assert_int_equal(rows, 2);
    vd_policy_t *pol = NULL;
    assert_int_equal(vd_pstore_load(f->db, "p", &pol, NULL, &err), VD_OK);
    assert_string_equal(vd_policy_name(pol), "p");
    vd_policy_free(&pol);
}

static void test_pstore_put_rejects_invalid(void **state)
{
    fixture_t *f = *state;
    char name[VD_POLICY_NAME_MAX];
    int version = 0, created = 0;
    vd_error_t err = {0};
    const char *bad = "name: p\nsnp:\n  vmpl: 7\n";
    assert_int_equal(
        vd_pstore_put(f->db, bad, strlen(bad), "bad.yaml", name, &version, &created, &err),
        VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "bad.yaml:3:9"));
    assert_int_equal(active_version(f->db, "p"), 0);
}

static void test_pstore_activate_rollback_and_delete(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    put(f->db, V1, NULL);
    put(f->db, V2, NULL);
    assert_int_equal(vd_pstore_activate(f->db, "p", 1, &err), VD_OK);
    assert_int_equal(active_version(f->db, "p"), 1);
    vd_error_clear(&err);
    assert_int_equal(vd_pstore_activate(f->db, "p", 3, &err), VD_E_CONFIG);
    assert_non_null(strstr(err.msg, "no version 3"));
    assert_int_equal(active_version(f->db, "p"), 1); /* a failed activate changes nothing */
    vd_error_clear(&err);
    assert_int_equal(vd_pstore_delete(f->db, "p", &err), VD_OK);
    assert_int_equal(active_version(f->db, "p"), 0);
    int rows = 0;
    assert_int_equal(vd_pstore_list(f->db, count_rows, &rows, &err), VD_OK);
    assert_int_equal(rows, 0);
    rows = 0;
    assert_int_equal(vd_pstore_history(f->db, "p", count_rows, &rows, &err), VD_OK);
    assert_int_equal(rows, 2); /* history survives */
    assert_int_equal(vd_pstore_delete(f->db, "p", &err), VD_E_CONFIG);
    vd_error_clear(&err);
    /* Re-importing the old text after a delete brings the policy back as a new version. */
    assert_int_equal(put(f->db, V2, NULL), 3);
    vd_error_clear(&err);
    assert_int_equal(vd_pstore_history(f->db, "nobody", count_rows, &rows, &err), VD_E_CONFIG);
}

static void test_pstore_transaction_all_or_nothing(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    char name[VD_POLICY_NAME_MAX];
    int version = 0, created = 0;
    assert_int_equal(vd_pstore_begin(f->db, &err), VD_OK);
    const char *a = "name: a\n";
    assert_int_equal(vd_pstore_put(f->db, a, strlen(a), "a", name, &version, &created, &err),
                     VD_OK);
    const char *b = "name: b\nbogus: 1\n";
    assert_int_equal(vd_pstore_put(f->db, b, strlen(b), "b", name, &version, &created, &err),
                     VD_E_MALFORMED);
    vd_pstore_rollback(f->db);
    assert_int_equal(active_version(f->db, "a"), 0);
}

/* A second connection reading while the first is mid-transaction sees the old state. */
static void test_pstore_readers_never_see_half_a_write(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    vd_pstore_t *reader = NULL;
    put(f->db, V1, NULL);
    assert_int_equal(vd_pstore_open(f->path, 0, &reader, &err), VD_OK);
    assert_int_equal(vd_pstore_begin(f->db, &err), VD_OK);
    put(f->db, V2, NULL);
    const char *q = "name: q\n";
    char name[VD_POLICY_NAME_MAX];
    int version = 0, created = 0;
    assert_int_equal(vd_pstore_put(f->db, q, strlen(q), "q", name, &version, &created, &err),
                     VD_OK);
    assert_int_equal(active_version(reader, "p"), 1);
    assert_int_equal(active_version(reader, "q"), 0);
    assert_int_equal(vd_pstore_commit(f->db, &err), VD_OK);
    assert_int_equal(active_version(reader, "p"), 2);
    assert_int_equal(active_version(reader, "q"), 1);
    vd_pstore_close(&reader);
}

static void test_db_schema_version_and_newer_file(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    sqlite3 *again = NULL, *raw = NULL;
    vd_pstore_t *again_store = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(vd_db_open(f->path, &raw, &err), VD_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), vd_db_schema_version());
    sqlite3_finalize(st);
    /* Reopening migrates nothing and keeps the data. */
    put(f->db, V1, NULL);
    assert_int_equal(vd_pstore_open(f->path, 0, &again_store, &err), VD_OK);
    assert_int_equal(active_version(again_store, "p"), 1);
    vd_pstore_close(&again_store);
    /* A file from a newer verdict is refused, not downgraded. */
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", vd_db_schema_version() + 1);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    vd_db_close(&raw);
    assert_int_equal(vd_db_open(f->path, &again, &err), VD_E_STORE);
    assert_non_null(strstr(err.msg, "newer"));
    assert_null(again);
}

static void test_db_open_rejects_non_database(void **state)
{
    fixture_t *f = *state;
    char path[160];
    vd_error_t err = {0};
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/not-a-db", f->dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("this is not an SQLite database, just some text that is long enough to look like a "
          "header and then some more to fill the first page of the file",
          fp);
    fclose(fp);
    assert_int_equal(vd_db_open(path, &db, &err), VD_E_STORE);
    assert_non_null(strstr(err.msg, "not-a-db"));
    unlink(path);
    vd_error_clear(&err);
    assert_int_equal(vd_db_open("/nonexistent-dir/x.db", &db, &err), VD_E_STORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pstore_put_versions_and_idempotence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pstore_put_rejects_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pstore_activate_rollback_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pstore_transaction_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pstore_readers_never_see_half_a_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_db_schema_version_and_newer_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_open_rejects_non_database, setup, teardown),
    };
    return cmocka_run_group_tests_name("policy_store", tests, NULL, NULL);
}
