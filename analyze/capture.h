/* analyze/capture.h: recorded traffic for `driftgate replay`.
 *
 * Reads HAR 1.2 files (browsers' and proxies' "Save as HAR") and driftgate's
 * own JSON-lines capture (one exchange per line, documented in README:
 * {"ts","method","url","status","headers":{name:value},"body"|"body_base64"},
 * where url may be a full URL or an origin-form path), and also lines of an
 * anomalies file (`--anomalies` output: already judged, ingested as is).
 * The format is detected from the content (a JSON object with "log" = HAR).
 *
 * Detection: after an optional UTF-8 BOM and white space, a file whose
 * first token is "{" followed by the key "log" is HAR (HAR 1.2's only
 * top-level key); anything else is JSON lines. In JSON lines, blank lines
 * are skipped, a trailing CR is dropped (CRLF files), and each line is
 * judged on its own, so one file may mix both kinds:
 *   - an exchange: an object with a "url" member. "method" (string),
 *     "url" (string) and "status" (integer 100..599) are required; "ts" is
 *     an RFC 3339 / ISO 8601 time or a number of ms since the epoch;
 *     "headers" is {name: value} or HAR's [{"name","value"}] (names
 *     case-insensitive); "body" is the body text (a string; any other JSON
 *     value stands for its compact serialisation; null or absent = no
 *     body) or "body_base64" the body's bytes in base64 (not both). The
 *     body is as it went over the wire after de-chunking: a
 *     Content-Encoding header (gzip, deflate) applies to it.
 *   - an anomaly: an object without "url" that has string "kind" and
 *     "api" members (what dg_anomaly_to_json writes: its "status" is a
 *     number and it never has "url" or "body"); returned in e->anomaly.
 *     Its ts_ns is 0 when the line has no "ts".
 *   - anything else (not JSON, not an object, neither kind) is broken.
 *
 * HAR: log.entries[i].request.method and .url are required, and
 * response.status (0, which browsers write for an aborted request, is
 * returned as 0: no response). The body is response.content.text (base64
 * decoded when content.encoding is "base64"). HAR bodies are already
 * decoded (HAR 1.2: "HTTP decoded text"), so a Content-Encoding response
 * header is ignored and content_encoding is NULL, unless the body still
 * starts with the magic bytes of the gzip or zlib stream the header names
 * (a few tools store the raw bytes). Content-Type comes from the response
 * header, else content.mimeType. startedDateTime gives ts_ms.
 *
 * has_body: 1 a body (body, body_len), 0 no body (absent, or empty),
 * -1 the response had a body the capture did not record (HAR without
 * content.text, or with an empty text, while content.size is not 0 and
 * neither the status nor HEAD rule a body out): the head can be judged,
 * the body cannot. host is "host[:port]" from an absolute URL, else from
 * the Host request header.
 *
 * A broken entry (missing status, body not decodable, a line that is not
 * JSON) is reported with its location ("entries[12].response.status",
 * "line 40") and skipped; iteration goes on (e->location is set for a
 * broken entry too). Locations in err: file and
 * JSON pointer (/log/entries/12/response/status) for HAR, file:line:col
 * (col 1 unless the JSON parser names one) and the member's pointer for
 * JSON lines. A line longer than the limit is broken too (its bytes are
 * skipped, never held); a read error is returned as DG_EIO, after which
 * the next call returns 0. A HAR is parsed whole (bounded by max_bytes);
 * JSON lines are streamed one line at a time; path "-" reads stdin.
 * Single thread. */
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
    int has_body;                 /* 1 body, 0 none, -1 not recorded (see above) */
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
