/* tests/fuzz/fuzz_check.h: the fuzz targets' invariant check — abort (so
 * libFuzzer saves the input) with the failed condition's location. */
#ifndef DG_FUZZ_CHECK_H
#define DG_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#endif
