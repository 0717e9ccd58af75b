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
 * copies cost at most as much as the final ones.
 *
 * Files: this one builds the tables (and holds the $ref and JSON pointer
 * helpers the response side shares); router_match.c matches paths,
 * router_response.c selects responses; router_internal.h has the tables. */
#include "validate/router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "validate/router_internal.h"

#define MAX_REF_HOPS 32

const char *const dg_router__methods[N_METHODS] = {"get",     "put",  "post",  "delete",
                                                  "options", "head", "patch", "trace"};
static const char *const k_methods_uc[N_METHODS] = {"GET",     "PUT",  "POST",  "DELETE",
                                                    "OPTIONS", "HEAD", "PATCH", "TRACE"};

typedef struct tseg {   /* one template segment: literal when pat == NULL */
    const char *lit;
    size_t len;
    seg_pat *pat;
} tseg;

typedef struct idlist {  /* a set of base indices */
    size_t *v;
    size_t n, cap;
} idlist;

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

/* ---- JSON pointer writer: into a fixed buffer, or a dg_buf ------------- */

void dg_router__pw_raw(pw *w, const char *s, size_t n)
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
void dg_router__pw_tok(pw *w, const char *tok, size_t n)
{
    dg_router__pw_raw(w, "/", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] != '~' && tok[i] != '/')
            continue;
        dg_router__pw_raw(w, tok + start, i - start);
        dg_router__pw_raw(w, tok[i] == '~' ? "~0" : "~1", 2);
        start = i + 1;
    }
    dg_router__pw_raw(w, tok + start, n - start);
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
        if (c == '%' && (hi = dg_hexval((unsigned char)s[1])) >= 0 &&
            (lo = dg_hexval((unsigned char)s[2])) >= 0) {
            c = (char)(hi * 16 + lo);
            s += 2;
        }
        dg_router__pw_raw(w, &c, 1);
    }
}

/* ---- $ref ----------------------------------------------------------------- */

/* Follows node's $ref chain to a node without $ref. w (may be NULL) holds the
 * pointer of node and is updated to the pointer of the target. */
int dg_router__follow_refs(const dg_router *r, json_t *node, json_t **out, pw *w, dg_error *err)
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
        lens[nsegs] = dg_pct_decode_into(d, p + s, i - s, NULL);
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
            ts->len = dg_pct_decode_into(d, seg, sl, NULL);
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
            len[piece] = dg_pct_decode_into(d, seg + ls, j - ls, NULL);
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
    dg_router__pw_raw(&w, "/paths", 6);
    dg_router__pw_tok(&w, tmpl, strlen(tmpl));
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
        dg_router__pw_raw(&tw, pw_str(&w), pb.len);
        if ((rc = dg_router__follow_refs(r, item, &target, &tw, err)))
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
        json_t *op = json_object_get(item, dg_router__methods[m]);
        pw *src = &w;
        if (!op && target != item && (op = json_object_get(target, dg_router__methods[m])))
            src = &tw;
        if (!op)
            continue;
        pw_reset(&ow);
        dg_router__pw_raw(&ow, pw_str(src), strlen(pw_str(src)));
        dg_router__pw_tok(&ow, dg_router__methods[m], strlen(dg_router__methods[m]));
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
