/* matmul.c - nn.Linear's float products, forward and backward.
 *
 * Each product is cut into pieces fixed by its shape alone, each piece one
 * thread's work, so that every thread count computes every output element by
 * the same calls, bit for bit (the double kernels of layers.inc, which the
 * gradient checks run, use the same row blocks, and 128 x 128 tiles of dw):
 * - forward: row blocks of out = inp w^T, after w is transposed once per call;
 * - backward: row blocks of dinp = dout w; strips of 128 output features of
 *   dw = dout^T inp, each summing all N rows after its 128 columns of dout are
 *   transposed into the thread's scratch; 16-column strips of dbias.
 * Inside a piece the products run as sub-blocks of at most 64 rows by 128
 * columns (the reduction over the N rows of dw in chunks of 512), every one a
 * row-major product with no transposed operand. Built with libxsmm (AD_XSMM)
 * those are its JIT kernels for the CPU at hand: at these shapes they ran at
 * 250-275 GFLOP/s on one core of the development machine, where OpenBLAS
 * 0.3.21 ran 110-125 with the AVX2 kernels that machine's environment selects
 * and 180-215 with its AVX-512 ones (docs/performance.md). Without libxsmm, or
 * where it has no kernel for a shape, cblas_sgemm computes the sub-block.
 * libxsmm generates (and allocates for) each shape's kernel on its first call,
 * so in the first training step; later steps find it in its registry. */
#include "layers.h"
#include <cblas.h>
#include <stddef.h>
#ifdef AD_XSMM
#include <libxsmm.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#define SUB_ROWS 64   /* rows of a sub-block */
#define SUB_COLS 128  /* columns of a sub-block */
#define SUB_K 512     /* reduction length per call in dw */
#define DW_STRIP AD_MATMUL_SCRATCH_ROWS /* output features per dw piece: the scratch rows per thread */
#define AD_MATMUL_MIN_ROWS 64 /* rows from which the forward transposes the weight */

static int min_i(int a, int b) { return a < b ? a : b; }

/* c = a b, or c += a b where acc; row-major, one thread (also the attention's
 * products, layers.inc). */
void ad_gemm_nn_f(float *c,                       // c (M,N), row stride ldc
                    const float *a,                 // a (M,K), row stride lda
                    const float *b,                 // b (K,N), row stride ldb
                    int M, int N, int K, int lda, int ldb, int ldc, int acc) {
#ifdef AD_XSMM
    /* libxsmm is column-major: c^T (N,M) = b^T (N,K) a^T (K,M), whose column-major views are the
     * row-major buffers as they are */
    libxsmm_blasint lb = ldb, la = lda, lc = ldc;
    float alpha = 1.0f, beta = acc ? 1.0f : 0.0f;
    int flags = acc ? LIBXSMM_GEMM_FLAG_NONE : LIBXSMM_GEMM_FLAG_BETA_0;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE; /* the kernel is called with its three operands only */
    libxsmm_smmfunction f = libxsmm_smmdispatch(N, M, K, &lb, &la, &lc, &alpha, &beta, &flags, &prefetch);
    if (f) {
        f(b, a, c);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, lda, b, ldb, acc ? 1.0f : 0.0f, c, ldc);
}

/* c = a b by sub-blocks of SUB_ROWS x SUB_COLS, the whole K at once. */
static void gemm_blocks(float *c, const float *a, const float *b, int M, int N, int K, int lda, int ldb, int ldc) {
    for (int i = 0; i < M; i += SUB_ROWS)
        for (int j = 0; j < N; j += SUB_COLS)
            ad_gemm_nn_f(c + (size_t)i * ldc + j, a + (size_t)i * lda, b + j, min_i(SUB_ROWS, M - i),
                    min_i(SUB_COLS, N - j), K, lda, ldb, ldc, 0);
}

/* out = inp @ w^T + bias (nn.Linear); bias may be NULL. wt NULL, or fewer
 * than AD_MATMUL_MIN_ROWS rows: the row blocks are cblas_sgemm calls on w as
 * it is, with no scratch. */
void ad_k_matmul_fwd_f(float *out,                  // out (N,OC)
                       float *wt,                   // wt (C,OC) scratch: w transposed, or NULL
                       const float *inp,            // inp (N,C)
                       const float *w,              // w (OC,C)
                       const float *bias,           // bias (OC) or NULL
                       int N, int C, int OC) {
    int R = ad_gemm_rows(N), np = (N + R - 1) / R, tb = (OC + 31) / 32;
    /* a few rows (the KV-cache step's one) do not pay for transposing the whole weight */
    if (N < AD_MATMUL_MIN_ROWS) wt = NULL;
#pragma omp parallel
    {
        if (wt) {
#pragma omp for schedule(static)
            for (int t = 0; t < tb; t++) /* w rows 32t.. become wt columns */
                ad_transpose_f(wt + t * 32, OC, w + (size_t)t * 32 * C, C, min_i(32, OC - t * 32), C);
        }
#pragma omp for schedule(dynamic)
        for (int t = 0; t < np; t++) {
            int n0 = t * R, n1 = min_i(n0 + R, N);
            if (wt)
                gemm_blocks(out + (size_t)n0 * OC, inp + (size_t)n0 * C, wt, n1 - n0, OC, C, C, OC, OC);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n1 - n0, OC, C, 1.0f, inp + (size_t)n0 * C, C,
                            w, C, 0.0f, out + (size_t)n0 * OC, OC);
            if (bias)
                for (int n = n0; n < n1; n++) {
                    float *o = out + (size_t)n * OC;
                    for (int k = 0; k < OC; k++) o[k] += bias[k];
                }
        }
    }
}

/* dinp, dw, dbias overwritten; dbias may be NULL. One loop over three kinds
 * of piece: row blocks of dinp, strips of dw (each summing all N rows), and
 * 16-column strips of dbias. scratch NULL (or n_scratch < 1): the dw strips
 * are cblas_sgemm calls with a transposed operand, on as many threads as
 * OpenMP has; else on at most n_scratch threads. */
void ad_k_matmul_bwd_f(float *dinp,                 // dinp (N,C)
                       float *dw,                   // dw (OC,C)
                       float *dbias,                // dbias (OC) or NULL
                       float *scratch,              // scratch (n_scratch,DW_STRIP,N) or NULL
                       const float *dout,           // dout (N,OC)
                       const float *inp,            // inp (N,C)
                       const float *w,              // w (OC,C)
                       int N, int C, int OC, int n_scratch) {
    int R = ad_gemm_rows(N), nr = (N + R - 1) / R, ns = (OC + DW_STRIP - 1) / DW_STRIP;
    int nb = dbias ? (OC + 15) / 16 : 0;
    int own = scratch && n_scratch > 0 && N > 0;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
    if (own && nt > n_scratch) nt = n_scratch;
#endif
    (void)nt; /* unused without OpenMP */
#pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (int t = 0; t < ns + nr + nb; t++) {
        if (t < ns) { /* a strip of dw = dout^T inp: output features o0..o1 */
            int o0 = t * DW_STRIP, o1 = min_i(o0 + DW_STRIP, OC);
            if (!own) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, C, N, 1.0f, dout + o0, OC, inp, C,
                            0.0f, dw + (size_t)o0 * C, C);
                continue;
            }
#ifdef _OPENMP
            float *dt = scratch + (size_t)omp_get_thread_num() * DW_STRIP * N;
#else
            float *dt = scratch;
#endif
            ad_transpose_f(dt, N, dout + o0, OC, N, o1 - o0); /* dt (o1-o0, N) */
            for (int c0 = 0; c0 < C; c0 += SUB_COLS)
                for (int k0 = 0; k0 < N; k0 += SUB_K)
                    ad_gemm_nn_f(dw + (size_t)o0 * C + c0, dt + k0, inp + (size_t)k0 * C + c0, o1 - o0,
                            min_i(SUB_COLS, C - c0), min_i(SUB_K, N - k0), N, C, C, k0 > 0);
        } else if (t < ns + nr) { /* a row block of dinp = dout w */
            int n0 = (t - ns) * R, n1 = min_i(n0 + R, N);
            gemm_blocks(dinp + (size_t)n0 * C, dout + (size_t)n0 * OC, w, n1 - n0, C, OC, OC, C, C);
        } else { /* a strip of dbias */
            int k0 = (t - ns - nr) * 16, k1 = min_i(k0 + 16, OC);
            double s[16] = {0};
            for (int n = 0; n < N; n++) {
                const float *d = dout + (size_t)n * OC;
                for (int k = k0; k < k1; k++) s[k - k0] += d[k];
            }
            for (int k = k0; k < k1; k++) dbias[k] = (float)s[k - k0];
        }
    }
}
