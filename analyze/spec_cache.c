/* analyze/spec_cache.c: spec documents loaded on demand by file name, to
 * find the schema a drift broke (heuristic patches, prompt fragments). */
#include <stdlib.h>
#include <string.h>

#include "analyze/explain.h"
#include "validate/doc.h"

#define MAX_DOCS 64

struct dg_spec_cache {
    struct {
        char *path;
        dg_doc *doc;              /* NULL: could not be loaded (remembered) */
    } e[MAX_DOCS];
    size_t n;
};

dg_spec_cache *dg_spec_cache_new(void)
{
    return calloc(1, sizeof(dg_spec_cache));
}

void dg_spec_cache_free(dg_spec_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].path);
        dg_doc_free(c->e[i].doc);
    }
    free(c);
}

static dg_doc *doc_for(dg_spec_cache *c, const char *path)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].path, path))
            return c->e[i].doc;
    dg_doc *d = NULL;
    if (dg_doc_load_file(path, DG_DOC_AUTO, &d, NULL))
        d = NULL;
    if (c->n == MAX_DOCS) { /* evict the oldest */
        free(c->e[0].path);
        dg_doc_free(c->e[0].doc);
        memmove(&c->e[0], &c->e[1], (MAX_DOCS - 1) * sizeof c->e[0]);
        c->n--;
    }
    char *p = strdup(path);
    if (!p) {
        dg_doc_free(d);
        return NULL;
    }
    c->e[c->n].path = p;
    c->e[c->n].doc = d;
    c->n++;
    return d;
}

/* Keywords whose value is not itself a schema: the site is their parent. */
static int is_keyword(const char *k)
{
    static const char *const kw[] = {
        "type", "enum", "const", "format", "pattern", "required", "additionalProperties",
        "unevaluatedProperties", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
        "multipleOf", "uniqueItems", "nullable", "oneOf", "anyOf", "allOf", "not",
        "discriminator", "dependentRequired", "propertyNames", "contains", "minContains",
        "maxContains", "readOnly", "writeOnly", "$ref", "items", "prefixItems",
        "unevaluatedItems", "false", NULL};
    for (int i = 0; kw[i]; i++)
        if (!strcmp(k, kw[i]))
            return 1;
    return 0;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

int dg_spec_cache_site(dg_spec_cache *c, const char *schema_pointer, dg_schema_site *site)
{
    memset(site, 0, sizeof *site);
    site->oas31 = 1;
    if (!c || !schema_pointer)
        return DG_ENOTFOUND;
    const char *hash = strchr(schema_pointer, '#');
    if (!hash)
        return DG_ENOTFOUND;
    size_t plen = (size_t)(hash - schema_pointer);
    const char *file = schema_pointer;
    if (plen > 7 && !strncmp(file, "file://", 7)) {
        file += 7;
        plen -= 7;
    }
    char path[4096];
    if (plen == 0 || plen >= sizeof path)
        return DG_ENOTFOUND;
    memcpy(path, file, plen);
    path[plen] = 0;
    dg_doc *d = doc_for(c, path);
    if (!d)
        return DG_ENOTFOUND;
    site->root = dg_doc_root(d);
    json_t *ver = json_object_get(site->root, "openapi");
    if (json_is_string(ver) && !strncmp(json_string_value(ver), "3.0", 3))
        site->oas31 = 0;
    if (json_is_string(json_object_get(site->root, "swagger")))
        site->oas31 = 0;
    const char *frag = hash + 1;
    size_t flen = strlen(frag);
    if (flen >= sizeof site->pointer)
        return DG_ENOTFOUND;
    /* Walk up from the pointed node to the nearest schema object: the
     * violation usually names a keyword ("/type", "/enum", "/required"). */
    char ptr[sizeof site->pointer];
    memcpy(ptr, frag, flen + 1);
    json_t *node = dg_json_pointer_get(site->root, ptr, strlen(ptr), 1);
    const char *slash = strrchr(ptr, '/');
    if (slash && is_keyword(slash + 1)) {
        snprintf(site->keyword, sizeof site->keyword, "%s", slash + 1);
        ptr[slash - ptr] = 0;
        node = dg_json_pointer_get(site->root, ptr, strlen(ptr), 1);
    }
    if (!json_is_object(node))
        return DG_ENOTFOUND;
    site->schema = node;
    /* a URI fragment may be percent-encoded; a JSON Patch path is not */
    size_t o = 0;
    for (const char *q = ptr; *q && o + 1 < sizeof site->pointer; q++) {
        int hi, lo;
        if (q[0] == '%' && (hi = hexval(q[1])) >= 0 && (lo = hexval(q[2])) >= 0) {
            site->pointer[o++] = (char)(hi * 16 + lo);
            q += 2;
        } else {
            site->pointer[o++] = *q;
        }
    }
    site->pointer[o] = 0;
    return 0;
}
