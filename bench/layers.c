/* layers.c - per-kernel microbenchmark of the library's float kernels
 * (src/model/layers.h): each forward and backward that a training step runs, at the
 * shapes of three model configurations (tiny, small and the lecture's), with
 * the matmul at each of the model's five shapes and attention with the
 * `standard` scheme at p = 0.2 and with `none`.
 *
 * How: every buffer is allocated once, for the largest configuration asked
 * for, and filled with LCG pseudo-random values (token ids in [0, V)). Each
 * kernel is warmed up, then called until a minimum time has passed (0.2 s;
 * 0.01 s with --quick); the best of 5 such repeats is its time per call, as
 * the machine may be shared and noisy, and the repeats are interleaved across
 * kernels to spread them in time; each configuration's header says how long
 * an empty OpenMP parallel region took, which shows whether other work held
 * a core. Nothing is allocated while timing.
 * Besides microseconds per call, a row gives GFLOP/s (matmul, attention) or
 * GB/s (the memory-bound kernels, counting each array read or written once)
 * and the share of the sgemm rate: cblas_sgemm's GFLOP/s measured the same way
 * at the configuration's qkv shape (N = B*T, K = C, M = 3C).
 *
 * usage: bench_layers [--threads N] [--config tiny|small|lecture|all] [--quick] [--csv FILE] */
#include "attndrop.h"
#include "schemes/dropout.h"
#include "model/layers.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define V 65     /* vocabulary: the lecture's tiny Shakespeare */
#define REPEATS 5
#define P_DROP 0.2f

typedef struct { const char *name; int B, T, C, H; } config;
static const config CONFIGS[] = {
    {"tiny", 16, 32, 64, 4}, {"small", 32, 64, 128, 4}, {"lecture", 64, 256, 384, 6}};
#define N_CONFIGS (int)(sizeof CONFIGS / sizeof CONFIGS[0])

typedef enum {
    K_ENCODER, K_LAYERNORM, K_QKV, K_PROJ, K_FC, K_FC2, K_LM_HEAD, K_RELU, K_RESDROP, K_ATT_STD, K_ATT_NONE,
    K_ATT_STEP, K_CE, K_COUNT, K_SGEMM = K_COUNT
} kernel;
static const char *const NAMES[] = {"encoder", "layernorm", "matmul_qkv", "matmul_proj", "matmul_fc", "matmul_fc2",
                                    "matmul_lm_head", "relu", "residual_dropout", "attention_standard",
                                    "attention_none", "attention_step", "crossentropy"};

/* Every buffer, sized for the largest configuration run. */
typedef struct {
    float *x, *y, *z, *dx;          /* (N, max(4C, V)): inputs, outputs, upstream gradients, input gradients */
    float *w, *w2, *dw, *dw2;       /* max(4C*C, V*C, T*C): weights (wte, wpe) and their gradients */
    float *bias, *dbias;            /* max(4C, V) */
    float *mean, *rstd, *stats, *scratch, *gscratch;
    unsigned char *zero_rows;
    int *idx;
    ad_attn_drop att_std, att_none;
    ad_elem_drop edrop;
    int n_scratch;
} buffers;

static volatile double sink; /* keeps the cross-entropy's loss alive */
static uint64_t lcg_state = 0x853c49e6748fea9bULL;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(lcg_state >> 33);
}

/* n floats uniform in [-1, 1) */
static float *falloc(size_t n) {
    float *p = malloc(n * sizeof(float));
    if (!p) { fprintf(stderr, "bench_layers: out of memory (%zu floats)\n", n); exit(1); }
    for (size_t i = 0; i < n; i++) p[i] = (float)lcg() / 2147483648.0f - 1.0f;
    return p;
}

static size_t max3(size_t a, size_t b, size_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

/* The matmul shapes: in and out features of each of the five. */
static void mm_shape(kernel k, int C, int *in, int *out) {
    static const int mul_in[] = {1, 1, 1, 4, 1}, mul_out[] = {3, 1, 4, 1, 0};
    *in = mul_in[k - K_QKV] * C;
    *out = k == K_LM_HEAD ? V : mul_out[k - K_QKV] * C;
}

/* One call of kernel k (bwd: its backward) at cf; the forward of a kernel runs before its backward. */
static void call(const buffers *b, const config *cf, kernel k, int bwd) {
    int B = cf->B, T = cf->T, C = cf->C, H = cf->H, N = B * T, in, oc;
    switch (k) {
    case K_ENCODER:
        if (bwd) ad_k_encoder_bwd_f(b->dw, b->dw2, b->z, b->idx, NULL, B, T, C);
        else ad_k_encoder_fwd_f(b->y, b->idx, b->w, b->w2, NULL, B, T, C);
        break;
    case K_LAYERNORM:
        if (bwd) ad_k_layernorm_bwd_f(b->dx, b->dw, b->dbias, b->z, b->x, b->w, b->mean, b->rstd, N, C);
        else ad_k_layernorm_fwd_f(b->y, b->mean, b->rstd, b->x, b->w, b->bias, N, C, 1e-5f);
        break;
    case K_QKV: case K_PROJ: case K_FC: case K_FC2: case K_LM_HEAD:
        mm_shape(k, C, &in, &oc); /* qkv has no bias, as in the model */
        if (bwd)
            ad_k_matmul_bwd_f(b->dx, b->dw, k == K_QKV ? NULL : b->dbias, b->gscratch, b->z, b->x, b->w, N, in, oc,
                              b->n_scratch);
        else ad_k_matmul_fwd_f(b->y, b->gscratch, b->x, b->w, k == K_QKV ? NULL : b->bias, N, in, oc);
        break;
    case K_RELU: /* on the feed-forward hidden layer (N, 4C) */
        if (bwd) ad_k_relu_bwd_f(b->dx, b->z, b->x, (size_t)N * 4 * C);
        else ad_k_relu_fwd_f(b->y, b->x, (size_t)N * 4 * C);
        break;
    case K_RESDROP:
        if (bwd) ad_k_dropout_bwd_f(b->dx, b->z, &b->edrop, B, T, C);
        else ad_k_residual_dropout_fwd_f(b->y, b->x, b->z, &b->edrop, B, T, C);
        break;
    case K_ATT_STD: case K_ATT_NONE: {
        const ad_attn_drop *d = k == K_ATT_STD ? &b->att_std : &b->att_none;
        if (bwd) ad_k_attention_bwd_f(b->dx, b->scratch, b->z, b->x, b->stats, d, B, T, C, H, b->n_scratch);
        else ad_k_attention_fwd_f(b->y, b->stats, b->scratch, b->x, k == K_ATT_STD ? b->zero_rows : NULL, d, B, T,
                                  C, H, b->n_scratch);
        break;
    }
    case K_ATT_STEP: /* one token at the last position of a cached sequence of T (inference: no backward) */
        ad_k_attention_step_f(b->y, b->scratch, b->x, b->z, T, C, H);
        break;
    case K_CE:
        if (bwd) ad_k_crossentropy_bwd_f(b->dx, b->y, b->idx, N, V);
        else sink = ad_k_crossentropy_fwd_f(b->y, b->x, b->idx, N, V);
        break;
    case K_SGEMM: /* the model's forward form: (N, C) times (3C, C) transposed */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, 3 * C, C, 1.0f, b->x, C, b->w, C, 0.0f, b->y, 3 * C);
        break;
    }
}

/* the sgemm reference and the KV-cache step have no backward */
static int has_bwd(kernel k) { return k != K_SGEMM && k != K_ATT_STEP; }

/* Seconds per call of one repeat: calls until min_s has passed, after a warm-up of min_s / 4 if warm. */
static double time_kernel(const buffers *b, const config *cf, kernel k, int bwd, double min_s, int warm) {
    double t0 = now(), dt;
    if (warm) do call(b, cf, k, bwd); while (now() - t0 < min_s / 4);
    long n = 0;
    t0 = now();
    do { call(b, cf, k, bwd); n++; dt = now() - t0; } while (dt < min_s);
    return dt / n;
}

/* Microseconds of an empty OpenMP parallel region: about 1 on free cores, ms when other work holds one. */
static double fork_join_us(void) {
    int n = 0;
    double t0 = now(), dt;
    do {
#pragma omp parallel
        { volatile int busy = 0; (void)busy; } /* an empty region is optimised away */
        n++;
        dt = now() - t0;
    } while (dt < 0.02 && n < 1000);
    return 1e6 * dt / n;
}

/* FLOPs of a call (0: an element-wise kernel, reported in GB/s). Attention counts the full T x T square. */
static double flops(const config *cf, kernel k, int bwd) {
    double N = (double)cf->B * cf->T;
    int in, oc;
    if (k >= K_QKV && k <= K_LM_HEAD) { mm_shape(k, cf->C, &in, &oc); return (bwd ? 4 : 2) * N * in * oc; }
    if (k == K_ATT_STD || k == K_ATT_NONE) return (bwd ? 8 : 4) * N * cf->T * cf->C; /* 2*2*B*H*T*T*hs, x2 */
    if (k == K_SGEMM) return 2 * N * cf->C * 3 * cf->C;
    if (k == K_ATT_STEP) return 4.0 * cf->T * cf->C; /* q.k and the weighted sum over T cached positions */
    return 0;
}

/* Bytes of a call: each array read or written once (an accumulated one twice). */
static double bytes(const config *cf, kernel k, int bwd) {
    double N = (double)cf->B * cf->T, C = cf->C, T = cf->T, NC = N * C;
    switch (k) {
    case K_ENCODER: return 4 * (bwd ? NC + N + 2 * (V * C + T * C) : NC + N + V * C + T * C);
    case K_LAYERNORM: return 4 * (bwd ? 4 * NC + 2 * N + 3 * C : 2 * NC + 2 * N + 2 * C);
    case K_RELU: return 4 * (bwd ? 3 : 2) * 4 * NC;
    case K_RESDROP: return 4 * (bwd ? 2 : 3) * NC;
    case K_CE: return 4 * (2 * N * V + N);
    default: return 0;
    }
}

typedef struct { FILE *csv; int threads; double min_s; } options;

/* The repeats are interleaved: each of REPEATS passes times every kernel once,
 * so that a burst of other work on the machine spoils one repeat of many
 * kernels rather than every repeat of one. The first pass warms up. */
static void bench_config(const buffers *b, const config *cf, const options *o) {
    double best[K_COUNT + 1][2];
    for (int k = 0; k <= K_COUNT; k++) best[k][0] = best[k][1] = INFINITY;
    double fj_lo = INFINITY, fj_hi = 0;
    for (int r = 0; r < REPEATS; r++) {
        double fj = fork_join_us();
        fj_lo = fj < fj_lo ? fj : fj_lo;
        fj_hi = fj > fj_hi ? fj : fj_hi;
        for (int k = 0; k <= K_COUNT; k++)
            for (int bwd = 0; bwd < (has_bwd((kernel)k) ? 2 : 1); bwd++) { /* a kernel's forward before its backward */
                double t = time_kernel(b, cf, (kernel)k, bwd, o->min_s, r == 0);
                if (t < best[k][bwd]) best[k][bwd] = t;
            }
    }
    double sg = flops(cf, K_SGEMM, 0) / best[K_SGEMM][0] / 1e9;
    int N = cf->B * cf->T;
    printf("#\n# %s: B=%d T=%d C=%d H=%d V=%d (N=%d); sgemm rate %.1f GFLOP/s (N=%d K=%d M=%d)\n", cf->name, cf->B,
           cf->T, cf->C, cf->H, V, N, sg, N, cf->C, 3 * cf->C);
    printf("# an empty parallel region took %.1f to %.1f us over the passes%s\n", fj_lo, fj_hi,
           fj_hi > 50 ? ": other work held a core, so some repeats are spoilt" : "");
    printf("%-8s %-19s %-4s %11s %9s %8s %7s\n", "config", "kernel", "dir", "us/call", "GFLOP/s", "GB/s", "%sgemm");
    for (int k = 0; k < K_COUNT; k++)
        for (int bwd = 0; bwd < (has_bwd((kernel)k) ? 2 : 1); bwd++) {
            double s = best[k][bwd], f = flops(cf, (kernel)k, bwd);
            double by = bytes(cf, (kernel)k, bwd), gf = f / s / 1e9, gb = by / s / 1e9;
            char fs[16] = "-", bs[16] = "-", ps[16] = "-";
            if (f > 0) { snprintf(fs, sizeof fs, "%.1f", gf); snprintf(ps, sizeof ps, "%.0f%%", 100 * gf / sg); }
            if (by > 0) snprintf(bs, sizeof bs, "%.1f", gb);
            printf("%-8s %-19s %-4s %11.1f %9s %8s %7s\n", cf->name, NAMES[k], bwd ? "bwd" : "fwd", s * 1e6, fs, bs,
                   ps);
            if (o->csv) {
                fprintf(o->csv, "%s,%d,%d,%d,%d,%d,%s,%s,%.3f,", cf->name, cf->B, cf->T, cf->C, cf->H, o->threads,
                        NAMES[k], bwd ? "bwd" : "fwd", s * 1e6);
                if (f > 0) fprintf(o->csv, "%.3f", gf);
                fputc(',', o->csv);
                if (by > 0) fprintf(o->csv, "%.3f", gb);
                fprintf(o->csv, ",%.3f,", sg);
                if (f > 0) fprintf(o->csv, "%.4f", gf / sg);
                fputc('\n', o->csv);
            }
        }
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr, "usage: bench_layers [--threads N] [--config tiny|small|lecture|all] [--quick] [--csv FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *which = NULL, *csv_path = NULL;
    int threads = 0, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024) usage();
            threads = (int)t;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) which = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv_path = argv[++i];
        else usage();
    }
    if (!which) which = quick ? "tiny" : "all";
    int first = -1, last = -1;
    for (int c = 0; c < N_CONFIGS; c++) if (!strcmp(which, CONFIGS[c].name)) first = last = c;
    if (!strcmp(which, "all")) { first = 0; last = N_CONFIGS - 1; }
    if (first < 0) usage();
    if (threads) ad_set_threads(threads);
    options o = {NULL, ad_get_threads(), quick ? 0.01 : 0.2};
    if (csv_path && !(o.csv = fopen(csv_path, "w"))) { perror(csv_path); return 1; }
    if (o.csv) fprintf(o.csv, "config,B,T,C,H,threads,kernel,dir,us_per_call,gflops,gbps,sgemm_gflops,sgemm_share\n");

    /* the configurations grow in every dimension: the last one run is the largest */
    const config *lg = &CONFIGS[last];
    size_t N = (size_t)lg->B * lg->T, C = (size_t)lg->C, T = (size_t)lg->T, W = 4 * C > V ? 4 * C : V;
    size_t big = N * W, wts = max3(4 * C * C, V * C, T * C), nbht = N * lg->H;
    buffers b;
    b.n_scratch = ad_get_threads();
    b.x = falloc(big); b.y = falloc(big); b.z = falloc(big); b.dx = falloc(big);
    b.w = falloc(wts); b.w2 = falloc(wts); b.dw = falloc(wts); b.dw2 = falloc(wts);
    b.bias = falloc(W); b.dbias = falloc(W);
    b.mean = falloc(N); b.rstd = falloc(N);
    b.stats = falloc(2 * nbht);
    b.scratch = falloc((size_t)b.n_scratch * AD_ATT_SCRATCH(T, C)); /* as model.c sizes it (hs <= C) */
    size_t gs = (size_t)b.n_scratch * AD_MATMUL_SCRATCH_ROWS * N;
    b.gscratch = falloc(gs > wts ? gs : wts); /* as model.c sizes it */
    b.zero_rows = malloc(nbht);
    b.idx = malloc(N * sizeof(int));
    if (!b.zero_rows || !b.idx) { fprintf(stderr, "bench_layers: out of memory\n"); return 1; }
    for (size_t i = 0; i < N; i++) b.idx[i] = (int)(lcg() % V);
    b.edrop = ad_elem_drop_make(P_DROP, 1337, AD_RNG_RESID, 1, 0);

    printf("# bench_layers: attndrop's float kernels (src/model/layers.h) one at a time, %d thread%s\n", o.threads,
           o.threads == 1 ? "" : "s");
    printf("# time: best of %d interleaved repeats of >= %.2f s each, after a warm-up; the machine may be shared\n"
           "#   and noisy: differences of ~10%% between runs are noise, and with more threads than free cores\n"
           "#   OpenMP's spinning barriers can make a kernel 100x slower (OMP_WAIT_POLICY=passive avoids it)\n",
           REPEATS, o.min_s);
    printf("# dropout: residual_dropout (fwd: residual_dropout_fwd, bwd: dropout_bwd) at p=%.1f;\n"
           "#   attention_standard: scheme standard at p=%.1f; attention_none: no dropout\n", (double)P_DROP,
           (double)P_DROP);
    printf("# GFLOP/s: matmul 2*N*C*OC fwd, 4*N*C*OC bwd; attention 4*B*T*T*C fwd (QK^T and AV over the full\n"
           "#   T x T square; the causal kernel skips blocks above the diagonal), 8*B*T*T*C bwd\n"
           "# GB/s: element-wise kernels, each array read or written once (accumulated arrays twice)\n"
           "# %%sgemm: GFLOP/s over the config's sgemm rate (cblas_sgemm at N=B*T, K=C, M=3C)\n");
    for (int c = first; c <= last; c++) {
        const config *cf = &CONFIGS[c];
        ad_drop_site std = {AD_SCHEME_STANDARD, P_DROP, 1337, 1, 0, cf->H, cf->T, 0, 0};
        ad_drop_site none = {AD_SCHEME_NONE, 0.0f, 1337, 1, 0, cf->H, cf->T, 0, 0};
        b.att_std = ad_attn_drop_make(&std);
        b.att_none = ad_attn_drop_make(&none);
        bench_config(&b, cf, &o);
    }
    if (o.csv && fclose(o.csv) != 0) { perror(csv_path); return 1; }
    free(b.x); free(b.y); free(b.z); free(b.dx); free(b.w); free(b.w2); free(b.dw); free(b.dw2);
    free(b.bias); free(b.dbias); free(b.mean); free(b.rstd); free(b.stats); free(b.scratch); free(b.gscratch);
    free(b.zero_rows); free(b.idx);
    return 0;
}
