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

#include "verdict/chain.h"
#include "verdict/report.h"

/* signature.c: SNP-FORMAT.md section 6 (the verification itself is public: chain.h). */
int vd_snp__signature_format(const vd_snp_report_t *r, char *detail, size_t n);

#endif
