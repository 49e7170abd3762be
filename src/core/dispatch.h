/* dispatch.h - AD_HOT marks the hot kernels. A portable build (make PORTABLE=1: the library a wheel carries,
 * compiled for baseline x86-64) compiles each of them three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2,
 * FMA) and the baseline, and the dynamic loader picks one by the CPU's features when the library loads (GCC's
 * target_clones, an ifunc; OpenMP's outlined loops are cloned with their function). Elsewhere (the default
 * build, -march=native; clang; other CPUs) it is empty. */
#ifndef AD_DISPATCH_H
#define AD_DISPATCH_H

#if defined(AD_DISPATCH) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define AD_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AD_HOT
#endif

#endif
