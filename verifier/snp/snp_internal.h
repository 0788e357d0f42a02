/*
 * Declarations shared by the files of the SEV-SNP verification core. Not a public API.
 * Each helper returns 1 (pass) or 0 (fail) and writes a human-readable detail either way.
 */
#ifndef verdict__snp_internal_h
#define verdict__snp_internal_h

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/report.h"

/* signature.c: SNP-FORMAT.md section 6. */
int vd_snp__signature_format(const vd_snp_report_t *r, char *detail, size_t n);
int vd_snp__signature_verify(const vd_snp_report_t *r, EVP_PKEY *key, char *detail, size_t n);
int vd_snp__key_is_p384(EVP_PKEY *key);

/* chain.c: X.509 links of ARK -> ASK/ASVK -> VCEK/VLEK. */
int vd_snp__cert_signed_by(X509 *subject, X509 *issuer, char *detail, size_t n);
int vd_snp__cert_valid_at(X509 *x, time_t at, const char *label, char *detail, size_t n);
int vd_snp__self_signed(X509 *x);
int vd_snp__issued_by(X509 *subject, X509 *issuer);

#endif
