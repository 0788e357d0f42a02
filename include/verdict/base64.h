/*
 * verdict: base64 decoding as the API and evidence envelopes need it: the standard and the
 * URL-safe alphabet (not mixed), padded or not (DESIGN.md, POST /v1/attest). Strict: no white
 * space, no characters after padding, no non-zero trailing bits. Encoding in the three forms
 * verdict emits (vd_b64_form_t).
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
int vd_base64_decode(const char *text, size_t len, uint8_t *out, size_t *out_len);

/* Encodings for vd_base64_encode: the alphabet and whether to pad with '='. */
typedef enum vd_b64_form {
    VD_B64_STD_PAD = 0, /* RFC 4648 section 4 (Go's []byte in JSON, Veraison's API fields) */
    VD_B64_URL_NOPAD,   /* RFC 4648 section 5, no padding (JWS segments, JWK members) */
    VD_B64_URL_PAD,     /* RFC 4648 section 5, padded (Veraison's eat_nonce) */
} vd_b64_form_t;

/** Characters vd_base64_encode writes for `len` bytes, without the NUL. */
size_t vd_base64_encoded_len(size_t len, vd_b64_form_t form);

/**
 * Encode `len` bytes of `p` into `out` (NUL-terminated). Returns the number of characters, or
 * (size_t)-1 when `out_size` is smaller than vd_base64_encoded_len(len, form) + 1.
 */
size_t vd_base64_encode(const uint8_t *p, size_t len, vd_b64_form_t form, char *out,
                        size_t out_size);

#endif
