/* cmd/run_cmd.c: `driftgate run`: the validating reverse proxy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/log.h"
#include "proxy/proxy.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: driftgate run --spec SPEC --upstream URL [options]\n"
            "       driftgate run --config driftgate.yaml [--workers N]\n"
            "\n"
            "Runs the reverse proxy: every response is validated against the API's\n"
            "OpenAPI description as it streams through.\n"
            "\n"
            "quick start (one API, strict profile):\n"
            "  --spec FILE          OpenAPI 3.0/3.1 or Swagger 2.0 description\n"
            "  --upstream URL       http:// or https:// upstream (base path allowed)\n"
            "  --listen ADDR        proxy listener (default 127.0.0.1:8080)\n"
            "  --admin ADDR         admin listener: /metrics /healthz /readyz /status\n"
            "                       (default 127.0.0.1:9090)\n"
            "  --mode MODE          monitor (default: never changes a response) or enforce\n"
            "                       (invalid responses become 502 application/problem+json)\n"
            "  --ref-map URL=PATH   load $refs under URL from PATH (repeatable)\n"
            "  --ca-file PEM        CA bundle for an https upstream (default: system CAs)\n"
            "  --insecure           do not verify the upstream's certificate\n"
            "  --anomalies FILE     append every finding as a JSON line to FILE\n"
            "  --profile P          strict (default), third-party or report-only\n"
            "full config:\n"
            "  --config FILE        YAML config (see policies/README.md); check it first\n"
            "                       with 'driftgate check-config FILE'\n"
            "either:\n"
            "  --workers N          worker threads (default: config, else one per core)\n"
            "  --log FILE           JSON log lines to FILE (default: stderr)\n"
            "  --log-level LEVEL    debug, info (default), warn, error\n"
            "  --store FILE         drift store (SQLite): deduplicated drift, explained by the\n"
            "                       heuristic, or by the config's explain: backend\n"
            "\n"
            "Signals: SIGHUP reloads the config and specs (a bad one is rejected and the\n"
            "old one keeps serving), SIGTERM/SIGINT drain and stop, SIGUSR1 reopens logs.\n"
            "Exit status: 0 after a clean stop, 2 when it cannot start.\n");
}

typedef struct run_args {
    const char *config, *spec, *upstream, *listen, *admin, *mode, *log, *log_level,
        *anomalies, *ca_file, *store, *profile;
    int insecure;
    long workers;
    char **ref_map;
    size_t n_ref_map;
} run_args;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Command-line overrides, applied after every (re)load. */
static int apply_overrides(const run_args *a, dg_config *c, dg_error *err)
{
    if (a->workers > 0)
        c->workers = (unsigned)a->workers;
    if (a->log) {
        free(c->log_file);
        c->log_file = strcmp(a->log, "-") ? strdup(a->log) : NULL;
    }
    if (a->log_level)
        c->log_level = dg_log_level_parse(a->log_level);
    if (a->anomalies) {
        free(c->anomaly_file);
        c->anomaly_file = strdup(a->anomalies);
    }
    if (a->store) {
        free(c->store.url);
        c->store.url = strdup(a->store);
        if (!c->store.url)
            return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    if (!a->config && a->profile && c->n_apis == 1) {
        dg_profile pr = !strcmp(a->profile, "third-party") ? DG_PROFILE_THIRD_PARTY
                        : !strcmp(a->profile, "report-only") ? DG_PROFILE_REPORT_ONLY
                                                             : DG_PROFILE_STRICT;
        if (dg_api_set_profile(&c->apis[0], pr, !a->mode))
            return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    if (!a->config && c->n_apis == 1) {
        dg_api *api = &c->apis[0];
        if (a->ca_file) {
            free(api->tls.ca_file);
            api->tls.ca_file = strdup(a->ca_file);
        }
        if (a->insecure)
            api->tls.verify = 0;
        if (a->n_ref_map) {
            char **m = calloc(a->n_ref_map * 2, sizeof *m);
            if (!m)
                return dg_error_set(err, DG_ENOMEM, "out of memory");
            for (size_t i = 0; i < a->n_ref_map * 2; i++)
                m[i] = dup_or_null(a->ref_map[i]);
            for (size_t i = 0; i < api->n_ref_map * 2; i++)
                free(api->ref_map[i]);
            free(api->ref_map);
            api->ref_map = m;
            api->n_ref_map = a->n_ref_map;
        }
    }
    return 0;
}

static int load(void *ctx, dg_config **out, dg_error *errs, size_t max_errs, size_t *n_errs)
{
    const run_args *a = ctx;
    int rc;
    *n_errs = 0;
    if (a->config) {
        rc = dg_config_load(a->config, out, errs, max_errs, n_errs);
    } else {
        dg_mode mode = a->mode ? (dg_mode)dg_mode_parse(a->mode) : DG_MODE_MONITOR;
        rc = dg_config_quick(a->spec, a->upstream, a->listen, a->admin, mode, out, errs);
        if (rc)
            *n_errs = 1;
    }
    if (!rc && (rc = apply_overrides(a, *out, errs))) {
        *n_errs = 1;
        dg_config_free(*out);
        *out = NULL;
    }
    return rc;
}

int dg_cmd_run(int argc, char **argv)
{
    run_args a = {0};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = !strcmp(o, "--config")      ? &a.config
                            : !strcmp(o, "--spec")      ? &a.spec
                            : !strcmp(o, "--upstream")  ? &a.upstream
                            : !strcmp(o, "--listen")    ? &a.listen
                            : !strcmp(o, "--admin")     ? &a.admin
                            : !strcmp(o, "--mode")      ? &a.mode
                            : !strcmp(o, "--log")       ? &a.log
                            : !strcmp(o, "--log-level") ? &a.log_level
                            : !strcmp(o, "--anomalies") ? &a.anomalies
                            : !strcmp(o, "--ca-file")   ? &a.ca_file
                            : !strcmp(o, "--store")     ? &a.store
                            : !strcmp(o, "--profile")   ? &a.profile
                                                        : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 0;
        } else if (slot) {
            if (!dg_cli_need_value("run", i, argc, argv))
                return 2;
            *slot = argv[++i];
        } else if (!strcmp(o, "--workers")) {
            if (!dg_cli_need_value("run", i, argc, argv))
                return 2;
            char *end;
            a.workers = strtol(argv[++i], &end, 10);
            if (*end || a.workers < 1 || a.workers > 256) {
                fprintf(stderr, "driftgate run: --workers must be 1..256\n");
                return 2;
            }
        } else if (!strcmp(o, "--ref-map")) {
            if (!dg_cli_need_value("run", i, argc, argv) || dg_cli_add_ref_map(argv[++i], &a.ref_map,
                                                                 &a.n_ref_map))
                return 2;
        } else if (!strcmp(o, "--insecure")) {
            a.insecure = 1;
        } else {
            fprintf(stderr, "driftgate run: unknown option %s\n", o);
            usage(stderr);
            return 2;
        }
    }
    if (a.config && (a.spec || a.upstream || a.mode || a.listen || a.admin)) {
        fprintf(stderr, "driftgate run: --config cannot be combined with --spec/--upstream/"
                        "--mode/--listen/--admin (put them in the config)\n");
        return 2;
    }
    if (!a.config && (!a.spec || !a.upstream)) {
        fprintf(stderr, "driftgate run: give --spec and --upstream, or --config\n");
        usage(stderr);
        return 2;
    }
    if (a.profile && strcmp(a.profile, "strict") && strcmp(a.profile, "third-party") &&
        strcmp(a.profile, "report-only")) {
        fprintf(stderr, "driftgate run: --profile must be strict, third-party or report-only\n");
        return 2;
    }
    if (a.config && a.profile) {
        fprintf(stderr, "driftgate run: --profile is for quick start (put profile: in the config)\n");
        return 2;
    }
    if (a.mode && dg_mode_parse(a.mode) < 0) {
        fprintf(stderr, "driftgate run: --mode must be monitor, enforce or off\n");
        return 2;
    }
    if (a.log_level && dg_log_level_parse(a.log_level) < 0) {
        fprintf(stderr, "driftgate run: --log-level must be debug, info, warn or error\n");
        return 2;
    }
    dg_error errs[20];
    size_t n = 0;
    dg_config *cfg = NULL;
    int rc = load(&a, &cfg, errs, 20, &n);
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            char line[1200];
            fprintf(stderr, "driftgate run: %s\n", dg_error_format(&errs[i], line, sizeof line));
        }
        if (!n)
            fprintf(stderr, "driftgate run: cannot load the config (%s)\n",
                    dg_error_code_name(rc));
        rc = 2;
    } else {
        dg_proxy_opts po = {load, &a, a.config ? a.config : "quick start (--spec/--upstream)"};
        rc = dg_proxy_run(cfg, &po) ? 2 : 0;
    }
    for (size_t i = 0; i < a.n_ref_map * 2; i++)
        free(a.ref_map[i]);
    free(a.ref_map);
    return rc;
}
