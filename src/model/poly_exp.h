/* poly_exp.h - the float attention softmax's exp: a polynomial that the
 * compiler vectorises (the libm call is scalar): Cody-Waite reduction by ln 2
 * and Cephes' expf polynomial (S. Moshier, Cephes Math Library, expf.c),
 * within about 1 ulp on the softmax's domain x <= 0; below -87.3 (and at
 * -inf) it returns 0. The causal kernels (layers.inc) and the general ones
 * (sdpa.inc) share it; their files are compiled with -fno-trapping-math,
 * which lets the compiler if-convert its range checks. */
#ifndef AD_POLY_EXP_H
#define AD_POLY_EXP_H

#include <math.h>
#include <stdint.h>

static inline float ad_poly_expf(float x) {
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    /* the exponent bits stay valid for any x: NaN takes -127 here (and stays NaN through r), and x
     * below -87.3, which gives 0 below, at least -127; +inf takes 127 and gives +inf */
    n = n >= -127.0f ? n : -127.0f;
    n = n <= 127.0f ? n : 127.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; uint32_t i; } sc = {.i = (uint32_t)((int32_t)n + 127) << 23};
    return x < -87.3f ? 0.0f : p * sc.f;
}

#endif
