/*
 * vd_json_object_of (verifier/common/jsonbuild.c): the object json_pack("{s:o, ...}") makes, and
 * every value taken, also when one is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/jsonbuild.h"
#include "verdict/jsonout.h"

static void test_same_as_json_pack(void **state)
{
    (void)state;
    static const char *const names[] = {"status", "n", "ok", "list"};
    json_t *values[] = {json_string("affirming"), json_integer(7), json_true(), json_array()};
    json_t *ours = vd_json_object_of(names, values, 4);
    json_t *packed =
        json_pack("{s:s, s:i, s:b, s:[]}", "status", "affirming", "n", 7, "ok", 1, "list");
    assert_non_null(ours);
    assert_non_null(packed);
    char *a = vd_json_dumps(ours), *b = vd_json_dumps(packed);
    assert_string_equal(a, b); /* the same members in the same order */
    assert_string_equal(a, "{\"status\":\"affirming\",\"n\":7,\"ok\":true,\"list\":[]}");
    free(a);
    free(b);
    json_decref(ours);
    json_decref(packed);
}

static void test_fewer_members(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b"};
    json_t *values[] = {json_integer(1), NULL};
    json_t *o = vd_json_object_of(names, values, 1); /* the caller leaves the last one out */
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 1);
    json_decref(o);
    json_t *empty = vd_json_object_of(names, values, 0);
    assert_non_null(empty);
    assert_int_equal(json_object_size(empty), 0);
    json_decref(empty);
}

/* A NULL value (a failed allocation upstream) gives NULL; the other values are released (the
 * ASan build's leak check fails the test otherwise). */
static void test_missing_value(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b", "c"};
    json_t *keep = json_string("kept elsewhere");
    json_incref(keep);
    json_t *values[] = {json_integer(1), NULL, keep};
    assert_null(vd_json_object_of(names, values, 3));
    assert_int_equal(keep->refcount, 1); /* ours only: the builder released its reference */
    json_decref(keep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_json_pack),
        cmocka_unit_test(test_fewer_members),
        cmocka_unit_test(test_missing_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
