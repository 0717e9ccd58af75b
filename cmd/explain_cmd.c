/* cmd/explain_cmd.c: `driftgate explain`: explain pending drift now. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze.h"
#include "cmd/cli.h"
#include "common/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: driftgate explain --config FILE [--store FILE] [--api NAME] [--dry-run]\n"
            "                         [--timeout DURATION]\n"
            "\n"
            "Runs one explain batch now for each API (or --api NAME) that has drift waiting\n"
            "for an explanation in the drift store: its configured Gemma 4 backend (explain:\n"
            "in the config), or the heuristic explainer for APIs without one.\n"
            "\n"
            "  --config FILE       driftgate config (APIs, explain settings, store.path)\n"
            "  --store FILE        the drift store (default: the config's store.path)\n"
            "  --api NAME          only this API\n"
            "  --dry-run           print exactly the request that would be sent (secrets shown\n"
            "                      as ***), or the heuristic's explanations; send and store nothing\n"
            "  --timeout DURATION  give up waiting for the backend after this (default 10m)\n"
            "\n"
            "Exit status: 0 done (or nothing pending), 1 a batch failed (its drift keeps the\n"
            "heuristic explanation and is asked about again later), 2 usage, config or store\n"
            "error.\n");
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Loads the config; errors printed. */
static dg_config *load_config(const char *path)
{
    dg_error errs[20];
    size_t n = 0;
    dg_config *cfg = NULL;
    if (dg_config_load(path, &cfg, errs, 20, &n)) {
        for (size_t i = 0; i < n; i++) {
            char line[1200];
            fprintf(stderr, "%s\n", dg_error_format(&errs[i], line, sizeof line));
        }
        return NULL;
    }
    return cfg;
}

static int run(dg_pipeline *p, uint64_t timeout_ms)
{
    dg_pipeline_limit_batches(p, 1);
    int64_t deadline = mono_ms() + (int64_t)timeout_ms;
    int busy = dg_pipeline_explain(p, 1, 100);
    while (busy && mono_ms() < deadline)
        busy = dg_pipeline_explain(p, 0, 100);
    int rc = 0;
    if (busy) {
        fprintf(stderr, "driftgate explain: the backend did not answer within %llu s\n",
                (unsigned long long)(timeout_ms / 1000));
        rc = 1;
    }
    for (size_t i = 0; i < dg_pipeline_api_count(p); i++) {
        dg_pipeline_api_stats st;
        dg_pipeline_api_stats_get(p, i, &st);
        if (st.model) {
            printf("%s: %s %s: %u request%s, %llu drift%s explained", st.api, st.backend, st.model,
                   st.batches, st.batches == 1 ? "" : "s", (unsigned long long)st.explained,
                   st.explained == 1 ? "" : "s");
            if (st.failed) {
                printf(", %llu failed (%s)", (unsigned long long)st.failed, st.last_error);
                rc = 1;
            }
            printf("\n");
        } else {
            printf("%s: heuristic: %llu drift%s explained (explanations rewritten from the "
                   "current spec)\n", st.api, (unsigned long long)st.heuristic,
                   st.heuristic == 1 ? "" : "s");
        }
    }
    return rc;
}

int dg_cmd_explain(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"store", required_argument, NULL, 's'},
        {"api", required_argument, NULL, 'a'},    {"dry-run", no_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL, *store = NULL, *api = NULL;
    int dry = 0;
    uint64_t timeout_ms = 600000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': store = optarg; break;
        case 'a': api = optarg; break;
        case 'n': dry = 1; break;
        case 't':
            if (dg_parse_duration_ms(optarg, &timeout_ms) || !timeout_ms) {
                fprintf(stderr, "driftgate explain: --timeout: \"%s\" is not a duration\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || optind < argc) {
        usage(stderr);
        return 2;
    }
    dg_config *cfg = load_config(config);
    if (!cfg)
        return 2;
    const char *url = store ? store : cfg->store.url;
    if (!url) {
        fprintf(stderr, "driftgate explain: no drift store: give --store FILE or set store.path "
                        "in %s\n", config);
        dg_config_free(cfg);
        return 2;
    }
    int found = !api;
    for (size_t i = 0; api && i < cfg->n_apis; i++)
        found |= !strcmp(cfg->apis[i].name, api);
    if (!found) {
        fprintf(stderr, "driftgate explain: no API named \"%s\" in %s\n", api, config);
        dg_config_free(cfg);
        return 2;
    }
    if (api) { /* the pipeline takes only the first API: put the chosen one there */
        for (size_t i = 1; i < cfg->n_apis; i++)
            if (!strcmp(cfg->apis[i].name, api)) {
                dg_api t = cfg->apis[0];
                cfg->apis[0] = cfg->apis[i];
                cfg->apis[i] = t;
            }
    }
    dg_store_opts so = {dry, (unsigned)cfg->store.busy_timeout_ms, 0};
    dg_store *st = NULL;
    dg_error e;
    if (dg_store_open(url, &so, &st, &e)) {
        char line[1200];
        fprintf(stderr, "driftgate explain: %s\n", dg_error_format(&e, line, sizeof line));
        dg_config_free(cfg);
        return 2;
    }
    size_t all = cfg->n_apis;
    if (api)
        cfg->n_apis = 1;
    dg_pipeline *p = NULL;
    int rc = dg_pipeline_new(cfg, st, NULL, &p, &e);
    cfg->n_apis = all;
    if (rc) {
        fprintf(stderr, "driftgate explain: %s\n", e.msg);
        dg_store_close(st);
        dg_config_free(cfg);
        return 2;
    }
    if (dry) {
        dg_buf out = DG_BUF_INIT;
        rc = dg_pipeline_explain_dry_run(p, api, &out, &e);
        if (rc)
            fprintf(stderr, "driftgate explain: %s\n", e.msg);
        else if (out.data)
            fwrite(out.data, 1, out.len, stdout);
        dg_buf_free(&out);
        rc = rc ? 2 : 0;
    } else {
        rc = run(p, timeout_ms);
    }
    dg_pipeline_free(p);
    dg_store_close(st);
    dg_config_free(cfg);
    return rc;
}
