/*
 * verdict: base64 decoding as the API and evidence envelopes need it: the standard and the
 * URL-safe alphabet (not mixed), padded or not (DESIGN.md, POST /v1/attest). Strict: no white
 * space, no characters after padding, no non-zero trailing bits.
 */
#ifndef verdict__base64_h
#define verdict__base64_h

#include <stddef.h>
#include <stdint.h>

/** Bytes needed to decode `len` characters (an upper bound). */
size_t vd_base64_decoded_max(size_t len);

/**
 * Decode `len` characters of `text` into `out` (at least vd_base64_decoded_max(len) bytes).
 * Returns 0 with *out_len set, or -1 (invalid character, mixed alphabets, bad padding or
 * length, non-canonical trailing bits).
 */
int vd_base64_decode(const char *text, size_t len, uint8_t *out, size_t *out_len)
    __attribute__((warn_unused_result));

#endif
