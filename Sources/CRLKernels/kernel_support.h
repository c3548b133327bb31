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

#define RL_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
// The four sums of a, b, c, d in one vector: halves added, then pairwise horizontal adds.
__attribute__((target(RL_AVX512_TARGET))) static inline __m128 hsum4x512(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
    __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
    __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a8, b8), _mm256_hadd_ps(c8, d8));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}
/// The lanes of a 16-wide masked load or store with `left` elements remaining: all 16, the first
/// `left`, or none.
static inline __mmask16 rl_lanes16(long left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}
/// Transposes 16 vectors of 16 dwords in registers (an f32 tile, or 16 rows of 16 bf16 pairs):
/// afterwards r[g] holds dword g of every input.
__attribute__((target(RL_AVX512_TARGET))) static inline void rl_transpose16x16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    // Each 128-bit lane L of r[4i + c] now holds dword 4L + c of inputs 4i..4i+3.
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xdd);
        t[8 + c] = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xdd);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xdd);
        r[4 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0xdd);
    }
}
/// Few-row bf16-weight product with AVX512_BF16 dot products (small_m_bf16_dot.c); same
/// contract as rl_small_m_gemm_bf16, x rounded to bf16. Requires 1 <= m <= rl_bf16_dot_max_rows().
void rl_small_m_gemm_bf16_dot(const float *x, long ldx, long m, const uint16_t *w, long k, long j0, long j1,
                              float *y, long ldy, float alpha, float beta);

// Compute-heavy row kernels (exp, reductions) are compiled three times, for baseline x86-64
// (SSE2), AVX2+FMA and AVX-512 (16 lanes: the token log-probs over a 151,936-entry vocabulary
// run twice as fast as with 8), chosen at run time by RL_DISPATCH.
// A kernel body, inlined into each dispatched version.
#define RL_BODY static inline __attribute__((always_inline)) void
#define RL_DISPATCH(NAME, BODY, PARAMS, ARGS)                                                   \
    __attribute__((target(RL_AVX512_TARGET))) static void BODY##_avx512 PARAMS { BODY ARGS; }    \
    __attribute__((target("avx2,fma"))) static void BODY##_avx2 PARAMS { BODY ARGS; }            \
    void NAME PARAMS {                                                                          \
        if (rl_has_avx512()) BODY##_avx512 ARGS;                                                \
        else if (rl_has_avx2()) BODY##_avx2 ARGS;                                               \
        else BODY ARGS;                                                                         \
    }
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
