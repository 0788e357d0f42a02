/*
 * verdict: compact JSON text of a jansson value, the bytes json_dumps(v, JSON_COMPACT) gives, in
 * a fraction of its time (issue #9: the answer and the EAR token are encoded on every request;
 * jansson's encoder examines each character through a callback, about 90 instructions a byte).
 *
 * Objects keep their insertion order, as jansson does since 2.8 (JSON_PRESERVE_ORDER is a no-op).
 * Strings of printable ASCII without '"' and '\\' (hex, base64, tokens, names) are copied; any
 * other string, and every real number, is encoded by jansson itself, so escapes, UTF-8 checks
 * and number formatting are exactly jansson's.
 */
#ifndef verdict__jsonout_h
#define verdict__jsonout_h

#include <jansson.h>

/**
 * The compact JSON text of `v` (an object or an array; anything else gives NULL, as
 * json_dumps without JSON_ENCODE_ANY does), malloc'd, NUL-terminated; free() it. NULL when out
 * of memory or when jansson would refuse the value (invalid UTF-8, a cycle).
 */
char *vd_json_dumps(const json_t *v);

#endif
