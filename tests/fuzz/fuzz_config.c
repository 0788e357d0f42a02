/*
 * libFuzzer target: the service configuration. vd_config_apply_yaml on the input over the
 * defaults (the bounded libyaml tree, then every key's parser), vd_config_check, and, when the
 * file is accepted, a round trip: vd_config_format's text must be accepted again and format
 * the same. The input is also presented as a bearer token and an Authorization header. Any
 * crash, leak or hang is a finding; so is an error without a message, or a failed round trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_config_t *c = NULL, *again = NULL;
    vd_error_t err = {0};
    char *text = NULL, *text2 = NULL;
    if (vd_config_defaults(&c, &err) != VD_OK) {
        abort();
    }
    vd_err_t rc = vd_config_apply_yaml(c, (const char *)data, size, "fuzz.yaml", &err);
    if (rc == VD_OK) {
        rc = vd_config_check(c, &err);
    }
    if (rc != VD_OK && err.msg[0] == '\0') {
        abort(); /* every refusal says why */
    }
    if (rc == VD_OK) {
        if (vd_config_format(c, &text, &err) != VD_OK ||
            vd_config_defaults(&again, &err) != VD_OK) {
            abort();
        }
        /* Token hashes are not printed: carry them over so the texts compare. */
        memcpy(again->admin_token_sha256, c->admin_token_sha256, sizeof(c->admin_token_sha256));
        again->n_admin_tokens = c->n_admin_tokens;
        memcpy(again->reader_token_sha256, c->reader_token_sha256, sizeof(c->reader_token_sha256));
        again->n_reader_tokens = c->n_reader_tokens;
        if (vd_config_apply_yaml(again, text, strlen(text), "formatted", &err) != VD_OK ||
            vd_config_format(again, &text2, &err) != VD_OK) {
            abort();
        }
        /* The header line names the source, which differs; compare what follows it. */
        const char *a = strchr(text, '\n'), *b = strchr(text2, '\n');
        if (a == NULL || b == NULL || strcmp(a, b) != 0) {
            abort();
        }
    }
    /* The same bytes as a presented token: nothing matches unless configured. */
    vd_auth_level_t lvl = vd_config_auth(c, (const char *)data, size);
    if (lvl != VD_AUTH_NONE && c->n_admin_tokens == 0 && c->n_reader_tokens == 0) {
        abort();
    }
    char header[512];
    size_t n = size < sizeof(header) - 1 ? size : sizeof(header) - 1;
    memcpy(header, data, n);
    header[n] = '\0';
    lvl = vd_config_auth_header(c, header);
    if (lvl != VD_AUTH_NONE && c->n_admin_tokens == 0 && c->n_reader_tokens == 0) {
        abort();
    }
    free(text);
    free(text2);
    vd_config_free(&again);
    vd_config_free(&c);
    return 0;
}
