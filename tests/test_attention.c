/* test_attention.c - the public fused attention (ad_attention_forward and
 * _backward) on strided (B,H,T,D) views: on views into gpt.py's packed qkv
 * layout it gives the model kernel's bits, forward and backward, for every
 * attention scheme; on contiguous copies of the same tensors the same bits
 * again (strides change addresses, not arithmetic); 1 and 3 threads agree bit
 * for bit; a different scale is the same as scaled queries; bad arguments are
 * a status and a message. */
#include "check.h"
#include "model/layers.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { B = 2, H = 3, T = 70, D = 8, C = H * D };

static float frand(ad_rng *r, uint64_t *i) { return (float)(2.0 * ad_rng_uniform(r, (*i)++) - 1.0); }

/* x (B,T,3C) packed, part 0/1/2 = q/k/v, as a (B,H,T,D) view */
static ad_view packed(float *x, int part) {
    ad_view v = {x + part * C, (int64_t)T * 3 * C, D, 3 * C};
    return v;
}
static ad_view contiguous(float *x) {
    ad_view v = {x, (int64_t)H * T * D, (int64_t)T * D, D};
    return v;
}
/* copy a packed part into (B,H,T,D) */
static void gather(float *dst, const float *qkv, int part) {
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++)
                memcpy(dst + (((size_t)b * H + h) * T + t) * D, qkv + ((size_t)b * T + t) * 3 * C + part * C + h * D,
                       D * sizeof(float));
}

int main(void) {
    ad_rng r = ad_rng_stream(11, AD_RNG_TEST, 3, 0, 0);
    uint64_t ri = 0;
    size_t nqkv = (size_t)B * T * 3 * C, nbh = (size_t)B * H * T * D;
    float *qkv = malloc(nqkv * 4), *dout_p = malloc((size_t)B * T * C * 4), *out_ref = malloc((size_t)B * T * C * 4);
    float *dqkv_ref = malloc(nqkv * 4), *st_ref = malloc((size_t)B * H * T * 2 * 4);
    float *qc = malloc(nbh * 4), *kc = malloc(nbh * 4), *vc = malloc(nbh * 4), *gc = malloc(nbh * 4);
    float *o1 = malloc(nbh * 4), *o2 = malloc(nbh * 4), *st1 = malloc((size_t)B * H * T * 2 * 4);
    float *dq = malloc(nbh * 4), *dk = malloc(nbh * 4), *dv = malloc(nbh * 4), *dq2 = malloc(nbh * 4);
    float *dk2 = malloc(nbh * 4), *dv2 = malloc(nbh * 4), *dqkv = malloc(nqkv * 4);
    size_t ns = ad_attention_scratch_floats(T, D, 3);
    float *scr = malloc(ns * 4);
    for (size_t i = 0; i < nqkv; i++) qkv[i] = frand(&r, &ri);
    for (size_t i = 0; i < (size_t)B * T * C; i++) dout_p[i] = frand(&r, &ri);
    gather(qc, qkv, 0); gather(kc, qkv, 1); gather(vc, qkv, 2);
    for (int b = 0; b < B; b++) /* dout as (B,H,T,D) */
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++)
                memcpy(gc + (((size_t)b * H + h) * T + t) * D, dout_p + ((size_t)b * T + t) * C + h * D, D * 4);
    ad_view gp = {dout_p, (int64_t)T * C, D, C}; /* dout in the model's (B,T,C) layout */
    float scale = 1.0f / sqrtf((float)D);
    ad_error e;
    int schemes = 0, same_fwd = 0, same_bwd = 0, same_copy = 0;
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
        if (ad_scheme_get((ad_scheme)sc)->where == AD_WHERE_INPUT) continue;
        schemes++;
        ad_drop_site site = {(ad_scheme)sc, 0.3f, 77, 5, 1, H, T, 0, 2};
        ad_attn_drop drop = ad_attn_drop_make(&site);
        ad_k_attention_fwd_f(out_ref, st_ref, scr, qkv, NULL, &drop, B, T, C, H, 3);
        ad_k_attention_bwd_f(dqkv_ref, scr, dout_p, qkv, st_ref, &drop, B, T, C, H, 3);
        /* views into the packed buffers, the output into the (B,T,C) layout */
        ad_view out_view = {o2, (int64_t)T * C, D, C};
        CHECK(ad_attention_forward(out_view, st1, packed(qkv, 0), packed(qkv, 1), packed(qkv, 2), B, H, T, D, scale, &site,
                                   scr, ns, &e) == AD_OK, "%s", e.msg);
        same_fwd += memcmp(o2, out_ref, (size_t)B * T * C * 4) == 0 && memcmp(st1, st_ref, (size_t)B * H * T * 8) == 0;
        CHECK(ad_attention_backward(packed(dqkv, 0), packed(dqkv, 1), packed(dqkv, 2), gp, packed(qkv, 0), packed(qkv, 1),
                                    packed(qkv, 2), st1, B, H, T, D, scale, &site, scr, ns, &e) == AD_OK, "%s", e.msg);
        same_bwd += memcmp(dqkv, dqkv_ref, nqkv * 4) == 0;
        /* contiguous copies, n_head and block_size left to the shapes (0) */
        ad_drop_site s0 = site;
        s0.n_head = 0; s0.block_size = 0;
        CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale,
                                   &s0, scr, ns, &e) == AD_OK, "%s", e.msg);
        CHECK(ad_attention_backward(contiguous(dq), contiguous(dk), contiguous(dv), contiguous(gc), contiguous(qc),
                                    contiguous(kc), contiguous(vc), st1, B, H, T, D, scale, &s0, scr, ns, &e) == AD_OK,
              "%s", e.msg);
        float *ref_o = malloc(nbh * 4), *ref_q = malloc(nbh * 4), *ref_k = malloc(nbh * 4), *ref_v = malloc(nbh * 4);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                    memcpy(ref_o + (((size_t)b * H + h) * T + t) * D, out_ref + ((size_t)b * T + t) * C + h * D, D * 4);
        gather(ref_q, dqkv_ref, 0); gather(ref_k, dqkv_ref, 1); gather(ref_v, dqkv_ref, 2);
        same_copy += memcmp(o1, ref_o, nbh * 4) == 0 && memcmp(dq, ref_q, nbh * 4) == 0 &&
                     memcmp(dk, ref_k, nbh * 4) == 0 && memcmp(dv, ref_v, nbh * 4) == 0;
        free(ref_o); free(ref_q); free(ref_k); free(ref_v);
    }
    printf("attention: %d schemes; packed views give the model kernel's bits: forward %d, backward %d; contiguous "
           "copies %d\n", schemes, same_fwd, same_bwd, same_copy);
    CHECK(same_fwd == schemes && same_bwd == schemes && same_copy == schemes, "strided attention differs from the model's");

    /* one scratch slot (one thread) against three: the same bits */
    ad_drop_site site = {AD_SCHEME_STANDARD, 0.2f, 1, 0, 0, 0, 0, 0, 0};
    CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale,
                               &site, scr, ad_attention_scratch_floats(T, D, 1), &e) == AD_OK, "%s", e.msg);
    CHECK(ad_attention_backward(contiguous(dq), contiguous(dk), contiguous(dv), contiguous(gc), contiguous(qc),
                                contiguous(kc), contiguous(vc), st1, B, H, T, D, scale, &site, scr,
                                ad_attention_scratch_floats(T, D, 1), &e) == AD_OK, "%s", e.msg);
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    omp_set_num_threads(3);
#endif
    CHECK(ad_attention_forward(contiguous(o2), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale,
                               &site, scr, ns, &e) == AD_OK, "%s", e.msg);
    CHECK(ad_attention_backward(contiguous(dq2), contiguous(dk2), contiguous(dv2), contiguous(gc), contiguous(qc),
                                contiguous(kc), contiguous(vc), st1, B, H, T, D, scale, &site, scr, ns, &e) == AD_OK,
          "%s", e.msg);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    CHECK(memcmp(o1, o2, nbh * 4) == 0 && memcmp(dq, dq2, nbh * 4) == 0 && memcmp(dk, dk2, nbh * 4) == 0 &&
          memcmp(dv, dv2, nbh * 4) == 0, "1 and 3 threads differ");

    /* a NaN in a query row makes that row's output NaN (its max once passed over the NaN and the row came out as
     * an exact zero, a dropped row); a row whose every key scores -inf is 0/0, NaN too, as PyTorch's softmax */
    {
        float *q2 = malloc(nbh * 4), *k2 = malloc(nbh * 4);
        memcpy(q2, qc, nbh * 4);
        memcpy(k2, kc, nbh * 4);
        size_t r0 = ((size_t)0 * H + 0) * T + 3, r1 = ((size_t)0 * H + 1) * T + 2; /* (b, h, i) = (0, 0, 3), (0, 1, 2) */
        q2[r0 * D + 1] = NAN;
        for (int d = 0; d < D; d++) q2[r1 * D + d] = 1.0f;
        for (int t = 0; t <= 2; t++)
            for (int d = 0; d < D; d++) k2[(((size_t)0 * H + 1) * T + t) * D + d] = -INFINITY;
        CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(q2), contiguous(k2), contiguous(vc), B, H, T, D, scale,
                                   NULL, scr, ns, &e) == AD_OK, "%s", e.msg);
        int nan0 = 1, nan1 = 1, finite = 1;
        for (int d = 0; d < D; d++) { nan0 &= isnan(o1[r0 * D + d]); nan1 &= isnan(o1[r1 * D + d]); }
        for (int t = 0; t < T; t++) /* head (0, 0)'s other rows are untouched */
            for (int d = 0; d < D && t != 3; d++) finite &= isfinite(o1[(size_t)t * D + d]);
        CHECK(nan0 && isnan(st1[2 * r0]), "a NaN query row came out as numbers (max %g)", (double)st1[2 * r0]);
        CHECK(nan1, "a row of -inf scores came out as numbers");
        CHECK(finite, "a NaN in one row reached another");
        /* and the same through the model's kernel under a pre-softmax scheme that drops keys: still NaN */
        ad_drop_site ks = {AD_SCHEME_DROPKEY, 0.3f, 5, 1, 0, H, T, 0, 0};
        CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(q2), contiguous(k2), contiguous(vc), B, H, T, D, scale,
                                   &ks, scr, ns, &e) == AD_OK, "%s", e.msg);
        nan0 = 1;
        for (int d = 0; d < D; d++) nan0 &= isnan(o1[r0 * D + d]);
        CHECK(nan0, "a NaN query row under dropkey came out as numbers");
        free(q2);
        free(k2);
    }

    /* row0 near INT_MAX: the last batch row's mask row would overflow an int; refused, not undefined */
    {
        ad_drop_site big = {AD_SCHEME_STANDARD, 0.2f, 1, 0, 0, 0, 0, 0, INT32_MAX - (B - 2)};
        CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale,
                                   &big, scr, ns, &e) == AD_ERR_ARG && strstr(e.msg, "row0"), "row0 INT_MAX - (B - 2) with B=%d: %s", B, e.msg);
        big.row0 = INT32_MAX - (B - 1);
        CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale,
                                   &big, scr, ns, &e) == AD_OK, "row0 INT_MAX - (B - 1): %s", e.msg);
    }

    /* scale: attention of q with scale s is attention of s' q... checked to float rounding: 2 x the queries, scale/2 */
    {
        float *q2 = malloc(nbh * 4);
        for (size_t i = 0; i < nbh; i++) q2[i] = 2.0f * qc[i];
        CHECK(ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, 0.7f,
                                   NULL, scr, ns, &e) == AD_OK, "%s", e.msg);
        CHECK(ad_attention_forward(contiguous(o2), st1, contiguous(q2), contiguous(kc), contiguous(vc), B, H, T, D, 0.35f,
                                   NULL, scr, ns, &e) == AD_OK, "%s", e.msg);
        CHECK(memcmp(o1, o2, nbh * 4) == 0, "scale 0.7 on q differs from 0.35 on 2q (both exact in binary)");
        free(q2);
    }

    /* bad arguments */
    ad_view bad = contiguous(qc), null = {NULL, 0, 0, 0};
    bad.stride_t = D - 1;
    ad_drop_site word = {AD_SCHEME_WORD, 0.2f, 1, 0, 0, 0, 0, 0, 0}, wrongh = site, big_p = site;
    wrongh.n_head = H + 1;
    big_p.p = 1.0f;
    struct { const char *what; ad_status st; } cases[] = {
        {"T = 0", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, 0, D, scale, NULL, scr, ns, &e)},
        {"T past AD_MAX_BLOCK", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, AD_MAX_BLOCK + 1, D, scale, NULL, scr, ns, &e)},
        {"NULL q", ad_attention_forward(contiguous(o1), st1, null, contiguous(kc), contiguous(vc), B, H, T, D, scale, NULL, scr, ns, &e)},
        {"row stride below D", ad_attention_forward(contiguous(o1), st1, bad, contiguous(kc), contiguous(vc), B, H, T, D, scale, NULL, scr, ns, &e)},
        {"scale NaN", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, NAN, NULL, scr, ns, &e)},
        {"scratch too small", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale, NULL, scr, 10, &e)},
        {"word scheme", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale, &word, scr, ns, &e)},
        {"site of other heads", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale, &wrongh, scr, ns, &e)},
        {"p = 1", ad_attention_forward(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D, scale, &big_p, scr, ns, &e)},
        {"NULL stats (backward)", ad_attention_backward(contiguous(dq), contiguous(dk), contiguous(dv), contiguous(gc), contiguous(qc), contiguous(kc), contiguous(vc), NULL, B, H, T, D, scale, NULL, scr, ns, &e)},
        {"NULL dk (backward)", ad_attention_backward(contiguous(dq), null, contiguous(dv), contiguous(gc), contiguous(qc), contiguous(kc), contiguous(vc), st1, B, H, T, D, scale, NULL, scr, ns, &e)},
    };
    /* the masks alone: post-softmax multipliers are ad_drop_row's on weights of one */
    {
        ad_drop_site ms = {AD_SCHEME_NONZERO, 0.4f, 5, 3, 1, 2, 9, 0, 1};
        float *mk = malloc((size_t)2 * 2 * 9 * 9 * 4);
        CHECK(ad_attention_masks(mk, &ms, 2, &e) == AD_OK, "%s", e.msg);
        int same = 1;
        double ones[9], row[9];
        for (int j = 0; j < 9; j++) ones[j] = 1.0;
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 9; i++) {
                    MUST(ad_drop_row(&ms, b, h, i, ones, i + 1, row, &must_err));
                    for (int j = 0; j < 9; j++)
                        same &= mk[(((size_t)b * 2 + h) * 9 + i) * 9 + j] == (j <= i ? (float)row[j] : 0.0f);
                }
        CHECK(same, "ad_attention_masks differs from ad_drop_row");
        CHECK(ad_attention_masks(NULL, &ms, 2, &e) == AD_ERR_ARG && ad_attention_masks(mk, &ms, 0, &e) == AD_ERR_ARG,
              "ad_attention_masks with NULL out or B = 0 accepted");
        free(mk);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(cases[i].st == AD_ERR_ARG, "attention with %s: status %d", cases[i].what, (int)cases[i].st);
#ifndef AD_CUDA
    /* the device op in a build without CUDA: a device error saying so, for valid arguments too */
    CHECK(ad_attention_forward_cuda(contiguous(o1), st1, contiguous(qc), contiguous(kc), contiguous(vc), B, H, T, D,
                                    scale, &site, NULL, 0, NULL, &e) == AD_ERR_DEVICE && strstr(e.msg, "without CUDA"),
          "the CUDA op in a CPU build: %s", e.msg);
    CHECK(ad_attention_backward_cuda(contiguous(dq), contiguous(dk), contiguous(dv), contiguous(gc), contiguous(qc),
                                     contiguous(kc), contiguous(vc), contiguous(o1), st1, B, H, T, D, scale, &site,
                                     NULL, 0, NULL, &e) == AD_ERR_DEVICE && strstr(e.msg, "without CUDA"),
          "the CUDA backward in a CPU build: %s", e.msg);
    CHECK(ad_attention_cuda_scratch_bytes(&site, B, H, T) == 0, "standard needs no device scratch");
#endif
    free(qkv); free(dout_p); free(out_ref); free(dqkv_ref); free(st_ref); free(qc); free(kc); free(vc); free(gc);
    free(o1); free(o2); free(st1); free(dq); free(dk); free(dv); free(dq2); free(dk2); free(dv2); free(dqkv); free(scr);
    return check_done("attention");
}
