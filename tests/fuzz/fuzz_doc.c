/* libFuzzer target for the document loader: loads the input as JSON and as
 * YAML through dg_doc_load_buffer and frees. Beyond "no crash, no leak" it
 * checks the loader's invariants on every tree it accepts: each node (but
 * the true/false/null singletons) has a location with line and column >= 1, each real has number text, and JSON
 * pointers built from object keys find their values again.
 *
 *   clang -fsanitize=fuzzer,address,undefined -I. $(pkg-config --cflags jansson yaml-0.1) \
 *     tests/fuzz/fuzz_doc.c validate/doc.c validate/doc_yaml.c validate/tokenizer.c \
 *     common/error.c common/buf.c $(pkg-config --libs jansson yaml-0.1) -lm -o fuzz_doc
 *   ./fuzz_doc tests/fuzz/corpus/doc */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "validate/doc.h"

#define MAX_VISITS 20000  /* aliases make a DAG; don't walk expansions forever */

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_doc invariant violated: %s\n", what);
        abort();
    }
}

static void walk(const dg_doc *d, json_t *root, json_t *node, dg_buf *ptr, unsigned *visits)
{
    if (++*visits > MAX_VISITS)
        return;
    unsigned line = 0, col = 0;
    if (json_is_boolean(node) || json_is_null(node)) {
        /* shared jansson singletons: deliberately no location */
        check(dg_doc_loc(d, node, &line, &col) == DG_ENOTFOUND, "singleton with location");
    } else {
        check(dg_doc_loc(d, node, &line, &col) == 0, "node without location");
        check(line >= 1 && col >= 1, "location not 1-based");
    }
    if (json_is_real(node))
        check(dg_doc_number_text(d, node) != NULL, "real without number text");
    if (json_is_integer(node))
        check(dg_doc_number_text(d, node) == NULL, "integer with number text");
    check(dg_json_pointer_get(root, ptr->data, ptr->len, 0) == node, "pointer does not round-trip");
    size_t keep = ptr->len;
    if (json_is_object(node)) {
        const char *k;
        size_t kl;
        json_t *v;
        json_object_keylen_foreach(node, k, kl, v)
        {
            if (dg_json_pointer_append(ptr, k, kl))
                return;
            walk(d, root, v, ptr, visits);
            ptr->len = keep;
            ptr->data[keep] = '\0';
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v)
        {
            char idx[32];
            int n = snprintf(idx, sizeof idx, "%zu", i);
            if (dg_json_pointer_append(ptr, idx, (size_t)n))
                return;
            walk(d, root, v, ptr, visits);
            ptr->len = keep;
            ptr->data[keep] = '\0';
        }
    }
}

static void one(const uint8_t *data, size_t size, dg_doc_syntax syntax)
{
    dg_doc *d = NULL;
    dg_error err;
    int rc = dg_doc_load_buffer("fuzz", (const char *)data, size, syntax, &d, &err);
    if (rc) {
        check(d == NULL, "document returned with an error");
        check(err.code == rc, "error code mismatch");
        check(rc == DG_EPARSE || rc == DG_ELIMIT || rc == DG_ENOMEM, "unexpected error code");
        check(memchr(err.msg, '\0', sizeof err.msg) != NULL, "unterminated message");
        return;
    }
    json_t *root = dg_doc_root(d);
    check(root != NULL, "no root");
    dg_buf ptr = DG_BUF_INIT;
    if (dg_buf_reserve(&ptr, 0) == 0) {
        unsigned visits = 0;
        walk(d, root, root, &ptr, &visits);
    }
    dg_buf_free(&ptr);
    /* The input's first bytes as a pointer, both ways: must not crash. */
    size_t pl = size < 64 ? size : 64;
    (void)dg_json_pointer_get(root, (const char *)data, pl, 0);
    (void)dg_json_pointer_get(root, (const char *)data, pl, 1);
    dg_doc_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, DG_DOC_JSON);
    one(data, size, DG_DOC_YAML);
    return 0;
}
