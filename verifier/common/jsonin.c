/*
 * Request bodies as jansson values (include/verdict/jsonin.h). Trust boundary: the bytes come
 * from the client. The fast path accepts a strict subset of JSON (objects, arrays, strings of
 * printable ASCII with the two-character escapes) and gives up on anything else, including
 * anything malformed; jansson then parses the whole body, so every error and every value outside
 * the subset is exactly jansson's.
 */
#include <stdlib.h>
#include <string.h>

#include "verdict/jsonin.h"
#include "json_internal.h"

/* Far below jansson's 2048; deeper bodies are jansson's. */
#define DEPTH_MAX 64

typedef struct {
    const char *p, *end;
    /* Where an escaped string is unescaped; reused for every string of the body (jansson copies
     * what it keeps), freed by vd_json_loadb. */
    char *tmp;
    size_t tmp_cap;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) {
        s->p++;
    }
}

/* Takes the byte `c` when it is next (1), else leaves the input as it is (0). */
static int eat(scan_t *s, char c)
{
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static char unescape(char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '/':
        return '/';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0; /* \u and anything else: not in the subset */
    }
}

/*
 * A string at s->p (the opening quote): its text in *out (into the input when it has no escape,
 * else into s->tmp, valid until the next string), its length in *len; -1 if it is outside the
 * subset. The 8 KB an attestation body holds (base64, PEM) are read a word at a time.
 */
static int scan_string(scan_t *s, const char **out, size_t *len)
{
    const char *q = ++s->p;
    size_t escapes = 0;
    for (;;) {
        q += vd_json__plain_prefix(q, (size_t)(s->end - q));
        if (q >= s->end) {
            return -1;
        }
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            break;
        }
        if (c < 0x20 || c > 0x7e) {
            return -1;
        }
        if (c == '\\') {
            if (q + 1 >= s->end || unescape(q[1]) == 0) {
                return -1;
            }
            escapes++;
            q += 2;
            continue;
        }
        q++;
    }
    size_t n = (size_t)(q - s->p) - escapes;
    if (escapes == 0) {
        *out = s->p;
    } else {
        if (s->tmp == NULL || s->tmp_cap < n) {
            char *t = realloc(s->tmp, n);
            if (t == NULL) {
                return -1;
            }
            s->tmp = t;
            s->tmp_cap = n;
        }
        char *t = s->tmp;
        for (const char *r = s->p; r < q;) {
            const char *bs = memchr(r, '\\', (size_t)(q - r));
            size_t run = (size_t)((bs != NULL ? bs : q) - r);
            memcpy(t, r, run);
            t += run;
            r += run;
            if (bs != NULL) {
                *t++ = unescape(bs[1]);
                r += 2;
            }
        }
        *out = s->tmp;
    }
    *len = n;
    s->p = q + 1;
    return 0;
}

static json_t *scan_value(scan_t *s, int depth);

static json_t *scan_object(scan_t *s, int depth)
{
    json_t *o = json_object();
    s->p++;
    skip_ws(s);
    if (eat(s, '}')) {
        return o;
    }
    while (o != NULL) {
        const char *key = NULL;
        char *copy = NULL;
        size_t klen = 0;
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"' || scan_string(s, &key, &klen) != 0) {
            break;
        }
        if (s->tmp != NULL && key == s->tmp) { /* escaped: the value's strings would overwrite it */
            copy = malloc(klen + 1);
            if (copy == NULL) {
                break;
            }
            memcpy(copy, key, klen);
            key = copy;
        }
        skip_ws(s);
        json_t *v = NULL;
        if (eat(s, ':')) {
            v = scan_value(s, depth + 1);
        }
        /* A duplicate is jansson's to refuse (JSON_REJECT_DUPLICATES). set_new takes `v`,
         * also when it fails. */
        int ok = 0;
        if (v != NULL && json_object_getn(o, key, klen) != NULL) {
            json_decref(v);
        } else if (v != NULL) {
            ok = json_object_setn_new_nocheck(o, key, klen, v) == 0;
        }
        free(copy);
        if (!ok) {
            break;
        }
        skip_ws(s);
        if (eat(s, ',')) {
            continue;
        }
        if (eat(s, '}')) {
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *scan_array(scan_t *s, int depth)
{
    json_t *a = json_array();
    s->p++;
    skip_ws(s);
    if (eat(s, ']')) {
        return a;
    }
    while (a != NULL) {
        json_t *v = scan_value(s, depth + 1);
        if (v == NULL || json_array_append_new(a, v) != 0) {
            break;
        }
        skip_ws(s);
        if (eat(s, ',')) {
            continue;
        }
        if (eat(s, ']')) {
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

static json_t *scan_value(scan_t *s, int depth)
{
    skip_ws(s);
    if (depth > DEPTH_MAX || s->p >= s->end) {
        return NULL;
    }
    if (*s->p == '{') {
        return scan_object(s, depth);
    }
    if (*s->p == '[') {
        return scan_array(s, depth);
    }
    if (*s->p == '"') {
        const char *t = NULL;
        size_t n = 0;
        if (scan_string(s, &t, &n) != 0) {
            return NULL;
        }
        return json_stringn_nocheck(t, n); /* printable ASCII: valid UTF-8; jansson copies it */
    }
    return NULL; /* numbers, true, false, null: jansson's */
}

json_t *vd_json_loadb(const char *buf, size_t len, json_error_t *error)
{
    scan_t s = {buf, buf + len, NULL, 0};
    skip_ws(&s);
    if (s.p < s.end && (*s.p == '{' || *s.p == '[')) {
        json_t *v = scan_value(&s, 0);
        skip_ws(&s);
        free(s.tmp);
        if (v != NULL && s.p == s.end) {
            return v;
        }
        json_decref(v);
    }
    return json_loadb(buf, len, JSON_REJECT_DUPLICATES, error);
}
