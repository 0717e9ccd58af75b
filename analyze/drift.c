/* analyze/drift.c: fingerprints, pointer normalisation, the in-memory
 * aggregator, and the drift/explanation value helpers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "analyze/drift.h"
#include "common/buf.h"

const char *const dg_classifications[] = {
    "provider_added_field", "provider_added_enum_value", "provider_type_change",
    "provider_removed_field", "nullability_change", "format_change",
    "spec_error", "transient", "unknown", NULL};

/* ---------------------------------------------------------------- values */

/* The owned strings of a dg_drift, in one place so clear and copy agree. */
#define DRIFT_STRS(X)                                                                      \
    X(api) X(operation) X(pointer) X(schema_loc) X(kind) X(observed_type) X(method)         \
    X(path_template) X(media_type) X(schema_pointer) X(severity) X(message) X(owner)        \
    X(spec_hash) X(example)

void dg_drift_clear(dg_drift *d)
{
    if (!d)
        return;
#define FREE_ONE(f) free(d->f);
    DRIFT_STRS(FREE_ONE)
#undef FREE_ONE
    free(d->days);
    memset(d, 0, sizeof *d);
}

void dg_drifts_free(dg_drift *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        dg_drift_clear(&d[i]);
    free(d);
}

static int dup_str(char **dst, const char *src)
{
    *dst = NULL;
    return src && !(*dst = strdup(src)) ? DG_ENOMEM : 0;
}

int dg_drift_copy(dg_drift *dst, const dg_drift *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->fingerprint, src->fingerprint, sizeof dst->fingerprint);
    dst->status = src->status;
    dst->first_seen_ms = src->first_seen_ms;
    dst->last_seen_ms = src->last_seen_ms;
    dst->count = src->count;
    int rc = 0;
#define COPY_ONE(f) rc |= dup_str(&dst->f, src->f);
    DRIFT_STRS(COPY_ONE)
#undef COPY_ONE
    if (!rc && src->n_days) {
        if (!(dst->days = malloc(src->n_days * sizeof *dst->days)))
            rc = DG_ENOMEM;
        else {
            memcpy(dst->days, src->days, src->n_days * sizeof *dst->days);
            dst->n_days = src->n_days;
        }
    }
    if (rc) {
        dg_drift_clear(dst);
        return DG_ENOMEM;
    }
    return 0;
}

#define EXPL_STRS(X) X(spec_hash) X(classification) X(cause) X(evidence) X(severity) X(patch) \
    X(source) X(backend) X(model)

void dg_explanation_clear(dg_explanation *e)
{
    if (!e)
        return;
#define FREE_ONE(f) free(e->f);
    EXPL_STRS(FREE_ONE)
#undef FREE_ONE
    memset(e, 0, sizeof *e);
}

int dg_explanation_copy(dg_explanation *dst, const dg_explanation *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->fingerprint, src->fingerprint, sizeof dst->fingerprint);
    dst->confidence = src->confidence;
    dst->created_ms = src->created_ms;
    int rc = 0;
#define COPY_ONE(f) rc |= dup_str(&dst->f, src->f);
    EXPL_STRS(COPY_ONE)
#undef COPY_ONE
    if (rc) {
        dg_explanation_clear(dst);
        return DG_ENOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------- identity */

int dg_pointer_is_index(const char *p, size_t n)
{
    if (n == 0 || (n > 1 && p[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

char *dg_pointer_normalise(const char *pointer)
{
    if (!pointer)
        pointer = "";
    size_t n = strlen(pointer);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = pointer;
    while (*p) {
        /* p at '/' (a pointer always starts with '/' when not empty) */
        const char *seg = p + 1;
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        out[o++] = '/';
        if (dg_pointer_is_index(seg, len)) {
            out[o++] = '*';
        } else {
            memcpy(out + o, seg, len);
            o += len;
        }
        p = seg + len;
        if (*p != '/' && *p)
            break; /* cannot happen: seg ended at '/' or NUL */
    }
    /* a pointer not starting with '/' (not RFC 6901): keep it as is */
    if (pointer[0] && pointer[0] != '/') {
        memcpy(out, pointer, n);
        o = n;
    }
    out[o] = 0;
    return out;
}

int dg_pointer_same_drift(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    if ((a[0] && a[0] != '/') || (b[0] && b[0] != '/'))
        return !strcmp(a, b);
    while (*a && *b) {
        const char *sa = a + 1, *sb = b + 1;
        const char *ea = strchr(sa, '/'), *eb = strchr(sb, '/');
        size_t la = ea ? (size_t)(ea - sa) : strlen(sa), lb = eb ? (size_t)(eb - sb) : strlen(sb);
        /* "*" is an index already normalised: a drift's pointer compares
         * equal to the raw pointers it stands for */
        int ia = dg_pointer_is_index(sa, la) || (la == 1 && *sa == '*');
        int ib = dg_pointer_is_index(sb, lb) || (lb == 1 && *sb == '*');
        if (ia != ib || (!ia && (la != lb || memcmp(sa, sb, la))))
            return 0;
        a = sa + la;
        b = sb + lb;
    }
    return !*a && !*b;
}

char *dg_schema_loc(const char *schema_pointer)
{
    if (!schema_pointer)
        return strdup("");
    const char *hash = strchr(schema_pointer, '#');
    const char *file_end = hash ? hash : schema_pointer + strlen(schema_pointer);
    const char *base = schema_pointer;
    for (const char *q = schema_pointer; q < file_end; q++)
        if (*q == '/')
            base = q + 1;
    size_t n = strlen(base);
    char *out = malloc(n + 1);
    if (out)
        memcpy(out, base, n + 1);
    return out;
}

void dg_drift_fingerprint(const dg_drift *d, char fp[DG_FP_LEN + 1])
{
    /* Fields separated by NUL bytes, so ("ab","c") and ("a","bc") differ. */
    char status[16];
    int sl = snprintf(status, sizeof status, "%d", d->status);
    const char *f[7] = {d->api, d->operation, status, d->pointer, d->schema_loc, d->kind,
                        d->observed_type};
    size_t len[7];
    for (int i = 0; i < 7; i++)
        len[i] = i == 2 ? (size_t)sl : f[i] ? strlen(f[i]) : 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (int i = 0; ok && i < 7; i++)
        ok = EVP_DigestUpdate(ctx, f[i] ? f[i] : "", len[i]) && EVP_DigestUpdate(ctx, "", 1);
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok || mdlen < DG_FP_LEN / 2) {
        /* libcrypto failing to hash is not recoverable in any useful way;
         * FNV-1a keeps the fingerprint stable instead of random. */
        uint64_t h = 1469598103934665603ull;
        for (int i = 0; i < 7; i++) {
            for (size_t j = 0; j < len[i]; j++)
                h = (h ^ (unsigned char)f[i][j]) * 1099511628211ull;
            h = (h ^ 0) * 1099511628211ull;
        }
        snprintf(fp, DG_FP_LEN + 1, "%016llx", (unsigned long long)h);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < DG_FP_LEN / 2; i++) {
        fp[2 * i] = hex[md[i] >> 4];
        fp[2 * i + 1] = hex[md[i] & 15];
    }
    fp[DG_FP_LEN] = 0;
}

int32_t dg_day_of_ms(int64_t ms)
{
    int64_t d = ms / 86400000;
    if (ms < 0 && ms % 86400000)
        d--;
    return (int32_t)d;
}

void dg_day_format(int32_t day, char out[11])
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
             tm.tm_mday);
    memcpy(out, tmp, 10);
    out[10] = 0;
}

static int example_json(const dg_anomaly *a, char **out)
{
    dg_buf b = DG_BUF_INIT;
    const char *t = a->shape_type ? a->shape_type : "";
    int rc = dg_buf_append(&b, "{\"type\":\"", 9) || dg_buf_append_json_str(&b, t, strlen(t)) ||
             dg_buf_printf(&b, "\",\"length\":%llu", (unsigned long long)a->shape_length);
    if (!rc && a->shape_number_class)
        rc = dg_buf_append(&b, ",\"number_class\":\"", 17) ||
             dg_buf_append_json_str(&b, a->shape_number_class, strlen(a->shape_number_class)) ||
             dg_buf_putc(&b, '"');
    /* The value is JSON text possibly cut at a byte limit: kept as a string. */
    if (!rc && a->value)
        rc = dg_buf_append(&b, ",\"value\":\"", 10) ||
             dg_buf_append_json_str(&b, a->value, strlen(a->value)) || dg_buf_putc(&b, '"');
    if (!rc)
        rc = dg_buf_putc(&b, '}');
    if (rc || !b.data) {
        dg_buf_free(&b);
        return DG_ENOMEM;
    }
    *out = b.data; /* malloc'd, NUL-terminated */
    return 0;
}

int dg_drift_from_anomaly(const dg_anomaly *a, dg_drift *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    rc |= dup_str(&out->api, a->api ? a->api : "");
    rc |= dup_str(&out->operation, a->operation ? a->operation : "");
    out->status = a->status;
    if (!rc && !(out->pointer = dg_pointer_normalise(a->instance_pointer)))
        rc = DG_ENOMEM;
    if (!rc && !(out->schema_loc = dg_schema_loc(a->schema_pointer)))
        rc = DG_ENOMEM;
    rc |= dup_str(&out->kind, a->kind ? a->kind : "other");
    rc |= dup_str(&out->observed_type, a->shape_type ? a->shape_type : "");
    rc |= dup_str(&out->method, a->method);
    rc |= dup_str(&out->path_template, a->path_template);
    rc |= dup_str(&out->media_type, a->media_type);
    rc |= dup_str(&out->schema_pointer, a->schema_pointer);
    rc |= dup_str(&out->severity, dg_severity_name(a->severity));
    rc |= dup_str(&out->message, a->message);
    rc |= dup_str(&out->owner, a->owner ? a->owner : "unowned");
    rc |= dup_str(&out->spec_hash, a->spec_hash);
    if (!rc)
        rc = example_json(a, &out->example);
    if (!rc && !(out->days = malloc(sizeof *out->days)))
        rc = DG_ENOMEM;
    if (rc) {
        dg_drift_clear(out);
        return DG_ENOMEM;
    }
    int64_t ms = a->ts_ns / 1000000;
    out->first_seen_ms = out->last_seen_ms = ms;
    out->count = a->count ? a->count : 1;
    out->days[0].day = dg_day_of_ms(ms);
    out->days[0].count = out->count;
    out->n_days = 1;
    dg_drift_fingerprint(out, out->fingerprint);
    return 0;
}
