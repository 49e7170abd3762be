/* layers.cu - the model's other forward and backward kernels on the GPU,
 * each the CPU kernel of layers.inc with the same arguments (device
 * pointers): the dense products by cuBLAS in fp32 (no TF32), the rest one
 * thread per element, row or column. Every sum runs in a fixed order (a
 * column's over rows in order, a row's over its elements), so that a result
 * never depends on the launch or the GPU's scheduling; dropout masks come
 * from the keys of the CPU path (mask.h). tests/test_cuda.c compares each
 * with its CPU kernel on a GPU. */
#include "ad_cuda.h"
#include "../model/adamw.h"
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <string.h>

#define AD_THREADS 256

static int grid(size_t n) { return (int)((n + AD_THREADS - 1) / AD_THREADS); }

static ad_status launched(ad_error *err, const char *what) {
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? AD_OK : ad_fail(err, AD_ERR_DEVICE, "CUDA %s: %s", what, cudaGetErrorString(e));
}

/* One cuBLAS handle for the process, created on first use. Its default math
 * mode computes sgemm in fp32: TF32 is used only where asked for
 * (CUBLAS_TF32_TENSOR_OP_MATH or NVIDIA_TF32_OVERRIDE), which attndrop does
 * not do. */
static cublasHandle_t blas_handle(void) {
    static cublasHandle_t h = NULL;
    if (!h && cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) h = NULL;
    return h;
}

static ad_status blas_fail(ad_error *err, cublasStatus_t s, const char *what) {
    return ad_fail(err, AD_ERR_DEVICE, "cuBLAS %s failed (status %d)", what, (int)s);
}

/* ------------------------------------------------------------- encoder */

__global__ static void encoder_fwd_k(float *out, const int *idx, const float *wte, const float *wpe,
                                     const float *tok_mult, int B, int T, int C) {
    size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (size_t)B * T * C) return;
    int c = (int)(e % C);
    size_t bt = e / C;
    float m = tok_mult ? tok_mult[bt] : 1.0f;
    /* rounded as the CPU rounds it: nvcc would fuse the multiply and the add */
    out[e] = __fadd_rn(__fmul_rn(wte[(size_t)idx[bt] * C + c], m), wpe[(bt % T) * C + c]);
}

/* one thread per channel, rows in order: the CPU kernel's order */
__global__ static void encoder_bwd_k(float *dwte, float *dwpe, const float *dout, const int *idx,
                                     const float *tok_mult, int B, int T, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (size_t bt = 0; bt < (size_t)B * T; bt++) {
        float d = dout[bt * C + c], m = tok_mult ? tok_mult[bt] : 1.0f;
        dwte[(size_t)idx[bt] * C + c] += d * m;
        dwpe[(bt % T) * C + c] += d;
    }
}

extern "C" ad_status ad_cuda_encoder_fwd(float *out, const int *idx, const float *wte, const float *wpe,
                                         const float *tok_mult, int B, int T, int C, ad_error *err) {
    encoder_fwd_k<<<grid((size_t)B * T * C), AD_THREADS>>>(out, idx, wte, wpe, tok_mult, B, T, C);
    return launched(err, "encoder forward");
}

extern "C" ad_status ad_cuda_encoder_bwd(float *dwte, float *dwpe, const float *dout, const int *idx,
                                         const float *tok_mult, int B, int T, int C, ad_error *err) {
    encoder_bwd_k<<<grid(C), AD_THREADS>>>(dwte, dwpe, dout, idx, tok_mult, B, T, C);
    return launched(err, "encoder backward");
}

/* ------------------------------------------------------------ layernorm */

__global__ static void layernorm_fwd_k(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                       const float *b, int N, int C, float eps) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    const float *x = inp + (size_t)n * C;
    double m = 0.0, v = 0.0;
    for (int c = 0; c < C; c++) m += x[c];
    m /= C;
    for (int c = 0; c < C; c++) { double d = x[c] - m; v += d * d; }
    v /= C;
    float s = (float)(1.0 / sqrt(v + eps));
    float *o = out + (size_t)n * C;
    for (int c = 0; c < C; c++) o[c] = ((x[c] - (float)m) * s) * w[c] + b[c];
    mean[n] = (float)m;
    rstd[n] = s;
}

__global__ static void layernorm_bwd_rows_k(float *dinp, const float *dout, const float *inp, const float *w,
                                            const float *mean, const float *rstd, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
    float m = mean[n], s = rstd[n];
    double sum_d = 0.0, sum_dn = 0.0;
    for (int c = 0; c < C; c++) {
        float dn = d[c] * w[c];
        sum_d += dn;
        sum_dn += dn * ((x[c] - m) * s);
    }
    float md = (float)(sum_d / C), mdn = (float)(sum_dn / C);
    float *di = dinp + (size_t)n * C;
    for (int c = 0; c < C; c++) di[c] += s * (d[c] * w[c] - md - ((x[c] - m) * s) * mdn);
}

__global__ static void layernorm_bwd_cols_k(float *dw, float *db, const float *dout, const float *inp,
                                            const float *mean, const float *rstd, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double sw = 0.0, sb = 0.0;
    for (int n = 0; n < N; n++) {
        float d = dout[(size_t)n * C + c];
        sw += d * ((inp[(size_t)n * C + c] - mean[n]) * rstd[n]);
        sb += d;
    }
    dw[c] = (float)sw;
    db[c] = (float)sb;
}

extern "C" ad_status ad_cuda_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                           const float *b, int N, int C, float eps, ad_error *err) {
    layernorm_fwd_k<<<grid(N), AD_THREADS>>>(out, mean, rstd, inp, w, b, N, C, eps);
    return launched(err, "layernorm forward");
}

extern "C" ad_status ad_cuda_layernorm_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                           const float *w, const float *mean, const float *rstd, int N, int C,
                                           ad_error *err) {
    layernorm_bwd_rows_k<<<grid(N), AD_THREADS>>>(dinp, dout, inp, w, mean, rstd, N, C);
    layernorm_bwd_cols_k<<<grid(C), AD_THREADS>>>(dw, db, dout, inp, mean, rstd, N, C);
    return launched(err, "layernorm backward");
}

/* --------------------------------------------------------------- matmul */

__global__ static void add_bias_k(float *out, const float *bias, int N, int OC) {
    size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < (size_t)N * OC) out[e] += bias[e % OC];
}

__global__ static void bias_grad_k(float *dbias, const float *dout, int N, int OC) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= OC) return;
    double s = 0.0;
    for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + k];
    dbias[k] = (float)s;
}

/* Row-major products through column-major cuBLAS: a row-major (r x c) matrix
 * is a column-major (c x r) one. out (N,OC) = inp (N,C) w^T + bias. */
extern "C" ad_status ad_cuda_matmul_fwd(float *out, const float *inp, const float *w, const float *bias, int N,
                                        int C, int OC, ad_error *err) {
    cublasHandle_t h = blas_handle();
    if (!h) return ad_fail(err, AD_ERR_DEVICE, "cuBLAS could not be initialised");
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t s = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, &one, w, C, inp, C, &zero, out, OC);
    if (s != CUBLAS_STATUS_SUCCESS) return blas_fail(err, s, "matmul forward");
    if (bias) add_bias_k<<<grid((size_t)N * OC), AD_THREADS>>>(out, bias, N, OC);
    return launched(err, "matmul bias");
}

/* dinp (N,C) = dout (N,OC) w; dw (OC,C) = dout^T inp; dbias (OC) = column sums of dout */
extern "C" ad_status ad_cuda_matmul_bwd(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                        const float *w, int N, int C, int OC, ad_error *err) {
    cublasHandle_t h = blas_handle();
    if (!h) return ad_fail(err, AD_ERR_DEVICE, "cuBLAS could not be initialised");
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t s = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, &one, w, C, dout, OC, &zero, dinp, C);
    if (s != CUBLAS_STATUS_SUCCESS) return blas_fail(err, s, "matmul backward (input)");
    s = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, &one, inp, C, dout, OC, &zero, dw, C);
    if (s != CUBLAS_STATUS_SUCCESS) return blas_fail(err, s, "matmul backward (weights)");
    if (dbias) bias_grad_k<<<grid(OC), AD_THREADS>>>(dbias, dout, N, OC);
    return launched(err, "matmul bias gradient");
}

/* ----------------------------------------------------- relu and dropout */

__global__ static void relu_fwd_k(float *out, const float *inp, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = inp[i] > 0 ? inp[i] : 0;
}

__global__ static void relu_bwd_k(float *dinp, const float *dout, const float *inp, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dinp[i] = inp[i] > 0 ? dout[i] : 0;
}

extern "C" ad_status ad_cuda_relu_fwd(float *out, const float *inp, size_t n, ad_error *err) {
    relu_fwd_k<<<grid(n), AD_THREADS>>>(out, inp, n);
    return launched(err, "relu forward");
}

extern "C" ad_status ad_cuda_relu_bwd(float *dinp, const float *dout, const float *inp, size_t n, ad_error *err) {
    relu_bwd_k<<<grid(n), AD_THREADS>>>(dinp, dout, inp, n);
    return launched(err, "relu backward");
}

/* element e of the (B,T,C) activation: batch row e / slab, index e % slab in its slab */
__device__ static float elem_mult(const ad_elem_drop d, size_t e, size_t slab) {
    if (!(d.p > 0.0f)) return 1.0f;
    ad_rng r = d.base;
    r.ctr3 += (uint32_t)(e / slab);
    return ad_u32_hd(&r, (uint64_t)(e % slab)) >= d.thresh ? d.scale : 0.0f;
}

__global__ static void residual_dropout_fwd_k(float *out, const float *res, const float *inp, ad_elem_drop d,
                                              size_t n, size_t slab) {
    size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n) out[e] = __fadd_rn(res[e], __fmul_rn(inp[e], elem_mult(d, e, slab))); /* no fused multiply-add */
}

__global__ static void dropout_bwd_k(float *dinp, const float *dout, ad_elem_drop d, size_t n, size_t slab) {
    size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n) dinp[e] = dout[e] * elem_mult(d, e, slab);
}

static ad_elem_drop no_drop(void) {
    ad_elem_drop d;
    memset(&d, 0, sizeof d);
    return d;
}

extern "C" ad_status ad_cuda_residual_dropout_fwd(float *out, const float *res, const float *inp,
                                                  const ad_elem_drop *d, int B, int T, int C, ad_error *err) {
    size_t slab = (size_t)T * C, n = (size_t)B * slab;
    residual_dropout_fwd_k<<<grid(n), AD_THREADS>>>(out, res, inp, d ? *d : no_drop(), n, slab);
    return launched(err, "residual dropout forward");
}

extern "C" ad_status ad_cuda_dropout_bwd(float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C,
                                         ad_error *err) {
    size_t slab = (size_t)T * C, n = (size_t)B * slab;
    dropout_bwd_k<<<grid(n), AD_THREADS>>>(dinp, dout, d ? *d : no_drop(), n, slab);
    return launched(err, "dropout backward");
}

/* -------------------------------------------------------- cross-entropy */

/* probs of row n and its loss */
__global__ static void crossentropy_fwd_k(float *probs, double *row_loss, const float *logits, const int *targets,
                                          int N, int V) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    const float *l = logits + (size_t)n * V;
    float *p = probs + (size_t)n * V;
    float mx = l[0];
    for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    double sum = 0.0;
    for (int v = 0; v < V; v++) { p[v] = expf(l[v] - mx); sum += p[v]; }
    float inv = (float)(1.0 / sum);
    for (int v = 0; v < V; v++) p[v] *= inv;
    row_loss[n] = -((double)(l[targets[n]] - mx) - log(sum));
}

/* the CPU kernel's blocks of R rows, each summed in order */
__global__ static void loss_blocks_k(double *part, const double *row_loss, int N, int R) {
    int t = blockIdx.x * blockDim.x + threadIdx.x, nb = (N + R - 1) / R;
    if (t >= nb) return;
    double s = 0.0;
    for (int n = t * R; n < N && n < (t + 1) * R; n++) s += row_loss[n];
    part[t] = s;
}

/* loss: the mean over the rows, summed as the CPU kernel sums them; row_loss
 * (N) and part (1024) device scratch */
extern "C" ad_status ad_cuda_crossentropy_fwd(float *probs, double *loss, double *row_loss, double *part,
                                              const float *logits, const int *targets, int N, int V, ad_error *err) {
    int R = N / 1024 + 1, nb = (N + R - 1) / R;
    crossentropy_fwd_k<<<grid(N), AD_THREADS>>>(probs, row_loss, logits, targets, N, V);
    loss_blocks_k<<<grid(nb), AD_THREADS>>>(part, row_loss, N, R);
    ad_status s = launched(err, "cross-entropy forward");
    if (s) return s;
    double host[1024], total = 0.0;
    cudaError_t e = cudaMemcpy(host, part, (size_t)nb * sizeof(double), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) return ad_fail(err, AD_ERR_DEVICE, "CUDA loss copy: %s", cudaGetErrorString(e));
    for (int t = 0; t < nb; t++) total += host[t];
    *loss = total / N;
    return AD_OK;
}

__global__ static void crossentropy_bwd_k(float *dlogits, const float *probs, const int *targets, int N, int V) {
    size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (size_t)N * V) return;
    float inv = (float)(1.0 / N);
    int n = (int)(e / V), v = (int)(e % V);
    dlogits[e] = probs[e] * inv - (v == targets[n] ? inv : 0.0f);
}

extern "C" ad_status ad_cuda_crossentropy_bwd(float *dlogits, const float *probs, const int *targets, int N, int V,
                                              ad_error *err) {
    crossentropy_bwd_k<<<grid((size_t)N * V), AD_THREADS>>>(dlogits, probs, targets, N, V);
    return launched(err, "cross-entropy backward");
}

/* ---------------------------------------------------------------- AdamW */

__global__ static void adamw_k(float *p, const float *g, float *mm, float *vv, size_t n, ad_adamw_step_k k) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) ad_adamw_update_hd(&p[i], &mm[i], &vv[i], g[i], &k);
}

/* the update of ad_model_adamw_step */
extern "C" ad_status ad_cuda_adamw(float *p, const float *g, float *m, float *v, size_t n, const ad_adamw_step_k *k,
                                   ad_error *err) {
    adamw_k<<<grid(n), AD_THREADS>>>(p, g, m, v, n, *k);
    return launched(err, "AdamW");
}
