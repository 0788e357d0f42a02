/*
 * verdict: explicit little-endian decoding and hex helpers for wire bytes.
 *
 * Wire structures are never cast over buffers (STYLE.md R7): every field is read with these
 * helpers at an offset the caller has already bounds-checked.
 */
#ifndef verdict__bytes_h
#define verdict__bytes_h

#include <stddef.h>
#include <stdint.h>

static inline uint32_t vd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vd_le64(const uint8_t *p)
{
    return (uint64_t)vd_le32(p) | (uint64_t)vd_le32(p + 4) << 32;
}

static inline void vd_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void vd_put_le64(uint8_t *p, uint64_t v)
{
    vd_put_le32(p, (uint32_t)v);
    vd_put_le32(p + 4, (uint32_t)(v >> 32));
}

/** 1 if the `len` bytes at `p` are all zero, else 0. */
int vd_all_zero(const uint8_t *p, size_t len);

/**
 * Lower-case hex of `len` bytes into `out` (NUL-terminated); `out_size` must be at least
 * 2 * len + 1, otherwise the output is truncated at a byte boundary. Returns `out`.
 */
char *vd_hex_encode(const uint8_t *p, size_t len, char *out, size_t out_size);

/**
 * Decode hex text into bytes. ASCII white space anywhere is skipped; any other non-hex
 * character, an odd digit count or more than `out_size` bytes fails.
 * @return 0 on success with *out_len set, -1 on failure.
 */
int vd_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_size, size_t *out_len)
    __attribute__((warn_unused_result));

#endif
