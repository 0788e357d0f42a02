/*
 * The shared SQLite file (verifier/db/db.c) and the certificate cache on top of it, when the
 * file is not what it should be (issue #7, defect 8): many processes creating it at once, a file
 * that cannot be written, a file that is not a database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "verdict/certcache.h"
#include "verdict/db.h"

#define OPENERS 8
#define ROUNDS  6
#define NOBODY  65534

typedef struct dir {
    char path[128];
} dir_t;

static int dir_setup(void **state)
{
    dir_t *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return -1;
    }
    snprintf(d->path, sizeof(d->path), "/tmp/vd-db-test-XXXXXX");
    if (mkdtemp(d->path) == NULL) {
        free(d);
        return -1;
    }
    *state = d;
    return 0;
}

static int dir_teardown(void **state)
{
    dir_t *d = *state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", d->path);
    }
    free(d);
    return 0;
}

/* Several processes open a database that does not exist yet, all at the same moment. */
static void test_db_concurrent_first_open(void **state)
{
    dir_t *d = *state;
    for (int round = 0; round < ROUNDS; round++) {
        char path[192];
        int go[2];
        pid_t kids[OPENERS];
        snprintf(path, sizeof(path), "%s/new%d.db", d->path, round);
        assert_int_equal(pipe(go), 0);
        for (int i = 0; i < OPENERS; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                char b;
                close(go[1]);
                /* Start together: when the parent closes the pipe. */
                if (read(go[0], &b, 1) < 0) {
                    _exit(3);
                }
                sqlite3 *db = NULL;
                vd_error_t err = {0};
                if (vd_db_open(path, &db, &err) != VD_OK) {
                    fprintf(stderr, "opener %d: %s\n", i, err.msg);
                    _exit(1);
                }
                int v = -1;
                sqlite3_stmt *st = NULL;
                if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
                    sqlite3_step(st) == SQLITE_ROW) {
                    v = sqlite3_column_int(st, 0);
                }
                sqlite3_finalize(st);
                vd_db_close(&db);
                _exit(v == vd_db_schema_version() ? 0 : 2);
            }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < OPENERS; i++) {
            int status = 0;
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
    }
}

/* Run `fn` in a child that cannot write the file: as nobody when we are root. Its exit code. */
static int as_reader(int (*fn)(const char *), const char *path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) {
            _exit(90);
        }
        _exit(fn(path));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int read_policies(const char *path)
{
    sqlite3 *db = NULL;
    vd_error_t err = {0};
    if (vd_db_open(path, &db, &err) != VD_OK) {
        fprintf(stderr, "read-only open: %s\n", err.msg);
        return 1;
    }
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM policy_versions", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    int ro = vd_db_readonly(db);
    vd_db_close(&db);
    return n == 1 && ro ? 0 : 2;
}

static int read_cache(const char *path)
{
    vd_certcache_config_t cfg;
    vd_certcache_t *c = NULL;
    vd_error_t err = {0};
    size_t n = 0;
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = path;
    cfg.offline = 1;
    if (vd_certcache_open(&cfg, &c, &err) != VD_OK) {
        fprintf(stderr, "cache open: %s\n", err.msg);
        return 1;
    }
    const char *w = vd_certcache_warning(c);
    int rc = w != NULL && strstr(w, "read-only") != NULL ? 0 : 3;
    if (vd_certcache_each(c, NULL, NULL, &n, &err) != VD_OK) {
        rc = 4;
    }
    vd_certcache_free(&c);
    return rc;
}

/* A database that cannot be written is still read (policy list, verify --offline). */
static void test_db_read_only_file(void **state)
{
    dir_t *d = *state;
    char path[192];
    sqlite3 *db = NULL;
    vd_error_t err = {0};
    snprintf(path, sizeof(path), "%s/ro.db", d->path);
    assert_int_equal(vd_db_open(path, &db, &err), VD_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO policy_versions(name, version, source, sha256, "
                                  "created_at) VALUES('p', 1, 'x', 'y', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    vd_db_close(&db);
    assert_int_equal(chmod(path, 0444), 0);
    assert_int_equal(chmod(d->path, 0755), 0); /* nobody may enter, not create files */
    assert_int_equal(as_reader(read_policies, path), 0);
    assert_int_equal(as_reader(read_cache, path), 0);
}

/* A file of garbage as the cache: a warning, and the cache works from memory. */
static void test_db_garbage_cache_is_a_warning(void **state)
{
    dir_t *d = *state;
    char path[192];
    vd_certcache_config_t cfg;
    vd_certcache_t *c = NULL;
    vd_error_t err = {0};
    snprintf(path, sizeof(path), "%s/garbage.db", d->path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++) {
        fputc((i * 7919 + 13) & 0xff, f);
    }
    fclose(f);
    sqlite3 *db = NULL;
    assert_int_equal(vd_db_open(path, &db, &err), VD_E_STORE); /* the store itself refuses */
    assert_null(db);
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = path;
    cfg.offline = 1;
    memset(&err, 0, sizeof(err));
    assert_int_equal(vd_certcache_open(&cfg, &c, &err), VD_OK);
    const char *w = vd_certcache_warning(c);
    assert_non_null(w);
    assert_non_null(strstr(w, path));
    size_t n = 99;
    assert_int_equal(vd_certcache_each(c, NULL, NULL, &n, &err), VD_E_STORE);
    assert_int_equal(n, 0);
    size_t imported = 0;
    memset(&err, 0, sizeof(err));
    assert_int_equal(vd_certcache_import(c, (const uint8_t *)"x", 1, &imported, &err), VD_E_STORE);
    assert_non_null(strstr(err.msg, "not usable"));
    vd_certcache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_db_concurrent_first_open, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_db_read_only_file, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_db_garbage_cache_is_a_warning, dir_setup,
                                        dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
