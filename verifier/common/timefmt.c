/*
 * RFC 3339 parsing and formatting, without locale or timezone state (timegm/gmtime_r).
 */
#include <stdio.h>
#include <string.h>

#include "verdict/timefmt.h"

/* Read exactly `n` digits at *p into *v and advance. */
static int digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return -1;
        }
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c) {
        return -1;
    }
    (*p)++;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : d[month - 1];
}

/* Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int vd_time_parse_rfc3339(const char *s, time_t *out)
{
    int year, mon, day, hh = 0, mm = 0, ss = 0;
    long offset = 0;
    const char *p = s;
    if (digits(&p, 4, &year) || expect(&p, '-') || digits(&p, 2, &mon) || expect(&p, '-') ||
        digits(&p, 2, &day)) {
        return -1;
    }
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon)) {
        return -1;
    }
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ') {
            return -1;
        }
        p++;
        if (digits(&p, 2, &hh) || expect(&p, ':') || digits(&p, 2, &mm) || expect(&p, ':') ||
            digits(&p, 2, &ss)) {
            return -1;
        }
        if (hh > 23 || mm > 59 || ss > 60) {
            return -1;
        }
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9') {
                return -1;
            }
            while (*p >= '0' && *p <= '9') {
                p++;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            int oh, om;
            p++;
            if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 || om > 59) {
                return -1;
            }
            offset = sign * (oh * 3600L + om * 60L);
        } else {
            return -1;
        }
        if (*p != '\0') {
            return -1;
        }
    }
    /* Computed here, not with timegm: its -1 error value is also 1969-12-31T23:59:59Z. */
    *out = (time_t)(days_from_civil(year, mon, day) * 86400 + hh * 3600L + mm * 60L +
                    (ss > 59 ? 59 : ss) - offset);
    return 0;
}

char *vd_time_format_rfc3339(time_t t, char *out, size_t out_size)
{
    struct tm tm;
    /* RFC 3339 years have exactly four digits: 0000..9999. */
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
        snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) >= (int)out_size) {
        snprintf(out, out_size, "invalid");
    }
    return out;
}
