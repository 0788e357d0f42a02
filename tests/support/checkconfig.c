/*
 * checkconfig: validate `verdict serve` configuration files with the configuration module
 * (vd_config_check_file, what `verdict serve --check-config` runs), for the deployment tests
 * (the packaged /etc/verdict/verdict.yaml, the Kubernetes ConfigMap's). Prints the first problem
 * of each file; exit 0 when every file is valid, 1 otherwise, 2 for usage.
 */
#include <stdio.h>

#include "verdict/config.h"

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: checkconfig FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        vd_error_t err = {0};
        if (vd_config_check_file(argv[i], &err) != VD_OK) {
            fprintf(stderr, "%s\n", err.msg);
            bad = 1;
        }
    }
    return bad;
}
