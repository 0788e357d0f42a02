/*
 * Escaping untrusted text for output (see include/verdict/text.h). Pure, no allocation.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "verdict/text.h"

/* Length of the valid UTF-8 sequence at p (1..4) and its code point, or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1fu;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0fu;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) { /* also stops at the NUL terminator */
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return n;
}

/* Code points that would move the cursor or reorder what a reader sees. */
static int is_format_control(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x061c;
}

char *vd_text_escape(const char *in, char *out, size_t out_size)
{
    const unsigned char *p = (const unsigned char *)(in != NULL ? in : "");
    size_t o = 0;
    if (out_size == 0) {
        return out;
    }
    while (*p != '\0') {
        char tmp[16];
        const char *piece = tmp;
        size_t plen, adv;
        uint32_t cp = 0;
        size_t n = utf8_seq(p, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02X", p[0]);
            plen = 4;
            adv = 1;
        } else if (cp == '\\') {
            piece = "\\\\";
            plen = 2;
            adv = 1;
        } else if (is_format_control(cp)) {
            plen = (size_t)snprintf(tmp, sizeof(tmp), "\\u{%04X}", (unsigned)cp);
            adv = n;
        } else {
            piece = (const char *)p;
            plen = n;
            adv = n;
        }
        if (o + plen >= out_size) {
            break; /* truncate at a character boundary */
        }
        memcpy(out + o, piece, plen);
        o += plen;
        p += adv;
    }
    out[o] = '\0';
    return out;
}

int vd_text_is_clean(const char *in)
{
    const unsigned char *p = (const unsigned char *)(in != NULL ? in : "");
    while (*p != '\0') {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            p++; /* printable ASCII, the common case: what the rules below say of it */
            continue;
        }
        uint32_t cp = 0;
        size_t n = utf8_seq(p, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f || cp == '\\' || is_format_control(cp)) {
            return 0;
        }
        p += n;
    }
    return 1;
}
