/* analyze/store.h: the drift store.
 *
 * Where drifts, their daily counts, one redacted example each, their
 * explanations and the record of past reports are kept. Callers see only
 * this interface; backends implement the operations table in
 * analyze/store_internal.h (store.c dispatches). Built in: SQLite, one file
 * in WAL mode with versioned schema migrations and a busy timeout, so that a
 * report or `explain` may read while the proxy writes. A PostgreSQL backend
 * (fleets of sidecars sharing one store) can be added behind the same table
 * without touching callers.
 *
 * Every write is one transaction: a crash (kill -9) loses at most the writes
 * not yet committed and never leaves the store inconsistent.
 *
 * A dg_store handle is used by one thread at a time (the analyzer thread, or
 * a command); several processes may open the same file. */
#ifndef DG_ANALYZE_STORE_H
#define DG_ANALYZE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/drift.h"
#include "common/error.h"

typedef struct dg_store dg_store;

typedef struct dg_store_opts {
    int read_only;                /* open without creating or migrating (reports) */
    unsigned busy_timeout_ms;     /* wait this long for another writer's lock (0 = 5000) */
    uint64_t max_bytes;           /* 0 = no limit; a write that would grow the file beyond it
                                   * fails like a full disk (SQLITE_FULL), nothing written */
} dg_store_opts;

/* Opens (creating and migrating when allowed) the store named by url:
 * "sqlite:PATH", "sqlite://PATH" or a plain file PATH. "postgres://..." and
 * "postgresql://..." fail with DG_EINVAL ("PostgreSQL store not built in").
 * Errors name the file and what is wrong: not a database, corrupt (an
 * integrity check runs at open), read-only, newer schema version than this
 * driftgate knows, disk full. Caller owns *out (dg_store_close). */
int dg_store_open(const char *url, const dg_store_opts *opts, dg_store **out, dg_error *err);
void dg_store_close(dg_store *s);
/* The schema version the store is at (after migrations). */
int dg_store_schema_version(dg_store *s);

/* Adds deltas (from dg_drift_agg_take) in one transaction: per fingerprint,
 * count += delta count, first_seen = min, last_seen = max, context fields
 * (method, path_template, media_type, schema_pointer, severity, message,
 * owner, spec_hash, example) replaced by the delta's when the delta's
 * last_seen is not older; per day, count += . All or nothing: on error
 * nothing was written and the caller may retry the same deltas. */
int dg_store_write(dg_store *s, const dg_drift *d, size_t n, dg_error *err);

/* Retention: deletes daily counts of days before cutoff_day, and drifts (with
 * their explanations) last seen before that day's start. *deleted (may be
 * NULL) = drifts deleted. */
int dg_store_retain(dg_store *s, int32_t cutoff_day, uint64_t *deleted, dg_error *err);

typedef struct dg_store_filter {
    const char *api;              /* NULL = every API */
    const char *owner;            /* NULL = every owner */
    int64_t since_ms;             /* drifts last seen at or after (0 = all) */
    const char *fingerprint;      /* NULL = any */
} dg_store_filter;

/* Drifts matching f, with totals and every kept daily count (ascending),
 * ordered by count descending then fingerprint. Caller owns *rows
 * (dg_drifts_free). */
int dg_store_query(dg_store *s, const dg_store_filter *f, dg_drift **rows, size_t *n,
                   dg_error *err);
/* Distinct API names in the store (sorted). Caller frees each and the array. */
int dg_store_apis(dg_store *s, char ***apis, size_t *n, dg_error *err);

/* Explanations, keyed by (fingerprint, spec_hash). put replaces: a model's
 * explanation replaces a heuristic one; a heuristic one never replaces a
 * model's (then put returns 0 and changes nothing). */
int dg_store_put_explanation(dg_store *s, const dg_explanation *e, dg_error *err);
/* DG_ENOTFOUND when there is none. out is filled (caller clears). */
int dg_store_get_explanation(dg_store *s, const char *fingerprint, const char *spec_hash,
                             dg_explanation *out, dg_error *err);

/* The explain queue: drifts of api (NULL = any) with no model explanation
 * for their current spec_hash, whose next attempt is due (never deferred, or
 * deferred until <= now_ms), oldest first_seen first, at most max. Caller
 * owns *rows. */
int dg_store_pending(dg_store *s, const char *api, int64_t now_ms, size_t max, dg_drift **rows,
                     size_t *n, dg_error *err);
/* Defers the model explanation of these fingerprints until until_ms (a
 * failed batch) and counts the attempt. */
int dg_store_defer(dg_store *s, const char *const *fingerprints, size_t n, int64_t until_ms,
                   dg_error *err);
/* Number of failed attempts recorded for a fingerprint (0 when none). */
int dg_store_attempts(dg_store *s, const char *fingerprint, unsigned *attempts, dg_error *err);

/* Reports: what the previous report of a scope ("api:NAME" or "owner:TEAM")
 * listed, so the next can say new / recurring / resolved. last_report:
 * DG_ENOTFOUND when the scope never had one; else *at_ms and the
 * fingerprints (caller frees each and the array). */
int dg_store_last_report(dg_store *s, const char *scope, int64_t *at_ms, char ***fingerprints,
                         size_t *n, dg_error *err);
int dg_store_save_report(dg_store *s, const char *scope, int64_t at_ms,
                         const char *const *fingerprints, size_t n, dg_error *err);

#endif
