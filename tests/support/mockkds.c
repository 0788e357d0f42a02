/*
 * Test helper: the mock KDS process (tests/mock_kds/mock_kds.py) seen from C. The server is a
 * child process on 127.0.0.1 with an ephemeral port; it exits when this process dies, and
 * vd_mockkds_stop kills and reaps it, so no test leaves a server behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mockkds.h"

#ifndef VD_MOCK_KDS_SCRIPT
#    define VD_MOCK_KDS_SCRIPT "tests/mock_kds/mock_kds.py"
#endif

struct vd_mockkds {
    pid_t pid;
    char dir[256];
    char url[64];
    json_t *routes;
    unsigned nfiles;
};

vd_mockkds_t *vd_mockkds_start(void)
{
    int fds[2];
    char line[128];
    size_t used = 0;
    vd_mockkds_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    snprintf(m->dir, sizeof(m->dir), "/tmp/vd-mockkds-XXXXXX");
    if (mkdtemp(m->dir) == NULL || pipe(fds) != 0) {
        free(m);
        return NULL;
    }
    m->routes = json_object();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    m->pid = fork();
    if (m->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", VD_MOCK_KDS_SCRIPT, m->dir, "--lifetime", "600", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* Wait (bounded) for "PORT n". */
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    while (used < sizeof(line) - 1 && poll(&pfd, 1, 15000) == 1) {
        ssize_t n = read(fds[0], line + used, sizeof(line) - 1 - used);
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
        line[used] = '\0';
        if (strchr(line, '\n') != NULL) {
            break;
        }
    }
    close(fds[0]);
    line[used] = '\0';
    int port = 0;
    if (m->pid < 0 || sscanf(line, "PORT %d", &port) != 1 || port <= 0) {
        fprintf(stderr, "mock KDS did not start (%s)\n", line);
        vd_mockkds_stop(&m);
        return NULL;
    }
    snprintf(m->url, sizeof(m->url), "http://127.0.0.1:%d", port);
    return m;
}

void vd_mockkds_stop(vd_mockkds_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_mockkds_t *m = *pp;
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
                m->pid = 0;
                break;
            }
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (m->pid > 0) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, NULL, 0);
        }
    }
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m->dir);
    if (strncmp(m->dir, "/tmp/vd-mockkds-", 16) == 0 && system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", m->dir);
    }
    json_decref(m->routes);
    free(m);
    *pp = NULL;
}

const char *vd_mockkds_url(const vd_mockkds_t *m)
{
    return m->url;
}

const char *vd_mockkds_dir(const vd_mockkds_t *m)
{
    return m->dir;
}

int vd_mockkds_put_file(vd_mockkds_t *m, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", m->dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_routes(vd_mockkds_t *m)
{
    char tmp[512], path[512];
    snprintf(tmp, sizeof(tmp), "%s/routes.json.tmp", m->dir);
    snprintf(path, sizeof(path), "%s/routes.json", m->dir);
    if (json_dump_file(m->routes, tmp, 0) != 0) {
        return -1;
    }
    return rename(tmp, path);
}

int vd_mockkds_serve(vd_mockkds_t *m, const char *path_query, const void *data, size_t len)
{
    char name[32];
    size_t ul = strlen(m->url);
    if (strncmp(path_query, m->url, ul) == 0) {
        path_query += ul;
    }
    snprintf(name, sizeof(name), "body%u", m->nfiles++);
    if (vd_mockkds_put_file(m, name, data, len) != 0) {
        return -1;
    }
    json_object_set_new(m->routes, path_query, json_string(name));
    return write_routes(m);
}

int vd_mockkds_serve_certs(vd_mockkds_t *m, const char *path_query, X509 *const *certs, size_t n)
{
    int rc = -1;
    char *data = NULL;
    unsigned char *der = NULL;
    if (n == 1) {
        int len = i2d_X509(certs[0], &der);
        if (len > 0) {
            rc = vd_mockkds_serve(m, path_query, der, (size_t)len);
        }
        OPENSSL_free(der);
        return rc;
    }
    BIO *b = BIO_new(BIO_s_mem());
    for (size_t i = 0; b != NULL && i < n; i++) {
        PEM_write_bio_X509(b, certs[i]);
    }
    long len = b != NULL ? BIO_get_mem_data(b, &data) : 0;
    if (len > 0) {
        rc = vd_mockkds_serve(m, path_query, data, (size_t)len);
    }
    BIO_free(b);
    return rc;
}

int vd_mockkds_serve_crl(vd_mockkds_t *m, const char *path_query, X509_CRL *crl)
{
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    int rc = len > 0 ? vd_mockkds_serve(m, path_query, der, (size_t)len) : -1;
    OPENSSL_free(der);
    return rc;
}

typedef struct buf {
    char data[65536];
    size_t len;
} buf_t;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    size_t add = size * n;
    if (add > sizeof(b->data) - 1 - b->len) {
        return 0;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static int http(vd_mockkds_t *m, const char *path, const char *post, buf_t *out)
{
    char url[128];
    long status = 0;
    snprintf(url, sizeof(url), "%s%s", m->url, path);
    CURL *h = curl_easy_init();
    if (h == NULL) {
        return -1;
    }
    out->len = 0;
    out->data[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (post != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    }
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return cc == CURLE_OK && status == 200 ? 0 : -1;
}

int vd_mockkds_rules(vd_mockkds_t *m, const char *rules_json)
{
    buf_t *b = malloc(sizeof(*b));
    size_t blen = strlen(rules_json) + 16;
    char *body = malloc(blen);
    int rc = -1;
    if (b != NULL && body != NULL) {
        snprintf(body, blen, "{\"rules\": %s}", rules_json);
        rc = http(m, "/_control", body, b);
    }
    free(body);
    free(b);
    return rc;
}

int vd_mockkds_reset(vd_mockkds_t *m)
{
    buf_t *b = malloc(sizeof(*b));
    int rc = b != NULL ? http(m, "/_reset", "{}", b) : -1;
    free(b);
    return rc;
}

long vd_mockkds_count(vd_mockkds_t *m, const char *substr)
{
    long n = -1;
    buf_t *b = malloc(sizeof(*b));
    json_t *j = NULL;
    if (b == NULL || http(m, "/_stats", NULL, b) != 0) {
        goto out;
    }
    j = json_loads(b->data, 0, NULL);
    if (j == NULL) {
        goto out;
    }
    if (substr == NULL) {
        n = (long)json_integer_value(json_object_get(j, "total"));
        goto out;
    }
    n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j, "paths"), k, v)
    {
        if (strstr(k, substr) != NULL) {
            n += (long)json_integer_value(v);
        }
    }
out:
    json_decref(j);
    free(b);
    return n;
}

/* ---- PKI helpers ---------------------------------------------------------------------------- */

static int pss_sign_ctx(EVP_MD_CTX **md, EVP_PKEY *key)
{
    EVP_PKEY_CTX *pctx = NULL;
    *md = EVP_MD_CTX_new();
    return *md != NULL && EVP_DigestSignInit(*md, &pctx, EVP_sha384(), NULL, key) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1;
}

/* A copy of `src` with public key `pub` (NULL: keep) signed by `signer`. */
static X509 *resign(X509 *src, EVP_PKEY *pub, EVP_PKEY *signer)
{
    EVP_MD_CTX *md = NULL;
    X509 *x = X509_dup(src);
    if (x == NULL || (pub != NULL && X509_set_pubkey(x, pub) != 1) || !pss_sign_ctx(&md, signer) ||
        X509_sign_ctx(x, md) <= 0) {
        X509_free(x);
        x = NULL;
    }
    EVP_MD_CTX_free(md);
    return x;
}

X509 *vd_kdspki_resign(X509 *src, EVP_PKEY *signer)
{
    return resign(src, NULL, signer);
}

int vd_kdspki_rekey(X509 *ark_in, X509 *ask_in, EVP_PKEY **ark_key, X509 **ark, X509 **ask)
{
    *ark_key = EVP_RSA_gen(2048); /* 2048 keeps the tests fast; PSS salt 48 fits */
    *ark = *ark_key != NULL ? resign(ark_in, *ark_key, *ark_key) : NULL;
    *ask = *ark != NULL ? resign(ask_in, NULL, *ark_key) : NULL;
    if (*ask == NULL) {
        EVP_PKEY_free(*ark_key);
        X509_free(*ark);
        *ark_key = NULL;
        *ark = NULL;
        return -1;
    }
    return 0;
}

X509_CRL *vd_kdspki_crl(X509 *ark, EVP_PKEY *key, long serial, long from_s, long until_s)
{
    EVP_MD_CTX *md = NULL;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_adj(NULL, time(NULL), 0, from_s);
    ASN1_TIME *t2 = ASN1_TIME_adj(NULL, time(NULL), 0, until_s);
    int ok = crl != NULL && t1 != NULL && t2 != NULL && X509_CRL_set_version(crl, 1) == 1 &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark)) == 1 &&
             X509_CRL_set1_lastUpdate(crl, t1) == 1 && X509_CRL_set1_nextUpdate(crl, t2) == 1;
    if (ok && serial >= 0) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        ok = r != NULL && s != NULL && ASN1_INTEGER_set(s, serial) == 1 &&
             X509_REVOKED_set_serialNumber(r, s) == 1 &&
             X509_REVOKED_set_revocationDate(r, t1) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
        if (!ok) {
            X509_REVOKED_free(r);
        }
        ASN1_INTEGER_free(s);
    }
    ok = ok && X509_CRL_sort(crl) == 1 && pss_sign_ctx(&md, key) && X509_CRL_sign_ctx(crl, md) > 0;
    EVP_MD_CTX_free(md);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    if (!ok) {
        X509_CRL_free(crl);
        crl = NULL;
    }
    return crl;
}
