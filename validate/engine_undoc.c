/* validate/engine_undoc.c: undocumented properties as info-level findings
 * (dg_validate_opts.report_undocumented).
 *
 * A member of an instance object is undocumented when some schema applied
 * to the object declares `properties` or `patternProperties`, none of them
 * names the member in `properties` or matches it with `patternProperties`,
 * and none has `additionalProperties`/`unevaluatedProperties` (any value:
 * an explicit keyword means the author decided what else may appear).
 *
 * "Applied" follows the annotation rules of unevaluatedProperties, so it
 * costs nothing new per key: each eval's `ann` bits (members matched by its
 * properties/patternProperties/additionalProperties, plus what its in-place
 * children contributed) and its uflags (UF_DECL, UF_CLOSED) flow to the parent in
 * report(): from $ref/allOf/dependentSchemas and the selected then/else
 * always, from if/anyOf/oneOf branches only when they passed, never from
 * `not` or from branches a discriminator pruned. When an anyOf/oneOf (or a
 * discriminator) fails, the object matched no documented variant, so it is
 * not judged (UF_CLOSED); nor is it when an applied schema stopped early
 * because it had already failed inside a combinator branch.
 *
 * An object reached by several schemas from its parent (allOf members each
 * with properties.x, anyOf branches, ...) is judged once, on the union of
 * them all. Its findings join the error list of one parent eval, preferably
 * one not inside a branch and not failed, so they travel up like errors:
 * kept when that eval passes (report() keeps only them), reported with the
 * closest branch when it fails, dropped with a discarded branch.
 *
 * Findings never change the verdict and have their own cap (max_errors),
 * so they never push a real violation out of the list. */
#include <string.h>

#include "validate/check.h"

/* Eval i applies to the object whatever happens: reached from the value's
 * own schema through $ref/allOf only (no branch, condition, dependency). */
static int applies_for_sure(const dg_validator *v, uint32_t i)
{
    for (;;) {
        const eval *e = &v->ev[i];
        if (e->role == R_ROOT || e->role == R_PROP || e->role == R_ITEM)
            return 1;
        if (e->role != R_INPLACE)
            return 0;
        i = (uint32_t)e->parent;
    }
}

/* Decides at the opening brace what can be decided statically, so that
 * most objects of a typical spec cost nothing more: none of the applied
 * schemas declares properties (nothing to report), or one that surely
 * applies has additionalProperties/unevaluatedProperties (the author
 * decided). Otherwise member names and annotations are kept. */
void dg__undoc_open(dg_validator *v, frame *f)
{
    f->uflags = UF_CLOSED;
    int decl = 0;
    for (uint32_t i = f->ev_begin; i < f->ev_end; i++) {
        uint32_t fl = v->nodes[v->ev[i].nid].flags;
        decl |= (fl & NF_UDECL) != 0;
        if ((fl & NF_UCLOSED) && applies_for_sure(v, i))
            return;
    }
    if (!decl)
        return;
    f->uflags = 0;
    bits_zero(&f->u_doc);
    f->need_annot = 1; /* documented members are annotations; names for the findings */
}

void dg__undoc_eval_done(dg_validator *v, eval *e, frame *f)
{
    const dg_node *n = &v->nodes[e->nid];
    if (!e->dead) {
        if (n->flags & NF_UDECL)
            e->uflags |= UF_DECL;
        if (n->flags & NF_UCLOSED)
            e->uflags |= UF_CLOSED;
    } else if (e->invalid) {
        /* stopped looking at members when it failed: its view is partial */
        e->uflags |= UF_CLOSED;
    }
    if (e->role == R_ROOT || e->role == R_PROP || e->role == R_ITEM) {
        f->uflags |= e->uflags;
        dg__bits_or(&f->u_doc, &e->ann);
    }
}

/* How sure we are that findings handed to this top eval's parent reach the
 * result: the root, a live eval outside any branch, a live one, any. */
static int target_rank(const dg_validator *v, const eval *t)
{
    int decl = t->uflags & UF_DECL;
    if (t->parent < 0)
        return 6 + decl;
    const eval *P = &v->ev[t->parent];
    if (P->invalid || P->dead)
        return decl;
    return (P->quick ? 2 : 4) + decl;
}

void dg__undoc_emit(dg_validator *v, frame *f, uint32_t level)
{
    if (f->uflags != UF_DECL || !f->count)
        return;
    /* evals of f are finalised, but their parent/role/nid are intact */
    const eval *best = NULL;
    int best_rank = -1;
    for (uint32_t k = f->ev_begin; k < f->ev_end; k++) {
        const eval *t = &v->ev[k];
        if (t->role != R_ROOT && t->role != R_PROP && t->role != R_ITEM)
            continue;
        int r = target_rank(v, t);
        if (r > best_rank) {
            best_rank = r;
            best = t;
        }
    }
    if (!best)
        return;
    elist *dst = best->parent < 0 ? &v->out : &v->ev[best->parent].errs;
    const char *kp = f->keys.data;
    for (uint64_t ord = 0; ord < f->count; ord++) {
        const char *name = NULL;
        size_t len = 0;
        if (kp && ord < f->keys_n) {
            kp = dg__key_next(kp, &len);
            name = kp - len;
        }
        if (BIT_GET(f->u_doc, ord))
            continue;
        if (dst->und_kept >= v->opts.max_errors) {
            /* already full of these: count without building the record */
            dst->und++;
            dst->dropped++;
            continue;
        }
        elist tmp = {0};
        dg__err_undoc(v, &tmp, level, best->nid, name, len, ord);
        dg__elist_move(v, dst, &tmp);
    }
}
