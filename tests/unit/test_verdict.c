/* tests/unit/test_verdict.c: the proxy's judgement of one response (policy,
 * media types, encodings, items, enforce's problem body) without sockets. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "proxy/verdict.h"

static const char SPEC[] =
    "openapi: 3.1.0\n"
    "info: {title: t, version: '1'}\n"
    "paths:\n"
    "  /pets/{id}:\n"
    "    get:\n"
    "      operationId: getPet\n"
    "      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n"
    "      responses:\n"
    "        '200':\n"
    "          description: ok\n"
    "          content:\n"
    "            application/json:\n"
    "              schema: {$ref: '#/components/schemas/Pet'}\n"
    "            text/html: {schema: {type: string}}\n"
    "        '204': {description: none}\n"
    "  /events:\n"
    "    get:\n"
    "      operationId: events\n"
    "      responses:\n"
    "        '200':\n"
    "          description: stream\n"
    "          content:\n"
    "            application/x-ndjson:\n"
    "              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}\n"
    "components:\n"
    "  schemas:\n"
    "    Pet:\n"
    "      type: object\n"
    "      required: [id, name]\n"
    "      properties:\n"
    "        id: {type: integer}\n"
    "        name: {type: string}\n"
    "        secret: {type: integer}\n";

static char spec_path[64];
static dg_snapshot *snap;
static dg_policy *pol;   /* the API's policy (tests tweak it before judging) */
static dg_arena arena;

static void setup(void)
{
    strcpy(spec_path, "/tmp/dg_verdict_XXXXXX.yaml");
    int fd = mkstemps(spec_path, 5);
    cr_assert(fd >= 0);
    cr_assert(write(fd, SPEC, sizeof SPEC - 1) == (ssize_t)(sizeof SPEC - 1));
    close(fd);
    cr_assert_eq(dg_px_metrics_init(), 0);
    dg_config *cfg = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_config_quick(spec_path, "http://127.0.0.1:9", NULL, NULL, DG_MODE_ENFORCE,
                                 &cfg, &err),
                 0, "%s", err.msg);
    pol = &cfg->apis[0].policy;
    dg_error errs[4];
    size_t n = 0;
    cr_assert_eq(dg_snapshot_build(cfg, 1, 1, &snap, errs, 4, &n), 0, "%s", errs[0].msg);
}

static void teardown(void)
{
    dg_snapshot_unref(snap);
    dg_arena_free(&arena);
    dg_metrics_free(g_px.reg);
    memset(&g_px, 0, sizeof g_px);
    unlink(spec_path);
}

TestSuite(verdict, .init = setup, .fini = teardown);

static uint32_t rng = 1;

/* Judges one response to GET path; the verdict stays readable in *vd. */
static const char *judge(dg_verdict *vd, const char *path, int status, const char *ct,
                         const char *ce, const void *body, size_t len)
{
    memset(vd, 0, sizeof *vd);
    vd->snap = snap;
    vd->api = &snap->apis[0];
    vd->arena = &arena;
    vd->rng = &rng;
    vd->op = dg_router_match(dg_spec_router(snap->apis[0].specs[0]), "GET", path, strlen(path));
    vd->pol = vd->op ? dg_policy_for_operation(vd->api->cfg, vd->op->operation_id, vd->op->label)
                     : pol;
    dg_verdict_head(vd, status, ct, ct ? strlen(ct) : 0, ce, ce ? strlen(ce) : 0, len > 0, 0);
    /* feed in two pieces: the split must not matter */
    dg_verdict_body(vd, body, len / 2);
    dg_verdict_body(vd, (const char *)body + len / 2, len - len / 2);
    dg_verdict_finish(vd, 0);
    dg_verdict_free(vd);
    return dg_verdict_result(vd);
}

#define J(vd, path, st, ct, body) judge(vd, path, st, ct, NULL, body, strlen(body))

Test(verdict, valid_body_is_valid)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", "{\"id\":1,\"name\":\"a\"}"),
                     "valid");
}

Test(verdict, type_error_is_invalid_with_pointer_and_kind)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json; charset=utf-8",
                       "{\"id\":\"x\",\"name\":\"a\"}"),
                     "invalid");
    cr_assert_eq(vd.n_err, 1);
    cr_assert_str_eq(vd.viol[0].pointer, "/id");
    cr_assert_eq(vd.viol[0].kind, DG_KIND_TYPE);
    cr_assert_null(vd.viol[0].value, "values stay inside unless the policy opts in");
}

Test(verdict, malformed_json_is_a_parse_violation)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", "{\"id\":1,"), "invalid");
    cr_assert_eq(vd.viol[0].kind, DG_KIND_PARSE);
}

Test(verdict, undocumented_status_is_an_error_in_strict)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 503, "application/json", "{}"), "invalid");
    cr_assert_eq(vd.viol[0].kind, DG_KIND_UNDOCUMENTED_STATUS);
}

Test(verdict, info_status_is_info_drift_not_invalid)
{
    static int st[] = {503};
    pol->info_statuses = st;
    pol->n_info_statuses = 1;
    dg_verdict vd;
    const char *r = J(&vd, "/pets/1", 503, "application/json", "{}");
    pol->info_statuses = NULL;
    pol->n_info_statuses = 0;
    cr_assert_str_eq(r, "skipped");
    cr_assert_eq(vd.n_err, 0);
    cr_assert_eq(vd.n_info, 1);
    cr_assert_eq(vd.viol[0].sev, DG_SEV_INFO);
}

Test(verdict, ignored_undocumented_status_is_skipped_without_findings)
{
    pol->undocumented_status = DG_HANDLE_IGNORE;
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 500, "application/json", "{}"), "skipped");
    cr_assert_eq(vd.n_viol, 0);
}

Test(verdict, ignore_rule_drops_the_violation)
{
    dg_ignore_rule rule = {.operation = "getPet", .status = 2, .pointer = "/id", .kind = -1};
    pol->ignore = &rule;
    pol->n_ignore = 1;
    dg_verdict vd;
    const char *r = J(&vd, "/pets/1", 200, "application/json", "{\"id\":\"x\",\"name\":\"a\"}");
    pol->ignore = NULL;
    pol->n_ignore = 0;
    cr_assert_str_eq(r, "valid");
}

Test(verdict, values_only_with_opt_in_and_never_when_masked)
{
    char *props[] = {"secret"};
    pol->include_values = 1;
    pol->redact_properties = props;
    pol->n_redact_properties = 1;
    dg_verdict vd;
    J(&vd, "/pets/1", 200, "application/json",
      "{\"id\":\"x1\",\"name\":\"a\",\"secret\":\"hunter2\"}");
    pol->include_values = 0;
    pol->redact_properties = NULL;
    pol->n_redact_properties = 0;
    cr_assert_eq(vd.n_err, 2);
    for (size_t i = 0; i < vd.n_viol; i++) {
        if (!strcmp(vd.viol[i].pointer, "/secret"))
            cr_assert_null(vd.viol[i].value, "masked property leaked");
        else
            cr_assert(vd.viol[i].value && strstr(vd.viol[i].value, "x1"));
    }
}

Test(verdict, problem_body_lists_violations_without_values)
{
    dg_verdict vd;
    J(&vd, "/pets/1", 200, "application/json", "{\"id\":\"SENTINEL-42\",\"name\":7}");
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_verdict_problem(&vd, &b), 0);
    json_error_t je;
    json_t *o = json_loads(b.data, 0, &je);
    cr_assert_not_null(o, "problem body is not JSON: %s", je.text);
    cr_assert_eq(json_integer_value(json_object_get(o, "status")), 502);
    cr_assert_eq(json_integer_value(json_object_get(o, "upstream_status")), 200);
    cr_assert_eq(json_array_size(json_object_get(o, "violations")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(o, "operation")), "getPet");
    cr_assert_null(strstr(b.data, "SENTINEL"), "raw value in the problem body: %s", b.data);
    json_decref(o);
    dg_buf_free(&b);
}

Test(verdict, gzip_body_is_inflated_for_validation)
{
    const char *json = "{\"id\":\"x\",\"name\":\"a\"}";
    unsigned char gz[256];
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)json;
    z.avail_in = (uInt)strlen(json);
    z.next_out = gz;
    z.avail_out = sizeof gz;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = sizeof gz - z.avail_out;
    deflateEnd(&z);
    dg_verdict vd;
    cr_assert_str_eq(judge(&vd, "/pets/1", 200, "application/json", "gzip", gz, n), "invalid");
    cr_assert_str_eq(vd.viol[0].pointer, "/id");
    cr_assert_str_eq(judge(&vd, "/pets/1", 200, "application/json", "gzip", "garbage!", 8),
                     "error");
    cr_assert_str_eq(vd.error_reason, "bad_encoding");
    cr_assert_str_eq(judge(&vd, "/pets/1", 200, "application/json", "br", "xx", 2), "skipped");
    cr_assert_str_eq(vd.skip_reason, "encoding");
}

Test(verdict, documented_non_json_media_is_skipped)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "text/html", "<p>hi</p>"), "skipped");
    cr_assert_str_eq(vd.skip_reason, "media_type");
}

Test(verdict, undocumented_media_is_a_content_type_violation)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "text/plain", "hi"), "invalid");
    cr_assert_eq(vd.viol[0].kind, DG_KIND_CONTENT_TYPE);
}

Test(verdict, unmatched_path_is_skipped_no_route)
{
    dg_verdict vd;
    cr_assert_str_eq(J(&vd, "/nope", 200, "application/json", "{}"), "skipped");
    cr_assert_str_eq(vd.skip_reason, "no_route");
}

Test(verdict, mode_off_and_sampling_skip)
{
    dg_verdict vd;
    pol->mode = DG_MODE_OFF;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", "{\"id\":\"x\"}"), "skipped");
    cr_assert_str_eq(vd.skip_reason, "mode_off");
    pol->mode = DG_MODE_MONITOR;
    pol->sample_rate = 0.0;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", "{\"id\":\"x\"}"), "skipped");
    cr_assert_str_eq(vd.skip_reason, "sampled_out");
    pol->sample_rate = 1.0;
}

Test(verdict, body_over_max_body_is_skipped_not_valid)
{
    pol->max_body = 8;
    dg_verdict vd;
    const char *r = J(&vd, "/pets/1", 200, "application/json", "{\"id\":1,\"name\":\"abcdefgh\"}");
    pol->max_body = 64u << 20;
    cr_assert_str_eq(r, "skipped");
    cr_assert_str_eq(vd.skip_reason, "body_limit");
}

Test(verdict, no_content_status_is_valid)
{
    dg_verdict vd;
    cr_assert_str_eq(judge(&vd, "/pets/1", 204, NULL, NULL, "", 0), "valid");
}

Test(verdict, ndjson_items_are_validated_one_by_one)
{
    dg_verdict vd;
    const char *body = "{\"id\":1,\"name\":\"a\"}\n\n{\"id\":\"two\",\"name\":\"b\"}\n"
                       "{\"id\":3}\n";
    cr_assert_str_eq(J(&vd, "/events", 200, "application/x-ndjson", body), "invalid");
    cr_assert_eq(vd.n_err, 2);
    cr_assert_str_eq(vd.viol[0].pointer, "/1/id");
    cr_assert_eq(vd.viol[1].kind, DG_KIND_REQUIRED);
    cr_assert_str_eq(vd.viol[1].pointer, "/2");
}

/* Responses on one worker overlap: each needs its own validator (a shared
 * one mixed their bytes and judged valid bodies invalid). */
Test(verdict, overlapping_responses_on_one_worker_do_not_mix)
{
    dg_verdict a, b;
    dg_verdict *vs[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        dg_verdict *vd = vs[i];
        memset(vd, 0, sizeof *vd);
        vd->snap = snap;
        vd->api = &snap->apis[0];
        vd->arena = &arena;
        vd->rng = &rng;
        vd->op = dg_router_match(dg_spec_router(snap->apis[0].specs[0]), "GET", "/pets/1", 7);
        vd->pol = pol;
        dg_verdict_head(vd, 200, "application/json", 16, NULL, 0, 1, 0);
    }
    const char *body = "{\"id\":1,\"name\":\"a\"}";
    for (size_t k = 0; body[k]; k++)
        for (int i = 0; i < 2; i++)
            dg_verdict_body(vs[i], body + k, 1);
    for (int i = 0; i < 2; i++) {
        dg_verdict_finish(vs[i], 0);
        cr_assert_str_eq(dg_verdict_result(vs[i]), "valid", "response %d", i);
        dg_verdict_free(vs[i]);
    }
}

Test(verdict, undocumented_field_follows_the_policy)
{
    dg_verdict vd;
    const char *body = "{\"id\":1,\"name\":\"a\",\"extra\":true}";
    pol->undocumented_fields = DG_HANDLE_INFO;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", body), "valid");
    cr_assert_eq(vd.n_info, 1);
    cr_assert_str_eq(vd.viol[0].pointer, "/extra");
    cr_assert_eq(vd.viol[0].kind, DG_KIND_ADDITIONAL);
    pol->undocumented_fields = DG_HANDLE_ERROR;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", body), "invalid");
    pol->undocumented_fields = DG_HANDLE_IGNORE;
    cr_assert_str_eq(J(&vd, "/pets/1", 200, "application/json", body), "valid");
    cr_assert_eq(vd.n_viol, 0);
}

static uint64_t skipped_count(const char *reason)
{
    dg_buf b = DG_BUF_INIT;
    dg_metrics_expose(g_px.reg, &b);
    char needle[160];
    snprintf(needle, sizeof needle, "driftgate_responses_skipped_total{api=\"%s\",reason=\"%s\"} ",
             snap->apis[0].cfg->name, reason);
    const char *p = b.data ? strstr(b.data, needle) : NULL;
    uint64_t n = p ? strtoull(p + strlen(needle), NULL, 10) : 0;
    dg_buf_free(&b);
    return n;
}

/* An invalid verdict is not also counted as skipped (its reason is only
 * for skipped and error verdicts). */
Test(verdict, skipped_reasons_count_only_skipped_and_error_verdicts)
{
    dg_verdict vd;
    dg_verdict_ctx ctx = {"GET", 1000, "rid", NULL};
    J(&vd, "/pets/1", 503, "application/json", "{}");
    cr_assert_str_eq(dg_verdict_result(&vd), "invalid");
    dg_verdict_report(&vd, &ctx);
    cr_assert_eq(skipped_count("undocumented_status"), 0);
    pol->undocumented_status = DG_HANDLE_IGNORE;
    J(&vd, "/pets/1", 503, "application/json", "{}");
    dg_verdict_report(&vd, &ctx);
    cr_assert_eq(skipped_count("undocumented_status"), 1);
}

/* The anomalies a verdict pushes: identical findings of one response (same
 * kind, schema, type, pointer once indices are ignored) are one anomaly with
 * a count; others stay apart. */
Test(verdict, anomalies_group_identical_findings_of_one_response)
{
    g_px.anomalies = dg_anomaly_queue_new(100);
    cr_assert_not_null(g_px.anomalies);
    dg_verdict vd;
    const char *lines = "{\"id\":\"a\",\"name\":\"x\"}\n{\"id\":\"b\",\"name\":\"y\"}\n"
                        "{\"id\":\"c\",\"name\":3}\n";
    cr_assert_str_eq(judge(&vd, "/events", 200, "application/x-ndjson", NULL, lines, strlen(lines)),
                     "invalid");
    dg_verdict_ctx ctx = {"GET", 0, "rq-1", NULL};
    dg_verdict_report(&vd, &ctx);
    dg_anomaly *a = dg_anomaly_queue_pop(g_px.anomalies, 0);
    dg_anomaly *b = dg_anomaly_queue_pop(g_px.anomalies, 0);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_null(dg_anomaly_queue_pop(g_px.anomalies, 0), "two drifts, two anomalies");
    cr_assert_str_eq(a->instance_pointer, "/0/id", "the first occurrence is the example");
    cr_assert_eq(a->count, 3, "three items with a string id");
    cr_assert_str_eq(b->instance_pointer, "/2/name");
    cr_assert_eq(b->count, 1);
    cr_assert_str_eq(a->owner, "unowned");
    dg_anomaly_free(a);
    dg_anomaly_free(b);
    dg_anomaly_queue_free(g_px.anomalies);
    g_px.anomalies = NULL;
}
