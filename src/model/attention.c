/* attention.c - the fused causal attention as a public op on strided
 * (B,H,T,D) tensors (ad_attention_forward/_backward): argument checks, the
 * site's dropout descriptor, then the strided kernels of layers.inc, which
 * the model runs on its packed qkv layout. */
#include "layers.h"
#include "../schemes/mask.h"
#ifdef AD_CUDA
#include "../gpu/ad_cuda.h"
#endif
#include <limits.h>
#include <math.h>

size_t ad_attention_scratch_floats(int T, int D, int threads) {
    if (T < 1 || D < 1 || threads < 1) return 0;
    return AD_ATT_SCRATCH(T, D) * (size_t)threads;
}

static ad_status check_view(const char *name, const ad_view *x, int D, ad_error *err) {
    if (!x->data) return ad_fail(err, AD_ERR_ARG, "attention: %s is NULL", name);
    if (x->stride_t < D || x->stride_t > INT_MAX || x->stride_b < 0 || x->stride_h < 0)
        return ad_fail(err, AD_ERR_ARG, "attention: %s's strides (%lld, %lld, %lld) do not hold rows of %d contiguous floats",
                       name, (long long)x->stride_b, (long long)x->stride_h, (long long)x->stride_t, D);
    return AD_OK;
}

/* The checks every direction and device shares, and the dropout descriptor. */
static ad_status prepare_site(int B, int H, int T, int D, float scale, const ad_drop_site *site, const float *stats,
                              ad_attn_drop *drop, ad_error *err) {
    if (B < 1 || H < 1 || T < 1 || D < 1 || T > AD_MAX_BLOCK || H > 4096 || D > 65536)
        return ad_fail(err, AD_ERR_ARG, "attention: sizes B=%d H=%d T=%d D=%d out of range (T <= %d)", B, H, T, D,
                       AD_MAX_BLOCK);
    if (!(isfinite(scale) && scale > 0.0f)) return ad_fail(err, AD_ERR_ARG, "attention: scale %g is not finite and > 0", (double)scale);
    if (!stats) return ad_fail(err, AD_ERR_ARG, "attention: stats is NULL");
    ad_drop_site s = ad_site_none_hd(H, T);
    if (site) {
        s = *site;
        if (s.n_head == 0) s.n_head = H;
        if (s.block_size == 0) s.block_size = T;
        if (s.n_head != H || s.block_size != T)
            return ad_fail(err, AD_ERR_ARG, "attention: the site is for n_head %d and block_size %d, the tensors have %d and %d",
                           s.n_head, s.block_size, H, T);
        if (s.bidirectional) return ad_fail(err, AD_ERR_ARG, "attention: only causal attention is fused (bidirectional asked)");
        ad_status st = ad_drop_site_check(&s, err);
        if (st) return st;
        if (s.row0 > INT32_MAX - (B - 1)) /* the last batch row's mask is row row0 + B - 1's: an int */
            return ad_fail(err, AD_ERR_ARG, "attention: row0 %d plus the batch's %d rows is beyond %d", s.row0, B,
                           INT32_MAX);
        if (ad_scheme_get(s.scheme)->where == AD_WHERE_INPUT && s.p > 0.0f)
            return ad_fail(err, AD_ERR_ARG, "attention: scheme %s acts on the token embeddings, not on attention",
                           ad_scheme_get(s.scheme)->name);
    }
    *drop = ad_attn_drop_make(&s);
    return AD_OK;
}

/* prepare_site, then the CPU's scratch and thread count */
static ad_status prepare(int B, int H, int T, int D, float scale, const ad_drop_site *site, const float *stats,
                         float *scratch, size_t scratch_floats, ad_attn_drop *drop, int *n_scratch, ad_error *err) {
    ad_status st = prepare_site(B, H, T, D, scale, site, stats, drop, err);
    if (st) return st;
    size_t one = AD_ATT_SCRATCH(T, D);
    if (!scratch || scratch_floats < one)
        return ad_fail(err, AD_ERR_ARG, "attention: scratch of %zu floats, one thread needs %zu", scratch_floats, one);
    size_t slots = scratch_floats / one;
    *n_scratch = slots > 4096 ? 4096 : (int)slots;
    return AD_OK;
}

static ad_att_strides strides_of(const ad_view *q, const ad_view *k, const ad_view *v, const ad_view *o) {
    ad_att_strides s = {{q->stride_b, q->stride_h, q->stride_t}, {k->stride_b, k->stride_h, k->stride_t},
                        {v->stride_b, v->stride_h, v->stride_t}, {o->stride_b, o->stride_h, o->stride_t}};
    return s;
}

ad_status ad_attention_forward(ad_view out, float *stats, ad_view q, ad_view k, ad_view v, int B, int H, int T, int D,
                               float scale, const ad_drop_site *site, float *scratch, size_t scratch_floats,
                               ad_error *err) {
    ad_attn_drop drop;
    int n_scratch = 1;
    ad_status st = prepare(B, H, T, D, scale, site, stats, scratch, scratch_floats, &drop, &n_scratch, err);
    if (!st) st = check_view("q", &q, D, err);
    if (!st) st = check_view("k", &k, D, err);
    if (!st) st = check_view("v", &v, D, err);
    if (!st) st = check_view("out", &out, D, err);
    if (st) return st;
    ad_att_strides s = strides_of(&q, &k, &v, &out);
    ad_k_attention_fwd_strided_f(out.data, stats, scratch, q.data, k.data, v.data, &s, NULL, &drop, B, T, H, D, scale,
                                 n_scratch);
    return AD_OK;
}

ad_status ad_attention_backward(ad_view dq, ad_view dk, ad_view dv, ad_view dout, ad_view q, ad_view k, ad_view v,
                                const float *stats, int B, int H, int T, int D, float scale,
                                const ad_drop_site *site, float *scratch, size_t scratch_floats, ad_error *err) {
    ad_attn_drop drop;
    int n_scratch = 1;
    ad_status st = prepare(B, H, T, D, scale, site, stats, scratch, scratch_floats, &drop, &n_scratch, err);
    const char *names[7] = {"q", "k", "v", "dout", "dq", "dk", "dv"};
    const ad_view *views[7] = {&q, &k, &v, &dout, &dq, &dk, &dv};
    for (int i = 0; i < 7 && !st; i++) st = check_view(names[i], views[i], D, err);
    if (st) return st;
    ad_att_strides s = strides_of(&q, &k, &v, &dout), ds = strides_of(&dq, &dk, &dv, &dout);
    ad_k_attention_bwd_strided_f(dq.data, dk.data, dv.data, scratch, dout.data, q.data, k.data, v.data, &s, &ds, stats,
                                 &drop, B, T, H, D, scale, n_scratch);
    return AD_OK;
}

/* ------------------------------------------------------------------ CUDA */

static int uses_dropped(const ad_attn_drop *d) { return ad_attn_drop_active(d) && d->site.scheme == AD_SCHEME_FIXEDCOUNT; }

/* fixedcount's dropped keys (B,H,T,T) bytes, then its shuffle's (B,H,T,T) ints */
static size_t dropped_bytes(int B, int H, int T) {
    return (size_t)B * (size_t)H * (size_t)T * (size_t)T * (1 + sizeof(int));
}

size_t ad_attention_cuda_scratch_bytes(const ad_drop_site *site, int B, int H, int T) {
    if (!site || B < 1 || H < 1 || T < 1 || T > AD_MAX_BLOCK || H > 4096) return 0;
    ad_drop_site s = *site;
    if (s.n_head == 0) s.n_head = H;
    if (s.block_size == 0) s.block_size = T;
    ad_attn_drop d = ad_attn_drop_make(&s);
    return uses_dropped(&d) ? dropped_bytes(B, H, T) : 0;
}

/* The checks of a device call: prepare_site's, a head size the GPU rows take, fixedcount's scratch. */
static ad_status prepare_cuda(int B, int H, int T, int D, float scale, const ad_drop_site *site, const float *stats,
                              void *scratch, size_t scratch_bytes, ad_attn_drop *drop, ad_error *err) {
    ad_status st = prepare_site(B, H, T, D, scale, site, stats, drop, err);
    if (st) return st;
    if (D > 128) return ad_fail(err, AD_ERR_ARG, "attention on CUDA: head size %d above the GPU rows' 128", D);
    if (uses_dropped(drop) && (!scratch || scratch_bytes < dropped_bytes(B, H, T)))
        return ad_fail(err, AD_ERR_ARG, "attention on CUDA: fixedcount needs %zu bytes of scratch, got %zu",
                       dropped_bytes(B, H, T), scratch ? scratch_bytes : 0);
    return AD_OK;
}

/* A device call after its checks: every view checked, then (in a CUDA build)
 * the layout, fixedcount's scratch split into its dropped keys and its
 * shuffle's indices, and the site (NULL: no dropout). */
typedef struct {
#ifdef AD_CUDA
    ad_rows_layout L;
#endif
    unsigned char *dropped;
    int *idx;
    const ad_drop_site *site;
} cuda_call;

static ad_status cuda_begin(cuda_call *c, ad_attn_drop *drop, const ad_view *const *views, const char *const *names,
                            int n_views, int B, int H, int T, int D, float scale, const ad_drop_site *site,
                            const float *stats, void *scratch, size_t scratch_bytes, ad_error *err) {
    ad_status st = prepare_cuda(B, H, T, D, scale, site, stats, scratch, scratch_bytes, drop, err);
    for (int i = 0; i < n_views && !st; i++) st = check_view(names[i], views[i], D, err);
    if (st) return st;
#ifdef AD_CUDA
    /* views in the order q, k, v, out, then dout, dq, dk, dv (the forward's last four are out) */
    ad_rows_stride r[8];
    for (int i = 0; i < 8; i++) {
        const ad_view *x = views[i < n_views ? i : 3];
        r[i] = (ad_rows_stride){x->stride_b, x->stride_h, x->stride_t};
    }
    c->L = (ad_rows_layout){r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]};
#endif
    c->dropped = scratch;
    c->idx = uses_dropped(drop) ? (int *)(c->dropped + (size_t)B * H * T * T) : NULL;
    c->site = ad_attn_drop_active(drop) ? &drop->site : NULL;
#ifdef AD_CUDA
    return AD_OK;
#else
    return ad_fail(err, AD_ERR_DEVICE, "attention on CUDA: this libattndrop was built without CUDA (make CUDA=1)");
#endif
}

ad_status ad_attention_forward_cuda(ad_view out, float *stats, ad_view q, ad_view k, ad_view v, int B, int H, int T,
                                    int D, float scale, const ad_drop_site *site, void *scratch, size_t scratch_bytes,
                                    void *stream, ad_error *err) {
    ad_attn_drop drop;
    cuda_call c;
    const char *const names[4] = {"q", "k", "v", "out"};
    const ad_view *const views[4] = {&q, &k, &v, &out};
    ad_status st = cuda_begin(&c, &drop, views, names, 4, B, H, T, D, scale, site, stats, scratch, scratch_bytes, err);
    if (st) return st;
#ifdef AD_CUDA
    return ad_cuda_attention_fwd_sv(out.data, stats, q.data, k.data, v.data, &c.L, c.site, c.dropped, c.idx, B, T, H,
                                    D, scale, stream, err);
#else
    (void)stream;
    return AD_ERR_DEVICE; /* cuda_begin said why */
#endif
}

ad_status ad_attention_backward_cuda(ad_view dq, ad_view dk, ad_view dv, ad_view dout, ad_view q, ad_view k,
                                     ad_view v, ad_view out, const float *stats, int B, int H, int T, int D,
                                     float scale, const ad_drop_site *site, void *scratch, size_t scratch_bytes,
                                     void *stream, ad_error *err) {
    ad_attn_drop drop;
    cuda_call c;
    const char *const names[8] = {"q", "k", "v", "out", "dout", "dq", "dk", "dv"};
    const ad_view *const views[8] = {&q, &k, &v, &out, &dout, &dq, &dk, &dv};
    ad_status st = cuda_begin(&c, &drop, views, names, 8, B, H, T, D, scale, site, stats, scratch, scratch_bytes, err);
    if (st) return st;
#ifdef AD_CUDA
    return ad_cuda_attention_bwd_sv(dq.data, dk.data, dv.data, dout.data, q.data, k.data, v.data, out.data, stats,
                                    &c.L, c.site, c.dropped, c.idx, B, T, H, D, scale, stream, err);
#else
    (void)stream;
    return AD_ERR_DEVICE; /* cuda_begin said why */
#endif
}
