/* dropout.h - the attention-dropout interface that schemes plug into, and the
 * element-wise dropout sites of gpt.py (after proj and after the FFN). Every
 * mask is a pure function of (seed, step, site, indices): it is regenerated
 * in the backward pass instead of being stored. */
#ifndef AD_DROPOUT_H
#define AD_DROPOUT_H

#include "internal.h"

typedef enum {
    AD_SCHEME_NONE = 0,
    AD_SCHEME_STANDARD   /* nn.Dropout on the whole T x T softmax matrix */
} ad_scheme_kind;

/* What one attention layer's dropout does in one training step. */
typedef struct {
    ad_scheme_kind kind;
    float p;
    uint32_t thresh;   /* keep iff u32 >= thresh */
    float scale;       /* 1/(1-p) */
    uint64_t seed;
    uint32_t step;
    int layer;
    int T;             /* the row stride of the mask's index space */
} ad_attn_drop;

/* Fills mult[0..i] with the multipliers of row i of head h of batch row b:
 * 0 for a dropped weight, the survivors' rescaling otherwise. */
void ad_attn_row_mult(const ad_attn_drop *d, int b, int h, int i, float *mult);
/* Whether the scheme changes anything (kind none or p == 0: no). */
int ad_attn_drop_active(const ad_attn_drop *d);

/* Element-wise dropout of one (B,T,C) activation (inverted, nn.Dropout). */
typedef struct {
    float p;
    uint32_t thresh;
    float scale;
    ad_rng base;       /* stream for batch row 0; row b uses ctr3 + b */
} ad_elem_drop;

ad_elem_drop ad_elem_drop_make(float p, uint64_t seed, ad_rng_purpose purpose, uint32_t step, int layer);
/* The multipliers of elements i..i+3 (i a multiple of 4) of batch row b's
 * (T,C) slab, element index t*C + c: one Philox call gives all four. */
static inline void ad_elem_mult4(const ad_elem_drop *d, int b, uint64_t i, float m[4]) {
    uint32_t ctr[4] = {(uint32_t)(i >> 2), d->base.ctr1, d->base.ctr2, d->base.ctr3 + (uint32_t)b}, u[4];
    ad_philox4x32(u, ctr, d->base.key);
    for (int k = 0; k < 4; k++) m[k] = u[k] >= d->thresh ? d->scale : 0.0f;
}

/* Fills mult[0..n) with the multipliers of elements i0..i0+n-1 (i0 a
 * multiple of 4) of batch row b's (T,C) slab, n <= 4096. */
void ad_elem_mult_run(const ad_elem_drop *d, int b, uint64_t i0, int n, float *mult);

/* The multiplier of element c of position t of batch row b (C per position). */
static inline float ad_elem_mult(const ad_elem_drop *d, int b, int t, int c, int C) {
    if (d->p <= 0.0f) return 1.0f;
    float m[4];
    uint64_t i = (uint64_t)t * (uint64_t)C + (uint64_t)c;
    ad_elem_mult4(d, b, i & ~(uint64_t)3, m);
    return m[i & 3];
}

#endif
