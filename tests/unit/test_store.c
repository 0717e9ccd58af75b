/* tests/unit/test_store.c: the SQLite drift store (analyze/store.h): open
 * and migrations, refusals (not a database, corrupt, read-only, newer
 * schema, PostgreSQL), disk full through max_bytes, upsert semantics,
 * retention, queries, explanations, the explain queue, report records,
 * two handles on one file, and the time to write 10,000 drifts. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze/drift.h"
#include "analyze/store.h"

#define DAY_MS INT64_C(86400000)

static char dir[64];
static char path[128];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dg-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/drifts.db", dir);
}

static void teardown(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown);

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    cr_assert_not_null(p);
    return p;
}

static void fp_of(unsigned i, char fp[DG_FP_LEN + 1])
{
    snprintf(fp, DG_FP_LEN + 1, "%016x", i);
}

/* A drift with every field set, seen count times between first and last,
 * all on last's day. */
static dg_drift mk(const char *fp, const char *api, const char *owner, uint64_t count,
                   int64_t first, int64_t last)
{
    dg_drift d;
    memset(&d, 0, sizeof d);
    snprintf(d.fingerprint, sizeof d.fingerprint, "%s", fp);
    d.api = xstrdup(api);
    d.operation = xstrdup("getPet");
    d.status = 200;
    d.pointer = xstrdup("/id");
    d.schema_loc = xstrdup("petstore.yaml#/components/schemas/Pet/properties/id/type");
    d.kind = xstrdup("type");
    d.observed_type = xstrdup("string");
    d.method = xstrdup("GET");
    d.path_template = xstrdup("/pets/{id}");
    d.media_type = xstrdup("application/json");
    d.schema_pointer = xstrdup("/srv/petstore.yaml#/components/schemas/Pet/properties/id/type");
    d.severity = xstrdup("error");
    d.message = xstrdup("expected integer, got string");
    d.owner = xstrdup(owner);
    d.spec_hash = xstrdup("h1");
    d.example = xstrdup("{\"type\":\"string\",\"length\":3}");
    d.first_seen_ms = first;
    d.last_seen_ms = last;
    d.count = count;
    d.days = calloc(1, sizeof *d.days);
    cr_assert_not_null(d.days);
    d.days[0].day = dg_day_of_ms(last);
    d.days[0].count = count;
    d.n_days = 1;
    return d;
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

static dg_store *open_ok(const char *url, const dg_store_opts *o)
{
    dg_store *s = NULL;
    dg_error e = {0};
    int rc = dg_store_open(url, o, &s, &e);
    cr_assert_eq(rc, 0, "open %s: %d %s", url, rc, e.msg);
    cr_assert_not_null(s);
    return s;
}

static int open_fails(const char *url, const dg_store_opts *o, dg_error *e)
{
    dg_store *s = NULL;
    memset(e, 0, sizeof *e);
    int rc = dg_store_open(url, o, &s, e);
    cr_assert_neq(rc, 0, "open %s should fail", url);
    cr_assert_null(s);
    return rc;
}

static void write_ok(dg_store *s, const dg_drift *d, size_t n)
{
    dg_error e = {0};
    int rc = dg_store_write(s, d, n, &e);
    cr_assert_eq(rc, 0, "write: %d %s", rc, e.msg);
}

static void query_ok(dg_store *s, const dg_store_filter *f, dg_drift **rows, size_t *n)
{
    dg_error e = {0};
    int rc = dg_store_query(s, f, rows, n, &e);
    cr_assert_eq(rc, 0, "query: %d %s", rc, e.msg);
}

static uint64_t total(dg_store *s)
{
    dg_drift *rows = NULL;
    size_t n = 0;
    query_ok(s, NULL, &rows, &n);
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += rows[i].count;
    dg_drifts_free(rows, n);
    return t;
}

/* Raw SQLite access to the store file, behind the store's back. */
static int64_t raw_int(const char *file, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *file, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void write_file(const char *file, const char *text)
{
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void assert_msg(const dg_error *e, const char *needle)
{
    cr_assert_not_null(strstr(e->msg, needle), "message \"%s\" lacks \"%s\"", e->msg, needle);
    cr_log_info("%s", e->msg);
}

/* ---- open, migrations, refusals ---- */

Test(store, migrates_a_new_file_to_the_current_schema)
{
    dg_store *s = open_ok(path, NULL);
    int v = dg_store_schema_version(s);
    cr_assert_geq(v, 1);
    dg_store_close(s);
    cr_assert_eq(raw_int(path, "PRAGMA user_version"), v);
    cr_assert_eq(raw_int(path, "PRAGMA application_id"), 0x44726674);
    cr_assert_eq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                               "name IN ('drifts', 'daily_counts', 'explanations', "
                               "'explain_queue', 'reports', 'report_items')"),
                 6);
    cr_assert_geq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"), 6);
    cr_assert_eq(raw_int(path, "SELECT count(*) FROM pragma_journal_mode WHERE "
                               "journal_mode = 'wal'"),
                 1);

    /* an empty file and an empty SQLite database are fresh stores too */
    char p2[160], p3[160];
    snprintf(p2, sizeof p2, "%s/empty.db", dir);
    snprintf(p3, sizeof p3, "%s/blank.db", dir);
    write_file(p2, "");
    raw_exec(p3, "PRAGMA user_version = 0");
    dg_store *s2 = open_ok(p2, NULL), *s3 = open_ok(p3, NULL);
    cr_assert_eq(dg_store_schema_version(s2), v);
    cr_assert_eq(dg_store_schema_version(s3), v);
    dg_store_close(s2);
    dg_store_close(s3);
}

Test(store, reopen_keeps_data_and_version)
{
    char fp[DG_FP_LEN + 1];
    fp_of(1, fp);
    dg_drift d = mk(fp, "pets", "team-a", 7, 1000, 2000);
    dg_store *s = open_ok(path, NULL);
    int v = dg_store_schema_version(s);
    write_ok(s, &d, 1);
    dg_store_close(s);

    s = open_ok(path, NULL);
    cr_assert_eq(dg_store_schema_version(s), v);
    dg_drift *rows = NULL;
    size_t n = 0;
    query_ok(s, NULL, &rows, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].fingerprint, fp);
    cr_assert_eq(rows[0].count, 7);
    cr_assert_str_eq(rows[0].example, d.example);
    dg_drifts_free(rows, n);
    dg_store_close(s);
    dg_drift_clear(&d);
}

Test(store, url_forms_open_the_same_file)
{
    char fp[DG_FP_LEN + 1];
    fp_of(1, fp);
    dg_drift d = mk(fp, "pets", "team-a", 3, 1000, 2000);
    char u1[200], u2[200];
    snprintf(u1, sizeof u1, "sqlite:%s", path);
    snprintf(u2, sizeof u2, "sqlite://%s", path);
    dg_store *s = open_ok(u1, NULL);
    write_ok(s, &d, 1);
    dg_store_close(s);
    s = open_ok(u2, NULL);
    write_ok(s, &d, 1);
    dg_store_close(s);
    s = open_ok(path, NULL);
    cr_assert_eq(total(s), 6);
    dg_store_close(s);
    /* an in-memory store (no file, no WAL) for tools and tests */
    s = open_ok("sqlite::memory:", NULL);
    write_ok(s, &d, 1);
    cr_assert_eq(total(s), 3);
    dg_store_close(s);
    dg_drift_clear(&d);
}

Test(store, postgres_urls_are_refused)
{
    dg_error e;
    cr_assert_eq(open_fails("postgres://db.example/drift", NULL, &e), DG_EINVAL);
    assert_msg(&e, "PostgreSQL store not built in");
    cr_assert_eq(open_fails("postgresql://u@db/drift", NULL, &e), DG_EINVAL);
    assert_msg(&e, "PostgreSQL store not built in");
    cr_assert_eq(open_fails("mysql://db/drift", NULL, &e), DG_EINVAL);
    cr_assert_eq(open_fails("sqlite:", NULL, &e), DG_EINVAL);
}

Test(store, newer_schema_version_is_refused)
{
    dg_store *s = open_ok(path, NULL);
    int v = dg_store_schema_version(s);
    dg_store_close(s);
    char sql[64], want[128];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
    raw_exec(path, sql);
    snprintf(want, sizeof want, "store schema version %d is newer than this driftgate (%d)",
             v + 1, v);
    dg_error e;
    cr_assert_eq(open_fails(path, NULL, &e), DG_EIO);
    assert_msg(&e, want);
    assert_msg(&e, path);
    dg_store_opts ro = {.read_only = 1};
    cr_assert_eq(open_fails(path, &ro, &e), DG_EIO);
    assert_msg(&e, want);
    /* refused, not touched */
    cr_assert_eq(raw_int(path, "PRAGMA user_version"), v + 1);
}

Test(store, not_a_database_names_the_file)
{
    write_file(path, "this is a text file, long enough to have a header of sorts..........."
                     "......................................................................");
    dg_error e;
    cr_assert_eq(open_fails(path, NULL, &e), DG_EIO);
    assert_msg(&e, path);
    assert_msg(&e, "not a driftgate store / file is not a database");
    dg_store_opts ro = {.read_only = 1};
    cr_assert_eq(open_fails(path, &ro, &e), DG_EIO);
    assert_msg(&e, "file is not a database");
}

Test(store, another_applications_database_is_refused)
{
    raw_exec(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
    dg_error e;
    cr_assert_eq(open_fails(path, NULL, &e), DG_EIO);
    assert_msg(&e, path);
    assert_msg(&e, "not a driftgate store");
    /* and left alone */
    cr_assert_eq(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);
}

Test(store, corrupt_pages_are_found_at_open)
{
    dg_store *s = open_ok(path, NULL);
    enum { N = 3000 };
    dg_drift *d = calloc(N, sizeof *d);
    cr_assert_not_null(d);
    for (unsigned i = 0; i < N; i++) {
        char fp[DG_FP_LEN + 1];
        fp_of(i, fp);
        d[i] = mk(fp, "pets", "team-a", 1 + i, 1000, 2000 + i);
    }
    write_ok(s, d, N);
    dg_store_close(s); /* checkpoints: everything is in the main file now */
    dg_drifts_free(d, N);

    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_gt(sb.st_size, 64 * 4096, "store too small to corrupt: %lld",
                 (long long)sb.st_size);
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    char junk[4096 * 8];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(0x5a ^ (i * 131));
    off_t at = (sb.st_size / 2) & ~(off_t)4095;
    cr_assert_eq(pwrite(fd, junk, sizeof junk, at + 100), (ssize_t)sizeof junk);
    close(fd);

    dg_error e;
    cr_assert_eq(open_fails(path, NULL, &e), DG_EIO);
    assert_msg(&e, path);
    assert_msg(&e, "corrupt");
    dg_store_opts ro = {.read_only = 1};
    cr_assert_eq(open_fails(path, &ro, &e), DG_EIO);
    assert_msg(&e, "corrupt");
}

Test(store, read_only_open_of_a_missing_file_names_it)
{
    dg_store_opts ro = {.read_only = 1};
    dg_error e;
    cr_assert_eq(open_fails(path, &ro, &e), DG_EIO);
    assert_msg(&e, path);
    assert_msg(&e, "does not exist");
    cr_assert_eq(access(path, F_OK), -1, "a read-only open must not create the file");
}

Test(store, missing_directory_is_named)
{
    char p[200];
    snprintf(p, sizeof p, "%s/no/such/dir/drifts.db", dir);
    dg_error e;
    cr_assert_eq(open_fails(p, NULL, &e), DG_EIO);
    assert_msg(&e, "does not exist");
}

Test(store, read_only_handle_reads_but_refuses_writes)
{
    char fp[DG_FP_LEN + 1];
    fp_of(1, fp);
    dg_drift d = mk(fp, "pets", "team-a", 2, 1000, 2000);
    dg_store *w = open_ok(path, NULL);
    write_ok(w, &d, 1);
    dg_store_opts ro = {.read_only = 1};
    dg_store *r = open_ok(path, &ro);
    cr_assert_eq(dg_store_schema_version(r), dg_store_schema_version(w));
    cr_assert_eq(total(r), 2);
    dg_error e = {0};
    cr_assert_eq(dg_store_write(r, &d, 1, &e), DG_EINVAL);
    assert_msg(&e, "read-only");
    const char *fps[] = {fp};
    cr_assert_neq(dg_store_defer(r, fps, 1, 5, &e), 0);
    cr_assert_neq(dg_store_save_report(r, "api:pets", 1, fps, 1, &e), 0);
    cr_assert_eq(total(w), 2);
    dg_store_close(r);
    dg_store_close(w);
    dg_drift_clear(&d);
}

/* Root ignores file permissions, so the permission tests open the store in
 * a child process running as nobody. The child reports back through a
 * pipe; Criterion's assertions stay in the test process. */
typedef struct {
    int rc;
    char msg[512];
} child_result;

static child_result open_as_nobody(const char *file, int read_only)
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        child_result r = {0};
        close(pfd[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            r.rc = 999;
            snprintf(r.msg, sizeof r.msg, "cannot drop privileges: %s", strerror(errno));
        } else {
            dg_store_opts o = {.read_only = read_only};
            dg_store *s = NULL;
            dg_error e = {0};
            r.rc = dg_store_open(file, &o, &s, &e);
            snprintf(r.msg, sizeof r.msg, "%s", e.msg);
            dg_store_close(s);
        }
        ssize_t w = write(pfd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(pfd[1]);
    child_result r;
    memset(&r, 0, sizeof r);
    ssize_t got = read(pfd[0], &r, sizeof r);
    close(pfd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert_eq(got, (ssize_t)sizeof r, "child reported nothing");
    cr_assert_neq(r.rc, 999, "%s", r.msg);
    cr_log_info("as nobody, %s%s: %s", read_only ? "read-only " : "", file, r.msg);
    return r;
}

Test(store, read_only_file_is_refused_with_a_clear_message)
{
    dg_store_close(open_ok(path, NULL));
    cr_assert_eq(chmod(dir, 0777), 0);
    cr_assert_eq(chmod(path, 0444), 0);
    child_result r = open_as_nobody(path, 0);
    cr_assert_eq(r.rc, DG_EIO, "%d %s", r.rc, r.msg);
    cr_assert_not_null(strstr(r.msg, path), "%s", r.msg);
    cr_assert_not_null(strstr(r.msg, "read-only"), "%s", r.msg);
    /* reading is fine */
    r = open_as_nobody(path, 1);
    cr_assert_eq(r.rc, 0, "%s", r.msg);
}

Test(store, read_only_directory_is_refused_with_a_clear_message)
{
    dg_store_close(open_ok(path, NULL));
    cr_assert_eq(chmod(dir, 0755), 0);
    cr_assert_eq(chmod(path, 0666), 0);
    child_result r = open_as_nobody(path, 0);
    cr_assert_eq(r.rc, DG_EIO, "%d %s", r.rc, r.msg);
    cr_assert_not_null(strstr(r.msg, path), "%s", r.msg);
    cr_assert_not_null(strstr(r.msg, "not writable"), "%s", r.msg);
    /* a new store in a directory nobody may write to */
    char p[200];
    snprintf(p, sizeof p, "%s/new.db", dir);
    r = open_as_nobody(p, 0);
    cr_assert_eq(r.rc, DG_EIO, "%d %s", r.rc, r.msg);
    cr_assert_not_null(strstr(r.msg, "not writable"), "%s", r.msg);
    /* reading needs PATH-shm, which nobody can create here */
    r = open_as_nobody(path, 1);
    cr_assert_eq(r.rc, DG_EIO, "%d %s", r.rc, r.msg);
    cr_assert_not_null(strstr(r.msg, "-shm does not exist"), "%s", r.msg);
    /* while a writer has the store open, it can */
    dg_store *w = open_ok(path, NULL);
    r = open_as_nobody(path, 1);
    cr_assert_eq(r.rc, 0, "%d %s", r.rc, r.msg);
    dg_store_close(w);
}

Test(store, locked_store_times_out_with_a_clear_message)
{
    dg_store_opts o = {.busy_timeout_ms = 100};
    dg_store *s = open_ok(path, &o);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    char fp[DG_FP_LEN + 1];
    fp_of(1, fp);
    dg_drift d = mk(fp, "pets", "team-a", 2, 1000, 2000);
    dg_error e = {0};
    cr_assert_eq(dg_store_write(s, &d, 1, &e), DG_EIO);
    assert_msg(&e, "locked");
    cr_assert_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    write_ok(s, &d, 1); /* the same delta, once the lock is gone */
    cr_assert_eq(total(s), 2);
    dg_store_close(s);
    dg_drift_clear(&d);
}

/* ---- disk full ---- */

static dg_drift *batch(unsigned from, unsigned n, uint64_t count, int64_t last)
{
    dg_drift *d = calloc(n, sizeof *d);
    cr_assert_not_null(d);
    for (unsigned i = 0; i < n; i++) {
        char fp[DG_FP_LEN + 1];
        fp_of(from + i, fp);
        d[i] = mk(fp, i % 2 ? "pets" : "shop", "team-a", count, last - 1000, last);
    }
    return d;
}

Test(store, max_bytes_fails_like_a_full_disk_and_writes_nothing)
{
    dg_store_opts o = {.max_bytes = 256 * 1024};
    dg_store *s = open_ok(path, &o);
    dg_drift *small = batch(0, 10, 1, 5 * DAY_MS);
    write_ok(s, small, 10);
    /* grows the store far beyond 256 KiB; also touches the 10 drifts above */
    dg_drift *big = batch(0, 4000, 2, 6 * DAY_MS);
    dg_error e = {0};
    cr_assert_eq(dg_store_write(s, big, 4000, &e), DG_EIO);
    assert_msg(&e, "disk full (store ");
    assert_msg(&e, path);
    /* nothing of the failed write is visible: the previous state */
    dg_drift *rows = NULL;
    size_t n = 0;
    query_ok(s, NULL, &rows, &n);
    cr_assert_eq(n, 10);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rows[i].count, 1);
        cr_assert_eq(rows[i].last_seen_ms, 5 * DAY_MS);
        cr_assert_eq(rows[i].n_days, 1);
    }
    dg_drifts_free(rows, n);
    /* the handle still works for what fits (drifts 100..104, inside big) */
    dg_drift *more = batch(100, 5, 1, 5 * DAY_MS);
    write_ok(s, more, 5);
    dg_store_close(s);

    /* with the limit raised, the same deltas go in */
    s = open_ok(path, NULL);
    write_ok(s, big, 4000);
    query_ok(s, NULL, &rows, &n);
    cr_assert_eq(n, 4000);
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += rows[i].count;
    cr_assert_eq(t, 10 * 1 + 5 * 1 + 4000 * 2);
    dg_drifts_free(rows, n);
    dg_store_close(s);
    dg_drifts_free(small, 10);
    dg_drifts_free(big, 4000);
    dg_drifts_free(more, 5);
}

/* ---- writes ---- */

static dg_drift get_one(dg_store *s, const char *fp)
{
    dg_store_filter f = {.fingerprint = fp};
    dg_drift *rows = NULL;
    size_t n = 0;
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 1, "drift %s: %zu rows", fp, n);
    dg_drift d = rows[0];
    free(rows);
    return d;
}

Test(store, upsert_adds_counts_and_merges_times_and_days)
{
    dg_store *s = open_ok(path, NULL);
    char fp[DG_FP_LEN + 1];
    fp_of(42, fp);
    int64_t t0 = 100 * DAY_MS;
    dg_drift a = mk(fp, "pets", "team-a", 3, t0 + 1000, t0 + 2000);
    set_str(&a.message, "m1");
    write_ok(s, &a, 1);

    /* earlier first, later last, a second day: context replaced */
    dg_drift b = mk(fp, "pets", "team-b", 2, t0 + 500, t0 + DAY_MS + 5);
    set_str(&b.message, "m2");
    set_str(&b.example, "{\"type\":\"null\"}");
    b.days = realloc(b.days, 2 * sizeof *b.days);
    cr_assert_not_null(b.days);
    b.days[0] = (dg_day_count){dg_day_of_ms(t0 + DAY_MS), 1};
    b.days[1] = (dg_day_count){dg_day_of_ms(t0), 1};
    b.n_days = 2;
    write_ok(s, &b, 1);
    dg_drift r = get_one(s, fp);
    cr_assert_eq(r.count, 5);
    cr_assert_eq(r.first_seen_ms, t0 + 500);
    cr_assert_eq(r.last_seen_ms, t0 + DAY_MS + 5);
    cr_assert_str_eq(r.message, "m2");
    cr_assert_str_eq(r.owner, "team-b");
    cr_assert_str_eq(r.example, "{\"type\":\"null\"}");
    cr_assert_eq(r.n_days, 2);
    cr_assert_eq(r.days[0].day, dg_day_of_ms(t0));
    cr_assert_eq(r.days[0].count, 4);
    cr_assert_eq(r.days[1].day, dg_day_of_ms(t0) + 1);
    cr_assert_eq(r.days[1].count, 1);
    dg_drift_clear(&r);

    /* an older delta adds counts but leaves the context alone */
    dg_drift c = mk(fp, "pets", "team-c", 1, t0 + 100, t0 + 1500);
    set_str(&c.message, "m3");
    write_ok(s, &c, 1);
    r = get_one(s, fp);
    cr_assert_eq(r.count, 6);
    cr_assert_eq(r.first_seen_ms, t0 + 100);
    cr_assert_eq(r.last_seen_ms, t0 + DAY_MS + 5);
    cr_assert_str_eq(r.message, "m2");
    cr_assert_str_eq(r.owner, "team-b");
    cr_assert_eq(r.days[0].count, 5);
    dg_drift_clear(&r);

    /* a delta last seen at the same time is not older: it replaces */
    dg_drift d = mk(fp, "pets", "team-d", 1, t0 + DAY_MS, t0 + DAY_MS + 5);
    set_str(&d.message, "m4");
    set_str(&d.spec_hash, "h2");
    write_ok(s, &d, 1);
    r = get_one(s, fp);
    cr_assert_eq(r.count, 7);
    cr_assert_str_eq(r.message, "m4");
    cr_assert_str_eq(r.spec_hash, "h2");
    cr_assert_str_eq(r.owner, "team-d");
    /* identity untouched, everything round-trips */
    cr_assert_str_eq(r.api, "pets");
    cr_assert_str_eq(r.operation, "getPet");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.pointer, "/id");
    cr_assert_str_eq(r.kind, "type");
    cr_assert_str_eq(r.observed_type, "string");
    cr_assert_str_eq(r.method, "GET");
    cr_assert_str_eq(r.path_template, "/pets/{id}");
    cr_assert_str_eq(r.media_type, "application/json");
    cr_assert_str_eq(r.severity, "error");
    cr_assert_str_eq(r.schema_loc, a.schema_loc);
    cr_assert_str_eq(r.schema_pointer, a.schema_pointer);
    cr_assert_eq(r.days[1].count, 2);
    dg_drift_clear(&r);

    dg_drift_clear(&a);
    dg_drift_clear(&b);
    dg_drift_clear(&c);
    dg_drift_clear(&d);
    dg_store_close(s);
}

Test(store, same_fingerprint_twice_in_one_write_merges)
{
    dg_store *s = open_ok(path, NULL);
    char fp[DG_FP_LEN + 1];
    fp_of(7, fp);
    dg_drift d[2] = {mk(fp, "pets", "t", 2, 1000, 2000), mk(fp, "pets", "t", 3, 500, 1500)};
    write_ok(s, d, 2);
    dg_drift r = get_one(s, fp);
    cr_assert_eq(r.count, 5);
    cr_assert_eq(r.first_seen_ms, 500);
    cr_assert_eq(r.last_seen_ms, 2000);
    cr_assert_eq(r.n_days, 1);
    cr_assert_eq(r.days[0].count, 5);
    dg_drift_clear(&r);
    dg_drifts_free(NULL, 0);
    dg_drift_clear(&d[0]);
    dg_drift_clear(&d[1]);
    dg_store_close(s);
}

Test(store, null_context_fields_round_trip)
{
    dg_store *s = open_ok(path, NULL);
    dg_drift d;
    memset(&d, 0, sizeof d);
    snprintf(d.fingerprint, sizeof d.fingerprint, "00000000000000aa");
    d.api = xstrdup("pets");
    d.operation = xstrdup("");
    d.pointer = xstrdup("");
    d.schema_loc = xstrdup("");
    d.kind = xstrdup("undocumented_status");
    d.observed_type = xstrdup("");
    d.count = 1;
    d.first_seen_ms = d.last_seen_ms = 10;
    write_ok(s, &d, 1);
    dg_drift r = get_one(s, d.fingerprint);
    cr_assert_str_eq(r.kind, "undocumented_status");
    cr_assert_str_eq(r.operation, "");
    cr_assert_null(r.method);
    cr_assert_null(r.example);
    cr_assert_null(r.owner);
    cr_assert_eq(r.n_days, 0);
    cr_assert_null(r.days);
    dg_drift_clear(&r);
    dg_drift_clear(&d);
    dg_store_close(s);
}

Test(store, invalid_delta_writes_nothing)
{
    dg_store *s = open_ok(path, NULL);
    dg_drift *d = batch(0, 10, 1, 5 * DAY_MS);
    d[7].fingerprint[0] = '\0';
    dg_error e = {0};
    cr_assert_eq(dg_store_write(s, d, 10, &e), DG_EINVAL);
    assert_msg(&e, "no fingerprint");
    fp_of(7, d[7].fingerprint);
    d[9].count = UINT64_MAX;
    cr_assert_eq(dg_store_write(s, d, 10, &e), DG_EINVAL);
    cr_assert_eq(total(s), 0);
    cr_assert_eq(dg_store_write(s, d, 0, &e), 0); /* nothing to do */
    dg_drifts_free(d, 10);
    dg_store_close(s);
}

Test(store, retention_drops_old_days_and_drifts_with_their_explanations)
{
    dg_store *s = open_ok(path, NULL);
    char f1[DG_FP_LEN + 1], f2[DG_FP_LEN + 1], f3[DG_FP_LEN + 1];
    fp_of(1, f1);
    fp_of(2, f2);
    fp_of(3, f3);
    dg_drift d[3] = {mk(f1, "pets", "t", 1, 5 * DAY_MS, 10 * DAY_MS + 5),
                     mk(f2, "pets", "t", 1, 5 * DAY_MS, 20 * DAY_MS),
                     mk(f3, "pets", "t", 1, 5 * DAY_MS, 30 * DAY_MS)};
    /* each drift also seen on day 5 */
    for (int i = 0; i < 3; i++) {
        d[i].days = realloc(d[i].days, 2 * sizeof *d[i].days);
        cr_assert_not_null(d[i].days);
        d[i].days[1] = (dg_day_count){5, 1};
        d[i].n_days = 2;
        d[i].count = 2;
    }
    write_ok(s, d, 3);
    dg_explanation x = {0};
    snprintf(x.fingerprint, sizeof x.fingerprint, "%s", f1);
    x.spec_hash = "h1";
    x.source = "heuristic";
    dg_error e = {0};
    cr_assert_eq(dg_store_put_explanation(s, &x, &e), 0, "%s", e.msg);
    const char *fps[] = {f1};
    cr_assert_eq(dg_store_defer(s, fps, 1, 99, &e), 0, "%s", e.msg);
    cr_assert_eq(dg_store_save_report(s, "api:pets", 1 * DAY_MS, fps, 1, &e), 0);
    cr_assert_eq(dg_store_save_report(s, "api:pets", 2 * DAY_MS, fps, 1, &e), 0);

    uint64_t deleted = 99;
    cr_assert_eq(dg_store_retain(s, 20, &deleted, &e), 0, "%s", e.msg);
    cr_assert_eq(deleted, 1);
    dg_drift *rows = NULL;
    size_t n = 0;
    query_ok(s, NULL, &rows, &n);
    cr_assert_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_neq(rows[i].fingerprint, f1);
        cr_assert_eq(rows[i].count, 2, "totals stay totals");
        cr_assert_eq(rows[i].n_days, 1, "day 5 dropped");
        cr_assert_geq(rows[i].days[0].day, 20);
    }
    dg_drifts_free(rows, n);
    dg_explanation got = {0};
    cr_assert_eq(dg_store_get_explanation(s, f1, "h1", &got, &e), DG_ENOTFOUND);
    unsigned att = 9;
    cr_assert_eq(dg_store_attempts(s, f1, &att, &e), 0);
    cr_assert_eq(att, 0);
    /* the latest report of the scope survives; older records go */
    int64_t at = 0;
    char **list = NULL;
    cr_assert_eq(dg_store_last_report(s, "api:pets", &at, &list, &n, &e), 0);
    cr_assert_eq(at, 2 * DAY_MS);
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    dg_store_close(s);
    cr_assert_eq(raw_int(path, "SELECT count(*) FROM reports"), 1);
    cr_assert_eq(raw_int(path, "SELECT count(*) FROM daily_counts WHERE fingerprint NOT IN "
                               "(SELECT fingerprint FROM drifts)"),
                 0);
    s = open_ok(path, NULL);
    cr_assert_eq(dg_store_retain(s, 20, NULL, &e), 0); /* idempotent, NULL allowed */
    dg_store_close(s);
    for (int i = 0; i < 3; i++)
        dg_drift_clear(&d[i]);
}

/* ---- queries ---- */

Test(store, query_filters_and_order)
{
    dg_store *s = open_ok(path, NULL);
    /* fp, api, owner, count, last seen */
    struct { unsigned id; const char *api, *owner; uint64_t count; int64_t last; } spec[] = {
        {1, "pets", "team-a", 5, 10 * DAY_MS}, {2, "shop", "team-b", 9, 11 * DAY_MS},
        {3, "pets", "team-b", 5, 12 * DAY_MS}, {4, "maps", "team-a", 1, 13 * DAY_MS},
        {5, "pets", "team-a", 20, 9 * DAY_MS},
    };
    enum { N = sizeof spec / sizeof spec[0] };
    dg_drift d[N];
    for (int i = 0; i < N; i++) {
        char fp[DG_FP_LEN + 1];
        fp_of(spec[i].id, fp);
        d[i] = mk(fp, spec[i].api, spec[i].owner, spec[i].count, spec[i].last - 10,
                  spec[i].last);
    }
    write_ok(s, d, N);

    dg_drift *rows = NULL;
    size_t n = 0;
    query_ok(s, NULL, &rows, &n);
    unsigned want_all[] = {5, 2, 1, 3, 4}; /* count desc, ties by fingerprint */
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        char fp[DG_FP_LEN + 1];
        fp_of(want_all[i], fp);
        cr_assert_str_eq(rows[i].fingerprint, fp, "row %zu", i);
    }
    dg_drifts_free(rows, n);

    dg_store_filter f = {.api = "pets"};
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 3);
    dg_drifts_free(rows, n);

    f = (dg_store_filter){.owner = "team-b"};
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 2);
    dg_drifts_free(rows, n);

    f = (dg_store_filter){.since_ms = 11 * DAY_MS};
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 3, "last seen at or after");
    dg_drifts_free(rows, n);

    f = (dg_store_filter){.api = "pets", .owner = "team-a", .since_ms = 10 * DAY_MS};
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 1);
    char fp1[DG_FP_LEN + 1];
    fp_of(1, fp1);
    cr_assert_str_eq(rows[0].fingerprint, fp1);
    dg_drifts_free(rows, n);

    f = (dg_store_filter){.api = "shop", .fingerprint = fp1};
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 0);
    cr_assert_null(rows);

    f = (dg_store_filter){.api = "nope"};
    query_ok(s, &f, &rows, &n);
    cr_assert_eq(n, 0);

    char **apis = NULL;
    dg_error e = {0};
    cr_assert_eq(dg_store_apis(s, &apis, &n, &e), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(apis[0], "maps");
    cr_assert_str_eq(apis[1], "pets");
    cr_assert_str_eq(apis[2], "shop");
    for (size_t i = 0; i < n; i++)
        free(apis[i]);
    free(apis);
    for (int i = 0; i < N; i++)
        dg_drift_clear(&d[i]);
    dg_store_close(s);
}

/* ---- explanations ---- */

static dg_explanation mk_expl(const char *fp, const char *spec_hash, const char *source,
                           const char *cause)
{
    dg_explanation x;
    memset(&x, 0, sizeof x);
    snprintf(x.fingerprint, sizeof x.fingerprint, "%s", fp);
    x.spec_hash = (char *)spec_hash;
    x.classification = (char *)"provider_change";
    x.cause = (char *)cause;
    x.evidence = (char *)"the field is a string in 40 responses";
    x.severity = (char *)"medium";
    x.confidence = 0.75;
    x.patch = (char *)"[{\"op\":\"replace\",\"path\":\"/x/type\",\"value\":\"string\"}]";
    x.source = (char *)source;
    x.backend = strcmp(source, "model") == 0 ? (char *)"ollama" : NULL;
    x.model = strcmp(source, "model") == 0 ? (char *)"gemma4:e4b" : NULL;
    x.created_ms = 123456789;
    return x;
}

static void put_ok(dg_store *s, const dg_explanation *x)
{
    dg_error e = {0};
    int rc = dg_store_put_explanation(s, x, &e);
    cr_assert_eq(rc, 0, "put: %d %s", rc, e.msg);
}

static void expect_cause(dg_store *s, const char *fp, const char *sh, const char *source,
                         const char *cause)
{
    dg_explanation got;
    dg_error e = {0};
    int rc = dg_store_get_explanation(s, fp, sh, &got, &e);
    cr_assert_eq(rc, 0, "get: %d %s", rc, e.msg);
    cr_assert_str_eq(got.source, source);
    cr_assert_str_eq(got.cause, cause);
    dg_explanation_clear(&got);
}

Test(store, explanation_replacement_rules)
{
    dg_store *s = open_ok(path, NULL);
    char fp[DG_FP_LEN + 1];
    fp_of(1, fp);
    dg_drift d = mk(fp, "pets", "t", 1, 10, 20);
    write_ok(s, &d, 1);

    dg_explanation h1 = mk_expl(fp, "h1", "heuristic", "heuristic one");
    dg_explanation h2 = mk_expl(fp, "h1", "heuristic", "heuristic two");
    dg_explanation m1 = mk_expl(fp, "h1", "model", "model one");
    dg_explanation m2 = mk_expl(fp, "h1", "model", "model two");
    put_ok(s, &h1);
    expect_cause(s, fp, "h1", "heuristic", "heuristic one");
    put_ok(s, &h2);
    expect_cause(s, fp, "h1", "heuristic", "heuristic two");
    put_ok(s, &m1);
    expect_cause(s, fp, "h1", "model", "model one");
    put_ok(s, &h1); /* returns 0 and changes nothing */
    expect_cause(s, fp, "h1", "model", "model one");
    put_ok(s, &m2);
    expect_cause(s, fp, "h1", "model", "model two");

    /* another spec hash is another explanation */
    dg_explanation other = mk_expl(fp, "h2", "heuristic", "for h2");
    put_ok(s, &other);
    expect_cause(s, fp, "h2", "heuristic", "for h2");
    expect_cause(s, fp, "h1", "model", "model two");

    /* every field round-trips */
    dg_explanation got;
    dg_error e = {0};
    cr_assert_eq(dg_store_get_explanation(s, fp, "h1", &got, &e), 0);
    cr_assert_str_eq(got.fingerprint, fp);
    cr_assert_str_eq(got.spec_hash, "h1");
    cr_assert_str_eq(got.classification, m2.classification);
    cr_assert_str_eq(got.evidence, m2.evidence);
    cr_assert_str_eq(got.severity, "medium");
    cr_assert_float_eq(got.confidence, 0.75, 1e-12);
    cr_assert_str_eq(got.patch, m2.patch);
    cr_assert_str_eq(got.backend, "ollama");
    cr_assert_str_eq(got.model, "gemma4:e4b");
    cr_assert_eq(got.created_ms, 123456789);
    dg_explanation_clear(&got);
    cr_assert_eq(dg_store_get_explanation(s, fp, "h2", &got, &e), 0);
    cr_assert_null(got.backend);
    dg_explanation_clear(&got);

    cr_assert_eq(dg_store_get_explanation(s, fp, "h9", &got, &e), DG_ENOTFOUND);
    cr_assert_null(got.source);
    char unknown[DG_FP_LEN + 1];
    fp_of(999, unknown);
    dg_explanation lost = mk_expl(unknown, "h1", "model", "no such drift");
    cr_assert_eq(dg_store_put_explanation(s, &lost, &e), DG_ENOTFOUND);
    assert_msg(&e, unknown);
    dg_drift_clear(&d);
    dg_store_close(s);
}

/* ---- the explain queue ---- */

static void expect_pending(dg_store *s, const char *api, int64_t now, size_t max,
                           const unsigned *ids, size_t nids)
{
    dg_drift *rows = NULL;
    size_t n = 0;
    dg_error e = {0};
    int rc = dg_store_pending(s, api, now, max, &rows, &n, &e);
    cr_assert_eq(rc, 0, "pending: %s", e.msg);
    cr_assert_eq(n, nids, "pending(%s, %lld, %zu): %zu rows, want %zu", api ? api : "NULL",
                 (long long)now, max, n, nids);
    for (size_t i = 0; i < n; i++) {
        char fp[DG_FP_LEN + 1];
        fp_of(ids[i], fp);
        cr_assert_str_eq(rows[i].fingerprint, fp, "pending row %zu", i);
        cr_assert_eq(rows[i].n_days, 1);
    }
    dg_drifts_free(rows, n);
}

Test(store, pending_defer_and_attempts)
{
    dg_store *s = open_ok(path, NULL);
    char f1[DG_FP_LEN + 1], f2[DG_FP_LEN + 1], f3[DG_FP_LEN + 1];
    fp_of(1, f1);
    fp_of(2, f2);
    fp_of(3, f3);
    /* written out of first-seen order */
    dg_drift d[3] = {mk(f3, "pets", "t", 1, 300, 400), mk(f1, "pets", "t", 1, 100, 400),
                     mk(f2, "shop", "t", 1, 200, 400)};
    write_ok(s, d, 3);
    expect_pending(s, NULL, 1000, 10, (unsigned[]){1, 2, 3}, 3);
    expect_pending(s, NULL, 1000, 2, (unsigned[]){1, 2}, 2);
    expect_pending(s, "pets", 1000, 10, (unsigned[]){1, 3}, 2);
    expect_pending(s, "maps", 1000, 10, NULL, 0);
    expect_pending(s, NULL, 1000, 0, NULL, 0);

    /* a heuristic explanation does not take a drift off the queue, a
     * model's for its current spec hash does */
    dg_explanation h = mk_expl(f1, "h1", "heuristic", "h");
    put_ok(s, &h);
    expect_pending(s, NULL, 1000, 10, (unsigned[]){1, 2, 3}, 3);
    dg_explanation m_old = mk_expl(f1, "h0", "model", "for an older spec");
    put_ok(s, &m_old);
    expect_pending(s, NULL, 1000, 10, (unsigned[]){1, 2, 3}, 3);
    dg_explanation m = mk_expl(f1, "h1", "model", "m");
    put_ok(s, &m);
    expect_pending(s, NULL, 1000, 10, (unsigned[]){2, 3}, 2);

    /* deferral: off the queue until its time, attempts counted */
    unsigned att = 99;
    dg_error e = {0};
    cr_assert_eq(dg_store_attempts(s, f2, &att, &e), 0);
    cr_assert_eq(att, 0);
    const char *fps[] = {f2, f3};
    cr_assert_eq(dg_store_defer(s, fps, 2, 5000, &e), 0, "%s", e.msg);
    expect_pending(s, NULL, 4999, 10, NULL, 0);
    expect_pending(s, NULL, 5000, 10, (unsigned[]){2, 3}, 2);
    cr_assert_eq(dg_store_defer(s, fps, 1, 9000, &e), 0);
    cr_assert_eq(dg_store_attempts(s, f2, &att, &e), 0);
    cr_assert_eq(att, 2);
    cr_assert_eq(dg_store_attempts(s, f3, &att, &e), 0);
    cr_assert_eq(att, 1);
    expect_pending(s, NULL, 6000, 10, (unsigned[]){3}, 1);
    char unknown[DG_FP_LEN + 1];
    fp_of(77, unknown);
    const char *unk[] = {unknown};
    cr_assert_eq(dg_store_defer(s, unk, 1, 9000, &e), 0, "unknown fingerprints are skipped");
    cr_assert_eq(dg_store_attempts(s, unknown, &att, &e), 0);
    cr_assert_eq(att, 0);

    /* a model explanation clears the drift's failures */
    dg_explanation m2 = mk_expl(f2, "h1", "model", "m2");
    put_ok(s, &m2);
    cr_assert_eq(dg_store_attempts(s, f2, &att, &e), 0);
    cr_assert_eq(att, 0);

    /* the spec changed: the drift is pending again */
    dg_drift newer = mk(f1, "pets", "t", 1, 100, 500);
    set_str(&newer.spec_hash, "h2");
    write_ok(s, &newer, 1);
    expect_pending(s, NULL, 10000, 10, (unsigned[]){1, 3}, 2);

    dg_drift_clear(&newer);
    for (int i = 0; i < 3; i++)
        dg_drift_clear(&d[i]);
    dg_store_close(s);
}

/* ---- reports ---- */

Test(store, reports_round_trip)
{
    dg_store *s = open_ok(path, NULL);
    int64_t at = 0;
    char **list = NULL;
    size_t n = 7;
    dg_error e = {0};
    cr_assert_eq(dg_store_last_report(s, "api:pets", &at, &list, &n, &e), DG_ENOTFOUND);
    cr_assert_eq(n, 0);
    cr_assert_null(list);

    const char *first[] = {"00000000000000c3", "00000000000000a1", "00000000000000b2"};
    const char *second[] = {"00000000000000d4"};
    cr_assert_eq(dg_store_save_report(s, "api:pets", 1000, first, 3, &e), 0, "%s", e.msg);
    cr_assert_eq(dg_store_save_report(s, "owner:team-a", 1500, NULL, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(dg_store_save_report(s, "api:pets", 2000, second, 1, &e), 0, "%s", e.msg);

    cr_assert_eq(dg_store_last_report(s, "api:pets", &at, &list, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(at, 2000);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0], second[0]);
    free(list[0]);
    free(list);

    cr_assert_eq(dg_store_last_report(s, "owner:team-a", &at, &list, &n, &e), 0);
    cr_assert_eq(at, 1500);
    cr_assert_eq(n, 0);
    free(list);
    dg_store_close(s);

    /* order kept, across a reopen */
    s = open_ok(path, NULL);
    cr_assert_eq(dg_store_save_report(s, "api:shop", 3000, first, 3, &e), 0);
    cr_assert_eq(dg_store_last_report(s, "api:shop", &at, &list, &n, &e), 0);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(list[i], first[i]);
        free(list[i]);
    }
    free(list);
    dg_store_close(s);
}

/* ---- two handles, timing ---- */

Test(store, two_handles_on_one_file_in_wal_mode)
{
    dg_store *w = open_ok(path, NULL);
    dg_store *r = open_ok(path, NULL);
    dg_store_opts ro = {.read_only = 1};
    dg_store *rr = open_ok(path, &ro);
    for (unsigned round = 0; round < 20; round++) {
        dg_drift *d = batch(round * 10, 50, 1, (10 + round) * DAY_MS);
        write_ok(round % 2 ? r : w, d, 50);
        dg_drifts_free(d, 50);
        uint64_t want = 0;
        for (unsigned k = 0; k <= round; k++)
            want += 50;
        cr_assert_eq(total(r), want);
        cr_assert_eq(total(w), want);
        cr_assert_eq(total(rr), want);
    }
    dg_store_close(rr);
    dg_store_close(r);
    dg_store_close(w);
}

Test(store, ten_thousand_drifts_in_one_write)
{
    enum { N = 10000 };
    dg_drift *d = batch(0, N, 3, 50 * DAY_MS);
    dg_store *s = open_ok(path, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    write_ok(s, d, N);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "store: 10,000 new drifts in one write: %.1f ms\n", ms);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    write_ok(s, d, N);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "store: 10,000 drift updates in one write: %.1f ms\n", ms);
    cr_assert_eq(total(s), (uint64_t)N * 6);
    dg_drifts_free(d, N);
    dg_store_close(s);
}
