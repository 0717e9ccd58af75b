/* tests/unit/suite_cases.h: walks the test cases of one JSON-Schema-Test-Suite
 * file for module-level tests (formats, regexes). Header-only, test code. */
#ifndef DG_TESTS_SUITE_CASES_H
#define DG_TESTS_SUITE_CASES_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#define SUITE_DEFAULT "../shared/testdata/JSON-Schema-Test-Suite/tests"

/* Judges one case: 1/0 = the module's verdict, -1 = not applicable here. */
typedef int (*suite_judge)(json_t *group, json_t *tc);

/* Runs every applicable case of suite file rel (relative to the suite's
 * tests/ folder, or $DG_JSON_SCHEMA_SUITE); counts them into *cases and
 * returns how many disagree with the suite (each is logged). */
static inline int suite_run_file(const char *rel, suite_judge judge, int *cases)
{
    const char *dir = getenv("DG_JSON_SCHEMA_SUITE");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : SUITE_DEFAULT, rel);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &je);
    cr_assert_not_null(root, "cannot load %s: %s", path, je.text);
    int failures = 0;
    size_t gi, ti;
    json_t *g, *tc;
    json_array_foreach(root, gi, g) {
        json_array_foreach(json_object_get(g, "tests"), ti, tc) {
            int got = judge(g, tc);
            if (got < 0)
                continue;
            int want = json_is_true(json_object_get(tc, "valid"));
            (*cases)++;
            if (got != want) {
                failures++;
                cr_log_error("%s: %s / %s: got %d, want %d", rel,
                             json_string_value(json_object_get(g, "description")),
                             json_string_value(json_object_get(tc, "description")), got, want);
            }
        }
    }
    json_decref(root);
    return failures;
}

/* Runs suite_run_file over n files; returns the total failures. */
static inline int suite_run_files(const char *const *files, size_t n, suite_judge judge,
                                  int *cases)
{
    int failures = 0;
    for (size_t k = 0; k < n; k++)
        failures += suite_run_file(files[k], judge, cases);
    return failures;
}

#endif
