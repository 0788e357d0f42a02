/*
 * Test helper: locate and read the shared real vectors (../shared/vectors or
 * $VERDICT_VECTORS). A missing vector skips the test locally but fails it when CI=true.
 */
#ifndef verdict_test__vectors_h
#define verdict_test__vectors_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "verdict/certset.h"

/** Directory of the vectors. */
const char *vd_test_vectors_dir(void);

/**
 * Read vectors/<rel> into a malloc'd buffer (caller frees). If it does not exist: cmocka skip()
 * locally, fail() when CI is set. Never returns without a buffer.
 */
uint8_t *vd_test_read_vector(const char *rel, size_t *len);

/** Add every certificate in vectors/<rel> to `set` (asserts success). */
void vd_test_add_certs(vd_certset_t *set, const char *rel);

/** Parse an RFC 3339 time, asserting success. */
time_t vd_test_time(const char *rfc3339);

#endif
