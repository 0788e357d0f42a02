/*
 * verdict: named check results, the explanation that goes with every verdict.
 *
 * A check is pass, fail or skip, with a stable dotted name ("chain.vcek_signature") and a
 * human-readable detail that names the field, the expected and the actual value. The list is a
 * fixed-size array: appraisals allocate nothing for it.
 */
#ifndef verdict__check_h
#define verdict__check_h

#include <stddef.h>

typedef enum vd_check_result {
    VD_CHECK_PASS = 0,
    VD_CHECK_FAIL,
    VD_CHECK_SKIP,
} vd_check_result_t;

#define VD_CHECK_NAME_MAX   48
#define VD_CHECK_DETAIL_MAX 320
#define VD_CHECKS_MAX       64

typedef struct vd_check {
    char name[VD_CHECK_NAME_MAX];
    vd_check_result_t result;
    char detail[VD_CHECK_DETAIL_MAX];
} vd_check_t;

typedef struct vd_checks {
    vd_check_t items[VD_CHECKS_MAX];
    size_t count;
} vd_checks_t;

/** "pass", "fail" or "skip". */
const char *vd_check_result_str(vd_check_result_t r);

/**
 * Append a check (printf-style detail). Past VD_CHECKS_MAX the last slot is overwritten by a
 * failing "checks.overflow" entry, so an overflow can never hide a failure.
 */
void vd_checks_add(vd_checks_t *c, const char *name, vd_check_result_t result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Number of checks with result `r`. */
size_t vd_checks_count(const vd_checks_t *c, vd_check_result_t r);

/** First check with result `r`, or NULL. */
const vd_check_t *vd_checks_first(const vd_checks_t *c, vd_check_result_t r);

/** The check named `name`, or NULL. */
const vd_check_t *vd_checks_find(const vd_checks_t *c, const char *name);

#endif
