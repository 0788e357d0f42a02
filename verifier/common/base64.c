/*
 * Strict base64 / base64url decoding, and encoding in the three forms verdict emits (see
 * include/verdict/base64.h). Pure.
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

/* 1 + the value of each letter and digit (the characters both alphabets share), 0 for any
 * other byte. */
static const uint8_t alnum[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x20 */
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0,  0,  0,  0,  0,  0,  /* 0x30: 0-9 */
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, /* 0x40: A-O */
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0,  0,  0,  0,  0,  /* 0x50: P-Z */
    0,  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, /* 0x60: a-o */
    42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 0,  0,  0,  0,  0,  /* 0x70: p-z */
};

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
        if (bits == 0 && len - i >= 4) {
            /* At a group boundary: four letters and digits (nearly all of a report's base64)
             * are three bytes, by table; a group with a symbol goes one character at a time. */
            const unsigned char *g = (const unsigned char *)text + i;
            uint32_t a = alnum[g[0]], b = alnum[g[1]], c = alnum[g[2]], d = alnum[g[3]];
            if (a != 0 && b != 0 && c != 0 && d != 0) {
                uint32_t w = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
                out[n++] = (uint8_t)(w >> 16);
                out[n++] = (uint8_t)(w >> 8);
                out[n++] = (uint8_t)w;
                i += 3;
                continue;
            }
        }
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

size_t vd_base64_encoded_len(size_t len, vd_b64_form_t form)
{
    if (form == VD_B64_URL_NOPAD) {
        return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
    }
    return (len + 2) / 3 * 4;
}

size_t vd_base64_encode(const uint8_t *p, size_t len, vd_b64_form_t form, char *out,
                        size_t out_size)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *a = form == VD_B64_STD_PAD ? std : url;
    size_t need = vd_base64_encoded_len(len, form);
    size_t n = 0;
    if (len > (SIZE_MAX - 4) / 4 * 3 || out_size <= need) {
        return (size_t)-1;
    }
    for (size_t i = 0; i < len; i += 3) {
        size_t left = len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (left > 2) {
            v |= p[i + 2];
        }
        out[n++] = a[v >> 18 & 63];
        out[n++] = a[v >> 12 & 63];
        if (left > 1) {
            out[n++] = a[v >> 6 & 63];
        } else if (form != VD_B64_URL_NOPAD) {
            out[n++] = '=';
        }
        if (left > 2) {
            out[n++] = a[v & 63];
        } else if (form != VD_B64_URL_NOPAD) {
            out[n++] = '=';
        }
    }
    out[n] = '\0';
    return n;
}
