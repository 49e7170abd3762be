/* sdpa.c - the general fused attention as a public op (ad_sdpa_forward,
 * ad_sdpa_backward): argument checks, the site's dropout descriptor, then the
 * kernels of sdpa.inc in the tensors' own precision. */
#include "layers.h"
#include "../schemes/mask.h"
#include "poly_exp.h"
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define REAL float
#define SFX(name) name##_f
#define AD_KERNEL(float_name, double_name) float_name
#define GEMM cblas_sgemm
#define EXP ad_poly_expf
#include "sdpa.inc"
#undef REAL
#undef SFX
#undef AD_KERNEL
#undef GEMM
#undef EXP

#define REAL double
#define SFX(name) name##_d
#define AD_KERNEL(float_name, double_name) double_name
#define GEMM cblas_dgemm
#define EXP exp
#include "sdpa.inc"

static size_t elem_size(const ad_sdpa_shape *z) { return z->dtype == AD_DTYPE_F64 ? sizeof(double) : sizeof(float); }

static ad_status check_shape(const ad_sdpa_shape *z, ad_error *err) {
    if (!z) return ad_fail(err, AD_ERR_ARG, "attention: shape is NULL");
    if (z->B < 1 || z->H < 1 || z->H_kv < 1 || z->T_q < 1 || z->T_k < 1 || z->D < 1 || z->D_v < 1 ||
        z->T_q > AD_MAX_BLOCK || z->T_k > AD_MAX_BLOCK || z->H > 4096 || z->D > 65536 || z->D_v > 65536)
        return ad_fail(err, AD_ERR_ARG,
                       "attention: sizes B=%d H=%d H_kv=%d T_q=%d T_k=%d D=%d D_v=%d out of range (T_q, T_k <= %d)",
                       z->B, z->H, z->H_kv, z->T_q, z->T_k, z->D, z->D_v, AD_MAX_BLOCK);
    if (z->H % z->H_kv)
        return ad_fail(err, AD_ERR_ARG, "attention: %d query heads are not a multiple of %d key/value heads", z->H,
                       z->H_kv);
    if (z->causal != 0 && z->causal != 1) return ad_fail(err, AD_ERR_ARG, "attention: causal must be 0 or 1, got %d", z->causal);
    if (z->dtype != AD_DTYPE_F32 && z->dtype != AD_DTYPE_F64)
        return ad_fail(err, AD_ERR_ARG, "attention: dtype %d is neither AD_DTYPE_F32 nor AD_DTYPE_F64", z->dtype);
    if (!isfinite(z->scale)) return ad_fail(err, AD_ERR_ARG, "attention: scale %g is not finite", z->scale);
    return AD_OK;
}

size_t ad_sdpa_scratch_bytes(const ad_sdpa_shape *z, int threads) {
    if (check_shape(z, NULL) || threads < 1 || threads > 4096) return 0;
    return AD_SDPA_SCRATCH(z->T_q, z->T_k) * elem_size(z) * (size_t)threads;
}

static ad_status check_view(const char *name, const ad_sdpa_view *x, int width, ad_error *err) {
    if (!x->data) return ad_fail(err, AD_ERR_ARG, "attention: %s is NULL", name);
    if (x->stride_t < width || x->stride_t > INT_MAX || x->stride_b < 0 || x->stride_h < 0)
        return ad_fail(err, AD_ERR_ARG, "attention: %s's strides (%lld, %lld, %lld) do not hold rows of %d contiguous elements",
                       name, (long long)x->stride_b, (long long)x->stride_h, (long long)x->stride_t, width);
    return AD_OK;
}

/* The checks both directions share: the shape, the mask, stats, the site and the scratch. */
static ad_status prepare(const ad_sdpa_shape *z, const ad_sdpa_mask *mask, const void *stats, const ad_drop_site *site,
                         const void *scratch, size_t scratch_bytes, ad_attn_drop *drop, int *n_scratch,
                         ad_error *err) {
    ad_status st = check_shape(z, err);
    if (st) return st;
    if (mask && mask->data &&
        (mask->stride_b < 0 || mask->stride_h < 0 || mask->stride_q < 0 || mask->stride_k < 0 ||
         mask->stride_q > INT64_MAX / AD_MAX_BLOCK || mask->stride_k > INT64_MAX / AD_MAX_BLOCK))
        return ad_fail(err, AD_ERR_ARG, "attention: the mask's strides (%lld, %lld, %lld, %lld) are not broadcast strides",
                       (long long)mask->stride_b, (long long)mask->stride_h, (long long)mask->stride_q,
                       (long long)mask->stride_k);
    if (!stats) return ad_fail(err, AD_ERR_ARG, "attention: stats is NULL");
    int T = z->T_q > z->T_k ? z->T_q : z->T_k;
    ad_drop_site s = ad_site_none_hd(z->H, T);
    if (site) {
        s = *site;
        if (s.n_head == 0) s.n_head = z->H;
        if (s.block_size == 0) s.block_size = T;
        if (s.n_head != z->H || s.block_size != T)
            return ad_fail(err, AD_ERR_ARG,
                           "attention: the site is for n_head %d and block_size %d, the tensors have %d and max(T_q, T_k) %d",
                           s.n_head, s.block_size, z->H, T);
        s.bidirectional = !z->causal;
        st = ad_drop_site_check(&s, err);
        if (st) return st;
        if (s.row0 > INT32_MAX - (z->B - 1))
            return ad_fail(err, AD_ERR_ARG, "attention: row0 %d plus the batch's %d rows is beyond %d", s.row0, z->B,
                           INT32_MAX);
        if (ad_scheme_get(s.scheme)->where == AD_WHERE_INPUT && s.p > 0.0f)
            return ad_fail(err, AD_ERR_ARG, "attention: scheme %s acts on the token embeddings, not on attention",
                           ad_scheme_get(s.scheme)->name);
    }
    *drop = ad_attn_drop_make(&s);
    size_t one = AD_SDPA_SCRATCH(z->T_q, z->T_k) * elem_size(z);
    if (!scratch || scratch_bytes < one)
        return ad_fail(err, AD_ERR_ARG, "attention: scratch of %zu bytes, one thread needs %zu", scratch ? scratch_bytes : 0,
                       one);
    size_t slots = scratch_bytes / one;
    *n_scratch = slots > 4096 ? 4096 : (int)slots;
    return AD_OK;
}

static void layout_of(ad_sdpa_layout *L, const ad_sdpa_view *q, const ad_sdpa_view *k, const ad_sdpa_view *v,
                      const ad_sdpa_view *o, const ad_sdpa_mask *m) {
    const ad_sdpa_view *x[4] = {q, k, v, o};
    int64_t *dst[4] = {L->q, L->k, L->v, L->o};
    for (int i = 0; i < 4; i++) {
        dst[i][0] = x[i]->stride_b;
        dst[i][1] = x[i]->stride_h;
        dst[i][2] = x[i]->stride_t;
    }
    L->m[0] = m ? m->stride_b : 0;
    L->m[1] = m ? m->stride_h : 0;
    L->m[2] = m ? m->stride_q : 0;
    L->m[3] = m ? m->stride_k : 0;
}

ad_status ad_sdpa_forward(const ad_sdpa_shape *z, ad_sdpa_view out, void *stats, ad_sdpa_view q, ad_sdpa_view k,
                          ad_sdpa_view v, const ad_sdpa_mask *mask, const ad_drop_site *site, void *scratch,
                          size_t scratch_bytes, ad_error *err) {
    ad_attn_drop drop;
    int n_scratch = 1;
    ad_status st = prepare(z, mask, stats, site, scratch, scratch_bytes, &drop, &n_scratch, err);
    if (!st) st = check_view("q", &q, z->D, err);
    if (!st) st = check_view("k", &k, z->D, err);
    if (!st) st = check_view("v", &v, z->D_v, err);
    if (!st) st = check_view("out", &out, z->D_v, err);
    if (st) return st;
    ad_sdpa_layout L;
    const ad_sdpa_mask *m = mask && mask->data ? mask : NULL;
    layout_of(&L, &q, &k, &v, &out, m);
    if (z->dtype == AD_DTYPE_F64)
        ad_k_sdpa_fwd_d(out.data, stats, scratch, q.data, k.data, v.data, m ? m->data : NULL, &L, &drop, z, n_scratch);
    else
        ad_k_sdpa_fwd_f(out.data, stats, scratch, q.data, k.data, v.data, m ? m->data : NULL, &L, &drop, z, n_scratch);
    return AD_OK;
}

ad_status ad_sdpa_backward(const ad_sdpa_shape *z, ad_sdpa_view dq, ad_sdpa_view dk, ad_sdpa_view dv,
                           ad_sdpa_view dout, ad_sdpa_view q, ad_sdpa_view k, ad_sdpa_view v, const ad_sdpa_mask *mask,
                           const void *stats, const ad_drop_site *site, void *scratch, size_t scratch_bytes,
                           ad_error *err) {
    ad_attn_drop drop;
    int n_scratch = 1;
    ad_status st = prepare(z, mask, stats, site, scratch, scratch_bytes, &drop, &n_scratch, err);
    if (st) return st;
    const char *names[7] = {"q", "k", "v", "dout", "dq", "dk", "dv"};
    const ad_sdpa_view *views[7] = {&q, &k, &v, &dout, &dq, &dk, &dv};
    int widths[7] = {z->D, z->D, z->D_v, z->D_v, z->D, z->D, z->D_v};
    for (int i = 0; i < 7 && !st; i++) st = check_view(names[i], views[i], widths[i], err);
    if (st) return st;
    ad_sdpa_layout L, Dl;
    const ad_sdpa_mask *m = mask && mask->data ? mask : NULL;
    layout_of(&L, &q, &k, &v, &dout, m);
    layout_of(&Dl, &dq, &dk, &dv, &dout, m);
    if (z->dtype == AD_DTYPE_F64)
        ad_k_sdpa_bwd_d(dq.data, dk.data, dv.data, scratch, dout.data, q.data, k.data, v.data, m ? m->data : NULL, stats,
                        &L, &Dl, &drop, z, n_scratch);
    else
        ad_k_sdpa_bwd_f(dq.data, dk.data, dv.data, scratch, dout.data, q.data, k.data, v.data, m ? m->data : NULL, stats,
                        &L, &Dl, &drop, z, n_scratch);
    return AD_OK;
}
