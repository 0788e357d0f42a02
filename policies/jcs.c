/*
 * RFC 8785 (JCS) serialisation over a jansson tree; see jcs.h for the subset supported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"

typedef struct out {
    char *p;
    size_t len, cap;
    const char *why;
} out_t;

static int put(out_t *o, const char *s, size_t n)
{
    if (o->why != NULL) {
        return -1;
    }
    if (n > VD_JCS_MAX_OUTPUT - o->len) {
        o->why = "canonical form larger than 1 MiB";
        return -1;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->why = "out of memory";
            return -1;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
    return 0;
}

static int put_string(out_t *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *e = NULL;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\r':
            e = "\\r";
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                e = esc;
            }
            break;
        }
        if (e != NULL) {
            put(o, e, strlen(e));
        } else {
            put(o, (const char *)&s[i], 1);
        }
    }
    return put(o, "\"", 1);
}

/* Next UTF-16 code unit of a UTF-8 string (jansson guarantees valid UTF-8). */
typedef struct u16it {
    const unsigned char *p, *end;
    unsigned pending; /* low surrogate still to return, or 0 */
} u16it_t;

static int u16_next(u16it_t *it, unsigned *unit)
{
    if (it->pending) {
        *unit = it->pending;
        it->pending = 0;
        return 1;
    }
    if (it->p >= it->end) {
        return 0;
    }
    unsigned c = *it->p++;
    unsigned cp = c;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra) {
        cp = c & (0x3Fu >> extra);
    }
    for (int k = 0; k < extra && it->p < it->end; k++) {
        cp = cp << 6 | (*it->p++ & 0x3Fu);
    }
    if (cp >= 0x10000) {
        cp -= 0x10000;
        *unit = 0xD800 + (cp >> 10);
        it->pending = 0xDC00 + (cp & 0x3FF);
        return 1;
    }
    *unit = cp;
    return 1;
}

static int utf16_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    u16it_t ix = {(const unsigned char *)x, (const unsigned char *)x + strlen(x), 0};
    u16it_t iy = {(const unsigned char *)y, (const unsigned char *)y + strlen(y), 0};
    for (;;) {
        unsigned ux = 0, uy = 0;
        int hx = u16_next(&ix, &ux), hy = u16_next(&iy, &uy);
        if (!hx || !hy) {
            return hx - hy;
        }
        if (ux != uy) {
            return ux < uy ? -1 : 1;
        }
    }
}

static int emit(out_t *o, const json_t *j, int depth)
{
    char num[32];
    if (depth > VD_JCS_MAX_DEPTH) {
        o->why = "nested deeper than 32 levels";
        return -1;
    }
    switch (json_typeof(j)) {
    case JSON_NULL:
        return put(o, "null", 4);
    case JSON_TRUE:
        return put(o, "true", 4);
    case JSON_FALSE:
        return put(o, "false", 5);
    case JSON_REAL:
        o->why = "non-integer numbers are not canonicalised (RFC 8785 number form)";
        return -1;
    case JSON_INTEGER: {
        json_int_t v = json_integer_value(j);
        if (v > (json_int_t)9007199254740992LL || v < -(json_int_t)9007199254740992LL) {
            o->why = "integers beyond 2^53 would be rounded by RFC 8785 (ECMAScript numbers)";
            return -1;
        }
        snprintf(num, sizeof(num), "%lld", (long long)v);
        return put(o, num, strlen(num));
    }
    case JSON_STRING:
        return put_string(o, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        put(o, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if ((i > 0 && put(o, ",", 1) != 0) || emit(o, json_array_get(j, i), depth + 1) != 0) {
                return -1;
            }
        }
        return put(o, "]", 1);
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j), k = 0;
        const char **keys = n ? calloc(n, sizeof(*keys)) : NULL;
        const char *key;
        json_t *val;
        if (n && keys == NULL) {
            o->why = "out of memory";
            return -1;
        }
        json_object_foreach((json_t *)(uintptr_t)j, key, val)
        {
            if (k < n) { /* the object cannot grow while we hold it; never trust that blindly */
                keys[k++] = key;
            }
        }
        if (k > 1) {
            qsort(keys, k, sizeof(*keys), utf16_cmp);
        }
        int rc = put(o, "{", 1);
        for (size_t i = 0; rc == 0 && i < k; i++) {
            rc = (i > 0 ? put(o, ",", 1) : 0) || put_string(o, keys[i], strlen(keys[i])) ||
                 put(o, ":", 1) || emit(o, json_object_get(j, keys[i]), depth + 1);
        }
        free(keys);
        return rc == 0 ? put(o, "}", 1) : -1;
    }
    }
    o->why = "unknown JSON type";
    return -1;
}

char *vd_jcs_serialize(const json_t *j, size_t *len, const char **why)
{
    out_t o = {0};
    *len = 0;
    *why = NULL;
    if (emit(&o, j, 0) != 0 || o.why != NULL) {
        *why = o.why != NULL ? o.why : "cannot serialise";
        free(o.p);
        return NULL;
    }
    if (o.p == NULL) {
        *why = "empty";
        return NULL;
    }
    *len = o.len;
    return o.p;
}
