/* check.h - the tests' assertions: each CHECK counts as one passed or failed
 * check; check_done prints the program's tally and gives its exit code. */
#ifndef AD_CHECK_H
#define AD_CHECK_H

#include "attndrop.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_pass __attribute__((unused)), check_fail __attribute__((unused));

#define CHECK(cond, ...)                                                \
    do {                                                                \
        if (cond) {                                                     \
            check_pass++;                                               \
        } else {                                                        \
            check_fail++;                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);        \
            fprintf(stderr, __VA_ARGS__);                               \
            fputc('\n', stderr);                                        \
        }                                                               \
    } while (0)

/* A call a test depends on (its status and &must_err as its error): a failure
 * ends the program with its message, so nothing after it passes by accident. */
static ad_error must_err __attribute__((unused));
#define MUST(call)                                                                          \
    do {                                                                                    \
        if ((call) != AD_OK) {                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, must_err.msg); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static inline int check_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_pass, check_fail);
    return check_fail ? 1 : 0;
}

/* max |a-b| / max(max |b|, floor): a relative error on the tensor's scale */
static inline double rel_err(const float *a, const float *b, size_t n, double floor_) {
    double md = 0.0, mb = floor_;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= md)) md = d; /* NaN propagates as a failure */
        if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    }
    return md / mb;
}

#endif
