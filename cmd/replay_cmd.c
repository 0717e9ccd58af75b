/* cmd/replay_cmd.c: `driftgate replay`: recorded traffic (HAR, driftgate's
 * JSON lines, anomaly files) judged offline exactly as the proxy would
 * judge it live (proxy.h's offline judge), its anomalies deduplicated
 * into drifts by the analysis pipeline and written to a drift store.
 *
 * One thread: an entry is judged, the anomalies it produced are drained
 * from the (bounded) queue at once, so the queue never drops. Nothing is
 * sent to a model here: `driftgate explain` does that. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze.h"
#include "analyze/capture.h"
#include "cmd/cli.h"
#include "common/buf.h"
#include "common/log.h"
#include "proxy/proxy.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: driftgate replay --spec SPEC [--upstream-host H] [options] FILE...\n"
            "       driftgate replay --config driftgate.yaml [--api NAME] [options] FILE...\n"
            "\n"
            "Judges recorded exchanges exactly as the proxy would (routing, policies,\n"
            "ignore rules, severities, redaction, gzip/deflate bodies, ndjson items,\n"
            "undocumented fields and statuses) and feeds the findings to the drift\n"
            "pipeline. FILE is a HAR 1.2 file, driftgate's JSON-lines capture (one\n"
            "exchange per line), or an --anomalies file (ingested as is); '-' = stdin.\n"
            "\n"
            "  --spec SPEC          one API, the strict profile (API name: the spec's base name)\n"
            "  --upstream-host H    with --spec: only exchanges sent to host H are routed\n"
            "                       (port ignored); others count as unrouted\n"
            "  --ref-map URL=PATH   with --spec: load $refs under URL from PATH (repeatable)\n"
            "  --config FILE        the proxy's config: its APIs, matches and policies\n"
            "  --api NAME           route every exchange to this API (its prefix is still\n"
            "                       stripped when present)\n"
            "  --store FILE         write drifts to this drift store (SQLite; created when\n"
            "                       missing). The config's store: is not used by replay.\n"
            "  --anomalies OUT      write every finding as a JSON line to OUT (truncated first)\n"
            "  --format text|json   text (default), or one JSON object per line\n"
            "  --verbose, -v        one line per entry, whatever its result\n"
            "  --max-bytes SIZE     largest HAR file and longest JSON line (default 512MiB)\n"
            "\n"
            "Sampling (sample_rate) does not apply: every recorded exchange is judged.\n"
            "HAR bodies are already decoded, so their Content-Encoding header is ignored.\n"
            "Broken entries are reported with their location and skipped.\n"
            "Exit status: 0 every judged exchange valid (info-level drift, skipped and\n"
            "unrouted exchanges included), 1 any invalid or not judgeable (error), or any\n"
            "error-severity anomaly line, 2 usage, config/spec or I/O error, or every\n"
            "entry broken.\n");
}

typedef struct replay_args {
    const char *spec, *upstream_host, *config, *api, *store, *anomalies, *format;
    char **ref_map;
    size_t n_ref_map;
    int verbose, json;
    uint64_t max_bytes;
    char **files;
    size_t n_files;
} replay_args;

/* ---------------------------------------------------------- counters */

typedef struct reason_count {
    const char *reason;           /* static strings from the judge */
    uint64_t n;
} reason_count;

typedef struct reasons {
    reason_count r[32];
    size_t n;
    uint64_t other;
} reasons;

static void reason_add(reasons *rs, const char *reason)
{
    if (!reason)
        reason = "unknown";
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->r[i].reason, reason)) {
            rs->r[i].n++;
            return;
        }
    if (rs->n < sizeof rs->r / sizeof *rs->r) {
        rs->r[rs->n].reason = reason;
        rs->r[rs->n++].n = 1;
    } else {
        rs->other++;
    }
}

static int reason_cmp(const void *a, const void *b)
{
    return strcmp(((const reason_count *)a)->reason, ((const reason_count *)b)->reason);
}

/* Distinct fingerprints seen (open addressing on their 64-bit value). */
typedef struct fp_set {
    uint64_t *slot;               /* 0 = empty (a zero fingerprint is kept in has_zero) */
    size_t cap, n;
    int has_zero;
} fp_set;

static int fp_add(fp_set *s, const char *hex)
{
    uint64_t v = strtoull(hex, NULL, 16);
    if (!v) {
        s->n += !s->has_zero;
        s->has_zero = 1;
        return 0;
    }
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return DG_ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slot[i])
                continue;
            size_t j = (size_t)(s->slot[i] * 0x9e3779b97f4a7c15ull) & (nc - 1);
            while (ns[j])
                j = (j + 1) & (nc - 1);
            ns[j] = s->slot[i];
        }
        free(s->slot);
        s->slot = ns;
        s->cap = nc;
    }
    size_t j = (size_t)(v * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->slot[j] && s->slot[j] != v)
        j = (j + 1) & (s->cap - 1);
    if (!s->slot[j]) {
        s->slot[j] = v;
        s->n++;
    }
    return 0;
}

typedef struct replay {
    const replay_args *a;
    dg_offline *off;
    dg_anomaly_queue *q;
    dg_store *store;
    dg_metrics *m;
    dg_pipeline *pipe;
    FILE *anom_out;
    fp_set fps;
    uint64_t read, validated, valid, invalid, errors, skipped, unrouted, broken, info_only;
    uint64_t anomalies, anom_err, anom_info, lines_in, lines_in_err, lines_other_api;
    reasons skip_r, unrouted_r, error_r;
    int fatal;                    /* exit 2 */
    int store_failed;
} replay;

/* ---------------------------------------------------------- output */

static void json_str(dg_buf *b, const char *s)
{
    dg_buf_putc(b, '"');
    if (s)
        dg_buf_append_json_str(b, s, strlen(s));
    dg_buf_putc(b, '"');
}

static void out_line(dg_buf *b)
{
    if (b->data)
        fwrite(b->data, 1, b->len, stdout);
    fputc('\n', stdout);
    dg_buf_reset(b);
}

static void print_broken(replay *r, const char *file, const char *location, const dg_error *e)
{
    char m[1400];
    dg_error_format(e, m, sizeof m);
    if (!r->a->json) {
        printf("broken: %s\n", m);
        return;
    }
    dg_buf b = DG_BUF_INIT;
    dg_buf_append(&b, "{\"file\":", 8);
    json_str(&b, file);
    dg_buf_append(&b, ",\"location\":", 12);
    json_str(&b, location);
    dg_buf_append(&b, ",\"result\":\"broken\",\"error\":", 27);
    json_str(&b, m);
    dg_buf_putc(&b, '}');
    out_line(&b);
    dg_buf_free(&b);
}

static void print_verdict(replay *r, const char *file, const char *location, const char *method,
                          const dg_offline_verdict *v)
{
    int shown = v->result == DG_OFFLINE_INVALID || v->result == DG_OFFLINE_ERROR;
    if (!shown && !r->a->verbose)
        return;
    const char *res = dg_offline_result_name(v->result);
    if (!r->a->json) {
        printf("%s %s: %s %s -> %d", file, location, method, v->path ? v->path : "?", v->status);
        if (v->api)
            printf(" (%s%s%s)", v->api, v->operation ? " " : "", v->operation ? v->operation : "");
        printf(": %s", res);
        if (v->result == DG_OFFLINE_INVALID)
            printf(", %zu violation%s", v->n_err, v->n_err == 1 ? "" : "s");
        if (v->n_info)
            printf(", %zu info drift", v->n_info);
        if (v->reason && v->result != DG_OFFLINE_INVALID)
            printf(" (%s%s%s)", v->reason, v->detail[0] ? ": " : "", v->detail);
        printf("\n");
        for (size_t i = 0; i < v->n_viol; i++) {
            const dg_offline_viol *x = &v->viol[i];
            printf("  %s: %s%s: %s", x->pointer[0] ? x->pointer : "/", x->kind,
                   strcmp(x->severity, "info") ? "" : " (info)", x->message);
            if (x->value)
                printf(" value=%s", x->value);
            printf("\n");
        }
        if (v->truncated)
            printf("  ... %zu more not shown\n", v->n_err + v->n_info - v->n_viol);
        return;
    }
    dg_buf b = DG_BUF_INIT;
    dg_buf_append(&b, "{\"file\":", 8);
    json_str(&b, file);
    dg_buf_append(&b, ",\"location\":", 12);
    json_str(&b, location);
    dg_buf_printf(&b, ",\"result\":\"%s\"", res);
    if (v->reason) {
        dg_buf_append(&b, ",\"reason\":", 10);
        json_str(&b, v->reason);
    }
    if (v->detail[0]) {
        dg_buf_append(&b, ",\"detail\":", 10);
        json_str(&b, v->detail);
    }
    if (v->api) {
        dg_buf_append(&b, ",\"api\":", 7);
        json_str(&b, v->api);
    }
    if (v->operation) {
        dg_buf_append(&b, ",\"operation\":", 13);
        json_str(&b, v->operation);
    }
    dg_buf_append(&b, ",\"method\":", 10);
    json_str(&b, method);
    dg_buf_append(&b, ",\"path\":", 8);
    json_str(&b, v->path);
    dg_buf_printf(&b, ",\"status\":%d,\"violations_total\":%zu,\"info_total\":%zu,"
                      "\"truncated\":%s,\"violations\":[",
                  v->status, v->n_err, v->n_info, v->truncated ? "true" : "false");
    for (size_t i = 0; i < v->n_viol; i++) {
        const dg_offline_viol *x = &v->viol[i];
        dg_buf_append(&b, i ? ",{\"pointer\":" : "{\"pointer\":", i ? 12 : 11);
        json_str(&b, x->pointer);
        dg_buf_printf(&b, ",\"kind\":\"%s\",\"severity\":\"%s\",\"message\":", x->kind,
                      x->severity);
        json_str(&b, x->message);
        if (x->schema) {
            dg_buf_append(&b, ",\"schema\":", 10);
            json_str(&b, x->schema);
        }
        if (x->value) {
            dg_buf_append(&b, ",\"value\":", 9);
            json_str(&b, x->value);
        }
        dg_buf_putc(&b, '}');
    }
    dg_buf_append(&b, "]}", 2);
    out_line(&b);
    dg_buf_free(&b);
}

/* ---------------------------------------------------------- anomalies */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Flushes the pipeline when it holds many distinct drifts, so memory stays
 * bounded on large captures (the store sums the deltas). */
#define FLUSH_PENDING 50000

static void flush(replay *r)
{
    if (!r->pipe)
        return;
    dg_error e = {0};
    if (dg_pipeline_flush(r->pipe, &e)) {
        char m[1400];
        fprintf(stderr, "driftgate replay: drift store %s: %s\n", r->a->store,
                dg_error_format(&e, m, sizeof m));
        r->store_failed = 1;
    }
}

/* One anomaly (owned): to the anomalies file, the fingerprint count and
 * the pipeline. */
static void take_anomaly(replay *r, dg_anomaly *a)
{
    r->anomalies++;
    if (a->severity == DG_SEV_INFO)
        r->anom_info++;
    else
        r->anom_err++;
    if (r->anom_out) {
        dg_buf b = DG_BUF_INIT;
        if (!dg_anomaly_to_json(a, &b) && !dg_buf_putc(&b, '\n'))
            fwrite(b.data, 1, b.len, r->anom_out);
        dg_buf_free(&b);
    }
    dg_drift d;
    if (!dg_drift_from_anomaly(a, &d)) {
        if (fp_add(&r->fps, d.fingerprint))
            r->fatal = 1;
        dg_drift_clear(&d);
    } else {
        r->fatal = 1;
    }
    if (r->pipe) {
        if (dg_pipeline_add(r->pipe, a))
            r->store_failed = 1; /* dropped: reported in the summary */
        if (dg_pipeline_pending(r->pipe) >= FLUSH_PENDING)
            flush(r);
    }
    dg_anomaly_free(a);
}

static void drain(replay *r)
{
    dg_anomaly *a;
    while ((a = dg_anomaly_queue_pop(r->q, 0)))
        take_anomaly(r, a);
}

/* ---------------------------------------------------------- entries */

static void judge_entry(replay *r, const char *file, dg_capture_entry *e)
{
    char rid[sizeof e->location + 300];
    snprintf(rid, sizeof rid, "%.280s:%s", file, e->location);
    dg_offline_exchange x = {0};
    x.method = e->method;
    x.url = e->url;
    x.host = e->host;
    x.status = e->status;
    x.content_type = e->content_type;
    x.content_encoding = e->content_encoding;
    x.body = e->body;
    x.body_len = e->body_len;
    x.has_body = e->has_body;
    x.ts_ms = e->ts_ms;
    x.request_id = rid;
    dg_offline_verdict v;
    dg_offline_judge(r->off, &x, &v);
    switch (v.result) {
    case DG_OFFLINE_VALID:
        r->validated++;
        r->valid++;
        if (v.n_info)
            r->info_only++;
        break;
    case DG_OFFLINE_INVALID:
        r->validated++;
        r->invalid++;
        break;
    case DG_OFFLINE_ERROR:
        r->validated++;
        r->errors++;
        reason_add(&r->error_r, v.reason);
        break;
    case DG_OFFLINE_SKIPPED:
        r->skipped++;
        reason_add(&r->skip_r, v.reason);
        break;
    case DG_OFFLINE_UNROUTED:
        r->unrouted++;
        reason_add(&r->unrouted_r, v.reason);
        break;
    }
    print_verdict(r, file, e->location, e->method, &v);
    drain(r);
}

static void ingest_line(replay *r, dg_capture_entry *e)
{
    dg_anomaly *a = e->anomaly;
    e->anomaly = NULL;
    if (r->a->api && strcmp(a->api, r->a->api)) {
        r->lines_other_api++;
        dg_anomaly_free(a);
        return;
    }
    r->lines_in++;
    if (a->severity == DG_SEV_ERROR)
        r->lines_in_err++;
    if (!a->ts_ns)
        a->ts_ns = now_ns();
    take_anomaly(r, a);
}

static void replay_file(replay *r, const char *file)
{
    dg_capture *c = NULL;
    dg_error err = {0};
    char m[1400];
    if (dg_capture_open(file, r->a->max_bytes, &c, &err)) {
        fprintf(stderr, "driftgate replay: %s\n", dg_error_format(&err, m, sizeof m));
        r->fatal = 1;
        return;
    }
    for (;;) {
        dg_capture_entry e;
        memset(&err, 0, sizeof err);
        int rc = dg_capture_next(c, &e, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (rc == DG_EIO || rc == DG_ENOMEM) {
                fprintf(stderr, "driftgate replay: %s\n", dg_error_format(&err, m, sizeof m));
                r->fatal = 1;
                break;
            }
            r->read++;
            r->broken++;
            print_broken(r, file, e.location, &err);
            continue;
        }
        r->read++;
        if (e.anomaly)
            ingest_line(r, &e);
        else
            judge_entry(r, file, &e);
    }
    dg_capture_close(c);
}

/* ---------------------------------------------------------- summary */

static void reasons_text(const char *title, reasons *rs)
{
    if (!rs->n)
        return;
    qsort(rs->r, rs->n, sizeof *rs->r, reason_cmp);
    printf("%s:", title);
    for (size_t i = 0; i < rs->n; i++)
        printf("%s %s %llu", i ? "," : "", rs->r[i].reason, (unsigned long long)rs->r[i].n);
    if (rs->other)
        printf(", other %llu", (unsigned long long)rs->other);
    printf("\n");
}

static void reasons_json(dg_buf *b, const char *name, reasons *rs)
{
    qsort(rs->r, rs->n, sizeof *rs->r, reason_cmp);
    dg_buf_printf(b, ",\"%s\":{", name);
    for (size_t i = 0; i < rs->n; i++) {
        if (i)
            dg_buf_putc(b, ',');
        json_str(b, rs->r[i].reason);
        dg_buf_printf(b, ":%llu", (unsigned long long)rs->r[i].n);
    }
    if (rs->other)
        dg_buf_printf(b, "%s\"other\":%llu", rs->n ? "," : "", (unsigned long long)rs->other);
    dg_buf_putc(b, '}');
}

/* New drifts stored, from the pipeline's own counter (0 when unknown). */
static uint64_t new_drifts(replay *r)
{
    if (!r->m)
        return 0;
    dg_metric *f = dg_metrics_counter(r->m, "driftgate_drift_fingerprints_total",
                                      "New drifts stored.", NULL, 0);
    return dg_series_counter_value(dg_metric_series(f, NULL));
}

static void summary(replay *r)
{
    uint64_t dropped = r->pipe ? dg_pipeline_dropped(r->pipe) : 0;
    if (!r->a->json) {
        printf("replay: read %llu, validated %llu, valid %llu, invalid %llu, error %llu, "
               "skipped %llu, unrouted %llu, broken %llu",
               (unsigned long long)r->read, (unsigned long long)r->validated,
               (unsigned long long)r->valid, (unsigned long long)r->invalid,
               (unsigned long long)r->errors, (unsigned long long)r->skipped,
               (unsigned long long)r->unrouted, (unsigned long long)r->broken);
        if (r->lines_in || r->lines_other_api)
            printf(", anomaly lines %llu", (unsigned long long)r->lines_in);
        if (r->lines_other_api)
            printf(" (%llu of other APIs ignored)", (unsigned long long)r->lines_other_api);
        printf("\n");
        reasons_text("skipped", &r->skip_r);
        reasons_text("unrouted", &r->unrouted_r);
        reasons_text("error", &r->error_r);
        printf("anomalies: %llu (error %llu, info %llu), drifts %zu",
               (unsigned long long)r->anomalies, (unsigned long long)r->anom_err,
               (unsigned long long)r->anom_info, r->fps.n);
        if (r->info_only)
            printf("; %llu valid exchange%s with info-level drift",
                   (unsigned long long)r->info_only, r->info_only == 1 ? "" : "s");
        printf("\n");
        if (r->pipe)
            printf("store: %s: %zu drift%s written (%llu new)%s\n", r->a->store, r->fps.n,
                   r->fps.n == 1 ? "" : "s", (unsigned long long)new_drifts(r),
                   r->store_failed ? ", NOT ALL WRITTEN (see the errors above)" : "");
        if (dropped)
            printf("store: %llu anomalies dropped (too many distinct drifts pending)\n",
                   (unsigned long long)dropped);
        return;
    }
    dg_buf b = DG_BUF_INIT;
    dg_buf_printf(&b,
                  "{\"summary\":{\"read\":%llu,\"validated\":%llu,\"valid\":%llu,\"invalid\":%llu,"
                  "\"error\":%llu,\"skipped\":%llu,\"unrouted\":%llu,\"broken\":%llu,"
                  "\"anomaly_lines\":%llu,\"anomaly_lines_other_api\":%llu,\"info_only\":%llu",
                  (unsigned long long)r->read, (unsigned long long)r->validated,
                  (unsigned long long)r->valid, (unsigned long long)r->invalid,
                  (unsigned long long)r->errors, (unsigned long long)r->skipped,
                  (unsigned long long)r->unrouted, (unsigned long long)r->broken,
                  (unsigned long long)r->lines_in, (unsigned long long)r->lines_other_api,
                  (unsigned long long)r->info_only);
    reasons_json(&b, "skipped_by_reason", &r->skip_r);
    reasons_json(&b, "unrouted_by_reason", &r->unrouted_r);
    reasons_json(&b, "error_by_reason", &r->error_r);
    dg_buf_printf(&b, ",\"anomalies\":%llu,\"anomalies_error\":%llu,\"anomalies_info\":%llu,"
                      "\"drifts\":%zu",
                  (unsigned long long)r->anomalies, (unsigned long long)r->anom_err,
                  (unsigned long long)r->anom_info, r->fps.n);
    if (r->pipe) {
        dg_buf_append(&b, ",\"store\":", 9);
        json_str(&b, r->a->store);
        dg_buf_printf(&b, ",\"drifts_written\":%zu,\"drifts_new\":%llu,\"store_ok\":%s,"
                          "\"dropped\":%llu",
                      r->fps.n, (unsigned long long)new_drifts(r),
                      r->store_failed ? "false" : "true", (unsigned long long)dropped);
    }
    dg_buf_append(&b, "}}", 2);
    out_line(&b);
    dg_buf_free(&b);
}

/* ---------------------------------------------------------- setup */

static int parse_args(int argc, char **argv, replay_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = !strcmp(o, "--spec")            ? &a->spec
                            : !strcmp(o, "--upstream-host") ? &a->upstream_host
                            : !strcmp(o, "--config")        ? &a->config
                            : !strcmp(o, "--api")           ? &a->api
                            : !strcmp(o, "--store")         ? &a->store
                            : !strcmp(o, "--anomalies")     ? &a->anomalies
                            : !strcmp(o, "--format")        ? &a->format
                                                            : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 0;
        } else if (slot) {
            if (!dg_cli_need_value("replay", i, argc, argv))
                return 2;
            *slot = argv[++i];
        } else if (!strcmp(o, "--ref-map")) {
            if (!dg_cli_need_value("replay", i, argc, argv) ||
                dg_cli_add_ref_map(argv[++i], &a->ref_map, &a->n_ref_map))
                return 2;
        } else if (!strcmp(o, "--max-bytes")) {
            if (!dg_cli_need_value("replay", i, argc, argv) || dg_parse_size(argv[++i], &a->max_bytes) ||
                !a->max_bytes) {
                fprintf(stderr, "driftgate replay: --max-bytes wants a size such as 64MiB\n");
                return 2;
            }
        } else if (!strcmp(o, "--verbose") || !strcmp(o, "-v")) {
            a->verbose = 1;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "driftgate replay: unknown option %s\n", o);
            usage(stderr);
            return 2;
        } else {
            a->files[a->n_files++] = argv[i];
        }
    }
    if (!a->spec == !a->config) {
        fprintf(stderr, "driftgate replay: give --spec or --config (one of them)\n");
        usage(stderr);
        return 2;
    }
    if (a->config && (a->upstream_host || a->n_ref_map)) {
        fprintf(stderr, "driftgate replay: --upstream-host and --ref-map go with --spec (a "
                        "config says them itself)\n");
        return 2;
    }
    if (!a->n_files) {
        fprintf(stderr, "driftgate replay: no capture FILE given\n");
        usage(stderr);
        return 2;
    }
    if (a->format && strcmp(a->format, "text") && strcmp(a->format, "json")) {
        fprintf(stderr, "driftgate replay: --format is text or json\n");
        return 2;
    }
    a->json = a->format && !strcmp(a->format, "json");
    return -1;
}

/* The quick-start config for --spec: one API, strict profile; with
 * --upstream-host, matched on that host. */
static int quick_config(const replay_args *a, dg_config **out, dg_error *err)
{
    const char *h = a->upstream_host;
    char url[600];
    snprintf(url, sizeof url, "http://%s", h && h[0] ? h : "upstream.invalid");
    int rc = dg_config_quick(a->spec, url, NULL, NULL, DG_MODE_MONITOR, out, err);
    if (rc)
        return rc;
    dg_api *api = &(*out)->apis[0];
    if (h && h[0]) {
        /* match.host compares the host without its port (IPv6 in brackets) */
        size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
        if (n > strlen(h))
            n = strlen(h);
        if (!(api->match_host = strndup(h, n)))
            rc = dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    if (!rc && a->n_ref_map) {
        char **m = calloc(a->n_ref_map * 2, sizeof *m);
        if (!m)
            rc = dg_error_set(err, DG_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < a->n_ref_map * 2; i++)
            if (!(m[i] = strdup(a->ref_map[i])))
                rc = dg_error_set(err, DG_ENOMEM, "out of memory");
        for (size_t i = 0; i < api->n_ref_map * 2; i++)
            free(api->ref_map[i]);
        free(api->ref_map);
        api->ref_map = m;
        api->n_ref_map = m ? a->n_ref_map : 0;
    }
    if (rc) {
        dg_config_free(*out);
        *out = NULL;
    }
    return rc;
}

static void print_errors(const dg_error *errs, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        char line[1400];
        fprintf(stderr, "driftgate replay: %s\n", dg_error_format(&errs[i], line, sizeof line));
    }
    if (!n)
        fprintf(stderr, "driftgate replay: cannot load the config (%s)\n",
                dg_error_code_name(rc));
}

static int run(replay_args *a)
{
    replay r;
    memset(&r, 0, sizeof r);
    r.a = a;
    dg_error errs[20];
    size_t n = 0;
    dg_config *cfg = NULL;
    int rc = a->config ? dg_config_load(a->config, &cfg, errs, 20, &n)
                       : quick_config(a, &cfg, &errs[0]);
    if (rc) {
        print_errors(errs, a->config ? n : 1, rc);
        return 2;
    }
    /* The judge's own log lines would repeat what replay prints. */
    dg_log_set_level((dg_log_level)(DG_LOG_ERROR + 1));
    /* One exchange's findings at most (the verdict keeps 100), drained
     * after each: nothing is ever dropped. */
    if (!(r.q = dg_anomaly_queue_new(1024))) {
        dg_config_free(cfg);
        fprintf(stderr, "driftgate replay: out of memory\n");
        return 2;
    }
    rc = dg_offline_new(cfg, a->api, r.q, &r.off, errs, 20, &n);
    if (rc) {
        print_errors(errs, n, rc);
        dg_anomaly_queue_free(r.q);
        return 2;
    }
    int code = 2;
    dg_error err = {0};
    char m[1400];
    if (a->store) {
        if (dg_store_open(a->store, NULL, &r.store, &err) ||
            !(r.m = dg_metrics_new()) ||
            dg_pipeline_new(dg_offline_config(r.off), r.store, r.m, &r.pipe, &err)) {
            fprintf(stderr, "driftgate replay: %s\n", err.msg[0] ? dg_error_format(&err, m, sizeof m)
                                                                 : "out of memory");
            goto out;
        }
    }
    if (a->anomalies && !(r.anom_out = fopen(a->anomalies, "w"))) {
        fprintf(stderr, "driftgate replay: %s: %s\n", a->anomalies, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < a->n_files; i++)
        replay_file(&r, a->files[i]);
    flush(&r);
    if (r.anom_out && (fflush(r.anom_out) || ferror(r.anom_out))) {
        fprintf(stderr, "driftgate replay: %s: write error\n", a->anomalies);
        r.fatal = 1;
    }
    summary(&r);
    if (!r.read)
        fprintf(stderr, "driftgate replay: no entries in the capture\n");
    if (r.fatal || r.store_failed || (r.read && r.broken == r.read))
        code = 2;
    else if (r.invalid || r.errors || r.lines_in_err)
        code = 1;
    else
        code = 0;
out:
    if (r.anom_out)
        fclose(r.anom_out);
    dg_pipeline_free(r.pipe);
    dg_store_close(r.store);
    dg_metrics_free(r.m);
    dg_offline_free(r.off);
    dg_anomaly_queue_free(r.q);
    free(r.fps.slot);
    fflush(stdout);
    return code;
}

int dg_cmd_replay(int argc, char **argv)
{
    replay_args a;
    memset(&a, 0, sizeof a);
    a.files = calloc((size_t)argc + 1, sizeof *a.files);
    if (!a.files) {
        fprintf(stderr, "driftgate replay: out of memory\n");
        return 2;
    }
    int rc = parse_args(argc, argv, &a);
    if (rc < 0)
        rc = run(&a);
    for (size_t i = 0; i < a.n_ref_map * 2; i++)
        free(a.ref_map[i]);
    free(a.ref_map);
    free(a.files);
    return rc;
}
