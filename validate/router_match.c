/* validate/router_match.c: dg_router_match, path matching on the tables
 * router.c builds: the request path is split and percent-decoded per
 * segment, then each server base (most segments first) whose segments
 * prefix it has its method's trie walked depth first, literal child before
 * pattern children. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "validate/router_internal.h"

/* ---- matching ------------------------------------------------------------- */

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
        if (!strcasecmp(m, dg_router__methods[i]))
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
        segs[k].n = dg_pct_decode_into(d, path + s, i - s, &segs[k].bad);
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
