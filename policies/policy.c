/* policies/policy.c: tolerance presets, policies read from the file, and the
 * per-response questions the proxy asks (which policy, ignored?, masked?).
 *
 * The per-response functions only read immutable data and allocate nothing:
 * they run on the proxy's event loop for every violation. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/policies_internal.h"
#include "validate/router.h"
#include "validate/validate.h"

/* Intermediaries and rate limiters answer these whatever the provider's
 * spec says; for a third-party API they are weather, not drift. Read-only:
 * the loader always copies a preset's list before changing it. */
static const int third_party_info_statuses[] = {429, 502, 503, 504};

void dg_policy_preset(dg_profile p, dg_policy *out)
{
    memset(out, 0, sizeof *out);
    out->profile = p;
    out->mode = DG_MODE_MONITOR;
    out->sample_rate = 1.0;
    out->max_body = 64ull << 20;
    out->enforce_max_body = 8ull << 20;
    out->assert_formats = 1;
    out->include_values = 0;
    switch (p) {
    case DG_PROFILE_STRICT:
        out->undocumented_fields = DG_HANDLE_ERROR;
        out->undocumented_status = DG_HANDLE_ERROR;
        break;
    case DG_PROFILE_THIRD_PARTY:
        out->undocumented_fields = DG_HANDLE_INFO;
        out->undocumented_status = DG_HANDLE_ERROR;
        out->info_statuses = (int *)third_party_info_statuses;
        out->n_info_statuses = sizeof third_party_info_statuses / sizeof *third_party_info_statuses;
        break;
    case DG_PROFILE_REPORT_ONLY:
        out->undocumented_fields = DG_HANDLE_INFO;
        out->undocumented_status = DG_HANDLE_INFO;
        break;
    }
}

const dg_policy *dg_policy_for_operation(const dg_api *api, const char *op_id,
                                         const char *op_label)
{
    for (size_t i = 0; i < api->n_ops; i++) {
        const char *k = api->ops[i].operation;
        if ((op_label && !strcmp(k, op_label)) || (op_id && !strcmp(k, op_id)))
            return &api->ops[i].policy;
    }
    return &api->policy;
}

int dg_policy_ignores(const dg_policy *p, const char *op_id, const char *op_label, int status,
                      const char *instance_pointer, int kind)
{
    for (size_t i = 0; i < p->n_ignore; i++) {
        const dg_ignore_rule *r = &p->ignore[i];
        if (r->operation && !((op_id && !strcmp(r->operation, op_id)) ||
                              (op_label && !strcmp(r->operation, op_label))))
            continue;
        if (r->status >= 100 ? r->status != status
                             : (r->status > 0 && status / 100 != r->status))
            continue;
        if (r->pointer && !dg_pointer_match(r->pointer, instance_pointer))
            continue;
        if (r->kind >= 0 && r->kind != kind)
            continue;
        return 1;
    }
    return 0;
}

/* Compares an escaped pointer segment with a property name,
 * case-insensitively. */
static int seg_is(const char *seg, size_t n, const char *name)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        char ch = seg[i];
        if (ch == '~' && i + 1 < n && (seg[i + 1] == '0' || seg[i + 1] == '1'))
            ch = seg[++i] == '0' ? '~' : '/';
        if (!name[j] || tolower((unsigned char)ch) != tolower((unsigned char)name[j]))
            return 0;
    }
    return !name[j];
}

int dg_policy_masks(const dg_policy *p, const char *instance_pointer)
{
    const char *ptr = instance_pointer ? instance_pointer : "";
    for (size_t i = 0; i < p->n_redact_pointers; i++)
        if (dg_pointer_match(p->redact_pointers[i], ptr))
            return 1;
    if (!p->n_redact_properties)
        return 0;
    /* a masked property masks everything below it */
    for (const char *s = ptr; *s == '/';) {
        const char *seg = s + 1;
        size_t n = strcspn(seg, "/");
        for (size_t i = 0; i < p->n_redact_properties; i++)
            if (seg_is(seg, n, p->redact_properties[i]))
                return 1;
        s = seg + n;
    }
    return 0;
}

/* ---- copies ---- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_rule(dg_ignore_rule *r)
{
    free(r->operation);
    free(r->pointer);
    free(r->loc.pointer);
}

void dg__policy_free(dg_policy *p)
{
    if (p->info_statuses != third_party_info_statuses)
        free(p->info_statuses);
    for (size_t i = 0; i < p->n_ignore; i++)
        free_rule(&p->ignore[i]);
    free(p->ignore);
    for (size_t i = 0; i < p->n_owners; i++) {
        free(p->owners[i].team);
        free(p->owners[i].contact);
    }
    free(p->owners);
    free_strv(p->redact_pointers, p->n_redact_pointers);
    free_strv(p->redact_properties, p->n_redact_properties);
    memset(p, 0, sizeof *p);
}

static char *dup_or_null(const char *s, int *bad)
{
    if (!s)
        return NULL;
    char *r = strdup(s);
    if (!r)
        *bad = 1;
    return r;
}

static char **dup_strv(char *const *v, size_t n, int *bad)
{
    if (!n)
        return NULL;
    char **r = calloc(n, sizeof *r);
    if (!r) {
        *bad = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        r[i] = dup_or_null(v[i], bad);
    return r;
}

int dg__policy_copy(dg_policy *dst, const dg_policy *src)
{
    int bad = 0;
    *dst = *src;
    dst->info_statuses = NULL;
    dst->ignore = NULL;
    dst->owners = NULL;
    dst->redact_pointers = dst->redact_properties = NULL;
    dst->n_ignore = dst->n_owners = dst->n_redact_pointers = dst->n_redact_properties = 0;
    if (src->n_info_statuses) {
        if (!(dst->info_statuses = malloc(src->n_info_statuses * sizeof(int))))
            goto fail;
        memcpy(dst->info_statuses, src->info_statuses, src->n_info_statuses * sizeof(int));
    }
    if (src->n_ignore) {
        if (!(dst->ignore = calloc(src->n_ignore, sizeof *dst->ignore)))
            goto fail;
        dst->n_ignore = src->n_ignore;
        for (size_t i = 0; i < src->n_ignore; i++) {
            dst->ignore[i] = src->ignore[i];
            dst->ignore[i].operation = dup_or_null(src->ignore[i].operation, &bad);
            dst->ignore[i].pointer = dup_or_null(src->ignore[i].pointer, &bad);
            dst->ignore[i].loc.pointer = dup_or_null(src->ignore[i].loc.pointer, &bad);
        }
    }
    if (src->n_owners) {
        if (!(dst->owners = calloc(src->n_owners, sizeof *dst->owners)))
            goto fail;
        dst->n_owners = src->n_owners;
        for (size_t i = 0; i < src->n_owners; i++) {
            dst->owners[i].team = dup_or_null(src->owners[i].team, &bad);
            dst->owners[i].contact = dup_or_null(src->owners[i].contact, &bad);
        }
    }
    dst->redact_pointers = dup_strv(src->redact_pointers, src->n_redact_pointers, &bad);
    dst->n_redact_pointers = dst->redact_pointers ? src->n_redact_pointers : 0;
    dst->redact_properties = dup_strv(src->redact_properties, src->n_redact_properties, &bad);
    dst->n_redact_properties = dst->redact_properties ? src->n_redact_properties : 0;
    if (!bad)
        return 0;
fail:
    dg__policy_free(dst);
    return DG_ENOMEM;
}

/* ---- reading a policy object ---- */

static const char *const methods[] = {"GET", "PUT", "POST", "DELETE", "OPTIONS",
                                      "HEAD", "PATCH", "TRACE", NULL};

char *dg__op_key_normalize(const char *key, const char **why)
{
    static const char *form = "an operation is named by its operationId, or \"METHOD /path\" "
                              "such as \"GET /pets/{petId}\"";
    *why = form;
    if (!key[0])
        return NULL;
    const char *sp = strchr(key, ' ');
    if (!sp) {
        for (const char *k = key; *k; k++)
            if ((unsigned char)*k < ' ' || isspace((unsigned char)*k))
                return NULL;
        char *r = strdup(key);
        *why = r ? NULL : "out of memory";
        return r;
    }
    size_t ml = (size_t)(sp - key);
    int known = 0;
    for (int i = 0; methods[i]; i++)
        known |= strlen(methods[i]) == ml && !strncasecmp(methods[i], key, ml);
    if (!known || sp[1] != '/')
        return NULL;
    for (const char *k = sp + 1; *k; k++)
        if ((unsigned char)*k <= ' ')
            return NULL;
    char *r = strdup(key);
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < ml; i++)
        r[i] = (char)toupper((unsigned char)r[i]);
    *why = NULL;
    return r;
}

static int kind_parse(const char *s)
{
    for (int k = 0; k < DG_KIND_COUNT; k++)
        if (!strcmp(dg_kind_name((dg_kind)k), s))
            return k;
    return -1;
}

static int handling_parse(const char *s)
{
    for (int h = DG_HANDLE_IGNORE; h <= DG_HANDLE_ERROR; h++)
        if (!strcmp(dg_handling_name((dg_handling)h), s))
            return h;
    return -1;
}

/* A size field (string or integer) at ptr; keeps *out on error. */
static void get_size(dg_cfgctx *c, json_t *v, const char *ptr, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        *out = (uint64_t)json_integer_value(v);
    else if (!json_is_string(v) || dg_parse_size(json_string_value(v), out))
        dg__cfg_err(c, ptr, 0, "must be a size such as \"8MiB\", \"512KiB\", \"100kB\" or an "
                    "integer of bytes");
}

/* Pointer patterns: "" or "/..."; "**" only as the last segment. */
static int pattern_ok(dg_cfgctx *c, const char *pat, const char *ptr)
{
    if (pat[0] && pat[0] != '/') {
        dg__cfg_err(c, ptr, 0, "\"%.100s\" must be a JSON pointer: empty, or starting with \"/\"", pat);
        return 0;
    }
    const char *dd = strstr(pat, "**");
    if (dd && (dd[-1] != '/' || dd[2] || dd != pat + strlen(pat) - 2)) {
        dg__cfg_err(c, ptr, 0, "\"%.100s\": \"**\" is only allowed as the whole last segment "
                    "(\"/meta/**\"); to mask a property at any depth use redact.properties", pat);
        return 0;
    }
    return 1;
}

static void read_rules(dg_cfgctx *c, json_t *arr, const char *ptr, dg_policy *p, size_t *own)
{
    size_t n = json_array_size(arr);
    if (!n)
        return;
    dg_ignore_rule *nr = realloc(p->ignore, (p->n_ignore + n) * sizeof *nr);
    if (!nr) {
        c->nomem = 1;
        return;
    }
    p->ignore = nr;
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        char rp[DG_CFG_PTR], fp[DG_CFG_PTR];
        dg__ptr_idx(rp, ptr, i);
        dg_ignore_rule *r = &p->ignore[p->n_ignore++];
        memset(r, 0, sizeof *r);
        r->kind = -1;
        if (own)
            (*own)++;
        if (dg__cfg_loc(c, rp, &r->loc))
            return;
        json_t *v;
        if ((v = json_object_get(o, "operation")) && json_is_string(v)) {
            const char *why;
            dg__ptr_key(fp, rp, "operation");
            if (!(r->operation = dg__op_key_normalize(json_string_value(v), &why)))
                dg__cfg_err(c, fp, 0, "\"%.100s\": %s", json_string_value(v), why);
        }
        if ((v = json_object_get(o, "status"))) {
            dg__ptr_key(fp, rp, "status");
            const char *s = json_string_value(v);
            if (json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 599)
                r->status = (int)json_integer_value(v);
            else if (s && strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' &&
                     tolower((unsigned char)s[1]) == 'x' && tolower((unsigned char)s[2]) == 'x')
                r->status = s[0] - '0';
            else
                dg__cfg_err(c, fp, 0, "must be a status code 100..599 or a class such as \"4xx\"");
        }
        if ((v = json_object_get(o, "pointer")) && json_is_string(v)) {
            dg__ptr_key(fp, rp, "pointer");
            if (pattern_ok(c, json_string_value(v), fp) &&
                !(r->pointer = strdup(json_string_value(v))))
                c->nomem = 1;
        }
        if ((v = json_object_get(o, "kind")) && json_is_string(v)) {
            dg__ptr_key(fp, rp, "kind");
            if ((r->kind = kind_parse(json_string_value(v))) < 0)
                dg__cfg_err(c, fp, 0, "\"%.60s\" is not a violation kind", json_string_value(v));
        }
    }
}

/* Appends the strings of arr to *v (pointer patterns checked when pat). */
static void read_strs(dg_cfgctx *c, json_t *arr, const char *ptr, char ***v, size_t *n, int pat)
{
    size_t k = json_array_size(arr);
    if (!k)
        return;
    char **nv = realloc(*v, (*n + k) * sizeof *nv);
    if (!nv) {
        c->nomem = 1;
        return;
    }
    *v = nv;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        char ip[DG_CFG_PTR];
        dg__ptr_idx(ip, ptr, i);
        if (!json_is_string(s) || (pat && !pattern_ok(c, json_string_value(s), ip)))
            continue;
        if (!(nv[*n] = strdup(json_string_value(s)))) {
            c->nomem = 1;
            return;
        }
        (*n)++;
    }
}

static void read_owners(dg_cfgctx *c, json_t *arr, dg_policy *p)
{
    for (size_t i = 0; i < p->n_owners; i++) {
        free(p->owners[i].team);
        free(p->owners[i].contact);
    }
    free(p->owners);
    p->owners = NULL;
    p->n_owners = 0;
    size_t n = json_array_size(arr);
    if (!n)
        return;
    if (!(p->owners = calloc(n, sizeof *p->owners))) {
        c->nomem = 1;
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *team = json_string_value(json_object_get(o, "team"));
        const char *contact = json_string_value(json_object_get(o, "contact"));
        dg_owner *w = &p->owners[p->n_owners++];
        w->team = strdup(team ? team : "");
        w->contact = contact ? strdup(contact) : NULL;
        if (!w->team || (contact && !w->contact))
            c->nomem = 1;
    }
}

static void read_statuses(dg_cfgctx *c, json_t *arr, dg_policy *p)
{
    if (p->info_statuses != third_party_info_statuses)
        free(p->info_statuses);
    p->info_statuses = NULL;
    p->n_info_statuses = 0;
    size_t n = json_array_size(arr);
    if (!n)
        return;
    if (!(p->info_statuses = malloc(n * sizeof(int)))) {
        c->nomem = 1;
        return;
    }
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
        if (json_is_integer(s))
            p->info_statuses[p->n_info_statuses++] = (int)json_integer_value(s);
}

void dg__policy_apply(dg_cfgctx *c, json_t *obj, const char *ptr, dg_policy *p, size_t *own_ignore)
{
    char fp[DG_CFG_PTR];
    json_t *v;
    if (own_ignore)
        *own_ignore = 0;
    if (!json_is_object(obj))
        return;
    if ((v = json_object_get(obj, "mode")) && json_is_string(v)) {
        int m = dg_mode_parse(json_string_value(v));
        dg__ptr_key(fp, ptr, "mode");
        if (m < 0)
            dg__cfg_err(c, fp, 0, "\"%.60s\" is not one of the allowed values (off, monitor, enforce)",
                        json_string_value(v));
        else if (m == DG_MODE_ENFORCE && p->profile == DG_PROFILE_REPORT_ONLY)
            dg__cfg_err(c, fp, 0, "the report-only profile never enforces: use profile strict or "
                        "third-party for an API (or operation) in enforce mode");
        else
            p->mode = (dg_mode)m;
    }
    if ((v = json_object_get(obj, "sample_rate"))) {
        double r = json_number_value(v);
        dg__ptr_key(fp, ptr, "sample_rate");
        if (!json_is_number(v) || !(r >= 0 && r <= 1))
            dg__cfg_err(c, fp, 0, "must be a number from 0 to 1");
        else
            p->sample_rate = r;
    }
    if ((v = json_object_get(obj, "max_body"))) {
        dg__ptr_key(fp, ptr, "max_body");
        get_size(c, v, fp, &p->max_body);
    }
    if ((v = json_object_get(obj, "enforce_max_body"))) {
        dg__ptr_key(fp, ptr, "enforce_max_body");
        get_size(c, v, fp, &p->enforce_max_body);
    }
    if ((v = json_object_get(obj, "assert_formats")))
        p->assert_formats = json_is_true(v);
    if ((v = json_object_get(obj, "include_values")))
        p->include_values = json_is_true(v);
    static const char *const hkeys[2] = {"undocumented_fields", "undocumented_status"};
    dg_handling *hdst[2] = {&p->undocumented_fields, &p->undocumented_status};
    for (int k = 0; k < 2; k++) {
        if (!(v = json_object_get(obj, hkeys[k])) || !json_is_string(v))
            continue;
        int h = handling_parse(json_string_value(v));
        dg__ptr_key(fp, ptr, hkeys[k]);
        if (h < 0)
            dg__cfg_err(c, fp, 0, "\"%.60s\" is not one of the allowed values (ignore, info, error)",
                        json_string_value(v));
        else
            *hdst[k] = (dg_handling)h;
    }
    if ((v = json_object_get(obj, "info_statuses")))
        read_statuses(c, v, p);
    if ((v = json_object_get(obj, "ignore"))) {
        dg__ptr_key(fp, ptr, "ignore");
        read_rules(c, v, fp, p, own_ignore);
    }
    if ((v = json_object_get(obj, "owners")))
        read_owners(c, v, p);
    json_t *red = json_object_get(obj, "redact");
    if ((v = json_object_get(red, "pointers"))) {
        char rp[DG_CFG_PTR];
        dg__ptr_key(rp, ptr, "redact");
        dg__ptr_key(fp, rp, "pointers");
        read_strs(c, v, fp, &p->redact_pointers, &p->n_redact_pointers, 1);
    }
    if ((v = json_object_get(red, "properties"))) {
        char rp[DG_CFG_PTR];
        dg__ptr_key(rp, ptr, "redact");
        dg__ptr_key(fp, rp, "properties");
        read_strs(c, v, fp, &p->redact_properties, &p->n_redact_properties, 0);
    }
}
