/*
 * verdict: a bag of candidate certificates for one appraisal.
 *
 * Certificates arrive from --certs files, the extended-report cert table, later the cache and
 * KDS. They are untrusted until verify.c has chained them to a pinned root; the bag only parses
 * and remembers where each came from, for error messages.
 */
#ifndef verdict__certset_h
#define verdict__certset_h

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "verdict/error.h"

#define VD_CERTSET_MAX     32    /* more candidates than any real chain needs */
#define VD_CERT_BLOB_MAX   65536 /* one PEM/DER blob; AMD's chain PEM is 4.6 KB */
#define VD_CERT_ORIGIN_MAX 96

typedef struct vd_certset vd_certset_t;

/** New empty bag; caller frees with vd_certset_free. VD_E_NOMEM on failure. */
vd_err_t vd_certset_new(vd_certset_t **out, vd_error_t *err);

/** Free the bag and every certificate in it; sets *pp to NULL. NULL-safe. */
void vd_certset_free(vd_certset_t **pp);

/**
 * Add the certificates in a blob: PEM (any number of CERTIFICATE blocks; anything between them
 * is ignored) or one DER certificate (must span the whole blob). `origin` names the source for
 * messages ("--certs vcek.pem", "cert table VCEK"). VD_E_MALFORMED if nothing parses,
 * VD_E_TOO_LARGE past VD_CERT_BLOB_MAX or VD_CERTSET_MAX.
 */
vd_err_t vd_certset_add_blob(vd_certset_t *s, const uint8_t *p, size_t len, const char *origin,
                             vd_error_t *err);

/** Add one parsed certificate; the bag takes a reference (X509_up_ref). */
vd_err_t vd_certset_add_x509(vd_certset_t *s, X509 *x, const char *origin, vd_error_t *err);

size_t vd_certset_count(const vd_certset_t *s);

/** Borrowed; valid while the bag lives. */
X509 *vd_certset_get(const vd_certset_t *s, size_t i);
const char *vd_certset_origin(const vd_certset_t *s, size_t i);

/** 1 if the subject's commonName is exactly `cn`. */
int vd_x509_cn_is(X509 *x, const char *cn);

/** The subject's commonName into `out` ("" if none); returns `out`. */
char *vd_x509_common_name(X509 *x, char *out, size_t out_size);

#endif
