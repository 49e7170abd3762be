/* internal.h - declarations shared by the library's sources, not public. */
#ifndef AD_INTERNAL_H
#define AD_INTERNAL_H

#include "attndrop.h"
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills *err (if any) with a printf-style message; returns s. */
ad_status ad_fail(ad_error *err, ad_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends a then b (either may be NULL) to err->msg. */
void ad_error_prefix(ad_error *err, const char *a, const char *b);

/* a*b and a+b with overflow detection: return 0 on overflow. */
int ad_mul_ok(size_t a, size_t b, size_t *out);
int ad_add_ok(size_t a, size_t b, size_t *out);

/* Standard normal draw i of a stream (Box-Muller on draws 4i..4i+3). */
double ad_rng_normal(const ad_rng *r, uint64_t i);

/* The markov task's log-probability of symbol `next` after symbols a, b, c
 * (indices into its alphabet), and the index of a character (-1 if none):
 * for tests that check its entropy rate directly. */
double ad_task_markov_logprob(uint64_t seed, int a, int b, int c, int next);
int ad_task_markov_symbol(char ch);

/* Opens path for reading into *out if it is a regular file of at most
 * max_bytes (never blocking on a FIFO); *size is its size. The caller closes
 * *out. */
#include <stdio.h>
ad_status ad_open_regular(FILE **out, const char *path, size_t max_bytes, size_t *size, ad_error *err);

#ifdef __cplusplus
}
#endif

#endif
