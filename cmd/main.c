/* driftgate: subcommand dispatch. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("driftgate %s\n", DG_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: driftgate <command> [options]\n");
    return 2;
}
