/*
 * Bounded whole-file reads for the CLI.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/certset.h"
#include "cli.h"

vd_err_t vd_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    uint8_t *b = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (f == NULL) {
        return VD_ERR(err, VD_E_IO, "%s: %s", path, strerror(errno));
    }
    b = malloc(max + 1);
    if (b == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    /* Read one byte past the limit to tell "exactly max" from "larger". */
    n = fread(b, 1, max + 1, f);
    if (ferror(f)) {
        rc = VD_ERR(err, VD_E_IO, "%s: read error", path);
        goto out;
    }
    if (n > max) {
        rc = VD_ERR(err, VD_E_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    *buf = b;
    *len = n;
    b = NULL;
out:
    free(b);
    fclose(f);
    return rc;
}

int vd_cli_load_extra_roots(const char *path, vd_trust_t *trust, const char *cmd)
{
    vd_error_t err = {0};
    vd_certset_t *roots = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    if (vd_certset_new(&roots, &err) != VD_OK ||
        vd_file_read(path, VD_CERT_BLOB_MAX, &buf, &len, &err) != VD_OK ||
        vd_certset_add_blob(roots, buf, len, "--extra-roots", &err) != VD_OK) {
        fprintf(stderr, "%s: extra roots: %s\n", cmd, err.msg);
        goto out;
    }
    for (size_t i = 0; i < vd_certset_count(roots); i++) {
        if (vd_trust_add_extra(trust, vd_certset_get(roots, i), &err) != VD_OK) {
            fprintf(stderr, "%s: extra roots: %s\n", cmd, err.msg);
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    vd_certset_free(&roots);
    return rc;
}
