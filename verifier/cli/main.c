/*
 * verdict: remote attestation verifier for AMD SEV-SNP. Subcommand dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: verdict <command> [options]\n"
               "\n"
               "commands:\n"
               "  verify    verify an SEV-SNP attestation report (verdict verify --help)\n"
               "  policy    validate and test appraisal policies (verdict policy --help)\n"
               "  certs     fetch, list, export and import cached AMD certificates\n"
               "            (verdict certs --help)\n"
               "  serve     run the attestation service (verdict serve --help)\n"
               "  measure   a guest's expected MEASUREMENT (verdict measure --help)\n"
               "  token     verify result tokens, rotate the signing key (verdict token --help)\n"
               "  audit     list, show and export the audit log of verdict serve\n"
               "            (verdict audit --help)\n"
               "  evidence  collect a report inside an SEV-SNP guest (configfs-tsm)\n"
               "            (verdict evidence --help)\n"
               "  version   print the version\n"
               "\n"
               "exit codes: 0 genuine/success, 1 evidence rejected, 2 usage or input error,\n"
               "            3 a needed certificate is not available\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VD_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "verify") == 0) {
        return vd_cli_verify(argc - 1, argv + 1, 0);
    }
    if (strcmp(cmd, "policy") == 0) {
        return vd_cli_policy(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "certs") == 0) {
        return vd_cli_certs(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "serve") == 0) {
        return vd_cli_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "token") == 0) {
        return vd_cli_token(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "audit") == 0) {
        return vd_cli_audit(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "measure") == 0) {
        return vd_cli_measure(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "evidence") == 0) {
        return vd_cli_evidence(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("verdict %s\n", VD_VERSION);
        return VD_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return VD_EXIT_OK;
    }
    return vd_cli_usage_error("verdict", "unknown command '%s'", cmd);
}
