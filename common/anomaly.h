/* common/anomaly.h: the bounded queue of anomalies between the proxy and
 * analyze/.
 *
 * An anomaly is one violation in context (which API, operation, status and
 * media type; instance and schema pointers; kind; the value's shape; the
 * redacted value only when policy allowed it). Producers (proxy workers)
 * never block: when the queue is full the oldest entry is dropped and
 * counted. One consumer drains entries in order. Until analyze/ exists, a
 * consumer thread may append each anomaly as a JSON line to a file
 * (dg_anomaly_jsonl_start). Thread-safe (one mutex, held for O(1) work). */
#ifndef DG_COMMON_ANOMALY_H
#define DG_COMMON_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum dg_severity { DG_SEV_ERROR = 0, DG_SEV_INFO = 1 } dg_severity;
const char *dg_severity_name(dg_severity s);   /* "error" / "info" */

/* One anomaly. All strings are owned by the anomaly (freed by
 * dg_anomaly_free); any may be NULL except api, kind. */
typedef struct dg_anomaly {
    int64_t ts_ns;            /* CLOCK_REALTIME */
    char *api;
    char *operation;          /* label: operationId or "GET /pets/{id}" */
    char *method;
    char *path_template;
    int status;
    char *media_type;
    char *kind;               /* dg_kind_name() */
    dg_severity severity;
    char *instance_pointer;
    char *schema_pointer;
    char *message;
    char *shape_type;
    uint64_t shape_length;
    char *shape_number_class;
    char *value;              /* only when policy opted in, after redaction */
    char *spec_hash;
    char *request_id;
    char *owner;              /* team that owns the operation (policies dg_owner_resolve) */
    uint64_t count;           /* identical findings of one response this stands for
                               * (same kind, schema location, observed type and pointer
                               * once array indices are ignored); 0 means 1 */
} dg_anomaly;

void dg_anomaly_free(dg_anomaly *a);
/* Appends the anomaly as one JSON object (no newline) to out. */
int dg_anomaly_to_json(const dg_anomaly *a, dg_buf *out);

typedef struct dg_anomaly_queue dg_anomaly_queue;

/* capacity: number of anomalies held (0 = 10000). NULL on ENOMEM. */
dg_anomaly_queue *dg_anomaly_queue_new(size_t capacity);
/* Frees the queue and every anomaly still in it. No producer or consumer may
 * be running. */
void dg_anomaly_queue_free(dg_anomaly_queue *q);

/* Takes ownership of a (freed at once if the queue is closed). When full,
 * the oldest entry is freed and the drop counter incremented. */
void dg_anomaly_queue_push(dg_anomaly_queue *q, dg_anomaly *a);
/* Waits up to timeout_ms (-1 forever) for an entry. Returns it (caller owns)
 * or NULL on timeout or when the queue is closed and empty. */
dg_anomaly *dg_anomaly_queue_pop(dg_anomaly_queue *q, int timeout_ms);
/* Wakes the consumer; later pushes are dropped (not counted). */
void dg_anomaly_queue_close(dg_anomaly_queue *q);
size_t dg_anomaly_queue_depth(dg_anomaly_queue *q);
uint64_t dg_anomaly_queue_dropped(dg_anomaly_queue *q);

/* A consumer thread appending JSON lines to path (opened O_APPEND, reopened
 * on dg_anomaly_jsonl_reopen for logrotate). Returns 0 or DG_EIO with a
 * message. The thread stops when the queue is closed and drained
 * (dg_anomaly_jsonl_stop closes the queue if it is still open, then joins
 * it). dg_anomaly_jsonl_reopen is async-signal-safe (sets a flag; the thread
 * reopens within ~100 ms, and anything pushed after the call returned goes to
 * the new file). */
typedef struct dg_anomaly_jsonl dg_anomaly_jsonl;
int dg_anomaly_jsonl_start(dg_anomaly_queue *q, const char *path, dg_anomaly_jsonl **out,
                           char *err_msg, size_t err_len);
void dg_anomaly_jsonl_reopen(dg_anomaly_jsonl *w);
/* Hands each anomaly, once written, to next (the analyzer's queue) instead
 * of freeing it: one producer queue feeds both consumers in turn. Set it
 * before anything is pushed; next must outlive the writer. */
void dg_anomaly_jsonl_forward(dg_anomaly_jsonl *w, dg_anomaly_queue *next);
void dg_anomaly_jsonl_stop(dg_anomaly_jsonl *w);

#endif
