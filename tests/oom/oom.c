/* tests/oom/oom.c: allocation-failure injection. Links the library with
 * -Wl,--wrap=malloc,calloc,realloc so that the k-th allocation made by
 * driftgate's own code fails, for every k in a range, and runs a whole
 * operation each time under ASan+UBSan: a config load (config FILE), or a
 * spec load + streaming validation of a body (spec SPEC BODY OPERATION_ID).
 * Passing means: no crash, no sanitizer report, whatever fails.
 * A third operation runs the analysis pipeline (pipeline SPEC): anomalies
 * aggregated, flushed to an in-memory drift store with heuristic
 * explanations, queried back, a model prompt built and an answer parsed.
 * Allocations inside shared libraries (jansson, libyaml, PCRE2, SQLite) are
 * not wrapped. Usage: oom config FILE FROM TO | oom spec SPEC BODY OPID
 * FROM TO | oom pipeline SPEC FROM TO */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/explain.h"
#include "common/log.h"
#include "policies/policies.h"
#include "validate/spec.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);

static long countdown = -1;
static long calls;

static int fail_now(void)
{
    calls++;
    if (countdown < 0)
        return 0;
    return countdown-- == 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return fail_now() ? NULL : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

static int load_config(const char *path)
{
    dg_config *c = NULL;
    dg_error errs[4];
    size_t n = 0;
    int rc = dg_config_load(path, &c, errs, 4, &n);
    if (!rc)
        dg_config_free(c);
    return rc;
}

static int spec_and_body(const char *spec, const char *body, size_t bl, const char *opid)
{
    dg_spec *s = NULL;
    dg_error e;
    dg_spec_opts o = {0};
    o.assert_formats = -1;
    int rc = dg_spec_load(spec, &o, &s, &e);
    if (rc)
        return rc;
    const dg_route_op *op = dg_router_find_operation_id(dg_spec_router(s), opid);
    dg_spec_target t;
    if (op && !(rc = dg_spec_target_for(s, op, 200, "application/json", 1, &t, &e)) &&
        t.schema_id >= 0) {
        dg_validate_opts vo;
        dg_validate_opts_default(&vo);
        dg_validator *v = dg_validator_new(dg_spec_schemas(s), &vo);
        rc = DG_ENOMEM;
        if (v) {
            dg_validator_set_report_undocumented(v, 1);
            if (!(rc = dg_validator_begin(v, t.schema_id))) {
                for (size_t i = 0; i < bl; i += 97)
                    dg_validator_feed(v, body + i, bl - i < 97 ? bl - i : 97);
                dg_result r;
                rc = dg_validator_finish(v, &r);
            }
            dg_validator_free(v);
        }
    }
    dg_spec_free(s);
    return rc;
}

/* Anomalies of 6 drifts (40 of them) -> store -> heuristic -> query ->
 * prompt -> a model's answer parsed. */
static int pipeline_run(const char *spec)
{
    static const char *const kinds[3] = {"type", "enum", "required"};
    static const char *const props[3] = {"price", "status", "sku"};
    dg_api api;
    dg_config c;
    memset(&api, 0, sizeof api);
    memset(&c, 0, sizeof c);
    api.name = (char *)"shop";
    dg_llm_conf_default(&api.explain);
    c.apis = &api;
    c.n_apis = 1;
    dg_store *st = NULL;
    dg_store_opts so = {0, 0, 0};
    int rc = dg_store_open("sqlite::memory:", &so, &st, NULL);
    if (rc)
        return rc;
    dg_pipeline *p = NULL;
    if ((rc = dg_pipeline_new(&c, st, NULL, &p, NULL))) {
        dg_store_close(st);
        return rc;
    }
    char sp[1200], ptr[64];
    for (int i = 0; i < 40; i++) {
        int k = i % 3;
        snprintf(sp, sizeof sp, "%s#/components/schemas/Item/properties/%s/%s", spec, props[k],
                 kinds[k]);
        snprintf(ptr, sizeof ptr, "/%d/%s", i % 5, props[k]);
        dg_anomaly a;
        memset(&a, 0, sizeof a);
        a.ts_ns = (1795651200000LL + i) * 1000000;
        a.api = (char *)"shop";
        a.operation = (char *)(i % 2 ? "getItem" : "listItems");
        a.status = 200;
        a.kind = (char *)kinds[k];
        a.instance_pointer = ptr;
        a.schema_pointer = sp;
        a.shape_type = (char *)"string";
        a.spec_hash = (char *)"h";
        a.count = 1 + (uint64_t)(i % 4);
        dg_pipeline_add(p, &a);
    }
    rc = dg_pipeline_flush(p, NULL);
    dg_drift *rows = NULL;
    size_t n = 0;
    dg_store_filter f = {0};
    if (!rc && !(rc = dg_store_query(st, &f, &rows, &n, NULL)) && n) {
        dg_spec_cache *sc = dg_spec_cache_new();
        dg_buf sys = DG_BUF_INIT, user = DG_BUF_INIT;
        size_t taken = 0;
        rc = sc ? dg_explain_prompt("shop", rows, n, sc, 24000, &sys, &user, &taken) : DG_ENOMEM;
        char ans[512], why[256];
        snprintf(ans, sizeof ans, "{\"explanations\":[{\"fingerprint\":\"%s\",\"classification\":"
                 "\"unknown\",\"cause\":\"c\",\"evidence\":\"e\",\"severity\":\"low\","
                 "\"confidence\":0.5,\"patch\":[]}]}", rows[0].fingerprint);
        dg_explanation *ex = calloc(n, sizeof *ex);
        size_t got = 0;
        if (!rc && ex)
            rc = dg_explain_parse(ans, rows, n, "gemini", "m", 1, ex, &got, why, sizeof why);
        for (size_t i = 0; ex && i < n; i++)
            dg_explanation_clear(&ex[i]);
        free(ex);
        dg_buf_free(&sys);
        dg_buf_free(&user);
        dg_spec_cache_free(sc);
    }
    dg_drifts_free(rows, n);
    dg_pipeline_free(p);
    dg_store_close(st);
    return rc;
}

static int run_op(int argc, char **argv, const char *body, size_t bl)
{
    if (!strcmp(argv[1], "spec"))
        return spec_and_body(argv[2], body, bl, argv[4]);
    if (!strcmp(argv[1], "pipeline"))
        return pipeline_run(argv[2]);
    (void)argc;
    return load_config(argv[2]);
}

int main(int argc, char **argv)
{
    int is_spec = argc == 7 && !strcmp(argv[1], "spec");
    if (!is_spec && !(argc == 5 && (!strcmp(argv[1], "config") || !strcmp(argv[1], "pipeline")))) {
        fprintf(stderr, "usage: oom config FILE FROM TO | oom spec SPEC BODY OPID FROM TO | "
                        "oom pipeline SPEC FROM TO\n");
        return 2;
    }
    /* the pipeline logs what failed: not needed here */
    dg_log_set_level((dg_log_level)(DG_LOG_ERROR + 1));
    static char body[1 << 20];
    size_t bl = 0;
    if (is_spec) {
        FILE *fp = fopen(argv[3], "rb");
        if (!fp) {
            perror(argv[3]);
            return 2;
        }
        bl = fread(body, 1, sizeof body, fp);
        fclose(fp);
    }
    long from = atol(argv[argc - 2]), to = atol(argv[argc - 1]);
    calls = 0;
    int base = run_op(argc, argv, body, bl);
    long total = calls;
    if (base) {
        fprintf(stderr, "oom: the operation fails even without injected failures (%d)\n", base);
        return 1;
    }
    long ok = 0;
    for (long k = from; k < to && k < total; k++) {
        countdown = k;
        int rc = run_op(argc, argv, body, bl);
        countdown = -1;
        ok += rc == 0;
    }
    printf("oom %s %s: failed each of allocations %ld..%ld of %ld, no crash (%ld runs still succeeded)\n",
           argv[1], argv[2], from, (to < total ? to : total) - 1, total, ok);
    return 0;
}
