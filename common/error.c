#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dg_error_set(dg_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    memset(err, 0, sizeof *err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void dg_error_locate(dg_error *err, const char *file, unsigned line, unsigned col,
                     const char *pointer)
{
    if (!err)
        return;
    if (file)
        snprintf(err->file, sizeof err->file, "%s", file);
    if (line) {
        err->line = line;
        err->col = col;
    }
    if (pointer)
        snprintf(err->pointer, sizeof err->pointer, "%s", pointer);
}

const char *dg_error_format(const dg_error *err, char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
#define APPEND(...)                                                            \
    do {                                                                       \
        if (n < outsz) {                                                       \
            int w_ = snprintf(out + n, outsz - n, __VA_ARGS__);                \
            if (w_ > 0)                                                        \
                n += (size_t)w_;                                               \
        }                                                                      \
    } while (0)
    if (err->file[0])
        APPEND("%s:", err->file);
    if (err->line)
        APPEND("%u:%u:", err->line, err->col);
    else if (err->has_offset)
        APPEND("offset %llu:", (unsigned long long)err->offset);
    if (n)
        APPEND(" ");
    if (err->pointer[0])
        APPEND("at %s: ", err->pointer);
    APPEND("%s", err->msg);
#undef APPEND
    return out;
}

const char *dg_error_code_name(int code)
{
    switch (code) {
    case DG_OK: return "ok";
    case DG_ENOMEM: return "nomem";
    case DG_EPARSE: return "parse";
    case DG_ELIMIT: return "limit";
    case DG_EIO: return "io";
    case DG_EINVAL: return "invalid";
    case DG_ESPEC: return "spec";
    case DG_ENOTFOUND: return "notfound";
    case DG_ESTOP: return "stopped";
    default: return "error";
    }
}
