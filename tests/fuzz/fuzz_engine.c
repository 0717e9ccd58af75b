/* tests/fuzz/fuzz_engine.c: libFuzzer target for the streaming validator.
 *
 *   make -f tests/fuzz/Makefile FUZZ_TARGETS=engine FUZZ_SECONDS=60
 *   build/fuzz/fuzz_engine -max_len=4096 tests/fuzz/corpus/engine
 *
 * A fixed set of schemas (below; one or more per keyword family) is compiled
 * once into one schemaset at start-up. Input layout:
 *
 *   byte 0     which schema (index modulo the number of entries)
 *   byte 1     options: bit 0 request direction (readOnly/writeOnly flip),
 *              bit 1 include_values, bit 2 small tokenizer limits,
 *              bit 3 max_unique_items = 3
 *   bytes 2-5  chunk sizes (0..63, used cyclically; 0 = an empty feed)
 *   rest       the instance (JSON text, maybe malformed)
 *
 * The instance is validated
 *   (a) streaming, fed whole in one dg_validator_feed;
 *   (b) streaming, fed in the chunks above, each chunk copied into its own
 *       exactly-sized allocation so ASan sees reads past a chunk's end;
 *   (c) streaming with max_errors = 3;
 *   (d) when dg_doc_load_buffer(DG_DOC_JSON) accepts it, from the tree
 *       through dg_validator_tree.
 * and aborts when
 *   - (a) and (b) differ in anything (validity, counts, parse error, and
 *     each violation's kind, pointers and message): chunk boundaries must not
 *     matter;
 *   - (d) disagrees with (a) on validity or on the number of violations
 *     (unless (a) stopped on a tokenizer limit, which the tree walk does not
 *     share), or (a) reports a syntax error for a text the loader accepted;
 *   - (c) breaks the cap contract: count <= 3, count == min(total, 3),
 *     truncated == (total > count), same validity as (a), and the very same
 *     violations as (a) when (a) found no more than 3;
 *   - any result breaks valid == (total == 0), or a violation has a bad
 *     kind, a NULL string, an instance pointer not starting with '/', or a
 *     value without include_values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/doc.h"
#include "validate/validate.h"

#include "fuzz_check.h"

#define CAP_SMALL 3

typedef struct entry {
    const char *name;
    dg_dialect dialect;
    int root_is_schema;   /* 0: an OpenAPI-like document, compile `pointer` */
    const char *pointer;  /* "" = the root */
    const char *text;
    int id;               /* compiled program */
} entry;

/* Schema texts. Backslashes are doubled twice (C, then JSON): "\\\\d" is
 * the regex \d. */
static entry g_entries[] = {
    {"object", DG_DIALECT_2020_12, 1, "",
     "{\"type\":\"object\","
     " \"properties\":{"
     "   \"id\":{\"type\":\"integer\",\"minimum\":1},"
     "   \"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
     "   \"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "   \"meta\":{\"type\":\"object\",\"additionalProperties\":{\"type\":[\"string\",\"number\",\"null\"]}},"
     "   \"secret\":{\"type\":\"string\",\"writeOnly\":true},"
     "   \"created\":{\"type\":\"string\",\"readOnly\":true}},"
     " \"required\":[\"id\",\"name\"],"
     " \"patternProperties\":{\"^x-\":{\"type\":\"string\"},\"^n[0-9]+$\":{\"type\":\"number\"}},"
     " \"additionalProperties\":{\"type\":\"boolean\"},"
     " \"propertyNames\":{\"maxLength\":12},"
     " \"minProperties\":1,\"maxProperties\":10,"
     " \"dependentRequired\":{\"tags\":[\"meta\"]},"
     " \"dependentSchemas\":{\"secret\":{\"required\":[\"created\"]}}}",
     -1},
    {"array", DG_DIALECT_2020_12, 1, "",
     "{\"anyOf\":["
     " {\"type\":\"array\","
     "  \"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"},"
     "                   {\"type\":\"object\",\"properties\":{\"k\":{\"const\":1}}}],"
     "  \"items\":{\"type\":[\"number\",\"boolean\",\"null\",\"array\"]},"
     "  \"contains\":{\"type\":\"number\",\"minimum\":10},\"minContains\":1,\"maxContains\":3,"
     "  \"uniqueItems\":true,\"minItems\":1,\"maxItems\":20},"
     " {\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
     "  \"uniqueItems\":true,\"maxItems\":8},"
     " {\"type\":\"array\",\"uniqueItems\":true,\"prefixItems\":[true,{\"type\":\"object\"}],"
     "  \"contains\":{\"type\":\"string\"},\"minContains\":0,\"unevaluatedItems\":false},"
     " {\"type\":\"object\",\"properties\":{\"list\":{\"type\":\"array\",\"uniqueItems\":true,"
     "  \"items\":{\"type\":[\"array\",\"object\",\"number\"]}}},\"required\":[\"list\"]}]}",
     -1},
    {"combinators", DG_DIALECT_2020_12, 1, "",
     "{\"allOf\":[{\"type\":[\"object\",\"array\",\"string\",\"number\"]}],"
     " \"anyOf\":[{\"type\":\"object\",\"required\":[\"a\"]},{\"type\":\"array\",\"minItems\":2},"
     "           {\"type\":\"string\",\"pattern\":\"^a\"},{\"type\":\"number\"}],"
     " \"oneOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}},"
     "           {\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}},"
     "           {\"type\":\"array\",\"items\":{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}},"
     "           {\"type\":\"string\"},{\"multipleOf\":2},{\"minimum\":0}],"
     " \"not\":{\"const\":\"forbidden\"},"
     " \"if\":{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"circle\"}},\"required\":[\"kind\"]},"
     " \"then\":{\"required\":[\"radius\"]},"
     " \"else\":{\"not\":{\"required\":[\"radius\"]}}}",
     -1},
    {"tree", DG_DIALECT_2020_12, 1, "",
     "{\"$defs\":{\"node\":{\"type\":\"object\","
     "   \"properties\":{\"value\":{\"type\":\"number\"},"
     "     \"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":4},"
     "     \"parent\":{\"$ref\":\"#\"}},"
     "   \"required\":[\"value\"],\"additionalProperties\":false}},"
     " \"$ref\":\"#/$defs/node\"}",
     -1},
    {"dynamic", DG_DIALECT_2020_12, 1, "",
     "{\"$id\":\"https://fuzz.driftgate.test/strict-tree\",\"$dynamicAnchor\":\"node\","
     " \"$ref\":\"tree\",\"unevaluatedProperties\":false,"
     " \"$defs\":{\"tree\":{\"$id\":\"https://fuzz.driftgate.test/tree\",\"$dynamicAnchor\":\"node\","
     "   \"type\":\"object\",\"properties\":{\"data\":true,"
     "     \"children\":{\"type\":\"array\",\"items\":{\"$dynamicRef\":\"#node\"}}}}}}",
     -1},
    {"uneval", DG_DIALECT_2020_12, 1, "",
     "{\"type\":\"object\","
     " \"properties\":{\"a\":{\"type\":\"string\"},"
     "   \"list\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"}],"
     "     \"contains\":{\"type\":\"number\"},\"minContains\":0,\"unevaluatedItems\":false}},"
     " \"allOf\":[{\"properties\":{\"b\":{\"type\":\"number\"}}}],"
     " \"anyOf\":[{\"properties\":{\"c\":{\"type\":\"boolean\"}},\"required\":[\"c\"]},"
     "           {\"patternProperties\":{\"^d\":true}},true],"
     " \"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"x\"],\"properties\":{\"x\":true}}],"
     " \"if\":{\"properties\":{\"kind\":{\"const\":\"e\"}},\"required\":[\"kind\"]},"
     " \"then\":{\"properties\":{\"e\":{\"type\":\"integer\"}}},"
     " \"else\":{\"properties\":{\"f\":true}},"
     " \"dependentSchemas\":{\"g\":{\"properties\":{\"h\":true}}},"
     " \"unevaluatedProperties\":{\"type\":\"null\"}}",
     -1},
    {"enum", DG_DIALECT_2020_12, 1, "",
     "{\"anyOf\":["
     " {\"enum\":[{\"a\":1,\"b\":[1,2,{\"c\":null}]},[1,\"x\",null,true],1.5,\"s\",null,false,{},[],0,"
     "          -1e2,18446744073709551616]},"
     " {\"const\":{\"k\":{\"x\":[1.0,2e0],\"y\":\"\\u00e9\\u0000z\"}}},"
     " {\"type\":\"object\",\"properties\":{\"p\":{\"const\":[{\"q\":0.1}]},"
     "   \"r\":{\"enum\":[\"a\",\"b\",3]}},\"required\":[\"p\"]}]}",
     -1},
    {"numbers", DG_DIALECT_2020_12, 1, "",
     "{\"type\":[\"object\",\"array\"],"
     " \"properties\":{"
     "   \"a\":{\"type\":\"number\",\"multipleOf\":0.01},"
     "   \"b\":{\"type\":\"integer\",\"minimum\":-5,\"exclusiveMaximum\":1000},"
     "   \"c\":{\"multipleOf\":3,\"maximum\":18446744073709551616},"
     "   \"d\":{\"type\":\"number\",\"exclusiveMinimum\":0.5,\"maximum\":1.5},"
     "   \"e\":{\"type\":\"integer\",\"format\":\"int32\"},"
     "   \"f\":{\"type\":\"number\",\"format\":\"float\"},"
     "   \"g\":{\"type\":\"integer\",\"format\":\"int64\",\"multipleOf\":1e-3},"
     "   \"h\":{\"multipleOf\":0.1,\"minimum\":-1e308,\"maximum\":1e308},"
     "   \"i\":{\"type\":\"number\",\"format\":\"double\",\"minimum\":-9007199254740993}},"
     " \"additionalProperties\":{\"type\":\"number\",\"multipleOf\":0.5},"
     " \"items\":{\"type\":\"number\",\"minimum\":1e-5,"
     "   \"maximum\":123456789012345678901234567890,\"multipleOf\":1e-5}}",
     -1},
    {"strings", DG_DIALECT_2020_12, 1, "",
     "{\"type\":\"object\","
     " \"properties\":{"
     "   \"dt\":{\"type\":\"string\",\"format\":\"date-time\"},\"date\":{\"format\":\"date\"},"
     "   \"time\":{\"format\":\"time\"},\"dur\":{\"format\":\"duration\"},"
     "   \"email\":{\"format\":\"email\"},\"idnemail\":{\"format\":\"idn-email\"},"
     "   \"host\":{\"format\":\"hostname\"},\"idnhost\":{\"format\":\"idn-hostname\"},"
     "   \"ip4\":{\"format\":\"ipv4\"},\"ip6\":{\"format\":\"ipv6\"},"
     "   \"uri\":{\"format\":\"uri\"},\"uriref\":{\"format\":\"uri-reference\"},"
     "   \"iri\":{\"format\":\"iri\"},\"iriref\":{\"format\":\"iri-reference\"},"
     "   \"tmpl\":{\"format\":\"uri-template\"},\"uuid\":{\"format\":\"uuid\"},"
     "   \"ptr\":{\"format\":\"json-pointer\"},\"rptr\":{\"format\":\"relative-json-pointer\"},"
     "   \"re\":{\"format\":\"regex\"},\"b64\":{\"format\":\"byte\"},\"pw\":{\"format\":\"password\"},"
     "   \"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{2,3}-\\\\d+$\",\"minLength\":4,\"maxLength\":10},"
     "   \"word\":{\"pattern\":\"\\\\bfoo\\\\b|^\\\\w+$\"},"
     "   \"emoji\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":2},"
     "   \"latin\":{\"pattern\":\"^[\\\\u00e0-\\\\u00ff]*$\"},"
     "   \"ws\":{\"pattern\":\"^\\\\s+$\"},"
     "   \"dot\":{\"pattern\":\"^.$\"},"
     "   \"alt\":{\"pattern\":\"(a|ab)(c|bcd)(d*)\"}},"
     " \"patternProperties\":{\"^[a-z]+\\\\d*$\":{\"type\":\"string\",\"maxLength\":5},"
     "   \"^(?<p>x)-\":{\"type\":\"string\",\"format\":\"email\"}},"
     " \"propertyNames\":{\"pattern\":\"^[^A]\"}}",
     -1},
    {"oas30-pet", DG_DIALECT_OAS30, 0, "/components/schemas/Pet",
     "{\"openapi\":\"3.0.3\",\"components\":{\"schemas\":{"
     " \"Pet\":{\"type\":\"object\",\"required\":[\"petType\"],"
     "   \"properties\":{\"petType\":{\"type\":\"string\"}},"
     "   \"oneOf\":[{\"$ref\":\"#/components/schemas/Cat\"},{\"$ref\":\"#/components/schemas/Dog\"},"
     "             {\"$ref\":\"#/components/schemas/Lizard\"}],"
     "   \"discriminator\":{\"propertyName\":\"petType\","
     "     \"mapping\":{\"cat\":\"#/components/schemas/Cat\",\"dog\":\"Dog\"}}},"
     " \"Pets\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Pet\"},\"nullable\":true},"
     " \"Cat\":{\"type\":\"object\",\"properties\":{\"petType\":{\"type\":\"string\"},"
     "   \"name\":{\"type\":\"string\",\"nullable\":true},"
     "   \"lives\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9,\"exclusiveMaximum\":true}},"
     "   \"required\":[\"name\"]},"
     " \"Dog\":{\"type\":\"object\",\"properties\":{\"petType\":{\"type\":\"string\"},"
     "   \"bark\":{\"type\":\"string\",\"enum\":[\"loud\",\"soft\",null],\"nullable\":true},"
     "   \"born\":{\"type\":\"string\",\"format\":\"date\"},\"id\":{\"type\":\"string\",\"format\":\"uuid\"}},"
     "   \"additionalProperties\":false},"
     " \"Lizard\":{\"type\":\"object\",\"nullable\":true,\"properties\":{\"petType\":{\"type\":\"string\"},"
     "   \"scales\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Scale\"},\"nullable\":true},"
     "   \"owner\":{\"allOf\":[{\"$ref\":\"#/components/schemas/Owner\"}],\"nullable\":true}}},"
     " \"Owner\":{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"},"
     "   \"pin\":{\"type\":\"string\",\"writeOnly\":true},\"since\":{\"type\":\"string\",\"format\":\"date-time\",\"readOnly\":true}}},"
     " \"Scale\":{\"type\":\"object\",\"nullable\":true,"
     "   \"properties\":{\"color\":{\"type\":\"string\",\"pattern\":\"^#[0-9a-f]{6}$\"},"
     "     \"next\":{\"$ref\":\"#/components/schemas/Scale\"}}}}}}",
     -1},
    {"oas30-pets", DG_DIALECT_OAS30, 0, "/components/schemas/Pets", NULL /* same document as above */, -1},
    {"draft4", DG_DIALECT_DRAFT4, 1, "",
     "{\"type\":\"object\","
     " \"properties\":{"
     "   \"n\":{\"type\":\"number\",\"maximum\":10,\"exclusiveMaximum\":true,\"minimum\":0,\"exclusiveMinimum\":true},"
     "   \"list\":{\"type\":\"array\",\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
     "     \"additionalItems\":{\"type\":\"boolean\"}},"
     "   \"i\":{\"type\":\"integer\"},\"u\":{\"type\":\"array\",\"uniqueItems\":true}},"
     " \"dependencies\":{\"a\":[\"b\"],\"c\":{\"properties\":{\"d\":{\"type\":\"string\"}},\"required\":[\"d\"]}},"
     " \"additionalProperties\":{\"not\":{\"type\":\"object\"}},"
     " \"definitions\":{\"pos\":{\"minimum\":0}},"
     " \"patternProperties\":{\"^p\":{\"$ref\":\"#/definitions/pos\"}}}",
     -1},
    {"oas31-shape", DG_DIALECT_OAS31, 0, "/components/schemas/Shape",
     "{\"openapi\":\"3.1.0\",\"components\":{\"schemas\":{"
     " \"Shape\":{\"oneOf\":[{\"$ref\":\"#/components/schemas/Circle\"},{\"$ref\":\"#/components/schemas/Square\"}],"
     "   \"discriminator\":{\"propertyName\":\"kind\"}},"
     " \"Circle\":{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"Circle\"},"
     "   \"r\":{\"type\":[\"number\",\"null\"],\"exclusiveMinimum\":0}},"
     "   \"required\":[\"kind\"],\"unevaluatedProperties\":false},"
     " \"Square\":{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"Square\"},"
     "   \"side\":{\"type\":\"number\"},"
     "   \"tags\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}},"
     "   \"required\":[\"kind\",\"side\"]}}}}",
     -1},
    {"booleans", DG_DIALECT_2020_12, 1, "",
     "{\"properties\":{\"never\":false,\"always\":true,\"deep\":{\"items\":{\"properties\":{\"z\":false}}}},"
     " \"prefixItems\":[true,false],"
     " \"not\":{\"type\":\"string\",\"maxLength\":0},"
     " \"propertyNames\":{\"not\":{\"const\":\"\"}}}",
     -1},
    {"float-root", DG_DIALECT_OAS30, 1, "",
     "{\"anyOf\":[{\"type\":\"number\",\"format\":\"float\",\"nullable\":true},"
     " {\"type\":\"array\",\"items\":{\"type\":\"number\",\"format\":\"double\",\"multipleOf\":0.5}},"
     " {\"type\":\"integer\",\"format\":\"int64\",\"maximum\":1e19}]}",
     -1},
};

#define N_ENTRIES (sizeof g_entries / sizeof g_entries[0])

static dg_schemaset *g_set;
static const entry *g_cur;

static void setup(void)
{
    dg_compile_opts co = {DG_DIALECT_2020_12, 1 /* assert formats everywhere: fuzz format.c */};
    dg_error err;
    g_set = dg_schemaset_new(&co);
    if (!g_set)
        abort();
    dg_doc *last = NULL;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        entry *e = &g_entries[i];
        g_cur = e;
        memset(&err, 0, sizeof err);
        dg_doc *doc = last;
        if (e->text) {
            char name[64], uri[128];
            snprintf(name, sizeof name, "schema-%s.json", e->name);
            snprintf(uri, sizeof uri, "https://fuzz.driftgate.test/%s.json", e->name);
            if (dg_doc_load_buffer(name, e->text, strlen(e->text), DG_DOC_JSON, &doc, &err)) {
                fprintf(stderr, "fuzz_engine: schema %s does not load: %s (line %u col %u)\n",
                        e->name, err.msg, err.line, err.col);
                abort();
            }
            if (dg_schemaset_add_doc(g_set, doc, uri, e->root_is_schema, &err)) {
                fprintf(stderr, "fuzz_engine: schema %s: add_doc: %s\n", e->name, err.msg);
                abort();
            }
            last = doc;
        }
        json_t *node = dg_json_pointer_get(dg_doc_root(doc), e->pointer, strlen(e->pointer), 0);
        CHECK(node != NULL);
        if (dg_schemaset_compile(g_set, node, e->dialect, &e->id, &err)) {
            char m[1200];
            fprintf(stderr, "fuzz_engine: schema %s does not compile: %s\n", e->name,
                    dg_error_format(&err, m, sizeof m));
            abort();
        }
    }
    g_cur = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

/* What one validation produced, in comparable form. */
typedef struct summ {
    int valid;
    size_t count, total;
    int truncated;
    int perr;            /* parse_error.code */
    uint64_t vhash;      /* over every recorded violation */
} summ;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static void mix_str(uint64_t *h, const char *s)
{
    mix(h, s, strlen(s) + 1);
}

/* DG_FUZZ_VERBOSE=1 in the environment prints every result (for triage). */
static int g_verbose = -1;

static void dump(const char *what, const dg_result *r)
{
    if (g_verbose < 0)
        g_verbose = getenv("DG_FUZZ_VERBOSE") != NULL;
    if (!g_verbose)
        return;
    fprintf(stderr, "-- %s: valid %d count %zu total %zu truncated %d parse %d %s\n", what, r->valid,
            r->count, r->total, r->truncated, r->parse_error.code, r->parse_error.msg);
    for (size_t i = 0; i < r->count; i++)
        fprintf(stderr, "   [%s] %s  %s: %s\n", dg_kind_name(r->v[i].kind), r->v[i].instance_pointer,
                r->v[i].schema_pointer, r->v[i].message);
}

static void summarize(const char *what, const dg_result *r, const dg_validate_opts *o, summ *s)
{
    dump(what, r);
    memset(s, 0, sizeof *s);
    s->valid = r->valid;
    s->count = r->count;
    s->total = r->total;
    s->truncated = r->truncated;
    s->perr = r->parse_error.code;
    s->vhash = 0xcbf29ce484222325ULL;
    CHECK(r->valid == (r->total == 0));
    CHECK(r->truncated == (r->total > r->count));
    CHECK(r->count <= o->max_errors);
    CHECK(r->count == 0 || r->v != NULL);
    if (!r->valid)
        CHECK(r->count >= 1);
    if (r->parse_error.code) {
        CHECK(r->parse_error.code < 0);
        CHECK(!r->valid && r->count == 1 && r->v[0].kind == DG_KIND_PARSE);
        CHECK(memchr(r->parse_error.msg, '\0', sizeof r->parse_error.msg) != NULL);
    }
    for (size_t i = 0; i < r->count; i++) {
        const dg_violation *x = &r->v[i];
        CHECK((unsigned)x->kind < DG_KIND_COUNT);
        CHECK(x->instance_pointer && x->schema_pointer && x->message);
        CHECK(x->instance_pointer[0] == '\0' || x->instance_pointer[0] == '/');
        CHECK(memchr(x->shape.type, '\0', sizeof x->shape.type) != NULL);
        if (!o->include_values)
            CHECK(x->value == NULL);
        else if (x->value) /* <= 256 bytes of content; strings JSON-quoted and escaped */
            CHECK(strlen(x->value) <= 2 + 6 * 256);
        if (!r->parse_error.code)
            CHECK(x->kind != DG_KIND_PARSE);
        mix(&s->vhash, &x->kind, sizeof x->kind);
        mix_str(&s->vhash, x->instance_pointer);
        mix_str(&s->vhash, x->schema_pointer);
        mix_str(&s->vhash, x->message);
    }
}

/* Streams inst through v: whole when nsizes == 0, else in chunks. */
static void stream(const char *what, dg_validator *v, int id, const char *inst, size_t n, const uint8_t *sizes,
                   size_t nsizes, const dg_validate_opts *o, summ *s)
{
    dg_result r;
    CHECK(dg_validator_begin(v, id) == 0);
    if (!nsizes) {
        (void)dg_validator_feed(v, inst, n);
    } else {
        size_t off = 0, k = 0;
        int rc = 0;
        do {
            size_t c = sizes[k++ % nsizes];
            if (c > n - off)
                c = n - off;
            char *piece = malloc(c ? c : 1);
            CHECK(piece != NULL);
            memcpy(piece, inst + off, c);
            rc = dg_validator_feed(v, piece, c);
            free(piece);
            off += c;
        } while (!rc && off < n);
    }
    int rc = dg_validator_finish(v, &r);
    CHECK(rc == 0);
    summarize(what, &r, o, s);
}

static void same(const summ *a, const summ *b)
{
    CHECK(a->valid == b->valid);
    CHECK(a->perr == b->perr);
    CHECK(a->count == b->count);
    CHECK(a->total == b->total);
    CHECK(a->truncated == b->truncated);
    CHECK(a->vhash == b->vhash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    const entry *e = &g_entries[data[0] % N_ENTRIES];
    g_cur = e;
    uint8_t flags = data[1];
    uint8_t sizes[4];
    int any = 0;
    for (int i = 0; i < 4; i++)
        any |= (sizes[i] = data[2 + i] & 63);
    static const uint8_t one = 1;
    const char *inst = (const char *)data + 6;
    size_t n = size - 6;

    dg_validate_opts o;
    dg_validate_opts_default(&o);
    o.max_errors = 100000;
    o.direction = (flags & 1) ? DG_DIR_REQUEST : DG_DIR_RESPONSE;
    o.include_values = (flags >> 1) & 1;
    if (flags & 4) {
        o.limits.max_depth = 6;
        o.limits.max_string = 32;
        o.limits.max_number = 24;
    }
    if (flags & 8)
        o.max_unique_items = 3;
    dg_validate_opts oc = o;
    oc.max_errors = CAP_SMALL;

    dg_validator *v = dg_validator_new(g_set, &o);
    dg_validator *vc = dg_validator_new(g_set, &oc);
    CHECK(v && vc);

    summ whole, chunked, capped, tree;
    stream("whole", v, e->id, inst, n, NULL, 0, &o, &whole);
    stream("chunked", v, e->id, inst, n, any ? sizes : &one, any ? 4 : 1, &o, &chunked);
    same(&whole, &chunked);

    /* the cap changes how much is kept, never the verdict */
    stream("capped", vc, e->id, inst, n, any ? sizes : &one, any ? 4 : 1, &oc, &capped);
    CHECK(capped.valid == whole.valid);
    CHECK(capped.perr == whole.perr);
    CHECK(capped.count == (capped.total < CAP_SMALL ? capped.total : CAP_SMALL));
    if (whole.total <= CAP_SMALL) {
        CHECK(capped.total == whole.total);
        CHECK(capped.vhash == whole.vhash);
    } else {
        CHECK(capped.truncated);
    }

    dg_doc *doc = NULL;
    dg_error derr;
    if (dg_doc_load_buffer("instance.json", inst, n, DG_DOC_JSON, &doc, &derr) == 0) {
        /* The loader accepted the text: the tokenizer must have too, unless
         * one of the validator's (smaller) limits stopped it. */
        CHECK(whole.perr == 0 || whole.perr == DG_ELIMIT);
        if (whole.perr == 0) {
            dg_result r;
            CHECK(dg_validator_tree(v, e->id, dg_doc_root(doc), doc, &r) == 0);
            summarize("tree", &r, &o, &tree);
            CHECK(tree.perr == 0);
            CHECK(tree.valid == whole.valid);
            CHECK(tree.total == whole.total);
        }
        dg_doc_free(doc);
    }

    dg_validator_free(vc);
    dg_validator_free(v);
    g_cur = NULL;
    return 0;
}
