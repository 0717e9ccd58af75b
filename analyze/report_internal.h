/* analyze/report_internal.h: the in-memory model of one drift report, shared
 * by the gather step (analyze/report.c: store -> model) and the renderers
 * (analyze/report_json.c, report_md.c, report_html.c: model -> text), plus
 * the helpers they share (analyze/report_render.c).
 *
 * Renderers only read the model and never touch the store, so that every
 * format can be tested from a model built in memory. The model borrows its
 * drifts and explanations: whoever fills it keeps them alive until the
 * rendering is done (report.c owns the store's rows; tests use literals).
 * Private to analyze/report*.c and tests/unit/test_report.c. */
#ifndef DG_ANALYZE_REPORT_INTERNAL_H
#define DG_ANALYZE_REPORT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/drift.h"
#include "analyze/report.h"
#include "common/buf.h"

/* Largest series of daily counts shown per drift (the window's last days). */
#define DG_REP_MAX_DAYS 400
#define DG_REP_LOC_MAX 1024

typedef enum dg_rep_change { DG_REP_NEW = 0, DG_REP_RECURRING = 1 } dg_rep_change;

/* One drift of the window. */
typedef struct dg_rep_item {
    const dg_drift *d;            /* borrowed, never NULL */
    const dg_explanation *x;      /* borrowed; NULL = not explained yet */
    dg_rep_change change;         /* against the scope's previous report */
    uint64_t window_count;        /* occurrences on the window's days */
    char spec_loc[DG_REP_LOC_MAX]; /* "file:line", else the schema pointer ("" unknown) */
    int spec_loc_found;           /* 1: spec_loc is file:line */
} dg_rep_item;

/* A drift the previous report listed that is not in this window. */
typedef struct dg_rep_resolved {
    char fingerprint[DG_FP_LEN + 1];
    const dg_drift *d;            /* borrowed; NULL when the store no longer holds it */
} dg_rep_resolved;

typedef struct dg_rep {
    const char *scope;            /* "api:petstore", "owner:payments" */
    const char *scope_type;       /* "api" | "owner" */
    const char *scope_name;
    const char *filter_api;       /* an owner report restricted to one API, else NULL */
    const char *generator;        /* "driftgate 0.1.0" */
    int64_t now_ms, since_ms;
    int32_t first_day, last_day;  /* days shown in daily series, inclusive */
    int has_previous;
    int64_t previous_ms;
    /* every drift in the window, most occurrences in the window first */
    dg_rep_item *items;
    size_t n_items;
    size_t top;                   /* items[0 .. min(top, n_items)) are listed in detail */
    dg_rep_resolved *resolved;
    size_t n_resolved;
    /* totals over items (dg__rep_totals) */
    size_t errors, info, n_new, n_recurring;
    uint64_t occurrences;         /* sum of window_count */
    uint64_t occurrences_all_time; /* sum of the drifts' total counts */
    uint64_t error_occurrences, info_occurrences; /* window counts by severity */
} dg_rep;

/* One report in an index: the scope and the base file name ("petstore",
 * "owner-payments") its formats were written under. */
typedef struct dg_rep_index_entry {
    const char *scope, *scope_type, *scope_name;
    const char *base;
    size_t drifts, errors, info, n_new, n_recurring, n_resolved;
    uint64_t occurrences;
} dg_rep_index_entry;

typedef struct dg_rep_index {
    const char *generator;
    int64_t now_ms, since_ms;
    unsigned formats;             /* DG_REPORT_* written */
    const dg_rep_index_entry *e;
    size_t n;
} dg_rep_index;

/* ---- model helpers (report_render.c) ---- */

/* Fills every item's change and r->resolved from the previous report's
 * fingerprints (prev may be NULL with n_prev 0: everything is new).
 * resolved is allocated (caller frees r->resolved); its d fields are NULL.
 * 0 or DG_ENOMEM. */
int dg__rep_classify(dg_rep *r, const char *const *prev, size_t n_prev);
/* Computes window_count of every item from its days and the window. */
void dg__rep_window_counts(dg_rep *r);
/* Sorts items: window count, then total count (descending), then fingerprint. */
void dg__rep_sort(dg_rep *r);
/* Fills the totals from the items. */
void dg__rep_totals(dg_rep *r);
/* Number of items listed in detail. */
size_t dg__rep_listed(const dg_rep *r);
/* Counts of d on days first..last (n = last - first + 1 <= DG_REP_MAX_DAYS)
 * into out[0..n). */
void dg__rep_series(const dg_drift *d, int32_t first, int32_t last, uint64_t *out);

/* "2026-11-26T03:04:05Z" (UTC, seconds). Days: dg_day_of_ms, dg_day_format. */
void dg__rep_iso(int64_t ms, char out[32]);

/* "model gemini/gemma-4-27b-it", "heuristic", or "no explanation yet". */
void dg__rep_author(const dg_explanation *x, char *out, size_t outsz);

/* The stored example ({"type","length","number_class"?,"value"?}) parsed;
 * NULL when absent or not an object. Caller json_decref()s. */
json_t *dg__rep_example(const dg_drift *d);
/* The example's value as text (the JSON text of the value, possibly cut at
 * the capture limit), NULL when the store has no value. Caller frees. */
char *dg__rep_example_value(const json_t *example);
/* The patch pretty-printed (2-space indent) into out; 1 when it holds at
 * least one operation, 0 when it is empty ("[]"), -1 when it is not JSON
 * (out = the text as stored). DG_ENOMEM on allocation failure. */
int dg__rep_patch_pretty(const char *patch, dg_buf *out);

/* Copies s into b replacing invalid UTF-8 by U+FFFD. 0 or DG_ENOMEM. */
int dg__rep_utf8(dg_buf *b, const char *s);
/* A jansson string of s (invalid UTF-8 replaced); json_null() for NULL. */
json_t *dg__rep_jstr(const char *s);

/* Spec locations, with a cache of loaded spec files (one report run). */
typedef struct dg_rep_spec_cache dg_rep_spec_cache;
dg_rep_spec_cache *dg__rep_spec_cache_new(void);
void dg__rep_spec_cache_free(dg_rep_spec_cache *c);
/* dg_report_spec_location with a cache (NULL: load and free each time). */
int dg__rep_spec_location(dg_rep_spec_cache *c, const char *schema_pointer, char *out,
                          size_t outsz);

/* The instance pointer for people: "(whole body)" for "" (the root). */
const char *dg__rep_pointer(const char *p);

/* ---- escaping ---- */

/* fp when it is a fingerprint (hex digits), else "invalid": fingerprints
 * are written into HTML ids and links without escaping. */
const char *dg__rep_fp(const char *fp);

/* HTML text and attribute values: & < > " ' escaped, invalid UTF-8 and
 * control characters (other than tab and newline) replaced by U+FFFD. */
int dg__html_esc(dg_buf *b, const char *s);
/* Markdown text: characters that would start markup (\ ` * _ [ ] < > | # ~
 * ! &) backslash-escaped, line breaks become spaces, so that the text stays
 * on its line (table cells, list items) and never turns into HTML. */
int dg__md_esc(dg_buf *b, const char *s);
/* A Markdown code span of s, delimited by more backticks than s holds in a
 * row; in_table: '|' written as "\|" (GFM table cells). */
int dg__md_code(dg_buf *b, const char *s, int in_table);

/* ---- renderers: append one document to out; 0 or DG_ENOMEM ---- */

int dg__rep_render_json(const dg_rep *r, dg_buf *out);
int dg__rep_render_md(const dg_rep *r, dg_buf *out);
int dg__rep_render_html(const dg_rep *r, dg_buf *out);
int dg__rep_index_json(const dg_rep_index *ix, dg_buf *out);
int dg__rep_index_md(const dg_rep_index *ix, dg_buf *out);
int dg__rep_index_html(const dg_rep_index *ix, dg_buf *out);

/* Inline SVG bar sparkline of n daily counts starting at first_day, with a
 * <title> (whole series) and one <title> per bar ("2026-11-26: 3"). n >= 1.
 * 0 or DG_ENOMEM. */
int dg__rep_sparkline(dg_buf *b, const uint64_t *counts, size_t n, int32_t first_day);

#endif
