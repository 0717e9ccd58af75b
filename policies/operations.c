/* policies/operations.c: the spec-aware config check. Once an API's specs
 * are loaded, every operation the config names (override keys, ignore rules)
 * must exist, so a typo cannot silently leave an operation unprotected or an
 * ignore rule dead. Operations with an operationId are named by it only: the
 * proxy looks policies up by operationId or label (dg_policy_for_operation),
 * and a label is the operationId when there is one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/policies_internal.h"
#include "validate/router.h"

typedef struct op_errs {
    const dg_api *api;
    dg_error *errs;
    size_t max, n, total;
} op_errs;

static void op_err(op_errs *e, const dg_conf_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void op_err(op_errs *e, const dg_conf_loc *loc, const char *fmt, ...)
{
    e->total++;
    if (!e->errs || e->n >= e->max)
        return;
    dg_error *x = &e->errs[e->n++];
    memset(x, 0, sizeof *x);
    x->code = DG_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, sizeof x->msg, fmt, ap);
    va_end(ap);
    dg_error_locate(x, e->api->config_file, loc->line, loc->col, loc->pointer);
}

/* "/pets/{petId}" and "/pets/{id}" have the same shape. */
static int same_shape(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a == '{' && *b == '{') {
            a = strchr(a, '}');
            b = strchr(b, '}');
            if (!a || !b)
                return 0;
        } else if (*a != *b) {
            return 0;
        }
        a++;
        b++;
    }
    return !*a && !*b;
}

/* Finds the operation a key names. NULL with why (a message) when none. */
static const dg_route_op *resolve(const char *key, const struct dg_router *const *routers, size_t n,
                                  char *why, size_t whysz)
{
    const char *sp = strchr(key, ' ');
    const dg_route_op *near = NULL;
    size_t neard = (size_t)-1;
    for (size_t r = 0; r < n; r++) {
        if (!sp) {
            const dg_route_op *op = dg_router_find_operation_id(routers[r], key);
            if (op)
                return op;
        }
        for (size_t i = 0; i < dg_router_count(routers[r]); i++) {
            const dg_route_op *op = dg_router_get(routers[r], i);
            if (sp) {
                size_t ml = (size_t)(sp - key);
                int same_m = strlen(op->method) == ml && !memcmp(op->method, key, ml);
                if (same_m && !strcmp(op->path_template, sp + 1)) {
                    if (!op->operation_id)
                        return op;
                    snprintf(why, whysz, "operation \"%.100s\" has operationId \"%.100s\": name "
                             "it by that", key, op->operation_id);
                    return NULL;
                }
                if (!near && same_m && same_shape(op->path_template, sp + 1))
                    near = op;
            } else if (op->operation_id) {
                size_t d = dg__edit_distance(key, op->operation_id, 3);
                if (d <= 3 && d < neard) {
                    near = op;
                    neard = d;
                }
            }
        }
    }
    if (near && sp && near->operation_id)
        snprintf(why, whysz, "no operation \"%.100s\" in the API's spec%s (did you mean \"%.100s\", "
                 "the operationId of %s %.100s?)", key, n == 1 ? "" : "s", near->operation_id,
                 near->method, near->path_template);
    else if (near)
        snprintf(why, whysz, "no operation \"%.100s\" in the API's spec%s (did you mean \"%.100s\"?)",
                 key, n == 1 ? "" : "s", sp ? near->label : near->operation_id);
    else
        snprintf(why, whysz, "no operation \"%.100s\" in the API's spec%s%s", key, n == 1 ? "" : "s",
                 sp ? "" : " (operationIds are case-sensitive)");
    return NULL;
}

static void check_rules(op_errs *e, const dg_ignore_rule *rules, size_t n,
                        const struct dg_router *const *routers, size_t nr)
{
    char why[400];
    for (size_t i = 0; i < n; i++)
        if (rules[i].operation && !resolve(rules[i].operation, routers, nr, why, sizeof why))
            op_err(e, &rules[i].loc, "ignore rule: %s", why);
}

int dg_config_check_operations(const dg_api *api, const struct dg_router *const *routers, size_t n,
                               dg_error *errs, size_t max, size_t *n_errs)
{
    op_errs e = {api, errs, errs ? max : 0, 0, 0};
    char why[400];
    const dg_route_op **seen = NULL;
    if (!n)
        goto out;
    if (api->n_ops && !(seen = calloc(api->n_ops, sizeof *seen))) {
        static const dg_conf_loc none = {0, 0, NULL};
        op_err(&e, &none, "out of memory");
        goto out;
    }
    check_rules(&e, api->policy.ignore, api->policy.n_ignore, routers, n);
    for (size_t i = 0; i < api->n_ops; i++) {
        const dg_op_policy *o = &api->ops[i];
        const dg_route_op *op = resolve(o->operation, routers, n, why, sizeof why);
        if (!op) {
            op_err(&e, &o->loc, "%s", why);
        } else {
            for (size_t j = 0; j < i; j++)
                if (seen[j] == op)
                    op_err(&e, &o->loc, "operation \"%s\" is also overridden as \"%s\"",
                           o->operation, api->ops[j].operation);
            seen[i] = op;
        }
        /* the override's own rules are the last n_own_ignore (the API's
         * were copied first and are checked once, above) */
        const dg_policy *p = &o->policy;
        size_t own = o->n_own_ignore <= p->n_ignore ? o->n_own_ignore : p->n_ignore;
        check_rules(&e, p->ignore + (p->n_ignore - own), own, routers, n);
    }
out:
    free(seen);
    if (n_errs)
        *n_errs = e.n;
    return e.total ? DG_EINVAL : 0;
}
