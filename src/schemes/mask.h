/* mask.h - Philox and every scheme's attention mask as pure functions of one
 * element, written once for the CPU (compiled as C) and the GPU (compiled by
 * nvcc as __host__ __device__): a kernel that regenerates a mask element by
 * element, in any order and on any device, draws exactly what the CPU's row
 * functions (dropout.c) draw. tests/test_mask.c checks every scheme, row by
 * row, against them.
 *
 * A row's mask is two steps: ad_mask_row_begin computes what the whole row
 * shares (its stream, its guarantee's first survivor, its rescaling, head or
 * count draws), ad_mask_at gives element j. Only fixedcount needs the row's
 * full draw, into caller-provided scratch. */
#ifndef AD_MASK_H
#define AD_MASK_H

#include "attndrop.h"
#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define AD_HD static inline __host__ __device__
#else
#define AD_HD static inline
#endif

#define AD_PHILOX_M0 0xD2511F53u
#define AD_PHILOX_M1 0xCD9E8D57u
#define AD_PHILOX_W0 0x9E3779B9u
#define AD_PHILOX_W1 0xBB67AE85u

/* Philox4x32-10's ten rounds on the uint32_t lvalues c0..c3 under key
 * k0, k1 (both advanced). A macro, not a function: philox.c's lane loop
 * expands it in place, where a call stops the compiler vectorising the loop
 * (residual dropout 2.7x slower). */
#define AD_PHILOX_ROUNDS(c0, c1, c2, c3, k0, k1)                \
    for (int round_ = 0; round_ < 10; round_++) {               \
        uint64_t p0_ = (uint64_t)AD_PHILOX_M0 * (c0);           \
        uint64_t p1_ = (uint64_t)AD_PHILOX_M1 * (c2);           \
        uint32_t n0_ = (uint32_t)(p1_ >> 32) ^ (c1) ^ (k0);     \
        uint32_t n2_ = (uint32_t)(p0_ >> 32) ^ (c3) ^ (k1);     \
        (c1) = (uint32_t)p1_;                                   \
        (c3) = (uint32_t)p0_;                                   \
        (c0) = n0_;                                             \
        (c2) = n2_;                                             \
        (k0) += AD_PHILOX_W0;                                   \
        (k1) += AD_PHILOX_W1;                                   \
    }

/* Philox4x32-10 of counter (c0..c3) under key (k0, k1). */
AD_HD void ad_philox_hd(uint32_t out[4], uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                        uint32_t k1) {
    AD_PHILOX_ROUNDS(c0, c1, c2, c3, k0, k1)
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* ad_rng_stream, ad_rng_u32 and ad_rng_uniform of attndrop.h */
AD_HD ad_rng ad_stream_hd(uint64_t seed, uint32_t purpose, uint32_t a, uint32_t b, uint32_t c) {
    ad_rng r;
    r.key[0] = (uint32_t)seed;
    r.key[1] = (uint32_t)(seed >> 32);
    r.ctr1 = a;
    r.ctr2 = b;
    r.ctr3 = (purpose << 24) | (c & ((1u << 24) - 1)); /* the purpose takes the top byte */
    return r;
}

AD_HD uint32_t ad_u32_hd(const ad_rng *r, uint64_t i) {
    uint32_t out[4];
    ad_philox_hd(out, (uint32_t)(i >> 2), r->ctr1, r->ctr2, r->ctr3, r->key[0], r->key[1]);
    return out[i & 3];
}

AD_HD double ad_uniform_hd(const ad_rng *r, uint64_t i) {
    uint32_t hi = ad_u32_hd(r, 2 * i) >> 5, lo = ad_u32_hd(r, 2 * i + 1) >> 6;
    return ((double)hi * 67108864.0 + (double)lo) * (1.0 / 9007199254740992.0);
}

AD_HD uint32_t ad_threshold_hd(double p) { return (uint32_t)floor(p * 4294967296.0); }

/* The site of no dropout for H heads and blocks of T, field by field: every
 * field not named is zero, however many the struct gains. */
AD_HD ad_drop_site ad_site_none_hd(int H, int T) {
    ad_drop_site s = {AD_SCHEME_NONE};
    s.n_head = H;
    s.block_size = T;
    return s;
}

/* The stream of one site's purpose, head field and batch row. */
AD_HD ad_rng ad_site_stream_hd(const ad_drop_site *s, uint32_t purpose, uint32_t head_field, int b) {
    return ad_stream_hd(s->seed, purpose, s->step, ((uint32_t)s->layer << 16) | head_field, (uint32_t)b);
}

/* The first survivor of a row of n that keeps at least one weight (nonzero,
 * dropkey): truncated geometric P(k) = p^k (1-p) / (1-p^n), by inversion. */
AD_HD int ad_first_survivor_hd(const ad_drop_site *s, int b, int h, int i, int n) {
    ad_rng row = ad_site_stream_hd(s, AD_RNG_ATTN_ROW, (uint32_t)h, b);
    double p = s->p, pn = pow(p, (double)n);
    double u = ad_uniform_hd(&row, (uint64_t)i * (uint64_t)(s->block_size + 2));
    double x = ceil(log1p(-u * (1.0 - pn)) / log(p)) - 1.0;
    return x < 0.0 ? 0 : x > n - 1 ? n - 1 : (int)x;
}

/* nonzero's rescaling of a row of n: 1 / E[kept share | at least one kept] */
AD_HD float ad_nonzero_scale_hd(float p, int n) { return (float)((1.0 - pow((double)p, (double)n)) / (1.0 - (double)p)); }

/* head's multiplier of head h: H / (heads kept), 0 if h is dropped, 1 if all are */
AD_HD float ad_head_mult_hd(const ad_drop_site *s, uint32_t thresh, int b, int h) {
    ad_rng hr = ad_stream_hd(s->seed, AD_RNG_HEAD, s->step, (uint32_t)s->layer, (uint32_t)b);
    int kept = 0, mine = 0;
    for (int k = 0; k < s->n_head; k++) {
        int keep = ad_u32_hd(&hr, (uint64_t)k) >= thresh;
        kept += keep;
        if (k == h) mine = keep;
    }
    return kept == 0 ? 1.0f : mine ? (float)s->n_head / (float)kept : 0.0f;
}

/* fcm's keep threshold for batch row b: rate p * U(0,1), one per batch row */
AD_HD uint32_t ad_fcm_threshold_hd(const ad_drop_site *s, int b) {
    ad_rng fr = ad_stream_hd(s->seed, AD_RNG_FCM, s->step, 0, (uint32_t)b);
    return ad_threshold_hd((double)s->p * ad_uniform_hd(&fr, 0));
}

/* fixedcount: row i of n keeps exactly n - kd weights, a uniform subset: kd is
 * p n rounded at random, the dropped ones idx[0..kd) of a partial
 * Fisher-Yates shuffle of idx (n scratch) with 64-bit draws. Returns kd. */
/* kd of a row of n from its uniform draw u (word pair 2 base, 2 base + 1 of the row stream) */
AD_HD int ad_fixedcount_kd_hd(float p, int n, double u) {
    double x = (double)p * n;
    int kd = (int)floor(x);
    if (u < x - kd) kd++;
    return kd > n - 1 ? n - 1 : kd;
}

/* swap r of the shuffle of idx (n), by its 64-bit draw r64 */
AD_HD void ad_fixedcount_swap_hd(int *idx, int n, int r, uint64_t r64) {
#ifdef __CUDA_ARCH__
    int t = r + (int)__umul64hi(r64, (uint64_t)(n - r));
#else
    int t = r + (int)(((unsigned __int128)r64 * (unsigned)(n - r)) >> 64);
#endif
    int tmp = idx[r]; idx[r] = idx[t]; idx[t] = tmp;
}

AD_HD int ad_fixedcount_row_hd(const ad_drop_site *s, int b, int h, int i, int n, int *idx) {
    ad_rng row = ad_site_stream_hd(s, AD_RNG_ATTN_ROW, (uint32_t)h, b);
    uint64_t base = (uint64_t)i * (uint64_t)(s->block_size + 2);
    int kd = ad_fixedcount_kd_hd(s->p, n, ad_uniform_hd(&row, base));
    uint64_t first = 2 * (base + 1);
    for (int j = 0; j < n; j++) idx[j] = j;
    for (int r = 0; r < kd; r++)
        ad_fixedcount_swap_hd(idx, n, r, ((uint64_t)ad_u32_hd(&row, first + 2 * (uint64_t)r) << 32) |
                                             ad_u32_hd(&row, first + 2 * (uint64_t)r + 1));
    return kd;
}

/* What every element of one row shares. */
typedef struct {
    int scheme, i, n, first;    /* first: the first survivor (nonzero, dropkey) */
    int bidirectional, block_size;
    uint32_t thresh;            /* keep iff draw >= thresh */
    float value;                /* a kept element's multiplier (post) or 1 (pre) */
    ad_rng rng;                 /* the stream the row's elements draw from */
    const unsigned char *dropped; /* fixedcount: 1 at the row's dropped keys (n) */
} ad_mask_row;

/* Whether the scheme is one that acts before the softmax (its elements are
 * 1: kept, 0: the logit goes to -inf): the scheme table's AD_WHERE_PRE, which
 * the GPU cannot read; test_mask holds the two equal for every scheme. */
AD_HD int ad_mask_pre_hd(int scheme) {
    return scheme == AD_SCHEME_RENORM || scheme == AD_SCHEME_DROPKEY || scheme == AD_SCHEME_FCM;
}

/* The row state of row i (n weights) of head h of batch row b (the whole
 * batch's row: site.row0 already added), for an active scheme with the rate
 * s->p > 0. fixedcount: dropped (n) is filled here, with idx (n) as scratch
 * (both NULL: the caller sets dropped and value). */
AD_HD ad_mask_row ad_mask_row_begin_hd(const ad_drop_site *s, int b, int h, int i, int n, unsigned char *dropped,
                                       int *idx) {
    ad_mask_row r;
    float p = s->p;
    r.scheme = (int)s->scheme;
    r.i = i;
    r.n = n;
    r.first = 0;
    r.bidirectional = s->bidirectional;
    r.block_size = s->block_size;
    r.thresh = ad_threshold_hd(p);
    r.value = ad_mask_pre_hd(r.scheme) ? 1.0f : 1.0f / (1.0f - p);
    r.rng = ad_site_stream_hd(s, AD_RNG_ATTN, (uint32_t)h, b);
    r.dropped = 0;
    switch (s->scheme) {
    case AD_SCHEME_NONZERO:
        r.first = ad_first_survivor_hd(s, b, h, i, n);
        r.value = ad_nonzero_scale_hd(p, n);
        break;
    case AD_SCHEME_DROPKEY: r.first = ad_first_survivor_hd(s, b, h, i, n); break;
    case AD_SCHEME_FIXEDCOUNT: {
        if (!dropped || !idx) break; /* the caller fills dropped and value (attn_rows.h) */
        int kd = ad_fixedcount_row_hd(s, b, h, i, n, idx);
        for (int j = 0; j < n; j++) dropped[j] = 0;
        for (int k = 0; k < kd; k++) dropped[idx[k]] = 1;
        r.dropped = dropped;
        r.value = (float)n / (float)(n - kd);
        break;
    }
    case AD_SCHEME_COLUMN: r.rng = ad_site_stream_hd(s, AD_RNG_ATTN_KEY, (uint32_t)h, b); break;
    case AD_SCHEME_TOKEN: r.rng = ad_site_stream_hd(s, AD_RNG_ATTN_KEY, 0xFFFFu, b); break;
    case AD_SCHEME_HEAD: r.value = ad_head_mult_hd(s, r.thresh, b, h); break;
    case AD_SCHEME_FCM:
        r.rng = ad_stream_hd(s->seed, AD_RNG_FCM, s->step, 0, (uint32_t)b);
        r.thresh = ad_fcm_threshold_hd(s, b);
        break;
    /* no row state beyond the defaults; every scheme is named, so a new one
     * without its case fails the build (-Wswitch under -Werror) */
    case AD_SCHEME_NONE: case AD_SCHEME_STANDARD: case AD_SCHEME_MASKED: case AD_SCHEME_KEEPDIAG:
    case AD_SCHEME_RENORM: case AD_SCHEME_SYMMETRIC: case AD_SCHEME_WORD: case AD_SCHEME_EMBEDDING:
    case AD_SCHEME_COUNT: break;
    }
    return r;
}

/* Element j of the row: the multiplier of weight (i, j) (post-softmax
 * schemes) or 1 / 0 for a kept / masked logit (pre-softmax ones). */
AD_HD float ad_mask_at_hd(const ad_mask_row *r, int j) {
    uint64_t i = (uint64_t)r->i, T = (uint64_t)r->block_size;
    switch ((ad_scheme)r->scheme) { /* no default: a scheme without its case fails the build (-Wswitch) */
    case AD_SCHEME_STANDARD:
    case AD_SCHEME_RENORM: return ad_u32_hd(&r->rng, i * T + (uint64_t)j) >= r->thresh ? r->value : 0.0f;
    case AD_SCHEME_KEEPDIAG:
        if ((uint64_t)j == i) return 1.0f;
        return ad_u32_hd(&r->rng, i * T + (uint64_t)j) >= r->thresh ? r->value : 0.0f;
    case AD_SCHEME_MASKED: {
        uint64_t at = r->bidirectional ? i * T + (uint64_t)j : i * (i + 1) / 2 + (uint64_t)j;
        return ad_u32_hd(&r->rng, at) >= r->thresh ? r->value : 0.0f;
    }
    case AD_SCHEME_SYMMETRIC: {
        uint64_t lo = i < (uint64_t)j ? i : (uint64_t)j, hi = i < (uint64_t)j ? (uint64_t)j : i;
        return ad_u32_hd(&r->rng, hi * (hi + 1) / 2 + lo) >= r->thresh ? r->value : 0.0f;
    }
    case AD_SCHEME_NONZERO:
    case AD_SCHEME_DROPKEY:
        if (j < r->first) return 0.0f;
        if (j == r->first) return r->value;
        return ad_u32_hd(&r->rng, i * T + (uint64_t)j) >= r->thresh ? r->value : 0.0f;
    case AD_SCHEME_FIXEDCOUNT: return r->dropped[j] ? 0.0f : r->value;
    case AD_SCHEME_COLUMN:
    case AD_SCHEME_TOKEN: return ad_u32_hd(&r->rng, (uint64_t)j) >= r->thresh ? r->value : 0.0f;
    case AD_SCHEME_HEAD: return r->value;
    case AD_SCHEME_FCM:
        if (j == 0) return 1.0f;
        return ad_u32_hd(&r->rng, 2 + (uint64_t)j) >= r->thresh ? 1.0f : 0.0f;
    case AD_SCHEME_NONE: case AD_SCHEME_WORD: case AD_SCHEME_EMBEDDING: /* attention rows as they are */
    case AD_SCHEME_COUNT: return 1.0f;
    }
    return 1.0f; /* not a scheme: the callers' sites are checked (ad_drop_site_check) */
}

#endif
