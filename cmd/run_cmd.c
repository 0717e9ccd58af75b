/* cmd/run_cmd.c: `driftgate run` (placeholder until proxy/ lands). */
#include <stdio.h>

#include "cmd/cli.h"

int dg_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "driftgate run: not built yet\n");
    return 2;
}
