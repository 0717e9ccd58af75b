/* validate/doc.c: the document loader's public API, its side tables, the
 * JSON path (built from our streaming tokenizer's events) and JSON pointers.
 * The YAML path lives in doc_yaml.c. */
#include "validate/doc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/text.h"
#include "validate/doc_internal.h"
#include "validate/json.h"

/* ---- pointer-keyed hash map ------------------------------------------- */

static size_t ptr_hash(const void *p)
{
    /* json_t pointers are 16-byte aligned and clustered; mix all bits. */
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int ptrmap_grow(dg_ptrmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    if (ncap < m->cap || ncap > SIZE_MAX / sizeof(dg_ptrmap_slot))
        return DG_ENOMEM;
    dg_ptrmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return DG_ENOMEM;
    size_t mask = ncap - 1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = ptr_hash(m->slots[i].key) & mask;
        while (ns[j].key)
            j = (j + 1) & mask;
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int dg_ptrmap_put(dg_ptrmap *m, const void *key, uint64_t val)
{
    /* Keep the load below 0.7 so linear probes stay short. */
    if ((m->count + 1) * 10 > m->cap * 7 && ptrmap_grow(m))
        return DG_ENOMEM;
    size_t mask = m->cap - 1, i = ptr_hash(key) & mask;
    while (m->slots[i].key) {
        if (m->slots[i].key == key) {
            m->slots[i].val = val;
            return 0;
        }
        i = (i + 1) & mask;
    }
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->count++;
    return 0;
}

int dg_ptrmap_get(const dg_ptrmap *m, const void *key, uint64_t *val)
{
    if (!m->cap || !key)
        return 0;
    size_t mask = m->cap - 1, i = ptr_hash(key) & mask;
    while (m->slots[i].key) {
        if (m->slots[i].key == key) {
            *val = m->slots[i].val;
            return 1;
        }
        i = (i + 1) & mask;
    }
    return 0;
}

void dg_ptrmap_del(dg_ptrmap *m, const void *key)
{
    if (!m->cap || !key)
        return;
    size_t mask = m->cap - 1, i = ptr_hash(key) & mask;
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        return;
    /* Backward-shift deletion: move later members of the probe run into the
     * hole when their home slot does not lie (cyclically) after the hole. */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key)
            break;
        size_t home = ptr_hash(m->slots[j].key) & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].key = NULL;
    m->slots[hole].val = 0;
    m->count--;
}

void dg_ptrmap_free(dg_ptrmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* ---- document object --------------------------------------------------- */

static dg_doc *doc_new(const char *name)
{
    dg_doc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->name = strdup(name ? name : "");
    if (!d->name) {
        free(d);
        return NULL;
    }
    return d;
}

dg_doc *dg_doc_wrap(const char *name, json_t *root)
{
    dg_doc *d = doc_new(name);
    if (!d)
        return NULL;
    d->root = json_incref(root);
    return d;
}

json_t *dg_doc_root(const dg_doc *d)
{
    return d ? d->root : NULL;
}

const char *dg_doc_name(const dg_doc *d)
{
    return d ? d->name : NULL;
}

int dg_doc_loc(const dg_doc *d, const json_t *node, unsigned *line, unsigned *col)
{
    uint64_t v;
    if (!d || !dg_ptrmap_get(&d->locs, node, &v))
        return DG_ENOTFOUND;
    if (line)
        *line = (unsigned)(v >> 32);
    if (col)
        *col = (unsigned)(v & 0xffffffffu);
    return 0;
}

const char *dg_doc_number_text(const dg_doc *d, const json_t *node)
{
    uint64_t v;
    if (!d || !json_is_real(node) || !dg_ptrmap_get(&d->nums, node, &v))
        return NULL;
    return (const char *)(uintptr_t)v;
}

void dg_doc_free(dg_doc *d)
{
    if (!d)
        return;
    json_decref(d->root);
    dg_ptrmap_free(&d->locs);
    dg_ptrmap_free(&d->nums);
    dg_arena_free(&d->arena);
    free(d->name);
    free(d);
}

int dg_doc__set_loc(dg_doc *d, const json_t *node, unsigned line, unsigned col)
{
    /* jansson's true/false/null are shared singletons (refcount -1), so one
     * of them cannot say where it came from: they get no location, and
     * dg_doc_loc reports DG_ENOTFOUND for them (callers fall back to the
     * parent's location) rather than the location of some other literal. */
    if (node->refcount == (size_t)-1)
        return 0;
    return dg_ptrmap_put(&d->locs, node, (uint64_t)line << 32 | col);
}

json_t *dg_doc__real_from_text(dg_doc *d, const char *s, size_t len)
{
    char *text = dg_arena_strndup(&d->arena, s, len);
    if (!text)
        return NULL;
    double v = strtod(text, NULL);
    if (isinf(v))
        v = copysign(DBL_MAX, v);
    else if (isnan(v))  /* cannot come from number grammar; be safe */
        v = 0;
    json_t *r = json_real(v);
    if (!r)
        return NULL;
    if (dg_ptrmap_put(&d->nums, r, (uint64_t)(uintptr_t)text)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Forget the entries of every node the coming decref will free: a node is
 * freed when ours is its last reference, and then so are those children that
 * have no other owner. The recursion follows the tree and is bounded by
 * DG_DOC_MAX_DEPTH. */
static void forget_freed(dg_doc *d, json_t *node)
{
    if (!node || node->refcount != 1)
        return;
    dg_ptrmap_del(&d->locs, node);
    dg_ptrmap_del(&d->nums, node);
    if (json_is_object(node)) {
        const char *k;
        json_t *v;
        json_object_foreach(node, k, v) forget_freed(d, v);
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) forget_freed(d, v);
    }
}

void dg_doc__discard(dg_doc *d, json_t *node)
{
    forget_freed(d, node);
    json_decref(node);
}

void dg_doc__line_col(const char *p, size_t n, size_t off, unsigned *line, unsigned *col)
{
    unsigned l = 1;
    size_t bol = 0;
    if (off > n)
        off = n;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + off - q))) != NULL; q++) {
        l++;
        bol = (size_t)(q - p) + 1;
    }
    *line = l;
    *col = (unsigned)(off - bol + 1);
}

/* ---- JSON --------------------------------------------------------------- */

typedef struct jctx {
    dg_doc *d;
    const char *src;
    size_t n;
    size_t pos;           /* line/col cursor: offsets only grow */
    unsigned line, col;
    json_t **stack;       /* open containers, borrowed (owned by parents) */
    size_t depth, cap;
    dg_buf key;           /* pending key of the innermost object */
    int code;             /* the sink's own error, reported through err */
    dg_error err;
} jctx;

static void jctx_seek(jctx *c, uint64_t off)
{
    if (off > c->n)
        off = c->n;
    if (off < c->pos) {
        c->pos = 0;
        c->line = c->col = 1;
    }
    while (c->pos < off) {
        const char *nl = memchr(c->src + c->pos, '\n', (size_t)off - c->pos);
        if (!nl) {
            c->col += (unsigned)((size_t)off - c->pos);
            c->pos = (size_t)off;
            break;
        }
        c->line++;
        c->col = 1;
        c->pos = (size_t)(nl - c->src) + 1;
    }
}

static int jfail(jctx *c, int code, uint64_t off, const char *fmt, const char *arg)
{
    dg_error_set(&c->err, code, fmt, arg);
    if (off != UINT64_MAX) {
        jctx_seek(c, off);
        c->err.line = c->line;
        c->err.col = c->col;
        c->err.offset = off;
        c->err.has_offset = 1;
    }
    c->code = code;
    return 1;
}

static int jsink(void *vctx, dg_json_ev ev, const dg_json_token *tok)
{
    jctx *c = vctx;
    json_t *node = NULL, *parent = c->depth ? c->stack[c->depth - 1] : NULL;
    uint64_t off = tok ? tok->offset : UINT64_MAX;

    switch (ev) {
    case DG_EV_OBJ_END:
    case DG_EV_ARR_END:
        if (c->depth)
            c->depth--;
        return 0;
    case DG_EV_KEY:
        if (!json_is_object(parent) || !tok)
            return jfail(c, DG_EPARSE, off, "%s", "unexpected key");
        const char *key = tok->s ? tok->s : "";
        if (json_object_getn(parent, key, tok->len)) {
            char shown[80];
            dg_buf b = DG_BUF_INIT;
            size_t show = tok->len > 60 ? 60 : tok->len;
            if (dg_buf_append_json_str(&b, key, show))
                return jfail(c, DG_ENOMEM, UINT64_MAX, "%s", "out of memory");
            snprintf(shown, sizeof shown, "%s%s", b.data, show < tok->len ? "..." : "");
            dg_buf_free(&b);
            return jfail(c, DG_EPARSE, off, "duplicate key \"%s\"", shown);
        }
        dg_buf_reset(&c->key);
        if (dg_buf_append(&c->key, key, tok->len))
            return jfail(c, DG_ENOMEM, UINT64_MAX, "%s", "out of memory");
        return 0;
    case DG_EV_OBJ_START: node = json_object(); break;
    case DG_EV_ARR_START: node = json_array(); break;
    case DG_EV_STRING:
        node = tok ? json_stringn_nocheck(tok->s ? tok->s : "", tok->len) : NULL;
        break;
    case DG_EV_NUMBER:
        if (!tok)
            break;
        if (tok->num_flags & DG_NUM_I64)
            node = json_integer((json_int_t)tok->i);
        else
            node = dg_doc__real_from_text(c->d, tok->s, tok->len);
        break;
    case DG_EV_TRUE: node = json_true(); break;
    case DG_EV_FALSE: node = json_false(); break;
    case DG_EV_NULL: node = json_null(); break;
    }
    if (!node)
        return jfail(c, DG_ENOMEM, UINT64_MAX, "%s", "out of memory");
    if (tok) {
        jctx_seek(c, off);
        if (dg_doc__set_loc(c->d, node, c->line, c->col)) {
            json_decref(node);
            return jfail(c, DG_ENOMEM, UINT64_MAX, "%s", "out of memory");
        }
    }
    int container = ev == DG_EV_OBJ_START || ev == DG_EV_ARR_START;
    if (container && c->depth == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        json_t **ns = realloc(c->stack, ncap * sizeof *ns);
        if (!ns) {
            json_decref(node);
            return jfail(c, DG_ENOMEM, UINT64_MAX, "%s", "out of memory");
        }
        c->stack = ns;
        c->cap = ncap;
    }
    /* Attach at once (jansson holds the reference), so the pending key only
     * has to live until the value's first event. */
    int rc;
    if (!parent) {
        if (c->d->root) {
            json_decref(node);
            return jfail(c, DG_EPARSE, off, "%s", "more than one top-level value");
        }
        c->d->root = node;
        rc = 0;
    } else if (json_is_object(parent)) {
        rc = json_object_setn_new_nocheck(parent, c->key.data ? c->key.data : "", c->key.len,
                                          node);
    } else {
        rc = json_array_append_new(parent, node);
    }
    if (rc)  /* jansson has released node */
        return jfail(c, DG_ENOMEM, UINT64_MAX, "%s", "out of memory");
    if (container)
        c->stack[c->depth++] = node;
    return 0;
}

static int load_json(dg_doc *d, const char *p, size_t n, dg_error *err)
{
    jctx c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.src = p;
    c.n = n;
    c.line = c.col = 1;
    dg_json_limits lim;
    dg_json_limits_default(&lim);
    lim.max_depth = DG_DOC_MAX_DEPTH;
    int rc = dg_json_parse_buffer(p, n, &lim, jsink, &c, err);
    if (rc && c.code) {
        *err = c.err;
        rc = c.code;
    } else if (!rc && !d->root) {
        rc = dg_error_set(err, DG_EPARSE, "empty document");
    }
    free(c.stack);
    dg_buf_free(&c.key);
    return rc;
}

/* ---- loading ------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

int dg_doc_load_buffer(const char *name, const char *p, size_t n, dg_doc_syntax syntax,
                       dg_doc **out, dg_error *err)
{
    dg_error local;
    memset(&local, 0, sizeof local);
    *out = NULL;
    if (!name)
        name = "";
    if (!p && n) {
        dg_error_set(&local, DG_EINVAL, "no input");
        goto fail_nodoc;
    }
    if (syntax == DG_DOC_AUTO) {
        size_t i = n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;  /* UTF-8 BOM */
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
            i++;
        syntax = (i < n && (p[i] == '{' || p[i] == '[')) || ends_with(name, ".json")
                     ? DG_DOC_JSON
                     : DG_DOC_YAML;
    }
    dg_doc *d = doc_new(name);
    if (!d) {
        dg_error_set(&local, DG_ENOMEM, "out of memory");
        goto fail_nodoc;
    }
    int rc = syntax == DG_DOC_JSON ? load_json(d, p ? p : "", n, &local)
                                   : dg_doc__load_yaml(d, p ? p : "", n, &local);
    if (rc) {
        dg_doc_free(d);
        if (!local.code)
            local.code = rc;
        goto fail_nodoc;
    }
    *out = d;
    return 0;
fail_nodoc:
    dg_error_locate(&local, name, 0, 0, NULL);
    if (err)
        *err = local;
    return local.code;
}

int dg_doc_load_file(const char *path, dg_doc_syntax syntax, dg_doc **out, dg_error *err)
{
    *out = NULL;
    /* Specs name files ($ref: '/dev/zero#/x', a FIFO): only regular files
     * of a sane size are read, and opening never blocks. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        dg_error_set(err, DG_EIO, "cannot open: %s", strerror(e));
        dg_error_locate(err, path, 0, 0, NULL);
        return DG_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        dg_error_set(err, DG_EIO, "not a regular file");
        dg_error_locate(err, path, 0, 0, NULL);
        return DG_EIO;
    }
    if ((uint64_t)st.st_size > DG_DOC_MAX_FILE) {
        close(fd);
        dg_error_set(err, DG_ELIMIT, "file is larger than %u MiB", (unsigned)(DG_DOC_MAX_FILE >> 20));
        dg_error_locate(err, path, 0, 0, NULL);
        return DG_ELIMIT;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    dg_buf b = DG_BUF_INIT;
    int rc = 0;
    for (;;) {
        if (b.len > DG_DOC_MAX_FILE) { /* grew while being read */
            rc = dg_error_set(err, DG_ELIMIT, "file is larger than %u MiB",
                              (unsigned)(DG_DOC_MAX_FILE >> 20));
            break;
        }
        if (dg_buf_reserve(&b, 65536)) {
            rc = dg_error_set(err, DG_ENOMEM, "out of memory");
            break;
        }
        size_t got = fread(b.data + b.len, 1, b.cap - b.len - 1, f);
        b.len += got;
        b.data[b.len] = '\0';
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                rc = dg_error_set(err, DG_EIO, "read error: %s", strerror(e));
            }
            break;
        }
    }
    fclose(f);
    if (!rc)
        rc = dg_doc_load_buffer(path, b.data ? b.data : "", b.len, syntax, out, err);
    else
        dg_error_locate(err, path, 0, 0, NULL);
    dg_buf_free(&b);
    return rc;
}

/* ---- JSON pointers ------------------------------------------------------- */

/* Array index token per RFC 6901: "0" or [1-9][0-9]*; "-" (past the end)
 * names no element. */
static int parse_index(const char *s, size_t n, size_t *out)
{
    if (n == 0 || (n > 1 && s[0] == '0'))
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        size_t dgt = (size_t)(s[i] - '0');
        if (v > (SIZE_MAX - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
    }
    *out = v;
    return 0;
}

json_t *dg_json_pointer_get(json_t *root, const char *ptr, size_t len, int uri_fragment)
{
    if (!root || (!ptr && len))
        return NULL;
    char stackbuf[512];
    char *scratch = stackbuf, *heap = NULL;
    json_t *cur = NULL;
    /* Room for the percent-decoded pointer and one unescaped token. */
    if (len > sizeof stackbuf / 2) {
        if (len > SIZE_MAX / 2 - 1 || !(heap = malloc(2 * len + 2)))
            return NULL;
        scratch = heap;
    }
    char *tokbuf = scratch + len + 1;
    if (uri_fragment) {
        if (len && ptr[0] == '#') {
            ptr++;
            len--;
        }
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (ptr[i] != '%') {
                scratch[o++] = ptr[i];
                continue;
            }
            int hi = i + 2 < len ? dg_hexval(ptr[i + 1]) : -1;
            int lo = i + 2 < len ? dg_hexval(ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                goto out;
            scratch[o++] = (char)(hi << 4 | lo);
            i += 2;
        }
        ptr = scratch;
        len = o;
    }
    cur = root;
    if (len == 0)
        goto out;
    if (ptr[0] != '/') {
        cur = NULL;
        goto out;
    }
    size_t i = 0;
    while (cur && i < len) {
        i++;  /* skip '/' */
        size_t tl = 0;
        for (; i < len && ptr[i] != '/'; i++) {
            char ch = ptr[i];
            if (ch == '~') {
                if (i + 1 >= len || (ptr[i + 1] != '0' && ptr[i + 1] != '1')) {
                    cur = NULL;
                    goto out;
                }
                ch = ptr[++i] == '0' ? '~' : '/';
            }
            tokbuf[tl++] = ch;
        }
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, tokbuf, tl);
        } else if (json_is_array(cur)) {
            size_t idx;
            cur = parse_index(tokbuf, tl, &idx) ? NULL : json_array_get(cur, idx);
        } else {
            cur = NULL;
        }
    }
out:
    free(heap);
    return cur;
}

int dg_json_pointer_append(struct dg_buf *b, const char *tok, size_t len)
{
    if (dg_buf_putc(b, '/'))
        return DG_ENOMEM;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] != '~' && tok[i] != '/')
            continue;
        if (dg_buf_append(b, tok + start, i - start) ||
            dg_buf_append(b, tok[i] == '~' ? "~0" : "~1", 2))
            return DG_ENOMEM;
        start = i + 1;
    }
    return dg_buf_append(b, tok + start, len - start);
}
