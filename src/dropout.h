/* dropout.h - the attention-dropout schemes as the kernels see them, and the
 * element-wise dropout sites of gpt.py (after proj and after the FFN). Every
 * mask is a pure function of (seed, step, site, indices): it is regenerated
 * in the backward pass instead of being stored. */
#ifndef AD_DROPOUT_H
#define AD_DROPOUT_H

#include "internal.h"

/* What one attention layer's dropout does in one training step. */
typedef struct {
    ad_drop_site site;
    uint32_t thresh;   /* keep iff u32 >= thresh */
    float scale;       /* 1/(1-p) */
} ad_attn_drop;

ad_attn_drop ad_attn_drop_make(const ad_drop_site *site);
/* Whether the scheme changes attention rows (none, input-level, or p == 0: no). */
int ad_attn_drop_active(const ad_attn_drop *d);
/* Whether it acts before the softmax (masking logits) rather than after. */
int ad_attn_drop_pre(const ad_attn_drop *d);

/* Post-softmax schemes: fills mult[0..n) (n = i+1 causal, T bidirectional)
 * with the multipliers of row i of head h of batch row b: 0 for a dropped
 * weight, the survivors' rescaling otherwise. */
void ad_attn_row_mult(const ad_attn_drop *d, int b, int h, int i, float *mult);
/* Pre-softmax schemes: fills keep[0..n) with 1 (kept) or 0 (logit -> -inf). */
void ad_attn_row_keep(const ad_attn_drop *d, int b, int h, int i, float *keep);
/* Input-level schemes (word, embedding): mult (T) of the token embeddings of
 * batch row b, whose ids are idx (T). Returns 0 if the scheme is not one. */
int ad_input_mult(const ad_drop_site *s, int b, const int *idx, int T, float *mult);

/* Element-wise dropout of one (B,T,C) activation (inverted, nn.Dropout). */
typedef struct {
    float p;
    uint32_t thresh;
    float scale;
    ad_rng base;       /* stream for batch row 0; row b uses ctr3 + b */
} ad_elem_drop;

ad_elem_drop ad_elem_drop_make(float p, uint64_t seed, ad_rng_purpose purpose, uint32_t step, int layer);

/* Fills mult[0..n) with the multipliers of elements i0..i0+n-1 (i0 a
 * multiple of 4) of batch row b's (T,C) slab, n <= 4096. */
void ad_elem_mult_run(const ad_elem_drop *d, int b, uint64_t i0, int n, float *mult);

/* The multiplier of element c of position t of batch row b (C per position). */
static inline float ad_elem_mult(const ad_elem_drop *d, int b, int t, int c, int C) {
    if (d->p <= 0.0f) return 1.0f;
    float m[4];
    uint64_t i = (uint64_t)t * (uint64_t)C + (uint64_t)c;
    ad_elem_mult_run(d, b, i & ~(uint64_t)3, 4, m);
    return m[i & 3];
}

#endif
