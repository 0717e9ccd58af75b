/* analyze/store_sqlite_query.c: the SQLite drift store's reads,
 * explanations, explain queue and report records (open, writes and
 * retention are in store_sqlite.c; the schema is described there).
 *
 * Each read runs in one read transaction, so a row and its daily counts
 * come from the same snapshot even while another process writes. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/store_internal.h"

#define DRIFT_COLS                                                                         \
    "fingerprint, api, operation, status, pointer, schema_loc, kind, observed_type, method," \
    " path_template, media_type, schema_pointer, severity, message, owner, spec_hash,"      \
    " example, first_seen_ms, last_seen_ms, count"

/* Makes room for one more element of size elem in *arr (capacity *cap). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc < *cap || nc > SIZE_MAX / elem)
        return DG_ENOMEM;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return DG_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int nomem(dg_store_sq *q, dg_error *err)
{
    return dg_error_set(err, DG_ENOMEM, "out of memory reading store %s", q->path);
}

/* Ends a read transaction: COMMIT when all went well, else ROLLBACK and
 * keep the error already set. */
static int end_read(dg_store_sq *q, int rc, dg_error *err)
{
    if (!rc && (rc = dg_store_sq_commit(q, err)) == 0)
        return 0;
    dg_store_sq_rollback(q);
    return rc;
}

/* One row of DRIFT_COLS into x (cleared first; x is cleared on failure). */
static int read_drift(sqlite3_stmt *st, dg_drift *x)
{
    memset(x, 0, sizeof *x);
    const unsigned char *fp = sqlite3_column_text(st, 0);
    if (!fp)
        return DG_ENOMEM;
    snprintf(x->fingerprint, sizeof x->fingerprint, "%s", (const char *)fp);
    char **text[] = {
        &x->api,       &x->operation,     NULL,           &x->pointer,  &x->schema_loc,
        &x->kind,      &x->observed_type, &x->method,     &x->path_template,
        &x->media_type, &x->schema_pointer, &x->severity, &x->message,  &x->owner,
        &x->spec_hash, &x->example,
    };
    for (int i = 0; i < (int)(sizeof text / sizeof text[0]); i++) {
        if (text[i] && dg_store_sq_column_dup(st, 1 + i, text[i])) {
            dg_drift_clear(x);
            return DG_ENOMEM;
        }
    }
    x->status = sqlite3_column_int(st, 3);
    x->first_seen_ms = sqlite3_column_int64(st, 17);
    x->last_seen_ms = sqlite3_column_int64(st, 18);
    sqlite3_int64 c = sqlite3_column_int64(st, 19);
    x->count = c > 0 ? (uint64_t)c : 0;
    return 0;
}

static int load_days(dg_store_sq *q, dg_drift *x, dg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = dg_store_sq_stmt(q, DG_SQ_DAYS_OF,
                              "SELECT day, count FROM daily_counts WHERE fingerprint = ?1 "
                              "ORDER BY day",
                              &st, err);
    if (rc)
        return rc;
    int src = sqlite3_bind_text(st, 1, x->fingerprint, -1, SQLITE_STATIC);
    size_t cap = 0;
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&x->days, &cap, x->n_days, sizeof *x->days)) {
            dg_store_sq_done(st);
            return nomem(q, err);
        }
        sqlite3_int64 c = sqlite3_column_int64(st, 1);
        x->days[x->n_days].day = sqlite3_column_int(st, 0);
        x->days[x->n_days].count = c > 0 ? (uint64_t)c : 0;
        x->n_days++;
        src = SQLITE_OK;
    }
    if (src != SQLITE_DONE)
        rc = dg_store_sq_fail(q, src, "reading daily counts", err);
    dg_store_sq_done(st);
    return rc;
}

/* Steps st (bound by the caller) to the end, collecting drifts with their
 * daily counts. On failure nothing is returned. */
static int fetch_drifts(dg_store_sq *q, sqlite3_stmt *st, const char *what, dg_drift **rows,
                        size_t *n, dg_error *err)
{
    dg_drift *v = NULL;
    size_t len = 0, cap = 0;
    int rc = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&v, &cap, len, sizeof *v) || read_drift(st, &v[len])) {
            rc = nomem(q, err);
            break;
        }
        len++;
        if ((rc = load_days(q, &v[len - 1], err)))
            break;
    }
    if (!rc && src != SQLITE_DONE)
        rc = dg_store_sq_fail(q, src, what, err);
    dg_store_sq_done(st);
    if (rc) {
        dg_drifts_free(v, len);
        return rc;
    }
    *rows = v;
    *n = len;
    return 0;
}

int dg_store_sq_query(void *b, const dg_store_filter *f, dg_drift **rows, size_t *n,
                      dg_error *err)
{
    dg_store_sq *q = b;
    int mask = (f->api ? DG_SQ_Q_API : 0) | (f->owner ? DG_SQ_Q_OWNER : 0) |
               (f->since_ms ? DG_SQ_Q_SINCE : 0) | (f->fingerprint ? DG_SQ_Q_FP : 0);
    /* Built from constant pieces only: which filters are present picks the
     * statement; the values are bound. */
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT " DRIFT_COLS " FROM drifts WHERE 1%s%s%s%s"
             " ORDER BY count DESC, fingerprint",
             mask & DG_SQ_Q_API ? " AND api = ?1" : "",
             mask & DG_SQ_Q_OWNER ? " AND owner = ?2" : "",
             mask & DG_SQ_Q_SINCE ? " AND last_seen_ms >= ?3" : "",
             mask & DG_SQ_Q_FP ? " AND fingerprint = ?4" : "");
    sqlite3_stmt *st = NULL;
    int rc = dg_store_sq_stmt(q, DG_SQ_QUERY0 + mask, sql, &st, err);
    if (rc)
        return rc;
    int src = SQLITE_OK;
    if (mask & DG_SQ_Q_API)
        src = sqlite3_bind_text(st, 1, f->api, -1, SQLITE_STATIC);
    if (src == SQLITE_OK && (mask & DG_SQ_Q_OWNER))
        src = sqlite3_bind_text(st, 2, f->owner, -1, SQLITE_STATIC);
    if (src == SQLITE_OK && (mask & DG_SQ_Q_SINCE))
        src = sqlite3_bind_int64(st, 3, f->since_ms);
    if (src == SQLITE_OK && (mask & DG_SQ_Q_FP))
        src = sqlite3_bind_text(st, 4, f->fingerprint, -1, SQLITE_STATIC);
    if (src != SQLITE_OK) {
        rc = dg_store_sq_fail(q, src, "querying drifts", err);
        dg_store_sq_done(st);
        return rc;
    }
    if ((rc = dg_store_sq_begin(q, 0, err))) {
        dg_store_sq_done(st);
        return rc;
    }
    rc = fetch_drifts(q, st, "querying drifts", rows, n, err);
    if ((rc = end_read(q, rc, err)) && *rows) {
        dg_drifts_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

int dg_store_sq_apis(void *b, char ***apis, size_t *n, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *st = NULL;
    int rc = dg_store_sq_stmt(q, DG_SQ_APIS, "SELECT DISTINCT api FROM drifts ORDER BY api",
                              &st, err);
    if (rc)
        return rc;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&v, &cap, len, sizeof *v) || dg_store_sq_column_dup(st, 0, &v[len]) ||
            !v[len]) {
            rc = nomem(q, err);
            break;
        }
        len++;
    }
    if (!rc && src != SQLITE_DONE)
        rc = dg_store_sq_fail(q, src, "listing APIs", err);
    dg_store_sq_done(st);
    if (rc) {
        free_strings(v, len);
        return rc;
    }
    *apis = v;
    *n = len;
    return 0;
}

/* ---- explanations ---- */

/* A model's explanation replaces anything; a heuristic one replaces only
 * a heuristic one (the WHERE of the upsert). */
static const char sql_put_expl[] =
    "INSERT INTO explanations (fingerprint, spec_hash, classification, cause, evidence,"
    " severity, confidence, patch, source, backend, model, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    " ON CONFLICT (fingerprint, spec_hash) DO UPDATE SET"
    " classification = excluded.classification, cause = excluded.cause,"
    " evidence = excluded.evidence, severity = excluded.severity,"
    " confidence = excluded.confidence, patch = excluded.patch, source = excluded.source,"
    " backend = excluded.backend, model = excluded.model, created_ms = excluded.created_ms"
    " WHERE explanations.source <> 'model' OR excluded.source = 'model'";

int dg_store_sq_put_explanation(void *b, const dg_explanation *e, dg_error *err)
{
    dg_store_sq *q = b;
    if (q->read_only)
        return dg_error_set(err, DG_EINVAL, "store %s was opened read-only", q->path);
    if (isnan(e->confidence))
        return dg_error_set(err, DG_EINVAL, "store %s: explanation of %s: confidence is NaN",
                            q->path, e->fingerprint);
    int model = strcmp(e->source, "model") == 0;
    sqlite3_stmt *ex = NULL, *put = NULL, *clr = NULL, *cur = NULL;
    int rc;
    if ((rc = dg_store_sq_stmt(q, DG_SQ_DRIFT_EXISTS,
                               "SELECT 1 FROM drifts WHERE fingerprint = ?1", &ex, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_PUT_EXPL, sql_put_expl, &put, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_CLEAR_QUEUE,
                               "DELETE FROM explain_queue WHERE fingerprint = ?1", &clr, err)) ||
        (rc = dg_store_sq_begin(q, 1, err)))
        return rc;
    int src;
    cur = ex;
    if ((src = sqlite3_bind_text(ex, 1, e->fingerprint, -1, SQLITE_STATIC)) != SQLITE_OK)
        goto fail;
    src = sqlite3_step(ex);
    if (src == SQLITE_DONE) {
        dg_store_sq_done(ex);
        dg_store_sq_rollback(q);
        return dg_error_set(err, DG_ENOTFOUND,
                            "store %s: no drift %s to attach an explanation to", q->path,
                            e->fingerprint);
    }
    if (src != SQLITE_ROW)
        goto fail;
    dg_store_sq_done(ex);
    cur = put;
    const char *text[] = {e->fingerprint, e->spec_hash ? e->spec_hash : "", e->classification,
                          e->cause, e->evidence, e->severity};
    src = SQLITE_OK;
    for (int i = 0; i < 6 && src == SQLITE_OK; i++)
        src = dg_store_sq_bind_text(put, 1 + i, text[i]);
    if (src != SQLITE_OK ||
        (src = sqlite3_bind_double(put, 7, e->confidence)) != SQLITE_OK ||
        (src = dg_store_sq_bind_text(put, 8, e->patch)) != SQLITE_OK ||
        (src = dg_store_sq_bind_text(put, 9, e->source)) != SQLITE_OK ||
        (src = dg_store_sq_bind_text(put, 10, e->backend)) != SQLITE_OK ||
        (src = dg_store_sq_bind_text(put, 11, e->model)) != SQLITE_OK ||
        (src = sqlite3_bind_int64(put, 12, e->created_ms)) != SQLITE_OK ||
        (src = sqlite3_step(put)) != SQLITE_DONE)
        goto fail;
    dg_store_sq_done(put);
    /* A model explanation ends the drift's failed attempts and deferral. */
    if (model) {
        cur = clr;
        if ((src = sqlite3_bind_text(clr, 1, e->fingerprint, -1, SQLITE_STATIC)) != SQLITE_OK ||
            (src = sqlite3_step(clr)) != SQLITE_DONE)
            goto fail;
        dg_store_sq_done(clr);
    }
    if ((rc = dg_store_sq_commit(q, err))) {
        dg_store_sq_rollback(q);
        return rc;
    }
    return 0;
fail:
    rc = dg_store_sq_fail(q, src, "storing an explanation", err);
    dg_store_sq_done(cur);
    dg_store_sq_rollback(q);
    return rc;
}

int dg_store_sq_get_explanation(void *b, const char *fingerprint, const char *spec_hash,
                                dg_explanation *out, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *st = NULL;
    int rc = dg_store_sq_stmt(q, DG_SQ_GET_EXPL,
                              "SELECT spec_hash, classification, cause, evidence, severity,"
                              " confidence, patch, source, backend, model, created_ms"
                              " FROM explanations WHERE fingerprint = ?1 AND spec_hash = ?2",
                              &st, err);
    if (rc)
        return rc;
    const char *sh = spec_hash ? spec_hash : "";
    int src;
    if ((src = sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (src = sqlite3_bind_text(st, 2, sh, -1, SQLITE_STATIC)) != SQLITE_OK)
        goto fail;
    src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        dg_store_sq_done(st);
        return dg_error_set(err, DG_ENOTFOUND,
                            "store %s: no explanation of drift %.40s for spec hash %.80s",
                            q->path, fingerprint, sh);
    }
    if (src != SQLITE_ROW)
        goto fail;
    snprintf(out->fingerprint, sizeof out->fingerprint, "%s", fingerprint);
    char **text[] = {&out->spec_hash, &out->classification, &out->cause, &out->evidence,
                     &out->severity,  NULL,                 &out->patch, &out->source,
                     &out->backend,   &out->model};
    for (int i = 0; i < 10; i++) {
        if (text[i] && dg_store_sq_column_dup(st, i, text[i])) {
            dg_store_sq_done(st);
            dg_explanation_clear(out);
            return nomem(q, err);
        }
    }
    out->confidence = sqlite3_column_double(st, 5);
    out->created_ms = sqlite3_column_int64(st, 10);
    dg_store_sq_done(st);
    return 0;
fail:
    rc = dg_store_sq_fail(q, src, "reading an explanation", err);
    dg_store_sq_done(st);
    return rc;
}

/* ---- the explain queue ---- */

#define PENDING_WHERE                                                                       \
    " NOT EXISTS (SELECT 1 FROM explain_queue q WHERE q.fingerprint = drifts.fingerprint"  \
    " AND q.deferred_until_ms > ?2)"                                                       \
    " AND NOT EXISTS (SELECT 1 FROM explanations e WHERE e.fingerprint = drifts.fingerprint" \
    " AND e.spec_hash = coalesce(drifts.spec_hash, '') AND e.source = 'model')"            \
    " ORDER BY first_seen_ms, fingerprint LIMIT ?3"

int dg_store_sq_pending(void *b, const char *api, int64_t now_ms, size_t max,
                        dg_drift **rows, size_t *n, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *st = NULL;
    int rc = api ? dg_store_sq_stmt(q, DG_SQ_PENDING_API,
                                    "SELECT " DRIFT_COLS " FROM drifts WHERE api = ?1 AND"
                                    PENDING_WHERE, &st, err)
                 : dg_store_sq_stmt(q, DG_SQ_PENDING_ANY,
                                    "SELECT " DRIFT_COLS " FROM drifts WHERE" PENDING_WHERE,
                                    &st, err);
    if (rc)
        return rc;
    int src = api ? sqlite3_bind_text(st, 1, api, -1, SQLITE_STATIC) : SQLITE_OK;
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 2, now_ms);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    if (src != SQLITE_OK) {
        rc = dg_store_sq_fail(q, src, "listing pending drifts", err);
        dg_store_sq_done(st);
        return rc;
    }
    if ((rc = dg_store_sq_begin(q, 0, err))) {
        dg_store_sq_done(st);
        return rc;
    }
    rc = fetch_drifts(q, st, "listing pending drifts", rows, n, err);
    if ((rc = end_read(q, rc, err)) && *rows) {
        dg_drifts_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

int dg_store_sq_defer(void *b, const char *const *fingerprints, size_t n, int64_t until_ms,
                      dg_error *err)
{
    dg_store_sq *q = b;
    if (q->read_only)
        return dg_error_set(err, DG_EINVAL, "store %s was opened read-only", q->path);
    sqlite3_stmt *st = NULL;
    /* A fingerprint no longer in the store (retention) is skipped. */
    int rc = dg_store_sq_stmt(q, DG_SQ_DEFER,
                              "INSERT INTO explain_queue (fingerprint, attempts,"
                              " deferred_until_ms)"
                              " SELECT fingerprint, 1, ?2 FROM drifts WHERE fingerprint = ?1"
                              " ON CONFLICT (fingerprint) DO UPDATE SET"
                              " attempts = attempts + 1,"
                              " deferred_until_ms = excluded.deferred_until_ms",
                              &st, err);
    if (rc || (rc = dg_store_sq_begin(q, 1, err)))
        return rc;
    int src = SQLITE_OK;
    for (size_t i = 0; i < n; i++) {
        if ((src = sqlite3_bind_text(st, 1, fingerprints[i], -1, SQLITE_STATIC)) != SQLITE_OK ||
            (src = sqlite3_bind_int64(st, 2, until_ms)) != SQLITE_OK ||
            (src = sqlite3_step(st)) != SQLITE_DONE) {
            rc = dg_store_sq_fail(q, src, "deferring explanations", err);
            dg_store_sq_done(st);
            dg_store_sq_rollback(q);
            return rc;
        }
        dg_store_sq_done(st);
    }
    if ((rc = dg_store_sq_commit(q, err)))
        dg_store_sq_rollback(q);
    return rc;
}

int dg_store_sq_attempts(void *b, const char *fingerprint, unsigned *attempts, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *st = NULL;
    int rc = dg_store_sq_stmt(q, DG_SQ_ATTEMPTS,
                              "SELECT attempts FROM explain_queue WHERE fingerprint = ?1", &st,
                              err);
    if (rc)
        return rc;
    int src = sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sqlite3_int64 a = sqlite3_column_int64(st, 0);
        *attempts = a <= 0 ? 0 : a > UINT32_MAX ? UINT32_MAX : (unsigned)a;
    } else if (src != SQLITE_DONE) {
        rc = dg_store_sq_fail(q, src, "reading attempts", err);
    }
    dg_store_sq_done(st);
    return rc;
}

/* ---- reports ---- */

int dg_store_sq_last_report(void *b, const char *scope, int64_t *at_ms, char ***fingerprints,
                            size_t *n, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *last = NULL, *items = NULL, *cur = NULL;
    int rc;
    if ((rc = dg_store_sq_stmt(q, DG_SQ_LAST_REPORT,
                               "SELECT id, at_ms FROM reports WHERE scope = ?1"
                               " ORDER BY at_ms DESC, id DESC LIMIT 1",
                               &last, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_REPORT_ITEMS,
                               "SELECT fingerprint FROM report_items WHERE report_id = ?1"
                               " ORDER BY pos",
                               &items, err)) ||
        (rc = dg_store_sq_begin(q, 0, err)))
        return rc;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int src;
    cur = last;
    if ((src = sqlite3_bind_text(last, 1, scope, -1, SQLITE_STATIC)) != SQLITE_OK)
        goto fail;
    src = sqlite3_step(last);
    if (src == SQLITE_DONE) {
        dg_store_sq_done(last);
        rc = dg_error_set(err, DG_ENOTFOUND, "store %s: no report yet for %.200s", q->path,
                          scope);
        return end_read(q, rc, err);
    }
    if (src != SQLITE_ROW)
        goto fail;
    sqlite3_int64 id = sqlite3_column_int64(last, 0);
    int64_t at = sqlite3_column_int64(last, 1);
    dg_store_sq_done(last);
    cur = items;
    if ((src = sqlite3_bind_int64(items, 1, id)) != SQLITE_OK)
        goto fail;
    while ((src = sqlite3_step(items)) == SQLITE_ROW) {
        if (grow((void **)&v, &cap, len, sizeof *v) ||
            dg_store_sq_column_dup(items, 0, &v[len]) || !v[len]) {
            dg_store_sq_done(items);
            free_strings(v, len);
            return end_read(q, nomem(q, err), err);
        }
        len++;
    }
    if (src != SQLITE_DONE)
        goto fail;
    dg_store_sq_done(items);
    if ((rc = end_read(q, 0, err))) {
        free_strings(v, len);
        return rc;
    }
    *at_ms = at;
    *fingerprints = v;
    *n = len;
    return 0;
fail:
    rc = dg_store_sq_fail(q, src, "reading the last report", err);
    dg_store_sq_done(cur);
    free_strings(v, len);
    return end_read(q, rc, err);
}

int dg_store_sq_save_report(void *b, const char *scope, int64_t at_ms,
                            const char *const *fingerprints, size_t n, dg_error *err)
{
    dg_store_sq *q = b;
    if (q->read_only)
        return dg_error_set(err, DG_EINVAL, "store %s was opened read-only", q->path);
    sqlite3_stmt *rep = NULL, *item = NULL, *cur = NULL;
    int rc;
    if ((rc = dg_store_sq_stmt(q, DG_SQ_SAVE_REPORT,
                               "INSERT INTO reports (scope, at_ms) VALUES (?1, ?2)", &rep,
                               err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_SAVE_REPORT_ITEM,
                               "INSERT INTO report_items (report_id, pos, fingerprint)"
                               " VALUES (?1, ?2, ?3)",
                               &item, err)) ||
        (rc = dg_store_sq_begin(q, 1, err)))
        return rc;
    int src;
    cur = rep;
    if ((src = sqlite3_bind_text(rep, 1, scope, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (src = sqlite3_bind_int64(rep, 2, at_ms)) != SQLITE_OK ||
        (src = sqlite3_step(rep)) != SQLITE_DONE)
        goto fail;
    dg_store_sq_done(rep);
    sqlite3_int64 id = sqlite3_last_insert_rowid(q->db);
    cur = item;
    for (size_t i = 0; i < n; i++) {
        if ((src = sqlite3_bind_int64(item, 1, id)) != SQLITE_OK ||
            (src = sqlite3_bind_int64(item, 2, (sqlite3_int64)i)) != SQLITE_OK ||
            (src = sqlite3_bind_text(item, 3, fingerprints[i], -1, SQLITE_STATIC)) !=
                SQLITE_OK ||
            (src = sqlite3_step(item)) != SQLITE_DONE)
            goto fail;
        dg_store_sq_done(item);
    }
    if ((rc = dg_store_sq_commit(q, err))) {
        dg_store_sq_rollback(q);
        return rc;
    }
    return 0;
fail:
    rc = dg_store_sq_fail(q, src, "saving a report", err);
    dg_store_sq_done(cur);
    dg_store_sq_rollback(q);
    return rc;
}
