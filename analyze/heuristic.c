/* analyze/heuristic.c: the deterministic explainer.
 *
 * One rule per violation kind, each reading only the drift (kind, pointer,
 * observed type, counts, example) and the schema it broke. Confidence is
 * lower where the same evidence fits several causes (a bound or a pattern
 * can be a provider change or a spec that was always too strict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/explain.h"
#include "common/buf.h"
#include "validate/doc.h"

typedef struct rule_out {
    const char *classification;
    const char *severity;
    double confidence;
    char cause[600];
    json_t *patch;                /* array (owned) */
} rule_out;

/* The last segment of an RFC 6901 pointer, unescaped ("~1" "/" and "~0" "~"). */
static void last_segment(const char *ptr, char *out, size_t outsz)
{
    const char *s = ptr ? strrchr(ptr, '/') : NULL;
    s = s ? s + 1 : "";
    size_t o = 0;
    for (; *s && o + 1 < outsz; s++) {
        if (s[0] == '~' && (s[1] == '0' || s[1] == '1')) {
            out[o++] = s[1] == '1' ? '/' : '~';
            s++;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = 0;
}

static int patch_op(json_t *patch, const char *op, const char *path, json_t *value)
{
    json_t *o = json_pack("{s:s,s:s}", "op", op, "path", path);
    if (!o) {
        json_decref(value);
        return DG_ENOMEM;
    }
    if (value)
        json_object_set_new(o, "value", value);
    return json_array_append_new(patch, o) ? DG_ENOMEM : 0;
}

/* path = base + "/" + escaped segments... */
static void join(char *out, size_t outsz, const char *base, const char *a, const char *b)
{
    dg_buf p = DG_BUF_INIT;
    dg_buf_append(&p, base, strlen(base));
    const char *seg[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (seg[i])
            dg_json_pointer_append(&p, seg[i], strlen(seg[i])); /* adds the '/' */
    snprintf(out, outsz, "%s", p.data ? p.data : base);
    dg_buf_free(&p);
}

/* A schema for a value of the observed type. */
static json_t *type_schema(const char *observed, int oas31)
{
    if (!observed || !observed[0])
        return json_object();
    if (!strcmp(observed, "null"))
        return oas31 ? json_pack("{s:s}", "type", "null") : json_pack("{s:b}", "nullable", 1);
    return json_pack("{s:s}", "type", observed);
}

static void rule_added_field(const dg_drift *d, const dg_schema_site *s, rule_out *r)
{
    char name[256];
    last_segment(d->pointer, name, sizeof name);
    r->classification = "provider_added_field";
    r->confidence = !strcmp(d->severity ? d->severity : "", "info") ? 0.85 : 0.8;
    r->severity = !strcmp(d->severity ? d->severity : "", "info") ? "low" : "medium";
    snprintf(r->cause, sizeof r->cause,
             "The provider added a property \"%.100s\" that the spec does not document; "
             "responses now carry it.", name);
    if (!s->schema)
        return;
    char path[1024];
    if (json_is_object(json_object_get(s->schema, "properties"))) {
        join(path, sizeof path, s->pointer, "properties", name);
        patch_op(r->patch, "add", path, type_schema(d->observed_type, s->oas31));
    } else {
        join(path, sizeof path, s->pointer, "properties", NULL);
        json_t *props = json_object();
        json_object_set_new(props, name, type_schema(d->observed_type, s->oas31));
        patch_op(r->patch, "add", path, props);
    }
}

static void rule_enum(const dg_drift *d, const dg_schema_site *s, rule_out *r)
{
    r->classification = "provider_added_enum_value";
    r->severity = "medium";
    r->confidence = 0.85;
    json_t *ex = d->example ? json_loads(d->example, 0, NULL) : NULL;
    const char *val = json_string_value(json_object_get(ex, "value"));
    json_t *v = val ? json_loads(val, JSON_DECODE_ANY, NULL) : NULL; /* NULL when cut short */
    if (v) {
        snprintf(r->cause, sizeof r->cause,
                 "The provider returns a value at %.200s that the spec's enum does not list: "
                 "most likely a new enum value.", d->pointer);
    } else {
        snprintf(r->cause, sizeof r->cause,
                 "The provider returns a value at %.200s that the spec's enum does not list: "
                 "most likely a new enum value (the value itself is not recorded: set "
                 "include_values in the policy to see it and get a complete patch).", d->pointer);
    }
    if (v && s->schema && json_is_array(json_object_get(s->schema, "enum"))) {
        char path[1024];
        join(path, sizeof path, s->pointer, "enum", "-");
        patch_op(r->patch, "add", path, v);
        v = NULL;
    }
    json_decref(v);
    json_decref(ex);
}

static void rule_type(const dg_drift *d, const dg_schema_site *s, rule_out *r)
{
    const char *obs = d->observed_type ? d->observed_type : "";
    json_t *t = s->schema ? json_object_get(s->schema, "type") : NULL;
    char path[1024];
    if (!strcmp(obs, "null")) {
        r->classification = "nullability_change";
        r->severity = "high";
        r->confidence = 0.8;
        snprintf(r->cause, sizeof r->cause,
                 "The provider now sends null at %.200s where the spec does not allow null: "
                 "the field became nullable.", d->pointer);
        if (!s->schema)
            return;
        if (!s->oas31) {
            join(path, sizeof path, s->pointer, "nullable", NULL);
            patch_op(r->patch, "add", path, json_true());
        } else if (json_is_string(t)) {
            join(path, sizeof path, s->pointer, "type", NULL);
            patch_op(r->patch, "replace", path, json_pack("[s,s]", json_string_value(t), "null"));
        } else if (json_is_array(t)) {
            join(path, sizeof path, s->pointer, "type", "-");
            patch_op(r->patch, "add", path, json_string("null"));
        }
        return;
    }
    r->classification = "provider_type_change";
    r->severity = "high";
    r->confidence = 0.75;
    snprintf(r->cause, sizeof r->cause,
             "The provider changed the type at %.200s: responses carry %s %.20s where the spec "
             "says %.40s.", d->pointer, obs[0] == 'a' || obs[0] == 'i' || obs[0] == 'o' ? "an" : "a",
             obs[0] ? obs : "value", json_is_string(t) ? json_string_value(t) : "another type");
    if (!s->schema || !obs[0] || !t)
        return;
    /* Widen, never narrow: values of the documented type are still valid
     * (other responses may carry them), so the patch accepts both. */
    if (s->oas31 && json_is_string(t)) {
        join(path, sizeof path, s->pointer, "type", NULL);
        patch_op(r->patch, "replace", path, json_pack("[s,s]", json_string_value(t), obs));
    } else if (s->oas31 && json_is_array(t)) {
        join(path, sizeof path, s->pointer, "type", "-");
        patch_op(r->patch, "add", path, json_string(obs));
    } else {
        /* OpenAPI 3.0 has no type lists: the schema becomes anyOf [documented, observed] */
        json_t *was = json_deep_copy(s->schema);
        patch_op(r->patch, "replace", s->pointer,
                 json_pack("{s:[o,{s:s}]}", "anyOf", was, "type", obs));
    }
}

static void rule_required(const dg_drift *d, const dg_schema_site *s, rule_out *r)
{
    /* The validator's message names the property: missing required property "x" */
    char name[256] = "";
    const char *q = d->message ? strchr(d->message, '"') : NULL;
    const char *e = q ? strchr(q + 1, '"') : NULL;
    if (q && e && (size_t)(e - q - 1) < sizeof name) {
        memcpy(name, q + 1, (size_t)(e - q - 1));
        name[e - q - 1] = 0;
    }
    r->classification = "provider_removed_field";
    r->severity = "high";
    r->confidence = name[0] ? 0.8 : 0.6;
    snprintf(r->cause, sizeof r->cause,
             "The provider stopped sending the required property %s%.100s%s at %.200s: it was "
             "removed or made optional.", name[0] ? "\"" : "", name[0] ? name : "(unnamed)",
             name[0] ? "\"" : "", d->pointer[0] ? d->pointer : "the body's root");
    json_t *req = s->schema ? json_object_get(s->schema, "required") : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(req, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), name)) {
            char idx[32], path[1024];
            snprintf(idx, sizeof idx, "%zu", i);
            join(path, sizeof path, s->pointer, "required", idx);
            patch_op(r->patch, "remove", path, NULL);
            break;
        }
    }
}

static void rule_format(const dg_drift *d, const dg_schema_site *s, rule_out *r)
{
    json_t *f = s->schema ? json_object_get(s->schema, "format") : NULL;
    r->classification = "format_change";
    r->severity = "medium";
    r->confidence = 0.6;
    snprintf(r->cause, sizeof r->cause,
             "Values at %.200s no longer match the documented format%s%.40s%s: the provider "
             "changed how it formats them.", d->pointer, f ? " \"" : "",
             f ? json_string_value(f) : "", f ? "\"" : "");
    if (f) {
        char path[1024];
        join(path, sizeof path, s->pointer, "format", NULL);
        patch_op(r->patch, "remove", path, NULL);
    }
}

static void rule_constraint(const dg_drift *d, const dg_schema_site *s, rule_out *r)
{
    r->classification = "spec_error";
    r->severity = "low";
    r->confidence = 0.4;
    snprintf(r->cause, sizeof r->cause,
             "Values at %.200s fall outside the documented %s: either the spec's constraint is "
             "stricter than what the provider ever guaranteed, or the provider widened the value "
             "range.", d->pointer, !strcmp(d->kind, "pattern") ? "pattern" : "bounds");
    if (s->schema && s->keyword[0] && json_object_get(s->schema, s->keyword)) {
        char path[1024];
        join(path, sizeof path, s->pointer, s->keyword, NULL);
        patch_op(r->patch, "remove", path, NULL);
    }
}

static void rule_status(const dg_drift *d, rule_out *r)
{
    int st = d->status;
    if (st == 429 || st == 408 || st >= 500) {
        r->classification = "transient";
        r->severity = st >= 500 ? "medium" : "low";
        r->confidence = 0.7;
        snprintf(r->cause, sizeof r->cause,
                 "The provider answered %d, which the spec does not document: a rate limit or "
                 "an outage rather than a contract change.", st);
        return;
    }
    r->classification = "spec_error";
    r->severity = "medium";
    r->confidence = 0.6;
    snprintf(r->cause, sizeof r->cause,
             "The operation returns status %d, which the spec does not document.", st);
    if (d->path_template && d->method && st > 0) {
        char method[16], status[16], path[1024];
        size_t i = 0;
        for (; d->method[i] && i + 1 < sizeof method; i++)
            method[i] = (char)(d->method[i] >= 'A' && d->method[i] <= 'Z' ? d->method[i] + 32
                                                                          : d->method[i]);
        method[i] = 0;
        snprintf(status, sizeof status, "%d", st);
        join(path, sizeof path, "/paths", d->path_template, method);
        char full[1100];
        join(full, sizeof full, path, "responses", status);
        patch_op(r->patch, "add", full,
                 json_pack("{s:s}", "description", "Observed by driftgate; document it."));
    }
}

int dg_heuristic_explain(const dg_drift *d, dg_spec_cache *c, int64_t now_ms, dg_explanation *out)
{
    memset(out, 0, sizeof *out);
    rule_out r;
    memset(&r, 0, sizeof r);
    if (!(r.patch = json_array()))
        return DG_ENOMEM;
    dg_schema_site s;
    dg_spec_cache_site(c, d->schema_pointer, &s);
    const char *k = d->kind ? d->kind : "";
    if (!strcmp(k, "additional"))
        rule_added_field(d, &s, &r);
    else if (!strcmp(k, "enum"))
        rule_enum(d, &s, &r);
    else if (!strcmp(k, "type"))
        rule_type(d, &s, &r);
    else if (!strcmp(k, "required"))
        rule_required(d, &s, &r);
    else if (!strcmp(k, "format"))
        rule_format(d, &s, &r);
    else if (!strcmp(k, "pattern") || !strcmp(k, "bounds"))
        rule_constraint(d, &s, &r);
    else if (!strcmp(k, "undocumented_status"))
        rule_status(d, &r);
    else if (!strcmp(k, "parse")) {
        r.classification = "transient";
        r.severity = "medium";
        r.confidence = 0.5;
        snprintf(r.cause, sizeof r.cause, "The body was not valid JSON (truncated or garbled): "
                 "usually a transport problem or an error page, not a contract change.");
    } else if (!strcmp(k, "content_type")) {
        r.classification = "spec_error";
        r.severity = "medium";
        r.confidence = 0.4;
        snprintf(r.cause, sizeof r.cause, "The response's media type is not the one the spec "
                 "documents for this status%s%.100s.", d->media_type ? ": " : "",
                 d->media_type ? d->media_type : "");
    } else {
        r.classification = "unknown";
        r.severity = "medium";
        r.confidence = 0.2;
        snprintf(r.cause, sizeof r.cause, "A %s violation at %.200s: no rule explains it.",
                 k[0] ? k : "schema", d->pointer);
    }
    char first[11], ev[700];
    dg_day_format(dg_day_of_ms(d->first_seen_ms), first);
    snprintf(ev, sizeof ev, "%llu occurrence%s since %s; kind %s at %.200s; observed %s%s; %.200s",
             (unsigned long long)d->count, d->count == 1 ? "" : "s", first, k,
             d->pointer[0] ? d->pointer : "/", d->observed_type && d->observed_type[0]
             ? d->observed_type : "no value", s.schema ? "" : " (spec file not available)",
             d->message ? d->message : "");
    char *patch = json_dumps(r.patch, JSON_COMPACT);
    json_decref(r.patch);
    memcpy(out->fingerprint, d->fingerprint, sizeof out->fingerprint);
    out->confidence = r.confidence;
    out->created_ms = now_ms;
    out->spec_hash = d->spec_hash ? strdup(d->spec_hash) : strdup("");
    out->classification = strdup(r.classification);
    out->cause = strdup(r.cause);
    out->evidence = strdup(ev);
    out->severity = strdup(r.severity);
    out->patch = patch;
    out->source = strdup("heuristic");
    if (!out->spec_hash || !out->classification || !out->cause || !out->evidence ||
        !out->severity || !out->patch || !out->source) {
        dg_explanation_clear(out);
        return DG_ENOMEM;
    }
    return 0;
}
