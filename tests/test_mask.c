/* test_mask.c - the element-wise masks of src/schemes/mask.h (what the GPU kernels
 * regenerate) against the CPU's row functions, for every scheme, bit for
 * bit; and the row-at-a-time attention of src/model/attn_rows.h (the GPU's
 * algorithm: one pass over the keys with an online softmax, nothing of size
 * T x T) against the CPU kernels, forward and backward. */
#include "model/attn_rows.h"
#include "check.h"
#include "schemes/dropout.h"
#include "model/layers.h"
#include "schemes/mask.h"
#include <stdlib.h>
#include <string.h>

/* every element of every row of one site, against ad_attn_row_mult / _keep */
static int site_agrees(const ad_drop_site *s, int B, long *elements) {
    ad_attn_drop d = ad_attn_drop_make(s);
    int T = s->block_size, pre = ad_attn_drop_pre(&d), bad = 0;
    float row[64];
    unsigned char dropped[64];
    int idx[64];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < s->n_head; h++)
            for (int i = 0; i < T; i++) {
                int n = s->bidirectional ? T : i + 1;
                if (pre) ad_attn_row_keep(&d, b, h, i, row);
                else ad_attn_row_mult(&d, b, h, i, row);
                ad_mask_row r = ad_mask_row_begin_hd(s, s->row0 + b, h, i, n, dropped, idx);
                for (int j = 0; j < n; j++) {
                    float e = ad_mask_at_hd(&r, j);
                    if (memcmp(&e, &row[j], sizeof e) != 0) {
                        if (bad++ < 3)
                            printf("  %s p=%.2f b=%d h=%d i=%d j=%d: element %g, row %g\n",
                                   ad_scheme_get(s->scheme)->name, (double)s->p, b, h, i, j, (double)e, (double)row[j]);
                    }
                    (*elements)++;
                }
            }
    return bad == 0;
}

int main(void) {
    /* masks: every scheme, causal and bidirectional, three rates, split batches */
    const float rates[] = {0.1f, 0.5f, 0.9f};
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
        int ok = 1, active = 0;
        long elements = 0;
        for (int bi = 0; bi < 2; bi++)
            for (int r = 0; r < 3; r++) {
                ad_drop_site s = {(ad_scheme)sc, rates[r], 0x1234567890abcdefull + (uint64_t)r, 17u + (uint32_t)r, 2,
                                  3, 24, bi, bi ? 5 : 0};
                ad_attn_drop d = ad_attn_drop_make(&s);
                if (!ad_attn_drop_active(&d)) continue;
                active = 1;
                ok &= site_agrees(&s, 2, &elements);
            }
        if (!active) continue; /* none, word, embedding: nothing acts on attention rows */
        printf("%-11s %ld elements\n", ad_scheme_get((ad_scheme)sc)->name, elements);
        CHECK(ok, "%s: the element-wise mask differs from the row function", ad_scheme_get((ad_scheme)sc)->name);
    }

    /* attention by rows with an online softmax, against the CPU kernels: every scheme at p = 0.3,
     * T = 40 (the CPU kernel's blocks of 64 rows cover it whole) and T = 80 (two blocks) */
    for (int t_case = 0; t_case < 2; t_case++) {
        int B = 2, T = t_case ? 80 : 40, C = 48, H = 3;
        size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, nst = (size_t)B * H * T * 2;
        float *qkv = malloc(nq * sizeof(float)), *dout = malloc(no * sizeof(float));
        float *o_ref = malloc(no * sizeof(float)), *o_row = malloc(no * sizeof(float));
        float *st_ref = malloc(nst * sizeof(float)), *st_row = malloc(nst * sizeof(float));
        float *dq_ref = malloc(nq * sizeof(float)), *dq_row = malloc(nq * sizeof(float));
        float *scratch = malloc(AD_ATT_SCRATCH(T, C / H) * ad_get_threads() * sizeof(float));
        unsigned char *dropped = malloc((size_t)B * H * T * T);
        ad_rng g = ad_rng_stream(99, AD_RNG_TEST, 3, 0, 0);
        for (size_t k = 0; k < nq; k++) qkv[k] = (float)(2.0 * ad_rng_uniform(&g, k) - 1.0);
        for (size_t k = 0; k < no; k++) dout[k] = (float)(2.0 * ad_rng_uniform(&g, nq + k) - 1.0);
        double worst_o = 0, worst_d = 0;
        int stats_ok = 1;
        for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
            ad_drop_site s = {(ad_scheme)sc, 0.3f, 77, 5, 1, H, T, 0, 0};
            ad_attn_drop d = ad_attn_drop_make(&s);
            const ad_attn_drop *dp = ad_attn_drop_active(&d) ? &d : NULL;
            ad_k_attention_fwd_f(o_ref, st_ref, scratch, qkv, NULL, dp, B, T, C, H, ad_get_threads());
            ad_k_attention_bwd_f(dq_ref, scratch, dout, qkv, st_ref, dp, B, T, C, H, ad_get_threads());
            if (dp && s.scheme == AD_SCHEME_FIXEDCOUNT) ad_fixedcount_masks_hd(dropped, &s, B, T);
            ad_rows_attention_fwd(o_row, st_row, qkv, dp ? &s : NULL, dropped, B, T, C, H);
            ad_rows_attention_bwd(dq_row, dout, qkv, o_row, st_row, dp ? &s : NULL, dropped, B, T, C, H);
            double eo = rel_err(o_row, o_ref, no, 1e-6), ed = rel_err(dq_row, dq_ref, nq, 1e-6);
            for (size_t k = 0; k < nst; k += 2) { /* the same rows are zero; the same maxima */
                int zr = st_ref[k] == -INFINITY, zw = st_row[k] == -INFINITY;
                stats_ok &= zr == zw && (zr || fabs(st_ref[k] - st_row[k]) <= 1e-6 * fmax(1, fabs(st_ref[k])));
            }
            printf("T=%d %-11s out %.2g  dqkv %.2g\n", T, ad_scheme_get((ad_scheme)sc)->name, eo, ed);
            CHECK(eo < 2e-6 && ed < 2e-5, "T=%d %s: row attention differs from the kernels (out %.3g, dqkv %.3g)", T,
                  ad_scheme_get((ad_scheme)sc)->name, eo, ed);
            worst_o = fmax(worst_o, eo);
            worst_d = fmax(worst_d, ed);
        }
        CHECK(stats_ok, "T=%d: the row attention's statistics differ from the kernels'", T);
        printf("T=%d: worst over the schemes: out %.2g, dqkv %.2g (max-normalised)\n", T, worst_o, worst_d);
        free(qkv); free(dout); free(o_ref); free(o_row); free(st_ref); free(st_row);
        free(dq_ref); free(dq_row); free(scratch); free(dropped);
    }
    /* what the GPU's code knows of a scheme without the table: where it acts */
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++)
        CHECK(ad_mask_pre_hd(sc) == (ad_scheme_get((ad_scheme)sc)->where == AD_WHERE_PRE),
              "%s: mask.h's ad_mask_pre_hd disagrees with the scheme table", ad_scheme_get((ad_scheme)sc)->name);
    /* the device's streams are the host's, batch rows past 2^24 (row0) included: the purpose keeps its byte */
    int same = 1;
    for (uint32_t c = (1u << 24) - 2; c < (1u << 24) + 2; c++) {
        ad_rng a = ad_rng_stream(9, AD_RNG_ATTN, 1, 2, c), b = ad_stream_hd(9, AD_RNG_ATTN, 1, 2, c);
        same &= a.ctr3 == b.ctr3 && a.ctr3 >> 24 == AD_RNG_ATTN && ad_rng_u32(&a, 5) == ad_u32_hd(&b, 5);
    }
    CHECK(same, "mask.h's ad_stream_hd differs from ad_rng_stream past 2^24");
    return check_done("mask");
}
