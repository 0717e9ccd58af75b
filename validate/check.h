/* validate/check.h (private): scalar checks and violation lists. */
#ifndef DG_VALIDATE_CHECK_H
#define DG_VALIDATE_CHECK_H

#include <stdarg.h>

#include "validate/engine_internal.h"

void dg__verr_free(dg_validator *v, verr *e);
void dg__elist_clear(dg_validator *v, elist *l);
void dg__elist_move(dg_validator *v, elist *dst, elist *src);
/* Moves only src's undocumented-property findings to dst (counts included);
 * frees the rest and leaves src empty. */
void dg__elist_keep_undoc(dg_validator *v, elist *dst, elist *src);
/* An info-level finding: member `key` (NULL: its name was not kept; ord is
 * its position) of the object at level is not documented by schema nid. */
void dg__err_undoc(dg_validator *v, elist *l, uint32_t level, int32_t nid, const char *key,
                   size_t klen, uint64_t ord);
int dg__err(dg_validator *v, elist *l, uint32_t level, dg_kind kind, int32_t nid,
            const char *kw, const dg_shape *shape, const char *raw, size_t rawlen,
            const char *fmt, ...) __attribute__((format(printf, 10, 11)));
int dg__err_type(dg_validator *v, elist *l, uint32_t level, int32_t nid, uint8_t want,
                 const dg_shape *shape, const char *raw, size_t rawlen);
void dg__type_names(uint8_t t, char *buf, size_t n);
/* "; others failed on: branch 0 type, 2 required" for a failed anyOf/oneOf
 * (kinds[i] = kind + 1 of branch i's first violation, 0 unknown). */
void dg__branch_summary(char *out, size_t n, const uint8_t *kinds, uint32_t nb, int32_t best);
/* The violation's message (newly allocated). */
char *dg__verr_message(const verr *e);
void dg__shape_scalar(dg_validator *v, dg_json_ev ev, const dg_json_token *t, dg_shape *sh);
const dg_node *dg__follow(const dg_node *nodes, int32_t *nid);
uint8_t dg__inst_type(const dg_node *n, dg_json_ev ev, const dg_json_token *t, dg_validator *v);
int dg__type_ok(const dg_node *n, uint8_t it);
int32_t dg__resolve_dynref(dg_validator *v, const dg_node *n, const scope *sc, int32_t eval_ix);
void dg__branch_failed(dg_validator *v, elist *best, uint64_t *best_score, int32_t *best_branch,
                       int32_t branch, uint64_t score, int preferred, elist *errs);
int dg__disc_branch(const dg_disc *d, dg_json_ev ev, const dg_json_token *t);
/* Checks scalar event ev against node nid; appends violations to out.
 * quick: stop at the first violation. Returns 1 valid, 0 invalid. */
int dg__check_scalar(dg_validator *v, int32_t nid, dg_json_ev ev, const dg_json_token *t,
                     elist *out, uint32_t level, int quick, const scope *up, int32_t eval_ix);

#endif
