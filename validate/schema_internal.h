/* validate/schema_internal.h (private to validate/): the compiled program.
 *
 * Each schema object becomes one dg_node in a flat array; children are node
 * ids. A node is immutable once its schemaset finished compiling. */
#ifndef DG_VALIDATE_SCHEMA_INTERNAL_H
#define DG_VALIDATE_SCHEMA_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "common/buf.h"
#include "validate/format.h"
#include "validate/number.h"
#include "validate/regex.h"
#include "validate/validate.h"

/* type bits */
enum {
    DG_T_NULL = 1 << 0,
    DG_T_BOOL = 1 << 1,
    DG_T_OBJECT = 1 << 2,
    DG_T_ARRAY = 1 << 3,
    DG_T_NUMBER = 1 << 4,
    DG_T_INTEGER = 1 << 5,  /* set together with nothing else; NUMBER implies INTEGER ok */
    DG_T_STRING = 1 << 6,
    DG_T_ALL = 0x7f
};

/* node flags */
enum {
    NF_TRUE = 1u << 0,          /* accepts everything, nothing to do */
    NF_FALSE = 1u << 1,         /* rejects everything */
    NF_TYPE = 1u << 2,
    NF_NULLABLE = 1u << 3,      /* OAS 3.0 / x-nullable: null is valid */
    NF_OBJ_KW = 1u << 4,        /* has any object keyword */
    NF_ARR_KW = 1u << 5,        /* has any array keyword */
    NF_STR_KW = 1u << 6,
    NF_NUM_KW = 1u << 7,
    NF_INPLACE = 1u << 8,       /* has in-place applicators (allOf, ref, ...) */
    NF_UNEVAL = 1u << 9,        /* has unevaluatedProperties/Items */
    NF_UNIQUE = 1u << 10,
    NF_ENUM = 1u << 11,
    NF_CONST = 1u << 12,
    NF_WRITE_ONLY = 1u << 13,
    NF_READ_ONLY = 1u << 14,
    NF_HASH_ENUM = 1u << 15,    /* enum/const has structured members: needs value hash */
    NF_DRAFT4_INT = 1u << 16,   /* integer means "no fraction/exponent in the text" */
    NF_PURE_REF = 1u << 17,     /* only a $ref: evaluators jump straight to the target */
    NF_RESOURCE = 1u << 18,     /* root of a schema resource ($id or document root) */
    NF_KEY_EXTRA = 1u << 19,    /* keys need more than a properties lookup
                                 * (patternProperties, propertyNames,
                                 * unevaluatedProperties, discriminator) */
    NF_UDECL = 1u << 20,        /* declares properties or patternProperties (report_undocumented) */
    NF_UCLOSED = 1u << 21,      /* has additionalProperties or unevaluatedProperties (any value) */
};

typedef struct dg_bound {
    int set;
    int exclusive;
    int64_t i;       /* when is_i64 */
    int is_i64;
    char *text;      /* normalised digits (owned) */
    char *orig;      /* the bound as written in the schema (owned), for messages */
    dg_dec dec;      /* digits point into text */
} dg_bound;

typedef struct dg_prop {
    const char *name;  /* owned by the schemaset arena */
    uint32_t len;
    uint32_t hash;
    int32_t node;      /* -1: not in properties (only required) */
    int32_t req_bit;   /* -1 when not required */
    int32_t dep_schema;/* index into dep_schemas, -1 */
} dg_prop;

typedef struct dg_pattern_prop {
    dg_regex *re;
    int32_t node;
} dg_pattern_prop;

typedef struct dg_dep_req {
    const char *name;
    uint32_t len;
    uint32_t n;
    const char **names;
    uint32_t *lens;
} dg_dep_req;

typedef struct dg_value {   /* an enum/const member */
    json_t *json;           /* borrowed from the document */
    uint8_t type;           /* DG_T_* of the member */
    const char *s;          /* string members */
    size_t len;
    dg_dec dec;             /* number members */
    char *dec_buf;
    uint64_t h1, h2;        /* canonical hash */
} dg_value;

typedef struct dg_disc {
    const char *prop;
    uint32_t prop_len;
    uint32_t n;
    const char **values;    /* mapping value strings */
    uint32_t *lens;
    int32_t *branch;        /* index into one_of/any_of */
    int on_one_of;          /* 1: oneOf, 0: anyOf */
} dg_disc;

typedef struct dg_node {
    uint32_t flags;
    uint8_t types;
    dg_dialect dialect;
    const json_t *resource;  /* root of the schema resource this node belongs to */
    json_t *src;             /* borrowed */
    const char *loc;         /* "file#/pointer" of the schema object (arena) */

    int32_t ref, dynref;     /* node ids, -1 */
    const char *dynref_anchor; /* $dynamicRef's anchor name when dynamic, else NULL */
    const char *dyn_anchor;  /* this node's $dynamicAnchor, or NULL */
    int32_t *all_of, *any_of, *one_of;
    uint32_t n_all_of, n_any_of, n_one_of;
    int32_t not_, if_, then_, else_;
    dg_disc *disc;

    /* object */
    dg_prop *props;          /* properties + required-only names */
    uint32_t n_props;
    uint32_t *prop_hash;     /* open addressing table of prop indexes+1, size hash_mask+1 */
    uint32_t hash_mask;
    uint32_t n_required;
    uint64_t req_mask[2];    /* required props among the first 128 (bit = prop index) */
    dg_pattern_prop *pattern_props;
    uint32_t n_pattern_props;
    int32_t addl;            /* additionalProperties node or -1 */
    int32_t prop_names, uneval_props;
    int64_t min_props, max_props;   /* -1 when absent */
    dg_dep_req *dep_required;
    uint32_t n_dep_required;
    int32_t *dep_schemas;    /* node ids, indexed by dep index */
    const char **dep_schema_names;
    uint32_t n_dep_schemas;

    /* array */
    int32_t *prefix;
    uint32_t n_prefix;
    int32_t items;           /* applies to items after prefix (or all) */
    int32_t contains, uneval_items;
    int64_t min_contains, max_contains; /* -1 absent; min defaults 1 */
    int64_t min_items, max_items;

    /* string */
    int64_t min_len, max_len;
    dg_regex *pattern;
    struct dg_simple_re *spattern; /* same pattern, when the one-pass matcher can do it */
    dg_format format;
    int assert_format;

    /* number */
    dg_bound minimum, maximum;
    dg_bound multiple_of;

    /* enum / const */
    dg_value *enum_v;
    uint32_t n_enum;
} dg_node;

/* Property-name hash used by the compiled tables and the engine: cheap (two
 * 8-byte loads), good enough to tell the names of one object apart. */
static inline uint32_t dg_prop_hash(const char *p, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        __builtin_memcpy(&a, p, 8);
        __builtin_memcpy(&b, p + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            a = a << 8 | (unsigned char)p[i];
    }
    uint64_t h = (a * 0x9E3779B97F4A7C15ull) ^ ((b + n) * 0xC2B2AE3D27D4EB4Full);
    return (uint32_t)(h >> 29) ^ (uint32_t)h;
}

/* The engine reads the node array directly. */
const dg_node *dg_schemaset_nodes(const dg_schemaset *s);
/* Dynamic anchor lookup in a resource root: node id or -1. */
int32_t dg_schemaset_dyn_anchor(const dg_schemaset *s, const json_t *resource, const char *name);

/* Canonical hashing of JSON values (order-independent for objects, numbers
 * by value): incremental helpers shared by compiler and engine. */
typedef struct dg_hash { uint64_t a, b; } dg_hash;
dg_hash dg_hash_scalar(dg_json_ev ev, const char *s, size_t len);
dg_hash dg_hash_json(const json_t *v, const dg_doc *doc);
void dg_hash_mix(dg_hash *acc, dg_hash h);      /* ordered (arrays) */
dg_hash dg_hash_member(const char *k, size_t klen, dg_hash v); /* object member */
dg_hash dg_hash_finish(dg_hash acc, int is_object, uint64_t count);

#endif
