/*
 * TLS: the SSL_CTX for new connections (TLS 1.2 and 1.3 only, the certificate chain and key
 * from PEM files, ALPN h2 then http/1.1) and its replacement on SIGHUP. A reload builds a
 * whole new SSL_CTX; connections already open keep the one they started with (each SSL holds
 * a reference), and a reload that fails keeps the old one and says why on stderr.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "server_internal.h"

/* ALPN (RFC 7301): prefer h2, accept http/1.1; no overlap means no ALPN (then HTTP/1.1 or the
 * h2 preface is sniffed as on cleartext). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x02h2\x08http/1.1";
    unsigned char *sel = NULL;
    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

vd_err_t vd_srv__tls_ctx_new(const char *cert, const char *key, SSL_CTX **out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    *out = NULL;
    if (ctx == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "SSL_CTX_new");
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.2: forward-secret AEAD suites only (RFC 9113 section 9.2.2 forbids the rest on
     * h2). TLS 1.3 suites are all AEAD. */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
        rc = VD_ERR(err, VD_E_CONFIG, "TLS cipher list");
        goto out;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        rc = VD_ERR(err, VD_E_CONFIG, "TLS certificate %s", cert);
        vd_error_add_openssl(err);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        rc = VD_ERR(err, VD_E_CONFIG, "TLS key %s", key);
        vd_error_add_openssl(err);
        goto out;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    *out = ctx;
    ctx = NULL;
out:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return rc;
}

void vd_srv__tls_reload(vd_server_t *s)
{
    vd_error_t err;
    SSL_CTX *ctx = NULL;
    if (s->ssl_ctx == NULL) {
        return;
    }
    vd_error_clear(&err);
    if (vd_srv__tls_ctx_new(s->tls_cert, s->tls_key, &ctx, &err) != VD_OK) {
        fprintf(stderr, "verdict: TLS reload failed, keeping the current certificate: %s\n",
                err.msg);
        return;
    }
    SSL_CTX_free(s->ssl_ctx);
    s->ssl_ctx = ctx;
}
