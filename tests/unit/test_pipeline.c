/* tests/unit/test_pipeline.c: anomalies -> drift store -> heuristic
 * explanations (analyze/analyze.h), with a real SQLite store in a temp dir,
 * including a store that cannot be written. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analyze/analyze.h"
#include "common/metrics.h"

static char dir[64];
static char db[128];
static char pet[PATH_MAX];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dg_pipeline_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/drift.db", dir);
    cr_assert_not_null(realpath("policies/examples/specs/petstore.yaml", pet));
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(pipeline, .init = setup, .fini = teardown);

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A config with one API "pets" (heuristic) and the store. */
static dg_config *config(uint64_t max_pending)
{
    dg_config *c = calloc(1, sizeof *c);
    c->apis = calloc(1, sizeof *c->apis);
    c->n_apis = 1;
    c->apis[0].name = strdup("pets");
    dg_llm_conf_default(&c->apis[0].explain);
    dg_llm_conf_default(&c->explain);
    c->store.url = strdup(db);
    c->store.flush_interval_ms = 1000;
    c->store.max_pending = max_pending;
    return c;
}

static char schema_ptr[PATH_MAX + 128];

static dg_anomaly mk(const char *ptr, const char *kw, const char *kind, const char *type)
{
    dg_anomaly a;
    memset(&a, 0, sizeof a);
    snprintf(schema_ptr, sizeof schema_ptr, "%s#/components/schemas/Pet/properties%s/%s", pet,
             strrchr(ptr, '/'), kw);
    a.ts_ns = now_ms() * 1000000;
    a.api = (char *)"pets";
    a.operation = (char *)"listPets";
    a.method = (char *)"GET";
    a.path_template = (char *)"/pets";
    a.status = 200;
    a.kind = (char *)kind;
    a.instance_pointer = (char *)ptr;
    a.schema_pointer = schema_ptr;
    a.shape_type = (char *)type;
    a.spec_hash = (char *)"hash1";
    a.owner = (char *)"team-pets";
    a.message = (char *)"m";
    return a;
}

static dg_store *open_store(int ro)
{
    dg_store *s = NULL;
    dg_store_opts o = {ro, 0, 0};
    dg_error e;
    cr_assert_eq(dg_store_open(db, &o, &s, &e), 0, "%s", e.msg);
    return s;
}

static uint64_t metric(dg_metrics *m, const char *line_prefix)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_metrics_expose(m, &b), 0);
    /* a sample line, not the # HELP line naming the family */
    char want[256];
    snprintf(want, sizeof want, "\n%s", line_prefix);
    const char *p = strstr(b.data, want);
    uint64_t v = p ? strtoull(p + strlen(want), NULL, 10) : (uint64_t)-1;
    dg_buf_free(&b);
    return v;
}

Test(pipeline, flush_stores_drifts_with_counts_and_heuristic_explanations)
{
    dg_config *c = config(0);
    dg_store *s = open_store(0);
    dg_metrics *m = dg_metrics_new();
    dg_pipeline *p = NULL;
    dg_error e;
    cr_assert_eq(dg_pipeline_new(c, s, m, &p, &e), 0, "%s", e.msg);
    for (int i = 0; i < 30; i++) {
        char ptr[32];
        snprintf(ptr, sizeof ptr, "/%d/id", i);
        dg_anomaly a = mk(ptr, "type", "type", "string");
        cr_assert_eq(dg_pipeline_add(p, &a), 0);
        dg_anomaly b = mk("/0/name", "type", "type", "null");
        cr_assert_eq(dg_pipeline_add(p, &b), 0);
    }
    cr_assert_eq(dg_pipeline_pending(p), 2);
    cr_assert_eq(dg_pipeline_flush(p, &e), 0, "%s", e.msg);
    cr_assert_eq(dg_pipeline_pending(p), 0);
    dg_drift *rows = NULL;
    size_t n = 0;
    dg_store_filter f = {0};
    cr_assert_eq(dg_store_query(s, &f, &rows, &n, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rows[0].count, 30);
    cr_assert_eq(rows[1].count, 30);
    for (size_t i = 0; i < n; i++) {
        dg_explanation x;
        cr_assert_eq(dg_store_get_explanation(s, rows[i].fingerprint, "hash1", &x, &e), 0);
        cr_assert_str_eq(x.source, "heuristic");
        cr_assert_str_eq(x.classification, !strcmp(rows[i].observed_type, "null")
                                               ? "nullability_change"
                                               : "provider_type_change");
        dg_explanation_clear(&x);
    }
    dg_drifts_free(rows, n);
    cr_assert_eq(metric(m, "driftgate_drift_fingerprints_total "), 2);
    cr_assert_eq(metric(m, "driftgate_anomalies_analyzed_total "), 60);
    cr_assert_eq(metric(m, "driftgate_explanations_total{source=\"heuristic\",result=\"ok\"} "), 2);
    cr_assert_eq(metric(m, "driftgate_drift_flushes_total{result=\"ok\"} "), 1);
    /* a second flush adds to the same rows: no new fingerprints, no new explanations */
    dg_anomaly a = mk("/7/id", "type", "type", "string");
    dg_pipeline_add(p, &a);
    cr_assert_eq(dg_pipeline_flush(p, &e), 0);
    cr_assert_eq(dg_store_query(s, &f, &rows, &n, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rows[0].count + rows[1].count, 61);
    dg_drifts_free(rows, n);
    cr_assert_eq(metric(m, "driftgate_drift_fingerprints_total "), 2);
    cr_assert_eq(metric(m, "driftgate_explanations_total{source=\"heuristic\",result=\"ok\"} "), 2);
    dg_pipeline_free(p);
    dg_store_close(s);
    dg_metrics_free(m);
    dg_config_free(c);
}

Test(pipeline, a_read_only_store_keeps_the_drift_in_memory)
{
    dg_config *c = config(0);
    dg_store *w = open_store(0); /* creates the file and its schema */
    dg_store_close(w);
    dg_store *s = open_store(1); /* read-only handle: every write fails */
    dg_metrics *m = dg_metrics_new();
    dg_pipeline *p = NULL;
    dg_error e;
    cr_assert_eq(dg_pipeline_new(c, s, m, &p, &e), 0);
    for (int i = 0; i < 5; i++) {
        dg_anomaly a = mk("/0/id", "type", "type", "string");
        dg_pipeline_add(p, &a);
    }
    cr_assert_neq(dg_pipeline_flush(p, &e), 0);
    cr_assert_neq(e.msg[0], 0);
    cr_assert_eq(dg_pipeline_pending(p), 1, "kept in memory");
    cr_assert_eq(metric(m, "driftgate_drift_flushes_total{result=\"error\"} "), 1);
    cr_assert_neq(dg_pipeline_flush(p, &e), 0);
    cr_assert_eq(dg_pipeline_pending(p), 1, "still kept, not duplicated");
    dg_pipeline_free(p);
    dg_store_close(s);
    dg_metrics_free(m);
    dg_config_free(c);
}

Test(pipeline, a_locked_store_is_written_once_the_lock_goes_exactly_once)
{
    dg_config *c = config(0);
    dg_store *s = NULL;
    dg_store_opts o = {0, 100, 0}; /* 100 ms busy timeout */
    dg_error e;
    cr_assert_eq(dg_store_open(db, &o, &s, &e), 0, "%s", e.msg);
    sqlite3 *other = NULL;
    cr_assert_eq(sqlite3_open(db, &other), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    dg_pipeline *p = NULL;
    cr_assert_eq(dg_pipeline_new(c, s, NULL, &p, &e), 0);
    for (int i = 0; i < 3; i++) {
        dg_anomaly a = mk("/0/id", "type", "type", "string");
        dg_pipeline_add(p, &a);
    }
    cr_assert_neq(dg_pipeline_flush(p, &e), 0, "locked by another writer");
    dg_anomaly a = mk("/0/id", "type", "type", "string");
    dg_pipeline_add(p, &a);
    cr_assert_eq(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    cr_assert_eq(dg_pipeline_flush(p, &e), 0, "%s", e.msg);
    cr_assert_eq(dg_pipeline_flush(p, &e), 0);
    dg_drift *rows = NULL;
    size_t n = 0;
    dg_store_filter f = {0};
    cr_assert_eq(dg_store_query(s, &f, &rows, &n, &e), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(rows[0].count, 4, "the 3 kept through the failure + 1, each once");
    dg_drifts_free(rows, n);
    dg_pipeline_free(p);
    dg_store_close(s);
    dg_config_free(c);
}

Test(pipeline, too_many_pending_drifts_are_dropped_and_counted)
{
    dg_config *c = config(2);
    dg_metrics *m = dg_metrics_new();
    dg_pipeline *p = NULL;
    dg_error e;
    cr_assert_eq(dg_pipeline_new(c, NULL, m, &p, &e), 0);
    const char *ptrs[4] = {"/0/id", "/0/name", "/0/tag", "/0/status"};
    for (int i = 0; i < 4; i++) {
        dg_anomaly a = mk(ptrs[i], "type", "type", "string");
        cr_assert_eq(dg_pipeline_add(p, &a), i < 2 ? 0 : DG_ELIMIT);
    }
    cr_assert_eq(dg_pipeline_dropped(p), 2);
    cr_assert_eq(dg_pipeline_flush(p, &e), 0, "no store: flush only counts");
    cr_assert_eq(metric(m, "driftgate_drift_dropped_total "), 2);
    dg_pipeline_free(p);
    dg_metrics_free(m);
    dg_config_free(c);
}

Test(pipeline, dry_run_shows_the_heuristic_without_storing)
{
    dg_config *c = config(0);
    dg_store *s = open_store(0);
    dg_pipeline *p = NULL;
    dg_error e;
    cr_assert_eq(dg_pipeline_new(c, s, NULL, &p, &e), 0);
    dg_anomaly a = mk("/0/status", "enum", "enum", "string");
    dg_pipeline_add(p, &a);
    cr_assert_eq(dg_pipeline_flush(p, &e), 0);
    dg_buf out = DG_BUF_INIT;
    cr_assert_eq(dg_pipeline_explain_dry_run(p, NULL, &out, &e), 0, "%s", e.msg);
    cr_assert(strstr(out.data, "heuristic explainer"), "%s", out.data);
    cr_assert(strstr(out.data, "provider_added_enum_value"), "%s", out.data);
    dg_buf_free(&out);
    dg_buf o2 = DG_BUF_INIT;
    cr_assert_eq(dg_pipeline_explain_dry_run(p, "nope", &o2, &e), DG_ENOTFOUND);
    dg_buf_free(&o2);
    dg_pipeline_free(p);
    dg_store_close(s);
    dg_config_free(c);
}

Test(pipeline, reconfigure_takes_the_new_apis_and_explain_settings)
{
    dg_config *c = config(0);
    dg_pipeline *p = NULL;
    dg_error e;
    cr_assert_eq(dg_pipeline_new(c, NULL, NULL, &p, &e), 0);
    cr_assert_eq(dg_pipeline_api_count(p), 1);
    dg_pipeline_api_stats st;
    dg_pipeline_api_stats_get(p, 0, &st);
    cr_assert_str_eq(st.api, "pets");
    cr_assert_str_eq(st.backend, "heuristic");
    cr_assert_null(st.model);
    /* a reload: a second API with a model */
    dg_config *c2 = config(0);
    dg_api *apis = realloc(c2->apis, 2 * sizeof *apis);
    cr_assert_not_null(apis);
    c2->apis = apis;
    memset(&c2->apis[1], 0, sizeof c2->apis[1]);
    c2->apis[1].name = strdup("orders");
    dg_llm_conf_default(&c2->apis[1].explain);
    c2->apis[1].explain.backend = DG_LLM_OLLAMA;
    c2->apis[1].explain.model = strdup("gemma4:26b");
    c2->n_apis = 2;
    cr_assert_eq(dg_pipeline_reconfigure(p, c2, &e), 0);
    cr_assert_eq(dg_pipeline_api_count(p), 2);
    dg_pipeline_api_stats_get(p, 1, &st);
    cr_assert_str_eq(st.api, "orders");
    cr_assert_str_eq(st.backend, "ollama");
    cr_assert_str_eq(st.model, "gemma4:26b");
    dg_pipeline_free(p);
    dg_config_free(c);
    dg_config_free(c2);
}
