/* gemm.c - dense product throughput at the shapes the models run, on 1 and
 * 2 threads: OpenBLAS's sgemm (one call, its own threads) and the library's
 * forward product (ad_k_matmul_fwd_f: pieces on OpenMP threads, libxsmm where
 * built with it). `make bench` reports MFU against the best of the two.
 * usage: bench_gemm THREADS M N K [M N K ...]; prints one line per shape:
 * M N K sgemm_gflops attndrop_gflops. */
#include "attndrop.h"
#include "model/layers.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 5 || (argc - 2) % 3 != 0) {
        fprintf(stderr, "usage: bench_gemm THREADS M N K [M N K ...]\n");
        return 2;
    }
    ad_set_threads(atoi(argv[1])); /* OpenMP and OpenBLAS */
    for (int a = 2; a + 2 < argc; a += 3) {
        int M = atoi(argv[a]), N = atoi(argv[a + 1]), K = atoi(argv[a + 2]);
        if (M < 1 || N < 1 || K < 1) { fprintf(stderr, "bench_gemm: bad shape\n"); return 2; }
        float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
        float *C = malloc(sizeof(float) * (size_t)M * N), *wt = malloc(sizeof(float) * (size_t)K * N);
        if (!A || !B || !C || !wt) { fprintf(stderr, "bench_gemm: out of memory\n"); return 2; }
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 5) * 0.1f;
        /* the model's forward form: inp (M,K) times w (N,K) transposed */
        double flop = 2.0 * M * N * K, best[2] = {0.0, 0.0};
        for (int rep = 0; rep < 10; rep++) { /* the two interleaved, 5 timings each */
            int n = 0, lib = rep % 2;
            double t0 = now(), dt;
            do {
                if (lib) ad_k_matmul_fwd_f(C, wt, A, B, NULL, M, K, N);
                else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                n++;
                dt = now() - t0;
            } while (dt < 0.2);
            if (flop * n / dt > best[lib]) best[lib] = flop * n / dt;
        }
        printf("%d %d %d %.2f %.2f\n", M, N, K, best[0] / 1e9, best[1] / 1e9);
        free(A); free(B); free(C); free(wt);
    }
    return 0;
}
