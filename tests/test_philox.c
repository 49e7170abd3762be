/* test_philox.c - Philox4x32-10 against Random123's known-answer vectors, and
 * the properties attndrop relies on: draws are pure functions of their keys,
 * distinct purposes give distinct streams, and keep decisions keep 1-p. */
#include "attndrop.h"
#include "check.h"
#include <string.h>

static void kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t e0,
                uint32_t e1, uint32_t e2, uint32_t e3) {
    uint32_t ctr[4] = {c0, c1, c2, c3}, key[2] = {k0, k1}, out[4];
    ad_philox4x32(out, ctr, key);
    CHECK(out[0] == e0 && out[1] == e1 && out[2] == e2 && out[3] == e3,
          "philox(%08x %08x %08x %08x ; %08x %08x) = %08x %08x %08x %08x, expected %08x %08x %08x %08x", c0, c1, c2,
          c3, k0, k1, out[0], out[1], out[2], out[3], e0, e1, e2, e3);
}

int main(void) {
    /* Random123's kat_vectors for philox4x32_10 */
    kat(0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
    kat(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
        0x6d5451fd);
    kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
        0x24126ea1);

    /* the vectorised block function is the scalar one, lane by lane, across 2^32 wrap-around */
    /* and for every count 1..40, which covers its 16-, 8- and 4-lane paths and no write past n */
    uint32_t key[2] = {0x12345678u, 0x9abcdef0u}, blocks[4 * 41];
    int agree = 1, bounded = 1;
    for (int n = 1; n <= 40; n++) {
        blocks[4 * n] = 0xdeadbeefu;
        ad_philox4x32_blocks(blocks, 0xfffffff0u, 7, 8, 9, key, n);
        bounded &= blocks[4 * n] == 0xdeadbeefu;
        for (uint32_t i = 0; i < (uint32_t)n; i++) {
            uint32_t ctr[4] = {0xfffffff0u + i, 7, 8, 9}, o[4];
            ad_philox4x32(o, ctr, key);
            agree &= memcmp(o, blocks + 4 * i, sizeof o) == 0;
        }
    }
    CHECK(agree, "ad_philox4x32_blocks differs from ad_philox4x32");
    CHECK(bounded, "ad_philox4x32_blocks writes past its n blocks");

    /* purity: the same key and index give the same draw, in any order */
    ad_rng a = ad_rng_stream(1337, AD_RNG_ATTN, 5, 7, 3);
    uint32_t fwd[64], rev[64];
    for (int i = 0; i < 64; i++) fwd[i] = ad_rng_u32(&a, (uint64_t)i);
    for (int i = 63; i >= 0; i--) rev[i] = ad_rng_u32(&a, (uint64_t)i);
    int same = 1;
    for (int i = 0; i < 64; i++) same &= fwd[i] == rev[i];
    CHECK(same, "draws depend on the order they are made in");

    /* each part of the key changes the stream */
    ad_rng variants[6] = {ad_rng_stream(1338, AD_RNG_ATTN, 5, 7, 3), ad_rng_stream(1337, AD_RNG_RESID, 5, 7, 3),
                          ad_rng_stream(1337, AD_RNG_ATTN, 6, 7, 3), ad_rng_stream(1337, AD_RNG_ATTN, 5, 8, 3),
                          ad_rng_stream(1337, AD_RNG_ATTN, 5, 7, 4), ad_rng_stream(1337ull << 32, AD_RNG_ATTN, 5, 7, 3)};
    for (int v = 0; v < 6; v++) {
        int equal = 0;
        for (int i = 0; i < 64; i++) equal += ad_rng_u32(&variants[v], (uint64_t)i) == fwd[i];
        CHECK(equal < 3, "variant %d of the key repeats %d of 64 draws", v, equal);
    }

    /* the uniform lies in [0,1) with mean 1/2: n = 1e6, sd of the mean 2.9e-4, bound 6 sd */
    double sum = 0.0, lo = 1.0, hi = 0.0;
    for (int i = 0; i < 1000000; i++) {
        double u = ad_rng_uniform(&a, (uint64_t)i);
        sum += u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    CHECK(lo >= 0.0 && hi < 1.0 && fabs(sum / 1e6 - 0.5) < 6 * 2.9e-4, "uniform: mean %.6f range [%g, %g]", sum / 1e6, lo, hi);

    /* keep rate: threshold exact to 2^-32, and the observed rate within 6 sd */
    double ps[4] = {0.1, 0.2, 0.5, 0.9};
    for (int k = 0; k < 4; k++) {
        uint32_t t = ad_keep_threshold(ps[k]);
        double exact = 1.0 - (double)t / 4294967296.0;
        CHECK(fabs(exact - (1.0 - ps[k])) < 2.4e-10, "p=%g: exact keep rate %.12f", ps[k], exact);
        long kept = 0, n = 2000000;
        for (long i = 0; i < n; i++) kept += ad_rng_u32(&a, (uint64_t)i) >= t;
        double rate = (double)kept / n, sd = sqrt(ps[k] * (1 - ps[k]) / n);
        CHECK(fabs(rate - (1 - ps[k])) < 6 * sd, "p=%g: kept %.6f, expected %.6f (sd %.2g)", ps[k], rate, 1 - ps[k], sd);
    }
    CHECK(ad_keep_threshold(0.0) == 0, "p=0 must keep everything");
    return check_done("philox");
}
