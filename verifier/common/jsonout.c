/*
 * Compact JSON text of a jansson value (include/verdict/jsonout.h): one pass over the tree into
 * a growing buffer; what is not plain (escaped strings, reals) is handed to jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/jsonout.h"

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

static int plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

static void put_string(buf_t *b, const char *s, size_t n, const json_t *as_value)
{
    if (plain(s, n)) {
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
    char num[32];
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
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(b, num, strlen(num));
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
