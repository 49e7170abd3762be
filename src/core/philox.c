/* philox.c - the Philox4x32-10 counter-based generator and the keyed streams
 * that every random draw of attndrop comes from. */
#include "internal.h"
#include "dispatch.h"
#include "../schemes/mask.h"
#include <math.h>

void ad_philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]) {
    ad_philox_hd(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
}

ad_rng ad_rng_stream(uint64_t seed, ad_rng_purpose purpose, uint32_t a, uint32_t b, uint32_t c) {
    return ad_stream_hd(seed, (uint32_t)purpose, a, b, c); /* mask.h: the same stream on the GPU */
}

uint32_t ad_rng_u32(const ad_rng *r, uint64_t i) {
    uint32_t ctr[4] = {(uint32_t)(i >> 2), r->ctr1, r->ctr2, r->ctr3};
    uint32_t out[4];
    ad_philox4x32(out, ctr, r->key);
    return out[i & 3];
}

double ad_rng_uniform(const ad_rng *r, uint64_t i) {
    uint32_t hi = ad_rng_u32(r, 2 * i) >> 5;      /* 27 bits */
    uint32_t lo = ad_rng_u32(r, 2 * i + 1) >> 6;  /* 26 bits */
    return ((double)hi * 67108864.0 + (double)lo) * (1.0 / 9007199254740992.0);
}

double ad_rng_normal(const ad_rng *r, uint64_t i) {
    double u1 = 1.0 - ad_rng_uniform(r, 2 * i);   /* (0,1]: log is finite */
    double u2 = ad_rng_uniform(r, 2 * i + 1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t ad_keep_threshold(double p) {
    if (!(p > 0.0)) return 0; /* NaN too */
    if (p >= 1.0) return UINT32_MAX;
    return (uint32_t)floor(p * 4294967296.0);
}

/* Blocks base..base+lanes-1 (lanes a compile-time constant after inlining),
 * the first m of them stored. Written lane-parallel so that the compiler
 * vectorises it: this is what mask generation spends its time in. The rounds
 * are mask.h's AD_PHILOX_ROUNDS expanded in place (calling ad_philox_hd here
 * stops the vectorisation); test_philox checks the blocks against the scalar
 * function for every count of blocks 1..40. */
static inline void philox_lanes(uint32_t *out, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                const uint32_t key[2], int base, int lanes, int m) {
    uint32_t x0[16], x1[16], x2[16], x3[16];
#pragma omp simd
    for (int l = 0; l < lanes; l++) {
        uint32_t a0 = c0 + (uint32_t)(base + l), a1 = c1, a2 = c2, a3 = c3;
        uint32_t k0 = key[0], k1 = key[1];
        AD_PHILOX_ROUNDS(a0, a1, a2, a3, k0, k1) /* mask.h: the rounds, shared with the scalar and GPU code */
        x0[l] = a0; x1[l] = a1; x2[l] = a2; x3[l] = a3;
    }
    for (int l = 0; l < m; l++) {
        uint32_t *o = out + 4 * (size_t)(base + l);
        o[0] = x0[l]; o[1] = x1[l]; o[2] = x2[l]; o[3] = x3[l];
    }
}

/* n consecutive blocks: counters (c0 + i, c1, c2, c3) for i < n, words i*4..i*4+3
 * of out; 16 lanes at a time, and 8 or 4 for the rest (short attention rows
 * need only a few blocks). */
AD_HOT void ad_philox4x32_blocks(uint32_t *out, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                          const uint32_t key[2], int n) {
    int base = 0;
    for (; n - base > 8; base += 16) philox_lanes(out, c0, c1, c2, c3, key, base, 16, n - base < 16 ? n - base : 16);
    if (n - base > 4) philox_lanes(out, c0, c1, c2, c3, key, base, 8, n - base);
    else if (n - base > 0) philox_lanes(out, c0, c1, c2, c3, key, base, 4, n - base);
}
