/* test_cuda.c - the GPU attention (src/cuda/attention.cu) against the CPU
 * kernels, every scheme, forward and backward, on a GPU: the same masks (the
 * same zero rows, outputs within fp32 rounding). Built without CUDA, or run
 * without a GPU, it prints a SKIP line. */
#include "attndrop.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>
#ifdef AD_CUDA
#include "cuda/ad_cuda.h"
#include "dropout.h"
#include "kernels.h"
#include <cuda_runtime_api.h>
#include <time.h>

static void *dev(size_t bytes) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes) != cudaSuccess) { fprintf(stderr, "cudaMalloc of %zu bytes failed\n", bytes); exit(2); }
    return p;
}

static void up(void *d, const void *h, size_t n) { cudaMemcpy(d, h, n, cudaMemcpyHostToDevice); }
static void down(void *h, const void *d, size_t n) { cudaMemcpy(h, d, n, cudaMemcpyDeviceToHost); }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* every scheme at one shape; returns 0 on a CUDA failure */
static void shape(int B, int T, int C, int H, float p) {
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, nst = (size_t)B * H * T * 2, nd = (size_t)B * H * T * T;
    float *qkv = malloc(nq * 4), *dout = malloc(no * 4), *o_ref = malloc(no * 4), *o_gpu = malloc(no * 4);
    float *st_ref = malloc(nst * 4), *st_gpu = malloc(nst * 4), *d_ref = malloc(nq * 4), *d_gpu = malloc(nq * 4);
    float *scratch = malloc((size_t)3 * T * T * ad_get_threads() * 4);
    ad_rng g = ad_rng_stream(7, AD_RNG_TEST, 4, 0, 0);
    for (size_t k = 0; k < nq; k++) qkv[k] = (float)(2.0 * ad_rng_uniform(&g, k) - 1.0);
    for (size_t k = 0; k < no; k++) dout[k] = (float)(2.0 * ad_rng_uniform(&g, nq + k) - 1.0);
    float *Dq = dev(nq * 4), *Dd = dev(no * 4), *Do = dev(no * 4), *Dst = dev(nst * 4), *Ddq = dev(nq * 4);
    unsigned char *Ddrop = dev(nd);
    int *Didx = dev(nd * sizeof(int));
    up(Dq, qkv, nq * 4);
    up(Dd, dout, no * 4);
    ad_error err = {0};
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
        ad_drop_site s = {(ad_scheme)sc, p, 1234, 9, 2, H, T, 0, 0};
        ad_attn_drop d = ad_attn_drop_make(&s);
        const ad_attn_drop *dp = ad_attn_drop_active(&d) ? &d : NULL;
        ad_k_attention_fwd_f(o_ref, st_ref, scratch, qkv, NULL, dp, B, T, C, H, ad_get_threads());
        ad_k_attention_bwd_f(d_ref, scratch, dout, qkv, st_ref, dp, B, T, C, H, ad_get_threads());
        int ok = 1;
        if (dp && s.scheme == AD_SCHEME_FIXEDCOUNT) ok &= ad_cuda_fixedcount(Ddrop, Didx, &s, B, &err) == AD_OK;
        double t0 = now();
        ok &= ad_cuda_attention_fwd(Do, Dst, Dq, dp ? &s : NULL, Ddrop, B, T, C, H, &err) == AD_OK;
        ok &= cudaDeviceSynchronize() == cudaSuccess;
        double t1 = now();
        ok &= ad_cuda_attention_bwd(Ddq, Dd, Dq, Do, Dst, dp ? &s : NULL, Ddrop, B, T, C, H, &err) == AD_OK;
        ok &= cudaDeviceSynchronize() == cudaSuccess;
        double t2 = now();
        CHECK(ok, "B%d T%d %s: CUDA failed: %s", B, T, ad_scheme_get((ad_scheme)sc)->name, err.msg);
        if (!ok) continue;
        down(o_gpu, Do, no * 4);
        down(st_gpu, Dst, nst * 4);
        down(d_gpu, Ddq, nq * 4);
        int zeros_same = 1;
        for (size_t k = 0; k < nst; k += 2) zeros_same &= (st_ref[k] == -INFINITY) == (st_gpu[k] == -INFINITY);
        double eo = rel_err(o_gpu, o_ref, no, 1e-6), ed = rel_err(d_gpu, d_ref, nq, 1e-6);
        printf("B%d T%d C%d H%d %-11s out %.2g dqkv %.2g  fwd %.2f ms bwd %.2f ms\n", B, T, C, H,
               ad_scheme_get((ad_scheme)sc)->name, eo, ed, 1e3 * (t1 - t0), 1e3 * (t2 - t1));
        CHECK(zeros_same, "B%d T%d %s: the GPU's zero rows differ from the CPU's", B, T, ad_scheme_get((ad_scheme)sc)->name);
        CHECK(eo < 1e-5 && ed < 1e-4, "B%d T%d %s: GPU attention differs (out %.3g, dqkv %.3g)", B, T,
              ad_scheme_get((ad_scheme)sc)->name, eo, ed);
    }
    cudaFree(Dq); cudaFree(Dd); cudaFree(Do); cudaFree(Dst); cudaFree(Ddq); cudaFree(Ddrop); cudaFree(Didx);
    free(qkv); free(dout); free(o_ref); free(o_gpu); free(st_ref); free(st_gpu); free(d_ref); free(d_gpu); free(scratch);
}
#endif

int main(void) {
#ifndef AD_CUDA
    printf("SKIP: GPU attention (this build has no CUDA: make CUDA=1)\n");
    return 0;
#else
    ad_error err = {0};
    if (ad_device_check(AD_DEVICE_CUDA, &err) != AD_OK) {
        printf("SKIP: GPU attention (%s)\n", err.msg);
        return 0;
    }
    shape(2, 80, 48, 3, 0.3f);  /* every scheme, zero rows likely at p = 0.3 */
    shape(4, 256, 384, 6, 0.2f); /* the lecture's head size and block */
    return check_done("cuda");
#endif
}
