/* runtime.c - what the library may use of the machine: threads (OpenMP and
 * OpenBLAS), OpenBLAS's choice of kernels, and a cap on the memory a model may
 * allocate. */
#include "internal.h"
#include <cblas.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int ad_max_threads(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN), m = (cores > 0 ? cores : 1) * AD_THREADS_PER_CORE;
    return m < 8 ? 8 : m > 4096 ? 4096 : (int)m;
}

void ad_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > ad_max_threads()) n = ad_max_threads();
#ifdef _OPENMP
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
#else
    /* without OpenMP the kernels run on one thread, and so does BLAS: a threaded sgemm's bits depend on
     * its thread count, and results must not */
    (void)n;
    openblas_set_num_threads(1);
#endif
}

int ad_get_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* OpenBLAS's own function, weak: NULL where the BLAS linked is another one. */
extern char *openblas_get_corename(void) __attribute__((weak));

const char *ad_blas_core(void) { return openblas_get_corename ? openblas_get_corename() : NULL; }

static size_t memory_limit;
void ad_set_memory_limit(size_t bytes) { memory_limit = bytes; }
size_t ad_get_memory_limit(void) { return memory_limit; }
