/* cmd/report_cmd.c: `driftgate report`: drift reports per API and owner
 * (analyze/report.h) from a drift store into a directory. The store is
 * opened read-only unless the reports are recorded for the next run's
 * new / recurring / resolved (the default; --no-save for a dry look). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "analyze/report.h"
#include "analyze/store.h"
#include "cmd/cli.h"
#include "policies/policies.h"

static const char *report_help =
    "usage: driftgate report --store FILE --out DIR [options]\n"
    "\n"
    "Writes drift reports from the drift store: one per API (and one per owning\n"
    "team with --per-owner, or only a team's with --owner) in HTML, Markdown and/or\n"
    "JSON, plus index.html / index.md / index.json listing them. Each report has the\n"
    "totals, the drifts that are new, recurring or resolved since the scope's\n"
    "previous report, the top drifts with first/last seen, daily counts, the\n"
    "example's shape, the explanation (and who wrote it), the suggested spec patch\n"
    "and the spec location. The HTML is one self-contained file (no scripts, no\n"
    "external resources). The JSON format is analyze/report.schema.json.\n"
    "\n"
    "  --store FILE      the drift store: a SQLite file (or sqlite:FILE)\n"
    "  --out DIR         where to write the reports (created when missing)\n"
    "  --since DURATION  the window: drifts last seen within it, e.g. 24h, 7d, 90m\n"
    "                    (default 24h)\n"
    "  --api NAME        only this API\n"
    "  --owner TEAM      only this team's drifts, in one report for the team\n"
    "  --per-owner       also one report per owning team\n"
    "  --format LIST     html,md,json or any of them (default: all three)\n"
    "  --top N           drifts listed in detail per report (default 50)\n"
    "  --no-save         do not record these reports in the store (the next report\n"
    "                    compares with the last recorded one); opens the store read-only\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 reports written (also when there was no drift), 2 usage error,\n"
    "store missing or unreadable, or output directory not writable.\n";

static int usage_err(const char *fmt, const char *arg)
{
    fprintf(stderr, "driftgate report: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'driftgate report --help' for the options.\n");
    return 2;
}

/* "7d" (days) here; "24h", "90m", "30s", "500ms" through dg_parse_duration_ms. */
static int parse_since(const char *s, uint64_t *ms)
{
    size_t n = strlen(s);
    if (n >= 2 && s[n - 1] == 'd') {
        uint64_t d = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            if (s[i] < '0' || s[i] > '9' || d > (UINT64_MAX / 10))
                return -1;
            d = d * 10 + (uint64_t)(s[i] - '0');
        }
        if (d > UINT64_MAX / 86400000u)
            return -1;
        *ms = d * 86400000u;
        return 0;
    }
    return dg_parse_duration_ms(s, ms) ? -1 : 0;
}

static int parse_formats(const char *s, unsigned *out)
{
    *out = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!strcmp(t, "html"))
            *out |= DG_REPORT_HTML;
        else if (!strcmp(t, "md") || !strcmp(t, "markdown"))
            *out |= DG_REPORT_MD;
        else if (!strcmp(t, "json"))
            *out |= DG_REPORT_JSON;
        else
            return -1;
    }
    return *out ? 0 : -1;
}

/* The store must exist: opening it read-write would create an empty one. */
static int store_exists(const char *url)
{
    const char *p = url;
    if (!strncmp(p, "postgres://", 11) || !strncmp(p, "postgresql://", 13))
        return 1; /* dg_store_open says what is wrong with it */
    if (!strncmp(p, "sqlite://", 9))
        p += 9;
    else if (!strncmp(p, "sqlite:", 7))
        p += 7;
    struct stat st;
    if (stat(p, &st)) {
        fprintf(stderr, "driftgate report: store \"%s\" does not exist\n", p);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "driftgate report: store \"%s\" is not a file\n", p);
        return 0;
    }
    return 1;
}

static void print_err(const char *what, const dg_error *e)
{
    char buf[1200];
    fprintf(stderr, "driftgate report: %s%s\n", what, dg_error_format(e, buf, sizeof buf));
}

int dg_cmd_report(int argc, char **argv)
{
    static const struct option lo[] = {
        {"store", 1, 0, 's'},  {"out", 1, 0, 'o'},     {"since", 1, 0, 'S'},
        {"api", 1, 0, 'a'},    {"owner", 1, 0, 'w'},   {"per-owner", 0, 0, 'p'},
        {"format", 1, 0, 'f'}, {"top", 1, 0, 't'},     {"no-save", 0, 0, 'n'},
        {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *store = NULL, *since = "24h";
    dg_report_opts o;
    memset(&o, 0, sizeof o);
    o.save = 1;
    o.formats = DG_REPORT_HTML | DG_REPORT_MD | DG_REPORT_JSON;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 's': store = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'S': since = optarg; break;
        case 'a': o.api = optarg; break;
        case 'w': o.owner = optarg; break;
        case 'p': o.per_owner = 1; break;
        case 'n': o.save = 0; break;
        case 'f':
            if (parse_formats(optarg, &o.formats))
                return usage_err("--format \"%s\": give html, md, json or a comma-separated list",
                                 optarg);
            break;
        case 't': {
            char *end = NULL;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || v < 1 || v > 100000)
                return usage_err("--top \"%s\": give a number from 1 to 100000", optarg);
            o.top = (size_t)v;
            break;
        }
        case 'h': fputs(report_help, stdout); return 0;
        case ':': return usage_err("%s needs a value", argv[optind - 1]);
        default: return usage_err("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_err("unexpected argument \"%s\"", argv[optind]);
    if (!store)
        return usage_err("%s", "--store FILE is required");
    if (!o.out_dir || !*o.out_dir)
        return usage_err("%s", "--out DIR is required");
    if ((o.api && !*o.api) || (o.owner && !*o.owner))
        return usage_err("%s", "--api and --owner need a non-empty name");
    uint64_t window = 0;
    if (parse_since(since, &window) || window == 0)
        return usage_err("--since \"%s\": give a duration such as 24h, 7d or 90m", since);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    o.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    o.since_ms = window >= (uint64_t)o.now_ms ? 0 : o.now_ms - (int64_t)window;

    if (!store_exists(store))
        return 2;
    dg_store_opts so = {!o.save, 0, 0};
    dg_store *s = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    if (dg_store_open(store, &so, &s, &err)) {
        print_err("", &err);
        return 2;
    }
    dg_report_summary sum;
    int rc = dg_report_run(s, &o, &sum, &err);
    dg_store_close(s);
    if (rc) {
        print_err("", &err);
        dg_report_summary_clear(&sum);
        return 2;
    }
    printf("driftgate report: %zu report%s (%zu drift%s, %llu occurrence%s in the window) "
           "written to %s%s\n",
           sum.reports, sum.reports == 1 ? "" : "s", sum.drifts, sum.drifts == 1 ? "" : "s",
           (unsigned long long)sum.occurrences, sum.occurrences == 1 ? "" : "s", o.out_dir,
           sum.drifts ? "" : ": no drift in this window");
    for (size_t i = 0; i < sum.n_files; i++)
        printf("  %s\n", sum.files[i]);
    dg_report_summary_clear(&sum);
    return 0;
}
