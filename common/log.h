/* common/log.h: JSON-lines logging that never blocks the caller on disk.
 *
 * Each call formats one line {"ts":"2026-11-25T22:10:00.123Z","level":"warn",
 * "msg":"...", ...fields} and appends it to a bounded in-memory queue; one
 * writer thread drains the queue to the log file (or stderr) with write(2).
 * When the queue is full the line is dropped and counted (dg_log_dropped()),
 * so the event loop never waits for a slow disk. dg_log_reopen() (SIGUSR1)
 * makes the writer reopen the file by name, for logrotate. Before
 * dg_log_start() (and after dg_log_stop()) lines are written synchronously to
 * stderr, which suits command-line tools. Thread-safe. */
#ifndef DG_COMMON_LOG_H
#define DG_COMMON_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum dg_log_level {
    DG_LOG_DEBUG = 0,
    DG_LOG_INFO,
    DG_LOG_WARN,
    DG_LOG_ERROR
} dg_log_level;

const char *dg_log_level_name(dg_log_level l);
/* "debug" "info" "warn" "error"; -1 when unknown. */
int dg_log_level_parse(const char *s);

/* Starts the writer thread. path NULL or "-" = stderr. queue_bytes: bound on
 * queued bytes (0 = 4 MiB). Returns 0 or a negative DG_E* (file cannot be
 * opened: DG_EIO, message in err_msg). */
int dg_log_start(const char *path, dg_log_level min_level, size_t queue_bytes, char *err_msg,
                 size_t err_len);
/* Flushes the queue and stops the writer. */
void dg_log_stop(void);
/* Asks the writer to reopen the file (async-signal-safe: only sets a flag
 * and writes to a pipe). */
void dg_log_reopen(void);
void dg_log_set_level(dg_log_level min_level);
int dg_log_enabled(dg_log_level l);
uint64_t dg_log_dropped(void);

/* Logs msg (escaped) plus fields, a JSON object body fragment without braces
 * (e.g. "\"api\":\"pets\",\"status\":502") or NULL. */
void dg_log_fields(dg_log_level l, const char *msg, const char *fields);
/* printf-style message, no extra fields. */
void dg_logf(dg_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Test hook: while paused (on != 0) the writer thread leaves the queue
 * alone, so a test can fill it and watch lines being dropped; dg_log_stop()
 * still flushes. Not for production use. */
void dg_log_test_pause(int on);

/* Appends "ts" formatted as RFC 3339 UTC with milliseconds for time t_ns
 * (CLOCK_REALTIME nanoseconds) to out, without quotes. */
int dg_log_format_ts(dg_buf *out, int64_t t_ns);

#endif
