/* tests/unit/test_log.c: the JSON-lines logger (common/log.h). Criterion runs
 * each test in its own process, so the logger's process-wide state starts
 * fresh every time. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/dg_log_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static char *path_in_dir(const char *name)
{
    static char p[4][128];
    static int k;
    char *out = p[k++ % 4];
    snprintf(out, 128, "%s/%s", dir, name);
    return out;
}

/* The whole file, NUL-terminated ("" when missing). Caller frees. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    dg_buf b = DG_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert_eq(dg_buf_append(&b, chunk, n), 0);
    fclose(f);
    char *s = strdup(b.data ? b.data : "");
    dg_buf_free(&b);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Parses every line of s as a JSON object; returns them in an array. */
static json_t *parse_lines(const char *s)
{
    json_t *arr = json_array();
    const char *p = s;
    while (*p) {
        const char *nl = strchr(p, '\n');
        cr_assert_not_null(nl, "last line does not end with a newline: %s", p);
        json_error_t e;
        json_t *o = json_loadb(p, (size_t)(nl - p), 0, &e);
        cr_assert_not_null(o, "invalid JSON line (%s): %.*s", e.text, (int)(nl - p), p);
        cr_assert(json_is_object(o));
        json_array_append_new(arr, o);
        p = nl + 1;
    }
    return arr;
}

static int ts_well_formed(const char *ts)
{
    /* 2026-11-25T22:10:00.123Z */
    const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(ts) != strlen(pat))
        return 0;
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? !(ts[i] >= '0' && ts[i] <= '9') : ts[i] != pat[i])
            return 0;
    }
    return 1;
}

/* Waits until path holds at least n bytes (the writer is asynchronous). */
static void wait_for_size(const char *path, off_t n)
{
    for (int i = 0; i < 5000; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size >= n)
            return;
        usleep(1000);
    }
    cr_assert_fail("%s never reached %lld bytes", path, (long long)n);
}

static const char *ts_of(dg_buf *b, int64_t ns)
{
    dg_buf_reset(b);
    cr_assert_eq(dg_log_format_ts(b, ns), 0);
    return b->data;
}

Test(log, ts_is_rfc3339_utc_with_milliseconds)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_str_eq(ts_of(&b, 0), "1970-01-01T00:00:00.000Z");
    cr_assert_str_eq(ts_of(&b, 1795644600123456789LL), "2026-11-25T22:10:00.123Z");
    cr_assert_str_eq(ts_of(&b, 951868799999999999LL), "2000-02-29T23:59:59.999Z");
    /* Before the epoch, milliseconds still count forwards within the second. */
    cr_assert_str_eq(ts_of(&b, -1), "1969-12-31T23:59:59.999Z");
    dg_buf_free(&b);
}

Test(log, level_names_round_trip)
{
    for (int l = DG_LOG_DEBUG; l <= DG_LOG_ERROR; l++)
        cr_assert_eq(dg_log_level_parse(dg_log_level_name((dg_log_level)l)), l);
    cr_assert_str_eq(dg_log_level_name(DG_LOG_WARN), "warn");
    cr_assert_eq(dg_log_level_parse("warning"), -1);
    cr_assert_eq(dg_log_level_parse(""), -1);
    cr_assert_eq(dg_log_level_parse(NULL), -1);
}

Test(log, lines_are_valid_json_with_ts_level_msg_and_fields)
{
    make_dir();
    const char *path = path_in_dir("a.log");
    char err[256] = "";
    cr_assert_eq(dg_log_start(path, DG_LOG_DEBUG, 0, err, sizeof err), 0, "%s", err);
    dg_log_fields(DG_LOG_WARN, "upstream said \"no\"\\ \n\t\x01 caf\xc3\xa9",
                  "\"api\":\"pets\",\"status\":502");
    dg_log_fields(DG_LOG_INFO, "no fields", NULL);
    dg_log_fields(DG_LOG_ERROR, "empty fields", "");
    /* A line break inside the fragment must not split the record. */
    dg_log_fields(DG_LOG_DEBUG, "multi-line fields", "\"a\":1,\n\"b\":[1,\r\n2]");
    dg_logf(DG_LOG_INFO, "formatted %d %s", 42, "x");
    dg_log_stop();

    char *s = slurp(path);
    cr_assert_eq(count_lines(s), 5, "%s", s);
    json_t *lines = parse_lines(s);
    json_t *o = json_array_get(lines, 0);
    cr_assert(ts_well_formed(json_string_value(json_object_get(o, "ts"))), "%s", s);
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "warn");
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")),
                     "upstream said \"no\"\\ \n\t\x01 caf\xc3\xa9");
    cr_assert_str_eq(json_string_value(json_object_get(o, "api")), "pets");
    cr_assert_eq(json_integer_value(json_object_get(o, "status")), 502);
    cr_assert_eq(json_object_size(o), 5);

    o = json_array_get(lines, 1);
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "info");
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "no fields");
    cr_assert_eq(json_object_size(o), 3);
    cr_assert_eq(json_object_size(json_array_get(lines, 2)), 3);
    o = json_array_get(lines, 3);
    cr_assert_eq(json_integer_value(json_object_get(o, "a")), 1);
    cr_assert_eq(json_array_size(json_object_get(o, "b")), 2);
    o = json_array_get(lines, 4);
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "formatted 42 x");
    /* Field order: ts, level, msg first. */
    cr_assert(strncmp(s, "{\"ts\":\"", 7) == 0);
    cr_assert_not_null(strstr(s, "\",\"level\":\"warn\",\"msg\":\""));
    cr_assert_eq(dg_log_dropped(), 0);
    json_decref(lines);
    free(s);
    remove_dir();
}

Test(log, long_formatted_messages_are_kept_whole)
{
    make_dir();
    const char *path = path_in_dir("long.log");
    cr_assert_eq(dg_log_start(path, DG_LOG_INFO, 0, NULL, 0), 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dg_logf(DG_LOG_INFO, "<%s>", big);
    dg_log_stop();
    char *s = slurp(path);
    json_t *lines = parse_lines(s);
    const char *msg = json_string_value(json_object_get(json_array_get(lines, 0), "msg"));
    cr_assert_eq(strlen(msg), sizeof big + 1);
    json_decref(lines);
    free(s);
    remove_dir();
}

Test(log, level_filtering)
{
    make_dir();
    const char *path = path_in_dir("lvl.log");
    cr_assert_eq(dg_log_start(path, DG_LOG_WARN, 0, NULL, 0), 0);
    cr_assert(!dg_log_enabled(DG_LOG_INFO));
    cr_assert(dg_log_enabled(DG_LOG_WARN));
    cr_assert(dg_log_enabled(DG_LOG_ERROR));
    dg_log_fields(DG_LOG_DEBUG, "d1", NULL);
    dg_log_fields(DG_LOG_INFO, "i1", NULL);
    dg_logf(DG_LOG_INFO, "i2 %d", 1);
    dg_log_fields(DG_LOG_WARN, "w1", NULL);
    dg_log_fields(DG_LOG_ERROR, "e1", NULL);
    dg_log_set_level(DG_LOG_DEBUG);
    cr_assert(dg_log_enabled(DG_LOG_DEBUG));
    dg_log_fields(DG_LOG_DEBUG, "d2", NULL);
    dg_log_set_level(DG_LOG_ERROR);
    dg_log_fields(DG_LOG_WARN, "w2", NULL);
    dg_log_stop();

    char *s = slurp(path);
    json_t *lines = parse_lines(s);
    const char *want[] = {"w1", "e1", "d2"};
    cr_assert_eq(json_array_size(lines), 3, "%s", s);
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, i), "msg")),
                         want[i]);
    /* Filtered lines are not drops. */
    cr_assert_eq(dg_log_dropped(), 0);
    json_decref(lines);
    free(s);
    remove_dir();
}

Test(log, full_queue_drops_and_counts_instead_of_blocking)
{
    make_dir();
    const char *path = path_in_dir("drop.log");
    /* With the writer paused nothing leaves the 300-byte queue, so exactly
     * the lines that fit are kept and every other one is a counted drop. */
    dg_log_test_pause(1);
    cr_assert_eq(dg_log_start(path, DG_LOG_INFO, 300, NULL, 0), 0);
    enum { N = 1000 };
    for (int i = 0; i < N; i++)
        dg_logf(DG_LOG_INFO, "line %d", i);
    /* Larger than the whole queue: dropped even when the queue is empty. */
    char big[400];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    uint64_t dropped = dg_log_dropped();
    cr_assert(dropped > 0 && dropped < N, "dropped %llu", (unsigned long long)dropped);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 0, "paused writer wrote something");

    dg_log_test_pause(0);
    dg_log_stop(); /* flushes what was queued */
    char *s = slurp(path);
    json_t *lines = parse_lines(s);
    size_t kept = json_array_size(lines);
    cr_assert(kept >= 1);
    cr_assert_eq(kept + dropped, N, "kept %zu + dropped %llu", kept,
                 (unsigned long long)dropped);
    /* The kept lines are the first ones, in order. */
    for (size_t i = 0; i < kept; i++) {
        char want[32];
        snprintf(want, sizeof want, "line %zu", i);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, i), "msg")),
                         want);
    }
    json_decref(lines);
    free(s);

    /* And a line bigger than the queue, with room otherwise. */
    const char *path2 = path_in_dir("drop2.log");
    cr_assert_eq(dg_log_start(path2, DG_LOG_INFO, 300, NULL, 0), 0);
    dg_log_fields(DG_LOG_INFO, big, NULL);
    dg_log_stop();
    cr_assert_eq(dg_log_dropped(), dropped + 1);
    remove_dir();
}

Test(log, reopen_after_rename_writes_new_lines_to_the_new_file)
{
    make_dir();
    umask(022);
    const char *path = path_in_dir("r.log");
    const char *rotated = path_in_dir("r.log.1");
    cr_assert_eq(dg_log_start(path, DG_LOG_INFO, 0, NULL, 0), 0);
    dg_log_fields(DG_LOG_INFO, "before", NULL);
    wait_for_size(path, 1);
    cr_assert_eq(rename(path, rotated), 0);
    dg_log_reopen();
    dg_log_fields(DG_LOG_INFO, "after", NULL);
    dg_log_stop();

    char *old = slurp(rotated), *cur = slurp(path);
    cr_assert(strstr(old, "\"before\"") && !strstr(old, "\"after\""), "old: %s", old);
    cr_assert(strstr(cur, "\"after\"") && !strstr(cur, "\"before\""), "new: %s", cur);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
    free(old);
    free(cur);
    remove_dir();
}

static void on_usr1(int sig)
{
    (void)sig;
    dg_log_reopen();
}

Test(log, reopen_from_a_signal_handler)
{
    make_dir();
    umask(022);
    const char *path = path_in_dir("s.log");
    const char *rotated = path_in_dir("s.log.1");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    cr_assert_eq(dg_log_start(path, DG_LOG_INFO, 0, NULL, 0), 0);
    dg_log_fields(DG_LOG_INFO, "before", NULL);
    wait_for_size(path, 1);
    cr_assert_eq(rename(path, rotated), 0);
    /* The writer thread blocks every signal, so the handler runs here. */
    cr_assert_eq(raise(SIGUSR1), 0);
    dg_log_fields(DG_LOG_INFO, "after", NULL);
    dg_log_stop();
    char *cur = slurp(path);
    cr_assert(strstr(cur, "\"after\"") != NULL, "new: %s", cur);
    free(cur);
    remove_dir();
}

/* Runs fn with fd 2 redirected to a file; returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
    char tmpl[] = "/tmp/dg_log_err_XXXXXX";
    int fd = mkstemp(tmpl);
    cr_assert(fd >= 0);
    int saved = dup(STDERR_FILENO);
    cr_assert(saved >= 0);
    cr_assert(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    cr_assert(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fd);
    char *s = slurp(tmpl);
    unlink(tmpl);
    return s;
}

static const char *sync_path;

static void log_around_start_stop(void)
{
    dg_log_fields(DG_LOG_WARN, "before start", NULL);
    cr_assert_eq(dg_log_start(sync_path, DG_LOG_INFO, 0, NULL, 0), 0);
    dg_log_fields(DG_LOG_WARN, "while running", NULL);
    dg_log_stop();
    dg_log_fields(DG_LOG_WARN, "after stop", NULL);
}

Test(log, synchronous_stderr_before_start_and_after_stop)
{
    make_dir();
    sync_path = path_in_dir("sync.log");
    char *err = capture_stderr(log_around_start_stop);
    char *file = slurp(sync_path);
    json_t *e = parse_lines(err), *f = parse_lines(file);
    cr_assert_eq(json_array_size(e), 2, "%s", err);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(e, 0), "msg")),
                     "before start");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(e, 1), "msg")),
                     "after stop");
    cr_assert_eq(json_array_size(f), 1, "%s", file);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(f, 0), "msg")),
                     "while running");
    json_decref(e);
    json_decref(f);
    free(err);
    free(file);
    remove_dir();
}

static void log_to_stderr_writer(void)
{
    cr_assert_eq(dg_log_start("-", DG_LOG_INFO, 0, NULL, 0), 0);
    dg_log_fields(DG_LOG_INFO, "via writer", "\"k\":true");
    dg_log_stop();
}

Test(log, dash_means_stderr_through_the_writer)
{
    char *err = capture_stderr(log_to_stderr_writer);
    json_t *e = parse_lines(err);
    cr_assert_eq(json_array_size(e), 1, "%s", err);
    cr_assert(json_is_true(json_object_get(json_array_get(e, 0), "k")));
    json_decref(e);
    free(err);
}

Test(log, start_reports_unopenable_file_and_double_start)
{
    char err[256] = "";
    cr_assert_eq(dg_log_start("/nonexistent-dir/x/y.log", DG_LOG_INFO, 0, err, sizeof err),
                 DG_EIO);
    cr_assert_not_null(strstr(err, "/nonexistent-dir/x/y.log"), "%s", err);
    make_dir();
    cr_assert_eq(dg_log_start(path_in_dir("d.log"), DG_LOG_INFO, 0, NULL, 0), 0);
    cr_assert_eq(dg_log_start(path_in_dir("d.log"), DG_LOG_INFO, 0, err, sizeof err), DG_EINVAL);
    dg_log_stop();
    dg_log_stop(); /* idempotent */
    /* Restartable. */
    cr_assert_eq(dg_log_start(path_in_dir("d.log"), DG_LOG_INFO, 0, NULL, 0), 0);
    dg_log_stop();
    remove_dir();
}

#define THREADS 4
#define PER_THREAD 2000

static void *log_many(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char fields[64];
        snprintf(fields, sizeof fields, "\"thread\":%d,\"i\":%d", id, i);
        dg_log_fields(DG_LOG_INFO, "concurrent line with some padding text", fields);
    }
    return NULL;
}

Test(log, concurrent_lines_never_interleave)
{
    make_dir();
    const char *path = path_in_dir("c.log");
    cr_assert_eq(dg_log_start(path, DG_LOG_INFO, 0, NULL, 0), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    dg_log_stop();
    char *s = slurp(path);
    json_t *lines = parse_lines(s);
    cr_assert_eq(json_array_size(lines) + dg_log_dropped(), THREADS * PER_THREAD);
    /* The queue (4 MiB) holds everything: nothing may be dropped. */
    cr_assert_eq(dg_log_dropped(), 0);
    int next[THREADS] = {0};
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *o = json_array_get(lines, i);
        int th = (int)json_integer_value(json_object_get(o, "thread"));
        cr_assert(th >= 0 && th < THREADS);
        /* Each thread's lines stay in its order. */
        cr_assert_eq(json_integer_value(json_object_get(o, "i")), next[th]);
        next[th]++;
    }
    json_decref(lines);
    free(s);
    remove_dir();
}
