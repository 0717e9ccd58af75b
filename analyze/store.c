/* analyze/store.c: the drift store's public functions.
 *
 * Picks a backend from the URL and dispatches through its operations table
 * (analyze/store_internal.h). Argument checks live here, once, so that every
 * backend sees the same contract. */
#include "analyze/store.h"

#include <stdlib.h>
#include <string.h>

#include "analyze/store_internal.h"

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "sqlite:PATH", "sqlite://PATH" or PATH -> the SQLite backend and PATH. */
static int parse_url(const char *url, const dg_store_ops **ops, const char **location,
                     dg_error *err)
{
    if (starts_with(url, "postgres://") || starts_with(url, "postgresql://"))
        return dg_error_set(err, DG_EINVAL,
                            "store \"%.200s\": PostgreSQL store not built in "
                            "(use sqlite:PATH)", url);
    const char *p = url;
    if (starts_with(p, "sqlite://"))
        p += strlen("sqlite://");
    else if (starts_with(p, "sqlite:"))
        p += strlen("sqlite:");
    else if (strstr(p, "://"))
        return dg_error_set(err, DG_EINVAL,
                            "store \"%.200s\": unknown store URL scheme "
                            "(sqlite:PATH or a file path)", url);
    if (!*p)
        return dg_error_set(err, DG_EINVAL, "store \"%.200s\": no file path", url);
    *ops = &dg_store_sqlite_ops;
    *location = p;
    return 0;
}

int dg_store_open(const char *url, const dg_store_opts *opts, dg_store **out, dg_error *err)
{
    if (!out)
        return dg_error_set(err, DG_EINVAL, "dg_store_open: no output handle");
    *out = NULL;
    if (!url)
        return dg_error_set(err, DG_EINVAL, "dg_store_open: no store URL");
    const dg_store_ops *ops = NULL;
    const char *location = NULL;
    int rc = parse_url(url, &ops, &location, err);
    if (rc)
        return rc;
    dg_store_opts o = {0};
    if (opts)
        o = *opts;
    if (!o.busy_timeout_ms)
        o.busy_timeout_ms = 5000;
    dg_store *s = calloc(1, sizeof *s);
    if (!s)
        return dg_error_set(err, DG_ENOMEM, "out of memory opening the store");
    s->ops = ops;
    rc = ops->open(location, &o, &s->b, err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dg_store_close(dg_store *s)
{
    if (!s)
        return;
    s->ops->close(s->b);
    free(s);
}

int dg_store_schema_version(dg_store *s)
{
    return s ? s->ops->schema_version(s->b) : 0;
}

/* Common checks: a handle, and an array wherever a count says there is one. */
#define CHECK_HANDLE(s, fn)                                                    \
    do {                                                                       \
        if (!(s))                                                              \
            return dg_error_set(err, DG_EINVAL, fn ": no store");              \
    } while (0)

int dg_store_write(dg_store *s, const dg_drift *d, size_t n, dg_error *err)
{
    CHECK_HANDLE(s, "dg_store_write");
    if (!n)
        return 0;
    if (!d)
        return dg_error_set(err, DG_EINVAL, "dg_store_write: no drifts");
    return s->ops->write(s->b, d, n, err);
}

int dg_store_retain(dg_store *s, int32_t cutoff_day, uint64_t *deleted, dg_error *err)
{
    uint64_t dummy = 0;
    if (deleted)
        *deleted = 0;
    CHECK_HANDLE(s, "dg_store_retain");
    return s->ops->retain(s->b, cutoff_day, deleted ? deleted : &dummy, err);
}

int dg_store_query(dg_store *s, const dg_store_filter *f, dg_drift **rows, size_t *n,
                   dg_error *err)
{
    if (!rows || !n)
        return dg_error_set(err, DG_EINVAL, "dg_store_query: no output");
    *rows = NULL;
    *n = 0;
    CHECK_HANDLE(s, "dg_store_query");
    dg_store_filter all = {0};
    return s->ops->query(s->b, f ? f : &all, rows, n, err);
}

int dg_store_apis(dg_store *s, char ***apis, size_t *n, dg_error *err)
{
    if (!apis || !n)
        return dg_error_set(err, DG_EINVAL, "dg_store_apis: no output");
    *apis = NULL;
    *n = 0;
    CHECK_HANDLE(s, "dg_store_apis");
    return s->ops->apis(s->b, apis, n, err);
}

int dg_store_put_explanation(dg_store *s, const dg_explanation *e, dg_error *err)
{
    CHECK_HANDLE(s, "dg_store_put_explanation");
    if (!e || !e->fingerprint[0] || !e->source)
        return dg_error_set(err, DG_EINVAL,
                            "dg_store_put_explanation: an explanation needs a fingerprint "
                            "and a source");
    return s->ops->put_explanation(s->b, e, err);
}

int dg_store_get_explanation(dg_store *s, const char *fingerprint, const char *spec_hash,
                             dg_explanation *out, dg_error *err)
{
    if (!out)
        return dg_error_set(err, DG_EINVAL, "dg_store_get_explanation: no output");
    memset(out, 0, sizeof *out);
    CHECK_HANDLE(s, "dg_store_get_explanation");
    if (!fingerprint)
        return dg_error_set(err, DG_EINVAL, "dg_store_get_explanation: no fingerprint");
    return s->ops->get_explanation(s->b, fingerprint, spec_hash, out, err);
}

int dg_store_pending(dg_store *s, const char *api, int64_t now_ms, size_t max, dg_drift **rows,
                     size_t *n, dg_error *err)
{
    if (!rows || !n)
        return dg_error_set(err, DG_EINVAL, "dg_store_pending: no output");
    *rows = NULL;
    *n = 0;
    CHECK_HANDLE(s, "dg_store_pending");
    if (!max)
        return 0;
    return s->ops->pending(s->b, api, now_ms, max, rows, n, err);
}

int dg_store_defer(dg_store *s, const char *const *fingerprints, size_t n, int64_t until_ms,
                   dg_error *err)
{
    CHECK_HANDLE(s, "dg_store_defer");
    if (!n)
        return 0;
    if (!fingerprints)
        return dg_error_set(err, DG_EINVAL, "dg_store_defer: no fingerprints");
    for (size_t i = 0; i < n; i++)
        if (!fingerprints[i])
            return dg_error_set(err, DG_EINVAL, "dg_store_defer: fingerprint %zu is NULL", i);
    return s->ops->defer(s->b, fingerprints, n, until_ms, err);
}

int dg_store_attempts(dg_store *s, const char *fingerprint, unsigned *attempts, dg_error *err)
{
    if (!attempts)
        return dg_error_set(err, DG_EINVAL, "dg_store_attempts: no output");
    *attempts = 0;
    CHECK_HANDLE(s, "dg_store_attempts");
    if (!fingerprint)
        return dg_error_set(err, DG_EINVAL, "dg_store_attempts: no fingerprint");
    return s->ops->attempts(s->b, fingerprint, attempts, err);
}

int dg_store_last_report(dg_store *s, const char *scope, int64_t *at_ms, char ***fingerprints,
                         size_t *n, dg_error *err)
{
    if (!at_ms || !fingerprints || !n)
        return dg_error_set(err, DG_EINVAL, "dg_store_last_report: no output");
    *at_ms = 0;
    *fingerprints = NULL;
    *n = 0;
    CHECK_HANDLE(s, "dg_store_last_report");
    if (!scope)
        return dg_error_set(err, DG_EINVAL, "dg_store_last_report: no scope");
    return s->ops->last_report(s->b, scope, at_ms, fingerprints, n, err);
}

int dg_store_save_report(dg_store *s, const char *scope, int64_t at_ms,
                         const char *const *fingerprints, size_t n, dg_error *err)
{
    CHECK_HANDLE(s, "dg_store_save_report");
    if (!scope)
        return dg_error_set(err, DG_EINVAL, "dg_store_save_report: no scope");
    if (n && !fingerprints)
        return dg_error_set(err, DG_EINVAL, "dg_store_save_report: no fingerprints");
    for (size_t i = 0; i < n; i++)
        if (!fingerprints[i])
            return dg_error_set(err, DG_EINVAL, "dg_store_save_report: fingerprint %zu is NULL",
                                i);
    return s->ops->save_report(s->b, scope, at_ms, fingerprints, n, err);
}
