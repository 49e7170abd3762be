/* attention.cu - causal attention on the GPU, every scheme, its masks
 * regenerated in the kernels from the CPU's Philox keys: one thread per row
 * running the row functions of src/model/attn_rows.h (the very code
 * tests/test_mask.c checks on the CPU against the CPU kernels). Forward: one
 * thread per query row; backward: one per query row (dq), then one per key
 * row (dk, dv); fixedcount's dropped keys are drawn first, one thread per
 * row. Buffers are device pointers with the shapes of the CPU kernels. */
#include "ad_cuda.h"
#include "../model/attn_rows.h"
#include <cuda_runtime.h>

#define AD_THREADS 128

static ad_status cuda_fail(ad_error *err, cudaError_t e, const char *what) {
    return ad_fail(err, AD_ERR_DEVICE, "CUDA %s: %s", what, cudaGetErrorString(e));
}

/* thread r's row: (b, h, i) of B*H*T; 0 past the last */
__device__ static int row_of(int r, int B, int T, int H, int *b, int *h, int *i) {
    if (r >= B * H * T) return 0;
    *i = r % T;
    *h = (r / T) % H;
    *b = r / (T * H);
    return 1;
}

__global__ static void fixedcount_kernel(unsigned char *dropped, ad_drop_site s, int B, int *idx_all) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, T = s.block_size, b, h, i;
    if (!row_of(r, B, T, s.n_head, &b, &h, &i)) return;
    ad_fixedcount_row_mask_hd(dropped, &s, b, h, i, idx_all + (size_t)r * T);
}

__global__ static void fwd_kernel(float *out, float *stats, const float *qkv, ad_drop_site s, int active,
                                  const unsigned char *dropped, int B, int T, int C, int H) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, b, h, i;
    float o[AD_CUDA_MAX_HS];
    if (row_of(r, B, T, H, &b, &h, &i))
        ad_rows_fwd_at_hd(out, stats, qkv, active ? &s : NULL, dropped, b, h, i, T, C, H, o);
}

__global__ static void dq_kernel(float *dqkv, const float *dout, const float *qkv, const float *out,
                                 const float *stats, ad_drop_site s, int active, const unsigned char *dropped, int B,
                                 int T, int C, int H) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, b, h, i;
    float dq[AD_CUDA_MAX_HS];
    if (row_of(r, B, T, H, &b, &h, &i))
        ad_rows_dq_at_hd(dqkv, dout, qkv, out, stats, active ? &s : NULL, dropped, b, h, i, T, C, H, dq);
}

__global__ static void dkv_kernel(float *dqkv, const float *dout, const float *qkv, const float *out,
                                  const float *stats, ad_drop_site s, int active, const unsigned char *dropped, int B,
                                  int T, int C, int H) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, b, h, j;
    float dk[AD_CUDA_MAX_HS], dv[AD_CUDA_MAX_HS];
    if (row_of(r, B, T, H, &b, &h, &j))
        ad_rows_dkv_at_hd(dqkv, dout, qkv, out, stats, active ? &s : NULL, dropped, b, h, j, T, C, H, dk, dv);
}

static int blocks(int n) { return (n + AD_THREADS - 1) / AD_THREADS; }

static ad_status check_shape(int T, int C, int H, ad_error *err) {
    if (H < 1 || C % H != 0 || C / H > AD_CUDA_MAX_HS)
        return ad_fail(err, AD_ERR_ARG, "CUDA attention needs a head size of at most %d, got n_embd %d / n_head %d",
                       AD_CUDA_MAX_HS, C, H);
    if (T < 1) return ad_fail(err, AD_ERR_ARG, "CUDA attention needs T >= 1, got %d", T);
    return AD_OK;
}

extern "C" ad_status ad_cuda_fixedcount(unsigned char *dropped, int *idx, const ad_drop_site *s, int B,
                                        ad_error *err) {
    int n = B * s->n_head * s->block_size;
    fixedcount_kernel<<<blocks(n), AD_THREADS>>>(dropped, *s, B, idx);
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? AD_OK : cuda_fail(err, e, "fixedcount masks");
}

extern "C" ad_status ad_cuda_attention_fwd(float *out, float *stats, const float *qkv, const ad_drop_site *s,
                                           const unsigned char *dropped, int B, int T, int C, int H, ad_error *err) {
    ad_status st = check_shape(T, C, H, err);
    if (st) return st;
    ad_drop_site none = ad_site_none_hd(H, T);
    int active = s != NULL;
    fwd_kernel<<<blocks(B * H * T), AD_THREADS>>>(out, stats, qkv, active ? *s : none, active, dropped, B, T, C, H);
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? AD_OK : cuda_fail(err, e, "attention forward");
}

extern "C" ad_status ad_cuda_attention_bwd(float *dqkv, const float *dout, const float *qkv, const float *out,
                                           const float *stats, const ad_drop_site *s, const unsigned char *dropped,
                                           int B, int T, int C, int H, ad_error *err) {
    ad_status st = check_shape(T, C, H, err);
    if (st) return st;
    ad_drop_site none = ad_site_none_hd(H, T);
    int active = s != NULL;
    dq_kernel<<<blocks(B * H * T), AD_THREADS>>>(dqkv, dout, qkv, out, stats, active ? *s : none, active, dropped, B,
                                                  T, C, H);
    dkv_kernel<<<blocks(B * H * T), AD_THREADS>>>(dqkv, dout, qkv, out, stats, active ? *s : none, active, dropped,
                                                   B, T, C, H);
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? AD_OK : cuda_fail(err, e, "attention backward");
}

/* ------------------------------------------------ the public op's views */

__global__ static void fwd_sv_kernel(float *out, float *stats, const float *q, const float *k, const float *v,
                                     ad_rows_layout L, ad_drop_site s, int active, const unsigned char *dropped, int B,
                                     int T, int H, int hs, float scale) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, b, h, i;
    float o[AD_CUDA_MAX_HS];
    if (row_of(r, B, T, H, &b, &h, &i))
        ad_rows_fwd_sv_hd(out, stats, q, k, v, &L, active ? &s : NULL, dropped, b, h, i, T, H, hs, scale, o);
}

__global__ static void dq_sv_kernel(float *dq, const float *dout, const float *q, const float *k, const float *v,
                                    const float *out, const float *stats, ad_rows_layout L, ad_drop_site s, int active,
                                    const unsigned char *dropped, int B, int T, int H, int hs, float scale) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, b, h, i;
    float x[AD_CUDA_MAX_HS];
    if (row_of(r, B, T, H, &b, &h, &i))
        ad_rows_dq_sv_hd(dq, dout, q, k, v, out, stats, &L, active ? &s : NULL, dropped, b, h, i, T, H, hs, scale, x);
}

__global__ static void dkv_sv_kernel(float *dk, float *dv, const float *dout, const float *q, const float *k,
                                     const float *v, const float *out, const float *stats, ad_rows_layout L,
                                     ad_drop_site s, int active, const unsigned char *dropped, int B, int T, int H,
                                     int hs, float scale) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, b, h, j;
    float x[AD_CUDA_MAX_HS], y[AD_CUDA_MAX_HS];
    if (row_of(r, B, T, H, &b, &h, &j))
        ad_rows_dkv_sv_hd(dk, dv, dout, q, k, v, out, stats, &L, active ? &s : NULL, dropped, b, h, j, T, H, hs, scale,
                          x, y);
}

/* What both directions do first: the shape's checks, the site the kernels take
 * (*none where there is no dropout), fixedcount's dropped keys drawn on cs. */
static ad_status begin_sv(const ad_drop_site *s, unsigned char *dropped, int *idx, int B, int T, int H, int hs,
                          cudaStream_t cs, ad_drop_site *site, int *active, ad_error *err) {
    if (hs < 1 || hs > AD_CUDA_MAX_HS)
        return ad_fail(err, AD_ERR_ARG, "CUDA attention needs a head size of 1 to %d, got %d", AD_CUDA_MAX_HS, hs);
    if (T < 1 || H < 1) return ad_fail(err, AD_ERR_ARG, "CUDA attention needs T, H >= 1, got %d, %d", T, H);
    ad_drop_site none = ad_site_none_hd(H, T);
    *active = s != NULL;
    *site = s ? *s : none;
    if (s && s->scheme == AD_SCHEME_FIXEDCOUNT)
        fixedcount_kernel<<<blocks(B * H * T), AD_THREADS, 0, cs>>>(dropped, *s, B, idx);
    return AD_OK;
}

extern "C" ad_status ad_cuda_attention_fwd_sv(float *out, float *stats, const float *q, const float *k,
                                              const float *v, const ad_rows_layout *L, const ad_drop_site *s,
                                              unsigned char *dropped, int *idx, int B, int T, int H, int hs,
                                              float scale, void *stream, ad_error *err) {
    cudaStream_t cs = (cudaStream_t)stream;
    ad_drop_site site;
    int active = 0, n = B * H * T;
    ad_status st = begin_sv(s, dropped, idx, B, T, H, hs, cs, &site, &active, err);
    if (st) return st;
    fwd_sv_kernel<<<blocks(n), AD_THREADS, 0, cs>>>(out, stats, q, k, v, *L, site, active, dropped, B, T, H, hs, scale);
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? AD_OK : cuda_fail(err, e, "attention forward");
}

extern "C" ad_status ad_cuda_attention_bwd_sv(float *dq, float *dk, float *dv, const float *dout, const float *q,
                                              const float *k, const float *v, const float *out, const float *stats,
                                              const ad_rows_layout *L, const ad_drop_site *s, unsigned char *dropped,
                                              int *idx, int B, int T, int H, int hs, float scale, void *stream,
                                              ad_error *err) {
    cudaStream_t cs = (cudaStream_t)stream;
    ad_drop_site site;
    int active = 0, n = B * H * T;
    ad_status st = begin_sv(s, dropped, idx, B, T, H, hs, cs, &site, &active, err);
    if (st) return st;
    dq_sv_kernel<<<blocks(n), AD_THREADS, 0, cs>>>(dq, dout, q, k, v, out, stats, *L, site, active, dropped, B, T, H,
                                                   hs, scale);
    dkv_sv_kernel<<<blocks(n), AD_THREADS, 0, cs>>>(dk, dv, dout, q, k, v, out, stats, *L, site, active, dropped, B, T,
                                                    H, hs, scale);
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? AD_OK : cuda_fail(err, e, "attention backward");
}

extern "C" ad_status ad_cuda_device_check(ad_error *err) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) return cuda_fail(err, e, "device query");
    if (n == 0) return ad_fail(err, AD_ERR_DEVICE, "no CUDA device");
    return AD_OK;
}
