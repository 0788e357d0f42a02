/*
 * Byte helpers: zero tests and hex coding (see include/verdict/bytes.h). Pure, no I/O.
 */
#include "verdict/bytes.h"

int vd_all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

char *vd_hex_encode(const uint8_t *p, size_t len, char *out, size_t out_size)
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    if (out_size == 0) {
        return out;
    }
    for (size_t i = 0; i < len && o + 2 < out_size; i++) {
        out[o++] = digits[p[i] >> 4];
        out[o++] = digits[p[i] & 0x0f];
    }
    out[o] = '\0';
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int vd_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_size, size_t *out_len)
{
    size_t n = 0;
    int hi = -1;
    *out_len = 0;
    for (size_t i = 0; i < text_len; i++) {
        if (is_space(text[i])) {
            continue;
        }
        int v = hex_value(text[i]);
        if (v < 0) {
            return -1;
        }
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= out_size) {
            return -1;
        }
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0) {
        return -1;
    }
    *out_len = n;
    return 0;
}
