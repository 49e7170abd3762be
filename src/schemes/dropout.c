/* dropout.c - the masks of the attention-dropout schemes: each scheme's row
 * function (one attention row, or one input row), the dispatch through the
 * scheme table (schemes.c), and the element-wise dropout of gpt.py. */
#include "dropout.h"
#include "../core/dispatch.h"
#include "mask.h"
#include <assert.h>
#include <math.h>
#include <string.h>

ad_attn_drop ad_attn_drop_make(const ad_drop_site *site) {
    ad_attn_drop d;
    d.site = *site;
    float p = site->p > 0.0f ? site->p : 0.0f;
    d.thresh = p > 0.0f ? ad_keep_threshold(p) : 0;
    d.scale = 1.0f / (1.0f - p);
    return d;
}

int ad_attn_drop_active(const ad_attn_drop *d) {
    return d && d->site.scheme != AD_SCHEME_NONE && d->site.p > 0.0f &&
           ad_scheme_get(d->site.scheme)->where != AD_WHERE_INPUT;
}

int ad_attn_drop_pre(const ad_attn_drop *d) { return ad_scheme_get(d->site.scheme)->where == AD_WHERE_PRE; }

static int row_len(const ad_drop_site *s, int i) { return s->bidirectional ? s->block_size : i + 1; }


/* out[j] = (draw base+j >= thresh) ? keep_value : 0, for j < n */
static void bern_run(const ad_rng *r, uint64_t base, int n, uint32_t thresh, float keep_value, float *out) {
    uint64_t block0 = base >> 2;
    int nblocks = (int)(((base + (uint64_t)n - 1) >> 2) - block0 + 1);
    uint32_t u[4 * nblocks];
    ad_philox4x32_blocks(u, (uint32_t)block0, r->ctr1, r->ctr2, r->ctr3, r->key, nblocks);
    const uint32_t *w = u + (base & 3);
    for (int j = 0; j < n; j++) out[j] = w[j] >= thresh ? keep_value : 0.0f;
}

/* keep[0..n) of row i: independent Bernoulli(1-p) conditioned on at least one
 * survivor, sampled exactly: the first survivor k has the truncated geometric
 * law P(k) = p^k (1-p) / (1-p^n), drawn by inversion; weights after it are
 * independent draws. */
static void conditional_row(const ad_attn_drop *d, int b, int h, int i, int n, float *keep) {
    const ad_drop_site *s = &d->site;
    ad_rng el = ad_site_stream_hd(s, AD_RNG_ATTN, (uint32_t)h, b);
    int k = ad_first_survivor_hd(s, b, h, i, n);
    bern_run(&el, (uint64_t)i * (uint64_t)s->block_size, n, d->thresh, 1.0f, keep);
    for (int j = 0; j < k; j++) keep[j] = 0.0f;
    keep[k] = 1.0f;
}

/* ------------------------------------------------ post-softmax row masks */

AD_HOT void ad_row_standard(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    ad_rng el = ad_site_stream_hd(&d->site, AD_RNG_ATTN, (uint32_t)h, b);
    bern_run(&el, (uint64_t)i * d->site.block_size, n, d->thresh, d->scale, mult);
}

/* draws indexed inside the mask only: the lower triangle, packed */
AD_HOT void ad_row_masked(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    const ad_drop_site *s = &d->site;
    ad_rng el = ad_site_stream_hd(s, AD_RNG_ATTN, (uint32_t)h, b);
    bern_run(&el, s->bidirectional ? (uint64_t)i * s->block_size : (uint64_t)i * (i + 1) / 2, n, d->thresh, d->scale,
             mult);
}

/* draw (lo, hi) of the packed triangle for both (i,j) and (j,i); a causal row
 * (j <= i) is then contiguous, and the very draws of masked */
AD_HOT void ad_row_symmetric(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    const ad_drop_site *s = &d->site;
    ad_rng el = ad_site_stream_hd(s, AD_RNG_ATTN, (uint32_t)h, b);
    if (!s->bidirectional) {
        bern_run(&el, (uint64_t)i * (i + 1) / 2, n, d->thresh, d->scale, mult);
        return;
    }
    for (int j = 0; j < n; j++) {
        uint64_t lo = (uint64_t)(i < j ? i : j), hi = (uint64_t)(i < j ? j : i);
        mult[j] = ad_rng_u32(&el, hi * (hi + 1) / 2 + lo) >= d->thresh ? d->scale : 0.0f;
    }
}

AD_HOT void ad_row_keepdiag(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    ad_row_standard(d, b, h, i, n, mult);
    if (i < n) mult[i] = 1.0f;
}

AD_HOT void ad_row_nonzero(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    conditional_row(d, b, h, i, n, mult);
    float c = ad_nonzero_scale_hd(d->site.p, n);
    for (int j = 0; j < n; j++) mult[j] *= c;
}

/* mask.h's ad_fixedcount_row_hd with its shuffle's draws made in bulk: its
 * 2 kd words are one run of consecutive counters, so one vectorised
 * ad_philox4x32_blocks call gives them all (the scalar form makes one Philox
 * block per word, and fixedcount was the slowest scheme). The same words and
 * mask.h's kd and swap, so the same idx; test_mask checks it against mask.h. */
static int fixedcount_row(const ad_drop_site *s, int b, int h, int i, int n, int *idx) {
    ad_rng row = ad_site_stream_hd(s, AD_RNG_ATTN_ROW, (uint32_t)h, b);
    uint64_t base = (uint64_t)i * (uint64_t)(s->block_size + 2);
    int kd = ad_fixedcount_kd_hd(s->p, n, ad_uniform_hd(&row, base));
    /* the swaps' words, 2 per swap from word 2 (base + 1) on (one more: a row with no swap asks for a block) */
    uint64_t w0 = 2 * (base + 1), nw = 2 * (uint64_t)kd + 1;
    uint64_t block0 = w0 >> 2;
    int nblocks = (int)(((w0 + nw - 1) >> 2) - block0 + 1);
    uint32_t u[4 * nblocks];
    ad_philox4x32_blocks(u, (uint32_t)block0, row.ctr1, row.ctr2, row.ctr3, row.key, nblocks);
    const uint32_t *w = u + (w0 & 3); /* w[k]: word w0 + k */
    for (int j = 0; j < n; j++) idx[j] = j;
    for (int r = 0; r < kd; r++) ad_fixedcount_swap_hd(idx, n, r, ((uint64_t)w[2 * r] << 32) | w[2 * r + 1]);
    return kd;
}

AD_HOT void ad_row_fixedcount(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    int idx[n];
    int kd = fixedcount_row(&d->site, b, h, i, n, idx);
    float keep_value = (float)n / (float)(n - kd);
    for (int j = 0; j < n; j++) mult[j] = keep_value;
    for (int r = 0; r < kd; r++) mult[idx[r]] = 0.0f;
}

/* whole keys: one draw per key, for every query row */
static void key_row(const ad_attn_drop *d, uint32_t head_field, int b, int n, float *mult) {
    ad_rng key = ad_site_stream_hd(&d->site, AD_RNG_ATTN_KEY, head_field, b);
    bern_run(&key, 0, n, d->thresh, d->scale, mult);
}

AD_HOT void ad_row_column(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    (void)i;
    key_row(d, (uint32_t)h, b, n, mult);
}

AD_HOT void ad_row_token(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    (void)h; (void)i;
    key_row(d, 0xFFFFu, b, n, mult); /* one key mask for every head */
}

AD_HOT void ad_row_head(const ad_attn_drop *d, int b, int h, int i, int n, float *mult) {
    (void)i;
    float m = ad_head_mult_hd(&d->site, d->thresh, b, h);
    for (int j = 0; j < n; j++) mult[j] = m;
}

/* ------------------------------------------------- pre-softmax row masks */

AD_HOT void ad_row_renorm(const ad_attn_drop *d, int b, int h, int i, int n, float *keep) {
    ad_rng el = ad_site_stream_hd(&d->site, AD_RNG_ATTN, (uint32_t)h, b);
    bern_run(&el, (uint64_t)i * d->site.block_size, n, d->thresh, 1.0f, keep);
}

AD_HOT void ad_row_dropkey(const ad_attn_drop *d, int b, int h, int i, int n, float *keep) {
    conditional_row(d, b, h, i, n, keep);
}

/* one mask per batch row for every layer and head, at its own rate */
AD_HOT void ad_row_fcm(const ad_attn_drop *d, int b, int h, int i, int n, float *keep) {
    (void)h; (void)i;
    const ad_drop_site *s = &d->site;
    ad_rng fr = ad_rng_stream(s->seed, AD_RNG_FCM, s->step, 0, (uint32_t)b);
    bern_run(&fr, 2, n, ad_fcm_threshold_hd(s, b), 1.0f, keep);
    keep[0] = 1.0f;
}

/* ------------------------------------------------------ input-level masks */

/* word (k = 0: by position) and embedding (k = 1: by vocabulary entry) */
static void input_row(const ad_drop_site *s, uint32_t k, int b, const int *idx, int T, float *mult) {
    uint32_t thresh = ad_keep_threshold(s->p);
    float scale = 1.0f / (1.0f - s->p);
    ad_rng r = ad_rng_stream(s->seed, AD_RNG_WORD, s->step, k, (uint32_t)b);
    for (int t = 0; t < T; t++) mult[t] = ad_rng_u32(&r, k == 0 ? (uint64_t)t : (uint64_t)idx[t]) >= thresh ? scale : 0.0f;
}

void ad_input_word(const ad_drop_site *s, int b, const int *idx, int T, float *mult) { input_row(s, 0, b, idx, T, mult); }
void ad_input_embedding(const ad_drop_site *s, int b, const int *idx, int T, float *mult) { input_row(s, 1, b, idx, T, mult); }

/* ------------------------------------------------------------- dispatch */

void ad_attn_row_mult(const ad_attn_drop *d, int b, int h, int i, float *mult) {
    int n = row_len(&d->site, i);
    if (!ad_attn_drop_active(d) || ad_attn_drop_pre(d)) {
        for (int j = 0; j < n; j++) mult[j] = 1.0f;
        return;
    }
    ad_scheme_def_get(d->site.scheme)->row(d, d->site.row0 + b, h, i, n, mult);
}

void ad_attn_row_keep(const ad_attn_drop *d, int b, int h, int i, float *keep) {
    int n = row_len(&d->site, i);
    if (!ad_attn_drop_active(d) || !ad_attn_drop_pre(d)) {
        for (int j = 0; j < n; j++) keep[j] = 1.0f;
        return;
    }
    ad_scheme_def_get(d->site.scheme)->row(d, d->site.row0 + b, h, i, n, keep);
}

void ad_attn_row_n(const ad_attn_drop *d, int b, int h, int i, int n, float *out) {
    ad_scheme_def_get(d->site.scheme)->row(d, d->site.row0 + b, h, i, n, out);
}

int ad_scheme_counts_keys(ad_scheme s) {
    return s == AD_SCHEME_NONZERO || s == AD_SCHEME_DROPKEY || s == AD_SCHEME_FIXEDCOUNT;
}

int ad_input_mult_k(const ad_drop_site *s, int b, const int *idx, int T, float *mult) {
    const ad_scheme_def *def = ad_scheme_def_get(s->scheme);
    if (!def->input) return 0;
    if (!(s->p > 0.0f)) {
        for (int t = 0; t < T; t++) mult[t] = 1.0f;
        return 1;
    }
    def->input(s, s->row0 + b, idx, T, mult);
    return 1;
}

ad_status ad_drop_site_check(const ad_drop_site *s, ad_error *err) {
    if (!s) return ad_fail(err, AD_ERR_ARG, "no dropout site (NULL)");
    if ((int)s->scheme < 0 || (int)s->scheme >= AD_SCHEME_COUNT)
        return ad_fail(err, AD_ERR_ARG, "unknown scheme number %d (0 to %d)", (int)s->scheme, AD_SCHEME_COUNT - 1);
    if (!(s->p >= 0.0f && s->p < 1.0f))
        return ad_fail(err, AD_ERR_ARG, "dropout rate p must be in [0, 1), got %g", (double)s->p);
    if (s->block_size < 1 || s->block_size > AD_MAX_BLOCK)
        return ad_fail(err, AD_ERR_ARG, "block_size must be in [1, %d], got %d", AD_MAX_BLOCK, s->block_size);
    if (s->n_head < 1 || s->n_head > 4096)
        return ad_fail(err, AD_ERR_ARG, "n_head must be in [1, 4096], got %d", s->n_head);
    if (s->layer < 0 || s->layer > 65535)
        return ad_fail(err, AD_ERR_ARG, "layer must be in [0, 65535], got %d", s->layer);
    if (s->row0 < 0) return ad_fail(err, AD_ERR_ARG, "row0 must be >= 0, got %d", s->row0);
    return AD_OK;
}

ad_status ad_input_mult(const ad_drop_site *s, int b, const int *idx, int T, float *mult, int *applied,
                        ad_error *err) {
    ad_status st = ad_drop_site_check(s, err);
    if (st) return st;
    if (b < 0 || b > INT32_MAX - s->row0)
        return ad_fail(err, AD_ERR_ARG, "batch row %d (with row0 %d) is out of range", b, s->row0);
    if (T < 1 || T > s->block_size)
        return ad_fail(err, AD_ERR_ARG, "T must be in [1, block_size=%d], got %d", s->block_size, T);
    if (!idx || !mult) return ad_fail(err, AD_ERR_ARG, "ids or multipliers are NULL");
    for (int t = 0; t < T; t++)
        if (idx[t] < 0) return ad_fail(err, AD_ERR_ARG, "token id %d at position %d is negative", idx[t], t);
    int a = ad_input_mult_k(s, b, idx, T, mult);
    if (applied) *applied = a;
    return AD_OK;
}

ad_status ad_attention_masks(float *out, const ad_drop_site *s, int B, ad_error *err) {
    ad_status st = ad_drop_site_check(s, err);
    if (st) return st;
    if (!out) return ad_fail(err, AD_ERR_ARG, "attention masks: out is NULL");
    if (B < 1 || B > INT32_MAX - s->row0) return ad_fail(err, AD_ERR_ARG, "attention masks: B must be >= 1, got %d", B);
    ad_attn_drop d = ad_attn_drop_make(s);
    int H = s->n_head, T = s->block_size, pre = ad_attn_drop_pre(&d);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                float *row = out + (((size_t)b * H + h) * T + i) * T;
                int n = row_len(s, i);
                if (pre) ad_attn_row_keep(&d, b, h, i, row);
                else ad_attn_row_mult(&d, b, h, i, row);
                for (int j = n; j < T; j++) row[j] = 0.0f;
            }
    return AD_OK;
}

ad_status ad_drop_row(const ad_drop_site *s, int b, int h, int i, const double *w, int n, double *out,
                      ad_error *err) {
    ad_status st = ad_drop_site_check(s, err);
    if (st) return st;
    if (b < 0 || b > INT32_MAX - s->row0)
        return ad_fail(err, AD_ERR_ARG, "batch row %d (with row0 %d) is out of range", b, s->row0);
    if (h < 0 || h >= s->n_head) return ad_fail(err, AD_ERR_ARG, "head %d is outside [0, n_head=%d)", h, s->n_head);
    if (i < 0 || i >= s->block_size)
        return ad_fail(err, AD_ERR_ARG, "row %d is outside [0, block_size=%d)", i, s->block_size);
    if (n != row_len(s, i))
        return ad_fail(err, AD_ERR_ARG, "row %d of a %s attention has %d weights, got %d", i,
                       s->bidirectional ? "bidirectional" : "causal", row_len(s, i), n);
    if (!w || !out) return ad_fail(err, AD_ERR_ARG, "weights or output are NULL");
    ad_drop_row_k(s, b, h, i, w, out);
    return AD_OK;
}

void ad_drop_row_k(const ad_drop_site *s, int b, int h, int i, const double *w, double *out) {
    ad_attn_drop d = ad_attn_drop_make(s);
    int n = row_len(s, i);
    float m[n];
    if (!ad_attn_drop_active(&d)) {
        memcpy(out, w, (size_t)n * sizeof *out);
    } else if (ad_attn_drop_pre(&d)) {
        ad_attn_row_keep(&d, b, h, i, m);
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += m[j] * w[j];
        /* an all-zero row stays zero; NaN in stays NaN (a diverging run must stay visible) */
        for (int j = 0; j < n; j++) out[j] = sum > 0.0 ? m[j] * w[j] / sum : sum == 0.0 ? 0.0 : NAN;
    } else {
        ad_attn_row_mult(&d, b, h, i, m);
        for (int j = 0; j < n; j++) out[j] = m[j] * w[j];
    }
}

ad_elem_drop ad_elem_drop_make(float p, uint64_t seed, ad_rng_purpose purpose, uint32_t step, int layer) {
    ad_elem_drop d;
    d.p = p;
    d.thresh = p > 0.0f ? ad_keep_threshold(p) : 0;
    d.scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    d.base = ad_rng_stream(seed, purpose, step, (uint32_t)layer, 0);
    return d;
}

AD_HOT void ad_elem_mult_run(const ad_elem_drop *d, int b, uint64_t i0, int n, float *mult) {
    assert((i0 & 3) == 0);
    ad_rng r = d->base;
    r.ctr3 += (uint32_t)b;
    bern_run(&r, i0, n, d->thresh, d->scale, mult);
}
