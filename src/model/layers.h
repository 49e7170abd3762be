/* layers.h - the float instance of layers.inc (layers.c) that the model calls. */
#ifndef AD_KERNELS_H
#define AD_KERNELS_H

#include "../schemes/dropout.h"
#include <stdint.h>

void ad_k_encoder_fwd_f(float *out, const int *idx, const float *wte, const float *wpe, const float *tok_mult,
                        int B, int T, int C);
void ad_k_encoder_bwd_f(float *dwte, float *dwpe, const float *dout, const int *idx, const float *tok_mult,
                        int B, int T, int C);
void ad_k_layernorm_fwd_f(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C, float eps);
void ad_k_layernorm_bwd_f(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, const float *mean, const float *rstd, int N, int C);
/* src/model/matmul.c; wt (C,OC) and scratch (n_scratch,128,N) may be NULL */
void ad_k_matmul_fwd_f(float *out, float *wt, const float *inp, const float *w, const float *bias, int N, int C,
                       int OC);
void ad_k_matmul_bwd_f(float *dinp, float *dw, float *dbias, float *scratch, const float *dout, const float *inp,
                       const float *w, int N, int C, int OC, int n_scratch);
/* Rows per piece of an N-row product (layers.inc, matmul.c): about N/16, a
 * multiple of 16 in 64..512, fixed by N alone so that every thread count
 * computes the same pieces. */
static inline int ad_gemm_rows(int N) {
    int r = (N / 16 + 15) / 16 * 16;
    return r < 64 ? 64 : r > 512 ? 512 : r;
}
/* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (layers.inc's transpose, float). */
void ad_transpose_f(float *dst, int ldd, const float *src, int lds, int rows, int cols);
/* Floats of the bwd scratch per thread, per row of the product. */
#define AD_MATMUL_SCRATCH_ROWS 128
/* c (M,N) = a (M,K) b (K,N), or c += a b where acc: row-major, one thread; libxsmm or BLAS (matmul.c). */
void ad_gemm_nn_f(float *c, const float *a, const float *b, int M, int N, int K, int lda, int ldb, int ldc, int acc);
/* Floats of the attention kernels' scratch per thread: three T x T matrices and four head-size x T ones. */
#define AD_ATT_SCRATCH(T, hs) ((size_t)3 * (size_t)(T) * (size_t)(T) + (size_t)4 * (size_t)(hs) * (size_t)(T))
void ad_k_relu_fwd_f(float *out, const float *inp, size_t n);
void ad_k_relu_bwd_f(float *dinp, const float *dout, const float *inp, size_t n);
void ad_k_residual_dropout_fwd_f(float *out, const float *res, const float *inp, const ad_elem_drop *d,
                                 int B, int T, int C);
void ad_k_dropout_bwd_f(float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C);
/* (B,H,T,hs) views of the strided attention kernels: the strides in elements of
 * b, h and t (the last dimension contiguous) of q, k, v and out, or, for the
 * backward's outputs, of dq, dk, dv and dout. Row strides fit an int. */
typedef struct {
    int64_t q[3], k[3], v[3], o[3];
} ad_att_strides;
void ad_k_attention_fwd_strided_f(float *out, float *stats, float *scratch, const float *q, const float *k,
                                  const float *v, const ad_att_strides *s, unsigned char *zero_rows,
                                  const ad_attn_drop *drop, int B, int T, int H, int hs, float scale, int n_scratch);
void ad_k_attention_bwd_strided_f(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *q,
                                  const float *k, const float *v, const ad_att_strides *s, const ad_att_strides *ds,
                                  const float *stats, const ad_attn_drop *drop, int B, int T, int H, int hs,
                                  float scale, int n_scratch);
/* scratch: (n_scratch, AD_ATT_SCRATCH(T, C/H)) */
void ad_k_attention_fwd_f(float *out, float *stats, float *scratch, const float *qkv, unsigned char *zero_rows,
                          const ad_attn_drop *drop, int B, int T, int C, int H, int n_scratch);
void ad_k_attention_bwd_f(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *stats,
                          const ad_attn_drop *drop, int B, int T, int C, int H, int n_scratch);
void ad_k_attention_step_f(float *out, float *wh, const float *qkv, const float *kv, int n, int C, int H);
double ad_k_crossentropy_fwd_f(float *probs, const float *logits, const int *targets, int N, int V);
/* The polynomial exp of the float attention softmax (layers.inc). */
float ad_softmax_expf(float x);
void ad_k_crossentropy_bwd_f(float *dlogits, const float *probs, const int *targets, int N, int V);


/* The general attention (sdpa.inc): strides in elements of b, h, t of q, k,
 * v and out (or of dq, dk, dv and dout), and the mask's four (m). */
typedef struct {
    int64_t q[3], k[3], v[3], o[3], m[4];
} ad_sdpa_layout;
/* Elements of its scratch per thread: scores, their gradient, the dropped weights. */
#define AD_SDPA_SCRATCH(Tq, Tk) ((size_t)3 * (size_t)(Tq) * (size_t)(Tk))
void ad_k_sdpa_fwd_f(float *out, float *stats, float *scratch, const float *q, const float *k, const float *v,
                     const float *mask, const ad_sdpa_layout *L, const ad_attn_drop *drop, const ad_sdpa_shape *z,
                     int n_scratch);
void ad_k_sdpa_fwd_d(double *out, double *stats, double *scratch, const double *q, const double *k, const double *v,
                     const double *mask, const ad_sdpa_layout *L, const ad_attn_drop *drop, const ad_sdpa_shape *z,
                     int n_scratch);
void ad_k_sdpa_bwd_f(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *q,
                     const float *k, const float *v, const float *mask, const float *stats, const ad_sdpa_layout *L,
                     const ad_sdpa_layout *Dl, const ad_attn_drop *drop, const ad_sdpa_shape *z, int n_scratch);
void ad_k_sdpa_bwd_d(double *dq, double *dk, double *dv, double *scratch, const double *dout, const double *q,
                     const double *k, const double *v, const double *mask, const double *stats,
                     const ad_sdpa_layout *L, const ad_sdpa_layout *Dl, const ad_attn_drop *drop,
                     const ad_sdpa_shape *z, int n_scratch);

#endif
