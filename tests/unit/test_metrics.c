/* tests/unit/test_metrics.c: metrics registry and Prometheus exposition
 * (common/metrics.h). */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/metrics.h"

/* The whole exposition as a NUL-terminated string (owned by the caller). */
static char *expose(dg_metrics *m)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_metrics_expose(m, &b), 0);
    char *s = strdup(b.data ? b.data : "");
    cr_assert_not_null(s);
    dg_buf_free(&b);
    return s;
}

static const char *const API[] = {"api"};
static const char *const API_CODE[] = {"api", "code"};

Test(metrics, registration_rejects_bad_names)
{
    dg_metrics *m = dg_metrics_new();
    cr_assert_not_null(m);
    cr_assert_null(dg_metrics_counter(m, "", "h", NULL, 0));
    cr_assert_null(dg_metrics_counter(m, NULL, "h", NULL, 0));
    cr_assert_null(dg_metrics_counter(m, "1abc_total", "h", NULL, 0));
    cr_assert_null(dg_metrics_counter(m, "a-b_total", "h", NULL, 0));
    cr_assert_null(dg_metrics_counter(m, "a b", "h", NULL, 0));
    cr_assert_not_null(dg_metrics_counter(m, "ns:sub_total", "colons are allowed", NULL, 0));
    cr_assert_not_null(dg_metrics_counter(m, "_under9_total", "h", NULL, 0));

    const char *const colon[] = {"a:b"};
    const char *const digit[] = {"9a"};
    const char *const reserved[] = {"__name"};
    const char *const dup[] = {"api", "api"};
    const char *const le[] = {"le"};
    const char *const empty[] = {""};
    const char *const seven[] = {"a", "b", "c", "d", "e", "f", "g"};
    cr_assert_null(dg_metrics_counter(m, "x1_total", "h", colon, 1));
    cr_assert_null(dg_metrics_counter(m, "x2_total", "h", digit, 1));
    cr_assert_null(dg_metrics_counter(m, "x3_total", "h", reserved, 1));
    cr_assert_null(dg_metrics_counter(m, "x4_total", "h", dup, 2));
    cr_assert_null(dg_metrics_counter(m, "x5_total", "h", empty, 1));
    cr_assert_null(dg_metrics_counter(m, "x6_total", "h", seven, 7));
    cr_assert_null(dg_metrics_counter(m, "x7_total", "h", NULL, 1));
    cr_assert_not_null(dg_metrics_counter(m, "x8_total", "h", seven, DG_METRICS_MAX_LABELS));
    /* "le" is only reserved in histograms. */
    cr_assert_not_null(dg_metrics_gauge(m, "x9", "h", le, 1));
    cr_assert_null(dg_metrics_histogram(m, "x10_seconds", "h", le, 1, dg_metrics_latency_buckets,
                                        dg_metrics_latency_buckets_n));
    dg_metrics_free(m);
}

Test(metrics, registration_rejects_bad_buckets)
{
    dg_metrics *m = dg_metrics_new();
    const double dec[] = {1, 0.5};
    const double eq[] = {1, 1};
    const double nan_b[] = {0.1, NAN};
    const double inf_b[] = {0.1, INFINITY};
    double many[DG_METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i < DG_METRICS_MAX_BUCKETS + 1; i++)
        many[i] = (double)i;
    cr_assert_null(dg_metrics_histogram(m, "h1_seconds", "h", NULL, 0, dec, 2));
    cr_assert_null(dg_metrics_histogram(m, "h2_seconds", "h", NULL, 0, eq, 2));
    cr_assert_null(dg_metrics_histogram(m, "h3_seconds", "h", NULL, 0, nan_b, 2));
    cr_assert_null(dg_metrics_histogram(m, "h4_seconds", "h", NULL, 0, inf_b, 2));
    cr_assert_null(dg_metrics_histogram(m, "h5_seconds", "h", NULL, 0, many, 33));
    cr_assert_null(dg_metrics_histogram(m, "h6_seconds", "h", NULL, 0, NULL, 2));
    cr_assert_not_null(dg_metrics_histogram(m, "h7_seconds", "h", NULL, 0, many, 32));
    /* Only the +Inf bucket is a valid histogram too. */
    cr_assert_not_null(dg_metrics_histogram(m, "h8_seconds", "h", NULL, 0, NULL, 0));
    dg_metrics_free(m);
}

Test(metrics, same_name_returns_existing_family_only_when_identical)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_reqs_total", "h", API_CODE, 2);
    cr_assert_not_null(c);
    cr_assert_eq(dg_metrics_counter(m, "dg_reqs_total", "other help is fine", API_CODE, 2), c);
    cr_assert_null(dg_metrics_counter(m, "dg_reqs_total", "h", API, 1));
    const char *const swapped[] = {"code", "api"};
    cr_assert_null(dg_metrics_counter(m, "dg_reqs_total", "h", swapped, 2));
    cr_assert_null(dg_metrics_gauge(m, "dg_reqs_total", "h", API_CODE, 2));

    const double b1[] = {0.1, 1};
    const double b2[] = {0.1, 2};
    dg_metric *h = dg_metrics_histogram(m, "dg_lat_seconds", "h", API, 1, b1, 2);
    cr_assert_not_null(h);
    cr_assert_eq(dg_metrics_histogram(m, "dg_lat_seconds", "h", API, 1, b1, 2), h);
    cr_assert_null(dg_metrics_histogram(m, "dg_lat_seconds", "h", API, 1, b2, 2));
    cr_assert_null(dg_metrics_histogram(m, "dg_lat_seconds", "h", API, 1, b1, 1));

    /* The family is registered once: one HELP line. */
    char *s = expose(m);
    cr_assert_eq(strstr(strstr(s, "# HELP dg_reqs_total") + 1, "# HELP dg_reqs_total"), NULL);
    free(s);
    dg_metrics_free(m);
}

Test(metrics, exposition_text_is_exact)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_test_requests_total", "Requests.\nSecond \\ line",
                                      API_CODE, 2);
    dg_metric *g = dg_metrics_gauge(m, "dg_test_queue_depth", "Queue depth.", NULL, 0);
    const double b[] = {0.005, 0.1, 2.5, 10};
    dg_metric *h = dg_metrics_histogram(m, "dg_test_duration_seconds", "Duration.", API, 1, b, 4);
    const double sb[] = {100, 1000};
    cr_assert_not_null(dg_metrics_histogram(m, "dg_test_size_bytes", "Size.", NULL, 0, sb, 2));
    const char *const x[] = {"x"};
    cr_assert_not_null(dg_metrics_counter(m, "dg_test_empty_total", "Nothing yet.", x, 1));
    cr_assert_not_null(dg_metrics_counter(m, "dg_test_plain_total", "No labels.", NULL, 0));
    cr_assert(c && g && h);

    const char *const v1[] = {"pets", "200"}, *const v2[] = {"cats", "500"},
                      *const v3[] = {"pets", "404"};
    dg_series_add(dg_metric_series(c, v1), 3);
    dg_series_inc(dg_metric_series(c, v2));
    dg_series_inc(dg_metric_series(c, v3));
    dg_series_gauge_set(dg_metric_series(g, NULL), 7);
    const char *const pets[] = {"pets"};
    dg_series *hs = dg_metric_series(h, pets);
    dg_series_observe(hs, 0.0625);
    dg_series_observe(hs, 0.5);
    dg_series_observe(hs, 3);
    dg_series_observe(hs, 100);

    char *s = expose(m);
    const char *want =
        "# HELP dg_test_requests_total Requests.\\nSecond \\\\ line\n"
        "# TYPE dg_test_requests_total counter\n"
        "dg_test_requests_total{api=\"cats\",code=\"500\"} 1\n"
        "dg_test_requests_total{api=\"pets\",code=\"200\"} 3\n"
        "dg_test_requests_total{api=\"pets\",code=\"404\"} 1\n"
        "# HELP dg_test_queue_depth Queue depth.\n"
        "# TYPE dg_test_queue_depth gauge\n"
        "dg_test_queue_depth 7\n"
        "# HELP dg_test_duration_seconds Duration.\n"
        "# TYPE dg_test_duration_seconds histogram\n"
        "dg_test_duration_seconds_bucket{api=\"pets\",le=\"0.005\"} 0\n"
        "dg_test_duration_seconds_bucket{api=\"pets\",le=\"0.1\"} 1\n"
        "dg_test_duration_seconds_bucket{api=\"pets\",le=\"2.5\"} 2\n"
        "dg_test_duration_seconds_bucket{api=\"pets\",le=\"10\"} 3\n"
        "dg_test_duration_seconds_bucket{api=\"pets\",le=\"+Inf\"} 4\n"
        "dg_test_duration_seconds_sum{api=\"pets\"} 103.5625\n"
        "dg_test_duration_seconds_count{api=\"pets\"} 4\n"
        "# HELP dg_test_size_bytes Size.\n"
        "# TYPE dg_test_size_bytes histogram\n"
        "dg_test_size_bytes_bucket{le=\"100\"} 0\n"
        "dg_test_size_bytes_bucket{le=\"1000\"} 0\n"
        "dg_test_size_bytes_bucket{le=\"+Inf\"} 0\n"
        "dg_test_size_bytes_sum 0\n"
        "dg_test_size_bytes_count 0\n"
        "# HELP dg_test_empty_total Nothing yet.\n"
        "# TYPE dg_test_empty_total counter\n"
        "# HELP dg_test_plain_total No labels.\n"
        "# TYPE dg_test_plain_total counter\n"
        "dg_test_plain_total 0\n";
    cr_assert_str_eq(s, want);
    free(s);
    dg_metrics_free(m);
}

Test(metrics, label_values_are_escaped)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_esc_total", "h", API, 1);
    const char *const v[] = {"a\"b\\c\nd"};
    dg_series_inc(dg_metric_series(c, v));
    char *s = expose(m);
    cr_assert(strstr(s, "dg_esc_total{api=\"a\\\"b\\\\c\\nd\"} 1\n") != NULL, "%s", s);
    free(s);
    dg_metrics_free(m);
}

Test(metrics, invalid_utf8_label_values_are_repaired)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_utf_total", "h", API, 1);
    const char *const bad1[] = {"x\xff"}, *const bad2[] = {"x\xfe"}, *const ok[] = {"caf\xc3\xa9"};
    dg_series *a = dg_metric_series(c, bad1);
    /* Both repair to "x\uFFFD": one series, not two with the same text. */
    cr_assert_eq(dg_metric_series(c, bad2), a);
    dg_series_inc(a);
    dg_series_inc(dg_metric_series(c, ok));
    char *s = expose(m);
    cr_assert(strstr(s, "{api=\"x\xef\xbf\xbd\"} 1\n") != NULL, "%s", s);
    cr_assert(strstr(s, "{api=\"caf\xc3\xa9\"} 1\n") != NULL, "%s", s);
    free(s);
    dg_metrics_free(m);
}

Test(metrics, series_are_found_again_and_sorted_by_label_values)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_sort_total", "h", API_CODE, 2);
    /* Enough series to force several table growths. */
    for (int i = 99; i >= 0; i--) {
        char a[16];
        snprintf(a, sizeof a, "api%02d", i);
        const char *const v[] = {a, i % 2 ? "odd" : "even"};
        dg_series_add(dg_metric_series(c, v), (uint64_t)i);
    }
    for (int i = 0; i < 100; i++) {
        char a[16];
        snprintf(a, sizeof a, "api%02d", i);
        const char *const v[] = {a, i % 2 ? "odd" : "even"};
        cr_assert_eq(dg_series_counter_value(dg_metric_series(c, v)), (uint64_t)i);
    }
    /* ("ab","c") and ("a","bc") are different series. */
    const char *const p[] = {"ab", "c"}, *const q[] = {"a", "bc"};
    cr_assert_neq(dg_metric_series(c, p), dg_metric_series(c, q));

    char *s = expose(m);
    const char *prev = NULL;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        if (prev)
            cr_assert(strcmp(prev, line) < 0, "%s !< %s", prev, line);
        prev = line;
    }
    free(s);
    dg_metrics_free(m);
}

Test(metrics, family_without_labels_exposes_zero_from_registration)
{
    dg_metrics *m = dg_metrics_new();
    cr_assert_not_null(dg_metrics_counter(m, "dg_a_total", "h", NULL, 0));
    cr_assert_not_null(dg_metrics_gauge(m, "dg_b", "h", NULL, 0));
    cr_assert_not_null(dg_metrics_counter(m, "dg_c_total", "h", API, 1));
    char *s = expose(m);
    cr_assert(strstr(s, "\ndg_a_total 0\n") != NULL, "%s", s);
    cr_assert(strstr(s, "\ndg_b 0\n") != NULL, "%s", s);
    cr_assert(strstr(s, "\ndg_c_total") == NULL, "%s", s);
    cr_assert(strstr(s, "# TYPE dg_c_total counter\n") != NULL, "%s", s);
    free(s);
    dg_metrics_free(m);
}

Test(metrics, histogram_buckets_are_cumulative)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *h = dg_metrics_histogram(m, "dg_h_seconds", "h", NULL, 0,
                                        dg_metrics_latency_buckets, dg_metrics_latency_buckets_n);
    dg_series *s = dg_metric_series(h, NULL);
    cr_assert_not_null(s);
    /* One observation exactly on each bound (bounds are inclusive) and one
     * above the last. */
    for (size_t i = 0; i < dg_metrics_latency_buckets_n; i++)
        dg_series_observe(s, dg_metrics_latency_buckets[i]);
    dg_series_observe(s, 11);
    cr_assert_eq(dg_series_hist_count(s), dg_metrics_latency_buckets_n + 1);

    char *text = expose(m);
    static const char *const les[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
                                      "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
                                      "1",      "2.5",     "5",      "10",    "+Inf"};
    cr_assert_eq(sizeof les / sizeof les[0], dg_metrics_latency_buckets_n + 1);
    for (size_t i = 0; i < sizeof les / sizeof les[0]; i++) {
        char want[96];
        snprintf(want, sizeof want, "dg_h_seconds_bucket{le=\"%s\"} %zu\n", les[i], i + 1);
        cr_assert(strstr(text, want) != NULL, "missing %s in\n%s", want, text);
    }
    cr_assert(strstr(text, "dg_h_seconds_count 17\n") != NULL, "%s", text);
    free(text);
    dg_metrics_free(m);
}

Test(metrics, histogram_sum_of_small_observations_adds_up)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *h = dg_metrics_histogram(m, "dg_s_seconds", "h", NULL, 0,
                                        dg_metrics_latency_buckets, dg_metrics_latency_buckets_n);
    dg_series *s = dg_metric_series(h, NULL);
    for (int i = 0; i < 1000; i++)
        dg_series_observe(s, 0.001);
    cr_assert_eq(dg_series_hist_count(s), 1000);
    cr_assert(fabs(dg_series_hist_sum(s) - 1.0) < 1e-12, "%.17g", dg_series_hist_sum(s));
    char *text = expose(m);
    const char *p = strstr(text, "dg_s_seconds_sum ");
    cr_assert_not_null(p);
    /* Printed with full precision: it parses back to the same double. */
    cr_assert_eq(strtod(p + strlen("dg_s_seconds_sum "), NULL), dg_series_hist_sum(s));
    free(text);
    dg_metrics_free(m);
}

Test(metrics, latency_buckets_are_as_documented)
{
    const double want[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                           0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
    cr_assert_eq(dg_metrics_latency_buckets_n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < dg_metrics_latency_buckets_n; i++)
        cr_assert_eq(dg_metrics_latency_buckets[i], want[i]);
}

Test(metrics, overflow_series_past_the_limit)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_ovf_total", "h", API_CODE, 2);
    dg_metric_set_series_limit(c, 3);
    const char *const a[] = {"a", "1"}, *const b[] = {"b", "1"}, *const cc[] = {"c", "1"},
                      *const d[] = {"d", "1"}, *const e[] = {"e", "1"};
    dg_series *sa = dg_metric_series(c, a);
    dg_series_inc(sa);
    dg_series_inc(dg_metric_series(c, b));
    dg_series_inc(dg_metric_series(c, cc));
    dg_series *sd = dg_metric_series(c, d);
    dg_series *se = dg_metric_series(c, e);
    cr_assert_not_null(sd);
    cr_assert_eq(sd, se);
    cr_assert_neq(sd, sa);
    dg_series_inc(sd);
    dg_series_inc(se);
    /* Existing series are still found after the limit is reached. */
    cr_assert_eq(dg_metric_series(c, a), sa);
    const char *const ov[] = {"_overflow", "_overflow"};
    cr_assert_eq(dg_metric_series(c, ov), sd);

    char *s = expose(m);
    const char *want = "# HELP dg_ovf_total h\n"
                       "# TYPE dg_ovf_total counter\n"
                       "dg_ovf_total{api=\"_overflow\",code=\"_overflow\"} 2\n"
                       "dg_ovf_total{api=\"a\",code=\"1\"} 1\n"
                       "dg_ovf_total{api=\"b\",code=\"1\"} 1\n"
                       "dg_ovf_total{api=\"c\",code=\"1\"} 1\n";
    cr_assert_str_eq(s, want);
    free(s);
    dg_metrics_free(m);
}

Test(metrics, updates_of_the_wrong_type_or_null_are_ignored)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_t_total", "h", NULL, 0);
    dg_metric *g = dg_metrics_gauge(m, "dg_t_gauge", "h", NULL, 0);
    dg_series *cs = dg_metric_series(c, NULL), *gs = dg_metric_series(g, NULL);
    dg_series_gauge_set(cs, 5);
    dg_series_observe(cs, 1);
    dg_series_inc(gs);
    cr_assert_eq(dg_series_counter_value(cs), 0);
    cr_assert_eq(dg_series_gauge_value(gs), 0);
    dg_series_gauge_add(gs, -3);
    cr_assert_eq(dg_series_gauge_value(gs), -3);
    /* A failed registration must not crash the caller's hot path. */
    cr_assert_null(dg_metric_series(NULL, NULL));
    dg_series_inc(NULL);
    dg_series_observe(NULL, 1);
    cr_assert_eq(dg_series_counter_value(NULL), 0);
    char *s = expose(m);
    cr_assert(strstr(s, "\ndg_t_gauge -3\n") != NULL, "%s", s);
    free(s);
    dg_metrics_free(m);
}

/* ---------------------------------------------------------------- concurrency */

#define THREADS 4
#define ITERS 100000

struct worker {
    dg_metric *c, *h;
    int id;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char own[16];
    snprintf(own, sizeof own, "t%d", w->id);
    const char *const shared_v[] = {"shared"}, *const own_v[] = {own};
    for (int i = 0; i < ITERS; i++) {
        /* Looked up every time, as the proxy does per request. */
        dg_series_inc(dg_metric_series(w->c, shared_v));
        dg_series_inc(dg_metric_series(w->c, own_v));
        dg_series_observe(dg_metric_series(w->h, shared_v), 0.001);
    }
    return NULL;
}

Test(metrics, concurrent_increments_are_exact)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_conc_total", "h", API, 1);
    dg_metric *h = dg_metrics_histogram(m, "dg_conc_seconds", "h", API, 1,
                                        dg_metrics_latency_buckets, dg_metrics_latency_buckets_n);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){c, h, i};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    const char *const shared_v[] = {"shared"};
    cr_assert_eq(dg_series_counter_value(dg_metric_series(c, shared_v)), THREADS * ITERS);
    for (int i = 0; i < THREADS; i++) {
        char own[16];
        snprintf(own, sizeof own, "t%d", i);
        const char *const own_v[] = {own};
        cr_assert_eq(dg_series_counter_value(dg_metric_series(c, own_v)), ITERS);
    }
    dg_series *hs = dg_metric_series(h, shared_v);
    cr_assert_eq(dg_series_hist_count(hs), THREADS * ITERS);
    cr_assert(fabs(dg_series_hist_sum(hs) - THREADS * ITERS * 0.001) < 1e-6, "%.17g",
              dg_series_hist_sum(hs));
    dg_metrics_free(m);
}

static void *expose_while_updating(void *arg)
{
    dg_metrics *m = arg;
    for (int i = 0; i < 200; i++) {
        dg_buf b = DG_BUF_INIT;
        if (dg_metrics_expose(m, &b) != 0)
            abort();
        dg_buf_free(&b);
    }
    return NULL;
}

Test(metrics, exposition_runs_alongside_series_creation)
{
    dg_metrics *m = dg_metrics_new();
    dg_metric *c = dg_metrics_counter(m, "dg_race_total", "h", API, 1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, expose_while_updating, m), 0);
    for (int i = 0; i < 5000; i++) {
        char v[16];
        snprintf(v, sizeof v, "s%d", i);
        const char *const vv[] = {v};
        dg_series_inc(dg_metric_series(c, vv));
    }
    pthread_join(t, NULL);
    dg_metrics_free(m);
}

/* ---------------------------------------------------------------- promtool */

static int on_path(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

Test(metrics, exposition_passes_promtool_check_metrics)
{
    if (!on_path("promtool"))
        cr_assert_fail("promtool not found on PATH: run scripts/deps.sh (Debian package "
                       "prometheus) to install it");

    dg_metrics *m = dg_metrics_new();
    const char *const rlabels[] = {"api", "operation", "status_class"};
    dg_metric *req = dg_metrics_counter(
        m, "driftgate_requests_total",
        "Requests proxied, by API, operation and status class.\nEscapes: back\\slash.", rlabels,
        3);
    dg_metric *plain = dg_metrics_counter(m, "driftgate_anomalies_dropped_total",
                                          "Anomalies dropped because the queue was full.", NULL, 0);
    dg_metric *depth = dg_metrics_gauge(m, "driftgate_anomaly_queue_depth",
                                        "Anomalies waiting for analysis.", NULL, 0);
    const char *const ver[] = {"version"};
    dg_metric *info = dg_metrics_gauge(m, "driftgate_build_info", "Build information.", ver, 1);
    dg_metric *lat = dg_metrics_histogram(m, "driftgate_validation_duration_seconds",
                                          "Time spent validating one response body.", API, 1,
                                          dg_metrics_latency_buckets,
                                          dg_metrics_latency_buckets_n);
    const double sizes[] = {1024, 65536, 1048576};
    dg_metric *size = dg_metrics_histogram(m, "driftgate_response_size_bytes",
                                           "Response body sizes.", NULL, 0, sizes, 3);
    const char *const rr[] = {"result"};
    cr_assert_not_null(dg_metrics_counter(m, "driftgate_config_reloads_total",
                                          "Configuration reloads.", rr, 1));
    cr_assert(req && plain && depth && info && lat && size);

    dg_metric_set_series_limit(req, 4);
    const char *const v1[] = {"pets", "listPets", "2xx"};
    const char *const v2[] = {"pets", "GET /pets/{id}", "5xx"};
    const char *const v3[] = {"we\"ird\\api\nname", "op", "4xx"};
    const char *const v4[] = {"", "empty api", "2xx"};
    const char *const v5[] = {"past", "the", "limit"};
    dg_series_add(dg_metric_series(req, v1), 12);
    dg_series_inc(dg_metric_series(req, v2));
    dg_series_inc(dg_metric_series(req, v3));
    dg_series_inc(dg_metric_series(req, v4));
    dg_series_inc(dg_metric_series(req, v5));
    dg_series_add(dg_metric_series(plain, NULL), 3);
    dg_series_gauge_set(dg_metric_series(depth, NULL), -2);
    const char *const vv[] = {"0.1.0"};
    dg_series_gauge_set(dg_metric_series(info, vv), 1);
    const char *const pets[] = {"pets"};
    dg_series *ls = dg_metric_series(lat, pets);
    for (int i = 0; i < 50; i++)
        dg_series_observe(ls, 0.0003 * i);
    dg_series_observe(dg_metric_series(size, NULL), 2e6);

    char *text = expose(m);
    char path[] = "/tmp/dg_metrics_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    unlink(path);
    cr_assert(rc != -1 && WIFEXITED(rc), "promtool did not exit normally");
    cr_assert_eq(WEXITSTATUS(rc), 0, "promtool exit %d:\n%s\n--- exposition:\n%s",
                 WEXITSTATUS(rc), out, text);
    cr_assert_str_eq(out, "", "promtool lint output:\n%s\n--- exposition:\n%s", out, text);
    free(text);
    dg_metrics_free(m);
}
