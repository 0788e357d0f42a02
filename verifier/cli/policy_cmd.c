/*
 * `verdict policy ...` and the policy appraisal that `verdict verify --policy` attaches.
 *
 * validate FILE...          compile each policy and report the first error with file:line:col
 * test --policy FILE ...    `verdict verify` with a policy: every genuineness and policy check
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/policy.h"
#include "cli.h"

#define NONCE_MAX 1024

struct vd_cli_appraisal {
    vd_policy_t *policy;
    uint8_t *nonce;
    size_t nonce_len;
    uint8_t *runtime_data;
    size_t runtime_data_len;
    vd_appraisal_t result;
    int ran;
};

void vd_cli_appraisal_free(vd_cli_appraisal_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_policy_free(&(*pp)->policy);
    free((*pp)->nonce);
    free((*pp)->runtime_data);
    free(*pp);
    *pp = NULL;
}

/* Read and compile one policy file; prints the error. */
static vd_policy_t *load_policy_file(const char *path)
{
    vd_error_t err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    vd_policy_t *p = NULL;
    if (vd_file_read(path, VD_FILE_MAX, &buf, &len, &err) == VD_OK) {
        vd_policy_compile((const char *)buf, len, path, &p, &err);
    }
    if (p == NULL) {
        fprintf(stderr, "verdict: policy: %s\n", err.msg);
    }
    free(buf);
    return p;
}

int vd_cli_appraisal_load(vd_cli_appraisal_t **out, const char *policy, const char *nonce_hex,
                          const char *runtime_data_file)
{
    vd_error_t err = {0};
    vd_cli_appraisal_t *ap = calloc(1, sizeof(*ap));
    *out = NULL;
    if (ap == NULL) {
        fprintf(stderr, "verdict: out of memory\n");
        return -1;
    }
    ap->policy = load_policy_file(policy);
    if (ap->policy == NULL) {
        goto fail;
    }
    if (nonce_hex != NULL) {
        ap->nonce = malloc(NONCE_MAX);
        if (ap->nonce == NULL ||
            vd_hex_decode(nonce_hex, strlen(nonce_hex), ap->nonce, NONCE_MAX, &ap->nonce_len) !=
                0 ||
            ap->nonce_len == 0) {
            fprintf(stderr, "verdict: --nonce must be hex (1 to %d bytes)\n", NONCE_MAX);
            goto fail;
        }
    }
    if (runtime_data_file != NULL && vd_file_read(runtime_data_file, VD_FILE_MAX, &ap->runtime_data,
                                                  &ap->runtime_data_len, &err) != VD_OK) {
        fprintf(stderr, "verdict: --runtime-data: %s\n", err.msg);
        goto fail;
    }
    *out = ap;
    return 0;
fail:
    vd_cli_appraisal_free(&ap);
    return -1;
}

void vd_cli_appraisal_run(vd_cli_appraisal_t *ap, const vd_snp_result_t *res)
{
    if (ap == NULL) {
        return;
    }
    vd_policy_input_t in = {
        .nonce = ap->nonce,
        .nonce_len = ap->nonce_len,
        .runtime_data = ap->runtime_data,
        .runtime_data_len = ap->runtime_data_len,
    };
    vd_policy_evaluate(ap->policy, res, &in, &ap->result);
    ap->ran = 1;
}

vd_tier_t vd_cli_appraisal_status(const vd_cli_appraisal_t *ap)
{
    return ap != NULL && ap->ran ? ap->result.status : VD_TIER_AFFIRMING;
}

const vd_appraisal_t *vd_cli_appraisal_get(const vd_cli_appraisal_t *ap)
{
    return ap != NULL && ap->ran ? &ap->result : NULL;
}

/* ---- verdict policy ------------------------------------------------------------------------ */

static void policy_usage(FILE *f)
{
    fprintf(f, "usage: verdict policy <command> ...\n"
               "\n"
               "  validate FILE...                 check policy files; print the first error\n"
               "                                   of each with file:line:column\n"
               "  test --policy FILE --report FILE [verify options] [--nonce HEX]\n"
               "       [--runtime-data FILE] [--json]\n"
               "                                   every genuineness and policy check against\n"
               "                                   real evidence (see verdict verify --help)\n");
}

static int cmd_validate(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "verdict policy validate: name at least one FILE\n");
        return VD_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        vd_policy_t *p = load_policy_file(argv[i]);
        if (p == NULL) {
            bad = 1;
            continue;
        }
        printf("%s: policy \"%s\" is valid\n", argv[i], vd_policy_name(p));
        vd_policy_free(&p);
    }
    return bad ? VD_EXIT_USAGE : VD_EXIT_OK;
}

int vd_cli_policy(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        policy_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VD_EXIT_USAGE : VD_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "validate") == 0) {
        return cmd_validate(argc - 1, argv + 1);
    }
    if (strcmp(sub, "test") == 0) {
        int has_policy = 0;
        for (int i = 2; i < argc; i++) {
            has_policy |= strcmp(argv[i], "--policy") == 0 || strncmp(argv[i], "--policy=", 9) == 0;
        }
        if (!has_policy) {
            fprintf(stderr, "verdict policy test: --policy FILE is required\n");
            return VD_EXIT_USAGE;
        }
        return vd_cli_verify(argc - 1, argv + 1);
    }
    fprintf(stderr, "verdict policy: unknown command '%s'\n", sub);
    policy_usage(stderr);
    return VD_EXIT_USAGE;
}
