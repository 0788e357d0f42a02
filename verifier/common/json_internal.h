/*
 * Shared by the JSON reader and writer (jsonin.c, jsonout.c): the bytes a JSON string holds as
 * they are, printable ASCII other than '"' and '\\' (both sides hand everything else to jansson
 * or unescape it), found 8 at a time: request bodies and answers are kilobytes of base64.
 */
#ifndef verdict__json_internal_h
#define verdict__json_internal_h

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The bytes of `w` that are not plain (below 0x20, 0x7f or above, '"', '\\') as the top bit of
 * each. A carry or borrow can mark a byte after a marked one, never before: the lowest marked
 * byte is always one of them, and no mark means none. */
static inline uint64_t vd_json__special_bytes(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t below = (w - ones * 0x20) & ~w;
    uint64_t high = w | (w + ones); /* 0x80 and above, or 0x7f */
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    uint64_t quote = (q - ones) & ~q, backslash = (bs - ones) & ~bs;
    return (below | high | quote | backslash) & highs;
}

static inline int vd_json__plain_byte(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/* How many of the `n` bytes at `s` are plain before the first that is not (`n` if all are). */
static inline size_t vd_json__plain_prefix(const char *s, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, sizeof(w));
        uint64_t m = vd_json__special_bytes(w);
        if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)__builtin_ctzll(m) / 8;
#else
            break; /* the byte loop finds it */
#endif
        }
    }
    while (i < n && vd_json__plain_byte((unsigned char)s[i])) {
        i++;
    }
    return i;
}

#endif
