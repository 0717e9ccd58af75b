/* validate/router_internal.h (private): the router's tables and the
 * helpers shared by router.c (building, $ref following, pointers),
 * router_match.c (path matching) and router_response.c (status and
 * media-type selection). The layout is described at the top of router.c. */
#ifndef DG_VALIDATE_ROUTER_INTERNAL_H
#define DG_VALIDATE_ROUTER_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "common/text.h"
#include "validate/router.h"

#define N_METHODS 8

/* Lower-case method names, in the order of rbase.root[]. */
extern const char *const dg_router__methods[N_METHODS];

/* A templated segment: literal pieces lit[0] {var} lit[1] ... {var} lit[nvars].
 * Each variable matches one or more bytes. Pieces are percent-decoded. */
typedef struct seg_pat {
    size_t nvars;
    const char **lit;
    size_t *len;
    size_t lit_total;
} seg_pat;

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

static inline int lit_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

/* ---- router.c ------------------------------------------------------------- */

/* JSON pointer writer: into a fixed buffer, or a dg_buf. */
typedef struct pw {
    dg_buf *b;      /* when non-NULL, write here */
    char *p;        /* else into p[cap] */
    size_t cap, len;
    int over;       /* fixed buffer too small: the pointer is unknown */
    int nomem;
} pw;

/* Appends n bytes of s. */
void dg_router__pw_raw(pw *w, const char *s, size_t n);
/* Appends "/" and tok escaped per RFC 6901. */
void dg_router__pw_tok(pw *w, const char *tok, size_t n);
/* Follows node's $ref chain (through the router's resolver) to a node
 * without $ref. w (may be NULL) holds the pointer of node and is updated to
 * the pointer of the target. 0 or a negative code (err set). */
int dg_router__follow_refs(const dg_router *r, json_t *node, json_t **out, pw *w,
                           dg_error *err);

#endif
