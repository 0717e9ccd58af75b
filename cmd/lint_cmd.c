/* cmd/lint_cmd.c: `driftgate lint SPEC`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "validate/spec.h"

static const char *lint_help =
    "usage: driftgate lint [--ref-map URL=PATH]... [--format text|json] SPEC\n"
    "\n"
    "Loads SPEC (OpenAPI 3.0/3.1 or Swagger 2.0, YAML or JSON), resolves every $ref,\n"
    "compiles every schema and prints each problem with file:line:col: unresolved\n"
    "refs, invalid schemas and regexes, unknown keywords and formats, nullable\n"
    "misuse, shadowed (unreachable) operations.\n"
    "\n"
    "Exit status: 0 no problems, 1 problems found, 2 the spec cannot be loaded at all.\n";

int dg_cmd_lint(int argc, char **argv)
{
    static const struct option lo[] = {{"ref-map", 1, 0, 'r'}, {"format", 1, 0, 'f'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    char **pairs = NULL;
    size_t npairs = 0;
    int json = 0, c, rc = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (dg_cli_add_ref_map(optarg, &pairs, &npairs)) {
                fprintf(stderr, "driftgate lint: --ref-map wants URL=PATH\n");
                goto out;
            }
            break;
        case 'f': json = !strcmp(optarg, "json"); break;
        case 'h': fputs(lint_help, stdout); rc = 0; goto out;
        default: fputs(lint_help, stderr); goto out;
        }
    }
    if (optind != argc - 1) {
        fputs(lint_help, stderr);
        goto out;
    }
    const char *path = argv[optind];
    dg_spec_opts so = {(const char *const *)pairs, npairs, -1, 1};
    dg_spec *spec = NULL;
    dg_error err;
    char m[1400];
    if (dg_spec_load(path, &so, &spec, &err)) {
        fprintf(stderr, "driftgate: %s\n", dg_error_format(&err, m, sizeof m));
        goto out;
    }
    size_t n = dg_spec_lint_count(spec);
    for (size_t i = 0; i < n; i++) {
        const dg_lint_item *it = dg_spec_lint_get(spec, i);
        if (json) {
            printf("{\"where\":\"%s\",\"pointer\":\"%s\",\"message\":\"", it->where, it->pointer);
            for (const char *p = it->message; *p; p++) {
                if (*p == '"' || *p == '\\')
                    putchar('\\');
                putchar(*p);
            }
            printf("\"}\n");
        } else {
            const char *h = strchr(it->pointer, '#');
            printf("%s: %s%s%s\n", it->where[0] ? it->where : path, it->message,
                   it->pointer[0] ? "  at " : "", h ? h + 1 : it->pointer);
        }
    }
    if (!json)
        fprintf(stderr, "%s: OpenAPI %s, %zu operations, %zu response schemas, %zu problem%s\n",
                path, dg_spec_version(spec), dg_router_count(dg_spec_router(spec)),
                dg_spec_schema_count(spec), n, n == 1 ? "" : "s");
    rc = n ? 1 : 0;
    dg_spec_free(spec);
out:
    for (size_t i = 0; i < 2 * npairs; i++)
        free(pairs[i]);
    free(pairs);
    return rc;
}
