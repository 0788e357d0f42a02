/*
 * verdict: making untrusted text safe to print or to put in JSON (issue #7, defects 4 and 5).
 *
 * Strings that come from evidence (certificate names inside check details, product names,
 * messages quoting them) may hold invalid UTF-8, control characters or Unicode line and
 * direction controls. Before such a string reaches JSON or a terminal it goes through
 * vd_text_escape: the result is valid UTF-8 without C0/C1 controls, so it can neither break a
 * JSON encoder nor forge a line of output. The escaping is unambiguous (a backslash is doubled).
 */
#ifndef verdict__text_h
#define verdict__text_h

#include <stddef.h>

/* Worst case: every input byte becomes "\xNN" (4 bytes); plus the terminating NUL. */
#define VD_TEXT_ESCAPED_SIZE(n) (4 * (n) + 1)

/**
 * Copy `in` (NUL-terminated; NULL is taken as "") into `out`, escaping:
 *   a byte that is not part of valid UTF-8 and C0 controls and DEL  ->  \xNN
 *   a backslash                                                      ->  \\
 *   C1 controls, U+2028/U+2029 and bidirectional controls           ->  \u{XXXX}
 * Everything else (printable ASCII, valid UTF-8) is copied. The output is truncated at a
 * character boundary, never inside an escape or a UTF-8 sequence. Returns `out`, which always
 * holds a NUL-terminated string when out_size > 0.
 */
char *vd_text_escape(const char *in, char *out, size_t out_size);

/** 1 if `in` would be copied unchanged by vd_text_escape. */
int vd_text_is_clean(const char *in);

#endif
