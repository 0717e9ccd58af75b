/* validate/compile_internal.h (private): shared by the keyword compiler
 * (compile.c: nodes, references, the recursion; compile_kw.c: keyword
 * groups). */
#ifndef DG_VALIDATE_COMPILE_INTERNAL_H
#define DG_VALIDATE_COMPILE_INTERNAL_H

#include "validate/schemaset_internal.h"

typedef struct cctx {
    dg_schemaset *s;
    dg_error *err;
    int assert_formats;
    int depth;
} cctx;

typedef struct frame {
    dg_doc *doc;
    dg_dialect d;
    const char *base;
    const json_t *resource;
    const char *loc;    /* "name#/pointer" of this schema */
    int no_validation;  /* the meta-schema leaves out the validation vocabulary */
    int format_assert;  /* 1: the meta-schema uses the format-assertion vocabulary */
} frame;

static inline int dg__draft4ish(dg_dialect d)
{
    return d == DG_DIALECT_DRAFT4 || d == DG_DIALECT_OAS30 || d == DG_DIALECT_SWAGGER2;
}
static inline int dg__is_oas(dg_dialect d)
{
    return d == DG_DIALECT_OAS30 || d == DG_DIALECT_OAS31 || d == DG_DIALECT_SWAGGER2;
}

/* Records a located DG_ESPEC error (fmt takes one string argument); -1. */
int dg__cfail(cctx *c, dg_doc *doc, const json_t *at, const char *loc, const char *fmt,
              const char *a);
/* Copies s into the schemaset's arena. */
const char *dg__cstr(cctx *c, const char *s, size_t n);
/* Compiles subschema js found under keyword k1 (and key k2) of frame f. */
int32_t dg__csub(cctx *c, json_t *js, frame *f, const char *k1, const char *k2);
int32_t dg__csub_idx(cctx *c, json_t *js, frame *f, const char *k1, size_t i);

/* compile_kw.c: keyword groups of one schema object into nd; 0 or -1. */
int dg__compile_object_kw(cctx *c, json_t *js, frame *f, dg_node *nd);
int dg__compile_array_kw(cctx *c, json_t *js, frame *f, dg_node *nd);
int dg__compile_scalar_kw(cctx *c, json_t *js, frame *f, dg_node *nd);
int dg__compile_discriminator(cctx *c, json_t *js, frame *f, dg_node *nd);
int dg__make_value(cctx *c, json_t *v, frame *f, dg_value *out);
int dg__is_known_keyword(const char *k, dg_dialect d);
/* schema_array: the schemas of array keyword kw (non-empty), or NULL. */
int32_t *dg__schema_array(cctx *c, json_t *js, frame *f, const char *kw, uint32_t *count);

#endif
