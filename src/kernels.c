/* kernels.c - the float kernels of the model (see kernels.inc), GEMM by BLAS. */
#include "kernels.h"
#include <cblas.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define REAL float
#define SFX(name) name##_f
#define GEMM cblas_sgemm
#include "kernels.inc"
