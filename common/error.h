/* common/error.h: the error type every fallible driftgate function fills.
 *
 * Functions that can fail return int (0 ok, negative DG_E* code) and take an
 * optional dg_error * (may be NULL) that receives a message and, where known,
 * a location: a file with line:column, a byte offset into a stream, and/or a
 * JSON pointer. Plain data, no allocation; safe to copy. */
#ifndef DG_COMMON_ERROR_H
#define DG_COMMON_ERROR_H

#include <stddef.h>
#include <stdint.h>

enum {
    DG_OK = 0,
    DG_ENOMEM = -1,  /* allocation failed */
    DG_EPARSE = -2,  /* malformed input (JSON/YAML syntax, bad UTF-8) */
    DG_ELIMIT = -3,  /* a configured limit was exceeded */
    DG_EIO = -4,     /* file or stream I/O */
    DG_EINVAL = -5,  /* invalid argument or usage */
    DG_ESPEC = -6,   /* spec/schema is invalid or cannot be resolved */
    DG_ENOTFOUND = -7,
    DG_ESTOP = -8    /* a callback asked to stop */
};

typedef struct dg_error {
    int code;
    char msg[512];
    char file[256];      /* "" when not about a file */
    unsigned line, col;  /* 1-based; 0 when unknown */
    uint64_t offset;     /* byte offset into the stream; valid when has_offset */
    int has_offset;
    char pointer[256];   /* JSON pointer, "" when unknown */
} dg_error;

/* Fills err (when non-NULL) with code and a printf-style message; returns code
 * so callers can write `return dg_error_set(err, DG_EPARSE, "...")`. Location
 * fields are cleared. */
int dg_error_set(dg_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a location to an error already set (any argument may be NULL/0). */
void dg_error_locate(dg_error *err, const char *file, unsigned line, unsigned col,
                     const char *pointer);

/* Formats "file:line:col: pointer: message" (omitting unknown parts) into out.
 * Returns out. */
const char *dg_error_format(const dg_error *err, char *out, size_t outsz);

/* Short name of a code ("parse", "limit", ...). */
const char *dg_error_code_name(int code);

#endif
