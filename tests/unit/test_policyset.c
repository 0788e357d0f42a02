/*
 * The policy set (policies/policyset.c) and the store's locking (policies/store.c): compiled
 * once, reference-counted, swapped on activation while old references stay valid; changes by
 * another process seen without a restart; readers and writers on many threads (run under
 * ThreadSanitizer: -DVD_SANITIZE=thread); writers waiting for each other instead of failing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "verdict/policy_store.h"
#include "verdict/policyset.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    vd_pstore_t *store;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    vd_error_t err = {0};
    snprintf(f->dir, sizeof(f->dir), "/tmp/vd-pset-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/verdict.db", f->dir);
    assert_int_equal(vd_pstore_open(f->path, 0, &f->store, &err), VD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];
    vd_pstore_close(&f->store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (strncmp(f->dir, "/tmp/vd-pset-", 13) == 0 && system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", f->dir);
    }
    free(f);
    return 0;
}

/* Put policy `name` whose description names its text generation `gen`. Its version, or -1
 * (safe on any thread: no cmocka calls). */
static int try_put_gen(vd_pstore_t *s, const char *name, int gen, int *created)
{
    char yaml[160], got[VD_POLICY_NAME_MAX];
    int version = 0, c = 0;
    vd_error_t err = {0};
    snprintf(yaml, sizeof(yaml), "name: %s\ndescription: gen%d\nsnp:\n  vmpl: 0\n", name, gen);
    if (vd_pstore_put(s, yaml, strlen(yaml), "test", got, &version, &c, &err) != VD_OK) {
        fprintf(stderr, "put %s: %s\n", name, err.msg);
        return -1;
    }
    if (created != NULL) {
        *created = c;
    }
    return version;
}

static int put_gen(vd_pstore_t *s, const char *name, int gen, int *created)
{
    int v = try_put_gen(s, name, gen, created);
    assert_true(v > 0);
    return v;
}

static void test_policyset_get_swap_and_old_references(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    vd_policyset_t *set = NULL;
    const vd_policy_ref_t *r1 = NULL, *r1b = NULL, *r2 = NULL, *r3 = NULL;
    assert_int_equal(put_gen(f->store, "p", 1, NULL), 1);
    assert_int_equal(put_gen(f->store, "p", 2, NULL), 2);
    assert_int_equal(vd_pstore_activate(f->store, "p", 1, &err), VD_OK);
    assert_int_equal(vd_policyset_open(f->path, &set, &err), VD_OK);

    assert_int_equal(vd_policyset_get(set, "p", &r1, &err), VD_OK);
    assert_int_equal(r1->version, 1);
    assert_string_equal(r1->name, "p");
    assert_string_equal(vd_policy_description(r1->policy), "gen1");
    /* Not compiled again: the same object while nothing changed. */
    assert_int_equal(vd_policyset_get(set, "p", &r1b, &err), VD_OK);
    assert_ptr_equal(r1b->policy, r1->policy);
    vd_policyset_release(set, &r1b);
    assert_null(r1b);

    /* Another connection activates version 2: after a refresh the set hands out version 2,
     * and the reference taken before still reads version 1. */
    assert_int_equal(vd_pstore_activate(f->store, "p", 2, &err), VD_OK);
    assert_int_equal(vd_policyset_refresh(set, &err), VD_OK);
    assert_int_equal(vd_policyset_get(set, "p", &r2, &err), VD_OK);
    assert_int_equal(r2->version, 2);
    assert_string_equal(vd_policy_description(r2->policy), "gen2");
    assert_int_equal(r1->version, 1);
    assert_string_equal(vd_policy_description(r1->policy), "gen1");
    vd_policyset_release(set, &r1);

    /* Deleted: no longer handed out; the reference held stays valid. */
    assert_int_equal(vd_pstore_delete(f->store, "p", &err), VD_OK);
    assert_int_equal(vd_policyset_refresh(set, &err), VD_OK);
    vd_error_clear(&err);
    assert_int_equal(vd_policyset_get(set, "p", &r3, &err), VD_E_CONFIG);
    assert_null(r3);
    assert_non_null(strstr(err.msg, "\"p\""));
    assert_string_equal(vd_policy_description(r2->policy), "gen2");
    vd_policyset_release(set, &r2);
    vd_error_clear(&err);
    assert_int_equal(vd_policyset_get(set, "nobody", &r3, &err), VD_E_CONFIG);
    /* A write through the set's own store (data_version does not count it) is seen too. */
    assert_int_equal(put_gen(vd_policyset_store(set), "p", 4, NULL), 3);
    assert_int_equal(vd_policyset_refresh(set, &err), VD_OK);
    assert_int_equal(vd_policyset_get(set, "p", &r3, &err), VD_OK);
    assert_int_equal(r3->version, 3);
    assert_string_equal(vd_policy_description(r3->policy), "gen4");
    vd_policyset_release(set, &r3);
    assert_int_equal(put_gen(vd_policyset_store(set), "p", 5, NULL), 4);
    assert_int_equal(vd_policyset_refresh(set, &err), VD_OK);
    assert_int_equal(vd_policyset_get(set, "p", &r3, &err), VD_OK);
    assert_int_equal(r3->version, 4);
    vd_policyset_release(set, &r3);
    vd_policyset_free(&set);
}

/* Import `gen` of policy p in a child process (a second `verdict policy import`). */
static void import_in_child(const char *path, int gen)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        vd_pstore_t *s = NULL;
        vd_error_t err = {0};
        char yaml[160], name[VD_POLICY_NAME_MAX];
        int version = 0, created = 0;
        snprintf(yaml, sizeof(yaml), "name: p\ndescription: gen%d\nsnp:\n  vmpl: 0\n", gen);
        int ok = vd_pstore_open(path, 0, &s, &err) == VD_OK &&
                 vd_pstore_put(s, yaml, strlen(yaml), "child", name, &version, &created, &err) ==
                     VD_OK &&
                 created;
        vd_pstore_close(&s);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_policyset_sees_another_process(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    vd_policyset_t *set = NULL;
    const vd_policy_ref_t *r = NULL;
    assert_int_equal(put_gen(f->store, "p", 1, NULL), 1);
    assert_int_equal(vd_policyset_open(f->path, &set, &err), VD_OK);
    assert_int_equal(vd_policyset_get(set, "p", &r, &err), VD_OK);
    assert_int_equal(r->version, 1);
    vd_policyset_release(set, &r);

    /* An explicit refresh (the server's once-a-second tick) sees it at once. */
    import_in_child(f->path, 2);
    assert_int_equal(vd_policyset_refresh(set, &err), VD_OK);
    assert_int_equal(vd_policyset_get(set, "p", &r, &err), VD_OK);
    assert_int_equal(r->version, 2);
    vd_policyset_release(set, &r);

    /* Without any refresh call, vd_policyset_get notices it by itself (it checks at most once
     * a second): poll, bounded, until it does. */
    import_in_child(f->path, 3);
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        assert_int_equal(vd_policyset_get(set, "p", &r, &err), VD_OK);
        seen = r->version == 3;
        vd_policyset_release(set, &r);
        if (!seen) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(seen);
    vd_policyset_free(&set);
}

/* ---- threads -------------------------------------------------------------------------------- */

#define READERS      4
#define READ_ROUNDS  300
#define WRITE_ROUNDS 40

typedef struct shared {
    const char *path;
    vd_policyset_t *set;
    int failed; /* written under `mu` */
    pthread_mutex_t mu;
} shared_t;

static void mark_failed(shared_t *sh)
{
    pthread_mutex_lock(&sh->mu);
    sh->failed = 1;
    pthread_mutex_unlock(&sh->mu);
}

static void *reader(void *arg)
{
    shared_t *sh = arg;
    for (int i = 0; i < READ_ROUNDS; i++) {
        const vd_policy_ref_t *r = NULL;
        vd_error_t err = {0};
        char want[16];
        if (vd_policyset_get(sh->set, "p", &r, &err) != VD_OK) {
            mark_failed(sh);
            return NULL;
        }
        /* The compiled policy is the one of the version the reference names. */
        snprintf(want, sizeof(want), "gen%d", r->version);
        if (strcmp(vd_policy_description(r->policy), want) != 0 || strcmp(r->name, "p") != 0) {
            mark_failed(sh);
        }
        if (i % 50 == 0 && vd_policyset_refresh(sh->set, &err) != VD_OK) {
            mark_failed(sh);
        }
        vd_policyset_release(sh->set, &r);
    }
    return NULL;
}

static void *writer(void *arg)
{
    shared_t *sh = arg;
    vd_pstore_t *s = NULL;
    vd_error_t err = {0};
    if (vd_pstore_open(sh->path, 0, &s, &err) != VD_OK) {
        mark_failed(sh);
        return NULL;
    }
    for (int i = 0; i < WRITE_ROUNDS; i++) {
        if (vd_pstore_activate(s, "p", 1 + i % 3, &err) != VD_OK ||
            vd_policyset_refresh(sh->set, &err) != VD_OK) {
            mark_failed(sh);
            break;
        }
    }
    vd_pstore_close(&s);
    return NULL;
}

static void test_policyset_threads_read_while_activating(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    shared_t sh = {.path = f->path};
    pthread_t r[READERS], w;
    for (int g = 1; g <= 3; g++) {
        assert_int_equal(put_gen(f->store, "p", g, NULL), g);
    }
    assert_int_equal(pthread_mutex_init(&sh.mu, NULL), 0);
    assert_int_equal(vd_policyset_open(f->path, &sh.set, &err), VD_OK);
    for (int i = 0; i < READERS; i++) {
        assert_int_equal(pthread_create(&r[i], NULL, reader, &sh), 0);
    }
    assert_int_equal(pthread_create(&w, NULL, writer, &sh), 0);
    for (int i = 0; i < READERS; i++) {
        assert_int_equal(pthread_join(r[i], NULL), 0);
    }
    assert_int_equal(pthread_join(w, NULL), 0);
    assert_false(sh.failed);
    /* The last activation (version 1 + (WRITE_ROUNDS - 1) % 3) is what the set serves now. */
    const vd_policy_ref_t *ref = NULL;
    assert_int_equal(vd_policyset_refresh(sh.set, &err), VD_OK);
    assert_int_equal(vd_policyset_get(sh.set, "p", &ref, &err), VD_OK);
    assert_int_equal(ref->version, 1 + (WRITE_ROUNDS - 1) % 3);
    vd_policyset_release(sh.set, &ref);
    vd_policyset_free(&sh.set);
    pthread_mutex_destroy(&sh.mu);
}

/* Two writers on their own connections, at once: both wait their turn, none fails with BUSY,
 * and every import that reports created=1 is really there. */
typedef struct wargs {
    const char *path;
    const char *prefix;
    int ok;
} wargs_t;

static void *bulk_writer(void *arg)
{
    wargs_t *a = arg;
    vd_pstore_t *s = NULL;
    vd_error_t err = {0};
    if (vd_pstore_open(a->path, 0, &s, &err) != VD_OK) {
        return NULL;
    }
    int ok = 1;
    for (int i = 0; i < 20 && ok; i++) {
        char name[32];
        int created = 0;
        snprintf(name, sizeof(name), "%s%d", a->prefix, i);
        ok = try_put_gen(s, name, 1, &created) == 1 && created;
        /* A multi-put transaction too, interleaved with the other writer's single puts. */
        if (ok && i % 5 == 0) {
            ok = vd_pstore_begin(s, &err) == VD_OK;
            snprintf(name, sizeof(name), "%s%d-tx", a->prefix, i);
            ok = ok && try_put_gen(s, name, 1, &created) == 1 && created;
            ok = ok && vd_pstore_commit(s, &err) == VD_OK;
        }
    }
    vd_pstore_close(&s);
    a->ok = ok;
    return NULL;
}

static int count_rows(const vd_pstore_version_t *v, void *ctx)
{
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

static void test_pstore_concurrent_writers_wait(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    pthread_t t1, t2;
    wargs_t a = {f->path, "a", 0}, b = {f->path, "b", 0};
    assert_int_equal(pthread_create(&t1, NULL, bulk_writer, &a), 0);
    assert_int_equal(pthread_create(&t2, NULL, bulk_writer, &b), 0);
    assert_int_equal(pthread_join(t1, NULL), 0);
    assert_int_equal(pthread_join(t2, NULL), 0);
    assert_true(a.ok);
    assert_true(b.ok);
    int rows = 0;
    assert_int_equal(vd_pstore_list(f->store, count_rows, &rows, &err), VD_OK);
    assert_int_equal(rows, 2 * (20 + 4));
}

/* One handle shared by threads: its own lock keeps a transaction from interleaving with
 * another thread's statements. */
typedef struct shared_store {
    vd_pstore_t *s;
    int id;
    int ok;
} shared_store_t;

static void *same_handle_writer(void *arg)
{
    shared_store_t *a = arg;
    vd_error_t err = {0};
    int ok = 1;
    for (int i = 0; i < 15 && ok; i++) {
        char name[32];
        int created = 0;
        ok = vd_pstore_begin(a->s, &err) == VD_OK;
        snprintf(name, sizeof(name), "t%d-%d", a->id, i);
        ok = ok && try_put_gen(a->s, name, 1, &created) == 1 && created;
        if (ok && i % 3 == 0) {
            vd_pstore_rollback(a->s); /* this one must vanish, and only this one */
        } else {
            ok = ok && vd_pstore_commit(a->s, &err) == VD_OK;
        }
    }
    a->ok = ok;
    return NULL;
}

static void test_pstore_one_handle_many_threads(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    pthread_t t[3];
    shared_store_t a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (shared_store_t){f->store, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, same_handle_writer, &a[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_true(a[i].ok);
    }
    int rows = 0;
    assert_int_equal(vd_pstore_list(f->store, count_rows, &rows, &err), VD_OK);
    assert_int_equal(rows, 3 * 10); /* 15 each, 5 of them rolled back */
}

/* A store that cannot be written: reads work, a write fails and never reports created=1. */
static void test_pstore_read_only(void **state)
{
    fixture_t *f = *state;
    vd_error_t err = {0};
    vd_pstore_t *ro = NULL;
    char name[VD_POLICY_NAME_MAX];
    int version = 7, created = 7, rows = 0;
    assert_int_equal(put_gen(f->store, "p", 1, NULL), 1);
    assert_int_equal(vd_pstore_open(f->path, 1, &ro, &err), VD_OK);
    assert_true(vd_pstore_read_only(ro));
    assert_int_equal(vd_pstore_list(ro, count_rows, &rows, &err), VD_OK);
    assert_int_equal(rows, 1);
    static const char y[] = "name: q\n";
    assert_int_equal(vd_pstore_put(ro, y, strlen(y), "t", name, &version, &created, &err),
                     VD_E_STORE);
    assert_int_equal(created, 0);
    assert_int_equal(version, 0);
    vd_error_clear(&err);
    assert_int_equal(vd_pstore_activate(ro, "p", 1, &err), VD_E_STORE);
    vd_pstore_close(&ro);
    /* A policy set opens a file it may not write read-only (unless running as root). */
    if (geteuid() != 0) {
        vd_policyset_t *set = NULL;
        const vd_policy_ref_t *r = NULL;
        assert_int_equal(chmod(f->path, 0444), 0);
        assert_int_equal(vd_policyset_open(f->path, &set, &err), VD_OK);
        assert_int_equal(vd_policyset_get(set, "p", &r, &err), VD_OK);
        vd_policyset_release(set, &r);
        vd_policyset_free(&set);
        assert_int_equal(chmod(f->path, 0644), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_policyset_get_swap_and_old_references, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_policyset_sees_another_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policyset_threads_read_while_activating, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pstore_concurrent_writers_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pstore_one_handle_many_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pstore_read_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
