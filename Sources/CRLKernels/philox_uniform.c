// Uniform random fills with Philox4x32-10, vectorised: the same numbers as RLTensor's scalar
// `Philox.sample(.uniform…)` (element i draws the block at counter offset + i under the seed and
// uses its first word), 16 or 8 counters at a time. Dropout masks draw from this.
#include "kernel_support.h"

// The product low + range * u must round exactly as the scalar Swift code does: no FMA.
#pragma STDC FP_CONTRACT OFF

enum { PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u, PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u };

/// The first output word of the block at `counter` under `key`.
static inline uint32_t philox_first_word(uint64_t counter, uint64_t key) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c0;
}

static inline float philox_uniform(uint32_t word, float low, float range) {
    float unit = (float)(word >> 8) * (1.0f / 16777216.0f);
    float scaled = range * unit;
    return low + scaled;
}

static void uniform_scalar(float *y, long n, uint64_t seed, uint64_t offset, float low, float high) {
    for (long i = 0; i < n; i++) y[i] = philox_uniform(philox_first_word(offset + (uint64_t)i, seed), low, high - low);
}

#ifdef RL_X86
// 16 lanes: the 32-bit products' low and high words from even and odd lanes.
__attribute__((target(RL_AVX512_TARGET))) static inline void mulhilo16(__m512i a, __m512i m, __m512i *lo, __m512i *hi) {
    __m512i even = _mm512_mul_epu32(a, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

__attribute__((target(RL_AVX512_TARGET))) static void uniform_avx512(float *y, long n, uint64_t seed, uint64_t offset,
                                                                   float low, float high) {
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0), m1 = _mm512_set1_epi32((int)PHILOX_M1);
    const __m512 lowv = _mm512_set1_ps(low), range = _mm512_set1_ps(high - low), unit = _mm512_set1_ps(1.0f / 16777216.0f);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        uint64_t base = offset + (uint64_t)i;
        __m512i base0 = _mm512_set1_epi32((int)(uint32_t)base);
        __m512i c0 = _mm512_add_epi32(base0, lanes);
        // A lane whose low word wrapped carries into the high word.
        __mmask16 carry = _mm512_cmplt_epu32_mask(c0, base0);
        __m512i c1 = _mm512_mask_add_epi32(_mm512_set1_epi32((int)(uint32_t)(base >> 32)), carry,
                                           _mm512_set1_epi32((int)(uint32_t)(base >> 32)), _mm512_set1_epi32(1));
        __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            __m512i lo0, hi0, lo1, hi1;
            mulhilo16(c0, m0, &lo0, &hi0);
            mulhilo16(c2, m1, &lo1, &hi1);
            __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
            __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
            c1 = lo1;
            c3 = lo0;
            c0 = n0;
            c2 = n2;
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(c0, 8)), unit);
        _mm512_storeu_ps(y + i, _mm512_add_ps(lowv, _mm512_mul_ps(range, u)));
    }
    uniform_scalar(y + i, n - i, seed, offset + (uint64_t)i, low, high);
}

// 8 lanes with AVX2.
__attribute__((target("avx2,fma"))) static inline void mulhilo8(__m256i a, __m256i m, __m256i *lo, __m256i *hi) {
    __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

__attribute__((target("avx2,fma"))) static void uniform_avx2(float *y, long n, uint64_t seed, uint64_t offset, float low, float high) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0), m1 = _mm256_set1_epi32((int)PHILOX_M1);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    const __m256 lowv = _mm256_set1_ps(low), range = _mm256_set1_ps(high - low), unit = _mm256_set1_ps(1.0f / 16777216.0f);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t base = offset + (uint64_t)i;
        __m256i base0 = _mm256_set1_epi32((int)(uint32_t)base);
        __m256i c0 = _mm256_add_epi32(base0, lanes);
        // Unsigned c0 < base0 (a wrapped low word), as a signed compare of sign-flipped values; -1 where true.
        __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(base0, sign), _mm256_xor_si256(c0, sign));
        __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(base >> 32)), wrapped);
        __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            __m256i lo0, hi0, lo1, hi1;
            mulhilo8(c0, m0, &lo0, &hi0);
            mulhilo8(c2, m1, &lo1, &hi1);
            __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
            __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
            c1 = lo1;
            c3 = lo0;
            c0 = n0;
            c2 = n2;
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(c0, 8)), unit);
        _mm256_storeu_ps(y + i, _mm256_add_ps(lowv, _mm256_mul_ps(range, u)));
    }
    uniform_scalar(y + i, n - i, seed, offset + (uint64_t)i, low, high);
}
#endif

void rl_philox_uniform_f32_isa(float *y, long n, uint64_t seed, uint64_t offset, float low, float high, int isa) {
#ifdef RL_X86
    if (isa >= 2) { uniform_avx512(y, n, seed, offset, low, high); return; }
    if (isa == 1) { uniform_avx2(y, n, seed, offset, low, high); return; }
#endif
    (void)isa;
    uniform_scalar(y, n, seed, offset, low, high);
}

void rl_philox_uniform_f32(float *y, long n, uint64_t seed, uint64_t offset, float low, float high) {
#ifdef RL_X86
    rl_philox_uniform_f32_isa(y, n, seed, offset, low, high, rl_has_avx512() ? 2 : rl_has_avx2() ? 1 : 0);
#else
    uniform_scalar(y, n, seed, offset, low, high);
#endif
}
