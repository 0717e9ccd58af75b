/* analyze/report_html.c: the HTML report and index. One self-contained
 * file each: inline CSS, inline SVG sparklines, no script, no external URL
 * (the only links are to anchors in the page and to sibling report files),
 * and a Content-Security-Policy that would block anything else. Every
 * string from the store goes through dg__html_esc: values from responses
 * and text from a model are untrusted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/report_internal.h"

typedef struct hw {
    dg_buf *b;
    int failed;
} hw;

/* Appends formatted text, remembering a failure instead of returning it. */
#define P(w, ...) ((w)->failed |= dg_buf_printf((w)->b, __VA_ARGS__) != 0)

/* Escaped text. */
static void E(hw *w, const char *s)
{
    w->failed |= dg__html_esc(w->b, s) != 0;
}

static const char css[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "margin:0;padding:24px 32px;color:#1d2330;background:#f6f7f9}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px}"
    "h3{font-size:16px;margin:0 0 10px}"
    "code,pre{font:13px/1.4 'DejaVu Sans Mono',Menlo,Consolas,monospace}"
    "code{background:#eef0f4;padding:1px 4px;border-radius:3px;word-break:break-all}"
    ".meta{color:#5b6475;margin:0 0 16px}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}"
    ".card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 16px;"
    "min-width:110px}"
    ".card b{display:block;font-size:22px}.card span{color:#5b6475;font-size:13px}"
    ".empty{background:#e8f5ec;border:1px solid #b6dfc2;border-radius:6px;padding:12px 16px;"
    "font-weight:600;color:#1e6b37}"
    "table{border-collapse:collapse;background:#fff;width:100%;font-size:14px}"
    "th,td{border:1px solid #dde1e8;padding:5px 8px;text-align:left;vertical-align:top}"
    "th{background:#eef0f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".sev{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}"
    ".sev-error{background:#fde2e1;color:#a11b14}.sev-info{background:#e1ecfd;color:#1b4ea1}"
    ".chg{font-size:12px;font-weight:600}.chg-new{color:#b35900}.chg-recurring{color:#5b6475}"
    ".drift{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:14px 18px;"
    "margin:0 0 16px}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0 0 10px}"
    "dt{color:#5b6475}dd{margin:0}"
    ".expl{border-left:3px solid #7a8ab8;background:#f7f8fc;padding:8px 12px;margin:10px 0}"
    ".expl p{margin:4px 0}.who{color:#5b6475;font-size:13px}"
    "pre{background:#1d2330;color:#e8ebf2;padding:10px 12px;border-radius:5px;overflow:auto;"
    "white-space:pre-wrap;word-break:break-all}"
    "svg.spark{vertical-align:middle}svg.spark rect{fill:#4a6fd1}svg.spark rect.z{fill:#c9ced8}"
    "footer{color:#5b6475;font-size:13px;margin-top:32px}"
    "a{color:#2a55c4}";

static void head(hw *w, const char *title_kind, const char *title_name, const char *generator)
{
    P(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"");
    E(w, generator ? generator : "driftgate");
    P(w, "\">\n<title>%s", title_kind);
    E(w, title_name);
    P(w, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

int dg__rep_sparkline(dg_buf *b, const uint64_t *counts, size_t n, int32_t first_day)
{
    hw w = {b, 0};
    if (!n)
        return 0;
    enum { BW = 6, H = 24 };
    uint64_t max = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] > max)
            max = counts[i];
        total += counts[i];
    }
    size_t vw = n * BW;
    size_t px = vw < 24 ? 24 : vw > 180 ? 180 : vw;
    char a[16], z[16];
    dg_day_format(first_day, a);
    dg_day_format(first_day + (int32_t)(n - 1), z);
    P(&w, "<svg class=\"spark\" width=\"%zu\" height=\"%d\" "
          "viewBox=\"0 0 %zu %d\" preserveAspectRatio=\"none\" role=\"img\">"
          "<title>Daily counts %s to %s: %llu in total, at most %llu a day</title>",
      px, H, vw, H, a, z, (unsigned long long)total, (unsigned long long)max);
    for (size_t i = 0; i < n; i++) {
        char day[16];
        dg_day_format(first_day + (int32_t)i, day);
        /* a day with occurrences is at least 2 units tall; a zero day is a
         * 1-unit grey mark, so an all-zero series is a flat baseline */
        unsigned h = counts[i] && max ? 2 + (unsigned)((double)counts[i] / (double)max * (H - 2))
                                      : 1;
        if (h > H)
            h = H;
        P(&w, "<rect%s x=\"%zu\" y=\"%u\" width=\"%d\" height=\"%u\">"
              "<title>%s: %llu</title></rect>",
          counts[i] ? "" : " class=\"z\"", i * BW, H - h, BW - 1, h, day,
          (unsigned long long)counts[i]);
    }
    P(&w, "</svg>");
    return w.failed ? DG_ENOMEM : 0;
}

static void spark(hw *w, const dg_rep *r, const dg_drift *d, uint64_t *series)
{
    size_t n = (size_t)(r->last_day - r->first_day) + 1;
    dg__rep_series(d, r->first_day, r->last_day, series);
    w->failed |= dg__rep_sparkline(w->b, series, n, r->first_day) != 0;
}

static const char *sev(const dg_drift *d)
{
    return d->severity && !strcmp(d->severity, "info") ? "info" : "error";
}

static const char *chg(const dg_rep_item *it)
{
    return it->change == DG_REP_RECURRING ? "recurring" : "new";
}

static void card(hw *w, unsigned long long n, const char *label)
{
    P(w, "<div class=\"card\"><b>%llu</b><span>%s</span></div>", n, label);
}

static void header(hw *w, const dg_rep *r)
{
    char now[32], since[32], prev[32];
    dg__rep_iso(r->now_ms, now);
    dg__rep_iso(r->since_ms, since);
    int owner = !strcmp(r->scope_type, "owner");
    P(w, "<header>\n<h1>Drift report: %s <code>", owner ? "owner" : "API");
    E(w, r->scope_name);
    P(w, "</code>");
    if (r->filter_api) {
        P(w, " (API <code>");
        E(w, r->filter_api);
        P(w, "</code>)");
    }
    P(w, "</h1>\n<p class=\"meta\">Generated <time>%s</time> by ", now);
    E(w, r->generator ? r->generator : "driftgate");
    P(w, ". Window: <time>%s</time> to <time>%s</time> (UTC). ", since, now);
    if (r->has_previous) {
        dg__rep_iso(r->previous_ms, prev);
        P(w, "Compared with the previous report of <time>%s</time>.", prev);
    } else {
        P(w, "First report for this scope: every drift is new.");
    }
    P(w, "</p>\n</header>\n<div class=\"cards\">");
    card(w, r->n_items, "drifts");
    card(w, r->errors, "errors");
    card(w, r->info, "info");
    card(w, r->occurrences, "occurrences in the window");
    card(w, r->n_new, "new");
    card(w, r->n_recurring, "recurring");
    card(w, r->n_resolved, "resolved");
    P(w, "</div>\n");
    if (!r->n_items)
        P(w, "<p class=\"empty\" id=\"no-drift\">No drift in this window.</p>\n");
    else
        P(w, "<p>%llu occurrences in the window: %llu of errors, %llu of info findings; %llu in "
             "total since first seen.</p>\n",
          (unsigned long long)r->occurrences, (unsigned long long)r->error_occurrences,
          (unsigned long long)r->info_occurrences, (unsigned long long)r->occurrences_all_time);
}

static void endpoint(hw *w, const dg_drift *d)
{
    if (d->method && d->path_template) {
        P(w, "<code>");
        E(w, d->method);
        P(w, " ");
        E(w, d->path_template);
        P(w, "</code>");
    } else {
        P(w, "<code>");
        E(w, d->operation);
        P(w, "</code>");
    }
}

static void summary_table(hw *w, const dg_rep *r, uint64_t *series)
{
    size_t n = dg__rep_listed(r);
    P(w, "<h2>Summary</h2>\n<table id=\"summary\" class=\"summary\">\n<thead><tr><th>#</th>"
         "<th>Severity</th><th>Change</th><th>Operation</th><th>Endpoint</th><th>Status</th>"
         "<th>Pointer</th><th>Kind</th><th>In window</th><th>Total</th><th>Daily</th>"
         "<th>Last seen</th></tr></thead>\n<tbody>\n");
    if (!n)
        P(w, "<tr><td colspan=\"12\">No drift in this window.</td></tr>\n");
    for (size_t i = 0; i < n; i++) {
        const dg_rep_item *it = &r->items[i];
        const dg_drift *d = it->d;
        char last[32];
        dg__rep_iso(d->last_seen_ms, last);
        P(w, "<tr><td class=\"n\"><a href=\"#drift-%s\">%zu</a></td>"
             "<td><span class=\"sev sev-%s\">%s</span></td>"
             "<td><span class=\"chg chg-%s\">%s</span></td><td>",
          dg__rep_fp(d->fingerprint), i + 1, sev(d), sev(d), chg(it), chg(it));
        E(w, d->operation);
        P(w, "</td><td>");
        endpoint(w, d);
        P(w, "</td><td class=\"n\">%d</td><td><code>", d->status);
        E(w, dg__rep_pointer(d->pointer));
        P(w, "</code></td><td>");
        E(w, d->kind);
        P(w, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td>",
          (unsigned long long)it->window_count, (unsigned long long)d->count);
        spark(w, r, d, series);
        P(w, "</td><td><time>%s</time></td></tr>\n", last);
    }
    P(w, "</tbody>\n</table>\n");
    if (n < r->n_items)
        P(w, "<p>%zu more drift%s in the window %s not listed (raise --top to see them).</p>\n",
          r->n_items - n, r->n_items - n == 1 ? "" : "s", r->n_items - n == 1 ? "is" : "are");
}

static void dt(hw *w, const char *label)
{
    P(w, "<dt>%s</dt><dd>", label);
}

static void example(hw *w, const dg_drift *d)
{
    json_t *ex = dg__rep_example(d);
    dt(w, "Example");
    if (!ex) {
        P(w, "none stored</dd>\n");
        return;
    }
    json_t *v;
    P(w, "type <code>");
    E(w, json_string_value(json_object_get(ex, "type")));
    P(w, "</code>");
    if ((v = json_object_get(ex, "length")) && json_is_integer(v))
        P(w, ", length %lld", (long long)json_integer_value(v));
    if ((v = json_object_get(ex, "number_class")) && json_is_string(v)) {
        P(w, ", number class <code>");
        E(w, json_string_value(v));
        P(w, "</code>");
    }
    if ((v = json_object_get(ex, "value"))) {
        char *s = dg__rep_example_value(ex);
        P(w, ", value <code class=\"value\">");
        if (s)
            E(w, s);
        else
            w->failed = 1;
        free(s);
        P(w, "</code>");
    } else {
        P(w, " <span class=\"who\">(the value is not stored: shape only)</span>");
    }
    P(w, "</dd>\n");
    json_decref(ex);
}

static void explanation(hw *w, const dg_explanation *x)
{
    char who[256];
    dg__rep_author(x, who, sizeof who);
    P(w, "<div class=\"expl\">");
    if (!x) {
        P(w, "<p><b>Explanation:</b> none yet (no explainer has looked at this drift).</p>"
             "</div>\n");
        return;
    }
    P(w, "<p class=\"who\">Explanation written by <b>");
    E(w, who);
    P(w, "</b></p>\n<p><b>Classification:</b> ");
    E(w, x->classification);
    P(w, "</p>\n<p><b>Likely cause:</b> ");
    E(w, x->cause);
    P(w, "</p>\n<p><b>Evidence:</b> ");
    E(w, x->evidence);
    P(w, "</p>\n<p><b>Severity:</b> ");
    E(w, x->severity);
    P(w, "; <b>confidence:</b> %.2f</p>\n", x->confidence);
    dg_buf pb = DG_BUF_INIT;
    int has = dg__rep_patch_pretty(x->patch, &pb);
    if (has == DG_ENOMEM) {
        w->failed = 1;
    } else if (has == 0) {
        P(w, "<p>No spec patch suggested.</p>\n");
    } else {
        P(w, "<p><b>Suggested spec patch</b> %s:</p>\n<pre class=\"patch\">",
          has > 0 ? "(JSON Patch, RFC 6902)" : "(not valid JSON, as written)");
        E(w, pb.data ? pb.data : "");
        P(w, "</pre>\n");
    }
    dg_buf_free(&pb);
    P(w, "</div>\n");
}

static void drift_section(hw *w, const dg_rep *r, size_t i, uint64_t *series)
{
    const dg_rep_item *it = &r->items[i];
    const dg_drift *d = it->d;
    char a[32], z[32];
    dg__rep_iso(d->first_seen_ms, a);
    dg__rep_iso(d->last_seen_ms, z);
    P(w, "<section class=\"drift\" id=\"drift-%s\">\n<h3>%zu. ", dg__rep_fp(d->fingerprint),
      i + 1);
    E(w, d->operation);
    P(w, " %d <code>", d->status);
    E(w, dg__rep_pointer(d->pointer));
    P(w, "</code>: ");
    E(w, d->kind);
    P(w, " <span class=\"sev sev-%s\">%s</span> <span class=\"chg chg-%s\">%s</span></h3>\n<dl>\n",
      sev(d), sev(d), chg(it), chg(it));
    dt(w, "Fingerprint");
    P(w, "<code>%s</code></dd>\n", dg__rep_fp(d->fingerprint));
    dt(w, "Operation");
    E(w, d->operation);
    P(w, " (");
    endpoint(w, d);
    P(w, "), status %d", d->status);
    if (d->media_type) {
        P(w, ", <code>");
        E(w, d->media_type);
        P(w, "</code>");
    }
    P(w, "</dd>\n");
    dt(w, "Pointer");
    P(w, "<code>");
    E(w, dg__rep_pointer(d->pointer));
    P(w, "</code>, kind ");
    E(w, d->kind);
    if (d->observed_type && *d->observed_type) {
        P(w, ", observed type <code>");
        E(w, d->observed_type);
        P(w, "</code>");
    }
    P(w, "</dd>\n");
    if (d->message) {
        dt(w, "Validator message");
        E(w, d->message);
        P(w, "</dd>\n");
    }
    dt(w, "Seen");
    P(w, "first <time>%s</time>, last <time>%s</time></dd>\n", a, z);
    dt(w, "Occurrences");
    P(w, "%llu in the window, %llu in total ", (unsigned long long)it->window_count,
      (unsigned long long)d->count);
    spark(w, r, d, series);
    P(w, "</dd>\n");
    example(w, d);
    dt(w, "Spec location");
    P(w, "<code>");
    E(w, it->spec_loc[0] ? it->spec_loc : "unknown");
    P(w, "</code>%s</dd>\n",
      it->spec_loc_found
          ? ""
          : " <span class=\"who\">(the spec file could not be read: pointer only)</span>");
    P(w, "</dl>\n");
    explanation(w, it->x);
    P(w, "</section>\n");
}

static void resolved(hw *w, const dg_rep *r)
{
    if (!r->n_resolved)
        return;
    P(w, "<h2>Resolved since the previous report</h2>\n<p>Listed in the previous report, not "
         "seen in this window.</p>\n<table id=\"resolved\">\n<thead><tr><th>Fingerprint</th>"
         "<th>Operation</th><th>Status</th><th>Pointer</th><th>Kind</th><th>Last seen</th>"
         "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->n_resolved; i++) {
        const dg_drift *d = r->resolved[i].d;
        P(w, "<tr><td><code>%s</code></td>", dg__rep_fp(r->resolved[i].fingerprint));
        if (!d) {
            P(w, "<td colspan=\"5\">no longer in the store</td></tr>\n");
            continue;
        }
        char z[32];
        dg__rep_iso(d->last_seen_ms, z);
        P(w, "<td>");
        E(w, d->operation);
        P(w, "</td><td class=\"n\">%d</td><td><code>", d->status);
        E(w, dg__rep_pointer(d->pointer));
        P(w, "</code></td><td>");
        E(w, d->kind);
        P(w, "</td><td><time>%s</time></td></tr>\n", z);
    }
    P(w, "</tbody>\n</table>\n");
}

static void footer(hw *w, const char *generator)
{
    P(w, "<footer>Written by ");
    E(w, generator ? generator : "driftgate");
    P(w, ". Values from responses appear only where a policy opted in; everything else is the "
         "value's shape.</footer>\n</body>\n</html>\n");
}

int dg__rep_render_html(const dg_rep *r, dg_buf *out)
{
    hw w = {out, 0};
    uint64_t *series = calloc(DG_REP_MAX_DAYS, sizeof *series);
    if (!series)
        return DG_ENOMEM;
    char title[32];
    snprintf(title, sizeof title, "Drift report: %s ",
             !strcmp(r->scope_type, "owner") ? "owner" : "API");
    head(&w, title, r->scope_name, r->generator);
    header(&w, r);
    summary_table(&w, r, series);
    size_t n = dg__rep_listed(r);
    if (n)
        P(&w, "<h2>Drifts</h2>\n");
    for (size_t i = 0; i < n; i++)
        drift_section(&w, r, i, series);
    resolved(&w, r);
    footer(&w, r->generator);
    free(series);
    return w.failed ? DG_ENOMEM : 0;
}

int dg__rep_index_html(const dg_rep_index *ix, dg_buf *out)
{
    hw w = {out, 0};
    char now[32], since[32];
    dg__rep_iso(ix->now_ms, now);
    dg__rep_iso(ix->since_ms, since);
    head(&w, "Drift reports", "", ix->generator);
    P(&w, "<header>\n<h1>Drift reports</h1>\n<p class=\"meta\">Generated <time>%s</time> by ", now);
    E(&w, ix->generator ? ix->generator : "driftgate");
    P(&w, ". Window: <time>%s</time> to <time>%s</time> (UTC).</p>\n</header>\n", since, now);
    if (!ix->n)
        P(&w, "<p class=\"empty\" id=\"no-drift\">No drift in this window (the store holds no "
              "API yet).</p>\n");
    P(&w, "<table id=\"summary\" class=\"summary\">\n<thead><tr><th>Report</th><th>Drifts</th>"
          "<th>Errors</th><th>Info</th><th>Occurrences</th><th>New</th><th>Recurring</th>"
          "<th>Resolved</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < ix->n; i++) {
        const dg_rep_index_entry *e = &ix->e[i];
        /* base names are sanitised to [A-Za-z0-9._-]: safe in an href */
        P(&w, "<tr><td><a href=\"%s.html\">", e->base);
        E(&w, e->scope);
        P(&w, "</a></td><td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
              "<td class=\"n\">%llu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
              "<td class=\"n\">%zu</td></tr>\n",
          e->drifts, e->errors, e->info, (unsigned long long)e->occurrences, e->n_new,
          e->n_recurring, e->n_resolved);
    }
    P(&w, "</tbody>\n</table>\n");
    footer(&w, ix->generator);
    return w.failed ? DG_ENOMEM : 0;
}
