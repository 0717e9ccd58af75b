/* common/buf.h: a growable byte buffer (always NUL-terminated) and a bump
 * arena. Not thread-safe; each object is owned by one thread. */
#ifndef DG_COMMON_BUF_H
#define DG_COMMON_BUF_H

#include <stddef.h>

typedef struct dg_buf {
    char *data;   /* owned; NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
} dg_buf;

#define DG_BUF_INIT {NULL, 0, 0}

/* Ensures room for `extra` more bytes plus the NUL. 0 or DG_ENOMEM. */
int dg_buf_reserve(dg_buf *b, size_t extra);
int dg_buf_append(dg_buf *b, const void *p, size_t n);
int dg_buf_putc(dg_buf *b, char c);
int dg_buf_printf(dg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s escaped as the body of a JSON string (no surrounding quotes). */
int dg_buf_append_json_str(dg_buf *b, const char *s, size_t n);
void dg_buf_reset(dg_buf *b);  /* len = 0, keeps memory */
void dg_buf_free(dg_buf *b);

/* Arena: many small allocations freed together. Blocks are malloc'd on demand. */
typedef struct dg_arena_block dg_arena_block;
typedef struct dg_arena {
    dg_arena_block *head;
    size_t used;        /* bytes handed out in total (for limits/metrics) */
} dg_arena;

#define DG_ARENA_INIT {NULL, 0}

/* Returns n bytes aligned to 16, or NULL on allocation failure/overflow. */
void *dg_arena_alloc(dg_arena *a, size_t n);
char *dg_arena_strndup(dg_arena *a, const char *s, size_t n);
void dg_arena_free(dg_arena *a);  /* frees every block; arena reusable */

#endif
