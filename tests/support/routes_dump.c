/*
 * routes_dump: print the API's route table (vd_routes_all, verifier/api/routes.h), one route a
 * line as "METHOD PATTERN ACCESS INLINE", for the API reference test (tests/api/test_openapi.py),
 * which compares it with docs/openapi.yaml. ACCESS is open, evidence, read or admin.
 */
#include <stdio.h>

#include "routes.h"

static const char *access_name(vd_access_t a)
{
    switch (a) {
    case VD_ACCESS_OPEN:
        return "open";
    case VD_ACCESS_EVIDENCE:
        return "evidence";
    case VD_ACCESS_READ:
        return "read";
    case VD_ACCESS_ADMIN:
        return "admin";
    }
    return "unknown";
}

int main(void)
{
    size_t n = 0;
    const vd_route_t *r = vd_routes_all(&n);
    for (size_t i = 0; i < n; i++) {
        printf("%s %s %s %s\n", r[i].method, r[i].pattern, access_name(r[i].access),
               r[i].inline_ok ? "inline" : "worker");
    }
    return n > 0 ? 0 : 1;
}
