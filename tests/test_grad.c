/* test_grad.c - every kernel's backward against central finite differences,
 * in double precision: the kernels are instantiated for double here from the
 * same source (src/model/layers.inc) as the library's float kernels. Dropout masks
 * are held fixed (they are a function of the seed and step). */
#include "check.h"
#include "schemes/dropout.h"
#include "model/layers.h"
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#define REAL double
#define SFX(name) name##_d
#define AD_KERNEL(float_name, double_name) double_name
#define GEMM cblas_dgemm
#define AD_ATT_BLOCK 2 /* T = 5 then spans three blocks, the last one partial */
#include "model/layers.inc"

static ad_rng rng;
static uint64_t rng_i;
static void fill(double *a, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) a[i] = scale * ad_rng_normal(&rng, rng_i++);
}
static double *alloc(size_t n) { return calloc(n, sizeof(double)); }

/* The scalar sum(G * out) whose gradient the backward computes. */
static double (*loss_fn)(void);

/* Compares analytic[i] with (L(x+h) - L(x-h)) / 2h for every element of x. */
static void fd_check(const char *what, double *x, const double *analytic, size_t n) {
    double worst = 0.0, scale = 1e-3;
    for (size_t i = 0; i < n; i++) if (fabs(analytic[i]) > scale) scale = fabs(analytic[i]);
    for (size_t i = 0; i < n; i++) {
        double save = x[i], h = 1e-6 * (fabs(save) > 1.0 ? fabs(save) : 1.0);
        x[i] = save + h;
        double lp = loss_fn();
        x[i] = save - h;
        double lm = loss_fn();
        x[i] = save;
        double num = (lp - lm) / (2 * h);
        double e = fabs(num - analytic[i]) / scale;
        if (e > worst) worst = e;
    }
    printf("  %-34s %6zu elements, max rel err %.2e\n", what, n, worst);
    CHECK(worst < 1e-6, "%s: finite differences disagree (%.3g)", what, worst);
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------ fixtures */
enum { B = 2, T = 5, C = 8, H = 2, V = 7, N = B * T };
static double *inp, *w, *bias, *out, *G, *mean, *rstd, *qkv, *att, *wte, *wpe, *res;
static int idx[N], targets[N];
static ad_attn_drop adrop;
static ad_elem_drop edrop;
static int OC;

static float *tokm; /* word-dropout multipliers (B,T) or NULL */
static double l_encoder(void) { ad_k_encoder_fwd_d(out, idx, wte, wpe, tokm, B, T, C); return dot(out, G, (size_t)N * C); }
static double l_layernorm(void) { ad_k_layernorm_fwd_d(out, mean, rstd, inp, w, bias, N, C, 1e-5); return dot(out, G, (size_t)N * C); }
static double l_matmul(void) { ad_k_matmul_fwd_d(out, inp, w, bias, N, C, OC); return dot(out, G, (size_t)N * OC); }
static double l_relu(void) { ad_k_relu_fwd_d(out, inp, (size_t)N * C); return dot(out, G, (size_t)N * C); }
static double l_resdrop(void) { ad_k_residual_dropout_fwd_d(out, res, inp, &edrop, B, T, C); return dot(out, G, (size_t)N * C); }
static double *scratch; /* (4,AD_ATT_SCRATCH(T,C/H)): room for 4 threads */
static unsigned char zero_rows[64 * 8]; /* (B,H,T) */
static double l_attention(void) { ad_k_attention_fwd_d(out, att, scratch, qkv, zero_rows, &adrop, B, T, C, H, 4); return dot(out, G, (size_t)N * C); }
static double l_ce(void) { double *probs = out; return ad_k_crossentropy_fwd_d(probs, inp, targets, N, V); }

/* the encoder's backward (with token multipliers, or none) against finite differences */
static void check_encoder(float *tok_mult, double *dwte, double *dwpe) {
    tokm = tok_mult;
    fill(wte, (size_t)V * C, 1); fill(wpe, (size_t)T * C, 1); fill(G, (size_t)N * C, 1);
    memset(dwte, 0, (size_t)V * C * sizeof(double)); memset(dwpe, 0, (size_t)T * C * sizeof(double));
    ad_k_encoder_bwd_d(dwte, dwpe, G, idx, tokm, B, T, C);
    loss_fn = l_encoder;
    fd_check("d wte", wte, dwte, (size_t)V * C);
    fd_check("d wpe", wpe, dwpe, (size_t)T * C);
    tokm = NULL;
}

/* The deterministic error bound of a float sum of k products computed in any
 * order (with or without fused multiply-adds): |fl(s) - s| <= gamma_k sum |a_i
 * b_i|, gamma_k = k u / (1 - k u), u = 2^-24 (Higham, Accuracy and Stability
 * of Numerical Algorithms, 2nd ed., eq. 3.5); the double reference adds its
 * own gamma_k in double, and the final rounding of a double-summed bias one u
 * of the result. It holds for libxsmm, any BLAS kernel and any blocking of
 * the reduction, so it does not depend on which kernels a machine runs. */
static double gamma_f(int k) { double u = 0x1p-24 * k; return u / (1.0 - u); }
static double gamma_d(int k) { double u = 0x1p-53 * k; return u / (1.0 - u); }

/* The library's float products (src/model/matmul.c: libxsmm or BLAS sub-blocks,
 * weights and gradient strips transposed into scratch) against the double
 * kernels, at shapes that leave partial pieces, sub-blocks and reduction
 * chunks; with and without scratch; and bit for bit at 1 and 3 threads. Every
 * element's error is held to the bound above, over its own sum of |terms|
 * (the double kernels run on the operands' absolute values). */
static void float_matmul(int n, int c, int oc) {
    size_t ni = (size_t)n * c, no = (size_t)n * oc, nw = (size_t)oc * c, ns = (size_t)3 * AD_MATMUL_SCRATCH_ROWS * n;
    double *xi = alloc(ni), *xw = alloc(nw), *xb = alloc(oc), *xg = alloc(no);
    double *ro = alloc(no), *rdi = alloc(ni), *rdw = alloc(nw), *rdb = alloc(oc);
    double *ai = alloc(ni), *aw = alloc(nw), *ab = alloc(oc), *ag = alloc(no); /* |operands| */
    double *ao = alloc(no), *adi = alloc(ni), *adw = alloc(nw), *adb = alloc(oc); /* sums of |terms| */
    float *fi = malloc(ni * 4), *fw = malloc(nw * 4), *fb = malloc(oc * 4), *fg = malloc(no * 4);
    float *out[3], *di[3], *dw[3], *db[3], *scr = malloc((ns > nw ? ns : nw) * 4);
    for (int v = 0; v < 3; v++) {
        out[v] = malloc(no * 4); di[v] = malloc(ni * 4); dw[v] = malloc(nw * 4); db[v] = malloc(oc * 4);
    }
    fill(xi, ni, 1); fill(xw, nw, 1); fill(xb, oc, 1); fill(xg, no, 1);
    /* the double reference on the float inputs' values */
    for (size_t i = 0; i < ni; i++) { xi[i] = fi[i] = (float)xi[i]; ai[i] = fabs(xi[i]); }
    for (size_t i = 0; i < nw; i++) { xw[i] = fw[i] = (float)xw[i]; aw[i] = fabs(xw[i]); }
    for (int i = 0; i < oc; i++) { xb[i] = fb[i] = (float)xb[i]; ab[i] = fabs(xb[i]); }
    for (size_t i = 0; i < no; i++) { xg[i] = fg[i] = (float)xg[i]; ag[i] = fabs(xg[i]); }
    ad_k_matmul_fwd_d(ro, xi, xw, xb, n, c, oc);
    ad_k_matmul_bwd_d(rdi, rdw, rdb, xg, xi, xw, n, c, oc);
    ad_k_matmul_fwd_d(ao, ai, aw, ab, n, c, oc);
    ad_k_matmul_bwd_d(adi, adw, adb, ag, ai, aw, n, c, oc);
    /* v = 0: scratch, 1 thread; 1: scratch, 3 threads; 2: no scratch (BLAS with transposed operands) */
#ifdef _OPENMP
    int threads = omp_get_max_threads();
#endif
    for (int v = 0; v < 3; v++) {
#ifdef _OPENMP
        omp_set_num_threads(v == 1 ? 3 : 1);
#endif
        ad_k_matmul_fwd_f(out[v], v < 2 ? scr : NULL, fi, fw, fb, n, c, oc);
        ad_k_matmul_bwd_f(di[v], dw[v], db[v], v < 2 ? scr : NULL, fg, fi, fw, n, c, oc, v < 2 ? 3 : 0);
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    /* terms per element: c products and the bias; oc products; n products; n gradients */
    const struct { const char *name; float **f; const double *r, *abs; size_t len; int k; } arr[] = {
        {"out", out, ro, ao, no, c + 1}, {"dinp", di, rdi, adi, ni, oc},
        {"dw", dw, rdw, adw, nw, n}, {"dbias", db, rdb, adb, (size_t)oc, n}};
    for (int a = 0; a < 4; a++) {
        double worst[2] = {0, 0}; /* the largest error as a share of its element's bound */
        size_t differ = 0;
        double g = gamma_f(arr[a].k) + gamma_d(arr[a].k);
        for (size_t i = 0; i < arr[a].len; i++) {
            double bound = g * arr[a].abs[i] + 0x1p-24 * fabs(arr[a].r[i]) + 1e-300;
            for (int v = 0; v < 2; v++) {
                double e = fabs((double)arr[a].f[v ? 2 : 0][i] - arr[a].r[i]) / bound;
                if (e > worst[v]) worst[v] = e;
            }
            differ += memcmp(&arr[a].f[0][i], &arr[a].f[1][i], 4) != 0;
        }
        printf("  %4d x %4d x %4d %-5s error / bound: %.1e, without scratch %.1e; 1 vs 3 threads: %zu differ\n",
               n, c, oc, arr[a].name, worst[0], worst[1], differ);
        CHECK(worst[0] <= 1.0, "float matmul %s at %d x %d x %d: an error %.3g times float's bound for %d terms",
              arr[a].name, n, c, oc, worst[0], arr[a].k);
        CHECK(worst[1] <= 1.0, "float matmul %s at %d x %d x %d without scratch (BLAS): an error %.3g times the bound",
              arr[a].name, n, c, oc, worst[1]);
        CHECK(differ == 0, "float matmul %s at %d x %d x %d: %zu elements differ between 1 and 3 threads",
              arr[a].name, n, c, oc, differ);
    }
    free(xi); free(xw); free(xb); free(xg); free(ro); free(rdi); free(rdw); free(rdb);
    free(ai); free(aw); free(ab); free(ag); free(ao); free(adi); free(adw); free(adb);
    free(fi); free(fw); free(fb); free(fg); free(scr);
    for (int v = 0; v < 3; v++) { free(out[v]); free(di[v]); free(dw[v]); free(db[v]); }
}

int main(void) {
    rng = ad_rng_stream(7, AD_RNG_TEST, 1, 0, 0);

    printf("the float softmax's polynomial exp against libm's, x in [-87.3, 0]\n");
    {
        double worst = 0.0;
        float worst_x = 0.0f;
        for (int i = 0; i <= 873000; i++) {
            float x = -(float)i * 1e-4f, got = ad_softmax_expf(x), ref = (float)exp((double)x);
            double ulp = (double)(nextafterf(ref, INFINITY) - ref), e = fabs((double)got - ref) / ulp;
            if (e > worst) { worst = e; worst_x = x; }
        }
        printf("  max error %.2f ulp (at x = %g)\n", worst, (double)worst_x);
        CHECK(worst <= 2.0, "polynomial exp is %.2f ulp off at x = %g", worst, (double)worst_x);
        CHECK(ad_softmax_expf(0.0f) == 1.0f && ad_softmax_expf(-INFINITY) == 0.0f && ad_softmax_expf(-100.0f) == 0.0f,
              "exp(0), exp(-inf), exp(-100): %g %g %g", (double)ad_softmax_expf(0.0f),
              (double)ad_softmax_expf(-INFINITY), (double)ad_softmax_expf(-100.0f));
        CHECK(isnan(ad_softmax_expf(NAN)) && ad_softmax_expf(INFINITY) == INFINITY,
              "exp(nan) %g, exp(inf) %g: a diverging run must stay visible", (double)ad_softmax_expf(NAN),
              (double)ad_softmax_expf(INFINITY));
    }
    size_t big = (size_t)N * 4 * C * 4;
    inp = alloc(big); w = alloc(big); bias = alloc(big); out = alloc(big); G = alloc(big);
    mean = alloc(N); rstd = alloc(N); qkv = alloc(big); att = alloc((size_t)B * H * T * 2);
    scratch = alloc(4 * AD_ATT_SCRATCH(T, C / H));
    wte = alloc((size_t)V * C); wpe = alloc((size_t)T * C); res = alloc(big);
    double *d1 = alloc(big), *d2 = alloc(big), *d3 = alloc(big);
    for (int i = 0; i < N; i++) { idx[i] = (int)(ad_rng_u32(&rng, 1000 + i) % V); targets[i] = (int)(ad_rng_u32(&rng, 2000 + i) % V); }

    printf("encoder\n");
    check_encoder(NULL, d1, d2);

    printf("layernorm\n");
    fill(inp, (size_t)N * C, 2); fill(w, C, 1); fill(bias, C, 1); fill(G, (size_t)N * C, 1);
    for (int i = 0; i < N * C; i++) inp[i] += 0.5; /* a non-zero mean */
    l_layernorm();
    memset(d1, 0, (size_t)N * C * sizeof(double));
    ad_k_layernorm_bwd_d(d1, d2, d3, G, inp, w, mean, rstd, N, C);
    loss_fn = l_layernorm;
    fd_check("d inp", inp, d1, (size_t)N * C);
    fd_check("d weight", w, d2, C);
    fd_check("d bias", bias, d3, C);

    printf("matmul (Linear with bias)\n");
    OC = 3 * C;
    fill(inp, (size_t)N * C, 1); fill(w, (size_t)OC * C, 1); fill(bias, OC, 1); fill(G, (size_t)N * OC, 1);
    ad_k_matmul_bwd_d(d1, d2, d3, G, inp, w, N, C, OC);
    loss_fn = l_matmul;
    fd_check("d inp", inp, d1, (size_t)N * C);
    fd_check("d weight", w, d2, (size_t)OC * C);
    fd_check("d bias", bias, d3, OC);

    printf("float matmul (the library's pieces) against the double kernels\n");
    float_matmul(200, 64, 192);
    float_matmul(1100, 48, 130);
    float_matmul(70, 600, 40);
    float_matmul(513, 130, 257);

    printf("relu\n");
    fill(inp, (size_t)N * C, 1); fill(G, (size_t)N * C, 1);
    for (int i = 0; i < N * C; i++) if (fabs(inp[i]) < 1e-3) inp[i] = 0.1; /* away from the kink */
    ad_k_relu_bwd_d(d1, G, inp, (size_t)N * C);
    loss_fn = l_relu;
    fd_check("d inp", inp, d1, (size_t)N * C);

    printf("residual + dropout (p=0.3, mask fixed)\n");
    edrop = ad_elem_drop_make(0.3f, 11, AD_RNG_RESID, 3, 1);
    fill(inp, (size_t)N * C, 1); fill(res, (size_t)N * C, 1); fill(G, (size_t)N * C, 1);
    ad_k_dropout_bwd_d(d1, G, &edrop, B, T, C);
    loss_fn = l_resdrop;
    fd_check("d inp", inp, d1, (size_t)N * C);
    fd_check("d residual (identity)", res, G, (size_t)N * C);
    int dropped = 0;
    for (int i = 0; i < N * C; i++) dropped += d1[i] == 0.0;
    CHECK(dropped > 0 && dropped < N * C, "the mask drops %d of %d", dropped, N * C);

    /* attention with every scheme: the kernel against a reference built from
     * ad_drop_row (which renormalises pre-softmax schemes' survivors after the
     * softmax), and the backward against finite differences, masks fixed */
    for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
        const ad_scheme_info *si = ad_scheme_get((ad_scheme)sc);
        if (si->where == AD_WHERE_INPUT) continue;
        printf("causal attention, scheme %s (p=0.4)\n", si->name);
        ad_drop_site site = {(ad_scheme)sc, 0.4f, 5, 2, 1, H, T, 0, 0};
        adrop = ad_attn_drop_make(&site);
        fill(qkv, (size_t)N * 3 * C, 1); fill(G, (size_t)N * C, 1);
        l_attention();
        /* reference: softmax in double, the scheme's row, weighted sum of values */
        int hs = C / H;
        double worst = 0.0, w[T], wd[T];
        int zero_rows_ref = 0, flag_mismatch = 0;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++) {
                    const double *q = qkv + ((size_t)b * T + i) * 3 * C + h * hs;
                    double mx = -1e300, z = 0.0;
                    for (int j = 0; j <= i; j++) {
                        const double *k = qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
                        double sdot = 0.0;
                        for (int e = 0; e < hs; e++) sdot += q[e] * k[e];
                        w[j] = sdot / sqrt((double)hs);
                        if (w[j] > mx) mx = w[j];
                    }
                    for (int j = 0; j <= i; j++) { w[j] = exp(w[j] - mx); z += w[j]; }
                    for (int j = 0; j <= i; j++) w[j] /= z;
                    MUST(ad_drop_row(&site, b, h, i, w, i + 1, wd, &must_err));
                    int zero = 1;
                    for (int e = 0; e < hs; e++) {
                        double o = 0.0;
                        for (int j = 0; j <= i; j++) o += wd[j] * qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + e];
                        double d = fabs(o - out[((size_t)b * T + i) * C + h * hs + e]);
                        if (d > worst) worst = d;
                        if (o != 0.0) zero = 0;
                    }
                    zero_rows_ref += zero;
                    flag_mismatch += zero != zero_rows[((size_t)b * H + h) * T + i];
                }
        printf("  %-34s max abs diff %.2e, %d all-zero rows\n", "forward vs reference", worst, zero_rows_ref);
        CHECK(worst < 1e-12, "%s: attention differs from the reference by %.3g", si->name, worst);
        CHECK(flag_mismatch == 0, "%s: %d rows flagged wrongly as all zero or not", si->name, flag_mismatch);
        ad_k_attention_bwd_d(d1, scratch, G, qkv, att, &adrop, B, T, C, H, 4);
        loss_fn = l_attention;
        fd_check("d qkv", qkv, d1, (size_t)N * 3 * C);
        int stat_bad = 0; /* a row's max is -inf exactly when the row is zero before any post-softmax dropout */
        for (int bh = 0; bh < B * H; bh++)
            for (int i = 0; i < T; i++) {
                double mx = att[((size_t)bh * T + i) * 2], inv = att[((size_t)bh * T + i) * 2 + 1];
                stat_bad += mx == -INFINITY ? inv != 0.0 : !(inv > 0.0 && inv <= 1.0);
                if (si->where != AD_WHERE_PRE) stat_bad += mx == -INFINITY;
            }
        CHECK(stat_bad == 0, "%s: %d attention rows with inconsistent statistics", si->name, stat_bad);
    }

    printf("encoder with word dropout (p=0.5)\n");
    {
        static float tm[N];
        ad_drop_site ws = {AD_SCHEME_WORD, 0.5f, 3, 4, 0, H, T, 0, 0};
        for (int b = 0; b < B; b++) MUST(ad_input_mult(&ws, b, idx + b * T, T, tm + b * T, NULL, &must_err));
        check_encoder(tm, d1, d2);
    }

    printf("cross-entropy (mean over rows)\n");
    fill(inp, (size_t)N * V, 2);
    double l0 = l_ce();
    ad_k_crossentropy_bwd_d(d1, out, targets, N, V);
    loss_fn = l_ce;
    fd_check("d logits", inp, d1, (size_t)N * V);
    double direct = 0.0;
    for (int n = 0; n < N; n++) {
        double s = 0.0;
        for (int v = 0; v < V; v++) s += exp(inp[(size_t)n * V + v]);
        direct += log(s) - inp[(size_t)n * V + targets[n]];
    }
    CHECK(fabs(l0 - direct / N) < 1e-12, "loss %.15g vs direct %.15g", l0, direct / N);

    free(inp); free(w); free(bias); free(out); free(G); free(mean); free(rstd); free(qkv); free(att);
    free(scratch); free(wte); free(wpe); free(res); free(d1); free(d2); free(d3);
    return check_done("grad");
}
