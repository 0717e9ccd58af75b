/* validate/engine.c: the streaming validation engine.
 *
 * One frame per open container; each frame owns a contiguous run of evals
 * (schema nodes applied to that container). In-place applicators (allOf,
 * $ref, anyOf/oneOf branches, not, if/then/else, dependentSchemas) add evals
 * to the same frame when the container opens, so every branch consumes the
 * same events side by side; nothing is buffered or re-parsed. When a
 * container closes, its evals are finalised in reverse creation order
 * (children before the eval that spawned them) and each reports to its
 * parent eval by role. Scalars are checked directly (check.c). */
#include <stdlib.h>
#include <string.h>

#include "validate/check.h"

int dg__bit_set_slow(bits *b, uint64_t i)
{
    uint64_t k = i / 64 - 2;
    if (k >= b->nw) {
        uint64_t nw = b->nw ? b->nw : 1;
        while (k >= nw)
            nw *= 2;
        if (nw > UINT32_MAX)
            return DG_ENOMEM;
        uint64_t *w = realloc(b->w, nw * sizeof *w);
        if (!w)
            return DG_ENOMEM;
        memset(w + b->nw, 0, (nw - b->nw) * sizeof *w);
        b->w = w;
        b->nw = (uint32_t)nw;
    }
    b->w[k] |= 1ull << (i % 64);
    return 0;
}

void dg__bits_or(bits *dst, const bits *src)
{
    dst->inl[0] |= src->inl[0];
    dst->inl[1] |= src->inl[1];
    for (uint32_t i = 0; i < src->nw; i++)
        if (src->w[i])
            for (int k = 0; k < 64; k++)
                if (src->w[i] >> k & 1)
                    bit_set(dst, ((uint64_t)i + 2) * 64 + (uint64_t)k);
}

static void bits_free(bits *b)
{
    free(b->w);
    memset(b, 0, sizeof *b);
}

void dg__free_eval(dg_validator *v, eval *e)
{
    if (e->errs.head)
        dg__elist_clear(v, &e->errs);
    if (e->best.head)
        dg__elist_clear(v, &e->best);
    if (e->seen.w)
        bits_free(&e->seen);
    if (e->ann.w)
        bits_free(&e->ann);
    if (e->unev.w)
        bits_free(&e->unev);
    if (e->uh) {
        free(e->uh);
        e->uh = NULL;
    }
}

int dg__add_pend_grow(dg_validator *v)
{
    {
        uint32_t nc = v->cpd ? v->cpd * 2 : 32;
        pend *p = realloc(v->pd, nc * sizeof *p);
        if (!p)
            return v->failed_internal = DG_ENOMEM;
        v->pd = p;
        v->cpd = nc;
    }
    return 0;
}

static inline int add_pend(dg_validator *v, int32_t nid, int32_t parent, uint8_t role, uint32_t aux)
{
    if (v->npd == v->cpd && dg__add_pend_grow(v))
        return DG_ENOMEM;
    v->pd[v->npd++] = (pend){nid, parent, role, aux};
    return 0;
}

static void fail_eval(dg_validator *v, eval *e)
{
    if (!e->invalid)
        e->fail_seq = v->seq;
    e->invalid = 1;
    if (e->quick)
        e->dead = 1;
}

static int is_branch_role(uint8_t r)
{
    return r == R_ANY || r == R_ONE || r == R_NOT || r == R_IF || r == R_CONTAINS ||
           r == R_UNEVAL_P || r == R_UNEVAL_I;
}

/* A passing value keeps only its undocumented-property findings (info
 * level, not errors): they travel up with the verdict. */
static inline void pass_errs(dg_validator *v, eval *P, elist *errs)
{
    if (errs->und)
        dg__elist_keep_undoc(v, &P->errs, errs);
    else
        dg__elist_clear(v, errs);
}

/* Annotations (evaluated members, and what report_undocumented needs) of a
 * child applied to the same value flow to its parent. */
static inline void annotate_up(eval *P, const eval *child)
{
    if (!child)
        return;
    if (bits_any(&child->ann))
        dg__bits_or(&P->ann, &child->ann);
    P->uflags |= child->uflags;
}

static dg_kind first_real_kind(const elist *errs, dg_kind dflt)
{
    for (const verr *e = errs->head; e; e = e->next)
        if (!e->undoc)
            return e->kind;
    return dflt;
}

/* Reports a finished value's verdict to the eval that asked for it. */
static void report(dg_validator *v, int32_t parent, uint8_t role, uint32_t aux, int ok, elist *errs,
                   eval *child, uint64_t fseq)
{
    if (parent < 0) {
        dg__elist_move(v, &v->out, errs);
        return;
    }
    eval *P = &v->ev[parent];
    switch (role) {
    case R_DEP:
        if (!(aux < 64 && (P->dep_seen >> aux & 1))) {
            dg__elist_clear(v, errs);
            return;
        }
        /* fall through */
    case R_PROP: case R_ITEM: case R_INPLACE:
    inplace:
        /* an in-place child applies whatever its verdict: its annotations
         * count even when it failed (the parent fails with it anyway, so
         * no verdict changes; unevaluated* and undocumented-property
         * reports just do not pile up on a member already in error) */
        if (role != R_PROP && role != R_ITEM)
            annotate_up(P, child);
        if (!ok) {
            if (!P->invalid)
                P->fail_seq = fseq ? fseq : v->seq;
            P->invalid = 1;
            if (P->quick)
                P->dead = 1;
            dg__elist_move(v, &P->errs, errs);
        } else {
            pass_errs(v, P, errs);
        }
        return;
    case R_ANY: case R_ONE:
        if (ok) {
            if (role == R_ANY)
                P->any_ok++;
            else
                P->one_ok++;
            if (aux < 64)
                P->branch_ok |= 1ull << aux;
            annotate_up(P, child);
            pass_errs(v, P, errs);
        } else {
            if (aux < DG_BRANCH_KINDS)
                P->br_kind[aux] = (uint8_t)(first_real_kind(errs, child && child->root_type_fail
                                                                      ? DG_KIND_TYPE
                                                                      : DG_KIND_OTHER) + 1);
            dg__branch_failed(v, &P->best, &P->best_score, &P->best_branch, (int32_t)aux,
                              fseq ? fseq : v->seq, P->disc_branch == (int32_t)aux, errs);
            if (P->best_branch == (int32_t)aux) {
                P->best_is_type = child && child->root_type_fail;
                P->best_want = child ? child->want_types : 0;
                P->best_nid = child ? child->nid : -1;
            }
        }
        return;
    case R_NOT:
        P->not_ok = (uint8_t)ok;
        dg__elist_clear(v, errs);
        return;
    case R_IF:
        P->if_ok = (uint8_t)ok;
        if (ok) {
            annotate_up(P, child);
            pass_errs(v, P, errs);
        } else {
            dg__elist_clear(v, errs);
        }
        return;
    case R_THEN:
        if (P->if_ok)
            goto inplace;
        dg__elist_clear(v, errs);
        return;
    case R_ELSE:
        if (!P->if_ok)
            goto inplace;
        dg__elist_clear(v, errs);
        return;
    case R_CONTAINS:
        if (ok) {
            P->contains_ok++;
            bit_set(&P->ann, aux);
        }
        dg__elist_clear(v, errs);
        return;
    case R_UNEVAL_P: case R_UNEVAL_I:
        if (ok)
            bit_set(&P->unev, aux);
        dg__elist_clear(v, errs);
        return;
    default:
        dg__elist_clear(v, errs);
        return;
    }
}

static int32_t push_eval(dg_validator *v, int32_t nid, int32_t parent, uint8_t role, uint32_t aux)
{
    if (v->nev >= DG_MAX_EVALS) {
        /* a schema whose combinators multiply (allOf of allOfs ...) must not
         * take unbounded memory: give up on this value */
        v->failed_internal = DG_ELIMIT;
        return -1;
    }
    if (v->nev == v->cev) {
        uint32_t nc = v->cev ? v->cev * 2 : 64;
        eval *e = realloc(v->ev, nc * sizeof *e);
        if (!e) {
            v->failed_internal = DG_ENOMEM;
            return -1;
        }
        v->ev = e;
        v->cev = nc;
    }
    dg__follow(v->nodes, &nid);
    eval *e = &v->ev[v->nev];
    memset(e, 0, sizeof *e);
    e->nid = nid;
    e->parent = parent;
    e->role = role;
    e->aux = aux;
    e->disc_branch = -1;
    e->best_branch = -1;
    e->quick = (uint8_t)(is_branch_role(role) || (parent >= 0 && v->ev[parent].quick));
    return (int32_t)v->nev++;
}

/* Container-level checks when a container opens, then in-place expansion. */
static void open_eval(dg_validator *v, int32_t i, uint8_t it, uint32_t level, int *need_hash)
{
    eval *e = &v->ev[i];
    const dg_node *n = &v->nodes[e->nid];
    if (n->flags & NF_TRUE) {
        e->dead = 1;
        return;
    }
    if (!(n->flags & (NF_FALSE | NF_WRITE_ONLY | NF_READ_ONLY | NF_TYPE | NF_ENUM | NF_CONST)))
        goto expand; /* nothing to check at the container itself */
    static const dg_shape obj_shape = {"object", 0, NULL}, arr_shape = {"array", 0, NULL};
    const dg_shape *sh = it == DG_T_OBJECT ? &obj_shape : &arr_shape;
    if (n->flags & NF_FALSE) {
        dg__err(v, &e->errs, level, DG_KIND_OTHER, e->nid, NULL, sh, NULL, 0,
                "no value is allowed here (schema is false)");
        fail_eval(v, e);
        e->dead = 1;
        return;
    }
    if ((v->opts.direction == DG_DIR_RESPONSE && (n->flags & NF_WRITE_ONLY)) ||
        (v->opts.direction == DG_DIR_REQUEST && (n->flags & NF_READ_ONLY))) {
        dg__err(v, &e->errs, level, DG_KIND_OTHER, e->nid,
                v->opts.direction == DG_DIR_RESPONSE ? "writeOnly" : "readOnly", sh, NULL, 0,
                "%s property must not appear in a %s",
                v->opts.direction == DG_DIR_RESPONSE ? "writeOnly" : "readOnly",
                v->opts.direction == DG_DIR_RESPONSE ? "response" : "request");
        fail_eval(v, e);
    }
    if ((n->flags & NF_TYPE) && !(n->types & it)) {
        if (e->role == R_ANY || e->role == R_ONE) {
            /* an anyOf/oneOf branch of the wrong type: the parent makes the
             * violation only if this branch ends up reported */
            e->root_type_fail = 1;
            e->want_types = n->types;
        } else {
            dg__err_type(v, &e->errs, level, e->nid, n->types, sh, NULL, 0);
        }
        fail_eval(v, e);
        e->dead = 1;
        return;
    }
    if (n->flags & (NF_ENUM | NF_CONST)) {
        int any = 0;
        for (uint32_t k = 0; k < n->n_enum; k++)
            any |= n->enum_v[k].type == it;
        if (!any) {
            dg__err(v, &e->errs, level, DG_KIND_ENUM, e->nid, (n->flags & NF_CONST) ? "const" : "enum",
                    sh, NULL, 0, "%s", (n->flags & NF_CONST) ? "value does not equal the const"
                                                             : "value is not one of the enum values");
            fail_eval(v, e);
        } else {
            *need_hash = 1;
        }
    }
expand:
    if (e->dead || !(n->flags & NF_INPLACE))
        return;
    /* in-place applicators: same value, same frame */
    uint32_t k;
    int32_t nid = e->nid;
    if (n->ref >= 0)
        push_eval(v, n->ref, i, R_INPLACE, 0);
    if (n->dynref >= 0)
        push_eval(v, dg__resolve_dynref(v, n, NULL, i), i, R_INPLACE, 0);
    for (k = 0; k < n->n_all_of; k++)
        push_eval(v, n->all_of[k], i, R_INPLACE, k);
    for (k = 0; k < n->n_any_of; k++)
        push_eval(v, n->any_of[k], i, R_ANY, k);
    for (k = 0; k < n->n_one_of; k++)
        push_eval(v, n->one_of[k], i, R_ONE, k);
    if (n->not_ >= 0)
        push_eval(v, n->not_, i, R_NOT, 0);
    if (n->if_ >= 0) {
        /* then/else before if: they finalise after it, when if_ok is known */
        if (n->then_ >= 0)
            push_eval(v, n->then_, i, R_THEN, 0);
        if (n->else_ >= 0)
            push_eval(v, n->else_, i, R_ELSE, 0);
        push_eval(v, n->if_, i, R_IF, 0);
    }
    for (k = 0; k < n->n_dep_schemas; k++)
        push_eval(v, n->dep_schemas[k], i, R_DEP, k);
    (void)nid;
}

static frame *push_frame(dg_validator *v, int is_obj)
{
    if (v->nfr == v->cfr) {
        uint32_t nc = v->cfr ? v->cfr * 2 : 16;
        frame *f = realloc(v->fr, nc * sizeof *f);
        if (!f) {
            v->failed_internal = DG_ENOMEM;
            return NULL;
        }
        memset(f + v->cfr, 0, (nc - v->cfr) * sizeof *f);
        v->fr = f;
        v->cfr = nc;
    }
    frame *f = &v->fr[v->nfr++];
    f->is_obj = (uint8_t)is_obj;
    f->count = 0;
    f->need_annot = 0;
    f->hashing = 0;
    f->child_hash = 0;
    f->keys_n = 0;
    f->hacc = (dg_hash){0, 0};
    dg_buf_reset(&f->key);
    dg_buf_reset(&f->keys);
    return f;
}

/* Does the enclosing frame need the hash of the value now starting? */
static int parent_wants_hash(dg_validator *v)
{
    if (!v->nfr)
        return 0;
    frame *p = &v->fr[v->nfr - 1];
    return p->hashing || p->child_hash;
}

static void unique_add(dg_validator *v, eval *e, dg_hash h, uint32_t level)
{
    if (e->unique_skipped)
        return;
    if (e->nuh >= v->opts.max_unique_items) {
        e->unique_skipped = 1;
        return;
    }
    for (uint32_t k = 0; k < e->nuh; k++) {
        if (e->uh[k].a == h.a && e->uh[k].b == h.b) {
            dg_shape sh;
            memset(&sh, 0, sizeof sh);
            strcpy(sh.type, "array");
            dg__err(v, &e->errs, level, DG_KIND_OTHER, e->nid, "uniqueItems", &sh, NULL, 0,
                    "array items %u and %llu are equal (uniqueItems)", k,
                    (unsigned long long)e->nuh);
            fail_eval(v, e);
            e->unique_skipped = 1;
            return;
        }
    }
    if (e->nuh == e->cuh) {
        uint32_t nc = e->cuh ? e->cuh * 2 : 16;
        dg_hash *p = realloc(e->uh, nc * sizeof *p);
        if (!p) {
            e->unique_skipped = 1;
            return;
        }
        e->uh = p;
        e->cuh = nc;
    }
    e->uh[e->nuh++] = h;
}

/* A finished value (scalar or container) contributes its hash upwards. */
static void contribute_hash(dg_validator *v, dg_hash h)
{
    if (!v->nfr)
        return;
    frame *p = &v->fr[v->nfr - 1];
    if (p->hashing) {
        if (p->is_obj) {
            dg_hash m = dg_hash_member(p->key.data ? p->key.data : "", p->key.len, h);
            p->hacc.a += m.a;
            p->hacc.b += m.b;
        } else {
            dg_hash_mix(&p->hacc, h);
        }
    }
    if (!p->is_obj)
        for (uint32_t i = p->ev_begin; i < p->ev_end; i++)
            if ((v->nodes[v->ev[i].nid].flags & NF_UNIQUE) && !v->ev[i].dead)
                unique_add(v, &v->ev[i], h, v->nfr - 1);
}

static void item_pending(dg_validator *v)
{
    frame *f = &v->fr[v->nfr - 1];
    uint64_t idx = f->count++;
    v->npd = 0;
    for (uint32_t i = f->ev_begin; i < f->ev_end; i++) {
        eval *e = &v->ev[i];
        const dg_node *n = &v->nodes[e->nid];
        if (e->dead || !(n->flags & NF_ARR_KW))
            continue;
        int32_t c = -1;
        if (idx < n->n_prefix)
            c = n->prefix[idx];
        else if (n->items >= 0)
            c = n->items;
        if (c >= 0) {
            int32_t cc = c;
            const dg_node *cn = dg__follow(v->nodes, &cc);
            if (f->need_annot)
                bit_set(&e->ann, idx);
            if (cn->flags & NF_FALSE) {
                dg_shape sh;
                memset(&sh, 0, sizeof sh);
                strcpy(sh.type, "array");
                sh.length = idx + 1;
                dg__err(v, &e->errs, v->nfr - 1, DG_KIND_ADDITIONAL, e->nid,
                        idx < n->n_prefix ? "prefixItems" : "items", &sh, NULL, 0,
                        "array has more items than allowed (item %llu is not allowed)",
                        (unsigned long long)idx);
                fail_eval(v, e);
            } else if (!(cn->flags & NF_TRUE)) {
                add_pend(v, cc, (int32_t)i, R_ITEM, (uint32_t)idx);
            }
        }
        if (n->contains >= 0)
            add_pend(v, n->contains, (int32_t)i, R_CONTAINS, (uint32_t)idx);
        if (n->uneval_items >= 0)
            add_pend(v, n->uneval_items, (int32_t)i, R_UNEVAL_I, (uint32_t)idx);
    }
}

static inline int32_t prop_lookup(const dg_node *n, const char *k, size_t len)
{
    if (!n->prop_hash) {
        for (uint32_t i = 0; i < n->n_props; i++)
            if (n->props[i].len == len && (len == 0 || (n->props[i].name[0] == k[0] &&
                                                         !memcmp(n->props[i].name, k, len))))
                return (int32_t)i;
        return -1;
    }
    uint32_t h = dg_prop_hash(k, len);
    for (uint32_t j = h & n->hash_mask;; j = (j + 1) & n->hash_mask) {
        uint32_t x = n->prop_hash[j];
        if (!x)
            return -1;
        const dg_prop *p = &n->props[x - 1];
        if (p->hash == h && p->len == len && !memcmp(p->name, k, len))
            return (int32_t)(x - 1);
    }
}

/* The rarer key keywords: patternProperties, propertyNames,
 * unevaluatedProperties, discriminator. Returns 1 when a pattern matched. */
static int key_extra(dg_validator *v, frame *f, eval *e, int32_t i, const dg_node *n,
                     const dg_json_token *t, uint64_t ord)
{
    int matched = 0;
    (void)f;
    for (uint32_t k = 0; k < n->n_pattern_props; k++) {
        int r = dg_regex_search(n->pattern_props[k].re, t->s, t->len);
        if (r == 1) {
            matched = 1;
            add_pend(v, n->pattern_props[k].node, i, R_PROP, (uint32_t)ord);
        } else if (r < 0) {
            dg__err(v, &e->errs, v->nfr, DG_KIND_PATTERN, e->nid, "patternProperties", NULL,
                    NULL, 0, "patternProperties regex could not be evaluated (match limit exceeded)");
            fail_eval(v, e);
        }
    }
    if (n->prop_names >= 0) {
        elist tmp = {0};
        if (!dg__check_scalar(v, n->prop_names, DG_EV_STRING, t, &tmp, v->nfr, e->quick, NULL, i)) {
            fail_eval(v, e);
            dg__elist_move(v, &e->errs, &tmp);
        }
    }
    if (n->uneval_props >= 0)
        add_pend(v, n->uneval_props, i, R_UNEVAL_P, (uint32_t)ord);
    if (n->disc && n->disc->prop_len == t->len && !memcmp(n->disc->prop, t->s, t->len))
        add_pend(v, -1, i, R_DISC, 0);
    return matched;
}

static void on_key(dg_validator *v, const dg_json_token *t)
{
    frame *f = &v->fr[v->nfr - 1];
    uint64_t ord = f->count++;
    if (t->len < f->key.cap) {
        memcpy(f->key.data, t->s, t->len);
        f->key.data[t->len] = '\0';
        f->key.len = t->len;
    } else {
        dg_buf_reset(&f->key);
        dg_buf_append(&f->key, t->s, t->len);
    }
    if (f->need_annot) {
        /* names are kept only for messages about unevaluated (and
         * undocumented) properties; cap them so a huge object cannot grow
         * memory without bound */
        if (f->keys.len + t->len + 4 < DG_KEYS_KEPT && f->count - 1 == f->keys_n &&
            dg_buf_reserve(&f->keys, 4 + t->len) == 0) { /* both parts, or neither */
            uint32_t kl = (uint32_t)t->len;
            dg_buf_append(&f->keys, (const char *)&kl, 4);
            dg_buf_append(&f->keys, t->s, t->len);
            f->keys_n++;
        }
    }
    v->npd = 0;
    for (uint32_t i = f->ev_begin; i < f->ev_end; i++) {
        eval *e = &v->ev[i];
        const dg_node *n = &v->nodes[e->nid];
        uint32_t fl = n->flags;
        if (e->dead || !(fl & (NF_OBJ_KW | NF_KEY_EXTRA)))
            continue;
        int matched = 0;
        if (n->n_props) {
            int32_t pi = prop_lookup(n, t->s, t->len);
            if (pi >= 0) {
                const dg_prop *p = &n->props[pi];
                bit_set(&e->seen, (uint64_t)pi);
                if (p->node >= 0) {
                    matched = 1;
                    int32_t cc = p->node;
                    const dg_node *cn = &v->nodes[cc];
                    if (cn->flags & NF_PURE_REF)
                        cn = dg__follow(v->nodes, &cc);
                    if (cn->flags & NF_FALSE) {
                        dg__err(v, &e->errs, v->nfr, DG_KIND_ADDITIONAL, cc, NULL, NULL, NULL, 0,
                                "property \"%.*s\" is not allowed", (int)(t->len > 200 ? 200 : t->len), t->s);
                        fail_eval(v, e);
                    } else if (!(cn->flags & NF_TRUE)) {
                        add_pend(v, cc, (int32_t)i, R_PROP, (uint32_t)ord);
                    }
                }
                if (p->dep_schema >= 0 && p->dep_schema < 64)
                    e->dep_seen |= 1ull << p->dep_schema;
            }
        }
        if (fl & NF_KEY_EXTRA)
            matched |= key_extra(v, f, e, (int32_t)i, n, t, ord);
        if (!matched && n->addl >= 0) {
            int32_t cc = n->addl;
            const dg_node *cn = dg__follow(v->nodes, &cc);
            matched = 1;
            if (cn->flags & NF_FALSE) {
                dg__err(v, &e->errs, v->nfr, DG_KIND_ADDITIONAL, e->nid, "additionalProperties",
                        NULL, NULL, 0, "property \"%.*s\" is not allowed (additionalProperties)",
                        (int)(t->len > 200 ? 200 : t->len), t->s);
                fail_eval(v, e);
            } else if (!(cn->flags & NF_TRUE)) {
                add_pend(v, cc, (int32_t)i, R_PROP, (uint32_t)ord);
            }
        }
        if (matched && f->need_annot)
            bit_set(&e->ann, ord);
    }
}

static void on_scalar(dg_validator *v, dg_json_ev ev, const dg_json_token *t)
{
    if (v->nfr && !v->fr[v->nfr - 1].is_obj)
        item_pending(v);
    if (parent_wants_hash(v))
        contribute_hash(v, dg_hash_scalar(ev, t->s, t->len));
    uint32_t level = v->nfr;
    for (uint32_t k = 0; k < v->npd; k++) {
        pend p = v->pd[k];
        if (p.role == R_DISC) {
            eval *P = &v->ev[p.parent];
            /* The discriminator is a hint (OAS 3.0.4 / 3.1.1: it "MUST NOT
             * change the validation outcome"): every branch still runs and
             * the plain anyOf/oneOf verdict stands; the branch it names is
             * the one whose errors are reported when the combinator fails. */
            P->disc_branch = dg__disc_branch(v->nodes[P->nid].disc, ev, t);
            continue;
        }
        if (p.parent >= 0 && v->ev[p.parent].dead)
            continue; /* pruned while this value was being dispatched */
        int quick = p.parent >= 0 && (v->ev[p.parent].quick || is_branch_role(p.role));
        elist tmp = {0};
        uint64_t seq = v->seq;
        int ok = dg__check_scalar(v, p.nid, ev, t, &tmp, level, quick, NULL, p.parent);
        if (ok && !tmp.head && (p.role == R_PROP || p.role == R_ITEM))
            continue; /* the common case: nothing to tell the parent */
        report(v, p.parent, p.role, p.aux, ok, &tmp, NULL, seq);
    }
    v->npd = 0;
}

static void on_container_start(dg_validator *v, int is_obj)
{
    if (v->skip) {
        v->skip++;
        return;
    }
    if (v->nfr && !v->fr[v->nfr - 1].is_obj)
        item_pending(v);
    int hash_up = parent_wants_hash(v);
    if (!v->npd && !hash_up) {
        v->skip = 1;
        return;
    }
    uint32_t level = v->nfr;
    frame *f = push_frame(v, is_obj);
    if (!f)
        return;
    f->ev_begin = v->nev;
    for (uint32_t k = 0; k < v->npd; k++) {
        pend p = v->pd[k];
        if (p.role == R_DISC) {
            v->ev[p.parent].disc_branch = -3;
            continue;
        }
        push_eval(v, p.nid, p.parent, p.role, p.aux);
    }
    v->npd = 0;
    int need_hash = hash_up;
    uint8_t it = is_obj ? DG_T_OBJECT : DG_T_ARRAY;
    for (uint32_t i = f->ev_begin; i < v->nev; i++)
        open_eval(v, (int32_t)i, it, level, &need_hash);
    f = &v->fr[v->nfr - 1];
    f->ev_end = v->nev;
    for (uint32_t i = f->ev_begin; i < f->ev_end; i++)
        if (v->nodes[v->ev[i].nid].flags & NF_UNEVAL)
            f->need_annot = 1;
    if (v->undoc && is_obj)
        dg__undoc_open(v, f);
    f->hashing = (uint8_t)need_hash;
    f->child_hash = 0;
    if (!is_obj)
        for (uint32_t i = f->ev_begin; i < f->ev_end; i++)
            if ((v->nodes[v->ev[i].nid].flags & NF_UNIQUE) && !v->ev[i].dead)
                f->child_hash = 1;
}

static const char *nth_key(const frame *f, uint64_t ord, char *tmp, size_t n, size_t *len)
{
    const char *p = f->keys.data;
    if (p && ord < f->keys_n) {
        do
            p = dg__key_next(p, len);
        while (ord--);
        return p - *len;
    }
    snprintf(tmp, n, "#%llu (name not kept)", (unsigned long long)ord);
    *len = strlen(tmp);
    return tmp;
}

/* minProperties/maxProperties, minItems/maxItems (-1 = absent). */
static void count_bounds(dg_validator *v, eval *e, uint32_t level, const dg_shape *sh,
                         uint64_t count, int64_t min, int64_t max, const char *kw, const char *noun)
{
    char k[24];
    if (min >= 0 && count < (uint64_t)min) {
        snprintf(k, sizeof k, "min%s", kw);
        dg__err(v, &e->errs, level, DG_KIND_BOUNDS, e->nid, k, sh, NULL, 0,
                "%s has fewer than %lld %s", sh->type, (long long)min, noun);
        fail_eval(v, e);
    }
    if (max >= 0 && count > (uint64_t)max) {
        snprintf(k, sizeof k, "max%s", kw);
        dg__err(v, &e->errs, level, DG_KIND_BOUNDS, e->nid, k, sh, NULL, 0,
                "%s has more than %lld %s", sh->type, (long long)max, noun);
        fail_eval(v, e);
    }
}

/* The closest branch failed on its type at the container itself: make that
 * violation now (same container, so the instance pointer is still right). */
static void flush_best_type(dg_validator *v, eval *e, uint32_t level, const dg_shape *sh)
{
    if (e->best_is_type && e->best_branch >= 0)
        dg__err_type(v, &e->best, level, e->best_nid, e->best_want, sh, NULL, 0);
    e->best_is_type = 0;
}

static void finalize(dg_validator *v, int32_t i, frame *f, dg_hash h, uint32_t level)
{
    eval *e = &v->ev[i];
    const dg_node *n = &v->nodes[e->nid];
    dg_shape sh;
    memset(&sh, 0, sizeof sh);
    strcpy(sh.type, f->is_obj ? "object" : "array");
    sh.length = f->count;
    if (!e->dead) {
        if (f->is_obj && (n->flags & NF_OBJ_KW)) {
            int all_there = n->n_props <= 128 &&
                            (e->seen.inl[0] & n->req_mask[0]) == n->req_mask[0] &&
                            (e->seen.inl[1] & n->req_mask[1]) == n->req_mask[1];
            for (uint32_t k = 0; k < n->n_props && !all_there; k++) {
                const dg_prop *p = &n->props[k];
                if (p->req_bit < 0 || BIT_GET(e->seen, k))
                    continue;
                if (p->node >= 0) {
                    int32_t cc = p->node;
                    const dg_node *cn = dg__follow(v->nodes, &cc);
                    if ((v->opts.direction == DG_DIR_RESPONSE && (cn->flags & NF_WRITE_ONLY)) ||
                        (v->opts.direction == DG_DIR_REQUEST && (cn->flags & NF_READ_ONLY)))
                        continue; /* direction-aware required */
                }
                dg__err(v, &e->errs, level, DG_KIND_REQUIRED, e->nid, "required", &sh, NULL, 0,
                        "missing required property \"%s\"", p->name);
                fail_eval(v, e);
                if (e->quick)
                    break;
            }
            count_bounds(v, e, level, &sh, f->count, n->min_props, n->max_props, "Properties",
                         "properties");
            for (uint32_t d = 0; d < n->n_dep_required; d++) {
                const dg_dep_req *dr = &n->dep_required[d];
                int32_t pi = prop_lookup(n, dr->name, dr->len);
                if (pi < 0 || !BIT_GET(e->seen, (uint32_t)pi))
                    continue;
                for (uint32_t k = 0; k < dr->n; k++) {
                    int32_t qi = prop_lookup(n, dr->names[k], dr->lens[k]);
                    if (qi < 0 || !BIT_GET(e->seen, (uint32_t)qi)) {
                        dg__err(v, &e->errs, level, DG_KIND_REQUIRED, e->nid,
                                f->is_obj && n->dialect == DG_DIALECT_DRAFT4 ? "dependencies" : "dependentRequired",
                                &sh, NULL, 0, "property \"%s\" requires property \"%s\"", dr->name,
                                dr->names[k]);
                        fail_eval(v, e);
                    }
                }
            }
            if (n->uneval_props >= 0) {
                for (uint64_t k = 0; k < f->count; k++) {
                    if (BIT_GET(e->ann, k) || BIT_GET(e->unev, k))
                        continue;
                    char kt[48];
                    size_t kl;
                    const char *kn = nth_key(f, k, kt, sizeof kt, &kl);
                    dg__err(v, &e->errs, level, DG_KIND_ADDITIONAL, e->nid, "unevaluatedProperties",
                            &sh, NULL, 0, "property \"%.*s\" is not allowed (unevaluatedProperties)",
                            (int)(kl > 200 ? 200 : kl), kn);
                    fail_eval(v, e);
                    if (e->quick)
                        break;
                }
                for (uint64_t k = 0; k < f->count; k++)
                    bit_set(&e->ann, k);
            }
        }
        if (!f->is_obj && (n->flags & NF_ARR_KW)) {
            count_bounds(v, e, level, &sh, f->count, n->min_items, n->max_items, "Items", "items");
            if (n->contains >= 0) {
                if (e->contains_ok < (uint64_t)n->min_contains) {
                    dg__err(v, &e->errs, level, DG_KIND_BOUNDS, e->nid,
                            n->min_contains == 1 ? "contains" : "minContains", &sh, NULL, 0,
                            "array contains %u matching items, at least %lld expected",
                            e->contains_ok, (long long)n->min_contains);
                    fail_eval(v, e);
                }
                if (n->max_contains >= 0 && e->contains_ok > (uint64_t)n->max_contains) {
                    dg__err(v, &e->errs, level, DG_KIND_BOUNDS, e->nid, "maxContains", &sh, NULL, 0,
                            "array contains %u matching items, at most %lld allowed",
                            e->contains_ok, (long long)n->max_contains);
                    fail_eval(v, e);
                }
            }
            if (n->uneval_items >= 0) {
                for (uint64_t k = 0; k < f->count; k++) {
                    if (BIT_GET(e->ann, k) || BIT_GET(e->unev, k))
                        continue;
                    dg__err(v, &e->errs, level, DG_KIND_ADDITIONAL, e->nid, "unevaluatedItems",
                            &sh, NULL, 0, "item %llu is not allowed (unevaluatedItems)",
                            (unsigned long long)k);
                    fail_eval(v, e);
                    break;
                }
                for (uint64_t k = 0; k < f->count; k++)
                    bit_set(&e->ann, k);
            }
        }
        if (n->flags & (NF_ENUM | NF_CONST)) {
            int found = 0;
            for (uint32_t k = 0; k < n->n_enum && !found; k++)
                found = n->enum_v[k].h1 == h.a && n->enum_v[k].h2 == h.b;
            if (!found && !e->invalid) {
                dg__err(v, &e->errs, level, DG_KIND_ENUM, e->nid, (n->flags & NF_CONST) ? "const" : "enum",
                        &sh, NULL, 0, "%s", (n->flags & NF_CONST) ? "value does not equal the const"
                                                                 : "value is not one of the enum values");
                fail_eval(v, e);
            }
        }
        /* combinators */
        for (int which = 0; which < 2; which++) {
            uint32_t nb = which ? n->n_one_of : n->n_any_of;
            if (!nb)
                continue;
            const char *kw = which ? "oneOf" : "anyOf";
            uint32_t passed = which ? e->one_ok : e->any_ok;
            if (which ? passed == 1 : passed > 0) {
                dg__elist_clear(v, &e->best);
                continue;
            }
            if (which && passed > 1)
                dg__err(v, &e->errs, level, DG_KIND_COMBINATOR, e->nid, kw, &sh, NULL, 0,
                        "value matches %u oneOf branches, exactly one expected", passed);
            else {
                char others[200];
                dg__branch_summary(others, sizeof others, e->br_kind, nb, e->best_branch);
                dg__err(v, &e->errs, level, DG_KIND_COMBINATOR, e->nid, kw, &sh, NULL, 0,
                        "value matches none of the %u %s branches; closest is branch %d (its errors follow)%s",
                        nb, kw, e->best_branch, others);
            }
            fail_eval(v, e);
            e->uflags |= UF_CLOSED;
            flush_best_type(v, e, level, &sh);
            dg__elist_move(v, &e->errs, &e->best);
        }
        if (n->not_ >= 0 && e->not_ok) {
            dg__err(v, &e->errs, level, DG_KIND_COMBINATOR, e->nid, "not", &sh, NULL, 0,
                    "value must not match the schema in \"not\"");
            fail_eval(v, e);
        }
    }
    if (v->undoc && f->is_obj && !(f->uflags & UF_CLOSED))
        dg__undoc_eval_done(v, e, f);
    /* report() only touches the parent eval, never the eval array's size */
    report(v, e->parent, e->role, e->aux, !e->invalid, &e->errs, e, e->fail_seq);
    dg__free_eval(v, &v->ev[i]);
}

static void on_container_end(dg_validator *v)
{
    if (v->skip) {
        v->skip--;
        return;
    }
    frame *f = &v->fr[v->nfr - 1];
    uint32_t level = v->nfr - 1;
    dg_hash h = f->hashing ? dg_hash_finish(f->hacc, f->is_obj, f->count) : (dg_hash){0, 0};
    for (int32_t i = (int32_t)f->ev_end - 1; i >= (int32_t)f->ev_begin; i--)
        finalize(v, i, f, h, level);
    if (v->undoc && f->is_obj)
        dg__undoc_emit(v, f, level);
    v->nev = f->ev_begin;
    v->nfr--;
    if (f->hashing)
        contribute_hash(v, h);
}

int dg_validator_event(dg_validator *v, dg_json_ev ev, const dg_json_token *tok)
{
    dg_json_token fixed;
    /* After an internal failure (allocation, limit) the frame stack may not
     * match the events any more: ignore the rest of the value. */
    if (v->failed_internal)
        return DG_ESTOP;
    if (tok->len == 0 && !tok->s) {
        /* an empty string may come without a buffer: keep memcmp/memcpy defined */
        fixed = *tok;
        fixed.s = "";
        tok = &fixed;
    }
    v->seq++;
    switch (ev) {
    case DG_EV_OBJ_START: on_container_start(v, 1); break;
    case DG_EV_ARR_START: on_container_start(v, 0); break;
    case DG_EV_OBJ_END: case DG_EV_ARR_END: on_container_end(v); break;
    case DG_EV_KEY:
        if (!v->skip)
            on_key(v, tok);
        break;
    default:
        if (!v->skip)
            on_scalar(v, ev, tok);
        break;
    }
    return v->failed_internal ? DG_ESTOP : 0;
}
