/* analyze/report_json.c: the JSON report and index (their schema is
 * analyze/report.schema.json; keep the two in step). Built as a jansson
 * tree and dumped with two-space indentation; strings that are not valid
 * UTF-8 get U+FFFD where they break, so the output is always valid JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/report_internal.h"

#define REPORT_VERSION 1

/* Building: every set goes through set(), which remembers a failure (a NULL
 * value from an allocation that failed) instead of checking each call. */
typedef struct jb {
    int failed;
} jb;

static void set(jb *b, json_t *o, const char *key, json_t *v)
{
    if (!o || !v || json_object_set_new(o, key, v))
        b->failed = 1;
}

static void push(jb *b, json_t *a, json_t *v)
{
    if (!a || !v || json_array_append_new(a, v))
        b->failed = 1;
}

static json_t *jint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *jtime(int64_t ms)
{
    char t[32];
    dg__rep_iso(ms, t);
    return json_string(t);
}

static json_t *jopt(const char *s)
{
    return s && *s ? dg__rep_jstr(s) : json_null();
}

static json_t *window(jb *b, int64_t since_ms, int64_t now_ms, int32_t first, int32_t last)
{
    json_t *w = json_object();
    char d[16];
    set(b, w, "since", jtime(since_ms));
    set(b, w, "until", jtime(now_ms));
    dg_day_format(first, d);
    set(b, w, "first_day", json_string(d));
    dg_day_format(last, d);
    set(b, w, "last_day", json_string(d));
    return w;
}

static json_t *scope(jb *b, const char *id, const char *type, const char *name, const char *api)
{
    json_t *s = json_object();
    set(b, s, "id", dg__rep_jstr(id));
    set(b, s, "type", dg__rep_jstr(type));
    set(b, s, "name", dg__rep_jstr(name));
    set(b, s, "api", jopt(api));
    return s;
}

/* The stored example, keeping only the documented members. */
static json_t *example(jb *b, const dg_drift *d)
{
    json_t *ex = dg__rep_example(d);
    if (!ex)
        return json_null();
    json_t *o = json_object();
    json_t *v;
    set(b, o, "type", dg__rep_jstr(json_string_value(json_object_get(ex, "type"))));
    if ((v = json_object_get(ex, "length")) && json_is_integer(v) && json_integer_value(v) >= 0)
        set(b, o, "length", json_integer(json_integer_value(v)));
    if ((v = json_object_get(ex, "number_class")) && json_is_string(v))
        set(b, o, "number_class", dg__rep_jstr(json_string_value(v)));
    char *val = dg__rep_example_value(ex);
    if (val)
        set(b, o, "value", dg__rep_jstr(val));
    else if (json_object_get(ex, "value"))
        b->failed = 1;
    free(val);
    json_decref(ex);
    return o;
}

static json_t *explanation(jb *b, const dg_explanation *x)
{
    if (!x)
        return json_null();
    json_t *o = json_object();
    char who[256];
    dg__rep_author(x, who, sizeof who);
    int model = x->source && !strcmp(x->source, "model");
    set(b, o, "written_by", dg__rep_jstr(who));
    set(b, o, "source", json_string(model ? "model" : "heuristic"));
    set(b, o, "backend", model ? jopt(x->backend) : json_null());
    set(b, o, "model", model ? jopt(x->model) : json_null());
    set(b, o, "classification", dg__rep_jstr(x->classification ? x->classification : ""));
    set(b, o, "cause", dg__rep_jstr(x->cause ? x->cause : ""));
    set(b, o, "evidence", dg__rep_jstr(x->evidence ? x->evidence : ""));
    set(b, o, "severity", dg__rep_jstr(x->severity ? x->severity : ""));
    double c = x->confidence;
    set(b, o, "confidence", json_real(c >= 0 && c <= 1 ? c : c < 0 ? 0 : 1));
    set(b, o, "created_at", jtime(x->created_ms));
    set(b, o, "spec_hash", jopt(x->spec_hash));
    json_t *p = json_loads(x->patch ? x->patch : "[]", JSON_DECODE_ANY, NULL);
    if (p && json_is_array(p)) {
        set(b, o, "patch", p);
    } else {
        json_decref(p);
        set(b, o, "patch", json_null());
        set(b, o, "patch_text", dg__rep_jstr(x->patch ? x->patch : ""));
    }
    return o;
}

static json_t *spec_location(jb *b, const dg_rep_item *it)
{
    json_t *o = json_object();
    set(b, o, "text", dg__rep_jstr(it->spec_loc));
    const char *colon = it->spec_loc_found ? strrchr(it->spec_loc, ':') : NULL;
    if (colon) {
        json_t *f = json_stringn(it->spec_loc, (size_t)(colon - it->spec_loc));
        set(b, o, "file", f ? f : dg__rep_jstr(""));
        set(b, o, "line", json_integer(strtol(colon + 1, NULL, 10)));
    } else {
        set(b, o, "file", json_null());
        set(b, o, "line", json_null());
    }
    return o;
}

static json_t *daily(jb *b, const dg_rep *r, const dg_drift *d, uint64_t *series)
{
    json_t *a = json_array();
    size_t n = (size_t)(r->last_day - r->first_day) + 1;
    dg__rep_series(d, r->first_day, r->last_day, series);
    for (size_t i = 0; i < n; i++) {
        char day[16];
        dg_day_format(r->first_day + (int32_t)i, day);
        json_t *e = json_object();
        set(b, e, "date", json_string(day));
        set(b, e, "count", jint(series[i]));
        push(b, a, e);
    }
    return a;
}

/* Identity and context members shared by listed and resolved drifts. */
static void drift_fields(jb *b, json_t *o, const dg_drift *d)
{
    set(b, o, "api", dg__rep_jstr(d->api ? d->api : ""));
    set(b, o, "owner", dg__rep_jstr(d->owner && *d->owner ? d->owner : "unowned"));
    set(b, o, "operation", dg__rep_jstr(d->operation ? d->operation : ""));
    set(b, o, "method", jopt(d->method));
    set(b, o, "path_template", jopt(d->path_template));
    set(b, o, "http_status", json_integer(d->status));
    set(b, o, "media_type", jopt(d->media_type));
    set(b, o, "pointer", dg__rep_jstr(d->pointer ? d->pointer : ""));
    set(b, o, "kind", dg__rep_jstr(d->kind ? d->kind : ""));
    set(b, o, "observed_type", dg__rep_jstr(d->observed_type ? d->observed_type : ""));
    int info = d->severity && !strcmp(d->severity, "info");
    set(b, o, "severity", json_string(info ? "info" : "error"));
    set(b, o, "message", jopt(d->message));
    set(b, o, "schema_location", dg__rep_jstr(d->schema_loc ? d->schema_loc : ""));
    set(b, o, "schema_pointer", jopt(d->schema_pointer));
    set(b, o, "first_seen", jtime(d->first_seen_ms));
    set(b, o, "last_seen", jtime(d->last_seen_ms));
    set(b, o, "count", jint(d->count));
}

static json_t *drift(jb *b, const dg_rep *r, const dg_rep_item *it, uint64_t *series)
{
    const dg_drift *d = it->d;
    json_t *o = json_object();
    set(b, o, "fingerprint", json_string(d->fingerprint));
    set(b, o, "change", json_string(it->change == DG_REP_RECURRING ? "recurring" : "new"));
    drift_fields(b, o, d);
    set(b, o, "window_count", jint(it->window_count));
    set(b, o, "daily", daily(b, r, d, series));
    set(b, o, "spec_location", spec_location(b, it));
    set(b, o, "spec_hash", jopt(d->spec_hash));
    set(b, o, "example", example(b, d));
    set(b, o, "explanation", explanation(b, it->x));
    return o;
}

static int dump(json_t *root, jb *b, dg_buf *out)
{
    int rc = DG_ENOMEM;
    if (root && !b->failed) {
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        if (s) {
            rc = dg_buf_append(out, s, strlen(s)) || dg_buf_putc(out, '\n') ? DG_ENOMEM : 0;
            free(s);
        }
    }
    json_decref(root);
    return rc;
}

int dg__rep_render_json(const dg_rep *r, dg_buf *out)
{
    jb b = {0};
    uint64_t *series = calloc(DG_REP_MAX_DAYS, sizeof *series);
    json_t *root = json_object();
    if (!series || !root) {
        free(series);
        json_decref(root);
        return DG_ENOMEM;
    }
    set(&b, root, "kind", json_string("report"));
    set(&b, root, "version", json_integer(REPORT_VERSION));
    set(&b, root, "generator", dg__rep_jstr(r->generator ? r->generator : "driftgate"));
    set(&b, root, "generated_at", jtime(r->now_ms));
    set(&b, root, "scope", scope(&b, r->scope, r->scope_type, r->scope_name, r->filter_api));
    set(&b, root, "window", window(&b, r->since_ms, r->now_ms, r->first_day, r->last_day));
    if (r->has_previous) {
        json_t *p = json_object();
        set(&b, p, "at", jtime(r->previous_ms));
        set(&b, root, "previous_report", p);
    } else {
        set(&b, root, "previous_report", json_null());
    }
    char msg[256];
    if (!r->n_items)
        snprintf(msg, sizeof msg, "no drift in this window");
    else
        snprintf(msg, sizeof msg,
                 "%zu drift%s (%zu error%s, %zu info), %llu occurrence%s in the window",
                 r->n_items, r->n_items == 1 ? "" : "s", r->errors, r->errors == 1 ? "" : "s",
                 r->info, (unsigned long long)r->occurrences, r->occurrences == 1 ? "" : "s");
    set(&b, root, "summary", json_string(msg));
    json_t *t = json_object();
    set(&b, t, "drifts", jint(r->n_items));
    set(&b, t, "errors", jint(r->errors));
    set(&b, t, "info", jint(r->info));
    set(&b, t, "occurrences", jint(r->occurrences));
    set(&b, t, "error_occurrences", jint(r->error_occurrences));
    set(&b, t, "info_occurrences", jint(r->info_occurrences));
    set(&b, t, "occurrences_all_time", jint(r->occurrences_all_time));
    set(&b, t, "new", jint(r->n_new));
    set(&b, t, "recurring", jint(r->n_recurring));
    set(&b, t, "resolved", jint(r->n_resolved));
    set(&b, t, "listed", jint(dg__rep_listed(r)));
    set(&b, root, "totals", t);
    json_t *a = json_array();
    for (size_t i = 0, n = dg__rep_listed(r); i < n; i++)
        push(&b, a, drift(&b, r, &r->items[i], series));
    set(&b, root, "drifts", a);
    json_t *res = json_array();
    for (size_t i = 0; i < r->n_resolved; i++) {
        json_t *o = json_object();
        set(&b, o, "fingerprint", json_string(r->resolved[i].fingerprint));
        if (r->resolved[i].d)
            drift_fields(&b, o, r->resolved[i].d);
        push(&b, res, o);
    }
    set(&b, root, "resolved", res);
    free(series);
    return dump(root, &b, out);
}

static const char *const ext_names[3] = {"json", "md", "html"};

int dg__rep_index_json(const dg_rep_index *ix, dg_buf *out)
{
    jb b = {0};
    json_t *root = json_object();
    if (!root)
        return DG_ENOMEM;
    set(&b, root, "kind", json_string("index"));
    set(&b, root, "version", json_integer(REPORT_VERSION));
    set(&b, root, "generator", dg__rep_jstr(ix->generator ? ix->generator : "driftgate"));
    set(&b, root, "generated_at", jtime(ix->now_ms));
    set(&b, root, "window",
        window(&b, ix->since_ms, ix->now_ms, dg_day_of_ms(ix->since_ms), dg_day_of_ms(ix->now_ms)));
    set(&b, root, "summary",
        json_string(ix->n ? "reports written for the scopes below" : "no drift in this window"));
    json_t *a = json_array();
    for (size_t i = 0; i < ix->n; i++) {
        const dg_rep_index_entry *e = &ix->e[i];
        json_t *o = json_object();
        set(&b, o, "scope", scope(&b, e->scope, e->scope_type, e->scope_name, NULL));
        json_t *f = json_object();
        for (unsigned k = 0; k < 3; k++) {
            if (!(ix->formats & (1u << k)))
                continue;
            char name[600];
            snprintf(name, sizeof name, "%s.%s", e->base, ext_names[k]);
            set(&b, f, ext_names[k], dg__rep_jstr(name));
        }
        set(&b, o, "files", f);
        json_t *t = json_object();
        set(&b, t, "drifts", jint(e->drifts));
        set(&b, t, "errors", jint(e->errors));
        set(&b, t, "info", jint(e->info));
        set(&b, t, "occurrences", jint(e->occurrences));
        set(&b, t, "new", jint(e->n_new));
        set(&b, t, "recurring", jint(e->n_recurring));
        set(&b, t, "resolved", jint(e->n_resolved));
        set(&b, o, "totals", t);
        push(&b, a, o);
    }
    set(&b, root, "reports", a);
    return dump(root, &b, out);
}
