/*
 * Check lists (verifier/common/check.c): names and details as given, cut to their fields, and
 * the overflow entry that keeps a lost failure visible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/check.h"

static void test_checks_names_and_details(void **state)
{
    (void)state;
    static vd_checks_t c; /* 24 KB */
    char longname[100];
    memset(&c, 0, sizeof(c));
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    vd_checks_add(&c, "report.vmpl", VD_CHECK_PASS, "VMPL %u", 0u);
    vd_checks_add(&c, "", VD_CHECK_SKIP, "%s", "");
    vd_checks_add(&c, longname, VD_CHECK_FAIL, "%s", "x");
    assert_int_equal(c.count, 3);
    assert_string_equal(c.items[0].name, "report.vmpl");
    assert_string_equal(c.items[0].detail, "VMPL 0");
    assert_string_equal(c.items[1].name, "");
    assert_int_equal(strlen(c.items[2].name), VD_CHECK_NAME_MAX - 1);
    assert_memory_equal(c.items[2].name, longname, VD_CHECK_NAME_MAX - 1);
    assert_ptr_equal(vd_checks_first(&c, VD_CHECK_FAIL), &c.items[2]);
    assert_ptr_equal(vd_checks_find(&c, "report.vmpl"), &c.items[0]);
    assert_int_equal(vd_checks_count(&c, VD_CHECK_SKIP), 1);
}

static void test_checks_overflow(void **state)
{
    (void)state;
    static vd_checks_t c;
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < VD_CHECKS_MAX + 3; i++) {
        vd_checks_add(&c, "ok", VD_CHECK_PASS, "%d", i);
    }
    assert_int_equal(c.count, VD_CHECKS_MAX);
    assert_string_equal(c.items[VD_CHECKS_MAX - 2].name, "ok");
    assert_string_equal(c.items[VD_CHECKS_MAX - 1].name, "checks.overflow");
    assert_int_equal(c.items[VD_CHECKS_MAX - 1].result, VD_CHECK_FAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks_names_and_details),
        cmocka_unit_test(test_checks_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
