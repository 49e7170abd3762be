/* ad_cuda.h - the CUDA back end (attention.cu), for the library's C sources
 * and the GPU tests. Pointers are device pointers; shapes are those of the CPU
 * kernels (layers.h). Launches are asynchronous on the default stream: an
 * error of the launch is returned here, one of the execution at the next
 * synchronising call. */
#ifndef AD_CUDA_H
#define AD_CUDA_H
#include "../core/internal.h"
#include "../schemes/dropout.h"
#include "../model/adamw.h"
#include "../model/attn_rows.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the largest head size the kernels take (their per-thread rows) */
#define AD_CUDA_MAX_HS 128

/* Device memory (memory.cu): alloc zeroes; free accepts NULL; copies
 * synchronise with the kernels launched before them. */
ad_status ad_cuda_alloc(void **p, size_t bytes, ad_error *err);
void ad_cuda_free(void *p);
ad_status ad_cuda_upload(void *dst, const void *src, size_t bytes, ad_error *err);
ad_status ad_cuda_download(void *dst, const void *src, size_t bytes, ad_error *err);
ad_status ad_cuda_zero(void *p, size_t bytes, ad_error *err);

/* AD_OK if a CUDA device is present and the driver answers. */
ad_status ad_cuda_device_check(ad_error *err);
/* fixedcount's dropped keys of every row: dropped (B,H,T,T) bytes, idx (B,H,T,T) ints scratch */
ad_status ad_cuda_fixedcount(unsigned char *dropped, int *idx, const ad_drop_site *s, int B, ad_error *err);
/* out (B,T,C), stats (B,H,T,2) from qkv (B,T,3C); s NULL: no dropout, else an active site (the
 * caller's ad_attn_drop_active); dropped: fixedcount's */
ad_status ad_cuda_attention_fwd(float *out, float *stats, const float *qkv, const ad_drop_site *s,
                                const unsigned char *dropped, int B, int T, int C, int H, ad_error *err);
/* dqkv (B,T,3C) overwritten, from dout (B,T,C) and the forward's qkv, out and stats */
ad_status ad_cuda_attention_bwd(float *dqkv, const float *dout, const float *qkv, const float *out,
                                const float *stats, const ad_drop_site *s, const unsigned char *dropped, int B,
                                int T, int C, int H, ad_error *err);

/* The public op's attention on (B,H,T,hs) views (ad_attention_forward_cuda):
 * tensors at L's strides, scores scaled by `scale`, launched on `stream` (a
 * cudaStream_t, NULL: the default stream). s NULL: no dropout, else an active
 * site; for fixedcount dropped (B,H,T,T) bytes and idx (B,H,T,T) ints are the
 * caller's scratch, its dropped keys drawn into it here (in the backward too:
 * nothing is kept between the two). */
ad_status ad_cuda_attention_fwd_sv(float *out, float *stats, const float *q, const float *k, const float *v,
                                   const ad_rows_layout *L, const ad_drop_site *s, unsigned char *dropped, int *idx,
                                   int B, int T, int H, int hs, float scale, void *stream, ad_error *err);
ad_status ad_cuda_attention_bwd_sv(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                                   const float *v, const float *out, const float *stats, const ad_rows_layout *L,
                                   const ad_drop_site *s, unsigned char *dropped, int *idx, int B, int T, int H,
                                   int hs, float scale, void *stream, ad_error *err);

/* The other kernels (layers.cu): the CPU kernels of kernels.h, with device
 * pointers, returning the launch's status. */
ad_status ad_cuda_encoder_fwd(float *out, const int *idx, const float *wte, const float *wpe, const float *tok_mult,
                              int B, int T, int C, ad_error *err);
ad_status ad_cuda_encoder_bwd(float *dwte, float *dwpe, const float *dout, const int *idx, const float *tok_mult,
                              int B, int T, int C, ad_error *err);
ad_status ad_cuda_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                                int N, int C, float eps, ad_error *err);
ad_status ad_cuda_layernorm_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                                const float *mean, const float *rstd, int N, int C, ad_error *err);
ad_status ad_cuda_matmul_fwd(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                             ad_error *err);
ad_status ad_cuda_matmul_bwd(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC, ad_error *err);
ad_status ad_cuda_relu_fwd(float *out, const float *inp, size_t n, ad_error *err);
ad_status ad_cuda_relu_bwd(float *dinp, const float *dout, const float *inp, size_t n, ad_error *err);
ad_status ad_cuda_residual_dropout_fwd(float *out, const float *res, const float *inp, const ad_elem_drop *d, int B,
                                       int T, int C, ad_error *err);
ad_status ad_cuda_dropout_bwd(float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C,
                              ad_error *err);
/* *loss: the mean over the rows; row_loss (N) and part (1024) device scratch */
ad_status ad_cuda_crossentropy_fwd(float *probs, double *loss, double *row_loss, double *part, const float *logits,
                                   const int *targets, int N, int V, ad_error *err);
ad_status ad_cuda_crossentropy_bwd(float *dlogits, const float *probs, const int *targets, int N, int V,
                                   ad_error *err);
ad_status ad_cuda_adamw(float *p, const float *g, float *m, float *v, size_t n, const ad_adamw_step_k *k,
                        ad_error *err);

#ifdef __cplusplus
}
#endif
#endif
