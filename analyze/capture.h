/* analyze/capture.h: recorded traffic for `driftgate replay`.
 *
 * Reads HAR 1.2 files (browsers' and proxies' "Save as HAR") and driftgate's
 * own JSON-lines capture (one exchange per line, documented in README:
 * {"ts","method","url","status","headers":{name:value},"body"|"body_base64"},
 * where url may be a full URL or an origin-form path), and also lines of an
 * anomalies file (`--anomalies` output: already judged, ingested as is).
 * The format is detected from the content (a JSON object with "log" = HAR).
 *
 * A broken entry (missing status, body not decodable, a line that is not
 * JSON) is reported with its location ("entries[12].response.status",
 * "line 40") and skipped; iteration goes on. A HAR is parsed whole (bounded
 * by max_bytes); JSON lines are streamed one line at a time. Single thread. */
#ifndef DG_ANALYZE_CAPTURE_H
#define DG_ANALYZE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/anomaly.h"
#include "common/error.h"

typedef enum dg_capture_format { DG_CAPTURE_HAR = 1, DG_CAPTURE_JSONL } dg_capture_format;

typedef struct dg_capture_entry {
    char location[64];            /* "entries[12]" or "line 12" */
    /* an exchange (anomaly == NULL) */
    const char *method;
    const char *url;              /* full URL or origin-form path */
    const char *host;             /* from the URL or a Host header; NULL when unknown */
    int status;
    const char *content_type;     /* NULL when absent */
    const char *content_encoding; /* NULL when absent (HAR bodies are usually decoded already) */
    const char *body;             /* body bytes (base64 already decoded) */
    size_t body_len;
    int has_body;
    int64_t ts_ms;                /* 0 when unknown */
    /* or an already-judged anomaly (anomalies file); owned by the caller
     * after next returns it */
    dg_anomaly *anomaly;
} dg_capture_entry;

typedef struct dg_capture dg_capture;

/* max_bytes: largest HAR accepted (0 = 512 MiB); longest JSON line is
 * max_bytes too. Errors: DG_EIO (with path), DG_EPARSE (file:line:col),
 * DG_ELIMIT. Caller owns *out. */
int dg_capture_open(const char *path, uint64_t max_bytes, dg_capture **out, dg_error *err);
dg_capture_format dg_capture_format_of(const dg_capture *c);
/* Next entry: 1 (e filled; its strings valid until the next call), 0 at the
 * end, negative for a broken entry (err says where and why; call again for
 * the next one). */
int dg_capture_next(dg_capture *c, dg_capture_entry *e, dg_error *err);
void dg_capture_close(dg_capture *c);

#endif
