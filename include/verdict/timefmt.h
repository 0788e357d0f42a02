/*
 * verdict: RFC 3339 timestamps for --at and for output.
 */
#ifndef verdict__timefmt_h
#define verdict__timefmt_h

#include <stddef.h>
#include <time.h>

/**
 * Parse "2025-06-01", "2025-06-01T12:00:00Z", "2025-06-01T12:00:00.5+02:00" (fractions are
 * dropped; 't', 'z' and a space for 'T' accepted). Returns 0 and sets *out (UTC), or -1.
 */
int vd_time_parse_rfc3339(const char *s, time_t *out) __attribute__((warn_unused_result));

/**
 * "2025-06-01T12:00:00Z" into `out` (at least 21 bytes); returns `out`. A time outside the
 * years 0000..9999, which RFC 3339 cannot express, gives "invalid".
 */
char *vd_time_format_rfc3339(time_t t, char *out, size_t out_size);

#endif
