/* analyze/store_sqlite.c: the SQLite drift store: open, checks, schema
 * migrations, error mapping, writes and retention (reads are in
 * store_sqlite_query.c).
 *
 * One file in WAL mode (readers never block the writer and a report can
 * read while the proxy writes), synchronous=FULL (a committed write survives
 * a power cut, not only a kill -9), foreign keys on (a drift's daily counts,
 * explanations and queue state go with it), a busy timeout for the write
 * lock. Every statement is constant text with bound parameters; the only
 * formatted SQL are PRAGMAs whose argument is an integer computed here.
 *
 * Schema (version 1; PRAGMA user_version is the version, PRAGMA
 * application_id marks the file as driftgate's):
 *   drifts         one row per fingerprint: identity, latest context,
 *                  first/last seen, total count, example
 *   daily_counts   (fingerprint, day) -> count
 *   explanations   (fingerprint, spec_hash) -> every dg_explanation field
 *   explain_queue  fingerprint -> attempts, deferred_until_ms
 *   reports        id, scope, at_ms; report_items (report, pos) -> fingerprint
 * Migrations are a list of steps; step i takes a store from version i to
 * i + 1 in one transaction, so a store is always at a known version. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/store_internal.h"

#define APPLICATION_ID 0x44726674 /* "Drft" */
#define MS_PER_DAY INT64_C(86400000)

static const char *const migrations[] = {
    /* 0 -> 1: the initial schema. */
    "CREATE TABLE drifts ("
    "  fingerprint    TEXT NOT NULL PRIMARY KEY,"
    "  api            TEXT NOT NULL,"
    "  operation      TEXT NOT NULL,"
    "  status         INTEGER NOT NULL,"
    "  pointer        TEXT NOT NULL,"
    "  schema_loc     TEXT NOT NULL,"
    "  kind           TEXT NOT NULL,"
    "  observed_type  TEXT NOT NULL,"
    "  method         TEXT,"
    "  path_template  TEXT,"
    "  media_type     TEXT,"
    "  schema_pointer TEXT,"
    "  severity       TEXT,"
    "  message        TEXT,"
    "  owner          TEXT,"
    "  spec_hash      TEXT,"
    "  example        TEXT,"
    "  first_seen_ms  INTEGER NOT NULL,"
    "  last_seen_ms   INTEGER NOT NULL,"
    "  count          INTEGER NOT NULL CHECK (count >= 0)"
    ");"
    /* query by api / owner within a window; retention and the window over
     * every API; the explain queue (oldest first_seen first), per API or not */
    "CREATE INDEX drifts_api_last ON drifts(api, last_seen_ms);"
    "CREATE INDEX drifts_owner_last ON drifts(owner, last_seen_ms);"
    "CREATE INDEX drifts_last ON drifts(last_seen_ms);"
    "CREATE INDEX drifts_api_first ON drifts(api, first_seen_ms);"
    "CREATE INDEX drifts_first ON drifts(first_seen_ms);"
    "CREATE TABLE daily_counts ("
    "  fingerprint TEXT NOT NULL REFERENCES drifts(fingerprint) ON DELETE CASCADE,"
    "  day         INTEGER NOT NULL,"
    "  count       INTEGER NOT NULL CHECK (count >= 0),"
    "  PRIMARY KEY (fingerprint, day)"
    ") WITHOUT ROWID;"
    "CREATE INDEX daily_counts_day ON daily_counts(day);"
    "CREATE TABLE explanations ("
    "  fingerprint    TEXT NOT NULL REFERENCES drifts(fingerprint) ON DELETE CASCADE,"
    "  spec_hash      TEXT NOT NULL,"
    "  classification TEXT,"
    "  cause          TEXT,"
    "  evidence       TEXT,"
    "  severity       TEXT,"
    "  confidence     REAL NOT NULL,"
    "  patch          TEXT,"
    "  source         TEXT NOT NULL,"
    "  backend        TEXT,"
    "  model          TEXT,"
    "  created_ms     INTEGER NOT NULL,"
    "  PRIMARY KEY (fingerprint, spec_hash)"
    ");"
    "CREATE TABLE explain_queue ("
    "  fingerprint       TEXT NOT NULL PRIMARY KEY"
    "                    REFERENCES drifts(fingerprint) ON DELETE CASCADE,"
    "  attempts          INTEGER NOT NULL,"
    "  deferred_until_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE reports ("
    "  id    INTEGER PRIMARY KEY,"
    "  scope TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX reports_scope_at ON reports(scope, at_ms);"
    "CREATE TABLE report_items ("
    "  report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    "  pos         INTEGER NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  PRIMARY KEY (report_id, pos)"
    ") WITHOUT ROWID;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- helpers shared with store_sqlite_query.c ---- */

int dg_store_sq_fail(dg_store_sq *q, int rc, const char *what, dg_error *err)
{
    /* The connection's message describes rc only if it was the last error
     * on the connection (bind errors, for one, may not set it). */
    const char *m = sqlite3_errstr(rc);
    if (q->db && sqlite3_extended_errcode(q->db) == rc)
        m = sqlite3_errmsg(q->db);
    const char *p = q->path;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return dg_error_set(err, DG_EIO, "disk full (store %s): %s: %s", p, what, m);
    case SQLITE_READONLY:
        if (rc == SQLITE_READONLY_CANTINIT || rc == SQLITE_READONLY_DIRECTORY)
            return dg_error_set(err, DG_EIO,
                                "store %s cannot be read: it is in WAL mode, %s-shm does not "
                                "exist and its directory is not writable (open it from a user "
                                "who may write there, or while a driftgate writing it runs)",
                                p, p);
        return dg_error_set(err, DG_EIO,
                            "store %s is read-only: %s: %s (check the permissions of the "
                            "file, its directory and its -wal/-shm files)", p, what, m);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return dg_error_set(err, DG_EIO,
                            "store %s is locked by another process (waited %u ms): %s: %s", p,
                            q->busy_timeout_ms, what, m);
    case SQLITE_NOTADB:
        return dg_error_set(err, DG_EIO,
                            "store %s: not a driftgate store / file is not a database", p);
    case SQLITE_CORRUPT:
        return dg_error_set(err, DG_EIO, "store %s is corrupt: %s: %s", p, what, m);
    case SQLITE_NOMEM:
        return dg_error_set(err, DG_ENOMEM, "out of memory (store %s): %s", p, what);
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        return dg_error_set(err, DG_EINVAL, "store %s: %s: %s", p, what, m);
    case SQLITE_CANTOPEN:
        return dg_error_set(err, DG_EIO, "store %s: cannot open the file: %s", p, m);
    default:
        return dg_error_set(err, DG_EIO, "store %s: %s: %s", p, what, m);
    }
}

int dg_store_sq_stmt(dg_store_sq *q, int id, const char *sql, sqlite3_stmt **out, dg_error *err)
{
    *out = NULL;
    if (!q->st[id]) {
        int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->st[id],
                                    NULL);
        if (rc != SQLITE_OK) {
            q->st[id] = NULL;
            return dg_store_sq_fail(q, rc, "preparing a statement", err);
        }
    }
    *out = q->st[id];
    return 0;
}

void dg_store_sq_done(sqlite3_stmt *st)
{
    if (!st)
        return;
    /* sqlite3_reset repeats the last step's error, which the caller has
     * already checked and reported; clearing bindings cannot fail. */
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
}

static int exec(dg_store_sq *q, const char *sql, const char *what, dg_error *err)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : dg_store_sq_fail(q, rc, what, err);
}

int dg_store_sq_begin(dg_store_sq *q, int immediate, dg_error *err)
{
    return exec(q, immediate ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction", err);
}

int dg_store_sq_commit(dg_store_sq *q, dg_error *err)
{
    return exec(q, "COMMIT", "committing", err);
}

void dg_store_sq_rollback(dg_store_sq *q)
{
    /* SQLite may already have rolled back (SQLITE_FULL, IOERR, ...). If
     * ROLLBACK itself fails the transaction stays open and the next BEGIN
     * reports it; there is nothing better to do here. */
    if (!sqlite3_get_autocommit(q->db) &&
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        return;
}

int dg_store_sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int dg_store_sq_column_dup(sqlite3_stmt *st, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return 0;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return DG_ENOMEM;
    size_t len = (size_t)sqlite3_column_bytes(st, i);
    char *p = malloc(len + 1);
    if (!p)
        return DG_ENOMEM;
    memcpy(p, t, len);
    p[len] = '\0';
    *out = p;
    return 0;
}

/* ---- open ---- */

/* An integer PRAGMA (or any one-integer query). */
static int pragma_int(dg_store_sq *q, const char *sql, int64_t *v, dg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int code = 0;
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else
        code = dg_store_sq_fail(q, rc == SQLITE_DONE ? SQLITE_ERROR : rc, sql, err);
    (void)sqlite3_finalize(st); /* its error, if any, was reported above */
    return code;
}

/* Messages SQLite gives for these cases ("unable to open database file",
 * "attempt to write a readonly database") do not say which file or why, so
 * look first. */
static int precheck(dg_store_sq *q, dg_error *err)
{
    const char *p = q->path;
    struct stat sb;
    int exists = stat(p, &sb) == 0;
    if (!exists && errno != ENOENT)
        return dg_error_set(err, DG_EIO, "store %s: cannot open: %s", p, strerror(errno));
    if (exists && !S_ISREG(sb.st_mode))
        return dg_error_set(err, DG_EIO, "store %s: not a regular file", p);
    if (q->read_only) {
        if (!exists)
            return dg_error_set(err, DG_EIO, "store %s does not exist", p);
        if (access(p, R_OK) != 0)
            return dg_error_set(err, DG_EIO, "store %s cannot be read: %s", p, strerror(errno));
        return 0;
    }
    if (exists && access(p, R_OK | W_OK) != 0)
        return dg_error_set(err, DG_EIO,
                            "store %s is read-only (%s): fix its permissions, or open it "
                            "read-only to read", p, strerror(errno));
    /* WAL mode keeps PATH-wal and PATH-shm next to the store: the directory
     * must be writable even when the file exists. */
    const char *slash = strrchr(p, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == p)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - p) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - p), p);
    else
        return dg_error_set(err, DG_EINVAL, "store %.200s...: path too long", p);
    if (access(dir, W_OK | X_OK) != 0) {
        int e = errno;
        if (e == ENOENT)
            return dg_error_set(err, DG_EIO, "store %s: directory %s does not exist", p, dir);
        return dg_error_set(err, DG_EIO,
                            "store %s: directory %s is not writable (%s; the store needs to "
                            "create %s-wal and %s-shm there)", p, dir, strerror(e), p, p);
    }
    return 0;
}

static int check_integrity(dg_store_sq *q, dg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int code = 0;
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (!r)
            code = dg_error_set(err, DG_ENOMEM, "out of memory (store %s)", q->path);
        else if (strcmp(r, "ok") != 0) {
            /* The first finding, without the "*** in database main ***"
             * heading SQLite puts before it. */
            const char *hd = "*** in database main ***\n";
            if (strncmp(r, hd, strlen(hd)) == 0)
                r += strlen(hd);
            int len = (int)strcspn(r, "\n");
            code = dg_error_set(err, DG_EIO, "store %s is corrupt: %.*s (PRAGMA quick_check)",
                                q->path, len > 300 ? 300 : len, r);
        }
    } else {
        /* not a database, corrupt beyond checking, locked, unreadable */
        code = dg_store_sq_fail(q, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "integrity check",
                                err);
    }
    (void)sqlite3_finalize(st); /* its error, if any, was reported above */
    return code;
}

/* Reads what the file is: *version, and whether it is a fresh database
 * (nothing in it yet) or a driftgate store; anything else is refused. */
static int identify(dg_store_sq *q, int64_t *version, int *fresh, dg_error *err)
{
    int64_t app = 0, tables = 0;
    int rc;
    if ((rc = pragma_int(q, "PRAGMA application_id", &app, err)) ||
        (rc = pragma_int(q, "PRAGMA user_version", version, err)) ||
        (rc = pragma_int(q, "SELECT count(*) FROM sqlite_master", &tables, err)))
        return rc;
    *fresh = *version == 0 && tables == 0 && (app == 0 || app == APPLICATION_ID);
    if (!*fresh && (app != APPLICATION_ID || *version <= 0))
        return dg_error_set(err, DG_EIO,
                            "store %s: not a driftgate store (an SQLite database of something "
                            "else: application_id %lld, user_version %lld, %lld schema objects)",
                            q->path, (long long)app, (long long)*version, (long long)tables);
    if (*version > SCHEMA_VERSION)
        return dg_error_set(err, DG_EIO,
                            "store %s: store schema version %lld is newer than this driftgate "
                            "(%d); use a newer driftgate", q->path, (long long)*version,
                            SCHEMA_VERSION);
    return 0;
}

/* Applies the missing steps, each in its own transaction. The version is
 * read again under the write lock: another process may have migrated the
 * same file meanwhile. */
static int migrate(dg_store_sq *q, dg_error *err)
{
    for (;;) {
        int rc = dg_store_sq_begin(q, 1, err);
        if (rc)
            return rc;
        int64_t v = 0;
        if ((rc = pragma_int(q, "PRAGMA user_version", &v, err)))
            goto fail;
        if (v > SCHEMA_VERSION) {
            rc = dg_error_set(err, DG_EIO,
                              "store %s: store schema version %lld is newer than this "
                              "driftgate (%d); use a newer driftgate", q->path, (long long)v,
                              SCHEMA_VERSION);
            goto fail;
        }
        if (v == SCHEMA_VERSION) {
            if ((rc = dg_store_sq_commit(q, err)))
                goto fail;
            q->version = (int)v;
            return 0;
        }
        char what[64], bump[96];
        snprintf(what, sizeof what, "migrating the schema to version %d", (int)v + 1);
        snprintf(bump, sizeof bump, "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 APPLICATION_ID, (int)v + 1);
        if ((rc = exec(q, migrations[v], what, err)) || (rc = exec(q, bump, what, err)) ||
            (rc = dg_store_sq_commit(q, err)))
            goto fail;
        continue;
    fail:
        dg_store_sq_rollback(q);
        return rc;
    }
}

static int set_pragmas(dg_store_sq *q, int in_memory, dg_error *err)
{
    int rc;
    if (!q->read_only) {
        /* journal_mode answers with the mode in force. */
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        int code = 0;
        if (rc != SQLITE_ROW) {
            code = dg_store_sq_fail(q, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
                                    "switching to WAL mode", err);
        } else {
            const char *m = (const char *)sqlite3_column_text(st, 0);
            if (!in_memory && (!m || strcmp(m, "wal") != 0))
                code = dg_error_set(err, DG_EIO, "store %s: cannot switch to WAL mode (%s)",
                                    q->path, m ? m : "out of memory");
        }
        (void)sqlite3_finalize(st); /* its error, if any, was reported above */
        if (code)
            return code;
        /* The WAL is emptied by checkpoints; keep its file from staying at
         * its largest size forever. */
        if ((rc = exec(q, "PRAGMA journal_size_limit = 16777216", "setting up", err)))
            return rc;
    }
    int64_t fk = 0;
    if ((rc = exec(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "setting up",
                   err)) ||
        (rc = pragma_int(q, "PRAGMA foreign_keys", &fk, err)))
        return rc;
    if (fk != 1)
        return dg_error_set(err, DG_EIO, "store %s: this SQLite has no foreign key support",
                            q->path);
    return 0;
}

/* max_page_count is per connection: pages beyond it fail with SQLITE_FULL
 * as a full disk would, and the transaction rolls back. */
static int set_max_bytes(dg_store_sq *q, uint64_t max_bytes, dg_error *err)
{
    int64_t page_size = 0;
    int rc = pragma_int(q, "PRAGMA page_size", &page_size, err);
    if (rc)
        return rc;
    if (page_size <= 0)
        return dg_error_set(err, DG_EIO, "store %s: page size %lld", q->path,
                            (long long)page_size);
    uint64_t pages = max_bytes / (uint64_t)page_size;
    if (pages < 1)
        pages = 1;
    if (pages > 4294967294u)
        pages = 4294967294u;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu", (unsigned long long)pages);
    int64_t got = 0;
    return pragma_int(q, sql, &got, err);
}

static void sq_close(void *b);

static int sq_open(const char *path, const dg_store_opts *o, void **b, dg_error *err)
{
    dg_store_sq *q = calloc(1, sizeof *q);
    if (!q || !(q->path = strdup(path))) {
        free(q);
        return dg_error_set(err, DG_ENOMEM, "out of memory opening store %s", path);
    }
    q->read_only = o->read_only != 0;
    q->busy_timeout_ms = o->busy_timeout_ms;
    int in_memory = strcmp(path, ":memory:") == 0;
    int rc = 0;
    if (!in_memory && (rc = precheck(q, err)))
        goto fail;
    int flags = (q->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    int src = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = dg_store_sq_fail(q, src, "opening", err);
        goto fail;
    }
    if ((src = sqlite3_extended_result_codes(q->db, 1)) != SQLITE_OK ||
        (src = sqlite3_busy_timeout(q->db, q->busy_timeout_ms > INT32_MAX
                                               ? INT32_MAX
                                               : (int)q->busy_timeout_ms)) != SQLITE_OK) {
        rc = dg_store_sq_fail(q, src, "opening", err);
        goto fail;
    }
    /* SQLite silently opens a write-protected file read-only. */
    if (!q->read_only && sqlite3_db_readonly(q->db, "main") == 1) {
        rc = dg_error_set(err, DG_EIO,
                          "store %s is read-only (write-protected): fix its permissions, or "
                          "open it read-only to read", path);
        goto fail;
    }
    int64_t version = 0;
    int fresh = 0;
    if ((rc = check_integrity(q, err)) || (rc = identify(q, &version, &fresh, err)) ||
        (rc = set_pragmas(q, in_memory, err)))
        goto fail;
    if (q->read_only) {
        if (fresh) {
            rc = dg_error_set(err, DG_EIO, "store %s is empty: not a driftgate store yet",
                              path);
            goto fail;
        }
        if (version < SCHEMA_VERSION) {
            rc = dg_error_set(err, DG_EIO,
                              "store %s: schema version %lld is older than this driftgate's "
                              "(%d) and a read-only open cannot migrate it; open it "
                              "read-write once", path, (long long)version, SCHEMA_VERSION);
            goto fail;
        }
        q->version = (int)version;
    } else if ((rc = migrate(q, err))) {
        goto fail;
    }
    if (o->max_bytes && !q->read_only && (rc = set_max_bytes(q, o->max_bytes, err)))
        goto fail;
    *b = q;
    return 0;
fail:
    sq_close(q);
    return rc;
}

static void sq_close(void *b)
{
    dg_store_sq *q = b;
    if (!q)
        return;
    for (int i = 0; i < DG_SQ_NSTMT; i++)
        (void)sqlite3_finalize(q->st[i]); /* returns the last step's error, already handled */
    if (q->db) {
        /* Lets SQLite refresh its planner statistics when it thinks they
         * are stale; a failure only costs query plans. */
        if (!q->read_only && q->version &&
            sqlite3_exec(q->db, "PRAGMA optimize", NULL, NULL, NULL) != SQLITE_OK) {
            /* nothing to do */
        }
        /* Every statement is finalized, so close cannot be busy. */
        (void)sqlite3_close(q->db);
    }
    free(q->path);
    free(q);
}

static int sq_schema_version(void *b)
{
    return ((dg_store_sq *)b)->version;
}

/* ---- writes ---- */

static int writable(dg_store_sq *q, dg_error *err)
{
    return q->read_only
               ? dg_error_set(err, DG_EINVAL, "store %s was opened read-only", q->path)
               : 0;
}

/* Context replaced only by a delta that is not older than what is stored
 * (all right-hand sides see the row as it was before the update). */
#define NEWER(col) col " = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded." \
                   col " ELSE " col " END,"

static const char sql_upsert_drift[] =
    "INSERT INTO drifts (fingerprint, api, operation, status, pointer, schema_loc, kind,"
    " observed_type, method, path_template, media_type, schema_pointer, severity, message,"
    " owner, spec_hash, example, first_seen_ms, last_seen_ms, count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
    " ?18, ?19, ?20)"
    " ON CONFLICT (fingerprint) DO UPDATE SET "
    NEWER("method") NEWER("path_template") NEWER("media_type") NEWER("schema_pointer")
    NEWER("severity") NEWER("message") NEWER("owner") NEWER("spec_hash") NEWER("example")
    " count = count + excluded.count,"
    " first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),"
    " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)";

static const char sql_upsert_day[] =
    "INSERT INTO daily_counts (fingerprint, day, count) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (fingerprint, day) DO UPDATE SET count = count + excluded.count";

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Checks what SQLite would otherwise store wrongly (counts above INT64_MAX
 * become negative) before anything is written. */
static int check_deltas(dg_store_sq *q, const dg_drift *d, size_t n, dg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!d[i].fingerprint[0])
            return dg_error_set(err, DG_EINVAL, "store %s: drift %zu has no fingerprint",
                                q->path, i);
        if (d[i].count > INT64_MAX)
            return dg_error_set(err, DG_EINVAL, "store %s: drift %s: count out of range",
                                q->path, d[i].fingerprint);
        if (d[i].n_days && !d[i].days)
            return dg_error_set(err, DG_EINVAL, "store %s: drift %s: days missing", q->path,
                                d[i].fingerprint);
        for (size_t k = 0; k < d[i].n_days; k++)
            if (d[i].days[k].count > INT64_MAX)
                return dg_error_set(err, DG_EINVAL,
                                    "store %s: drift %s: day count out of range", q->path,
                                    d[i].fingerprint);
    }
    return 0;
}

static int bind_drift(sqlite3_stmt *st, const dg_drift *x)
{
    const char *text[] = {x->fingerprint, nz(x->api), nz(x->operation)};
    const char *ident[] = {nz(x->pointer), nz(x->schema_loc), nz(x->kind),
                           nz(x->observed_type)};
    const char *ctx[] = {x->method,   x->path_template, x->media_type,
                         x->schema_pointer, x->severity, x->message,
                         x->owner,    x->spec_hash,     x->example};
    int rc = SQLITE_OK;
    for (int i = 0; i < 3 && rc == SQLITE_OK; i++)
        rc = dg_store_sq_bind_text(st, 1 + i, text[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 4, x->status);
    for (int i = 0; i < 4 && rc == SQLITE_OK; i++)
        rc = dg_store_sq_bind_text(st, 5 + i, ident[i]);
    for (int i = 0; i < 9 && rc == SQLITE_OK; i++)
        rc = dg_store_sq_bind_text(st, 9 + i, ctx[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 18, x->first_seen_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 19, x->last_seen_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 20, (sqlite3_int64)x->count);
    return rc;
}

static int sq_write(void *b, const dg_drift *d, size_t n, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *sd = NULL, *sc = NULL, *cur = NULL;
    int rc;
    if ((rc = writable(q, err)) || (rc = check_deltas(q, d, n, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_UPSERT_DRIFT, sql_upsert_drift, &sd, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_UPSERT_DAY, sql_upsert_day, &sc, err)) ||
        (rc = dg_store_sq_begin(q, 1, err)))
        return rc;
    char what[96];
    int src = SQLITE_OK;
    for (size_t i = 0; i < n; i++) {
        const dg_drift *x = &d[i];
        cur = sd;
        if ((src = bind_drift(sd, x)) != SQLITE_OK || (src = sqlite3_step(sd)) != SQLITE_DONE)
            goto fail;
        dg_store_sq_done(sd);
        cur = sc;
        for (size_t k = 0; k < x->n_days; k++) {
            if ((src = sqlite3_bind_text(sc, 1, x->fingerprint, -1, SQLITE_STATIC)) !=
                    SQLITE_OK ||
                (src = sqlite3_bind_int(sc, 2, x->days[k].day)) != SQLITE_OK ||
                (src = sqlite3_bind_int64(sc, 3, (sqlite3_int64)x->days[k].count)) !=
                    SQLITE_OK ||
                (src = sqlite3_step(sc)) != SQLITE_DONE)
                goto fail;
            dg_store_sq_done(sc);
        }
        cur = NULL;
    }
    if ((rc = dg_store_sq_commit(q, err))) {
        dg_store_sq_rollback(q);
        return rc;
    }
    return 0;
fail:
    snprintf(what, sizeof what, "writing %zu drifts (nothing written)", n);
    rc = dg_store_sq_fail(q, src, what, err);
    dg_store_sq_done(cur);
    dg_store_sq_rollback(q);
    return rc;
}

static int sq_retain(void *b, int32_t cutoff_day, uint64_t *deleted, dg_error *err)
{
    dg_store_sq *q = b;
    sqlite3_stmt *days = NULL, *drifts = NULL, *reports = NULL, *cur = NULL;
    int rc;
    /* Report records older than the cutoff go too, except each scope's
     * latest (the next report compares against it). */
    if ((rc = writable(q, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_RETAIN_DAYS, "DELETE FROM daily_counts WHERE day < ?1",
                               &days, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_RETAIN_DRIFTS,
                               "DELETE FROM drifts WHERE last_seen_ms < ?1", &drifts, err)) ||
        (rc = dg_store_sq_stmt(q, DG_SQ_RETAIN_REPORTS,
                               "DELETE FROM reports WHERE at_ms < ?1 AND id <> "
                               "(SELECT r.id FROM reports r WHERE r.scope = reports.scope "
                               "ORDER BY r.at_ms DESC, r.id DESC LIMIT 1)",
                               &reports, err)) ||
        (rc = dg_store_sq_begin(q, 1, err)))
        return rc;
    int src;
    cur = days;
    if ((src = sqlite3_bind_int(days, 1, cutoff_day)) != SQLITE_OK ||
        (src = sqlite3_step(days)) != SQLITE_DONE)
        goto fail;
    dg_store_sq_done(days);
    cur = drifts;
    if ((src = sqlite3_bind_int64(drifts, 1, (sqlite3_int64)cutoff_day * MS_PER_DAY)) !=
            SQLITE_OK ||
        (src = sqlite3_step(drifts)) != SQLITE_DONE)
        goto fail;
    /* Rows deleted by the statement itself, not by the cascades. */
    *deleted = (uint64_t)sqlite3_changes(q->db);
    dg_store_sq_done(drifts);
    cur = reports;
    if ((src = sqlite3_bind_int64(reports, 1, (sqlite3_int64)cutoff_day * MS_PER_DAY)) !=
            SQLITE_OK ||
        (src = sqlite3_step(reports)) != SQLITE_DONE)
        goto fail;
    dg_store_sq_done(reports);
    if ((rc = dg_store_sq_commit(q, err))) {
        dg_store_sq_rollback(q);
        *deleted = 0;
        return rc;
    }
    return 0;
fail:
    rc = dg_store_sq_fail(q, src, "applying retention", err);
    dg_store_sq_done(cur);
    dg_store_sq_rollback(q);
    *deleted = 0;
    return rc;
}

const dg_store_ops dg_store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .write = sq_write,
    .retain = sq_retain,
    .query = dg_store_sq_query,
    .apis = dg_store_sq_apis,
    .put_explanation = dg_store_sq_put_explanation,
    .get_explanation = dg_store_sq_get_explanation,
    .pending = dg_store_sq_pending,
    .defer = dg_store_sq_defer,
    .attempts = dg_store_sq_attempts,
    .last_report = dg_store_sq_last_report,
    .save_report = dg_store_sq_save_report,
};
