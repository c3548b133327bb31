// Shared by the CPU kernel files (not part of the module's public headers): run-time ISA
// dispatch and the vectorisable exp.
#ifndef RL_KERNEL_SUPPORT_H
#define RL_KERNEL_SUPPORT_H

#include "rl_kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define RL_X86 1
#endif

#ifdef RL_X86
/// 1 when the CPU has AVX2 and FMA (checked once).
int rl_has_avx2(void);
/// 1 when the CPU has AVX-512 F/BW/VL/DQ and RL_NO_AVX512 is unset (checked once).
int rl_has_avx512(void);

// Compute-heavy row kernels (exp, reductions) are compiled twice, for baseline x86-64 (SSE2),
// where they are compute-bound, and for AVX2+FMA, chosen at run time by RL_DISPATCH.
// A kernel body, inlined into each dispatched version.
#define RL_BODY static inline __attribute__((always_inline)) void
#define RL_DISPATCH(NAME, BODY, PARAMS, ARGS)                                                   \
    __attribute__((target("avx2,fma"))) static void BODY##_avx2 PARAMS { BODY ARGS; }            \
    void NAME PARAMS { if (rl_has_avx2()) BODY##_avx2 ARGS; else BODY ARGS; }
#else
#define RL_BODY static inline void
#define RL_DISPATCH(NAME, BODY, PARAMS, ARGS) void NAME PARAMS { BODY ARGS; }
#endif

// exp for vectorisable loops: Cody-Waite range reduction and a degree-6 polynomial
// (relative error about 2e-7 over the float range). Flushes to 0 below -87.3 (so exp(-inf) is
// 0) and overflows to +inf above 88.37, like libm; NaN stays NaN.
static inline float rl_expf(float x) {
    const float hi = 88.3762626647949f, lo = -87.3365447504f;
    float c = x > hi ? hi : (x < lo ? lo : x);
    // Round to nearest by adding and removing 1.5 * 2^23: unlike floorf, this vectorises on
    // baseline x86-64 (SSE2) instead of becoming one libm call per lane.
    float n = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = c - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = (int32_t)n + 127;
    union { int32_t i; float f; } scale;
    scale.i = e << 23;
    float y = p * scale.f;
    y = x < lo ? 0.0f : y;
    return x > hi ? INFINITY : y;
}

static inline float rl_sigmoidf(float x) { return 1.0f / (1.0f + rl_expf(-x)); }

#endif
