/*
 * verdict: jansson objects built without a format string. json_pack("{s:o, ...}") parses its
 * format on every call; the answer and the result's TCB objects are built on every request
 * (issue #9).
 */
#ifndef verdict__jsonbuild_h
#define verdict__jsonbuild_h

#include <stddef.h>

#include <jansson.h>

/**
 * An object of the `n` members names[i]: values[i], in this order (what
 * json_pack("{s:o, ...}") makes). Takes every value, also on failure; NULL when one of them is
 * NULL or out of memory. Names are not checked for UTF-8: pass literals.
 */
json_t *vd_json_object_of(const char *const *names, json_t **values, size_t n);

#endif
