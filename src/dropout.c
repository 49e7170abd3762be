/* dropout.c - mask generation for attention dropout and element dropout. */
#include "dropout.h"

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
    uint64_t base = (uint64_t)i * (uint64_t)d->T;
    for (int j = 0; j <= i;) {
        uint64_t idx = base + (uint64_t)j;
        uint32_t ctr[4] = {(uint32_t)(idx >> 2), r.ctr1, r.ctr2, r.ctr3}, u[4];
        ad_philox4x32(u, ctr, r.key);
        for (int lane = (int)(idx & 3); lane < 4 && j <= i; lane++, j++)
            mult[j] = u[lane] >= d->thresh ? d->scale : 0.0f;
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
