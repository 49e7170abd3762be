/* test_cuda.c - the CUDA back end against the CPU, on a GPU: every kernel of
 * src/gpu/layers.cu against its CPU kernel; the attention of
 * src/gpu/attention.cu for every scheme, forward and backward (the same
 * masks: the same zero rows, values within fp32 rounding), with its time per
 * call; and 20 training steps of every scheme on the GPU against the CPU.
 * Built with CUDA_EMUL=1 it runs the training comparison alone, on the CPU
 * emulation of the device (src/gpu/emul.c). Built without CUDA, or run
 * without a GPU, it prints a SKIP line. */
#include "attndrop.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>
#ifdef AD_CUDA
#include "gpu/ad_cuda.h"
#include "schemes/dropout.h"
#include "model/layers.h"
#include <time.h>
#ifndef AD_CUDA_EMUL
#include <cuda_runtime_api.h>

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
#endif

/* whole training runs: for every scheme, 20 steps of a model on the device
 * against the same model on the CPU, the same seed and batches: every loss
 * within 1e-4 (relative), and the weights at the end */
static void model_parity(void) {
    ad_config c = {13, 32, 48, 3, 2, 0.2f, AD_SCHEME_STANDARD, 0.3f, AD_SCHEDULE_CONSTANT};
    int B = 4, T = c.block_size, steps = 20;
    size_t n = 4000;
    int *data = malloc(n * sizeof(int)), *x = malloc((size_t)B * T * sizeof(int)), *y = malloc((size_t)B * T * sizeof(int));
    for (size_t i = 0; i < n; i++) data[i] = (int)((i * 7 + i / 3) % 13);
    ad_error err = {0};
    double worst_loss = 0, worst_w = 0;
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
        c.scheme = (ad_scheme)sc;
        ad_model *cpu = NULL, *gpu = NULL;
        CHECK(ad_model_create(&cpu, &c, B, 1, 3, &err) == AD_OK && ad_model_create(&gpu, &c, B, 1, 3, &err) == AD_OK,
              "%s", err.msg);
        int moved = ad_model_set_device(gpu, AD_DEVICE_CUDA, &err) == AD_OK;
        CHECK(moved && ad_model_device(gpu) == AD_DEVICE_CUDA, "%s: the model does not go to the GPU: %s",
              ad_scheme_get(c.scheme)->name, err.msg);
        if (!moved) { ad_model_free(cpu); ad_model_free(gpu); continue; }
        /* gpt.py's learning rate. At 10x it AdamW's first steps, about lr * sign(g) for every weight, turn the
         * rounding of gradients near zero into differences of lr, and the runs part by 1e-3 within 20 steps
         * on the CPU emulation already */
        ad_adamw opt = ad_adamw_default();
        double wl = 0;
        int ok = 1;
        for (int st = 0; st < steps && ok; st++) {
            float lc = NAN, lg = NAN;
            MUST(ad_get_batch(data, n, B, T, 5, AD_RNG_BATCH, (uint32_t)st, 0, x, y, &must_err));
            ok &= ad_model_forward(cpu, x, y, B, T, 1, 5, (uint64_t)st, &lc, &err) == AD_OK;
            ok &= ad_model_forward(gpu, x, y, B, T, 1, 5, (uint64_t)st, &lg, &err) == AD_OK;
            MUST(ad_model_backward(cpu, &must_err));
            MUST(ad_model_backward(gpu, &must_err));
            ok &= ad_model_check_grads(gpu, &err) == AD_OK;
            MUST(ad_model_adamw_step(cpu, &opt, st + 1, &must_err));
            MUST(ad_model_adamw_step(gpu, &opt, st + 1, &must_err));
            wl = fmax(wl, fabs((double)lg - lc) / fabs((double)lc));
        }
        ok &= ad_model_sync(gpu, &err) == AD_OK;
        size_t np = ad_model_num_params(cpu);
        double ww = rel_err(ad_model_params(gpu), ad_model_params(cpu), np, 1e-6);
        printf("model %-11s 20 steps: losses within %.2g, weights within %.2g\n", ad_scheme_get(c.scheme)->name, wl, ww);
        CHECK(ok, "%s: the GPU run failed: %s", ad_scheme_get(c.scheme)->name, err.msg);
        /* the criterion is the losses'; the weights are a looser check: AdamW turns the sign of a gradient
         * that is rounding noise around zero into a whole step of the learning rate */
        CHECK(wl < 1e-4 && ww < 1e-2, "%s: the GPU run differs from the CPU's (losses %.3g, weights %.3g)",
              ad_scheme_get(c.scheme)->name, wl, ww);
        worst_loss = fmax(worst_loss, wl);
        worst_w = fmax(worst_w, ww);
        if (sc == AD_SCHEME_STANDARD) { /* a batch split over processes scales the host's gradients: refused */
            ad_train_opts to = {.data = data, .n = n, .batch_size = B, .seed = 5, .opt = opt, .row0 = 0, .rows = B / 2};
            float l;
            ad_error e2 = {0};
            CHECK(ad_train_step(gpu, &to, 0, x, y, &l, &e2) == AD_ERR_DEVICE && strstr(e2.msg, "CPU only"),
                  "a split batch on the GPU was not refused (%s)", e2.msg);
        }
        /* home again: the CPU then carries on from the GPU's weights */
        CHECK(ad_model_set_device(gpu, AD_DEVICE_CPU, &err) == AD_OK && ad_model_device(gpu) == AD_DEVICE_CPU,
              "%s: the model does not come back from the GPU: %s", ad_scheme_get(c.scheme)->name, err.msg);
        ad_model_free(cpu);
        ad_model_free(gpu);
    }
    printf("model parity over every scheme: losses within %.2g, weights within %.2g\n", worst_loss, worst_w);
    /* what stays on the CPU says so */
    ad_model *inf = NULL;
    c.scheme = AD_SCHEME_STANDARD;
    CHECK(ad_model_create(&inf, &c, 1, 0, 3, &err) == AD_OK, "%s", err.msg);
    CHECK(ad_model_set_device(inf, AD_DEVICE_CUDA, &err) == AD_ERR_DEVICE && strstr(err.msg, "training model"),
          "an inference model went to the GPU (%s)", err.msg);
    ad_model_free(inf);
    free(data); free(x); free(y);
}

#ifndef AD_CUDA_EMUL
/* every scheme's attention at one shape, against the CPU kernels */
static void shape(int B, int T, int C, int H, float p) {
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, nst = (size_t)B * H * T * 2, nd = (size_t)B * H * T * T;
    float *qkv = malloc(nq * 4), *dout = malloc(no * 4), *o_ref = malloc(no * 4), *o_gpu = malloc(no * 4);
    float *st_ref = malloc(nst * 4), *st_gpu = malloc(nst * 4), *d_ref = malloc(nq * 4), *d_gpu = malloc(nq * 4);
    float *scratch = malloc(AD_ATT_SCRATCH(T, C / H) * ad_get_threads() * 4);
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
        double t0 = 0, t1 = 0, t2 = 0;
        for (int rep = 0; rep < 2; rep++) { /* the second pass timed: the first pays for loading the kernels */
            t0 = now();
            ok &= ad_cuda_attention_fwd(Do, Dst, Dq, dp ? &s : NULL, Ddrop, B, T, C, H, &err) == AD_OK;
            ok &= cudaDeviceSynchronize() == cudaSuccess;
            t1 = now();
            ok &= ad_cuda_attention_bwd(Ddq, Dd, Dq, Do, Dst, dp ? &s : NULL, Ddrop, B, T, C, H, &err) == AD_OK;
            ok &= cudaDeviceSynchronize() == cudaSuccess;
            t2 = now();
        }
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

/* The public op on device memory (ad_attention_forward_cuda/_backward_cuda)
 * against the CPU op (ad_attention_forward/_backward) on nanoGPT's views: q,
 * k, v and their gradients slices of one (B,T,3,H,D) tensor (as
 * qkv.split().view().transpose() gives), out and dout (B,H,T,D) contiguous;
 * every scheme, the same zero rows, values within fp32 rounding of the
 * different orders of the two algorithms. Then the calls it refuses. */
static void op_views(int B, int T, int H, int D, float p) {
    size_t nx = (size_t)B * T * 3 * H * D, no = (size_t)B * H * T * D, nst = (size_t)B * H * T * 2;
    int64_t sb = (int64_t)T * 3 * H * D, st = 3 * (int64_t)H * D;
    float *x = malloc(nx * 4), *go = malloc(no * 4), *o_ref = malloc(no * 4), *o_dev = malloc(no * 4);
    float *st_ref = malloc(nst * 4), *st_dev = malloc(nst * 4), *g_ref = malloc(nx * 4), *g_dev = malloc(nx * 4);
    size_t nscr = ad_attention_scratch_floats(T, D, ad_get_threads());
    float *scr = malloc(nscr * 4);
    ad_rng g = ad_rng_stream(5, AD_RNG_TEST, 6, 0, 0);
    for (size_t k = 0; k < nx; k++) x[k] = (float)(2.0 * ad_rng_uniform(&g, k) - 1.0);
    for (size_t k = 0; k < no; k++) go[k] = (float)(2.0 * ad_rng_uniform(&g, nx + k) - 1.0);
    ad_error err = {0};
    void *Dx = NULL, *Dgo = NULL, *Do = NULL, *Dst = NULL, *Dg = NULL, *Dscr = NULL;
    ad_drop_site fc = {AD_SCHEME_FIXEDCOUNT, p, 1, 0, 0, H, T, 0, 0};
    size_t nscr_dev = ad_attention_cuda_scratch_bytes(&fc, B, H, T);
    int ok = ad_cuda_alloc(&Dx, nx * 4, &err) == AD_OK && ad_cuda_alloc(&Dgo, no * 4, &err) == AD_OK &&
             ad_cuda_alloc(&Do, no * 4, &err) == AD_OK && ad_cuda_alloc(&Dst, nst * 4, &err) == AD_OK &&
             ad_cuda_alloc(&Dg, nx * 4, &err) == AD_OK && ad_cuda_alloc(&Dscr, nscr_dev, &err) == AD_OK &&
             ad_cuda_upload(Dx, x, nx * 4, &err) == AD_OK && ad_cuda_upload(Dgo, go, no * 4, &err) == AD_OK;
    CHECK(ok && nscr_dev == (size_t)B * H * T * T * 5, "op on device: setup failed (%s), fixedcount scratch %zu",
          err.msg, nscr_dev);
    if (!ok) return;
    /* the three slices of x and of its gradient */
#define SL(base, c) ((ad_view){(float *)(base) + (size_t)(c) * H * D, sb, D, st})
    ad_view q = SL(x, 0), k = SL(x, 1), v = SL(x, 2), dq = SL(g_ref, 0), dk = SL(g_ref, 1), dv = SL(g_ref, 2);
    ad_view Dq = SL(Dx, 0), Dk = SL(Dx, 1), Dv = SL(Dx, 2), Ddq = SL(Dg, 0), Ddk = SL(Dg, 1), Ddv = SL(Dg, 2);
#undef SL
    ad_view o = {o_ref, (int64_t)H * T * D, (int64_t)T * D, D}, gov = {go, o.stride_b, o.stride_h, D};
    ad_view Dov = {Do, o.stride_b, o.stride_h, D}, Dgov = {Dgo, o.stride_b, o.stride_h, D};
    float scale = 0.3f;
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
        if (ad_scheme_get((ad_scheme)sc)->where == AD_WHERE_INPUT) continue;
        ad_drop_site s = {(ad_scheme)sc, p, 99, 4, 1, H, T, 0, 3};
        const char *name = ad_scheme_get((ad_scheme)sc)->name;
        int good = ad_attention_forward(o, st_ref, q, k, v, B, H, T, D, scale, &s, scr, nscr, &err) == AD_OK &&
                   ad_attention_backward(dq, dk, dv, gov, q, k, v, st_ref, B, H, T, D, scale, &s, scr, nscr, &err) ==
                       AD_OK;
        good = good && ad_attention_forward_cuda(Dov, Dst, Dq, Dk, Dv, B, H, T, D, scale, &s, Dscr, nscr_dev, NULL,
                                                 &err) == AD_OK;
        good = good && ad_attention_backward_cuda(Ddq, Ddk, Ddv, Dgov, Dq, Dk, Dv, Dov, Dst, B, H, T, D, scale, &s,
                                                  Dscr, nscr_dev, NULL, &err) == AD_OK;
        good = good && ad_cuda_download(o_dev, Do, no * 4, &err) == AD_OK &&
               ad_cuda_download(st_dev, Dst, nst * 4, &err) == AD_OK &&
               ad_cuda_download(g_dev, Dg, nx * 4, &err) == AD_OK;
        CHECK(good, "op on device, %s: a call failed: %s", name, err.msg);
        if (!good) continue;
        int zeros_same = 1;
        for (size_t r = 0; r < nst; r += 2) zeros_same &= (st_ref[r] == -INFINITY) == (st_dev[r] == -INFINITY);
        double eo = rel_err(o_dev, o_ref, no, 1e-6), eg = rel_err(g_dev, g_ref, nx, 1e-6);
        CHECK(zeros_same, "op on device, %s: zero rows differ from the CPU op's", name);
        CHECK(eo < 1e-5 && eg < 1e-4, "op on device, %s: differs from the CPU op (out %.3g, grads %.3g)", name, eo, eg);
    }
    /* refused: fixedcount without its scratch, a head size above 128, a pre-softmax NULL stats */
    CHECK(ad_attention_forward_cuda(Dov, Dst, Dq, Dk, Dv, B, H, T, D, scale, &fc, NULL, 0, NULL, &err) == AD_ERR_ARG &&
              strstr(err.msg, "scratch"), "op on device: fixedcount without scratch was not refused (%s)", err.msg);
    CHECK(ad_attention_forward_cuda(Dov, Dst, Dq, Dk, Dv, B, H, T, 129, scale, NULL, NULL, 0, NULL, &err) ==
              AD_ERR_ARG && strstr(err.msg, "128"), "op on device: head size 129 was not refused (%s)", err.msg);
    CHECK(ad_attention_backward_cuda(Ddq, Ddk, Ddv, Dgov, Dq, Dk, Dv, Dov, NULL, B, H, T, D, scale, NULL, NULL, 0,
                                     NULL, &err) == AD_ERR_ARG && strstr(err.msg, "stats"),
          "op on device: NULL stats was not refused (%s)", err.msg);
    ad_cuda_free(Dx); ad_cuda_free(Dgo); ad_cuda_free(Do); ad_cuda_free(Dst); ad_cuda_free(Dg); ad_cuda_free(Dscr);
    free(x); free(go); free(o_ref); free(o_dev); free(st_ref); free(st_dev); free(g_ref); free(g_dev); free(scr);
}

#ifndef AD_CUDA_EMUL
/* random floats in [-1, 1), as a new host array and its device copy */
static float *rnd(size_t n, uint32_t tag, float **d) {
    float *h = malloc(n * sizeof(float));
    ad_rng g = ad_rng_stream(11, AD_RNG_TEST, tag, 0, 0);
    for (size_t k = 0; k < n; k++) h[k] = (float)(2.0 * ad_rng_uniform(&g, k) - 1.0);
    *d = dev(n * sizeof(float));
    up(*d, h, n * sizeof(float));
    return h;
}

/* the device array d (n floats) against the host's ref: max relative error */
static double cmp(const float *d, const float *ref, size_t n, int *exact) {
    float *h = malloc(n * sizeof(float));
    down(h, d, n * sizeof(float));
    double e = rel_err(h, ref, n, 1e-6);
    if (exact) *exact = memcmp(h, ref, n * sizeof(float)) == 0;
    free(h);
    return e;
}

/* every other kernel against its CPU kernel at one shape */
static void kernels(void) {
    int B = 4, T = 64, C = 96, V = 65, N = B * T, OC = 4 * C;
    size_t nc = (size_t)N * C, no = (size_t)N * OC, nv = (size_t)N * V;
    ad_error err = {0};
    int ok = 1, exact;
    float *Dx, *Dw, *Db, *Dd, *Dr, *Dy = dev(no * 4), *Dz = dev(no * 4), *Dm = dev(N * 4), *Ds = dev(N * 4);
    float *x = rnd(no, 1, &Dx), *w = rnd((size_t)OC * C, 2, &Dw), *bias = rnd(OC, 3, &Db), *dy = rnd(no, 4, &Dd);
    float *res = rnd(nc, 5, &Dr);
    float *y = malloc(no * 4), *z = malloc(no * 4), *mean = malloc(N * 4), *rstd = malloc(N * 4);
    float *gw = malloc((size_t)OC * C * 4), *gb = malloc(OC * 4), *Dgw = dev((size_t)OC * C * 4), *Dgb = dev(OC * 4);

    /* matmul: (N, C) x (OC, C)^T + bias, and its backward */
    ad_k_matmul_fwd_f(y, NULL, x, w, bias, N, C, OC);
    ok &= ad_cuda_matmul_fwd(Dy, Dx, Dw, Db, N, C, OC, &err) == AD_OK;
    double e1 = cmp(Dy, y, no, NULL);
    ad_k_matmul_bwd_f(z, gw, gb, NULL, dy, x, w, N, C, OC, 0);
    ok &= ad_cuda_matmul_bwd(Dz, Dgw, Dgb, Dd, Dx, Dw, N, C, OC, &err) == AD_OK;
    double e2 = fmax(cmp(Dz, z, nc, NULL), fmax(cmp(Dgw, gw, (size_t)OC * C, NULL), cmp(Dgb, gb, OC, NULL)));
    printf("matmul fwd %.2g bwd %.2g\n", e1, e2);
    CHECK(ok && e1 < 1e-5 && e2 < 1e-5, "matmul on the GPU differs (fwd %.3g, bwd %.3g): %s", e1, e2, err.msg);

    /* layernorm of x's first N x C */
    ad_k_layernorm_fwd_f(y, mean, rstd, x, w, bias, N, C, 1e-5f);
    ok &= ad_cuda_layernorm_fwd(Dy, Dm, Ds, Dx, Dw, Db, N, C, 1e-5f, &err) == AD_OK;
    double e3 = fmax(cmp(Dy, y, nc, NULL), fmax(cmp(Ds, rstd, N, NULL), cmp(Dm, mean, N, NULL)));
    memcpy(z, res, nc * 4);
    up(Dz, res, nc * 4);
    ad_k_layernorm_bwd_f(z, gw, gb, dy, x, w, mean, rstd, N, C);
    ok &= ad_cuda_layernorm_bwd(Dz, Dgw, Dgb, Dd, Dx, Dw, Dm, Ds, N, C, &err) == AD_OK;
    double e4 = fmax(cmp(Dz, z, nc, NULL), fmax(cmp(Dgw, gw, C, NULL), cmp(Dgb, gb, C, NULL)));
    printf("layernorm fwd %.2g bwd %.2g\n", e3, e4);
    CHECK(ok && e3 < 1e-5 && e4 < 1e-5, "layernorm on the GPU differs (fwd %.3g, bwd %.3g): %s", e3, e4, err.msg);

    /* relu, the residual dropout and its backward: the same masks, so the same bits */
    ad_k_relu_fwd_f(y, x, no);
    ok &= ad_cuda_relu_fwd(Dy, Dx, no, &err) == AD_OK;
    cmp(Dy, y, no, &exact);
    CHECK(ok && exact, "relu forward on the GPU differs");
    ad_k_relu_bwd_f(y, dy, x, no);
    ok &= ad_cuda_relu_bwd(Dy, Dd, Dx, no, &err) == AD_OK;
    cmp(Dy, y, no, &exact);
    CHECK(ok && exact, "relu backward on the GPU differs");
    ad_elem_drop ed = ad_elem_drop_make(0.3f, 4242, AD_RNG_RESID, 17, 3);
    ad_k_residual_dropout_fwd_f(y, res, x, &ed, B, T, C);
    ok &= ad_cuda_residual_dropout_fwd(Dy, Dr, Dx, &ed, B, T, C, &err) == AD_OK;
    cmp(Dy, y, nc, &exact);
    CHECK(ok && exact, "residual dropout on the GPU differs from the CPU's (masks or arithmetic)");
    ad_k_dropout_bwd_f(y, dy, &ed, B, T, C);
    ok &= ad_cuda_dropout_bwd(Dy, Dd, &ed, B, T, C, &err) == AD_OK;
    cmp(Dy, y, nc, &exact);
    CHECK(ok && exact, "dropout backward on the GPU differs");

    /* encoder: token ids, token multipliers (word dropout), and its accumulating backward */
    int *idx = malloc(N * sizeof(int)), *Didx = dev(N * sizeof(int));
    for (int k = 0; k < N; k++) idx[k] = (k * 7 + 3) % V;
    up(Didx, idx, N * sizeof(int));
    float *tm = malloc(N * 4), *Dtm = dev(N * 4);
    for (int k = 0; k < N; k++) tm[k] = k % 5 ? 1.25f : 0.0f;
    up(Dtm, tm, N * 4);
    /* wte (V,C) and wpe (T,C): the first rows of w and x */
    ok &= ad_cuda_encoder_fwd(Dy, Didx, Dw, Dx, Dtm, B, T, C, &err) == AD_OK;
    ad_k_encoder_fwd_f(y, idx, w, x, tm, B, T, C);
    cmp(Dy, y, nc, &exact);
    CHECK(ok && exact, "encoder forward on the GPU differs");
    memset(gw, 0, (size_t)V * C * 4);
    memset(z, 0, (size_t)T * C * 4);
    cudaMemset(Dgw, 0, (size_t)V * C * 4);
    cudaMemset(Dz, 0, (size_t)T * C * 4);
    ad_k_encoder_bwd_f(gw, z, dy, idx, tm, B, T, C);
    ok &= ad_cuda_encoder_bwd(Dgw, Dz, Dd, Didx, Dtm, B, T, C, &err) == AD_OK;
    double e5 = fmax(cmp(Dgw, gw, (size_t)V * C, NULL), cmp(Dz, z, (size_t)T * C, NULL));
    printf("encoder bwd %.2g\n", e5);
    CHECK(ok && e5 < 1e-6, "encoder backward on the GPU differs (%.3g)", e5);

    /* cross-entropy on logits x (N, V) */
    double loss_cpu = ad_k_crossentropy_fwd_f(y, x, idx, N, V), loss_gpu = 0;
    double *Drow = dev(N * sizeof(double)), *Dpart = dev(1024 * sizeof(double));
    ok &= ad_cuda_crossentropy_fwd(Dy, &loss_gpu, Drow, Dpart, Dx, Didx, N, V, &err) == AD_OK;
    double e6 = cmp(Dy, y, nv, NULL);
    ad_k_crossentropy_bwd_f(z, y, idx, N, V);
    ok &= ad_cuda_crossentropy_bwd(Dz, Dy, Didx, N, V, &err) == AD_OK;
    double e7 = cmp(Dz, z, nv, NULL);
    printf("cross-entropy loss %.9g vs %.9g, probs %.2g, dlogits %.2g\n", loss_gpu, loss_cpu, e6, e7);
    CHECK(ok && fabs(loss_gpu - loss_cpu) < 1e-6 * fabs(loss_cpu) && e6 < 1e-5 && e7 < 1e-5,
          "cross-entropy on the GPU differs (loss %.9g vs %.9g, probs %.3g, dlogits %.3g)", loss_gpu, loss_cpu, e6, e7);

    /* AdamW: one update of x by gradient dy with moments w, res */
    size_t np = nc;
    float *p2 = malloc(np * 4), *m2 = malloc(np * 4), *v2 = malloc(np * 4);
    memcpy(p2, x, np * 4);
    memcpy(m2, res, np * 4);
    for (size_t k = 0; k < np; k++) v2[k] = fabsf(w[k % ((size_t)OC * C)]);
    float *Dp = dev(np * 4), *Dmm = dev(np * 4), *Dvv = dev(np * 4);
    up(Dp, p2, np * 4);
    up(Dmm, m2, np * 4);
    up(Dvv, v2, np * 4);
    float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, decay = 1.0f - 3e-4f * 0.01f, step = 3e-4f / 0.1f, bc2 = sqrtf(0.002f);
    for (size_t k = 0; k < np; k++) { /* the CPU's update, as ad_model_adamw_step writes it */
        float gi = dy[k];
        p2[k] *= decay;
        m2[k] = b1 * m2[k] + (1.0f - b1) * gi;
        v2[k] = b2 * v2[k] + (1.0f - b2) * gi * gi;
        p2[k] -= step * (m2[k] / (sqrtf(v2[k]) / bc2 + eps));
    }
    ad_adamw_step_k k = {b1, b2, eps, decay, step, bc2};
    ok &= ad_cuda_adamw(Dp, Dd, Dmm, Dvv, np, &k, &err) == AD_OK;
    double e8 = cmp(Dp, p2, np, NULL);
    printf("AdamW %.2g\n", e8);
    CHECK(ok && e8 < 1e-6, "AdamW on the GPU differs (%.3g)", e8);
    CHECK(cudaDeviceSynchronize() == cudaSuccess, "a GPU kernel failed");
}
#endif
#endif

int main(void) {
#ifndef AD_CUDA
    printf("SKIP: GPU attention (this build has no CUDA: make CUDA=1)\n");
    return 0;
#elif defined(AD_CUDA_EMUL)
    printf("the GPU path emulated on the CPU (src/gpu/emul.c): the model's device mirror and the row attention, "
           "not the CUDA kernels\n");
    model_parity();
    op_views(2, 40, 3, 16, 0.4f);
    return check_done("cuda (emulated)");
#else
    ad_error err = {0};
    if (ad_device_check(AD_DEVICE_CUDA, &err) != AD_OK) {
        printf("SKIP: GPU attention (%s)\n", err.msg);
        return 0;
    }
    kernels();
    shape(2, 80, 48, 3, 0.3f);  /* every scheme, zero rows likely at p = 0.3 */
    shape(4, 256, 384, 6, 0.2f); /* the lecture's head size and block */
    op_views(2, 40, 3, 16, 0.4f);
    op_views(4, 256, 6, 64, 0.2f);
    model_parity();
    return check_done("cuda");
#endif
}
