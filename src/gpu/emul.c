/* emul.c - the CUDA back end's interface (src/gpu/ad_cuda.h) on the
 * CPU, for `make CUDA_EMUL=1`: "device" memory is host memory of its own, the
 * attention runs the GPU's algorithm through the host drivers of attn_rows.h
 * and the other kernels are the CPU's. It tests, without a GPU, everything of
 * the GPU path but the CUDA kernels themselves: the model's mirror of its
 * buffers, what is copied when, and the row-at-a-time attention inside whole
 * training runs (tests/test_cuda.c). */
#include "ad_cuda.h"
#include "../model/attn_rows.h"
#include "../model/layers.h"
#include <stdlib.h>
#include <string.h>

ad_status ad_cuda_device_check(ad_error *err) { (void)err; return AD_OK; }

ad_status ad_cuda_alloc(void **p, size_t bytes, ad_error *err) {
    *p = calloc(1, bytes ? bytes : 1);
    return *p ? AD_OK : ad_fail(err, AD_ERR_DEVICE, "emulated device: cannot allocate %zu bytes", bytes);
}
void ad_cuda_free(void *p) { free(p); }
ad_status ad_cuda_upload(void *dst, const void *src, size_t bytes, ad_error *err) {
    (void)err;
    memcpy(dst, src, bytes);
    return AD_OK;
}
ad_status ad_cuda_download(void *dst, const void *src, size_t bytes, ad_error *err) {
    (void)err;
    memcpy(dst, src, bytes);
    return AD_OK;
}
ad_status ad_cuda_zero(void *p, size_t bytes, ad_error *err) {
    (void)err;
    memset(p, 0, bytes);
    return AD_OK;
}

ad_status ad_cuda_fixedcount(unsigned char *dropped, int *idx, const ad_drop_site *s, int B, ad_error *err) {
    (void)err;
    int T = s->block_size;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < s->n_head; h++)
            for (int i = 0; i < T; i++)
                ad_fixedcount_row_mask_hd(dropped, s, b, h, i, idx + (((size_t)b * s->n_head + h) * T + i) * T);
    return AD_OK;
}

ad_status ad_cuda_attention_fwd(float *out, float *stats, const float *qkv, const ad_drop_site *s,
                                const unsigned char *dropped, int B, int T, int C, int H, ad_error *err) {
    (void)err;
    ad_rows_attention_fwd(out, stats, qkv, s, dropped, B, T, C, H);
    return AD_OK;
}

ad_status ad_cuda_attention_bwd(float *dqkv, const float *dout, const float *qkv, const float *out,
                                const float *stats, const ad_drop_site *s, const unsigned char *dropped, int B, int T,
                                int C, int H, ad_error *err) {
    (void)err;
    ad_rows_attention_bwd(dqkv, dout, qkv, out, stats, s, dropped, B, T, C, H);
    return AD_OK;
}

ad_status ad_cuda_attention_fwd_sv(float *out, float *stats, const float *q, const float *k, const float *v,
                                   const ad_rows_layout *L, const ad_drop_site *s, unsigned char *dropped, int *idx,
                                   int B, int T, int H, int hs, float scale, void *stream, ad_error *err) {
    (void)stream;
    if (s && s->scheme == AD_SCHEME_FIXEDCOUNT) ad_cuda_fixedcount(dropped, idx, s, B, err);
    ad_rows_attention_fwd_sv(out, stats, q, k, v, L, s, dropped, B, T, H, hs, scale);
    return AD_OK;
}

ad_status ad_cuda_attention_bwd_sv(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                                   const float *v, const float *out, const float *stats, const ad_rows_layout *L,
                                   const ad_drop_site *s, unsigned char *dropped, int *idx, int B, int T, int H,
                                   int hs, float scale, void *stream, ad_error *err) {
    (void)stream;
    if (s && s->scheme == AD_SCHEME_FIXEDCOUNT) ad_cuda_fixedcount(dropped, idx, s, B, err);
    ad_rows_attention_bwd_sv(dq, dk, dv, dout, q, k, v, out, stats, L, s, dropped, B, T, H, hs, scale);
    return AD_OK;
}

ad_status ad_cuda_encoder_fwd(float *out, const int *idx, const float *wte, const float *wpe, const float *tok_mult,
                              int B, int T, int C, ad_error *err) {
    (void)err;
    ad_k_encoder_fwd_f(out, idx, wte, wpe, tok_mult, B, T, C);
    return AD_OK;
}
ad_status ad_cuda_encoder_bwd(float *dwte, float *dwpe, const float *dout, const int *idx, const float *tok_mult,
                              int B, int T, int C, ad_error *err) {
    (void)err;
    ad_k_encoder_bwd_f(dwte, dwpe, dout, idx, tok_mult, B, T, C);
    return AD_OK;
}
ad_status ad_cuda_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                                int N, int C, float eps, ad_error *err) {
    (void)err;
    ad_k_layernorm_fwd_f(out, mean, rstd, inp, w, b, N, C, eps);
    return AD_OK;
}
ad_status ad_cuda_layernorm_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                                const float *mean, const float *rstd, int N, int C, ad_error *err) {
    (void)err;
    ad_k_layernorm_bwd_f(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
    return AD_OK;
}
ad_status ad_cuda_matmul_fwd(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                             ad_error *err) {
    (void)err;
    ad_k_matmul_fwd_f(out, NULL, inp, w, bias, N, C, OC); /* BLAS, as a GPU's product differs from the CPU's */
    return AD_OK;
}
ad_status ad_cuda_matmul_bwd(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC, ad_error *err) {
    (void)err;
    ad_k_matmul_bwd_f(dinp, dw, dbias, NULL, dout, inp, w, N, C, OC, 0);
    return AD_OK;
}
ad_status ad_cuda_relu_fwd(float *out, const float *inp, size_t n, ad_error *err) {
    (void)err;
    ad_k_relu_fwd_f(out, inp, n);
    return AD_OK;
}
ad_status ad_cuda_relu_bwd(float *dinp, const float *dout, const float *inp, size_t n, ad_error *err) {
    (void)err;
    ad_k_relu_bwd_f(dinp, dout, inp, n);
    return AD_OK;
}
ad_status ad_cuda_residual_dropout_fwd(float *out, const float *res, const float *inp, const ad_elem_drop *d, int B,
                                       int T, int C, ad_error *err) {
    (void)err;
    ad_k_residual_dropout_fwd_f(out, res, inp, d, B, T, C);
    return AD_OK;
}
ad_status ad_cuda_dropout_bwd(float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C,
                              ad_error *err) {
    (void)err;
    ad_k_dropout_bwd_f(dinp, dout, d, B, T, C);
    return AD_OK;
}
ad_status ad_cuda_crossentropy_fwd(float *probs, double *loss, double *row_loss, double *part, const float *logits,
                                   const int *targets, int N, int V, ad_error *err) {
    (void)err; (void)row_loss; (void)part;
    *loss = ad_k_crossentropy_fwd_f(probs, logits, targets, N, V);
    return AD_OK;
}
ad_status ad_cuda_crossentropy_bwd(float *dlogits, const float *probs, const int *targets, int N, int V,
                                   ad_error *err) {
    (void)err;
    ad_k_crossentropy_bwd_f(dlogits, probs, targets, N, V);
    return AD_OK;
}
ad_status ad_cuda_adamw(float *p, const float *g, float *m, float *v, size_t n, const ad_adamw_step_k *k,
                        ad_error *err) {
    (void)err;
    for (size_t i = 0; i < n; i++) ad_adamw_update_hd(&p[i], &m[i], &v[i], g[i], k);
    return AD_OK;
}
