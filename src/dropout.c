/* dropout.c - mask generation for attention dropout and element dropout. */
#include "dropout.h"
#include <assert.h>

int ad_attn_drop_active(const ad_attn_drop *d) {
    return d && d->kind != AD_SCHEME_NONE && d->p > 0.0f;
}

void ad_attn_row_mult(const ad_attn_drop *d, int b, int h, int i, float *mult) {
    if (!ad_attn_drop_active(d)) {
        for (int j = 0; j <= i; j++) mult[j] = 1.0f;
        return;
    }
    /* standard: element (i,j) of the T x T matrix, PyTorch's nn.Dropout on wei */
    ad_rng r = ad_rng_stream(d->seed, AD_RNG_ATTN, d->step, ((uint32_t)d->layer << 16) | (uint32_t)h,
                             (uint32_t)b);
    uint64_t first = (uint64_t)i * (uint64_t)d->T, block0 = first >> 2;
    int nblocks = (int)(((first + (uint64_t)i) >> 2) - block0 + 1);
    uint32_t u[4 * nblocks];
    ad_philox4x32_blocks(u, (uint32_t)block0, r.ctr1, r.ctr2, r.ctr3, r.key, nblocks);
    const uint32_t *row = u + (first & 3);
    for (int j = 0; j <= i; j++) mult[j] = row[j] >= d->thresh ? d->scale : 0.0f;
}

void ad_elem_mult_run(const ad_elem_drop *d, int b, uint64_t i0, int n, float *mult) {
    assert((i0 & 3) == 0);
    int nblocks = (n + 3) / 4;
    uint32_t u[4 * nblocks];
    ad_philox4x32_blocks(u, (uint32_t)(i0 >> 2), d->base.ctr1, d->base.ctr2, d->base.ctr3 + (uint32_t)b,
                         d->base.key, nblocks);
    for (int k = 0; k < n; k++) mult[k] = u[k] >= d->thresh ? d->scale : 0.0f;
}

ad_elem_drop ad_elem_drop_make(float p, uint64_t seed, ad_rng_purpose purpose, uint32_t step, int layer) {
    ad_elem_drop d;
    d.p = p;
    d.thresh = p > 0.0f ? ad_keep_threshold(p) : 0;
    d.scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    d.base = ad_rng_stream(seed, purpose, step, (uint32_t)layer, 0);
    return d;
}
