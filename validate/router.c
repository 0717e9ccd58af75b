/* validate/router.c: the routing table behind validate/router.h.
 *
 * Layout: every distinct server base path (as a list of decoded segments)
 * owns one segment trie per HTTP method. Each trie edge is either a literal
 * segment (children kept sorted, found by binary search) or a segment
 * pattern such as "{}" or "{}.json" (kept in priority order: more literal
 * characters first). Matching walks the trie depth first, trying the literal
 * child before any pattern child at each segment, so the first complete
 * match is the one with the most literal segments earliest. Each trie node
 * sits at a fixed depth, so one walk visits every node at most once.
 *
 * All memory of a router (nodes, strings, arrays) lives in one arena freed
 * by dg_router_free. Arrays grow by doubling inside the arena; the abandoned
 * copies cost at most as much as the final ones. */
#include "validate/router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"

#define N_METHODS 8
#define MAX_REF_HOPS 32

static const char *const k_methods[N_METHODS] = {"get",     "put",  "post",  "delete",
                                                 "options", "head", "patch", "trace"};
static const char *const k_methods_uc[N_METHODS] = {"GET",     "PUT",  "POST",  "DELETE",
                                                    "OPTIONS", "HEAD", "PATCH", "TRACE"};

/* A templated segment: literal pieces lit[0] {var} lit[1] ... {var} lit[nvars].
 * Each variable matches one or more bytes. Pieces are percent-decoded. */
typedef struct seg_pat {
    size_t nvars;
    const char **lit;
    size_t *len;
    size_t lit_total;
} seg_pat;

typedef struct tseg {   /* one template segment: literal when pat == NULL */
    const char *lit;
    size_t len;
    seg_pat *pat;
} tseg;

typedef struct rnode rnode;
struct rnode {
    const char *lit;    /* edge label for a literal child */
    size_t len;
    seg_pat *pat;       /* edge label for a pattern child */
    rnode **lits;       /* sorted by lit_cmp */
    size_t nlits, caplits;
    rnode **pats;       /* sorted by pat_cmp (priority order) */
    size_t npats, cappats;
    int op;             /* operation ending here, -1 when none */
};

typedef struct rbase {
    const char **seg;   /* decoded, never empty */
    size_t *len;
    size_t nsegs;
    size_t order;       /* creation order, for a stable sort */
    rnode *root[N_METHODS];
} rbase;

typedef struct idlist {  /* a set of base indices */
    size_t *v;
    size_t n, cap;
} idlist;

typedef struct id_entry {
    const char *id;
    size_t op;
} id_entry;

struct dg_router {
    json_t *root;
    dg_ref_resolver resolve;
    void *rctx;
    int swagger2;
    dg_route_op *ops;
    size_t nops, capops;
    id_entry *ids;      /* sorted by id */
    size_t nids;
    rbase *bases;       /* sorted: most segments first */
    size_t nbases, capbases;
    size_t max_base_segs, max_tmpl_segs;
    dg_arena arena;
};

/* ---- small helpers ---------------------------------------------------- */

static void *arena_grow(dg_arena *a, void *old, size_t used, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 4;
    if (nc < *cap || nc > SIZE_MAX / elem)
        return NULL;
    void *p = dg_arena_alloc(a, nc * elem);
    if (!p)
        return NULL;
    if (used)
        memcpy(p, old, used * elem);
    *cap = nc;
    return p;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes of src into dst (room for n bytes); returns the
 * decoded length. A malformed escape is copied as is and sets *bad. */
static size_t pct_decode(char *dst, const char *src, size_t n, int *bad)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '%') {
            int h = i + 2 < n ? hexval((unsigned char)src[i + 1]) : -1;
            int l = h >= 0 ? hexval((unsigned char)src[i + 2]) : -1;
            if (l >= 0) {
                dst[o++] = (char)(h * 16 + l);
                i += 2;
                continue;
            }
            if (bad)
                *bad = 1;
        }
        dst[o++] = src[i];
    }
    return o;
}

static int lit_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

/* Priority order of pattern children; 0 means the same pattern. */
static int pat_cmp(const seg_pat *a, const seg_pat *b)
{
    if (a->lit_total != b->lit_total)
        return a->lit_total > b->lit_total ? -1 : 1;
    if (a->nvars != b->nvars)
        return a->nvars < b->nvars ? -1 : 1;
    for (size_t i = 0; i <= a->nvars; i++) {
        int c = lit_cmp(a->lit[i], a->len[i], b->lit[i], b->len[i]);
        if (c)
            return c;
    }
    return 0;
}

static int pat_match(const seg_pat *pt, const char *s, size_t n)
{
    size_t first = pt->len[0], last = pt->len[pt->nvars];
    if (n < pt->lit_total + pt->nvars)
        return 0;
    if (memcmp(s, pt->lit[0], first) || memcmp(s + n - last, pt->lit[pt->nvars], last))
        return 0;
    /* Leftmost placement of each middle piece leaves the most room for the
     * rest, so one greedy pass decides. */
    size_t pos = first, end = n - last;
    for (size_t i = 1; i < pt->nvars; i++) {
        size_t from = pos + 1;  /* the variable before piece i takes >= 1 byte */
        if (from > end)
            return 0;
        if (pt->len[i] == 0) {
            pos = from;
            continue;
        }
        const char *f = memmem(s + from, end - from, pt->lit[i], pt->len[i]);
        if (!f)
            return 0;
        pos = (size_t)(f - s) + pt->len[i];
    }
    return end >= pos + 1;
}

/* ---- JSON pointer writer: into a fixed buffer, or a dg_buf ------------- */

typedef struct pw {
    dg_buf *b;      /* when non-NULL, write here */
    char *p;        /* else into p[cap] */
    size_t cap, len;
    int over;       /* fixed buffer too small: the pointer is unknown */
    int nomem;
} pw;

static void pw_raw(pw *w, const char *s, size_t n)
{
    if (w->b) {
        if (!w->nomem && dg_buf_append(w->b, s, n))
            w->nomem = 1;
        return;
    }
    if (w->over || n >= w->cap - w->len) {
        w->over = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

static void pw_reset(pw *w)
{
    if (w->b)
        dg_buf_reset(w->b);
    else {
        w->len = 0;
        w->over = 0;
        w->p[0] = '\0';
    }
}

static const char *pw_str(const pw *w)
{
    if (w->b)
        return w->b->data ? w->b->data : "";
    return w->over ? "" : w->p;
}

/* Appends "/" and tok escaped per RFC 6901. */
static void pw_tok(pw *w, const char *tok, size_t n)
{
    pw_raw(w, "/", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] != '~' && tok[i] != '/')
            continue;
        pw_raw(w, tok + start, i - start);
        pw_raw(w, tok[i] == '~' ? "~0" : "~1", 2);
        start = i + 1;
    }
    pw_raw(w, tok + start, n - start);
}

/* Replaces w with the pointer a $ref string designates inside its target
 * document: the (percent-decoded) fragment, or "" for a whole document. A
 * plain-name fragment ("#anchor") has no pointer: w is left alone. */
static void pw_from_ref(pw *w, const char *ref)
{
    const char *h = strchr(ref, '#');
    if (h && h[1] && h[1] != '/')
        return;
    pw_reset(w);
    if (!h)
        return;
    for (const char *s = h + 1; *s; s++) {
        char c = *s;
        int hi, lo;
        if (c == '%' && (hi = hexval((unsigned char)s[1])) >= 0 &&
            (lo = hexval((unsigned char)s[2])) >= 0) {
            c = (char)(hi * 16 + lo);
            s += 2;
        }
        pw_raw(w, &c, 1);
    }
}

/* ---- $ref ----------------------------------------------------------------- */

/* Follows node's $ref chain to a node without $ref. w (may be NULL) holds the
 * pointer of node and is updated to the pointer of the target. */
static int follow_refs(const dg_router *r, json_t *node, json_t **out, pw *w, dg_error *err)
{
    for (int hops = 0;; hops++) {
        json_t *ref = json_is_object(node) ? json_object_get(node, "$ref") : NULL;
        if (!json_is_string(ref)) {
            *out = node;
            return 0;
        }
        const char *s = json_string_value(ref);
        const char *at = w ? pw_str(w) : NULL;
        if (hops == MAX_REF_HOPS) {
            dg_error_set(err, DG_ESPEC, "$ref chain longer than %d hops at \"%s\"", MAX_REF_HOPS, s);
            dg_error_locate(err, NULL, 0, 0, at);
            return DG_ESPEC;
        }
        dg_error le;
        memset(&le, 0, sizeof le);
        json_t *t = r->resolve ? r->resolve(r->rctx, node, s, &le) : NULL;
        if (!t) {
            int code = le.code < 0 ? le.code : DG_ESPEC;
            if (!le.msg[0])
                dg_error_set(&le, code, "cannot resolve $ref \"%s\"%s", s,
                             r->resolve ? "" : " (no resolver)");
            le.code = code;
            if (!le.pointer[0] && at)
                dg_error_locate(&le, NULL, 0, 0, at);
            if (err)
                *err = le;
            return code;
        }
        if (w)
            pw_from_ref(w, s);
        node = t;
    }
}

/* ---- building ------------------------------------------------------------- */

static char *arena_strdup(dg_arena *a, const char *s)
{
    return dg_arena_strndup(a, s, strlen(s));
}

static int nomem(dg_error *err)
{
    return dg_error_set(err, DG_ENOMEM, "out of memory building the router");
}

/* Finds or adds the base path whose path part is p[0..n). */
static int add_base(dg_router *r, const char *p, size_t n, size_t *idx)
{
    size_t nsegs = 0, i = 0;
    const char *segs[64];
    size_t lens[64];
    while (i < n) {
        while (i < n && p[i] == '/')
            i++;
        size_t s = i;
        while (i < n && p[i] != '/')
            i++;
        if (i == s)
            continue;
        if (nsegs == 64)
            return DG_ELIMIT;
        char *d = dg_arena_alloc(&r->arena, i - s + 1);
        if (!d)
            return DG_ENOMEM;
        lens[nsegs] = pct_decode(d, p + s, i - s, NULL);
        d[lens[nsegs]] = '\0';
        segs[nsegs++] = d;
    }
    for (size_t b = 0; b < r->nbases; b++) {
        const rbase *rb = &r->bases[b];
        if (rb->nsegs != nsegs)
            continue;
        size_t k = 0;
        while (k < nsegs && !lit_cmp(rb->seg[k], rb->len[k], segs[k], lens[k]))
            k++;
        if (k == nsegs) {
            *idx = b;
            return 0;
        }
    }
    if (r->nbases == r->capbases) {
        rbase *nb = arena_grow(&r->arena, r->bases, r->nbases, &r->capbases, sizeof *nb);
        if (!nb)
            return DG_ENOMEM;
        r->bases = nb;
    }
    rbase *rb = &r->bases[r->nbases];
    memset(rb, 0, sizeof *rb);
    rb->seg = dg_arena_alloc(&r->arena, (nsegs ? nsegs : 1) * sizeof *rb->seg);
    rb->len = dg_arena_alloc(&r->arena, (nsegs ? nsegs : 1) * sizeof *rb->len);
    if (!rb->seg || !rb->len)
        return DG_ENOMEM;
    memcpy(rb->seg, segs, nsegs * sizeof *segs);
    memcpy(rb->len, lens, nsegs * sizeof *lens);
    rb->nsegs = nsegs;
    rb->order = r->nbases;
    if (nsegs > r->max_base_segs)
        r->max_base_segs = nsegs;
    *idx = r->nbases++;
    return 0;
}

static int idlist_add(dg_router *r, idlist *l, size_t v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return 0;
    if (l->n == l->cap) {
        size_t *nv = arena_grow(&r->arena, l->v, l->n, &l->cap, sizeof *nv);
        if (!nv)
            return DG_ENOMEM;
        l->v = nv;
    }
    l->v[l->n++] = v;
    return 0;
}

/* Adds the base path of one OAS 3 Server Object: the url with its variables'
 * defaults substituted, minus scheme://host[:port], query and fragment. */
static int add_server(dg_router *r, json_t *server, idlist *l)
{
    const char *url = json_string_value(json_object_get(server, "url"));
    if (!url)
        return 0;
    json_t *vars = json_object_get(server, "variables");
    dg_buf u = DG_BUF_INIT;
    int rc = dg_buf_append(&u, "", 0);
    for (const char *s = url; !rc && *s;) {
        const char *close = *s == '{' ? strchr(s, '}') : NULL;
        if (!close) {
            rc = dg_buf_putc(&u, *s++);
            continue;
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(close - s - 1), s + 1);
        const char *def = json_string_value(
            json_object_get(json_object_get(vars, name), "default"));
        if (def)
            rc = dg_buf_append(&u, def, strlen(def));
        else  /* no default: keep the text; such a base only matches literally */
            rc = dg_buf_append(&u, s, (size_t)(close - s + 1));
        s = close + 1;
    }
    if (rc) {
        dg_buf_free(&u);
        return DG_ENOMEM;
    }
    const char *p = u.data, *sep = strstr(p, "://");
    if (sep && sep < p + strcspn(p, "/?#"))
        p = sep + 3;
    else if (p[0] == '/' && p[1] == '/')
        p += 2;
    else
        p = NULL;  /* already a path (relative url) */
    if (p)
        p += strcspn(p, "/?#");
    else
        p = u.data;
    size_t idx;
    rc = add_base(r, p, strcspn(p, "?#"), &idx);
    if (!rc)
        rc = idlist_add(r, l, idx);
    dg_buf_free(&u);
    return rc;
}

/* Base paths for a `servers` array; *l untouched when there is none. */
static int servers_bases(dg_router *r, json_t *servers, idlist *l, int *found)
{
    size_t i;
    json_t *s;
    *found = 0;
    if (!json_is_array(servers))
        return 0;
    idlist nl = {NULL, 0, 0};
    json_array_foreach(servers, i, s) {
        int rc = add_server(r, s, &nl);
        if (rc)
            return rc;
    }
    if (nl.n) {
        *l = nl;
        *found = 1;
    }
    return 0;
}

static int tmpl_error(dg_error *err, const char *ptr, const char *tmpl, const char *why)
{
    dg_error_set(err, DG_ESPEC, "bad path template \"%s\": %s", tmpl, why);
    dg_error_locate(err, NULL, 0, 0, ptr);
    return DG_ESPEC;
}

/* Splits a template into segments, validating its {variables}. */
static int parse_template(dg_router *r, const char *tmpl, const char *ptr, tseg **out,
                          size_t *nout, dg_error *err)
{
    size_t n = strlen(tmpl), nsegs = 0, nbraces = 0;
    if (tmpl[0] != '/')
        return tmpl_error(err, ptr, tmpl, "does not start with '/'");
    for (size_t i = 0; i < n; i++) {
        nsegs += tmpl[i] == '/';
        nbraces += tmpl[i] == '{';
    }
    tseg *segs = dg_arena_alloc(&r->arena, nsegs * sizeof *segs);
    const char **names = dg_arena_alloc(&r->arena, (nbraces + 1) * sizeof *names);
    size_t *nlens = dg_arena_alloc(&r->arena, (nbraces + 1) * sizeof *nlens);
    if (!segs || !names || !nlens)
        return nomem(err);
    size_t nnames = 0, k = 0;
    for (size_t i = 1; k < nsegs; k++) {
        size_t s = i;
        while (i < n && tmpl[i] != '/')
            i++;
        const char *seg = tmpl + s;
        size_t sl = i - s, nv = 0;
        i++;
        char *d = dg_arena_alloc(&r->arena, sl + 1);
        if (!d)
            return nomem(err);
        tseg *ts = &segs[k];
        memset(ts, 0, sizeof *ts);
        if (!memchr(seg, '{', sl) && !memchr(seg, '}', sl)) {
            ts->len = pct_decode(d, seg, sl, NULL);
            d[ts->len] = '\0';
            ts->lit = d;
            continue;
        }
        for (size_t j = 0; j < sl; j++)
            nv += seg[j] == '{';
        seg_pat *pt = dg_arena_alloc(&r->arena, sizeof *pt);
        const char **lit = dg_arena_alloc(&r->arena, (nv + 1) * sizeof *lit);
        size_t *len = dg_arena_alloc(&r->arena, (nv + 1) * sizeof *len);
        if (!pt || !lit || !len)
            return nomem(err);
        pt->nvars = nv;
        pt->lit = lit;
        pt->len = len;
        pt->lit_total = 0;
        size_t piece = 0, j = 0;
        while (piece <= nv) {
            size_t ls = j;
            while (j < sl && seg[j] != '{' && seg[j] != '}')
                j++;
            if (j < sl && seg[j] == '}')
                return tmpl_error(err, ptr, tmpl, "'}' without '{'");
            len[piece] = pct_decode(d, seg + ls, j - ls, NULL);
            lit[piece] = d;
            pt->lit_total += len[piece];
            d += len[piece];
            if (piece++ == nv)
                break;
            size_t ns = ++j;  /* past '{' */
            while (j < sl && seg[j] != '}' && seg[j] != '{')
                j++;
            if (j == sl || seg[j] == '{')
                return tmpl_error(err, ptr, tmpl, "unclosed '{'");
            if (j == ns)
                return tmpl_error(err, ptr, tmpl, "empty variable name");
            for (size_t q = 0; q < nnames; q++)
                if (!lit_cmp(names[q], nlens[q], seg + ns, j - ns))
                    return tmpl_error(err, ptr, tmpl, "duplicate variable name");
            names[nnames] = seg + ns;
            nlens[nnames++] = j - ns;
            j++;  /* past '}' */
        }
        ts->pat = pt;
    }
    *out = segs;
    *nout = nsegs;
    return 0;
}

static rnode *node_new(dg_router *r)
{
    rnode *n = dg_arena_alloc(&r->arena, sizeof *n);
    if (n) {
        memset(n, 0, sizeof *n);
        n->op = -1;
    }
    return n;
}

/* Inserts child c at position pos of the array *arr. */
static int child_insert(dg_router *r, rnode ***arr, size_t *n, size_t *cap, size_t pos, rnode *c)
{
    if (*n == *cap) {
        rnode **na = arena_grow(&r->arena, *arr, *n, cap, sizeof *na);
        if (!na)
            return DG_ENOMEM;
        *arr = na;
    }
    memmove(*arr + pos + 1, *arr + pos, (*n - pos) * sizeof **arr);
    (*arr)[pos] = c;
    (*n)++;
    return 0;
}

static int trie_insert(dg_router *r, rnode **rootp, const tseg *segs, size_t nsegs, int op)
{
    if (!*rootp && !(*rootp = node_new(r)))
        return DG_ENOMEM;
    rnode *cur = *rootp;
    for (size_t i = 0; i < nsegs; i++) {
        const tseg *ts = &segs[i];
        size_t lo = 0, hi;
        rnode *next = NULL;
        if (!ts->pat) {
            hi = cur->nlits;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = lit_cmp(cur->lits[mid]->lit, cur->lits[mid]->len, ts->lit, ts->len);
                if (c == 0) {
                    next = cur->lits[mid];
                    break;
                }
                if (c < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (!next) {
                if (!(next = node_new(r)))
                    return DG_ENOMEM;
                next->lit = ts->lit;
                next->len = ts->len;
                if (child_insert(r, &cur->lits, &cur->nlits, &cur->caplits, lo, next))
                    return DG_ENOMEM;
            }
        } else {
            for (; lo < cur->npats; lo++) {
                int c = pat_cmp(cur->pats[lo]->pat, ts->pat);
                if (c == 0)
                    next = cur->pats[lo];
                if (c >= 0)
                    break;
            }
            if (!next) {
                if (!(next = node_new(r)))
                    return DG_ENOMEM;
                next->pat = ts->pat;
                if (child_insert(r, &cur->pats, &cur->npats, &cur->cappats, lo, next))
                    return DG_ENOMEM;
            }
        }
        cur = next;
    }
    /* An equivalent template ("/a/{x}" vs "/a/{y}") for the same method is
     * invalid OpenAPI; rather than refuse the spec, the first one in
     * document order keeps the route. */
    if (cur->op < 0)
        cur->op = op;
    return 0;
}

static int add_op(dg_router *r, int m, const char *tmpl, const tseg *segs, size_t nsegs,
                  json_t *op, const char *ptr, const idlist *bases, dg_error *err)
{
    dg_arena *a = &r->arena;
    json_t *jid = json_object_get(op, "operationId");
    if (jid && !json_is_string(jid)) {
        dg_error_set(err, DG_ESPEC, "operationId of %s %s is not a string", k_methods_uc[m], tmpl);
        dg_error_locate(err, NULL, 0, 0, ptr);
        return DG_ESPEC;
    }
    if (r->nops == r->capops) {
        dg_route_op *no = arena_grow(a, r->ops, r->nops, &r->capops, sizeof *no);
        if (!no)
            return nomem(err);
        r->ops = no;
    }
    if (r->nops >= INT32_MAX)
        return dg_error_set(err, DG_ELIMIT, "too many operations");
    dg_route_op *o = &r->ops[r->nops];
    memset(o, 0, sizeof *o);
    const char *id = json_string_value(jid);
    o->operation_id = id && id[0] ? arena_strdup(a, id) : NULL;
    o->method = k_methods_uc[m];
    o->path_template = arena_strdup(a, tmpl);
    o->pointer = arena_strdup(a, ptr);
    o->operation = op;
    o->index = (int)r->nops;
    if (o->operation_id) {
        o->label = o->operation_id;
    } else {
        size_t ml = strlen(o->method), tl = strlen(tmpl);
        char *l = dg_arena_alloc(a, ml + tl + 2);
        if (l) {
            memcpy(l, o->method, ml);
            l[ml] = ' ';
            memcpy(l + ml + 1, tmpl, tl + 1);
        }
        o->label = l;
    }
    if ((id && id[0] && !o->operation_id) || !o->path_template || !o->pointer || !o->label)
        return nomem(err);
    for (size_t i = 0; i < bases->n; i++)
        if (trie_insert(r, &r->bases[bases->v[i]].root[m], segs, nsegs, (int)r->nops))
            return nomem(err);
    if (nsegs > r->max_tmpl_segs)
        r->max_tmpl_segs = nsegs;
    r->nops++;
    return 0;
}

static int add_path(dg_router *r, const char *tmpl, json_t *item, const idlist *root_bases,
                    dg_error *err)
{
    dg_buf pb = DG_BUF_INIT, tb = DG_BUF_INIT, ob = DG_BUF_INIT;
    pw w = {.b = &pb}, tw = {.b = &tb}, ow = {.b = &ob};
    int rc = 0;
    pw_raw(&w, "/paths", 6);
    pw_tok(&w, tmpl, strlen(tmpl));
    if (w.nomem) {
        rc = nomem(err);
        goto out;
    }
    json_t *target = item;
    if (!json_is_object(item)) {
        rc = dg_error_set(err, DG_ESPEC, "path item \"%s\" is not an object", tmpl);
        dg_error_locate(err, NULL, 0, 0, pw_str(&w));
        goto out;
    }
    if (json_object_get(item, "$ref")) {
        pw_raw(&tw, pw_str(&w), pb.len);
        if ((rc = follow_refs(r, item, &target, &tw, err)))
            goto out;
        if (!json_is_object(target)) {
            rc = dg_error_set(err, DG_ESPEC, "$ref of path item \"%s\" is not an object", tmpl);
            dg_error_locate(err, NULL, 0, 0, pw_str(&w));
            goto out;
        }
    }
    tseg *segs = NULL;
    size_t nsegs = 0;
    if ((rc = parse_template(r, tmpl, pw_str(&w), &segs, &nsegs, err)))
        goto out;
    idlist pbases = *root_bases;
    int found = 0;
    if (!r->swagger2) {
        /* Siblings of a path item $ref override the referenced fields. */
        json_t *sv = json_object_get(item, "servers");
        if (!sv && target != item)
            sv = json_object_get(target, "servers");
        if ((rc = servers_bases(r, sv, &pbases, &found)))
            goto fail_nomem;
    }
    for (int m = 0; m < N_METHODS; m++) {
        json_t *op = json_object_get(item, k_methods[m]);
        pw *src = &w;
        if (!op && target != item && (op = json_object_get(target, k_methods[m])))
            src = &tw;
        if (!op)
            continue;
        pw_reset(&ow);
        pw_raw(&ow, pw_str(src), strlen(pw_str(src)));
        pw_tok(&ow, k_methods[m], strlen(k_methods[m]));
        if (ow.nomem || tw.nomem)
            goto fail_nomem;
        if (!json_is_object(op)) {
            rc = dg_error_set(err, DG_ESPEC, "operation %s %s is not an object",
                              k_methods_uc[m], tmpl);
            dg_error_locate(err, NULL, 0, 0, pw_str(&ow));
            goto out;
        }
        idlist obases = pbases;
        if (!r->swagger2 &&
            (rc = servers_bases(r, json_object_get(op, "servers"), &obases, &found)))
            goto fail_nomem;
        if ((rc = add_op(r, m, tmpl, segs, nsegs, op, pw_str(&ow), &obases, err)))
            goto out;
    }
    goto out;
fail_nomem:
    rc = rc == DG_ELIMIT ? dg_error_set(err, DG_ELIMIT, "server url of \"%s\" has too many "
                                        "segments", tmpl)
                         : nomem(err);
out:
    dg_buf_free(&pb);
    dg_buf_free(&tb);
    dg_buf_free(&ob);
    return rc;
}

static int id_cmp(const void *a, const void *b)
{
    const id_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->op > y->op) - (x->op < y->op);
}

static int base_cmp(const void *a, const void *b)
{
    const rbase *x = a, *y = b;
    if (x->nsegs != y->nsegs)
        return x->nsegs > y->nsegs ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int index_ids(dg_router *r, dg_error *err)
{
    r->ids = dg_arena_alloc(&r->arena, (r->nops ? r->nops : 1) * sizeof *r->ids);
    if (!r->ids)
        return nomem(err);
    for (size_t i = 0; i < r->nops; i++)
        if (r->ops[i].operation_id)
            r->ids[r->nids++] = (id_entry){r->ops[i].operation_id, i};
    qsort(r->ids, r->nids, sizeof *r->ids, id_cmp);
    for (size_t i = 1; i < r->nids; i++) {
        if (strcmp(r->ids[i - 1].id, r->ids[i].id))
            continue;
        const dg_route_op *dup = &r->ops[r->ids[i].op], *first = &r->ops[r->ids[i - 1].op];
        dg_error_set(err, DG_ESPEC, "duplicate operationId \"%s\" (%s %s and %s %s)", dup->operation_id,
                     first->method, first->path_template, dup->method, dup->path_template);
        char p[256];
        snprintf(p, sizeof p, "%s/operationId", dup->pointer);
        dg_error_locate(err, NULL, 0, 0, p);
        return DG_ESPEC;
    }
    return 0;
}

int dg_router_new(json_t *spec_root, dg_ref_resolver resolve, void *resolve_ctx,
                  dg_router **out, dg_error *err)
{
    if (!out || !json_is_object(spec_root))
        return dg_error_set(err, DG_EINVAL, "dg_router_new: no spec object");
    *out = NULL;
    dg_router *r = calloc(1, sizeof *r);
    if (!r)
        return nomem(err);
    r->root = spec_root;
    r->resolve = resolve;
    r->rctx = resolve_ctx;
    const char *sw = json_string_value(json_object_get(spec_root, "swagger"));
    const char *oa = json_string_value(json_object_get(spec_root, "openapi"));
    int rc = 0;
    idlist root_bases = {NULL, 0, 0};
    int found = 0;
    size_t idx;
    if (sw && !strcmp(sw, "2.0")) {
        r->swagger2 = 1;
        const char *bp = json_string_value(json_object_get(spec_root, "basePath"));
        rc = add_base(r, bp ? bp : "", bp ? strlen(bp) : 0, &idx);
        if (!rc)
            rc = idlist_add(r, &root_bases, idx);
    } else if (oa && !strncmp(oa, "3.", 2)) {
        rc = servers_bases(r, json_object_get(spec_root, "servers"), &root_bases, &found);
        if (!rc && !found && !(rc = add_base(r, "", 0, &idx)))
            rc = idlist_add(r, &root_bases, idx);
    } else {
        rc = dg_error_set(err, DG_ESPEC, "not an OpenAPI 3.x or Swagger 2.0 document");
        goto fail;
    }
    if (rc) {
        rc = rc == DG_ELIMIT ? dg_error_set(err, DG_ELIMIT, "server url has too many segments")
                             : nomem(err);
        goto fail;
    }
    json_t *paths = json_object_get(spec_root, "paths");
    if (paths && !json_is_object(paths)) {
        rc = dg_error_set(err, DG_ESPEC, "paths is not an object");
        dg_error_locate(err, NULL, 0, 0, "/paths");
        goto fail;
    }
    const char *key;
    json_t *item;
    json_object_foreach(paths, key, item) {
        if (!strncmp(key, "x-", 2))
            continue;
        if ((rc = add_path(r, key, item, &root_bases, err)))
            goto fail;
    }
    if ((rc = index_ids(r, err)))
        goto fail;
    qsort(r->bases, r->nbases, sizeof *r->bases, base_cmp);
    *out = r;
    return 0;
fail:
    dg_router_free(r);
    return rc;
}

void dg_router_free(dg_router *r)
{
    if (!r)
        return;
    dg_arena_free(&r->arena);
    free(r);
}

size_t dg_router_count(const dg_router *r)
{
    return r ? r->nops : 0;
}

const dg_route_op *dg_router_get(const dg_router *r, size_t i)
{
    return r && i < r->nops ? &r->ops[i] : NULL;
}

const dg_route_op *dg_router_find_operation_id(const dg_router *r, const char *operation_id)
{
    if (!r || !operation_id)
        return NULL;
    size_t lo = 0, hi = r->nids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->ids[mid].id, operation_id);
        if (c == 0)
            return &r->ops[r->ids[mid].op];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- matching ------------------------------------------------------------- */

typedef struct rseg {
    const char *p;
    size_t n;
    int bad;  /* malformed %-escape: matches no literal segment */
} rseg;

static int trie_walk(const rnode *n, const rseg *segs, size_t i, size_t nsegs)
{
    if (i == nsegs)
        return n->op;
    const rseg *s = &segs[i];
    if (!s->bad) {
        size_t lo = 0, hi = n->nlits;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = lit_cmp(n->lits[mid]->lit, n->lits[mid]->len, s->p, s->n);
            if (c == 0) {
                int op = trie_walk(n->lits[mid], segs, i + 1, nsegs);
                if (op >= 0)
                    return op;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    if (s->n == 0)
        return -1;
    for (size_t k = 0; k < n->npats; k++) {
        if (!pat_match(n->pats[k]->pat, s->p, s->n))
            continue;
        int op = trie_walk(n->pats[k], segs, i + 1, nsegs);
        if (op >= 0)
            return op;
    }
    return -1;
}

static int method_index(const char *m)
{
    for (int i = 0; i < N_METHODS; i++)
        if (!strcasecmp(m, k_methods[i]))
            return i;
    return -1;
}

const dg_route_op *dg_router_match(const dg_router *r, const char *method, const char *path,
                                   size_t path_len)
{
    if (!r || !method || (!path && path_len))
        return NULL;
    int m = method_index(method);
    if (m < 0)
        return NULL;
    if (!path)
        path = "";
    size_t n = 0;
    while (n < path_len && path[n] != '?' && path[n] != '#')
        n++;
    if (n && path[0] != '/') {  /* absolute-form "http://host/path" */
        size_t i = 0;
        while (i < n && path[i] != ':' && path[i] != '/')
            i++;
        if (i + 2 < n && path[i] == ':' && path[i + 1] == '/' && path[i + 2] == '/') {
            i += 3;
            while (i < n && path[i] != '/')
                i++;
            path += i;
            n -= i;
        }
    }
    size_t start = n && path[0] == '/' ? 1 : 0, nsegs = 1;
    for (size_t i = start; i < n; i++)
        nsegs += path[i] == '/';
    if (nsegs > r->max_base_segs + r->max_tmpl_segs + 1)
        return NULL;

    rseg sbuf[32];
    char dbuf[1024];
    rseg *segs = nsegs <= 32 ? sbuf : malloc(nsegs * sizeof *segs);
    char *dec = n <= sizeof dbuf ? dbuf : malloc(n);
    const dg_route_op *res = NULL;
    if (!segs || !dec)
        goto out;
    char *d = dec;
    for (size_t i = start, k = 0; k < nsegs; k++) {
        size_t s = i;
        while (i < n && path[i] != '/')
            i++;
        segs[k].bad = 0;
        segs[k].p = d;
        segs[k].n = pct_decode(d, path + s, i - s, &segs[k].bad);
        d += segs[k].n;
        i++;
    }
    static const rseg root_seg = {"", 0, 0};
    for (size_t b = 0; b < r->nbases && !res; b++) {
        const rbase *rb = &r->bases[b];
        if (!rb->root[m] || rb->nsegs > nsegs)
            continue;
        size_t k = 0;
        while (k < rb->nsegs && !segs[k].bad &&
               !lit_cmp(rb->seg[k], rb->len[k], segs[k].p, segs[k].n))
            k++;
        if (k < rb->nsegs)
            continue;
        /* "/v1" with base "/v1" is the root "/" of that server. */
        int op = k == nsegs ? trie_walk(rb->root[m], &root_seg, 0, 1)
                            : trie_walk(rb->root[m], segs + k, 0, nsegs - k);
        if (op >= 0)
            res = &r->ops[op];
    }
out:
    if (segs != sbuf)
        free(segs);
    if (dec != dbuf)
        free(dec);
    return res;
}

/* ---- responses -------------------------------------------------------------- */

typedef struct mtype {
    const char *type, *sub;
    size_t tlen, slen;
} mtype;

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int mt_parse(const char *s, mtype *m)
{
    if (!s)
        return 0;
    while (is_ws(*s))
        s++;
    m->type = s;
    while (*s && *s != '/' && *s != ';' && !is_ws(*s))
        s++;
    m->tlen = (size_t)(s - m->type);
    if (*s != '/' || !m->tlen)
        return 0;
    m->sub = ++s;
    while (*s && *s != ';' && *s != ',' && !is_ws(*s))
        s++;
    m->slen = (size_t)(s - m->sub);
    return m->slen > 0;
}

static int tok_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(p, lit, n);
}

static int tok_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && !strncasecmp(a, b, an);
}

/* 4 exact, 3 structured suffix (+json -> json), 2 type/wildcard, 1 wildcard, 0 none. */
static int media_rank(const mtype *resp, const char *documented)
{
    mtype d;
    if (!mt_parse(documented, &d))
        return 0;
    int type_eq = tok_eq(resp->type, resp->tlen, d.type, d.tlen);
    if (type_eq && tok_eq(resp->sub, resp->slen, d.sub, d.slen))
        return 4;
    if (type_eq) {
        const char *plus = NULL;
        for (size_t i = 0; i < resp->slen; i++)
            if (resp->sub[i] == '+')
                plus = resp->sub + i;
        if (plus && tok_eq(plus + 1, resp->slen - (size_t)(plus + 1 - resp->sub), d.sub, d.slen))
            return 3;
        if (tok_is(d.sub, d.slen, "*"))
            return 2;
    }
    return tok_is(d.type, d.tlen, "*") && tok_is(d.sub, d.slen, "*");
}

static int is_plain_json(const char *documented)
{
    mtype d;
    return mt_parse(documented, &d) && tok_is(d.type, d.tlen, "application") &&
           tok_is(d.sub, d.slen, "json");
}

static int has_ct(const char *ct)
{
    if (!ct)
        return 0;
    while (is_ws(*ct))
        ct++;
    return *ct != '\0';
}

static int select_oas3(const dg_router *r, json_t *resp, const char *ct, dg_resp_match *out,
                       pw *w, dg_error *err)
{
    json_t *content = json_object_get(resp, "content");
    if (!json_is_object(content) || json_object_size(content) == 0) {
        out->result = DG_RESP_NO_BODY;
        return 0;
    }
    const char *key, *best = NULL;
    json_t *mt, *best_mt = NULL;
    if (!has_ct(ct)) {
        json_object_foreach(content, key, mt) {
            if (json_object_size(content) == 1 || (!best && is_plain_json(key))) {
                best = key;
                best_mt = mt;
            }
        }
    } else {
        /* An unparsable Content-Type can only be covered by a wildcard. */
        mtype want, any = {"*", "*", 1, 1};
        int best_rank = 0, ok = mt_parse(ct, &want);
        json_object_foreach(content, key, mt) {
            int rank = ok ? media_rank(&want, key) : media_rank(&any, key) == 4;
            if (rank > best_rank) {
                best_rank = rank;
                best = key;
                best_mt = mt;
            }
        }
    }
    if (!best) {
        out->result = DG_RESP_UNDOCUMENTED_MEDIA;
        return 0;
    }
    snprintf(out->media_key, sizeof out->media_key, "%s", best);
    pw_raw(w, "/content", 8);
    pw_tok(w, best, strlen(best));
    int rc = follow_refs(r, best_mt, &best_mt, w, err);
    if (rc)
        return rc;
    out->schema = json_object_get(best_mt, "schema");
    out->result = out->schema ? DG_RESP_SCHEMA : DG_RESP_ANY;
    return 0;
}

static int select_swagger2(const dg_router *r, const dg_route_op *op, json_t *resp,
                           const char *ct, dg_resp_match *out)
{
    out->schema = json_object_get(resp, "schema");
    if (!out->schema) {
        out->result = DG_RESP_NO_BODY;
        return 0;
    }
    /* An empty operation `produces` clears the global one: then nothing is
     * declared and the default applies. */
    json_t *prod = json_object_get(op->operation, "produces");
    if (!json_is_array(prod))
        prod = json_object_get(r->root, "produces");
    if (!json_is_array(prod) || json_array_size(prod) == 0)
        prod = NULL;
    int ok = 0;
    size_t i, n = prod ? json_array_size(prod) : 1;
    mtype want;
    int parsed = has_ct(ct) && mt_parse(ct, &want);
    for (i = 0; i < n && !ok; i++) {
        const char *p = prod ? json_string_value(json_array_get(prod, i)) : "application/json";
        if (!p)
            continue;
        if (!has_ct(ct))
            ok = n == 1 || is_plain_json(p);
        else
            ok = parsed && media_rank(&want, p) > 0;
    }
    out->result = ok ? DG_RESP_SCHEMA : DG_RESP_UNDOCUMENTED_MEDIA;
    return 0;
}

int dg_router_select_response(const dg_router *r, const dg_route_op *op, int status,
                              const char *content_type, dg_resp_match *out, dg_error *err)
{
    if (!r || !op || !out)
        return dg_error_set(err, DG_EINVAL, "dg_router_select_response: missing argument");
    memset(out, 0, sizeof *out);
    out->result = DG_RESP_UNDOCUMENTED_STATUS;
    json_t *responses = json_object_get(op->operation, "responses");
    const char *key, *exact = NULL, *range = NULL, *dflt = NULL;
    json_t *v, *ev = NULL, *rv = NULL, *dv = NULL;
    json_object_foreach(responses, key, v) {
        if (strlen(key) == 3 && key[0] >= '1' && key[0] <= '5' && (key[1] | 0x20) == 'x' &&
            (key[2] | 0x20) == 'x') {
            if (!range && status / 100 == key[0] - '0') {
                range = key;
                rv = v;
            }
        } else if (strlen(key) == 3 && key[0] >= '0' && key[0] <= '9' && key[1] >= '0' &&
                   key[1] <= '9' && key[2] >= '0' && key[2] <= '9') {
            if (!exact && status == (key[0] - '0') * 100 + (key[1] - '0') * 10 + key[2] - '0') {
                exact = key;
                ev = v;
            }
        } else if (!strcmp(key, "default") && !dflt) {
            dflt = key;
            dv = v;
        }
    }
    key = exact ? exact : range ? range : dflt;
    v = exact ? ev : range ? rv : dv;
    if (!key)
        return 0;
    snprintf(out->status_key, sizeof out->status_key, "%s", key);
    pw w = {.p = out->schema_pointer, .cap = sizeof out->schema_pointer};
    pw_raw(&w, op->pointer, strlen(op->pointer));
    pw_raw(&w, "/responses", 10);
    pw_tok(&w, key, strlen(key));
    int rc = follow_refs(r, v, &v, &w, err);
    if (rc) {
        out->schema_pointer[0] = '\0';
        return rc;
    }
    out->response = v;
    if (!json_is_object(v))  /* invalid spec: nothing can be said about the body */
        out->result = DG_RESP_ANY;
    else if (r->swagger2)
        rc = select_swagger2(r, op, v, content_type, out);
    else
        rc = select_oas3(r, v, content_type, out, &w, err);
    if (!rc && out->result == DG_RESP_SCHEMA)
        pw_raw(&w, "/schema", 7);
    if (rc || out->result != DG_RESP_SCHEMA || w.over)
        out->schema_pointer[0] = '\0';
    return rc;
}

/* ---- media helpers ---------------------------------------------------------- */

int dg_media_is_json(const char *ct)
{
    mtype m;
    if (!mt_parse(ct, &m))
        return 0;
    if (tok_is(m.type, m.tlen, "application") && tok_is(m.sub, m.slen, "json"))
        return 1;
    return m.slen > 5 && !strncasecmp(m.sub + m.slen - 5, "+json", 5);
}

int dg_media_is_json_seq(const char *ct)
{
    mtype m;
    if (!mt_parse(ct, &m) || !tok_is(m.type, m.tlen, "application"))
        return 0;
    return tok_is(m.sub, m.slen, "x-ndjson") || tok_is(m.sub, m.slen, "jsonl") ||
           tok_is(m.sub, m.slen, "json-seq") || tok_is(m.sub, m.slen, "x-json-stream");
}
