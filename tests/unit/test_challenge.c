/*
 * Challenge nonces (verifier/ear/challenge.c): ok, forged, expired, reused, malformed, busy;
 * replicas sharing a secret; concurrent redemption from threads; the secret file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "verdict/base64.h"
#include "verdict/challenge.h"

#define NOW 1767225600

static const uint8_t secret_a[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t secret_b[32] = "fedcba9876543210fedcba9876543210";

static vd_challenger_t *make(const uint8_t *secret, size_t cap)
{
    vd_challenger_t *c = NULL;
    vd_challenge_config_t cfg = {.secret = secret, .secret_len = 32, .capacity = cap};
    assert_int_equal(vd_challenger_new(&cfg, &c, NULL), VD_OK);
    return c;
}

static vd_challenge_status_t redeem(vd_challenger_t *c, const char *b64, int64_t now)
{
    return vd_challenge_redeem(c, b64, strlen(b64), now, NULL, NULL);
}

static void test_challenge_issue_and_redeem_once(void **state)
{
    (void)state;
    vd_challenger_t *c = make(secret_a, 0);
    vd_challenge_t ch;
    uint8_t raw[VD_CHALLENGE_LEN], dec[80];
    size_t n = 0;
    int64_t exp = 0;
    assert_int_equal(vd_challenge_issue(c, NOW, &ch, NULL), VD_OK);
    assert_int_equal(strlen(ch.b64), VD_CHALLENGE_B64_LEN);
    assert_int_equal(ch.expires_at, NOW + VD_CHALLENGE_DEFAULT_TTL);
    assert_int_equal(ch.b64[87], '=');
    assert_int_equal(vd_base64_decode(ch.b64, strlen(ch.b64), dec, &n), 0);
    assert_int_equal(n, VD_CHALLENGE_LEN);
    assert_memory_equal(dec, ch.raw, n);
    assert_int_equal(ch.raw[0], 1);
    assert_int_equal(vd_challenge_redeem(c, ch.b64, strlen(ch.b64), NOW + 1, raw, &exp),
                     VD_CHALLENGE_OK);
    assert_memory_equal(raw, ch.raw, VD_CHALLENGE_LEN);
    assert_int_equal(exp, ch.expires_at);
    assert_int_equal(redeem(c, ch.b64, NOW + 2), VD_CHALLENGE_REUSED);
    assert_int_equal(vd_challenge_remembered(c), 1);

    /* The same bytes in another base64 form are the same nonce. */
    vd_challenge_t ch2;
    char url[100];
    assert_int_equal(vd_challenge_issue(c, NOW, &ch2, NULL), VD_OK);
    assert_int_not_equal(memcmp(ch2.raw, ch.raw, VD_CHALLENGE_LEN), 0);
    vd_base64_encode(ch2.raw, VD_CHALLENGE_LEN, VD_B64_URL_NOPAD, url, sizeof url);
    assert_int_equal(redeem(c, url, NOW), VD_CHALLENGE_OK);
    assert_int_equal(redeem(c, ch2.b64, NOW), VD_CHALLENGE_REUSED);
    vd_challenger_free(&c);
    assert_null(c);
}

static void test_challenge_forged(void **state)
{
    (void)state;
    vd_challenger_t *a = make(secret_a, 0), *b = make(secret_b, 0);
    vd_challenge_t ch;
    char text[100];
    assert_int_equal(vd_challenge_issue(a, NOW, &ch, NULL), VD_OK);
    /* Another secret did not issue it. */
    assert_int_equal(redeem(b, ch.b64, NOW), VD_CHALLENGE_FORGED);
    /* Any changed byte: random part, expiry (pushed later), MAC. */
    static const size_t at[] = {5, 8, 10, 31, 32, 63};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        uint8_t raw[VD_CHALLENGE_LEN];
        memcpy(raw, ch.raw, sizeof raw);
        raw[at[i]] ^= 0x40;
        vd_base64_encode(raw, sizeof raw, VD_B64_STD_PAD, text, sizeof text);
        assert_int_equal(redeem(a, text, NOW), VD_CHALLENGE_FORGED);
    }
    /* Forged attempts are not remembered, and the genuine one still works once. */
    assert_int_equal(vd_challenge_remembered(a), 0);
    assert_int_equal(redeem(a, ch.b64, NOW), VD_CHALLENGE_OK);
    vd_challenger_free(&a);
    vd_challenger_free(&b);
}

static void test_challenge_expired(void **state)
{
    (void)state;
    vd_challenge_config_t cfg = {.secret = secret_a, .secret_len = 32, .ttl = 60};
    vd_challenger_t *c = NULL;
    vd_challenge_t ch;
    assert_int_equal(vd_challenger_new(&cfg, &c, NULL), VD_OK);
    assert_int_equal(vd_challenge_issue(c, NOW, &ch, NULL), VD_OK);
    assert_int_equal(ch.expires_at, NOW + 60);
    assert_int_equal(redeem(c, ch.b64, NOW + 60), VD_CHALLENGE_EXPIRED);
    assert_int_equal(redeem(c, ch.b64, NOW + 6000), VD_CHALLENGE_EXPIRED);
    assert_int_equal(redeem(c, ch.b64, NOW + 59), VD_CHALLENGE_OK);
    vd_challenger_free(&c);
}

static void test_challenge_malformed(void **state)
{
    (void)state;
    vd_challenger_t *c = make(secret_a, 0);
    vd_challenge_t ch;
    char text[200];
    assert_int_equal(vd_challenge_issue(c, NOW, &ch, NULL), VD_OK);
    static const char *const bad[] = {"", "AAAA", "not base64!", "===="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(redeem(c, bad[i], NOW), VD_CHALLENGE_MALFORMED);
    }
    /* 63 or 65 bytes, version 2, trailing garbage, too long text. */
    vd_base64_encode(ch.raw, 63, VD_B64_STD_PAD, text, sizeof text);
    assert_int_equal(redeem(c, text, NOW), VD_CHALLENGE_MALFORMED);
    uint8_t raw[65];
    memcpy(raw, ch.raw, 64);
    raw[64] = 0;
    vd_base64_encode(raw, 65, VD_B64_STD_PAD, text, sizeof text);
    assert_int_equal(redeem(c, text, NOW), VD_CHALLENGE_MALFORMED);
    raw[0] = 2;
    vd_base64_encode(raw, 64, VD_B64_STD_PAD, text, sizeof text);
    assert_int_equal(redeem(c, text, NOW), VD_CHALLENGE_MALFORMED);
    snprintf(text, sizeof text, "%s ", ch.b64);
    assert_int_equal(redeem(c, text, NOW), VD_CHALLENGE_MALFORMED);
    assert_int_equal(vd_challenge_redeem(c, NULL, 0, NOW, NULL, NULL), VD_CHALLENGE_MALFORMED);
    assert_int_equal(redeem(c, ch.b64, NOW), VD_CHALLENGE_OK);
    vd_challenger_free(&c);
}

static void test_challenge_full_table_refuses_rather_than_forgets(void **state)
{
    (void)state;
    vd_challenger_t *c = make(secret_a, 4);
    vd_challenge_t ch[4], late;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vd_challenge_issue(c, NOW, &ch[i], NULL), VD_OK);
        assert_int_equal(redeem(c, ch[i].b64, NOW), VD_CHALLENGE_OK);
    }
    assert_int_equal(vd_challenge_issue(c, NOW + 200, &late, NULL), VD_OK);
    assert_int_equal(redeem(c, late.b64, NOW + 200), VD_CHALLENGE_BUSY);
    /* The remembered ones are still refused... */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(redeem(c, ch[i].b64, NOW + 250), VD_CHALLENGE_REUSED);
    }
    /* ...and once they have expired they make room; the refused nonce was not consumed. */
    assert_int_equal(redeem(c, late.b64, NOW + VD_CHALLENGE_DEFAULT_TTL + 1), VD_CHALLENGE_OK);
    assert_int_equal(vd_challenge_remembered(c), 1);
    assert_int_equal(redeem(c, late.b64, NOW + VD_CHALLENGE_DEFAULT_TTL + 2), VD_CHALLENGE_REUSED);
    vd_challenger_free(&c);
}

static void test_challenge_replicas_share_a_secret(void **state)
{
    (void)state;
    vd_challenger_t *a = make(secret_a, 0), *a2 = make(secret_a, 0);
    vd_challenge_t ch;
    assert_int_equal(vd_challenge_issue(a, NOW, &ch, NULL), VD_OK);
    assert_int_equal(redeem(a2, ch.b64, NOW + 1), VD_CHALLENGE_OK);
    /* Single use is per process: the issuing replica has not seen it redeemed. */
    assert_int_equal(redeem(a2, ch.b64, NOW + 1), VD_CHALLENGE_REUSED);
    vd_challenger_free(&a);
    vd_challenger_free(&a2);
}

#define THREADS 4
#define NONCES  200

typedef struct job {
    vd_challenger_t *c;
    vd_challenge_t *ch;
    int ok, reused, other;
} job_t;

static void *worker(void *arg)
{
    job_t *j = arg;
    for (int i = 0; i < NONCES; i++) {
        vd_challenge_status_t s = redeem(j->c, j->ch[i].b64, NOW);
        if (s == VD_CHALLENGE_OK) {
            j->ok++;
        } else if (s == VD_CHALLENGE_REUSED) {
            j->reused++;
        } else {
            j->other++;
        }
    }
    return NULL;
}

static void test_challenge_concurrent_single_use(void **state)
{
    (void)state;
    vd_challenger_t *c = make(secret_a, 0);
    vd_challenge_t *ch = calloc(NONCES, sizeof *ch);
    for (int i = 0; i < NONCES; i++) {
        assert_int_equal(vd_challenge_issue(c, NOW, &ch[i], NULL), VD_OK);
    }
    pthread_t th[THREADS];
    job_t jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job_t){.c = c, .ch = ch};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    int ok = 0, reused = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += jobs[i].ok;
        reused += jobs[i].reused;
        assert_int_equal(jobs[i].other, 0);
    }
    assert_int_equal(ok, NONCES); /* each nonce accepted exactly once */
    assert_int_equal(reused, NONCES * (THREADS - 1));
    free(ch);
    vd_challenger_free(&c);
}

static void test_challenge_config_and_secret_file(void **state)
{
    (void)state;
    vd_challenger_t *c = NULL;
    vd_challenge_config_t cfg = {.secret = secret_a, .secret_len = 31};
    assert_int_equal(vd_challenger_new(&cfg, &c, NULL), VD_E_CONFIG);
    cfg.secret_len = 32;
    cfg.ttl = VD_CHALLENGE_MAX_TTL + 1;
    assert_int_equal(vd_challenger_new(&cfg, &c, NULL), VD_E_CONFIG);
    cfg.ttl = -5;
    assert_int_equal(vd_challenger_new(&cfg, &c, NULL), VD_E_CONFIG);
    assert_null(c);

    char dir[] = "/tmp/vd_challenge_XXXXXX", path[128], cmd[160];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/nonce.secret", dir);
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    int created = -1;
    struct stat st;
    assert_int_equal(vd_challenge_secret_load_or_create(path, &s1, &l1, &created, NULL), VD_OK);
    assert_int_equal(created, 1);
    assert_int_equal(l1, 32);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(vd_challenge_secret_load_or_create(path, &s2, &l2, &created, NULL), VD_OK);
    assert_int_equal(created, 0);
    assert_int_equal(l2, 32);
    assert_memory_equal(s1, s2, 32);
    vd_challenge_secret_free(s1, l1);
    vd_challenge_secret_free(s2, l2);
    /* A short file is refused, not replaced. */
    FILE *f = fopen(path, "w");
    fputs("too short", f);
    fclose(f);
    vd_error_t err = {0};
    assert_int_equal(vd_challenge_secret_load_or_create(path, &s1, &l1, &created, &err),
                     VD_E_CONFIG);
    assert_null(s1);
    assert_non_null(strstr(err.msg, "at least 32"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 9);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_issue_and_redeem_once),
        cmocka_unit_test(test_challenge_forged),
        cmocka_unit_test(test_challenge_expired),
        cmocka_unit_test(test_challenge_malformed),
        cmocka_unit_test(test_challenge_full_table_refuses_rather_than_forgets),
        cmocka_unit_test(test_challenge_replicas_share_a_secret),
        cmocka_unit_test(test_challenge_concurrent_single_use),
        cmocka_unit_test(test_challenge_config_and_secret_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
