/* validate/engine_internal.h (private): validator state shared by engine.c
 * (events, frames, combinators) and check.c (scalar keywords, errors). */
#ifndef DG_VALIDATE_ENGINE_INTERNAL_H
#define DG_VALIDATE_ENGINE_INTERNAL_H

#include "common/buf.h"
#include "validate/schema_internal.h"

typedef struct verr {
    struct verr *next;
    dg_kind kind;
    char *iptr;
    char *sptr;
    char *msg;               /* NULL: a type error whose text is made on demand */
    uint8_t want_types;      /* for a deferred type message */
    uint8_t undoc;           /* an info-level "property is not documented" finding */
    dg_shape shape;
    char *value;
} verr;

/* Undocumented-property findings have their own budget of max_errors
 * entries, so they never push a real violation out of a list; `und` counts
 * every such finding the list stands for (kept or dropped), which keeps the
 * verdict exact: real violations = n + dropped - und. */
typedef struct elist {
    verr *head, *tail;
    uint32_t n;
    uint32_t dropped;  /* found but not kept (cap, or pruned branch detail) */
    uint32_t und;      /* undocumented findings among n + dropped */
    uint32_t und_kept; /* undocumented findings among n */
} elist;

enum role {
    R_ROOT, R_PROP, R_ITEM, R_INPLACE, R_ANY, R_ONE, R_NOT, R_IF, R_THEN, R_ELSE, R_DEP,
    R_CONTAINS, R_UNEVAL_P, R_UNEVAL_I, R_DISC
};

/* A growable bitset whose first 128 bits live inline (no allocation for
 * ordinary objects). */
typedef struct bits {
    uint64_t inl[2];
    uint64_t *w;       /* bits from 128 on, word k at w[k - 2] */
    uint32_t nw;       /* words in w */
} bits;

#define DG_BRANCH_KINDS 16  /* failed branches summarised per combinator */

enum {
    UF_DECL = 1,    /* some node declares properties/patternProperties */
    UF_CLOSED = 2   /* some node has additional/unevaluatedProperties, or could not judge */
};

typedef struct eval {
    /* fields grouped by size: no padding holes (push_eval clears the whole
     * struct for every schema application) */
    int32_t nid;
    int32_t parent;          /* eval index, -1 for root */
    uint32_t aux;
    int32_t disc_branch;     /* -1 not seen, -2 unknown value, -3 not a string */
    uint8_t role;
    uint8_t invalid;
    uint8_t dead;            /* stop spawning children (type mismatch, pruned branch) */
    uint8_t quick;           /* inside a branch: first error is enough */
    uint8_t if_ok;
    uint8_t not_ok;
    uint8_t uflags;          /* report_undocumented, for this eval's subtree: UF_* */
    uint8_t pad_;
    uint64_t fail_seq;
    elist errs;
    uint32_t any_ok, one_ok;
    uint64_t branch_ok;      /* bit per branch (first 64) */
    elist best;
    uint64_t best_score;
    int32_t best_branch;
    uint32_t contains_ok;
    bits seen;               /* per node prop index */
    uint64_t dep_seen;
    bits ann;                /* evaluated member ordinals (annotations) */
    bits unev;               /* unevaluated* verdicts per member ordinal */
    dg_hash *uh;             /* uniqueItems hashes */
    uint32_t nuh, cuh;
    int32_t best_nid;        /* node of the best failed branch (see best_is_type) */
    uint8_t unique_skipped;
    uint8_t root_type_fail;  /* a branch root whose type did not match (no record made) */
    uint8_t want_types;
    uint8_t best_is_type;    /* the best failed branch is such a branch: */
    uint8_t best_want;       /* its expected types */
    uint8_t br_kind[DG_BRANCH_KINDS]; /* first violation kind + 1 of each failed branch */
} eval;

#define DG_KEYS_KEPT (1u << 20)
#define DG_MAX_EVALS (1u << 20)  /* schema applications alive at once */

typedef struct frame {
    uint32_t ev_begin, ev_end;
    uint8_t is_obj;
    uint8_t need_annot;
    uint8_t hashing;
    uint64_t count;          /* members/items seen so far */
    uint8_t child_hash;      /* an eval here has uniqueItems: items must be hashed */
    dg_buf key;              /* current key (objects) */
    dg_buf keys;             /* keys, each as a uint32_t length + bytes (only with need_annot), up to DG_KEYS_KEPT bytes */
    uint64_t keys_n;         /* how many keys are in keys */
    dg_hash hacc;
    /* report_undocumented: union over the schemas applied to this object */
    uint8_t uflags;          /* UF_* */
    bits u_doc;              /* member ordinals some applied schema documents */
} frame;

typedef struct pend {
    int32_t nid;
    int32_t parent;
    uint8_t role;
    uint32_t aux;
} pend;

typedef struct scope {
    const json_t *resource;
    const struct scope *up;
    int32_t eval;            /* eval index continuing the chain when up == NULL */
} scope;

struct dg_validator {
    const dg_schemaset *set;
    const dg_node *nodes;
    dg_validate_opts opts;
    dg_json_tok *tok;
    eval *ev;
    uint32_t nev, cev;
    frame *fr;
    uint32_t nfr, cfr;
    pend *pd;
    uint32_t npd, cpd;
    uint64_t skip;           /* >0: inside a value nobody checks */
    uint64_t seq;            /* events so far */
    int norecord;            /* >0: violations are not built, only verdicts */
    int failed_internal;
    int undoc;               /* report undocumented properties in this validation */
    int undoc_next;          /* ... from the next begin on */
    elist out;
    dg_error perr;
    dg_violation *viol;
    size_t nviol, cviol;
    verr *free_errs;
    char numbuf[128];
};

/* engine.c internals the validator API (validator.c) needs */
void dg__free_eval(dg_validator *v, eval *e);
int dg__add_pend_grow(dg_validator *v);

/* engine_undoc.c: undocumented properties (opts.report_undocumented).
 * open: when object frame f opened with its evals; eval_done: before eval e of object frame f reports to its parent;
 * emit: after every eval of f is finalised, before f is popped. */
void dg__undoc_open(dg_validator *v, frame *f);
void dg__undoc_eval_done(dg_validator *v, eval *e, frame *f);
void dg__undoc_emit(dg_validator *v, frame *f, uint32_t level);

/* ---- bitsets ---- */
int dg__bit_set_slow(bits *b, uint64_t i);

static inline int bit_get(const bits *b, uint64_t i)
{
    uint64_t k = i / 64;
    if (k < 2)
        return (int)(b->inl[k] >> (i % 64) & 1);
    return k - 2 < b->nw && (b->w[k - 2] >> (i % 64) & 1);
}
#define BIT_GET(b, i) bit_get(&(b), (uint64_t)(i))

static inline int bit_set(bits *b, uint64_t i)
{
    if (i < 128) {
        b->inl[i / 64] |= 1ull << (i % 64);
        return 0;
    }
    return dg__bit_set_slow(b, i);
}

static inline int bits_any(const bits *b)
{
    return b->inl[0] || b->inl[1] || b->nw;
}

/* dst |= src. Out of line on purpose: inlined into report() it slowed the
 * hot path down measurably (bench account_10k) for no gain. */
void dg__bits_or(bits *dst, const bits *src);

/* frame.keys: walks one kept key (uint32_t length, then the bytes); returns
 * the position after it. */
static inline const char *dg__key_next(const char *p, size_t *len)
{
    uint32_t n;
    __builtin_memcpy(&n, p, 4);
    *len = n;
    return p + 4 + n;
}

/* all bits off, keeping the allocation (frames are reused) */
static inline void bits_zero(bits *b)
{
    b->inl[0] = b->inl[1] = 0;
    for (uint32_t i = 0; i < b->nw; i++)
        b->w[i] = 0;
}

#endif
