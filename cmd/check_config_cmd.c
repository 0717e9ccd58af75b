/* cmd/check_config_cmd.c: `driftgate check-config FILE`: everything
 * `driftgate run --config FILE` would check before serving, without opening
 * a socket: the config itself (schema, files, URLs, listeners), then every
 * API's spec(s) loaded and compiled exactly as the proxy does, then the
 * operations the config names against those specs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "policies/policies.h"
#include "validate/spec.h"

#define MAX_ERRORS 100

static const char *check_config_help =
    "usage: driftgate check-config [--quiet] FILE\n"
    "\n"
    "Checks a driftgate config file (YAML or JSON) without starting the proxy:\n"
    "its structure against the built-in schema, that spec/TLS files exist,\n"
    "upstream URLs and listen addresses parse, listeners do not clash, API names\n"
    "are unique; then loads and compiles every API's spec(s) and checks that\n"
    "every operation named under operations: or in an ignore rule exists.\n"
    "Each problem is printed on stderr as file:line:col: pointer: message.\n"
    "\n"
    "  -q, --quiet   print nothing when the config is fine\n"
    "\n"
    "Exit status: 0 the config is fine, 1 problems found, 2 usage error.\n";

static void print_err(const dg_error *e, const char *suffix)
{
    fprintf(stderr, "%s", e->file[0] ? e->file : "driftgate");
    if (e->line)
        fprintf(stderr, ":%u:%u", e->line, e->col);
    fprintf(stderr, ": ");
    if (e->pointer[0])
        fprintf(stderr, "%s: ", e->pointer);
    fprintf(stderr, "%s%s\n", e->msg, suffix ? suffix : "");
}

/* One line: APIs, specs, each listener with the APIs it serves (the global
 * listener is opened even when no API uses it, so it is listed then too). */
static void print_summary(const char *path, const dg_config *cfg, size_t nspecs)
{
    printf("%s: ok: %zu API%s, %zu spec%s; listeners: ", path, cfg->n_apis,
           cfg->n_apis == 1 ? "" : "s", nspecs, nspecs == 1 ? "" : "s");
    int global_used = 0;
    for (size_t i = 0; i < cfg->n_apis; i++) {
        const char *l = dg_api_listener(cfg, &cfg->apis[i]);
        global_used |= !strcmp(l, cfg->listen);
        size_t first = 0;
        while (strcmp(dg_api_listener(cfg, &cfg->apis[first]), l))
            first++;
        if (first != i)
            continue; /* listed with its first API */
        printf("%s%s (", i ? ", " : "", l);
        for (size_t j = i, k = 0; j < cfg->n_apis; j++)
            if (!strcmp(dg_api_listener(cfg, &cfg->apis[j]), l))
                printf("%s%s", k++ ? ", " : "", cfg->apis[j].name);
        printf(")");
    }
    if (!global_used)
        printf("%s%s (no API)", cfg->n_apis ? ", " : "", cfg->listen);
    printf("; admin %s\n", cfg->admin);
    if (!cfg->store.url) {
        printf("  drift store: none (drift is not deduplicated or explained)\n");
        return;
    }
    printf("  drift store: %s (flush every %llu ms, %u days kept); explained by:", cfg->store.url,
           (unsigned long long)cfg->store.flush_interval_ms, cfg->store.retention_days);
    for (size_t i = 0; i < cfg->n_apis; i++) {
        const dg_llm_conf *e = &cfg->apis[i].explain;
        printf("%s %s %s%s%s", i ? "," : "", cfg->apis[i].name, dg_llm_backend_name(e->backend),
               e->model ? " " : "", e->model ? e->model : "");
    }
    printf("\n");
}

/* Loads one API's specs and checks its operations. Returns problems found. */
static size_t check_api(const dg_api *a, dg_error *errs)
{
    size_t bad = 0;
    dg_spec **specs = calloc(a->n_specs ? a->n_specs : 1, sizeof *specs);
    const struct dg_router **routers = calloc(a->n_specs ? a->n_specs : 1, sizeof *routers);
    if (!specs || !routers) {
        fprintf(stderr, "driftgate: out of memory\n");
        free(specs);
        free((void *)routers);
        return 1;
    }
    dg_spec_opts so = {(const char *const *)a->ref_map, a->n_ref_map, a->policy.assert_formats, 0};
    char suffix[200];
    snprintf(suffix, sizeof suffix, " (spec of API \"%.100s\")", a->name);
    size_t nr = 0;
    for (size_t i = 0; i < a->n_specs; i++) {
        dg_error e;
        memset(&e, 0, sizeof e);
        if (dg_spec_load(a->specs[i], &so, &specs[i], &e)) {
            if (!e.file[0])
                snprintf(e.file, sizeof e.file, "%s", a->specs[i]);
            print_err(&e, suffix);
            bad++;
            continue;
        }
        routers[nr++] = dg_spec_router(specs[i]);
    }
    /* operation names are only checked against a complete set of specs */
    if (!bad && nr) {
        size_t n = 0;
        if (dg_config_check_operations(a, routers, nr, errs, MAX_ERRORS, &n)) {
            for (size_t i = 0; i < n; i++)
                print_err(&errs[i], NULL);
            bad += n ? n : 1;
        }
    }
    for (size_t i = 0; i < a->n_specs; i++)
        dg_spec_free(specs[i]);
    free(specs);
    free((void *)routers);
    return bad;
}

int dg_cmd_check_config(int argc, char **argv)
{
    static const struct option lo[] = {
        {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'h': fputs(check_config_help, stdout); return 0;
        default: fputs(check_config_help, stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "driftgate check-config: give exactly one config FILE\n\n%s",
                check_config_help);
        return 2;
    }
    const char *path = argv[optind];
    dg_error *errs = calloc(MAX_ERRORS, sizeof *errs);
    if (!errs) {
        fprintf(stderr, "driftgate: out of memory\n");
        return 1;
    }
    dg_config *cfg = NULL;
    size_t n = 0;
    int rc = dg_config_load(path, &cfg, errs, MAX_ERRORS, &n);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            print_err(&errs[i], NULL);
        if (!n)
            fprintf(stderr, "%s: %s\n", path, dg_error_code_name(rc));
        else if (n == MAX_ERRORS)
            fprintf(stderr, "%s: stopped after %d errors\n", path, MAX_ERRORS);
        free(errs);
        return 1;
    }
    size_t bad = 0, nspecs = 0;
    for (size_t i = 0; i < cfg->n_apis; i++) {
        bad += check_api(&cfg->apis[i], errs);
        nspecs += cfg->apis[i].n_specs;
    }
    if (!bad && !quiet)
        print_summary(path, cfg, nspecs);
    dg_config_free(cfg);
    free(errs);
    return bad ? 1 : 0;
}
