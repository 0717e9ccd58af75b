#include "common/buf.h"
#include "common/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dg_buf_reserve(dg_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return DG_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return DG_ENOMEM;
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return 0;
}

int dg_buf_append(dg_buf *b, const void *p, size_t n)
{
    if (dg_buf_reserve(b, n))
        return DG_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int dg_buf_putc(dg_buf *b, char c)
{
    return dg_buf_append(b, &c, 1);
}

int dg_buf_printf(dg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return DG_EINVAL;
    if (dg_buf_reserve(b, (size_t)n))
        return DG_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int dg_buf_append_json_str(dg_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (dg_buf_append(b, s + start, i - start))
            return DG_ENOMEM;
        char esc[7];
        size_t el = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            el = 6;
        }
        if (dg_buf_append(b, esc, el))
            return DG_ENOMEM;
        start = i + 1;
    }
    return dg_buf_append(b, s + start, n - start);
}

void dg_buf_reset(dg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void dg_buf_free(dg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

struct dg_arena_block {
    dg_arena_block *next;
    size_t size, off;
    _Alignas(16) unsigned char mem[];
};

#define DG_ARENA_BLOCK 16384u

void *dg_arena_alloc(dg_arena *a, size_t n)
{
    if (n > SIZE_MAX - 15)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    dg_arena_block *blk = a->head;
    if (!blk || blk->size - blk->off < n) {
        size_t sz = n > DG_ARENA_BLOCK ? n : DG_ARENA_BLOCK;
        if (sz > SIZE_MAX - sizeof *blk)
            return NULL;
        blk = malloc(sizeof *blk + sz);
        if (!blk)
            return NULL;
        blk->size = sz;
        blk->off = 0;
        blk->next = a->head;
        a->head = blk;
    }
    void *p = blk->mem + blk->off;
    blk->off += n;
    a->used += n;
    return p;
}

char *dg_arena_strndup(dg_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = dg_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void dg_arena_free(dg_arena *a)
{
    dg_arena_block *b = a->head;
    while (b) {
        dg_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}
