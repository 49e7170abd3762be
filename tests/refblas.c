/* refblas.c - a plain C stand-in for the BLAS routines attndrop calls,
 * for the valgrind build: valgrind cannot run OpenBLAS's AVX-512 kernels. */
#include <assert.h>
#include <cblas.h>
#include <stddef.h>

#define GEMM_BODY(T)                                                                              \
    assert(order == CblasRowMajor);                                                               \
    for (int i = 0; i < M; i++)                                                                   \
        for (int j = 0; j < N; j++) {                                                             \
            T acc = 0;                                                                            \
            for (int k = 0; k < K; k++) {                                                         \
                T a = ta == CblasNoTrans ? A[(size_t)i * lda + k] : A[(size_t)k * lda + i];       \
                T b = tb == CblasNoTrans ? B[(size_t)k * ldb + j] : B[(size_t)j * ldb + k];       \
                acc += a * b;                                                                     \
            }                                                                                     \
            T *c = &C[(size_t)i * ldc + j];                                                       \
            *c = alpha * acc + (beta == 0 ? 0 : beta * *c);                                       \
        }

/* cblas_sgemm and cblas_dgemm: CBLAS's signature, with T float or double */
#define GEMM_FN(name, T)                                                                                              \
    void name(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE ta,                          \
              OPENBLAS_CONST enum CBLAS_TRANSPOSE tb, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N,             \
              OPENBLAS_CONST blasint K, OPENBLAS_CONST T alpha, OPENBLAS_CONST T *A, OPENBLAS_CONST blasint lda,      \
              OPENBLAS_CONST T *B, OPENBLAS_CONST blasint ldb, OPENBLAS_CONST T beta, T *C,                           \
              OPENBLAS_CONST blasint ldc) {                                                                           \
        GEMM_BODY(T)                                                                                                  \
    }
GEMM_FN(cblas_sgemm, float)
GEMM_FN(cblas_dgemm, double)

/* y = alpha op(A) x + beta y, row-major, unit strides only (all attndrop uses) */
void cblas_sgemv(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE ta,
                 OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N, OPENBLAS_CONST float alpha,
                 OPENBLAS_CONST float *A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *x,
                 OPENBLAS_CONST blasint incx, OPENBLAS_CONST float beta, float *y, OPENBLAS_CONST blasint incy) {
    assert(order == CblasRowMajor && incx == 1 && incy == 1);
    int rows = ta == CblasNoTrans ? M : N, cols = ta == CblasNoTrans ? N : M;
    for (int i = 0; i < rows; i++) {
        float acc = 0;
        for (int k = 0; k < cols; k++)
            acc += (ta == CblasNoTrans ? A[(size_t)i * lda + k] : A[(size_t)k * lda + i]) * x[k];
        y[i] = alpha * acc + (beta == 0 ? 0 : beta * y[i]);
    }
}

void openblas_set_num_threads(int n) { (void)n; }
