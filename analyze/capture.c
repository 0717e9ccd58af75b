/* analyze/capture.c: HAR 1.2 and JSON-lines captures for `driftgate replay`
 * (see capture.h for the formats and the detection rule).
 *
 * JSON lines go through a bounded reader: bytes are read in 64 KiB blocks
 * and a line is kept only up to the limit, so a runaway line costs its
 * read time, never its size in memory. A HAR is one JSON document and is
 * parsed whole, after checking its size against the same limit. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "analyze/capture.h"
#include "common/buf.h"

#define RBUF_SIZE (64u << 10)
#define DEFAULT_MAX ((uint64_t)512 << 20)
/* Times are kept in ns in an int64_t downstream: +-9e12 ms is +-285 years
 * around 1970, more than any capture needs. */
#define TS_MAX_MS ((int64_t)9000000000000)

struct dg_capture {
    dg_capture_format fmt;
    char *path;                 /* for errors */
    FILE *f;
    int own_f;                  /* not stdin */
    uint64_t max;
    /* the bounded reader */
    char *rbuf;
    size_t rpos, rlen;
    int eof, failed;
    uint64_t lineno;
    dg_buf line;
    /* JSON lines: the current line's document (entry strings point into it) */
    json_t *cur;
    /* HAR */
    json_t *har;
    json_t *entries;            /* borrowed from har */
    size_t next;
    /* per-entry storage, reused */
    dg_buf body;
    dg_buf host;
};

/* ------------------------------------------------------------ helpers */

/* Decodes standard base64 (RFC 4648; white space skipped, padding
 * optional) into out, replacing its contents. 0, 1 when malformed, or
 * DG_ENOMEM. */
static int b64_decode(const char *s, size_t n, dg_buf *out)
{
    dg_buf_reset(out);
    if (dg_buf_reserve(out, n / 4 * 3 + 3))
        return DG_ENOMEM;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int v;
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+')
            v = 62;
        else if (ch == '/')
            v = 63;
        else if (ch == '=') {
            pad++;
            continue;
        } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        else
            return 1;
        if (pad)
            return 1; /* data after padding */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6 || pad > 2) /* a lone trailing symbol carries < 8 bits */
        return 1;
    out->data[out->len] = 0;
    return 0;
}

static int two(const char *p, int *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* "2026-11-25T22:25:31.615Z", "...+01:00", "...+0100", without a zone =
 * UTC; 'T' may be a space. Returns 0 and *ms since the epoch, or -1. */
static int parse_iso8601(const char *s, int64_t *ms)
{
    int y1, y2, mo, d, h, mi, sec;
    size_t n = strlen(s);
    if (n < 19 || two(s, &y1) || two(s + 2, &y2) || s[4] != '-' || two(s + 5, &mo) ||
        s[7] != '-' || two(s + 8, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        two(s + 11, &h) || s[13] != ':' || two(s + 14, &mi) || s[16] != ':' || two(s + 17, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (!digits)
            return -1;
        for (int k = digits; k < 3; k++)
            frac_ms *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        int sign = *p == '-' ? -1 : 1;
        p++;
        if (two(p, &oh))
            return -1;
        p += 2;
        if (*p == ':')
            p++;
        if (two(p, &om))
            return -1;
        p += 2;
        if (oh > 23 || om > 59)
            return -1;
        off_s = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y1 * 100 + y2 - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - off_s) * 1000 + frac_ms;
    return *ms > TS_MAX_MS || *ms < -TS_MAX_MS ? -1 : 0;
}

/* A "ts" member: ISO 8601 string or ms since the epoch. 0 ok (absent or
 * null: *ms = 0), -1 malformed. */
static int ts_member(const json_t *v, int64_t *ms)
{
    *ms = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return parse_iso8601(json_string_value(v), ms);
    if (json_is_integer(v)) {
        *ms = (int64_t)json_integer_value(v);
        return *ms > TS_MAX_MS || *ms < -TS_MAX_MS ? -1 : 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > (double)-TS_MAX_MS && d < (double)TS_MAX_MS))
            return -1;
        *ms = (int64_t)d;
        return 0;
    }
    return -1;
}

/* Host (with port) of an absolute URL "scheme://[user@]host[:port]/...", or
 * NULL,0 when url is not absolute. */
static const char *url_authority(const char *url, size_t *len)
{
    const char *s = strstr(url, "://");
    *len = 0;
    if (!s || s == url)
        return NULL;
    for (const char *q = url; q < s; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '+' || *q == '-' || *q == '.'))
            return NULL;
    const char *a = s + 3;
    size_t n = strcspn(a, "/?#");
    const char *at = memchr(a, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    *len = n;
    return n ? a : NULL;
}

static int set_host(dg_capture *c, dg_capture_entry *e, const char *url, const char *hdr)
{
    size_t n = 0;
    const char *a = url_authority(url, &n);
    if (!a && hdr) {
        a = hdr;
        n = strlen(hdr);
    }
    if (!a)
        return 0;
    dg_buf_reset(&c->host);
    if (dg_buf_append(&c->host, a, n))
        return DG_ENOMEM;
    e->host = c->host.data;
    return 0;
}

/* Broken-entry errors. HAR: file + pointer; JSON lines: file:line:col +
 * the member's pointer. */
static int broken(dg_capture *c, dg_error *err, int code, const char *pointer, unsigned col,
                  const char *msg)
{
    dg_error_set(err, code, "%s", msg);
    if (c->fmt == DG_CAPTURE_HAR)
        dg_error_locate(err, c->path, 0, 0, pointer);
    else
        dg_error_locate(err, c->path, (unsigned)c->lineno, col ? col : 1, pointer);
    return code;
}

/* The magic bytes of a gzip / zlib stream: a HAR body stored still
 * encoded (see capture.h). */
static int still_encoded(const char *ce, const char *b, size_t n)
{
    if (!ce || n < 2)
        return 0;
    const unsigned char *u = (const unsigned char *)b;
    if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip"))
        return u[0] == 0x1f && u[1] == 0x8b;
    if (!strcasecmp(ce, "deflate"))
        return (u[0] & 0x0f) == 8 && ((u[0] << 8) | u[1]) % 31 == 0;
    return 0;
}

/* HAR-style header list [{"name","value"}] or an object {name: value}:
 * the value of name (case-insensitive), or NULL. *bad names a malformed
 * member (pointer suffix written to badp). */
static const char *header_value(const json_t *h, const char *name, int *bad, char *badp,
                                size_t badn)
{
    if (!h || json_is_null(h))
        return NULL;
    if (json_is_object(h)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)h, k, v) {
            if (strcasecmp(k, name))
                continue;
            if (!json_is_string(v)) {
                *bad = 1;
                snprintf(badp, badn, "/%s", k);
                return NULL;
            }
            return json_string_value(v);
        }
        return NULL;
    }
    if (json_is_array(h)) {
        size_t i;
        json_t *it;
        json_array_foreach(h, i, it) {
            const char *n = json_string_value(json_object_get(it, "name"));
            const char *v = json_string_value(json_object_get(it, "value"));
            if (!n || !v) {
                *bad = 1;
                snprintf(badp, badn, "/%zu", i);
                return NULL;
            }
            if (!strcasecmp(n, name))
                return v;
        }
        return NULL;
    }
    *bad = 1;
    badp[0] = 0;
    return NULL;
}

/* ------------------------------------------------------------ reader */

/* Reads one line into c->line (without the '\n'). 1 a line, 0 at the end,
 * DG_EIO / DG_ENOMEM. *too_long: the line exceeded the limit (its bytes
 * were dropped). */
static int read_line(dg_capture *c, int *too_long)
{
    dg_buf_reset(&c->line);
    *too_long = 0;
    int any = 0;
    for (;;) {
        if (c->rpos == c->rlen) {
            if (c->eof)
                return any;
            c->rpos = c->rlen = 0;
            size_t n = fread(c->rbuf, 1, RBUF_SIZE, c->f);
            if (!n) {
                if (ferror(c->f))
                    return DG_EIO;
                c->eof = 1;
                return any;
            }
            c->rlen = n;
        }
        any = 1;
        const char *p = c->rbuf + c->rpos;
        size_t avail = c->rlen - c->rpos;
        const char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (!*too_long) {
            if ((uint64_t)c->line.len + take > c->max) {
                *too_long = 1;
                dg_buf_reset(&c->line);
            } else if (dg_buf_append(&c->line, p, take)) {
                return DG_ENOMEM;
            }
        }
        c->rpos += take + (nl ? 1 : 0);
        if (nl)
            return 1;
    }
}

/* HAR: the whole file (what the detection read, then the rest). */
static int read_all(dg_capture *c, dg_buf *out, dg_error *err)
{
    struct stat st;
    if (fstat(fileno(c->f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > c->max)
        return dg_error_set(err, DG_ELIMIT, "%s: HAR file larger than the limit of %llu bytes",
                            c->path, (unsigned long long)c->max);
    if (dg_buf_append(out, c->rbuf + c->rpos, c->rlen - c->rpos))
        return dg_error_set(err, DG_ENOMEM, "out of memory reading %s", c->path);
    c->rpos = c->rlen;
    while (!c->eof) {
        if (out->len > c->max)
            break;
        if (dg_buf_reserve(out, RBUF_SIZE))
            return dg_error_set(err, DG_ENOMEM, "out of memory reading %s", c->path);
        size_t n = fread(out->data + out->len, 1, RBUF_SIZE, c->f);
        out->len += n;
        out->data[out->len] = 0;
        if (n < RBUF_SIZE) {
            if (ferror(c->f))
                return dg_error_set(err, DG_EIO, "%s: read error: %s", c->path, strerror(errno));
            c->eof = 1;
        }
    }
    if (out->len > c->max)
        return dg_error_set(err, DG_ELIMIT, "%s: HAR file larger than the limit of %llu bytes",
                            c->path, (unsigned long long)c->max);
    return 0;
}

/* Is the buffered start of the file a HAR document? */
static int looks_like_har(const char *p, size_t n)
{
    size_t i = 0;
    if (n >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
        (unsigned char)p[2] == 0xbf)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i >= n || p[i] != '{')
        return 0;
    i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return n - i >= 5 && !memcmp(p + i, "\"log\"", 5);
}

static int open_har(dg_capture *c, dg_error *err)
{
    dg_buf all = DG_BUF_INIT;
    int rc = read_all(c, &all, err);
    if (rc) {
        dg_buf_free(&all);
        return rc;
    }
    json_error_t je;
    c->har = json_loadb(all.data ? all.data : "", all.len, JSON_ALLOW_NUL, &je);
    dg_buf_free(&all);
    if (!c->har) {
        dg_error_set(err, DG_EPARSE, "%s", je.text);
        dg_error_locate(err, c->path, je.line > 0 ? (unsigned)je.line : 1,
                        je.column > 0 ? (unsigned)je.column : 1, NULL);
        return DG_EPARSE;
    }
    json_t *log = json_object_get(c->har, "log");
    c->entries = json_object_get(log, "entries");
    if (!json_is_object(log) || !json_is_array(c->entries)) {
        dg_error_set(err, DG_EPARSE, "not a HAR file: log.entries is missing or not an array");
        dg_error_locate(err, c->path, 0, 0, json_is_object(log) ? "/log/entries" : "/log");
        return DG_EPARSE;
    }
    return 0;
}

int dg_capture_open(const char *path, uint64_t max_bytes, dg_capture **out, dg_error *err)
{
    *out = NULL;
    dg_capture *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path)) || !(c->rbuf = malloc(RBUF_SIZE))) {
        if (c)
            free(c->path);
        free(c);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    c->max = max_bytes ? max_bytes : DEFAULT_MAX;
    int rc = 0;
    if (!strcmp(path, "-")) {
        c->f = stdin;
    } else {
        struct stat st;
        if (!(c->f = fopen(path, "rb"))) {
            rc = dg_error_set(err, DG_EIO, "%s: %s", path, strerror(errno));
            goto fail;
        }
        c->own_f = 1;
        if (fstat(fileno(c->f), &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = dg_error_set(err, DG_EIO, "%s: is a directory", path);
            goto fail;
        }
    }
    c->rlen = fread(c->rbuf, 1, RBUF_SIZE, c->f);
    if (c->rlen < RBUF_SIZE) {
        if (ferror(c->f)) {
            rc = dg_error_set(err, DG_EIO, "%s: read error: %s", path, strerror(errno));
            goto fail;
        }
        c->eof = 1;
    }
    if (looks_like_har(c->rbuf, c->rlen)) {
        c->fmt = DG_CAPTURE_HAR;
        if ((rc = open_har(c, err)))
            goto fail;
    } else {
        c->fmt = DG_CAPTURE_JSONL;
        /* a UTF-8 BOM is not part of the first line */
        if (c->rlen >= 3 && !memcmp(c->rbuf, "\xef\xbb\xbf", 3))
            c->rpos = 3;
    }
    *out = c;
    return 0;
fail:
    dg_capture_close(c);
    return rc;
}

dg_capture_format dg_capture_format_of(const dg_capture *c) { return c->fmt; }

void dg_capture_close(dg_capture *c)
{
    if (!c)
        return;
    if (c->f && c->own_f)
        fclose(c->f);
    json_decref(c->cur);
    json_decref(c->har);
    dg_buf_free(&c->line);
    dg_buf_free(&c->body);
    dg_buf_free(&c->host);
    free(c->rbuf);
    free(c->path);
    free(c);
}

/* ------------------------------------------------------------ entries */

/* Body members of a JSON-lines exchange. */
static int line_body(dg_capture *c, json_t *o, dg_capture_entry *e, dg_error *err)
{
    json_t *b = json_object_get(o, "body"), *b64 = json_object_get(o, "body_base64");
    if (json_is_null(b))
        b = NULL;
    if (json_is_null(b64))
        b64 = NULL;
    if (b && b64)
        return broken(c, err, DG_EPARSE, "/body_base64", 0,
                      "both \"body\" and \"body_base64\" are given");
    if (b64) {
        if (!json_is_string(b64))
            return broken(c, err, DG_EPARSE, "/body_base64", 0, "not a string");
        int rc = b64_decode(json_string_value(b64), json_string_length(b64), &c->body);
        if (rc == DG_ENOMEM)
            return broken(c, err, DG_ENOMEM, "/body_base64", 0, "out of memory");
        if (rc)
            return broken(c, err, DG_EPARSE, "/body_base64", 0, "not valid base64");
        e->body = c->body.data ? c->body.data : "";
        e->body_len = c->body.len;
    } else if (json_is_string(b)) {
        e->body = json_string_value(b);
        e->body_len = json_string_length(b);
    } else if (b) {
        char *s = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
        dg_buf_reset(&c->body);
        if (!s || dg_buf_append(&c->body, s, strlen(s))) {
            free(s);
            return broken(c, err, DG_ENOMEM, "/body", 0, "out of memory");
        }
        free(s);
        e->body = c->body.data;
        e->body_len = c->body.len;
    }
    e->has_body = e->body_len > 0;
    return 0;
}

static int line_exchange(dg_capture *c, json_t *o, dg_capture_entry *e, dg_error *err)
{
    json_t *m = json_object_get(o, "method"), *u = json_object_get(o, "url"),
           *st = json_object_get(o, "status");
    if (!json_is_string(m) || !json_string_length(m))
        return broken(c, err, DG_EPARSE, "/method", 0, "\"method\" is missing or not a string");
    if (!json_is_string(u) || !json_string_length(u))
        return broken(c, err, DG_EPARSE, "/url", 0, "\"url\" is not a non-empty string");
    if (!json_is_integer(st) || json_integer_value(st) < 100 || json_integer_value(st) > 599)
        return broken(c, err, DG_EPARSE, "/status", 0,
                      "\"status\" is missing or not an integer 100..599");
    if (ts_member(json_object_get(o, "ts"), &e->ts_ms))
        return broken(c, err, DG_EPARSE, "/ts", 0,
                      "\"ts\" is not an ISO 8601 time or a number of milliseconds");
    e->method = json_string_value(m);
    e->url = json_string_value(u);
    e->status = (int)json_integer_value(st);
    json_t *h = json_object_get(o, "headers");
    int bad = 0;
    char bp[300] = "", ptr[320];
    const char *host = header_value(h, "host", &bad, bp, sizeof bp);
    if (!bad)
        e->content_type = header_value(h, "content-type", &bad, bp, sizeof bp);
    if (!bad)
        e->content_encoding = header_value(h, "content-encoding", &bad, bp, sizeof bp);
    if (bad) {
        snprintf(ptr, sizeof ptr, "/headers%s", bp);
        return broken(c, err, DG_EPARSE, ptr, 0,
                      "headers are {\"name\": \"value\"} or [{\"name\",\"value\"}]");
    }
    if (set_host(c, e, e->url, host))
        return broken(c, err, DG_ENOMEM, NULL, 0, "out of memory");
    return line_body(c, o, e, err);
}

static char *opt_str(json_t *o, const char *k, int *bad)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    char *s = strdup(json_string_value(v));
    if (!s)
        *bad = 2;
    return s;
}

/* The members of an anomaly line that are not plain strings. */
static int anomaly_check(dg_capture *c, json_t *o, const dg_anomaly *a, int64_t *ms,
                         dg_error *err)
{
    json_t *st = json_object_get(o, "status"), *sev = json_object_get(o, "severity"),
           *shape = json_object_get(o, "shape");
    if (ts_member(json_object_get(o, "ts"), ms))
        return broken(c, err, DG_EPARSE, "/ts", 0,
                      "\"ts\" is not an ISO 8601 time or a number of milliseconds");
    if (st && !json_is_null(st) &&
        (!json_is_integer(st) || json_integer_value(st) < 0 || json_integer_value(st) > 999))
        return broken(c, err, DG_EPARSE, "/status", 0, "not an HTTP status");
    if (sev && !json_is_null(sev) &&
        (!json_is_string(sev) ||
         (strcmp(json_string_value(sev), "error") && strcmp(json_string_value(sev), "info"))))
        return broken(c, err, DG_EPARSE, "/severity", 0, "not \"error\" or \"info\"");
    if (shape && !json_is_null(shape) && !json_is_object(shape))
        return broken(c, err, DG_EPARSE, "/shape", 0, "not an object");
    if (!a->api || !a->api[0])
        return broken(c, err, DG_EPARSE, "/api", 0, "empty");
    if (!a->kind || !a->kind[0])
        return broken(c, err, DG_EPARSE, "/kind", 0, "empty");
    return 0;
}

static int line_anomaly(dg_capture *c, json_t *o, dg_capture_entry *e, dg_error *err)
{
    dg_anomaly *a = calloc(1, sizeof *a);
    if (!a)
        return broken(c, err, DG_ENOMEM, NULL, 0, "out of memory");
    static const char *const keys[] = {"api", "operation", "method", "path_template",
                                       "media_type", "kind", "instance_pointer",
                                       "schema_pointer", "message", "value", "spec_hash",
                                       "request_id", "owner"};
    char **slots[] = {&a->api, &a->operation, &a->method, &a->path_template,
                      &a->media_type, &a->kind, &a->instance_pointer, &a->schema_pointer,
                      &a->message, &a->value, &a->spec_hash, &a->request_id, &a->owner};
    int bad = 0;
    char ptr[64];
    int rc = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys && !bad; i++) {
        *slots[i] = opt_str(o, keys[i], &bad);
        if (bad) {
            snprintf(ptr, sizeof ptr, "/%s", keys[i]);
            rc = bad == 2 ? broken(c, err, DG_ENOMEM, ptr, 0, "out of memory")
                          : broken(c, err, DG_EPARSE, ptr, 0, "not a string");
        }
    }
    int64_t ms = 0;
    json_t *st = json_object_get(o, "status"), *sev = json_object_get(o, "severity"),
           *shape = json_object_get(o, "shape");
    if (!rc)
        rc = anomaly_check(c, o, a, &ms, err);
    if (!rc && json_is_object(shape)) {
        json_t *t = json_object_get(shape, "type"), *l = json_object_get(shape, "length"),
               *nc = json_object_get(shape, "number_class");
        if ((t && !json_is_string(t)) || (l && !json_is_integer(l)) ||
            (nc && !json_is_null(nc) && !json_is_string(nc)))
            rc = broken(c, err, DG_EPARSE, "/shape", 0,
                        "shape is {\"type\": string, \"length\": integer, \"number_class\": "
                        "string}");
        else if ((t && !(a->shape_type = strdup(json_string_value(t)))) ||
                 (json_is_string(nc) && !(a->shape_number_class = strdup(json_string_value(nc)))))
            rc = broken(c, err, DG_ENOMEM, NULL, 0, "out of memory");
        else if (l && json_integer_value(l) > 0)
            a->shape_length = (uint64_t)json_integer_value(l);
    }
    json_t *cnt = json_object_get(o, "count");
    if (!rc && cnt) {
        if (!json_is_integer(cnt) || json_integer_value(cnt) < 1)
            rc = broken(c, err, DG_EPARSE, "/count", 0, "count is an integer >= 1");
        else
            a->count = (uint64_t)json_integer_value(cnt);
    }
    if (rc) {
        dg_anomaly_free(a);
        return rc;
    }
    a->ts_ns = ms * 1000000;
    a->status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
    a->severity = json_is_string(sev) && !strcmp(json_string_value(sev), "info") ? DG_SEV_INFO
                                                                                 : DG_SEV_ERROR;
    e->anomaly = a;
    e->ts_ms = ms;
    e->status = a->status;
    e->method = a->method;
    return 0;
}

static int next_line_entry(dg_capture *c, dg_capture_entry *e, dg_error *err)
{
    for (;;) {
        if (c->failed)
            return 0;
        int too_long = 0;
        int rc = read_line(c, &too_long);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            c->failed = 1;
            dg_error_set(err, rc, rc == DG_EIO ? "read error: %s" : "out of memory%s",
                         rc == DG_EIO ? strerror(errno) : "");
            dg_error_locate(err, c->path, (unsigned)c->lineno + 1, 1, NULL);
            return rc;
        }
        c->lineno++;
        snprintf(e->location, sizeof e->location, "line %llu", (unsigned long long)c->lineno);
        if (too_long) {
            char m[128];
            snprintf(m, sizeof m, "line longer than the limit of %llu bytes: skipped",
                     (unsigned long long)c->max);
            return broken(c, err, DG_ELIMIT, NULL, 0, m);
        }
        char *p = c->line.data ? c->line.data : "";
        size_t n = c->line.len;
        if (n && p[n - 1] == '\r')
            p[--n] = 0;
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
            k++;
        if (k == n)
            continue; /* blank line */
        json_error_t je;
        json_decref(c->cur);
        c->cur = json_loadb(p, n, JSON_ALLOW_NUL, &je);
        if (!c->cur) {
            int whole_doc = c->lineno == 1 && n - k == 1 && (p[k] == '{' || p[k] == '[');
            char m[300];
            snprintf(m, sizeof m, "%s%s", whole_doc ? "not JSON lines (one JSON document over "
                                                      "several lines? a HAR file has a "
                                                      "top-level \"log\"): " : "not JSON: ",
                     je.text);
            return broken(c, err, DG_EPARSE, NULL, je.column > 0 ? (unsigned)je.column : 1, m);
        }
        if (!json_is_object(c->cur))
            return broken(c, err, DG_EPARSE, NULL, 0, "not a JSON object");
        if (json_object_get(c->cur, "url"))
            return (rc = line_exchange(c, c->cur, e, err)) ? rc : 1;
        if (json_is_string(json_object_get(c->cur, "kind")) &&
            json_is_string(json_object_get(c->cur, "api")))
            return (rc = line_anomaly(c, c->cur, e, err)) ? rc : 1;
        return broken(c, err, DG_EPARSE, NULL, 0,
                      "neither an exchange (no \"url\") nor an anomaly (no \"kind\" and "
                      "\"api\")");
    }
}

static int har_entry(dg_capture *c, size_t i, dg_capture_entry *e, dg_error *err)
{
    json_t *en = json_array_get(c->entries, i);
    char ptr[96];
    snprintf(e->location, sizeof e->location, "entries[%zu]", i);
#define HAR_BROKEN(sub, msg)                                                                   \
    (snprintf(ptr, sizeof ptr, "/log/entries/%zu%s", i, sub),                                  \
     broken(c, err, DG_EPARSE, ptr, 0, msg))
    if (!json_is_object(en))
        return HAR_BROKEN("", "entry is not an object");
    json_t *rq = json_object_get(en, "request"), *rs = json_object_get(en, "response");
    if (!json_is_object(rq))
        return HAR_BROKEN("/request", "request is missing or not an object");
    json_t *m = json_object_get(rq, "method"), *u = json_object_get(rq, "url");
    if (!json_is_string(m) || !json_string_length(m))
        return HAR_BROKEN("/request/method", "request.method is missing or not a string");
    if (!json_is_string(u) || !json_string_length(u))
        return HAR_BROKEN("/request/url", "request.url is missing or not a string");
    if (!json_is_object(rs))
        return HAR_BROKEN("/response", "response is missing or not an object");
    json_t *st = json_object_get(rs, "status");
    if (!json_is_integer(st) || json_integer_value(st) < 0 || json_integer_value(st) > 999)
        return HAR_BROKEN("/response/status", "response.status is missing or not an integer");
    json_t *sd = json_object_get(en, "startedDateTime");
    if (sd && (!json_is_string(sd) || parse_iso8601(json_string_value(sd), &e->ts_ms)))
        return HAR_BROKEN("/startedDateTime", "startedDateTime is not an ISO 8601 time");
    e->method = json_string_value(m);
    e->url = json_string_value(u);
    e->status = (int)json_integer_value(st);
    int bad = 0;
    char bp[300];
    const char *host = header_value(json_object_get(rq, "headers"), "host", &bad, bp, sizeof bp);
    if (bad)
        return HAR_BROKEN("/request/headers", "request.headers is not a list of {name, value}");
    json_t *rh = json_object_get(rs, "headers");
    const char *ct = header_value(rh, "content-type", &bad, bp, sizeof bp);
    const char *ce = bad ? NULL : header_value(rh, "content-encoding", &bad, bp, sizeof bp);
    if (bad)
        return HAR_BROKEN("/response/headers", "response.headers is not a list of {name, value}");
    json_t *content = json_object_get(rs, "content");
    if (content && !json_is_null(content) && !json_is_object(content))
        return HAR_BROKEN("/response/content", "response.content is not an object");
    const char *mime = json_string_value(json_object_get(content, "mimeType"));
    e->content_type = ct ? ct : (mime && mime[0] ? mime : NULL);
    if (set_host(c, e, e->url, host))
        return broken(c, err, DG_ENOMEM, NULL, 0, "out of memory");
    json_t *text = json_object_get(content, "text"), *enc = json_object_get(content, "encoding"),
           *size = json_object_get(content, "size");
    if (text && !json_is_null(text) && !json_is_string(text))
        return HAR_BROKEN("/response/content/text", "response.content.text is not a string");
    const char *encs = json_string_value(enc);
    if (enc && !json_is_null(enc) && (!encs || (encs[0] && strcasecmp(encs, "base64"))))
        return HAR_BROKEN("/response/content/encoding",
                          "response.content.encoding is not \"base64\"");
    if (json_is_string(text) && json_string_length(text)) {
        if (encs && encs[0]) {
            int rc = b64_decode(json_string_value(text), json_string_length(text), &c->body);
            if (rc == DG_ENOMEM)
                return broken(c, err, DG_ENOMEM, NULL, 0, "out of memory");
            if (rc)
                return HAR_BROKEN("/response/content/text",
                                  "response.content.text is not valid base64");
            e->body = c->body.data ? c->body.data : "";
            e->body_len = c->body.len;
        } else {
            e->body = json_string_value(text);
            e->body_len = json_string_length(text);
        }
    }
    if (e->body_len) {
        e->has_body = 1;
        if (still_encoded(ce, e->body, e->body_len))
            e->content_encoding = ce;
    } else {
        int no_body = (json_is_integer(size) && json_integer_value(size) == 0) ||
                      e->status == 204 || e->status == 304 || (e->status >= 100 && e->status < 200) ||
                      !strcasecmp(e->method, "HEAD");
        e->has_body = no_body ? 0 : -1;
    }
    return 1;
#undef HAR_BROKEN
}

int dg_capture_next(dg_capture *c, dg_capture_entry *e, dg_error *err)
{
    memset(e, 0, sizeof *e);
    if (c->fmt == DG_CAPTURE_HAR) {
        if (c->next >= json_array_size(c->entries))
            return 0;
        size_t i = c->next++;
        return har_entry(c, i, e, err);
    }
    return next_line_entry(c, e, err);
}
