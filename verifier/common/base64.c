/*
 * Strict base64 / base64url decoding (see include/verdict/base64.h). Pure.
 */
#include "verdict/base64.h"

size_t vd_base64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

/* Value of `c` in the alphabet chosen so far (*url: -1 unknown, 0 standard, 1 URL-safe). */
static int b64_value(char c, int *url)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    int is_url = c == '-' || c == '_';
    int is_std = c == '+' || c == '/';
    if (!is_url && !is_std) {
        return -1;
    }
    if (*url == -1) {
        *url = is_url;
    } else if (*url != is_url) {
        return -1; /* mixed alphabets */
    }
    return c == '+' || c == '-' ? 62 : 63;
}

int vd_base64_decode(const char *text, size_t len, uint8_t *out, size_t *out_len)
{
    int url = -1;
    size_t pad = 0, n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    *out_len = 0;
    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    /* With padding the total must be a multiple of 4; without, 1 leftover character is never
     * valid. */
    if ((pad > 0 && (len + pad) % 4 != 0) || len % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(text[i], &url);
        if (v < 0) {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return -1; /* non-zero trailing bits: not the canonical encoding */
    }
    *out_len = n;
    return 0;
}
