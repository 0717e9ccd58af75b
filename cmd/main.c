/* driftgate: subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: driftgate <command> [options]\n"
            "\n"
            "Validates HTTP/JSON responses against their OpenAPI description.\n"
            "\n"
            "commands:\n"
            "  run           run the validating reverse proxy (--spec/--upstream or --config)\n"
            "  check-config  check a config file without starting (exit 0 ok, 1 errors)\n"
            "  validate      validate JSON bodies against an OpenAPI operation or a JSON Schema\n"
            "  lint          load, resolve and compile an OpenAPI description; list its problems\n"
            "  replay        validate recorded traffic (HAR, JSON lines) into the drift store\n"
            "  explain       explain pending drift now (heuristic or Gemma 4); --dry-run shows the request\n"
            "  report        write drift reports per API and owner (html, md, json)\n"
            "  version       print the version\n"
            "\n"
            "Run 'driftgate <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("driftgate %s\n", DG_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return dg_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "check-config"))
        return dg_cmd_check_config(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return dg_cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "lint"))
        return dg_cmd_lint(argc - 1, argv + 1);
    if (!strcmp(cmd, "replay"))
        return dg_cmd_replay(argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return dg_cmd_explain(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return dg_cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "driftgate: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
