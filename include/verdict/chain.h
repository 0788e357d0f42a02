/*
 * verdict: the cryptographic links of AMD's SEV-SNP chains, shared by the verification core
 * and the certificate cache so that both judge a certificate the same way.
 *
 * AMD signs every certificate of ARK -> ASK/ASVK -> VCEK/VLEK with RSASSA-PSS, SHA-384,
 * MGF1-SHA-384, salt 48 (KDS.md sections 2-3), and every report with ECDSA P-384/SHA-384 over
 * bytes 0x000-0x29F (SNP-FORMAT.md section 6). These helpers accept exactly that and nothing
 * else. Pure: no I/O. Each returns 1 (yes) or 0 (no); `detail` (may be NULL) says why.
 */
#ifndef verdict__chain_h
#define verdict__chain_h

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/report.h"

/** `subject`'s issuer name is `issuer`'s subject name. */
int vd_chain_issued_by(X509 *subject, X509 *issuer);

/** Issuer and subject names are equal (a root, or a forgery of one). */
int vd_chain_self_signed(X509 *x);

/**
 * `subject` is issued by `issuer` (names) and signed by its key with AMD's pinned RSA-PSS
 * parameters.
 */
int vd_chain_signed_by(X509 *subject, X509 *issuer, char *detail, size_t n);

/** `x` is valid at `at` (notBefore <= at < notAfter); `label` names it in the detail. */
int vd_chain_valid_at(X509 *x, time_t at, const char *label, char *detail, size_t n);

/** `key` is an EC P-384 public key. */
int vd_chain_key_is_p384(EVP_PKEY *key);

/** The report's ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F verifies with `key`. */
int vd_snp_report_signed_by(const vd_snp_report_t *r, EVP_PKEY *key, char *detail, size_t n);

#endif
