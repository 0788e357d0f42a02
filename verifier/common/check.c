/*
 * Check lists (see include/verdict/check.h). Pure, fixed-size, no allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verdict/check.h"

const char *vd_check_result_str(vd_check_result_t r)
{
    switch (r) {
    case VD_CHECK_PASS:
        return "pass";
    case VD_CHECK_FAIL:
        return "fail";
    case VD_CHECK_SKIP:
        return "skip";
    }
    return "fail";
}

void vd_checks_add(vd_checks_t *c, const char *name, vd_check_result_t result, const char *fmt, ...)
{
    vd_check_t *k;
    if (c->count >= VD_CHECKS_MAX) {
        k = &c->items[VD_CHECKS_MAX - 1];
        snprintf(k->name, sizeof(k->name), "checks.overflow");
        k->result = VD_CHECK_FAIL;
        snprintf(k->detail, sizeof(k->detail), "more than %d checks; results were lost",
                 VD_CHECKS_MAX);
        return;
    }
    k = &c->items[c->count++];
    /* What snprintf "%s" made of it (cut to fit), without its format parsing: every check. */
    size_t n = strnlen(name, sizeof(k->name) - 1);
    memcpy(k->name, name, n);
    k->name[n] = '\0';
    k->result = result;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
    va_end(ap);
}

size_t vd_checks_count(const vd_checks_t *c, vd_check_result_t r)
{
    size_t n = 0;
    for (size_t i = 0; i < c->count; i++) {
        n += c->items[i].result == r;
    }
    return n;
}

const vd_check_t *vd_checks_first(const vd_checks_t *c, vd_check_result_t r)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->items[i].result == r) {
            return &c->items[i];
        }
    }
    return NULL;
}

const vd_check_t *vd_checks_find(const vd_checks_t *c, const char *name)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->items[i].name, name) == 0) {
            return &c->items[i];
        }
    }
    return NULL;
}
