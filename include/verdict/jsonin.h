/*
 * verdict: request bodies as jansson values, the tree json_loadb(buf, len, JSON_REJECT_DUPLICATES)
 * gives, in a fraction of its time (issue #9: an 8 KB /v1/attest body cost jansson about 140
 * instructions a byte, a tenth of a warm appraisal).
 *
 * Bodies made only of objects, arrays and strings of printable ASCII with the two-character
 * escapes (what relying parties send: base64, PEM with \n) are read in one pass. Anything else
 * (numbers, true/false/null, \u escapes, other bytes, duplicate keys, deep nesting, any error)
 * is parsed by jansson from the start, so its values and its error messages are jansson's.
 */
#ifndef verdict__jsonin_h
#define verdict__jsonin_h

#include <stddef.h>

#include <jansson.h>

/** The JSON text `buf` (`len` bytes) as a new reference; NULL with `error` filled as
 *  json_loadb(buf, len, JSON_REJECT_DUPLICATES, error) fills it. */
json_t *vd_json_loadb(const char *buf, size_t len, json_error_t *error);

#endif
