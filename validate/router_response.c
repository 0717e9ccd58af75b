/* validate/router_response.c: dg_router_select_response (which documented
 * response and media type a status and Content-Type select, and its schema)
 * and the media-type helpers. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "validate/router_internal.h"

/* ---- responses -------------------------------------------------------------- */

typedef struct mtype {
    const char *type, *sub;
    size_t tlen, slen;
} mtype;

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int mt_parse(const char *s, mtype *m)
{
    if (!s)
        return 0;
    while (is_ws(*s))
        s++;
    m->type = s;
    while (*s && *s != '/' && *s != ';' && !is_ws(*s))
        s++;
    m->tlen = (size_t)(s - m->type);
    if (*s != '/' || !m->tlen)
        return 0;
    m->sub = ++s;
    while (*s && *s != ';' && *s != ',' && !is_ws(*s))
        s++;
    m->slen = (size_t)(s - m->sub);
    return m->slen > 0;
}

static int tok_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(p, lit, n);
}

static int tok_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && !strncasecmp(a, b, an);
}

/* 4 exact, 3 structured suffix (+json -> json), 2 type/wildcard, 1 wildcard, 0 none. */
static int media_rank(const mtype *resp, const char *documented)
{
    mtype d;
    if (!mt_parse(documented, &d))
        return 0;
    int type_eq = tok_eq(resp->type, resp->tlen, d.type, d.tlen);
    if (type_eq && tok_eq(resp->sub, resp->slen, d.sub, d.slen))
        return 4;
    if (type_eq) {
        const char *plus = NULL;
        for (size_t i = 0; i < resp->slen; i++)
            if (resp->sub[i] == '+')
                plus = resp->sub + i;
        if (plus && tok_eq(plus + 1, resp->slen - (size_t)(plus + 1 - resp->sub), d.sub, d.slen))
            return 3;
        if (tok_is(d.sub, d.slen, "*"))
            return 2;
    }
    return tok_is(d.type, d.tlen, "*") && tok_is(d.sub, d.slen, "*");
}

static int is_plain_json(const char *documented)
{
    mtype d;
    return mt_parse(documented, &d) && tok_is(d.type, d.tlen, "application") &&
           tok_is(d.sub, d.slen, "json");
}

static int has_ct(const char *ct)
{
    if (!ct)
        return 0;
    while (is_ws(*ct))
        ct++;
    return *ct != '\0';
}

static int select_oas3(const dg_router *r, json_t *resp, const char *ct, dg_resp_match *out,
                       pw *w, dg_error *err)
{
    json_t *content = json_object_get(resp, "content");
    if (!json_is_object(content) || json_object_size(content) == 0) {
        out->result = DG_RESP_NO_BODY;
        return 0;
    }
    const char *key, *best = NULL;
    json_t *mt, *best_mt = NULL;
    if (!has_ct(ct)) {
        json_object_foreach(content, key, mt) {
            if (json_object_size(content) == 1 || (!best && is_plain_json(key))) {
                best = key;
                best_mt = mt;
            }
        }
    } else {
        /* An unparsable Content-Type can only be covered by a wildcard. */
        mtype want, any = {"*", "*", 1, 1};
        int best_rank = 0, ok = mt_parse(ct, &want);
        json_object_foreach(content, key, mt) {
            int rank = ok ? media_rank(&want, key) : media_rank(&any, key) == 4;
            if (rank > best_rank) {
                best_rank = rank;
                best = key;
                best_mt = mt;
            }
        }
    }
    if (!best) {
        out->result = DG_RESP_UNDOCUMENTED_MEDIA;
        return 0;
    }
    snprintf(out->media_key, sizeof out->media_key, "%s", best);
    dg_router__pw_raw(w, "/content", 8);
    dg_router__pw_tok(w, best, strlen(best));
    int rc = dg_router__follow_refs(r, best_mt, &best_mt, w, err);
    if (rc)
        return rc;
    out->schema = json_object_get(best_mt, "schema");
    out->result = out->schema ? DG_RESP_SCHEMA : DG_RESP_ANY;
    return 0;
}

static int select_swagger2(const dg_router *r, const dg_route_op *op, json_t *resp,
                           const char *ct, dg_resp_match *out)
{
    out->schema = json_object_get(resp, "schema");
    if (!out->schema) {
        out->result = DG_RESP_NO_BODY;
        return 0;
    }
    /* An empty operation `produces` clears the global one: then nothing is
     * declared and the default applies. */
    json_t *prod = json_object_get(op->operation, "produces");
    if (!json_is_array(prod))
        prod = json_object_get(r->root, "produces");
    if (!json_is_array(prod) || json_array_size(prod) == 0)
        prod = NULL;
    int ok = 0;
    size_t i, n = prod ? json_array_size(prod) : 1;
    mtype want;
    int parsed = has_ct(ct) && mt_parse(ct, &want);
    for (i = 0; i < n && !ok; i++) {
        const char *p = prod ? json_string_value(json_array_get(prod, i)) : "application/json";
        if (!p)
            continue;
        if (!has_ct(ct))
            ok = n == 1 || is_plain_json(p);
        else
            ok = parsed && media_rank(&want, p) > 0;
    }
    out->result = ok ? DG_RESP_SCHEMA : DG_RESP_UNDOCUMENTED_MEDIA;
    return 0;
}

int dg_router_select_response(const dg_router *r, const dg_route_op *op, int status,
                              const char *content_type, dg_resp_match *out, dg_error *err)
{
    if (!r || !op || !out)
        return dg_error_set(err, DG_EINVAL, "dg_router_select_response: missing argument");
    memset(out, 0, sizeof *out);
    out->result = DG_RESP_UNDOCUMENTED_STATUS;
    json_t *responses = json_object_get(op->operation, "responses");
    const char *key, *exact = NULL, *range = NULL, *dflt = NULL;
    json_t *v, *ev = NULL, *rv = NULL, *dv = NULL;
    json_object_foreach(responses, key, v) {
        if (strlen(key) == 3 && key[0] >= '1' && key[0] <= '5' && (key[1] | 0x20) == 'x' &&
            (key[2] | 0x20) == 'x') {
            if (!range && status / 100 == key[0] - '0') {
                range = key;
                rv = v;
            }
        } else if (strlen(key) == 3 && key[0] >= '0' && key[0] <= '9' && key[1] >= '0' &&
                   key[1] <= '9' && key[2] >= '0' && key[2] <= '9') {
            if (!exact && status == (key[0] - '0') * 100 + (key[1] - '0') * 10 + key[2] - '0') {
                exact = key;
                ev = v;
            }
        } else if (!strcmp(key, "default") && !dflt) {
            dflt = key;
            dv = v;
        }
    }
    key = exact ? exact : range ? range : dflt;
    v = exact ? ev : range ? rv : dv;
    if (!key)
        return 0;
    snprintf(out->status_key, sizeof out->status_key, "%s", key);
    pw w = {.p = out->schema_pointer, .cap = sizeof out->schema_pointer};
    dg_router__pw_raw(&w, op->pointer, strlen(op->pointer));
    dg_router__pw_raw(&w, "/responses", 10);
    dg_router__pw_tok(&w, key, strlen(key));
    int rc = dg_router__follow_refs(r, v, &v, &w, err);
    if (rc) {
        out->schema_pointer[0] = '\0';
        return rc;
    }
    out->response = v;
    if (!json_is_object(v))  /* invalid spec: nothing can be said about the body */
        out->result = DG_RESP_ANY;
    else if (r->swagger2)
        rc = select_swagger2(r, op, v, content_type, out);
    else
        rc = select_oas3(r, v, content_type, out, &w, err);
    if (!rc && out->result == DG_RESP_SCHEMA)
        dg_router__pw_raw(&w, "/schema", 7);
    if (rc || out->result != DG_RESP_SCHEMA || w.over)
        out->schema_pointer[0] = '\0';
    return rc;
}

/* ---- media helpers ---------------------------------------------------------- */

int dg_media_is_json(const char *ct)
{
    mtype m;
    if (!mt_parse(ct, &m))
        return 0;
    if (tok_is(m.type, m.tlen, "application") && tok_is(m.sub, m.slen, "json"))
        return 1;
    return m.slen > 5 && !strncasecmp(m.sub + m.slen - 5, "+json", 5);
}

int dg_media_seq_mode(const char *ct)
{
    mtype m;
    if (!mt_parse(ct, &m) || !tok_is(m.type, m.tlen, "application"))
        return 0;
    if (tok_is(m.sub, m.slen, "json-seq"))
        return 2;
    return tok_is(m.sub, m.slen, "x-ndjson") || tok_is(m.sub, m.slen, "jsonl") ||
           tok_is(m.sub, m.slen, "jsonlines") || tok_is(m.sub, m.slen, "x-json-stream");
}

int dg_media_is_json_seq(const char *ct)
{
    return dg_media_seq_mode(ct) != 0;
}

