/*
 * libFuzzer target: the text parsers for operator input. vd_hex_decode (report files, --nonce)
 * on the raw input, into a large and a small buffer, with an encode/decode round trip; and
 * vd_time_parse_rfc3339 (--at) on a NUL-terminated copy, with a format/parse round trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict/bytes.h"
#include "verdict/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hex(const uint8_t *data, size_t size)
{
    size_t cap = size / 2 + 1;
    uint8_t *out = malloc(cap);
    uint8_t small[8];
    size_t n = 0, m = 0;
    if (out == NULL) {
        abort();
    }
    if (vd_hex_decode((const char *)data, size, out, cap, &n) == 0) {
        if (n > size / 2) {
            abort();
        }
        /* Round trip: encoding what was decoded decodes to the same bytes. */
        char *hex = malloc(2 * n + 1);
        uint8_t *again = malloc(n + 1);
        if (hex == NULL || again == NULL) {
            abort();
        }
        vd_hex_encode(out, n, hex, 2 * n + 1);
        if (strlen(hex) != 2 * n || vd_hex_decode(hex, 2 * n, again, n, &m) != 0 || m != n ||
            memcmp(again, out, n) != 0) {
            abort();
        }
        free(again);
        free(hex);
    }
    /* A small output buffer: fails cleanly once the decoded bytes do not fit. */
    if (vd_hex_decode((const char *)data, size, small, sizeof(small), &m) == 0 &&
        m > sizeof(small)) {
        abort();
    }
    free(out);
}

static void fuzz_time(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    time_t t = 0, t2 = 0;
    if (s == NULL) {
        abort();
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (vd_time_parse_rfc3339(s, &t) == 0) {
        char buf[64];
        vd_time_format_rfc3339(t, buf, sizeof(buf));
        /* Years 0000..9999 format as four digits: the output must parse back to `t`. */
        if (t >= (time_t)-62167219200LL && t <= (time_t)253402300799LL) {
            if (vd_time_parse_rfc3339(buf, &t2) != 0 || t2 != t) {
                abort();
            }
        }
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_hex(data, size);
    fuzz_time(data, size);
    return 0;
}
