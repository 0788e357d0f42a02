/*
 * Shared-vector access for tests (see vectors.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/timefmt.h"
#include "vectors.h"

const char *vd_test_vectors_dir(void)
{
    const char *env = getenv("VERDICT_VECTORS");
    return env != NULL && env[0] != '\0' ? env : VD_DEFAULT_VECTORS;
}

uint8_t *vd_test_read_vector(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", vd_test_vectors_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        const char *ci = getenv("CI");
        if (ci != NULL && ci[0] != '\0') {
            fail_msg("vector %s missing (CI requires ../shared/vectors)", path);
        }
        print_message("vector %s missing: skipping\n", path);
        skip();
    }
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

void vd_test_add_certs(vd_certset_t *set, const char *rel)
{
    size_t len;
    uint8_t *buf = vd_test_read_vector(rel, &len);
    vd_error_t err = {0};
    vd_err_t rc = vd_certset_add_blob(set, buf, len, rel, &err);
    free(buf);
    if (rc != VD_OK) {
        fail_msg("adding %s: %s", rel, err.msg);
    }
}

time_t vd_test_time(const char *rfc3339)
{
    time_t t = 0;
    assert_int_equal(vd_time_parse_rfc3339(rfc3339, &t), 0);
    return t;
}
