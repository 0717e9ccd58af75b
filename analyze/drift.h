/* analyze/drift.h: from anomalies to drifts.
 *
 * A drift is what many anomalies have in common: the same API, operation,
 * status, instance pointer with array indices normalised ("/items/3/price"
 * becomes "/items/ * /price", written without spaces), schema location, kind
 * and observed type. Its fingerprint is a stable hash of those seven fields, the same
 * on every machine (the schema location keeps only the spec file's base
 * name, so sidecars with different install paths agree).
 *
 * dg_drift_agg deduplicates anomalies in memory between flushes: counts,
 * first/last seen, per-day counts, the latest example. It is owned by one
 * thread (the analyzer's, or replay's); nothing here locks.
 *
 * dg_explanation is the explanation of one drift, written by the heuristic
 * explainer or by a model, keyed by fingerprint + spec hash. */
#ifndef DG_ANALYZE_DRIFT_H
#define DG_ANALYZE_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "common/anomaly.h"
#include "common/error.h"

#define DG_FP_LEN 16 /* hex digits: the first 64 bits of a SHA-256 */

typedef struct dg_day_count {
    int32_t day;                  /* days since 1970-01-01 UTC */
    uint64_t count;
} dg_day_count;

/* One drift. All strings owned (dg_drift_clear); any may be NULL except
 * api, operation, pointer, schema_loc, kind, observed_type (those are ""
 * when unknown). In an aggregator delta, count/days are what was seen since
 * the last take; in a store row they are totals (days: every kept day,
 * ascending). */
typedef struct dg_drift {
    char fingerprint[DG_FP_LEN + 1];
    /* the identity (hashed) */
    char *api;
    char *operation;              /* operationId or "GET /pets/{id}" */
    int status;
    char *pointer;                /* normalised instance pointer */
    char *schema_loc;             /* "petstore.yaml#/components/schemas/Pet/required" */
    char *kind;                   /* dg_kind_name() */
    char *observed_type;          /* shape type: "string", "null", ... ("" none) */
    /* context (latest seen) */
    char *method;
    char *path_template;
    char *media_type;
    char *schema_pointer;         /* as reported by the validator: full spec path + "#" + pointer */
    char *severity;               /* "error" | "info" */
    char *message;                /* validator message: never quotes instance values */
    char *owner;                  /* team ("unowned" when none) */
    char *spec_hash;
    char *example;                /* JSON object text: {"type","length","number_class"?,"value"?}
                                   * ("value" only when the policy opted in, already redacted) */
    int64_t first_seen_ms, last_seen_ms; /* CLOCK_REALTIME */
    uint64_t count;
    dg_day_count *days;
    size_t n_days;
} dg_drift;

void dg_drift_clear(dg_drift *d);
void dg_drifts_free(dg_drift *d, size_t n);
/* Deep copy (dst is overwritten). 0 or DG_ENOMEM (dst then cleared). */
int dg_drift_copy(dg_drift *dst, const dg_drift *src);

/* "/items/3/price" -> "/items/ * /price" (no spaces): every segment made only of
 * digits (no leading zero unless "0") becomes "*". Caller frees. NULL on ENOMEM. */
char *dg_pointer_normalise(const char *pointer);
/* 1 when a pointer segment (n bytes) is an array index: digits, no
 * leading zero ("0", "12"; not "012", "", "-"). */
int dg_pointer_is_index(const char *seg, size_t n);
/* 1 when two pointers normalise to the same one ("/items/3/price",
 * "/items/12/price" and "/items/ * /price" written without spaces), without
 * allocating. */
int dg_pointer_same_drift(const char *a, const char *b);
/* "/abs/dir/petstore.yaml#/components/x" -> "petstore.yaml#/components/x";
 * "file:///x/y.json#/a" -> "y.json#/a". Caller frees. NULL on ENOMEM. */
char *dg_schema_loc(const char *schema_pointer);
/* Fills fp (DG_FP_LEN + 1 bytes) from the seven identity fields of d. */
void dg_drift_fingerprint(const dg_drift *d, char fp[DG_FP_LEN + 1]);
/* The drift (identity + context + count 1 + the day of ts) of one anomaly.
 * 0 or DG_ENOMEM (out cleared). */
int dg_drift_from_anomaly(const dg_anomaly *a, dg_drift *out);
/* Day number (days since epoch, UTC) of a CLOCK_REALTIME time in ms. */
int32_t dg_day_of_ms(int64_t ms);
/* "2026-11-26" for a day number; out has >= 11 bytes. */
void dg_day_format(int32_t day, char out[11]);

/* ---- the in-memory aggregator ---- */
typedef struct dg_drift_agg dg_drift_agg;

/* max_pending: distinct drifts held between takes (0 = 100000); an anomaly
 * of a new drift beyond it is dropped and counted. NULL on ENOMEM. */
dg_drift_agg *dg_drift_agg_new(size_t max_pending);
void dg_drift_agg_free(dg_drift_agg *g);
/* Adds one anomaly (borrowed). 0; DG_ELIMIT when dropped (full);
 * DG_ENOMEM (also counted as dropped). */
int dg_drift_agg_add(dg_drift_agg *g, const dg_anomaly *a);
/* Adds an already-built drift (its count and days are added). Same
 * returns. */
int dg_drift_agg_add_drift(dg_drift_agg *g, const dg_drift *d);
size_t dg_drift_agg_pending(const dg_drift_agg *g);  /* distinct drifts held */
uint64_t dg_drift_agg_anomalies(const dg_drift_agg *g); /* anomalies held */
uint64_t dg_drift_agg_dropped(const dg_drift_agg *g);   /* total dropped */
/* Moves every pending drift out (caller owns the array: dg_drifts_free) and
 * empties the aggregator. *n = 0 and NULL when empty. */
dg_drift *dg_drift_agg_take(dg_drift_agg *g, size_t *n);
/* Puts drifts back after a failed write (merging with what arrived since),
 * taking ownership of the array. Drifts that do not fit are dropped and
 * counted. */
void dg_drift_agg_restore(dg_drift_agg *g, dg_drift *d, size_t n);

/* ---- explanations ---- */

/* Classifications (the explanation schema's enum). */
extern const char *const dg_classifications[];   /* NULL-terminated */

typedef struct dg_explanation {
    char fingerprint[DG_FP_LEN + 1];
    char *spec_hash;
    char *classification;         /* one of dg_classifications */
    char *cause;                  /* likely cause, one or two sentences */
    char *evidence;               /* what in the anomaly supports it */
    char *severity;               /* "low" | "medium" | "high" */
    double confidence;            /* 0..1 */
    char *patch;                  /* JSON text: RFC 6902 array against the spec document ("[]" none) */
    char *source;                 /* "heuristic" | "model" */
    char *backend;                /* NULL for heuristic; "gemini" "vertex" "ollama" "openai" */
    char *model;                  /* model id (or version the backend reported) */
    int64_t created_ms;
} dg_explanation;

void dg_explanation_clear(dg_explanation *e);
int dg_explanation_copy(dg_explanation *dst, const dg_explanation *src);

#endif
