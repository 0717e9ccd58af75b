/* cmd/check_config_cmd.c: `driftgate check-config` (placeholder; policies/ helper replaces it). */
#include <stdio.h>

#include "cmd/cli.h"

int dg_cmd_check_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "driftgate check-config: not built yet\n");
    return 2;
}
