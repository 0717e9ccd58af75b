/* common/metrics.h: the metrics registry and its Prometheus text exposition.
 *
 * Counters, gauges and histograms, each a family with fixed label names; a
 * series is one set of label values. Families are registered at start-up;
 * series are created on first use (find-or-create under a mutex) and live as
 * long as the registry, so callers may keep the returned pointer and update it
 * from any thread with atomic operations only (no lock on the hot path).
 * Label values come from the spec, never from raw URLs or bodies; a family
 * refuses new series past its series limit (default 10000) and returns its
 * "overflow" series instead, whose label values are all "_overflow", so a bug
 * elsewhere cannot grow memory without bound.
 *
 * Exposition follows the Prometheus text format 0.0.4 (HELP, TYPE, escaped
 * label values, histogram _bucket{le}/_sum/_count with +Inf, series sorted
 * by label values so output is stable) and passes `promtool check metrics`.
 * Thread-safe. */
#ifndef DG_COMMON_METRICS_H
#define DG_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct dg_metrics dg_metrics;
typedef struct dg_metric dg_metric;   /* a family */
typedef struct dg_series dg_series;   /* one label set of a family */

#define DG_METRICS_MAX_LABELS 6
#define DG_METRICS_MAX_BUCKETS 32

/* New empty registry; NULL on ENOMEM. */
dg_metrics *dg_metrics_new(void);
void dg_metrics_free(dg_metrics *m);

/* Registers a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (checked; NULL on violation or ENOMEM). Strings are
 * copied. Registering the same name twice returns the existing family when
 * type, labels (and buckets) agree, NULL otherwise; the first help text
 * stays. Label names starting with "__" and, for histograms, "le" are
 * refused. A family without labels has its one series (value 0) from
 * registration on. */
dg_metric *dg_metrics_counter(dg_metrics *m, const char *name, const char *help,
                              const char *const *labels, size_t n_labels);
dg_metric *dg_metrics_gauge(dg_metrics *m, const char *name, const char *help,
                            const char *const *labels, size_t n_labels);
/* buckets: strictly increasing upper bounds (without +Inf). */
dg_metric *dg_metrics_histogram(dg_metrics *m, const char *name, const char *help,
                                const char *const *labels, size_t n_labels,
                                const double *buckets, size_t n_buckets);

/* Default latency buckets in seconds: 0.0001 0.00025 0.0005 0.001 0.0025
 * 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10. */
extern const double dg_metrics_latency_buckets[];
extern const size_t dg_metrics_latency_buckets_n;

/* Finds or creates the series with these label values (n_labels of them, in
 * the family's label order; copied). Never NULL for a valid family: on ENOMEM
 * or past the limit it returns the family's overflow series. A NULL value
 * counts as ""; invalid UTF-8 is replaced by U+FFFD (Prometheus refuses it).
 * f NULL (a failed registration) gives NULL, and every update or read below
 * accepts NULL as a no-op, so a missing family never crashes the hot path. */
dg_series *dg_metric_series(dg_metric *f, const char *const *values);
void dg_metric_set_series_limit(dg_metric *f, size_t limit);

/* Updates (atomic, any thread). Counters only go up. An update that does not
 * fit the family's type (gauge_set on a counter...) is ignored. */
void dg_series_inc(dg_series *s);
void dg_series_add(dg_series *s, uint64_t n);
void dg_series_gauge_set(dg_series *s, int64_t v);
void dg_series_gauge_add(dg_series *s, int64_t delta);
void dg_series_observe(dg_series *s, double v);   /* histogram */

/* Reads (for /status and tests). */
uint64_t dg_series_counter_value(const dg_series *s);
int64_t dg_series_gauge_value(const dg_series *s);
uint64_t dg_series_hist_count(const dg_series *s);
double dg_series_hist_sum(const dg_series *s);

/* Appends the whole registry in Prometheus text format to out (families in
 * registration order). 0 or DG_ENOMEM. */
int dg_metrics_expose(dg_metrics *m, dg_buf *out);

#endif
