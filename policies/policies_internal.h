/* policies/policies_internal.h: what the loader's files (config.c,
 * config_api.c, config_schema.c, policy.c, units.c) share. Not for other
 * modules.
 *
 * Errors: a load keeps going after an error so a user sees every mistake in
 * one run; each error is located by the JSON pointer of the value it is
 * about, mapped to file:line:col through the document's node locations. */
#ifndef DG_POLICIES_INTERNAL_H
#define DG_POLICIES_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "common/error.h"
#include "policies/policies.h"
#include "validate/doc.h"

/* JSON pointers into a config file stay short; longer ones are cut (only
 * used in messages and locations). */
#define DG_CFG_PTR 256

typedef struct dg_cfgctx {
    const char *file;      /* the config file as named by the user: error locations */
    const char *dir;       /* absolute directory of the file, for relative paths */
    const char *text;      /* the file's bytes (NUL-terminated): key locations */
    size_t text_len;
    dg_doc *doc;
    dg_error *errs;        /* may be NULL */
    size_t max;
    size_t n;              /* stored in errs */
    size_t total;          /* found (may exceed max) */
    int nomem;             /* an allocation failed: the load fails with DG_ENOMEM */
} dg_cfgctx;

/* Records an error about the value at pointer (at_key: about its key, e.g.
 * an unknown key, so the key's own position is reported when it can be
 * found). */
void dg__cfg_err(dg_cfgctx *c, const char *pointer, int at_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* file:line:col of the value at pointer, or of its nearest located ancestor. */
void dg__cfg_locate(const dg_cfgctx *c, const char *pointer, int at_key, unsigned *line,
                    unsigned *col);
/* Fills loc (pointer copied) for the value at pointer. 0 or DG_ENOMEM. */
int dg__cfg_loc(dg_cfgctx *c, const char *pointer, dg_conf_loc *loc);

/* out = parent + "/" + escaped key (cut to DG_CFG_PTR). */
void dg__ptr_key(char out[DG_CFG_PTR], const char *parent, const char *key);
void dg__ptr_idx(char out[DG_CFG_PTR], const char *parent, size_t i);

/* Validates the document against the embedded config schema, recording each
 * violation. Returns the number of violations (0 = valid), or a negative
 * DG_E* when the schema itself cannot be used (a build defect). */
int dg__cfg_schema_check(dg_cfgctx *c);

/* Applies the policy object at ptr (fields set in the file) onto p, which
 * already holds the preset or the API's policy. own_ignore (may be NULL)
 * receives how many ignore rules the object added. */
void dg__policy_apply(dg_cfgctx *c, json_t *obj, const char *ptr, dg_policy *p,
                      size_t *own_ignore);
/* Deep copy; 0 or DG_ENOMEM (dst is then safe to free). */
int dg__policy_copy(dg_policy *dst, const dg_policy *src);
void dg__policy_free(dg_policy *p);
/* Checks an operation key's form ("listPets" or "GET /pets/{id}") and returns
 * a normalized copy (method upper-cased), or NULL with *why set. */
char *dg__op_key_normalize(const char *key, const char **why);

/* Builds APIs (config_api.c). */
int dg__cfg_apis(dg_cfgctx *c, dg_config *cfg, json_t *apis);
void dg__api_free(dg_api *a);

/* `store:` and `explain:` (config_explain.c). dg__cfg_explain applies the
 * object at ptr onto e; dg__cfg_explain_finish fills per-backend defaults
 * and demands what cannot be defaulted (errors reported at ptr). */
void dg__store_conf_default(dg_store_conf *s);
void dg__cfg_store(dg_cfgctx *c, dg_config *cfg, json_t *o);
void dg__cfg_explain(dg_cfgctx *c, json_t *o, const char *ptr, dg_llm_conf *e);
void dg__cfg_explain_finish(dg_cfgctx *c, dg_llm_conf *e, const char *ptr);

/* Joins a relative path onto dir (absolute paths are copied). NULL on ENOMEM. */
char *dg__path_join(const char *dir, const char *path);

/* Levenshtein distance capped at cap+1 (for "did you mean"). */
size_t dg__edit_distance(const char *a, const char *b, size_t cap);

#endif
