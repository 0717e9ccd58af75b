/* common/anomaly.c: anomaly records, their JSON form, the bounded
 * drop-oldest queue and the JSON-lines consumer thread.
 *
 * The queue is a ring of pointers sized at creation: a push never allocates
 * and holds the mutex for a few stores, so proxy workers are never held up
 * by the consumer. An entry evicted by a full queue is freed after the mutex
 * is released. */
#include "common/anomaly.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CAPACITY 10000
/* The consumer writes at most this many anomalies per write(2)... */
#define JSONL_BATCH 256
/* ...and polls the reopen flag at least this often when idle. */
#define JSONL_IDLE_MS 100

const char *dg_severity_name(dg_severity s)
{
    return s == DG_SEV_INFO ? "info" : "error";
}

void dg_anomaly_free(dg_anomaly *a)
{
    if (!a)
        return;
    free(a->api);
    free(a->operation);
    free(a->method);
    free(a->path_template);
    free(a->media_type);
    free(a->kind);
    free(a->instance_pointer);
    free(a->schema_pointer);
    free(a->message);
    free(a->shape_type);
    free(a->shape_number_class);
    free(a->value);
    free(a->spec_hash);
    free(a->request_id);
    free(a->owner);
    free(a);
}

/* ,"key":"escaped value" when v is not NULL. */
static int put_str(dg_buf *out, const char *key, const char *v)
{
    if (!v)
        return 0;
    if (dg_buf_printf(out, ",\"%s\":\"", key) || dg_buf_append_json_str(out, v, strlen(v)) ||
        dg_buf_putc(out, '"'))
        return DG_ENOMEM;
    return 0;
}

int dg_anomaly_to_json(const dg_anomaly *a, dg_buf *out)
{
    if (dg_buf_append(out, "{\"ts\":\"", 7) || dg_log_format_ts(out, a->ts_ns) ||
        dg_buf_putc(out, '"'))
        return DG_ENOMEM;
    if (put_str(out, "api", a->api) || put_str(out, "operation", a->operation) ||
        put_str(out, "method", a->method) || put_str(out, "path_template", a->path_template))
        return DG_ENOMEM;
    /* 0 means "no status" (e.g. the upstream never answered). */
    if (a->status > 0 && dg_buf_printf(out, ",\"status\":%d", a->status))
        return DG_ENOMEM;
    if (a->count > 1 && dg_buf_printf(out, ",\"count\":%llu", (unsigned long long)a->count))
        return DG_ENOMEM;
    if (put_str(out, "media_type", a->media_type) || put_str(out, "kind", a->kind) ||
        put_str(out, "severity", dg_severity_name(a->severity)) ||
        put_str(out, "instance_pointer", a->instance_pointer) ||
        put_str(out, "schema_pointer", a->schema_pointer) || put_str(out, "message", a->message))
        return DG_ENOMEM;
    /* Same shape object as `driftgate validate --format json`. */
    if (a->shape_type) {
        if (dg_buf_append(out, ",\"shape\":{\"type\":\"", 18) ||
            dg_buf_append_json_str(out, a->shape_type, strlen(a->shape_type)) ||
            dg_buf_printf(out, "\",\"length\":%llu", (unsigned long long)a->shape_length))
            return DG_ENOMEM;
        if (a->shape_number_class &&
            (dg_buf_append(out, ",\"number_class\":\"", 17) ||
             dg_buf_append_json_str(out, a->shape_number_class, strlen(a->shape_number_class)) ||
             dg_buf_putc(out, '"')))
            return DG_ENOMEM;
        if (dg_buf_putc(out, '}'))
            return DG_ENOMEM;
    }
    /* The value is JSON text cut at a byte limit, so it may not parse on its
     * own: it travels as a string. */
    if (put_str(out, "value", a->value) || put_str(out, "spec_hash", a->spec_hash) ||
        put_str(out, "request_id", a->request_id) || put_str(out, "owner", a->owner))
        return DG_ENOMEM;
    return dg_buf_putc(out, '}');
}

/* ---------------------------------------------------------------- queue */

struct dg_anomaly_queue {
    pthread_mutex_t mu;
    pthread_cond_t cond;       /* CLOCK_MONOTONIC: wall-clock jumps don't stretch waits */
    dg_anomaly **ring;
    size_t cap, head, count;   /* guarded by mu */
    int closed;                /* guarded by mu */
    _Atomic uint64_t dropped;  /* read without the lock (metrics) */
};

dg_anomaly_queue *dg_anomaly_queue_new(size_t capacity)
{
    if (!capacity)
        capacity = DEFAULT_CAPACITY;
    if (capacity > SIZE_MAX / sizeof(dg_anomaly *))
        return NULL;
    dg_anomaly_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->ring = calloc(capacity, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    atomic_init(&q->dropped, 0);
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    if (ok) {
        ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&q->cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        free(q->ring);
        free(q);
        return NULL;
    }
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        pthread_cond_destroy(&q->cond);
        free(q->ring);
        free(q);
        return NULL;
    }
    return q;
}

void dg_anomaly_queue_free(dg_anomaly_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->count; i++)
        dg_anomaly_free(q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

void dg_anomaly_queue_push(dg_anomaly_queue *q, dg_anomaly *a)
{
    if (!a)
        return;
    dg_anomaly *evicted = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        dg_anomaly_free(a);
        return;
    }
    if (q->count == q->cap) {
        evicted = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        atomic_fetch_add(&q->dropped, 1);
    }
    q->ring[(q->head + q->count) % q->cap] = a;
    q->count++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
    dg_anomaly_free(evicted);
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
static struct timespec deadline_after(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Moves up to max entries into out (oldest first), waiting up to timeout_ms
 * (-1 forever) for the first one. Returns how many. */
static size_t pop_batch(dg_anomaly_queue *q, dg_anomaly **out, size_t max, int timeout_ms)
{
    struct timespec dl;
    if (timeout_ms > 0)
        dl = deadline_after(timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->cond, &q->mu);
        } else if (pthread_cond_timedwait(&q->cond, &q->mu, &dl) == ETIMEDOUT) {
            break;
        }
    }
    size_t n = 0;
    while (n < max && q->count > 0) {
        out[n++] = q->ring[q->head];
        q->ring[q->head] = NULL;
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

dg_anomaly *dg_anomaly_queue_pop(dg_anomaly_queue *q, int timeout_ms)
{
    dg_anomaly *a = NULL;
    pop_batch(q, &a, 1, timeout_ms);
    return a;
}

void dg_anomaly_queue_close(dg_anomaly_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

size_t dg_anomaly_queue_depth(dg_anomaly_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

uint64_t dg_anomaly_queue_dropped(dg_anomaly_queue *q)
{
    return atomic_load(&q->dropped);
}

static int queue_finished(dg_anomaly_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int done = q->closed && q->count == 0;
    pthread_mutex_unlock(&q->mu);
    return done;
}

/* ---------------------------------------------------------------- JSONL */

struct dg_anomaly_jsonl {
    dg_anomaly_queue *q;
    char *path;
    int fd;                    /* consumer thread only, after start */
    _Atomic int reopen;        /* set from anywhere, even a signal handler */
    dg_anomaly_queue *_Atomic forward; /* written anomalies go on here (else freed) */
    pthread_t thread;
};

static int open_jsonl(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static void jsonl_reopen_now(dg_anomaly_jsonl *w)
{
    int fd = open_jsonl(w->path);
    if (fd < 0) {
        /* Keep the old file rather than lose anomalies. */
        dg_logf(DG_LOG_ERROR, "cannot reopen anomaly log %s: %s", w->path, strerror(errno));
        return;
    }
    close(w->fd);
    w->fd = fd;
}

static void jsonl_write(dg_anomaly_jsonl *w, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            dg_logf(DG_LOG_ERROR, "cannot write anomaly log %s: %s", w->path, strerror(errno));
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

static void *jsonl_main(void *arg)
{
    dg_anomaly_jsonl *w = arg;
    dg_anomaly *batch[JSONL_BATCH];
    dg_buf out = DG_BUF_INIT;
    for (;;) {
        size_t n = pop_batch(w->q, batch, JSONL_BATCH, JSONL_IDLE_MS);
        /* After the pop: an anomaly pushed after dg_anomaly_jsonl_reopen()
         * returned lands in the new file. */
        if (atomic_exchange(&w->reopen, 0))
            jsonl_reopen_now(w);
        if (n == 0) {
            if (queue_finished(w->q))
                break;
            continue;
        }
        dg_buf_reset(&out);
        for (size_t i = 0; i < n; i++) {
            size_t mark = out.len;
            if (dg_anomaly_to_json(batch[i], &out) || dg_buf_putc(&out, '\n')) {
                /* Out of memory: cut the partial line, keep the rest. */
                out.len = mark;
                if (out.data)
                    out.data[mark] = '\0';
                dg_logf(DG_LOG_ERROR, "anomaly log: out of memory, anomaly not written");
            }
            dg_anomaly_queue *next = atomic_load(&w->forward);
            if (next)
                dg_anomaly_queue_push(next, batch[i]);
            else
                dg_anomaly_free(batch[i]);
        }
        if (out.len)
            jsonl_write(w, out.data, out.len);
    }
    dg_buf_free(&out);
    return NULL;
}

int dg_anomaly_jsonl_start(dg_anomaly_queue *q, const char *path, dg_anomaly_jsonl **out,
                           char *err_msg, size_t err_len)
{
    *out = NULL;
    dg_anomaly_jsonl *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        if (err_msg && err_len)
            snprintf(err_msg, err_len, "out of memory");
        return DG_ENOMEM;
    }
    w->q = q;
    atomic_init(&w->reopen, 0);
    atomic_init(&w->forward, NULL);
    w->fd = open_jsonl(path);
    if (w->fd < 0) {
        if (err_msg && err_len)
            snprintf(err_msg, err_len, "cannot open anomaly log %s: %s", path, strerror(errno));
        free(w->path);
        free(w);
        return DG_EIO;
    }
    /* Signals stay with the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, jsonl_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        if (err_msg && err_len)
            snprintf(err_msg, err_len, "cannot start anomaly log thread: %s", strerror(rc));
        close(w->fd);
        free(w->path);
        free(w);
        return DG_EIO;
    }
    *out = w;
    return 0;
}

void dg_anomaly_jsonl_forward(dg_anomaly_jsonl *w, dg_anomaly_queue *next)
{
    atomic_store(&w->forward, next);
}

void dg_anomaly_jsonl_reopen(dg_anomaly_jsonl *w)
{
    if (w)
        atomic_store(&w->reopen, 1);
}

void dg_anomaly_jsonl_stop(dg_anomaly_jsonl *w)
{
    if (!w)
        return;
    /* The thread ends once the queue is closed and drained; closing here
     * (a no-op when the owner already did) makes stop always terminate. */
    dg_anomaly_queue_close(w->q);
    pthread_join(w->thread, NULL);
    close(w->fd);
    free(w->path);
    free(w);
}
