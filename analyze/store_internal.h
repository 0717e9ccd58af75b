/* analyze/store_internal.h: the drift store's backend interface.
 *
 * store.c parses the store URL, checks arguments and dispatches every
 * public dg_store_* call through a dg_store_ops table; a backend implements
 * that table over its own handle (void *b below). A PostgreSQL backend is a
 * second table; callers never change. Backends may assume the arguments
 * store.c has checked (non-NULL handles and outputs, n > 0 arrays non-NULL).
 *
 * The second half declares what the SQLite backend's two files
 * (store_sqlite.c: open, migrations, errors, writes; store_sqlite_query.c:
 * reads, explanations, the explain queue, reports) share. Nothing outside
 * analyze/store*.c includes this header. */
#ifndef DG_ANALYZE_STORE_INTERNAL_H
#define DG_ANALYZE_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/store.h"

typedef struct dg_store_ops {
    const char *name;   /* "sqlite" */
    /* location: what follows the URL scheme (a file path for SQLite). */
    int (*open)(const char *location, const dg_store_opts *opts, void **b, dg_error *err);
    void (*close)(void *b);
    int (*schema_version)(void *b);
    int (*write)(void *b, const dg_drift *d, size_t n, dg_error *err);
    int (*retain)(void *b, int32_t cutoff_day, uint64_t *deleted, dg_error *err);
    int (*query)(void *b, const dg_store_filter *f, dg_drift **rows, size_t *n, dg_error *err);
    int (*apis)(void *b, char ***apis, size_t *n, dg_error *err);
    int (*put_explanation)(void *b, const dg_explanation *e, dg_error *err);
    int (*get_explanation)(void *b, const char *fingerprint, const char *spec_hash,
                           dg_explanation *out, dg_error *err);
    int (*pending)(void *b, const char *api, int64_t now_ms, size_t max, dg_drift **rows,
                   size_t *n, dg_error *err);
    int (*defer)(void *b, const char *const *fingerprints, size_t n, int64_t until_ms,
                 dg_error *err);
    int (*attempts)(void *b, const char *fingerprint, unsigned *attempts, dg_error *err);
    int (*last_report)(void *b, const char *scope, int64_t *at_ms, char ***fingerprints,
                       size_t *n, dg_error *err);
    int (*save_report)(void *b, const char *scope, int64_t at_ms,
                       const char *const *fingerprints, size_t n, dg_error *err);
} dg_store_ops;

struct dg_store {
    const dg_store_ops *ops;
    void *b;            /* the backend's handle */
};

extern const dg_store_ops dg_store_sqlite_ops;

/* ---- SQLite backend internals (store_sqlite*.c only) ---- */

struct sqlite3;
struct sqlite3_stmt;

/* Prepared statements, prepared once per handle on first use and kept
 * (SQLITE_PREPARE_PERSISTENT). The query statement has one variant per
 * combination of filters (so each can use its index). */
enum {
    DG_SQ_UPSERT_DRIFT,
    DG_SQ_UPSERT_DAY,
    DG_SQ_RETAIN_DAYS,
    DG_SQ_RETAIN_DRIFTS,
    DG_SQ_RETAIN_REPORTS,
    DG_SQ_DAYS_OF,
    DG_SQ_APIS,
    DG_SQ_PUT_EXPL,
    DG_SQ_DRIFT_EXISTS,
    DG_SQ_CLEAR_QUEUE,
    DG_SQ_GET_EXPL,
    DG_SQ_PENDING_ANY,
    DG_SQ_PENDING_API,
    DG_SQ_DEFER,
    DG_SQ_ATTEMPTS,
    DG_SQ_LAST_REPORT,
    DG_SQ_REPORT_ITEMS,
    DG_SQ_SAVE_REPORT,
    DG_SQ_SAVE_REPORT_ITEM,
    DG_SQ_QUERY0,                       /* + filter mask (DG_SQ_Q_*) */
    DG_SQ_NSTMT = DG_SQ_QUERY0 + 16
};
enum { DG_SQ_Q_API = 1, DG_SQ_Q_OWNER = 2, DG_SQ_Q_SINCE = 4, DG_SQ_Q_FP = 8 };

typedef struct dg_store_sq {
    struct sqlite3 *db;
    char *path;                         /* for messages */
    int read_only;
    int version;                        /* user_version after migrations */
    unsigned busy_timeout_ms;
    struct sqlite3_stmt *st[DG_SQ_NSTMT];
} dg_store_sq;

/* *out = the cached statement id, prepared from sql on first use (sql must
 * be the same text every time for an id; the statement is reset and has no
 * bindings). 0, or the DG_E* code with err set. */
int dg_store_sq_stmt(dg_store_sq *q, int id, const char *sql, struct sqlite3_stmt **out,
                     dg_error *err);
/* Resets a statement after use (releases its read lock; bindings cleared so
 * no borrowed string pointer outlives the call). NULL is ignored. */
void dg_store_sq_done(struct sqlite3_stmt *st);
/* Fills err from an SQLite result code and the connection's message (call
 * before anything else touches the connection), naming the store file and
 * what was being done; returns the DG_E* code: SQLITE_FULL -> DG_EIO "disk
 * full", READONLY -> DG_EIO "read-only", BUSY/LOCKED -> DG_EIO "locked",
 * CORRUPT/NOTADB -> DG_EIO, NOMEM -> DG_ENOMEM, CONSTRAINT/RANGE/TOOBIG ->
 * DG_EINVAL, anything else DG_EIO. */
int dg_store_sq_fail(dg_store_sq *q, int rc, const char *what, dg_error *err);
/* BEGIN (immediate: takes the write lock now, waiting up to the busy
 * timeout) / COMMIT / ROLLBACK. rollback is a no-op outside a transaction
 * and keeps nothing of a failed one. */
int dg_store_sq_begin(dg_store_sq *q, int immediate, dg_error *err);
int dg_store_sq_commit(dg_store_sq *q, dg_error *err);
void dg_store_sq_rollback(dg_store_sq *q);
/* Binds s (NULL binds SQL NULL) without copying: s must live until
 * dg_store_sq_done. Returns the SQLite code. */
int dg_store_sq_bind_text(struct sqlite3_stmt *st, int i, const char *s);
/* Column i as a malloc'd copy into *out (NULL for SQL NULL). 0 or
 * DG_ENOMEM. */
int dg_store_sq_column_dup(struct sqlite3_stmt *st, int i, char **out);

/* store_sqlite_query.c */
int dg_store_sq_query(void *b, const dg_store_filter *f, dg_drift **rows, size_t *n,
                      dg_error *err);
int dg_store_sq_apis(void *b, char ***apis, size_t *n, dg_error *err);
int dg_store_sq_put_explanation(void *b, const dg_explanation *e, dg_error *err);
int dg_store_sq_get_explanation(void *b, const char *fingerprint, const char *spec_hash,
                                dg_explanation *out, dg_error *err);
int dg_store_sq_pending(void *b, const char *api, int64_t now_ms, size_t max,
                        dg_drift **rows, size_t *n, dg_error *err);
int dg_store_sq_defer(void *b, const char *const *fingerprints, size_t n, int64_t until_ms,
                      dg_error *err);
int dg_store_sq_attempts(void *b, const char *fingerprint, unsigned *attempts,
                         dg_error *err);
int dg_store_sq_last_report(void *b, const char *scope, int64_t *at_ms,
                            char ***fingerprints, size_t *n, dg_error *err);
int dg_store_sq_save_report(void *b, const char *scope, int64_t at_ms,
                            const char *const *fingerprints, size_t n, dg_error *err);

#endif
