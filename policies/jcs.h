/*
 * RFC 8785 JSON Canonicalization Scheme for the JSON that REPORT_DATA bindings hash (Trustee's
 * runtime data). Internal to policies/.
 */
#ifndef verdict__jcs_h
#define verdict__jcs_h

#include <stddef.h>

#include <jansson.h>

#define VD_JCS_MAX_OUTPUT (1024 * 1024)
#define VD_JCS_MAX_DEPTH  32

/**
 * Canonical form of `j` into a malloc'd NUL-terminated string (caller frees), length in *len.
 * Members sorted by their names' UTF-16 code units, no white space, strings escaped as RFC 8785
 * says (\b \t \n \f \r, other controls as lower-case \u00xx, everything else literal UTF-8).
 * Numbers: integers of magnitude up to 2^53 only; a fraction, an exponent or a larger integer
 * (whose ECMAScript form would be rounded) is refused. Returns NULL with `why` set on refusal.
 */
char *vd_jcs_serialize(const json_t *j, size_t *len, const char **why);

#endif
