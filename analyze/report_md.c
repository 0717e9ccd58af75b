/* analyze/report_md.c: the Markdown report and index (GitHub-flavoured:
 * pipe tables, fenced code). Every string from the store goes through
 * dg__md_esc or dg__md_code: values from responses and text from a model
 * are untrusted, and Markdown renderers pass raw HTML through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/report_internal.h"

typedef struct mw {
    dg_buf *b;
    int failed;
} mw;

/* Appends formatted text, remembering a failure instead of returning it. */
#define P(w, ...) ((w)->failed |= dg_buf_printf((w)->b, __VA_ARGS__) != 0)

static void T(mw *w, const char *s)
{
    w->failed |= dg__md_esc(w->b, s) != 0;
}

static void C(mw *w, const char *s, int in_table)
{
    w->failed |= dg__md_code(w->b, s, in_table) != 0;
}

static const char *sev(const dg_drift *d)
{
    return d->severity && !strcmp(d->severity, "info") ? "info" : "error";
}

static void header(mw *w, const dg_rep *r)
{
    char now[32], since[32], prev[32];
    dg__rep_iso(r->now_ms, now);
    dg__rep_iso(r->since_ms, since);
    P(w, "# Drift report: %s ", !strcmp(r->scope_type, "owner") ? "owner" : "API");
    C(w, r->scope_name, 0);
    if (r->filter_api) {
        P(w, " (API ");
        C(w, r->filter_api, 0);
        P(w, ")");
    }
    P(w, "\n\nGenerated %s by ", now);
    T(w, r->generator ? r->generator : "driftgate");
    P(w, ". Window: %s to %s (UTC). ", since, now);
    if (r->has_previous) {
        dg__rep_iso(r->previous_ms, prev);
        P(w, "Compared with the previous report of %s.\n\n", prev);
    } else {
        P(w, "First report for this scope: every drift is new.\n\n");
    }
    if (!r->n_items) {
        P(w, "**No drift in this window.**");
    } else {
        P(w, "**%zu drift%s** (%zu error%s, %zu info), **%llu occurrence%s** in the window "
             "(%llu error, %llu info; %llu in total since first seen).",
          r->n_items, r->n_items == 1 ? "" : "s", r->errors, r->errors == 1 ? "" : "s", r->info,
          (unsigned long long)r->occurrences, r->occurrences == 1 ? "" : "s",
          (unsigned long long)r->error_occurrences, (unsigned long long)r->info_occurrences,
          (unsigned long long)r->occurrences_all_time);
    }
    P(w, " New: %zu, recurring: %zu, resolved: %zu.\n\n", r->n_new, r->n_recurring, r->n_resolved);
}

/* "GET /pets/{petId}" or the operation name. */
static void endpoint(mw *w, const dg_drift *d, int in_table)
{
    if (d->method && d->path_template) {
        char ep[1024];
        snprintf(ep, sizeof ep, "%s %s", d->method, d->path_template);
        C(w, ep, in_table);
    } else {
        C(w, d->operation, in_table);
    }
}

static void summary_table(mw *w, const dg_rep *r)
{
    size_t n = dg__rep_listed(r);
    if (!n)
        return;
    P(w, "## Summary\n\n");
    P(w, "| # | Severity | Change | Operation | Endpoint | Status | Pointer | Kind | In window | "
         "Total | Last seen |\n");
    P(w, "|--:|---|---|---|---|--:|---|---|--:|--:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const dg_rep_item *it = &r->items[i];
        const dg_drift *d = it->d;
        char last[32];
        dg__rep_iso(d->last_seen_ms, last);
        P(w, "| [%zu](#drift-%s) | %s | %s | ", i + 1, dg__rep_fp(d->fingerprint), sev(d),
          it->change == DG_REP_RECURRING ? "recurring" : "new");
        T(w, d->operation);
        P(w, " | ");
        endpoint(w, d, 1);
        P(w, " | %d | ", d->status);
        C(w, dg__rep_pointer(d->pointer), 1);
        P(w, " | ");
        T(w, d->kind);
        P(w, " | %llu | %llu | %s |\n", (unsigned long long)it->window_count,
          (unsigned long long)d->count, last);
    }
    if (n < r->n_items)
        P(w, "\n%zu more drift%s in the window %s not listed (raise --top to see them).\n",
          r->n_items - n, r->n_items - n == 1 ? "" : "s", r->n_items - n == 1 ? "is" : "are");
    P(w, "\n");
}

static void sparkline(mw *w, const dg_rep *r, const dg_drift *d, uint64_t *series)
{
    static const char *const bars[8] = {"\xE2\x96\x81", "\xE2\x96\x82", "\xE2\x96\x83",
                                        "\xE2\x96\x84", "\xE2\x96\x85", "\xE2\x96\x86",
                                        "\xE2\x96\x87", "\xE2\x96\x88"};
    size_t n = (size_t)(r->last_day - r->first_day) + 1;
    dg__rep_series(d, r->first_day, r->last_day, series);
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (series[i] > max)
            max = series[i];
    char a[16], z[16];
    dg_day_format(r->first_day, a);
    dg_day_format(r->last_day, z);
    P(w, "- **Daily counts** (%s to %s): ", a, z);
    for (size_t i = 0; i < n; i++) {
        unsigned k = max ? (unsigned)((series[i] * 7 + max - 1) / max) : 0;
        P(w, "%s", series[i] ? bars[k > 7 ? 7 : k] : bars[0]);
    }
    P(w, " (");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!series[i])
            continue;
        char day[16];
        dg_day_format(r->first_day + (int32_t)i, day);
        P(w, "%s%s: %llu", shown++ ? ", " : "", day, (unsigned long long)series[i]);
    }
    P(w, "%s)\n", shown ? "" : "none on the window's days");
}

static void example(mw *w, const dg_drift *d)
{
    json_t *ex = dg__rep_example(d);
    P(w, "- **Example:** ");
    if (!ex) {
        P(w, "none stored\n");
        return;
    }
    json_t *v;
    P(w, "type ");
    C(w, json_string_value(json_object_get(ex, "type")), 0);
    if ((v = json_object_get(ex, "length")) && json_is_integer(v))
        P(w, ", length %lld", (long long)json_integer_value(v));
    if ((v = json_object_get(ex, "number_class")) && json_is_string(v)) {
        P(w, ", number class ");
        C(w, json_string_value(v), 0);
    }
    if ((v = json_object_get(ex, "value"))) {
        char *s = dg__rep_example_value(ex);
        P(w, ", value ");
        if (s)
            C(w, s, 0);
        else
            w->failed = 1;
        free(s);
    } else {
        P(w, " (the value is not stored: shape only)");
    }
    P(w, "\n");
    json_decref(ex);
}

/* A fenced block longer than any backtick run in the text. */
static void fenced(mw *w, const char *lang, const char *text)
{
    size_t run = 0, longest = 2;
    for (const char *p = text; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    for (size_t i = 0; i <= longest; i++)
        P(w, "`");
    P(w, "%s\n", lang);
    dg_buf t = DG_BUF_INIT;
    if (dg__rep_utf8(&t, text))
        w->failed = 1;
    else
        P(w, "%s", t.data ? t.data : "");
    dg_buf_free(&t);
    P(w, "\n");
    for (size_t i = 0; i <= longest; i++)
        P(w, "`");
    P(w, "\n");
}

static void explanation(mw *w, const dg_explanation *x)
{
    char who[256];
    dg__rep_author(x, who, sizeof who);
    if (!x) {
        P(w, "\n**Explanation:** none yet (no explainer has looked at this drift).\n\n");
        return;
    }
    P(w, "\n**Explanation** (written by ");
    T(w, who);
    P(w, "):\n\n- **Classification:** ");
    T(w, x->classification);
    P(w, "\n- **Likely cause:** ");
    T(w, x->cause);
    P(w, "\n- **Evidence:** ");
    T(w, x->evidence);
    P(w, "\n- **Severity:** ");
    T(w, x->severity);
    P(w, ", **confidence:** %.2f\n\n", x->confidence);
    dg_buf pb = DG_BUF_INIT;
    int has = dg__rep_patch_pretty(x->patch, &pb);
    if (has == DG_ENOMEM) {
        w->failed = 1;
    } else if (has == 0) {
        P(w, "No spec patch suggested.\n\n");
    } else {
        P(w, has > 0 ? "Suggested spec patch (JSON Patch, RFC 6902):\n\n"
                     : "Suggested spec patch (not valid JSON, as written):\n\n");
        fenced(w, has > 0 ? "json" : "", pb.data ? pb.data : "");
        P(w, "\n");
    }
    dg_buf_free(&pb);
}

static void drift_section(mw *w, const dg_rep *r, size_t i, uint64_t *series)
{
    const dg_rep_item *it = &r->items[i];
    const dg_drift *d = it->d;
    char a[32], z[32];
    dg__rep_iso(d->first_seen_ms, a);
    dg__rep_iso(d->last_seen_ms, z);
    P(w, "<a id=\"drift-%s\"></a>\n\n### %zu. ", dg__rep_fp(d->fingerprint), i + 1);
    T(w, d->operation);
    P(w, " %d ", d->status);
    C(w, dg__rep_pointer(d->pointer), 0);
    P(w, ": ");
    T(w, d->kind);
    P(w, " (%s, %s)\n\n", sev(d), it->change == DG_REP_RECURRING ? "recurring" : "new");
    P(w, "- **Fingerprint:** `%s`\n- **Operation:** ", dg__rep_fp(d->fingerprint));
    T(w, d->operation);
    P(w, " (");
    endpoint(w, d, 0);
    P(w, "), status %d", d->status);
    if (d->media_type) {
        P(w, ", ");
        C(w, d->media_type, 0);
    }
    P(w, "\n- **Pointer:** ");
    C(w, dg__rep_pointer(d->pointer), 0);
    P(w, ", **kind:** ");
    T(w, d->kind);
    if (d->observed_type && *d->observed_type) {
        P(w, ", **observed type:** ");
        T(w, d->observed_type);
    }
    P(w, ", **severity:** %s\n", sev(d));
    if (d->message) {
        P(w, "- **Validator message:** ");
        T(w, d->message);
        P(w, "\n");
    }
    P(w, "- **First seen:** %s, **last seen:** %s\n", a, z);
    P(w, "- **Occurrences:** %llu in the window, %llu in total\n",
      (unsigned long long)it->window_count, (unsigned long long)d->count);
    sparkline(w, r, d, series);
    example(w, d);
    P(w, "- **Spec location:** ");
    C(w, it->spec_loc[0] ? it->spec_loc : "unknown", 0);
    if (!it->spec_loc_found)
        P(w, " (the spec file could not be read: pointer only)");
    P(w, "\n");
    explanation(w, it->x);
}

static void resolved(mw *w, const dg_rep *r)
{
    if (!r->n_resolved)
        return;
    P(w, "## Resolved since the previous report\n\n");
    P(w, "Listed in the previous report, not seen in this window.\n\n");
    P(w, "| Fingerprint | Operation | Status | Pointer | Kind | Last seen |\n");
    P(w, "|---|---|--:|---|---|---|\n");
    for (size_t i = 0; i < r->n_resolved; i++) {
        const dg_drift *d = r->resolved[i].d;
        P(w, "| `%s` | ", dg__rep_fp(r->resolved[i].fingerprint));
        if (!d) {
            P(w, "(no longer in the store) | | | | |\n");
            continue;
        }
        char z[32];
        dg__rep_iso(d->last_seen_ms, z);
        T(w, d->operation);
        P(w, " | %d | ", d->status);
        C(w, dg__rep_pointer(d->pointer), 1);
        P(w, " | ");
        T(w, d->kind);
        P(w, " | %s |\n", z);
    }
    P(w, "\n");
}

int dg__rep_render_md(const dg_rep *r, dg_buf *out)
{
    mw w = {out, 0};
    uint64_t *series = calloc(DG_REP_MAX_DAYS, sizeof *series);
    if (!series)
        return DG_ENOMEM;
    header(&w, r);
    summary_table(&w, r);
    size_t n = dg__rep_listed(r);
    if (n)
        P(&w, "## Drifts\n\n");
    for (size_t i = 0; i < n; i++)
        drift_section(&w, r, i, series);
    resolved(&w, r);
    free(series);
    return w.failed ? DG_ENOMEM : 0;
}

int dg__rep_index_md(const dg_rep_index *ix, dg_buf *out)
{
    mw w = {out, 0};
    char now[32], since[32];
    dg__rep_iso(ix->now_ms, now);
    dg__rep_iso(ix->since_ms, since);
    P(&w, "# Drift reports\n\nGenerated %s by ", now);
    T(&w, ix->generator ? ix->generator : "driftgate");
    P(&w, ". Window: %s to %s (UTC).\n\n", since, now);
    if (!ix->n) {
        P(&w, "**No drift in this window** (the store holds no API yet).\n");
        return w.failed ? DG_ENOMEM : 0;
    }
    P(&w, "| Report | Drifts | Errors | Info | Occurrences | New | Recurring | Resolved |\n");
    P(&w, "|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < ix->n; i++) {
        const dg_rep_index_entry *e = &ix->e[i];
        P(&w, "| [");
        T(&w, e->scope);
        /* base names are sanitised to [A-Za-z0-9._-]: safe in a link */
        P(&w, "](%s.md) | %zu | %zu | %zu | %llu | %zu | %zu | %zu |\n", e->base, e->drifts,
          e->errors, e->info, (unsigned long long)e->occurrences, e->n_new, e->n_recurring,
          e->n_resolved);
    }
    return w.failed ? DG_ENOMEM : 0;
}
