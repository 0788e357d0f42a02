/*
 * Test helper: run tests/mock_kds/mock_kds.py (a mock AMD KDS on 127.0.0.1, ephemeral port),
 * publish files on it, switch fault modes and read its request counters.
 */
#ifndef verdict_test__mockkds_h
#define verdict_test__mockkds_h

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct vd_mockkds vd_mockkds_t;

/** Start the server with a fresh temporary root directory. NULL on failure (message on stderr). */
vd_mockkds_t *vd_mockkds_start(void);

/** Stop the server (SIGTERM, then SIGKILL), remove its directory; sets *pp to NULL. NULL-safe. */
void vd_mockkds_stop(vd_mockkds_t **pp);

/** "http://127.0.0.1:PORT" (borrowed). */
const char *vd_mockkds_url(const vd_mockkds_t *m);

/** The server's root directory (borrowed). */
const char *vd_mockkds_dir(const vd_mockkds_t *m);

/**
 * Serve `len` bytes at `path_query` (e.g. "/vcek/v1/Genoa/cert_chain" or a VCEK path with its
 * query; a full URL under the server's base is accepted too). Returns 0 or -1.
 */
int vd_mockkds_serve(vd_mockkds_t *m, const char *path_query, const void *data, size_t len);

/** Serve certificates: PEM for several (a cert_chain), DER for one (a VCEK). 0 or -1. */
int vd_mockkds_serve_certs(vd_mockkds_t *m, const char *path_query, X509 *const *certs, size_t n);

/** Serve a CRL (DER). 0 or -1. */
int vd_mockkds_serve_crl(vd_mockkds_t *m, const char *path_query, X509_CRL *crl);

/** Write a file in the root (for "file" rules: the wrong-certificate case). 0 or -1. */
int vd_mockkds_put_file(vd_mockkds_t *m, const char *name, const void *data, size_t len);

/** Replace the fault rules: a JSON array, e.g. [{"match":"/vcek","mode":"404","times":1}]. */
int vd_mockkds_rules(vd_mockkds_t *m, const char *rules_json);

/** Clear rules and counters. */
int vd_mockkds_reset(vd_mockkds_t *m);

/** Requests served so far whose path contains `substr` (NULL: all). -1 on failure. */
long vd_mockkds_count(vd_mockkds_t *m, const char *substr);

/* ---- a CRL-capable copy of a test PKI ---- */

/**
 * Re-key an ARK and re-sign its ASK (RSA-PSS SHA-384, salt 48), so that the caller holds the
 * ARK's private key and can sign CRLs. Leaves issued under the original ASK still verify under
 * the new ASK (same key and name). Returns 0 with new objects in the out-params, or -1.
 */
int vd_kdspki_rekey(X509 *ark_in, X509 *ask_in, EVP_PKEY **ark_key, X509 **ark, X509 **ask);

/** A copy of `src` signed by `signer` (RSA-PSS SHA-384, salt 48), e.g. the ASVK. NULL on failure.
 */
X509 *vd_kdspki_resign(X509 *src, EVP_PKEY *signer);

/**
 * A v2 CRL from `ark` signed with `key`, lastUpdate now + from_s, nextUpdate now + until_s,
 * revoking `serial` (< 0: nothing). NULL on failure.
 */
X509_CRL *vd_kdspki_crl(X509 *ark, EVP_PKEY *key, long serial, long from_s, long until_s);

#endif
