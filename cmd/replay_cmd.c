/* cmd/replay_cmd.c: placeholder while the command is being written (replaced this session). */
#include <stdio.h>

#include "cmd/cli.h"

int dg_cmd_replay(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "driftgate replay: not built yet\n");
    return 2;
}
