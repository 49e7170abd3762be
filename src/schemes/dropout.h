/* dropout.h - the attention-dropout schemes as the kernels see them, and the
 * element-wise dropout sites of gpt.py (after proj and after the FFN). Every
 * mask is a pure function of (seed, step, site, indices): it is regenerated
 * in the backward pass instead of being stored. */
#ifndef AD_DROPOUT_H
#define AD_DROPOUT_H

#include "../core/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* ------------------------------------------------------- the scheme table */

/* A row function: the masks of row i (n weights) of head h of batch row b;
 * post-softmax schemes fill multipliers (0 for a dropped weight, the
 * survivors' rescaling otherwise), pre-softmax ones 1 (kept) or 0 (logit to
 * -inf). Called only when the scheme is active. */
typedef void (*ad_row_fn)(const ad_attn_drop *d, int b, int h, int i, int n, float *out);
/* An input function (word, embedding): mult (T) of batch row b's token
 * embeddings, whose ids are idx (T); p > 0. */
typedef void (*ad_input_fn)(const ad_drop_site *s, int b, const int *idx, int T, float *mult);

/* What the closed forms of one row know: the rate, the row's length n, the
 * heads and keys of a layer, and the mean over random softmax rows of
 * sum_j w_j^2 (A) and of the same without the diagonal (A_off). */
typedef struct {
    double p;
    int n, H, T, bidirectional;
    double A, A_off;
} ad_law_in;
/* Exact laws of one row: P(all zero in one head), P(all zero in every head of
 * a layer), mean and variance of the row's sum. The caller presets them to
 * 0, 0, 1, 0: a row that keeps summing to 1. */
typedef struct { double p_zero, p_allheads_zero, mean, var; } ad_law;
typedef void (*ad_law_fn)(const ad_law_in *in, ad_law *out);
/* P(some token's attention output is zero in every head of one layer), given
 * log_none = sum over rows of log(1 - p_allheads_zero); NaN where no closed
 * form holds. */
typedef double (*ad_any_zero_fn)(const ad_law_in *in, double log_none);

/* A scheme: its public description and its functions (schemes.c). */
typedef struct {
    ad_scheme_info info;
    ad_row_fn row;           /* NULL for none and the input-level schemes */
    ad_input_fn input;       /* non-NULL exactly for the input-level schemes */
    ad_law_fn law;           /* NULL: rows keep summing to 1 and are never zero */
    ad_any_zero_fn any_zero; /* NULL: 0 */
} ad_scheme_def;
const ad_scheme_def *ad_scheme_def_get(ad_scheme s);

/* the row functions (dropout.c) */
void ad_row_standard(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_masked(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_symmetric(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_keepdiag(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_nonzero(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_fixedcount(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_column(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_token(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_head(const ad_attn_drop *d, int b, int h, int i, int n, float *mult);
void ad_row_renorm(const ad_attn_drop *d, int b, int h, int i, int n, float *keep);
void ad_row_dropkey(const ad_attn_drop *d, int b, int h, int i, int n, float *keep);
void ad_row_fcm(const ad_attn_drop *d, int b, int h, int i, int n, float *keep);
/* ad_drop_row and ad_input_mult (attndrop.h) for the library's own callers,
 * whose sites are valid by construction: nothing is checked. ad_input_mult_k
 * returns whether the scheme is input-level. */
void ad_drop_row_k(const ad_drop_site *s, int b, int h, int i, const double *w, double *out);
int ad_input_mult_k(const ad_drop_site *s, int b, const int *idx, int T, float *mult);
void ad_input_word(const ad_drop_site *s, int b, const int *idx, int T, float *mult);
void ad_input_embedding(const ad_drop_site *s, int b, const int *idx, int T, float *mult);

/* the closed forms (stats.c) */
void ad_law_independent(const ad_law_in *in, ad_law *out); /* each weight independently */
void ad_law_token(const ad_law_in *in, ad_law *out);       /* keys shared by every head */
void ad_law_renorm(const ad_law_in *in, ad_law *out);
void ad_law_keepdiag(const ad_law_in *in, ad_law *out);
void ad_law_nonzero(const ad_law_in *in, ad_law *out);
void ad_law_fixedcount(const ad_law_in *in, ad_law *out);
void ad_law_head(const ad_law_in *in, ad_law *out);
double ad_any_zero_rows(const ad_law_in *in, double log_none);      /* rows with disjoint draws */
double ad_any_zero_symmetric(const ad_law_in *in, double log_none); /* shared draws when bidirectional */
double ad_any_zero_column(const ad_law_in *in, double log_none);
double ad_any_zero_token(const ad_law_in *in, double log_none);

/* ----------------------------------------------------------- the masks */

/* Post-softmax schemes: fills mult[0..n) (n = i+1 causal, T bidirectional)
 * with the multipliers of row i of head h of batch row b: 0 for a dropped
 * weight, the survivors' rescaling otherwise. */
void ad_attn_row_mult(const ad_attn_drop *d, int b, int h, int i, float *mult);
/* Pre-softmax schemes: fills keep[0..n) with 1 (kept) or 0 (logit -> -inf). */
void ad_attn_row_keep(const ad_attn_drop *d, int b, int h, int i, float *keep);
/* The active scheme's row function on a row of n keys (n >= 1, at most the
 * site's block_size), whatever the row's own length: the general attention's
 * rows (src/model/sdpa.inc), n its visible keys or its causal length. */
void ad_attn_row_n(const ad_attn_drop *d, int b, int h, int i, int n, float *out);
/* Whether a scheme's row law depends on how many keys the row has (nonzero,
 * dropkey: a survivor among them; fixedcount: round(p n) of them dropped):
 * with a mask, these draw on the visible keys only. */
int ad_scheme_counts_keys(ad_scheme s);

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

#ifdef __cplusplus
}
#endif

#endif
