/* analyze/report.h: drift reports for API owners (`driftgate report`).
 *
 * Reads the drift store and writes one report per API (and, with per_owner
 * or an owner filter, one per owner) in any of three formats:
 *   - JSON (schema: analyze/report.schema.json, documented in README),
 *   - Markdown,
 *   - HTML: one self-contained file (inline CSS and SVG, no scripts, no
 *     external assets), that renders in a browser without errors.
 * Each report has totals (drifts, occurrences, errors vs info), the drifts
 * that are new / recurring / resolved since the scope's previous report
 * (the list a report covered is saved in the store, so the next one can
 * compare), the top drifts with first/last seen, daily counts (an inline SVG
 * sparkline in HTML), the example's shape, the explanation and which
 * explainer wrote it (model + id, or heuristic), the suggested JSON Patch,
 * and the spec location as file:line (the spec file is read when it still
 * exists; else the pointer alone). Values from responses appear only when
 * the store holds them (a policy opted in); everything is escaped for its
 * format. Read-only on the store except for saving the report record. */
#ifndef DG_ANALYZE_REPORT_H
#define DG_ANALYZE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/store.h"
#include "common/error.h"

enum { DG_REPORT_JSON = 1, DG_REPORT_MD = 2, DG_REPORT_HTML = 4 };

typedef struct dg_report_opts {
    int64_t now_ms;               /* report time (CLOCK_REALTIME) */
    int64_t since_ms;             /* window start: drifts last seen at or after */
    const char *api;              /* NULL = every API in the store */
    const char *owner;            /* NULL = every owner; set: only that owner's drifts,
                                   * one report for the owner */
    int per_owner;                /* also one report per owner (scope "owner:TEAM") */
    unsigned formats;             /* DG_REPORT_* bits */
    const char *out_dir;          /* created when missing */
    size_t top;                   /* drifts listed in detail per report (0 = 50) */
    int save;                     /* record what each report listed (for the next
                                   * new/recurring/resolved); 0 for a dry look */
} dg_report_opts;

typedef struct dg_report_summary {
    size_t reports;               /* reports written (per format counted once) */
    size_t drifts;                /* distinct drifts covered */
    uint64_t occurrences;
    char **files;                 /* paths written (caller frees with dg_report_summary_clear) */
    size_t n_files;
} dg_report_summary;
void dg_report_summary_clear(dg_report_summary *s);

/* Writes the reports. File names: "<api>.<ext>" and "owner-<team>.<ext>"
 * (names sanitised to [A-Za-z0-9._-]) plus "index.<ext>" listing them. A
 * store with nothing in the window still gets reports saying so. Returns 0,
 * or DG_EIO (cannot write out_dir, with the path), or the store's error. */
int dg_report_run(dg_store *s, const dg_report_opts *o, dg_report_summary *sum, dg_error *err);

/* "file:line" of a validator schema pointer ("/abs/spec.yaml#/components/x/type")
 * into out, loading the spec file (cached per call of dg_report_run; exposed
 * for tests with a NULL cache). 0, or DG_ENOTFOUND (out = the pointer). */
int dg_report_spec_location(const char *schema_pointer, char *out, size_t outsz);

#endif
