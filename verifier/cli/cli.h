/*
 * verdict command line: subcommands and the helpers they share. Everything that touches files,
 * the terminal or the clock for the CLI is here, outside the pure verification core.
 */
#ifndef verdict__cli_h
#define verdict__cli_h

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "verdict/error.h"
#include "verdict/verify.h"

/* Exit codes shared by every subcommand (DESIGN.md, "The contract"). */
#define VD_EXIT_OK         0
#define VD_EXIT_REJECTED   1
#define VD_EXIT_USAGE      2
#define VD_EXIT_COLLATERAL 3

#define VD_FILE_MAX (1024 * 1024) /* no input file verdict reads is larger */

/**
 * Read a whole file (at most `max` bytes) into a malloc'd buffer; caller frees.
 * VD_E_IO (message names the file and errno) or VD_E_TOO_LARGE.
 */
vd_err_t vd_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, vd_error_t *err);

/** `verdict verify ...`: returns the process exit code. */
int vd_cli_verify(int argc, char **argv);

/** Print a verification result as one JSON object (jansson) on `f`. Returns 0 or -1. */
int vd_cli_print_json(FILE *f, const vd_snp_result_t *res, time_t at);

/** Print a verification result for people on `f`. */
void vd_cli_print_text(FILE *f, const vd_snp_result_t *res, time_t at);

#endif
