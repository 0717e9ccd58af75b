/* bench/spec2json.c: converts the benchmark's OpenAPI description (YAML) to
 * JSON for the Node peer, which has no YAML parser and should not need one.
 *
 *   spec2json IN.yaml OUT.json
 *
 * Loads IN through driftgate's own document loader (validate/doc.h: YAML 1.2
 * core schema), so both validators see exactly the same tree. Non-integer
 * numbers are refused (see has_real). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/doc.h"

/* 1 when v holds a non-integer number anywhere. jansson would print such a
 * number with 17 significant digits (0.1 -> 0.10000000000000001): the same
 * double, but no longer the text the spec says. */
static int has_real(json_t *v)
{
    const char *k;
    size_t i;
    json_t *x;
    if (json_is_real(v))
        return 1;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
            if (has_real(x))
                return 1;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            if (has_real(x))
                return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: spec2json IN.yaml OUT.json\n");
        return 2;
    }
    dg_doc *doc = NULL;
    dg_error err;
    char m[1400];
    if (dg_doc_load_file(argv[1], DG_DOC_AUTO, &doc, &err)) {
        fprintf(stderr, "spec2json: %s\n", dg_error_format(&err, m, sizeof m));
        return 1;
    }
    json_t *root = dg_doc_root(doc);
    if (has_real(root)) {
        fprintf(stderr, "spec2json: %s has a non-integer number; write it as an integer "
                        "(or teach spec2json to keep its text)\n", argv[1]);
        dg_doc_free(doc);
        return 1;
    }
    char *tmp = malloc(strlen(argv[2]) + 8);
    if (!tmp) {
        fprintf(stderr, "spec2json: out of memory\n");
        dg_doc_free(doc);
        return 1;
    }
    sprintf(tmp, "%s.tmp", argv[2]);
    int rc = json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (rc == 0 && rename(tmp, argv[2]) != 0)
        rc = -1;
    if (rc) {
        fprintf(stderr, "spec2json: cannot write %s\n", argv[2]);
        remove(tmp);
    }
    free(tmp);
    dg_doc_free(doc);
    return rc ? 1 : 0;
}
