/* proxy/verdict.c: judging one response (see verdict.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/drift.h"
#include "common/log.h"
#include "proxy/verdict.h"

const char *dg_verdict_op_label(const dg_route_op *op) { return op ? op->label : "unmatched"; }

static int status_in(const int *list, size_t n, int status)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == status)
            return 1;
    return 0;
}

/* xorshift32: sampling only needs to be cheap and roughly uniform. */
static double sample_draw(uint32_t *s)
{
    uint32_t x = *s ? *s : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return (double)x / 4294967296.0;
}

static char *arena_str(dg_arena *a, const char *s)
{
    return s ? dg_arena_strndup(a, s, strlen(s)) : NULL;
}

enum { SEV_ERROR = 0, SEV_UNDOCUMENTED = 1, SEV_INFO = 2 };

/* Records one finding after the policy had its say. how: SEV_ERROR,
 * SEV_INFO, or SEV_UNDOCUMENTED (the policy's undocumented_fields decides). */
static void add_finding(dg_verdict *vd, dg_kind kind, int how, const char *pointer,
                        const char *schema, const char *message, const dg_shape *shape,
                        const char *value)
{
    const dg_policy *p = vd->pol;
    const dg_route_op *op = vd->op;
    if (dg_policy_ignores(p, op ? op->operation_id : NULL, dg_verdict_op_label(op), vd->status,
                          pointer, (int)kind))
        return;
    dg_severity sev = how == SEV_INFO ? DG_SEV_INFO : DG_SEV_ERROR;
    if (how == SEV_UNDOCUMENTED) {
        if (p->undocumented_fields == DG_HANDLE_IGNORE)
            return;
        sev = p->undocumented_fields == DG_HANDLE_INFO ? DG_SEV_INFO : DG_SEV_ERROR;
    }
    if (sev == DG_SEV_ERROR)
        vd->n_err++;
    else
        vd->n_info++;
    if (vd->n_viol >= DG_PX_MAX_VIOLATIONS) {
        vd->truncated = 1;
        return;
    }
    if (vd->n_viol == vd->cap_viol) {
        size_t nc = vd->cap_viol ? vd->cap_viol * 2 : 8;
        dg_px_viol *nv = dg_arena_alloc(vd->arena, nc * sizeof *nv);
        if (!nv) {
            vd->truncated = 1;
            return;
        }
        if (vd->n_viol)
            memcpy(nv, vd->viol, vd->n_viol * sizeof *nv);
        vd->viol = nv;
        vd->cap_viol = nc;
    }
    dg_px_viol *v = &vd->viol[vd->n_viol++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->sev = sev;
    v->pointer = arena_str(vd->arena, pointer ? pointer : "");
    v->schema = arena_str(vd->arena, schema);
    v->message = arena_str(vd->arena, message);
    if (shape)
        v->shape = *shape;
    if (value && p->include_values && !dg_policy_masks(p, pointer ? pointer : ""))
        v->value = arena_str(vd->arena, value);
}

static void head_finding(dg_verdict *vd, dg_kind kind, dg_severity sev, const char *msg)
{
    add_finding(vd, kind, sev == DG_SEV_INFO ? SEV_INFO : SEV_ERROR, "", NULL, msg, NULL, NULL);
}

static void collect(dg_verdict *vd, const dg_result *r)
{
    char ptr[1024];
    for (size_t i = 0; i < r->count; i++) {
        const dg_violation *v = &r->v[i];
        const char *pointer = v->instance_pointer ? v->instance_pointer : "";
        if (vd->item_mode) {
            snprintf(ptr, sizeof ptr, "/%llu%s", (unsigned long long)vd->item_index, pointer);
            pointer = ptr;
        }
        add_finding(vd, v->kind, v->undocumented ? SEV_UNDOCUMENTED : SEV_ERROR, pointer, v->schema_pointer, v->message,
                    &v->shape, v->value);
    }
    if (r->truncated)
        vd->truncated = 1;
}

static void begin_value(dg_verdict *vd)
{
    dg_validator_set_report_undocumented(vd->v, vd->pol->undocumented_fields != DG_HANDLE_IGNORE);
    if (dg_validator_begin(vd->v, vd->schema_id)) {
        vd->validating = 0;
        vd->error_reason = "internal";
    }
    vd->feed_failed = 0;
}

static void finish_value(dg_verdict *vd)
{
    dg_result r;
    if (dg_validator_finish(vd->v, &r)) {
        vd->error_reason = "internal";
        return;
    }
    collect(vd, &r);
}

void dg_verdict_head(dg_verdict *vd, int status, const char *ct, size_t ct_len, const char *ce,
                     size_t ce_len, int has_body, int head_request)
{
    vd->status = status;
    vd->mode = vd->pol ? vd->pol->mode : DG_MODE_MONITOR;
    vd->schema_id = -1;
    if (ct) {
        size_t n = ct_len < sizeof vd->media - 1 ? ct_len : sizeof vd->media - 1;
        memcpy(vd->media, ct, n);
        vd->media[n] = 0;
    }
    if (!vd->op) {
        vd->skip_reason = "no_route";
        return;
    }
    if (vd->mode == DG_MODE_OFF) {
        vd->skip_reason = "mode_off";
        return;
    }
    if (vd->pol->sample_rate < 1.0 && sample_draw(vd->rng) >= vd->pol->sample_rate) {
        vd->skip_reason = "sampled_out";
        return;
    }
    if (head_request) {
        vd->skip_reason = "head";
        return;
    }
    if (status == 304) {
        vd->skip_reason = "not_modified";
        return;
    }
    dg_spec_target t;
    dg_error err = {0};
    const dg_spec *spec = vd->api->specs[vd->spec_i];
    if (dg_spec_target_for(spec, vd->op, status, ct ? vd->media : NULL, has_body, &t, &err)) {
        vd->error_reason = "spec";
        return;
    }
    switch (t.finding) {
    case DG_FIND_UNDOCUMENTED_STATUS: {
        dg_handling h = vd->pol->undocumented_status;
        if (status_in(vd->pol->info_statuses, vd->pol->n_info_statuses, status) &&
            h != DG_HANDLE_IGNORE)
            h = DG_HANDLE_INFO;
        if (h != DG_HANDLE_IGNORE)
            head_finding(vd, DG_KIND_UNDOCUMENTED_STATUS,
                         h == DG_HANDLE_INFO ? DG_SEV_INFO : DG_SEV_ERROR, t.message);
        vd->skip_reason = "undocumented_status";
        return;
    }
    case DG_FIND_UNDOCUMENTED_MEDIA:
    case DG_FIND_BODY_NOT_DOCUMENTED:
        head_finding(vd, DG_KIND_CONTENT_TYPE, DG_SEV_ERROR, t.message);
        return;
    default:
        break;
    }
    if (t.schema_id < 0 || !has_body)
        return; /* documented without a schema (or no body where none is due): conforms */
    if (!dg_media_is_json(vd->media) && !dg_media_is_json_seq(vd->media) && !t.item_mode) {
        vd->skip_reason = "media_type";
        return;
    }
    if (ce && ce_len) {
        dg_coding c = dg_coding_parse(ce, ce_len);
        if (c == DG_CODING_UNSUPPORTED) {
            vd->skip_reason = "encoding";
            return;
        }
        if (c != DG_CODING_IDENTITY) {
            const dg_limits *l = &vd->snap->cfg->limits;
            if (!(vd->z = dg_inflate_new(c, l->max_inflated_bytes, (unsigned)l->max_inflate_ratio))) {
                vd->error_reason = "memory";
                return;
            }
        }
    }
    vd->v = dg_snapshot_validator_get(vd->snap, vd->worker, vd->api, vd->spec_i);
    if (!vd->v) {
        vd->error_reason = "memory";
        return;
    }
    vd->schema_id = t.schema_id;
    vd->item_mode = t.item_mode;
    vd->validating = 1;
    if (!vd->item_mode)
        begin_value(vd);
}

/* Splits ndjson / json-seq bodies into items: a separator ends the current
 * item; blank items are skipped; each item is validated on its own. */
static void feed_items(dg_verdict *vd, const char *p, size_t n)
{
    char sep = vd->item_mode == 2 ? '\x1e' : '\n';
    while (n && vd->validating) {
        const char *e = memchr(p, sep, n);
        size_t len = e ? (size_t)(e - p) : n;
        if (!vd->item_open) {
            size_t k = 0;
            while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\n'))
                k++;
            if (k < len) {
                vd->item_open = 1;
                begin_value(vd);
            }
            p += k;
            len -= k;
            n -= k;
        }
        if (vd->item_open && len && !vd->feed_failed && vd->validating)
            vd->feed_failed = dg_validator_feed(vd->v, p, len) != 0;
        if (!e)
            return;
        if (vd->item_open && vd->validating) {
            finish_value(vd);
            vd->item_open = 0;
            vd->item_index++;
        }
        p += len + 1;
        n -= len + 1;
    }
}

static int feed_plain(void *ctx, const char *p, size_t n)
{
    dg_verdict *vd = ctx;
    vd->fed += n;
    if (vd->fed > vd->pol->max_body) {
        vd->validating = 0;
        vd->skip_reason = "body_limit";
        return DG_ESTOP;
    }
    if (vd->item_mode)
        feed_items(vd, p, n);
    else if (!vd->feed_failed)
        vd->feed_failed = dg_validator_feed(vd->v, p, n) != 0;
    return 0;
}

void dg_verdict_body(dg_verdict *vd, const char *p, size_t n)
{
    if (!vd->validating || !n)
        return;
    int64_t t0 = dg_px_now_ns();
    if (vd->z) {
        dg_error err = {0};
        int rc = dg_inflate_feed(vd->z, p, n, feed_plain, vd, &err);
        if (rc == DG_ELIMIT) {
            vd->validating = 0;
            vd->skip_reason = "inflate_limit";
        } else if (rc && rc != DG_ESTOP) {
            vd->validating = 0;
            vd->error_reason = "bad_encoding";
        }
    } else {
        feed_plain(vd, p, n);
    }
    vd->cpu_ns += dg_px_now_ns() - t0;
}

void dg_verdict_finish(dg_verdict *vd, int upstream_truncated)
{
    if (upstream_truncated) {
        vd->validating = 0;
        vd->error_reason = "upstream_truncated";
        return;
    }
    if (!vd->validating)
        return;
    int64_t t0 = dg_px_now_ns();
    if (vd->z) {
        dg_error err = {0};
        if (dg_inflate_finish(vd->z, &err)) {
            vd->validating = 0;
            vd->error_reason = "bad_encoding";
        }
    }
    if (vd->validating) {
        if (!vd->item_mode || vd->item_open)
            finish_value(vd);
    }
    vd->validating = 0;
    vd->cpu_ns += dg_px_now_ns() - t0;
}

const char *dg_verdict_result(const dg_verdict *vd)
{
    if (vd->n_err)
        return "invalid";
    if (vd->error_reason)
        return "error";
    if (vd->skip_reason)
        return "skipped";
    return "valid";
}

void dg_verdict_free(dg_verdict *vd)
{
    if (vd->z)
        dg_inflate_free(vd->z);
    vd->z = NULL;
    if (vd->v)
        dg_snapshot_validator_put(vd->snap, vd->worker, vd->api, vd->spec_i, vd->v);
    vd->v = NULL;
}

static void json_str_field(dg_buf *b, const char *name, const char *val, int comma)
{
    dg_buf_printf(b, "%s\"%s\":\"", comma ? "," : "", name);
    if (val)
        dg_buf_append_json_str(b, val, strlen(val));
    dg_buf_putc(b, '"');
}

/* [{"pointer":..,"kind":..,"message":..,"schema":..}] of error findings (or
 * of every finding when all is set), at most max. */
static void viol_array(dg_buf *b, const dg_verdict *vd, size_t max, int all)
{
    dg_buf_putc(b, '[');
    size_t k = 0;
    for (size_t i = 0; i < vd->n_viol && k < max; i++) {
        const dg_px_viol *v = &vd->viol[i];
        if (!all && v->sev != DG_SEV_ERROR)
            continue;
        if (k++)
            dg_buf_putc(b, ',');
        dg_buf_putc(b, '{');
        json_str_field(b, "pointer", v->pointer, 0);
        json_str_field(b, "kind", dg_kind_name(v->kind), 1);
        if (all)
            json_str_field(b, "severity", dg_severity_name(v->sev), 1);
        json_str_field(b, "message", v->message, 1);
        if (v->schema)
            json_str_field(b, "schema", v->schema, 1);
        dg_buf_putc(b, '}');
    }
    dg_buf_putc(b, ']');
}

int dg_verdict_problem(const dg_verdict *vd, dg_buf *out)
{
    dg_buf_printf(out, "{\"type\":\"https://driftgate.dev/problems/response-contract-violation\","
                       "\"title\":\"Upstream response violates the API description\","
                       "\"status\":502,\"detail\":\"the upstream's %d response has %zu "
                       "contract violation%s\"",
                  vd->status, vd->n_err, vd->n_err == 1 ? "" : "s");
    json_str_field(out, "api", vd->api->cfg->name, 1);
    json_str_field(out, "operation", dg_verdict_op_label(vd->op), 1);
    dg_buf_printf(out, ",\"upstream_status\":%d,\"violations\":", vd->status);
    viol_array(out, vd, DG_PX_MAX_VIOLATIONS, 0);
    dg_buf_printf(out, ",\"violations_total\":%zu,\"truncated\":%s}", vd->n_err,
                  vd->truncated ? "true" : "false");
    return out->data ? 0 : DG_ENOMEM;
}

/* One anomaly per drift of the response: violations that differ only in
 * array indices ("/items/3/price", "/items/9/price": same kind, schema,
 * observed type and severity) become one anomaly with a count, so a long
 * drifted array costs one queue entry, not one per item. */
static int same_drift(const dg_px_viol *a, const dg_px_viol *b)
{
    return a->kind == b->kind && a->sev == b->sev && !strcmp(a->shape.type, b->shape.type) &&
           !strcmp(a->schema ? a->schema : "", b->schema ? b->schema : "") &&
           dg_pointer_same_drift(a->pointer, b->pointer);
}

static void push_anomalies(const dg_verdict *vd, const dg_verdict_ctx *ctx, int64_t wall_ns)
{
    if (!g_px.anomalies)
        return;
    const dg_route_op *op = vd->op;
    const dg_spec *spec = vd->api->specs[vd->spec_i];
    int64_t now = wall_ns ? wall_ns : dg_px_wall_ns();
    const char *owner = dg_owner_resolve(vd->pol, dg_spec_root(spec), op ? op->operation : NULL);
    for (size_t i = 0; i < vd->n_viol; i++) {
        const dg_px_viol *v = &vd->viol[i];
        size_t j = 0;
        while (j < i && !same_drift(&vd->viol[j], v))
            j++;
        if (j < i)
            continue; /* counted with its first */
        uint64_t count = 1;
        for (size_t k = i + 1; k < vd->n_viol; k++)
            count += same_drift(&vd->viol[k], v);
        dg_anomaly *a = calloc(1, sizeof *a);
        if (!a)
            return;
        a->count = count;
        a->ts_ns = now;
        a->api = strdup(vd->api->cfg->name);
        a->operation = strdup(dg_verdict_op_label(op));
        a->method = op ? strdup(op->method) : NULL;
        a->path_template = op ? strdup(op->path_template) : NULL;
        a->status = vd->status;
        a->media_type = vd->media[0] ? strdup(vd->media) : NULL;
        a->kind = strdup(dg_kind_name(v->kind));
        a->severity = v->sev;
        a->instance_pointer = strdup(v->pointer ? v->pointer : "");
        a->schema_pointer = v->schema ? strdup(v->schema) : NULL;
        a->message = v->message ? strdup(v->message) : NULL;
        a->shape_type = v->shape.type[0] ? strdup(v->shape.type) : NULL;
        a->shape_length = v->shape.length;
        a->shape_number_class = v->shape.number_class ? strdup(v->shape.number_class) : NULL;
        a->value = v->value ? strdup(v->value) : NULL;
        a->spec_hash = strdup(dg_spec_hash(spec));
        a->request_id = ctx->request_id ? strdup(ctx->request_id) : NULL;
        a->owner = strdup(owner);
        if (!a->api || !a->kind || !a->operation || !a->owner) {
            dg_anomaly_free(a);
            return;
        }
        dg_anomaly_queue_push(g_px.anomalies, a);
    }
}

static void log_line(const dg_verdict *vd, const dg_verdict_ctx *ctx, const char *result)
{
    dg_log_level lvl = vd->n_err ? DG_LOG_WARN : vd->error_reason ? DG_LOG_ERROR : DG_LOG_INFO;
    if (!dg_log_enabled(lvl))
        return;
    dg_buf b = DG_BUF_INIT;
    json_str_field(&b, "api", vd->api->cfg->name, 0);
    json_str_field(&b, "operation", dg_verdict_op_label(vd->op), 1);
    json_str_field(&b, "method", ctx->method, 1);
    if (vd->op)
        json_str_field(&b, "path", vd->op->path_template, 1);
    dg_buf_printf(&b, ",\"status\":%d,\"duration_ms\":%.3f", vd->status,
                  (double)ctx->duration_ns / 1e6);
    json_str_field(&b, "result", result, 1);
    if (vd->error_reason)
        json_str_field(&b, "reason", vd->error_reason, 1);
    if (ctx->request_id)
        json_str_field(&b, "request_id", ctx->request_id, 1);
    if (ctx->traceparent)
        json_str_field(&b, "traceparent", ctx->traceparent, 1);
    json_str_field(&b, "spec_hash", dg_spec_hash(vd->api->specs[vd->spec_i]), 1);
    dg_buf_printf(&b, ",\"violations_total\":%zu,\"info_total\":%zu,\"violations\":", vd->n_err,
                  vd->n_info);
    viol_array(&b, vd, 20, 1);
    const char *msg = vd->n_err ? "invalid response"
                      : vd->error_reason ? "response not validated (internal error)"
                                         : "response drift (info)";
    if (b.data)
        dg_log_fields(lvl, msg, b.data);
    dg_buf_free(&b);
}

void dg_verdict_report(dg_verdict *vd, const dg_verdict_ctx *ctx)
{
    dg_verdict_report_at(vd, ctx, 0);
}

void dg_verdict_report_at(dg_verdict *vd, const dg_verdict_ctx *ctx, int64_t wall_ns)
{
    const char *api = vd->api->cfg->name;
    const char *op = dg_verdict_op_label(vd->op);
    const char *result = dg_verdict_result(vd);
    const char *lv[4] = {api, op, result, NULL};
    dg_series_inc(dg_metric_series(g_px.validated, lv));
    atomic_fetch_add(result[0] == 'v' ? &g_px.n_valid
                     : result[0] == 'i' ? &g_px.n_invalid
                     : result[0] == 's' ? &g_px.n_skipped
                                        : &g_px.n_error,
                     1);
    if (result[0] == 's' || result[0] == 'e') { /* the reason of a skipped/error verdict */
        const char *sv[2] = {api, vd->error_reason ? vd->error_reason : vd->skip_reason};
        dg_series_inc(dg_metric_series(g_px.skipped, sv));
    }
    if (vd->cpu_ns) {
        const char *hv[1] = {api};
        dg_series_observe(dg_metric_series(g_px.validation_seconds, hv), (double)vd->cpu_ns / 1e9);
    }
    char st[16];
    snprintf(st, sizeof st, "%d", vd->status);
    for (size_t i = 0; i < vd->n_viol; i++) {
        const char *kv[4] = {api, op, st, dg_kind_name(vd->viol[i].kind)};
        dg_series_inc(dg_metric_series(vd->viol[i].sev == DG_SEV_ERROR ? g_px.violations
                                                                       : g_px.info_drift,
                                       kv));
    }
    if (vd->n_viol || vd->error_reason)
        log_line(vd, ctx, result);
    push_anomalies(vd, ctx, wall_ns);
}
