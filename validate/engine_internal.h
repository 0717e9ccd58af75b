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
    dg_shape shape;
    char *value;
} verr;

typedef struct elist {
    verr *head, *tail;
    uint32_t n;
    uint32_t dropped;  /* found but not kept (cap, or pruned branch detail) */
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

typedef struct eval {
    int32_t nid;
    int32_t parent;          /* eval index, -1 for root */
    uint8_t role;
    uint8_t invalid;
    uint8_t dead;            /* stop spawning children (type mismatch, pruned branch) */
    uint8_t quick;           /* inside a branch: first error is enough */
    uint8_t if_ok;
    uint8_t not_ok;
    uint32_t aux;
    uint64_t fail_seq;
    elist errs;
    uint32_t any_ok, one_ok;
    int32_t disc_branch;     /* -1 not seen, -2 unknown value, -3 not a string */
    uint64_t branch_ok;      /* bit per branch (first 64) */
    elist best;
    uint64_t best_score;
    int32_t best_branch;
    bits seen;               /* per node prop index */
    uint64_t dep_seen;
    uint32_t contains_ok;
    bits ann;                /* evaluated member ordinals (annotations) */
    bits unev;               /* unevaluated* verdicts per member ordinal */
    dg_hash *uh;             /* uniqueItems hashes */
    uint32_t nuh, cuh;
    uint8_t unique_skipped;
    uint8_t root_type_fail;  /* a branch root whose type did not match (no record made) */
    uint8_t want_types;
    uint8_t best_is_type;    /* the best failed branch is such a branch: */
    uint8_t best_want;       /* its expected types, */
    int32_t best_nid;        /* and its node */
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
    dg_buf keys;             /* keys, NUL-separated (only with need_annot), up to DG_KEYS_KEPT bytes */
    uint64_t keys_n;         /* how many keys are in keys */
    dg_hash hacc;
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

#endif
