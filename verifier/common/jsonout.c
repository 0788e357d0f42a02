/*
 * Compact JSON text of a jansson value (include/verdict/jsonout.h): one pass over the tree into
 * a growing buffer; what is not plain (escaped strings, reals) is handed to jansson.
 */
#include <stdlib.h>
#include <string.h>

#include "verdict/jsonout.h"
#include "json_internal.h"

/* Deeper than anything verdict builds; a cycle would be infinitely deep (jansson: NULL). */
#define DEPTH_MAX 512

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 1;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_c(buf_t *b, char c)
{
    put(b, &c, 1);
}

/* jansson's own text for a scalar it must encode (JSON_ENCODE_ANY: no object around it). */
static void put_jansson(buf_t *b, const json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (t == NULL) {
        b->failed = 1;
        return;
    }
    put(b, t, strlen(t));
    free(t);
}

static void put_string(buf_t *b, const char *s, size_t n, const json_t *as_value)
{
    if (vd_json__plain_prefix(s, n) == n) {
        put_c(b, '"');
        put(b, s, n);
        put_c(b, '"');
        return;
    }
    if (as_value != NULL) {
        put_jansson(b, as_value);
        return;
    }
    json_t *tmp = json_stringn_nocheck(s, n); /* a key: jansson checks it as it encodes it */
    if (tmp == NULL) {
        b->failed = 1;
        return;
    }
    put_jansson(b, tmp);
    json_decref(tmp);
}

/* An integer in decimal, as "%" JSON_INTEGER_FORMAT prints it (about 40 a result; snprintf
 * cost ten times this). */
static void put_int(buf_t *b, json_int_t v)
{
    char num[24];
    size_t i = sizeof(num);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        num[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        num[--i] = '-';
    }
    put(b, num + i, sizeof(num) - i);
}

/* jansson's iterators take a mutable object but only read it. */
static json_t *readonly(const json_t *v)
{
    union {
        const json_t *c;
        json_t *m;
    } u = {.c = v};
    return u.m;
}

static void put_value(buf_t *b, const json_t *v, int depth)
{
    if (depth > DEPTH_MAX) {
        b->failed = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_c(b, '{');
        for (void *it = json_object_iter(readonly(v)); it != NULL;
             it = json_object_iter_next(readonly(v), it)) {
            if (it != json_object_iter(readonly(v))) {
                put_c(b, ',');
            }
            put_string(b, json_object_iter_key(it), json_object_iter_key_len(it), NULL);
            put_c(b, ':');
            put_value(b, json_object_iter_value(it), depth + 1);
        }
        put_c(b, '}');
        break;
    case JSON_ARRAY:
        put_c(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                put_c(b, ',');
            }
            put_value(b, json_array_get(v, i), depth + 1);
        }
        put_c(b, ']');
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v), v);
        break;
    case JSON_INTEGER:
        put_int(b, json_integer_value(v));
        break;
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
        break;
    default: /* JSON_REAL */
        put_jansson(b, v);
        break;
    }
}

char *vd_json_dumps(const json_t *v)
{
    if (!json_is_object(v) && !json_is_array(v)) {
        return NULL;
    }
    buf_t b = {.p = malloc(4096), .cap = 4096};
    if (b.p == NULL) {
        return NULL;
    }
    put_value(&b, v, 0);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    return b.p;
}
