/* common/log.c: JSON-lines logger with a bounded byte queue and one writer
 * thread.
 *
 * Producers format their line on their own stack/heap, then hold the mutex
 * only to append it to the queue (or count a drop). The writer swaps the
 * whole queue out under the mutex and writes it with one write(2), so lines
 * from different threads never interleave and the lock is never held across
 * I/O.
 *
 * Wake-ups go through a self-pipe rather than a condition variable because
 * dg_log_reopen() runs in signal handlers, where only write(2) and lock-free
 * atomics are allowed. Producers write a byte only when the queue goes from
 * empty to non-empty, so there is at most one wake-up syscall per batch. The
 * pipe is created once and never closed: a signal arriving while the logger
 * stops must not write into a closed (or reused) descriptor. */
#include "common/log.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_QUEUE_BYTES (4u << 20)

/* A signal handler may only touch lock-free atomics. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "dg_log_reopen needs lock-free atomic int");

static _Atomic int g_level = DG_LOG_INFO;
static _Atomic uint64_t g_dropped;
static _Atomic int g_reopen;
static _Atomic int g_wake_fd = -1; /* write end of the self-pipe, or -1 */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by g_mu. */
static int g_pipe[2] = {-1, -1};
static int g_started;   /* a writer thread exists (start .. join) */
static int g_running;   /* lines go to the queue, not to stderr */
static int g_stopping;
static int g_paused;    /* test hook */
static dg_buf g_queue;
static size_t g_queue_max;
static pthread_t g_thread;
/* Owned by the writer thread between start and join. */
static int g_fd = -1;
static char *g_path;    /* NULL = stderr */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *dg_log_level_name(dg_log_level l)
{
    if ((int)l < DG_LOG_DEBUG || (int)l > DG_LOG_ERROR)
        return "unknown";
    return level_names[l];
}

int dg_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = DG_LOG_DEBUG; i <= DG_LOG_ERROR; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void dg_log_set_level(dg_log_level min_level)
{
    atomic_store(&g_level, (int)min_level);
}

int dg_log_enabled(dg_log_level l)
{
    return (int)l >= atomic_load_explicit(&g_level, memory_order_relaxed);
}

uint64_t dg_log_dropped(void)
{
    return atomic_load(&g_dropped);
}

int dg_log_format_ts(dg_buf *out, int64_t t_ns)
{
    int64_t sec = t_ns / 1000000000, rem = t_ns % 1000000000;
    if (rem < 0) { /* floor, so times before 1970 still read forwards */
        rem += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return DG_EINVAL;
    return dg_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (int)(rem / 1000000));
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One complete line, '\n'-terminated. */
static int format_line(dg_buf *b, dg_log_level l, const char *msg, const char *fields)
{
    if (!msg)
        msg = "";
    if (dg_buf_append(b, "{\"ts\":\"", 7) || dg_log_format_ts(b, now_ns()) ||
        dg_buf_printf(b, "\",\"level\":\"%s\",\"msg\":\"", dg_log_level_name(l)) ||
        dg_buf_append_json_str(b, msg, strlen(msg)) || dg_buf_putc(b, '"'))
        return DG_ENOMEM;
    if (fields && *fields) {
        size_t start = b->len;
        if (dg_buf_putc(b, ',') || dg_buf_append(b, fields, strlen(fields)))
            return DG_ENOMEM;
        /* A raw line break in the fragment would split the record. Outside
         * strings it is whitespace and a space is equivalent; inside a
         * string it was invalid JSON anyway. */
        for (size_t i = start; i < b->len; i++)
            if (b->data[i] == '\n' || b->data[i] == '\r')
                b->data[i] = ' ';
    }
    return dg_buf_append(b, "}\n", 2);
}

static void wake_writer(void)
{
    int fd = atomic_load(&g_wake_fd);
    if (fd >= 0) {
        char c = 0;
        /* EAGAIN means the pipe already holds wake-ups: nothing is lost. */
        ssize_t r = write(fd, &c, 1);
        (void)r;
    }
}

/* Counts the lines in p[0..n): what a failed write lost. */
static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t k = 0;
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        k++;
        p++;
    }
    return k;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void dg_log_fields(dg_log_level l, const char *msg, const char *fields)
{
    if (!dg_log_enabled(l))
        return;
    dg_buf line = DG_BUF_INIT;
    if (format_line(&line, l, msg, fields) != 0) {
        atomic_fetch_add(&g_dropped, 1);
        dg_buf_free(&line);
        return;
    }
    pthread_mutex_lock(&g_mu);
    if (!g_running) {
        pthread_mutex_unlock(&g_mu);
        /* Synchronous mode (command-line tools, start-up, shutdown). */
        if (write_all(STDERR_FILENO, line.data, line.len) != 0)
            atomic_fetch_add(&g_dropped, 1);
        dg_buf_free(&line);
        return;
    }
    int wake = 0;
    if (line.len > g_queue_max - g_queue.len) {
        atomic_fetch_add(&g_dropped, 1);
    } else {
        wake = g_queue.len == 0;
        if (dg_buf_append(&g_queue, line.data, line.len) != 0) {
            atomic_fetch_add(&g_dropped, 1);
            wake = 0;
        }
    }
    pthread_mutex_unlock(&g_mu);
    if (wake)
        wake_writer();
    dg_buf_free(&line);
}

void dg_logf(dg_log_level l, const char *fmt, ...)
{
    if (!dg_log_enabled(l))
        return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        atomic_fetch_add(&g_dropped, 1);
        return;
    }
    if ((size_t)n < sizeof small) {
        dg_log_fields(l, small, NULL);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        atomic_fetch_add(&g_dropped, 1);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dg_log_fields(l, big, NULL);
    free(big);
}

/* ---------------------------------------------------------------- writer */

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static void reopen_file(void)
{
    if (!g_path)
        return;
    int fd = open_log(g_path);
    if (fd < 0) {
        /* Keep writing to the old file: losing the log is worse than
         * writing to a rotated name. Say so where someone is looking. */
        int e = errno;
        dg_buf b = DG_BUF_INIT;
        char fields[64];
        snprintf(fields, sizeof fields, "\"errno\":%d", e);
        if (format_line(&b, DG_LOG_ERROR, "cannot reopen log file; still writing to the old one",
                        fields) == 0)
            (void)write_all(g_fd, b.data, b.len);
        dg_buf_free(&b);
        return;
    }
    close(g_fd);
    g_fd = fd;
}

static void wait_for_wake(int rfd)
{
    struct pollfd p = {.fd = rfd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    char sink[64];
    while (read(rfd, sink, sizeof sink) > 0) {
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    dg_buf batch = DG_BUF_INIT;
    for (;;) {
        pthread_mutex_lock(&g_mu);
        int stop = g_stopping;
        int have = g_queue.len > 0 && (!g_paused || stop);
        if (have) {
            dg_buf t = g_queue;
            g_queue = batch;
            batch = t;
        } else if (stop) {
            /* Still under the lock: from now on producers write to stderr
             * themselves, so no line is queued after the last drain. */
            g_running = 0;
            pthread_mutex_unlock(&g_mu);
            break;
        }
        int rfd = g_pipe[0];
        pthread_mutex_unlock(&g_mu);
        /* Checked after taking the batch: a line logged after
         * dg_log_reopen() returned goes to the new file. */
        if (atomic_exchange(&g_reopen, 0))
            reopen_file();
        if (have) {
            if (write_all(g_fd, batch.data, batch.len) != 0)
                atomic_fetch_add(&g_dropped, count_lines(batch.data, batch.len));
            dg_buf_reset(&batch);
            continue;
        }
        wait_for_wake(rfd);
    }
    dg_buf_free(&batch);
    return NULL;
}

static void set_err(char *err_msg, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err_msg, size_t err_len, const char *fmt, ...)
{
    if (!err_msg || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, err_len, fmt, ap);
    va_end(ap);
}

int dg_log_start(const char *path, dg_log_level min_level, size_t queue_bytes, char *err_msg,
                 size_t err_len)
{
    if (path && strcmp(path, "-") == 0)
        path = NULL;
    pthread_mutex_lock(&g_mu);
    if (g_started) {
        pthread_mutex_unlock(&g_mu);
        set_err(err_msg, err_len, "logger already started");
        return DG_EINVAL;
    }
    if (g_pipe[0] < 0 && pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        pthread_mutex_unlock(&g_mu);
        set_err(err_msg, err_len, "cannot create log pipe: %s", strerror(errno));
        return DG_EIO;
    }
    char *p = NULL;
    int fd = STDERR_FILENO;
    if (path) {
        p = strdup(path);
        if (!p) {
            pthread_mutex_unlock(&g_mu);
            set_err(err_msg, err_len, "out of memory");
            return DG_ENOMEM;
        }
        fd = open_log(path);
        if (fd < 0) {
            int e = errno;
            pthread_mutex_unlock(&g_mu);
            free(p);
            set_err(err_msg, err_len, "cannot open log file %s: %s", path, strerror(e));
            return DG_EIO;
        }
    }
    g_path = p;
    g_fd = fd;
    g_queue_max = queue_bytes ? queue_bytes : DEFAULT_QUEUE_BYTES;
    dg_buf_reset(&g_queue);
    atomic_store(&g_level, (int)min_level);
    atomic_store(&g_reopen, 0);
    g_running = 1;
    g_started = 1;
    g_stopping = 0;

    /* Signals belong to the main thread (the proxy handles SIGUSR1 there);
     * the writer inherits a full mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g_thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        g_running = g_started = 0;
        if (fd != STDERR_FILENO)
            close(fd);
        g_fd = -1;
        free(g_path);
        g_path = NULL;
        pthread_mutex_unlock(&g_mu);
        set_err(err_msg, err_len, "cannot start log writer: %s", strerror(rc));
        return DG_EIO;
    }
    atomic_store(&g_wake_fd, g_pipe[1]);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

void dg_log_stop(void)
{
    pthread_mutex_lock(&g_mu);
    if (!g_started || g_stopping) {
        pthread_mutex_unlock(&g_mu);
        return;
    }
    g_stopping = 1;
    pthread_mutex_unlock(&g_mu);
    wake_writer();
    pthread_join(g_thread, NULL);

    pthread_mutex_lock(&g_mu);
    if (g_fd >= 0 && g_fd != STDERR_FILENO)
        close(g_fd);
    g_fd = -1;
    free(g_path);
    g_path = NULL;
    dg_buf_free(&g_queue);
    g_started = 0;
    g_stopping = 0;
    pthread_mutex_unlock(&g_mu);
}

void dg_log_reopen(void)
{
    int saved = errno; /* signal handlers must not change errno */
    atomic_store(&g_reopen, 1);
    wake_writer();
    errno = saved;
}

void dg_log_test_pause(int on)
{
    pthread_mutex_lock(&g_mu);
    g_paused = on;
    pthread_mutex_unlock(&g_mu);
    if (!on)
        wake_writer();
}
