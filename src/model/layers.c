/* layers.c - the float instance of layers.inc: the model's layers, forward and backward, GEMM by BLAS. */
#include "layers.h"
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define REAL float
#define SFX(name) name##_f
#define AD_KERNEL(float_name, double_name) float_name
#define GEMM cblas_sgemm
#define GEMM_NN(M, N, K, A, lda, B, ldb, C, ldc) ad_gemm_nn_f(C, A, B, M, N, K, lda, ldb, ldc, 0)
#define GEMV cblas_sgemv
#define AD_POLY_EXPF
#define AD_OWN_MATMUL /* src/model/matmul.c */
#include "layers.inc"

void ad_transpose_f(float *dst, int ldd, const float *src, int lds, int rows, int cols) {
    transpose_f(dst, ldd, src, lds, rows, cols, 1.0f);
}

/* The attention softmax's exp, for the tests of its accuracy. */
float ad_softmax_expf(float x) { return softmax_exp_f(x); }
