/* gemm.c - OpenBLAS sgemm throughput at the shapes the models run, on 1 and
 * 2 threads: the bound against which `make bench` reports MFU.
 * usage: bench_gemm THREADS M N K [M N K ...]; prints one line per shape. */
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
    openblas_set_num_threads(atoi(argv[1]));
    for (int a = 2; a + 2 < argc; a += 3) {
        int M = atoi(argv[a]), N = atoi(argv[a + 1]), K = atoi(argv[a + 2]);
        if (M < 1 || N < 1 || K < 1) { fprintf(stderr, "bench_gemm: bad shape\n"); return 2; }
        float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
        float *C = malloc(sizeof(float) * (size_t)M * N);
        if (!A || !B || !C) { fprintf(stderr, "bench_gemm: out of memory\n"); return 2; }
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 5) * 0.1f;
        /* the model's forward form: inp (M,K) times w (N,K) transposed */
        double flop = 2.0 * M * N * K, best = 0.0;
        for (int rep = 0; rep < 5; rep++) {
            int n = 0;
            double t0 = now(), dt;
            do {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                n++;
                dt = now() - t0;
            } while (dt < 0.2);
            if (flop * n / dt > best) best = flop * n / dt;
        }
        printf("%d %d %d %.2f\n", M, N, K, best / 1e9);
        free(A); free(B); free(C);
    }
    return 0;
}
