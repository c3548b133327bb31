// Few-row matrix products (decode shapes): x [m, k] times a weight stored [n, k], f32 or bf16.
#include "kernel_support.h"


static void small_m_f32_generic(const float *x, long ldx, long m, const float *w, long k, long j0, long j1,
                                float *y, long ldy, float alpha, float beta) {
    for (long j = j0; j < j1; j++) {
        const float *wr = w + j * k;
        for (long i = 0; i < m; i++) {
            const float *xr = x + i * ldx;
            float acc = 0.0f;
            for (long t = 0; t < k; t++) acc += xr[t] * wr[t];
            float *out = y + i * ldy + j;
            *out = alpha * acc + (beta != 0.0f ? beta * *out : 0.0f);
        }
    }
}

static void small_m_bf16_generic(const float *x, long ldx, long m, const uint16_t *w, long k, long j0, long j1,
                                 float *y, long ldy, float alpha, float beta) {
    for (long j = j0; j < j1; j++) {
        const uint16_t *wr = w + j * k;
        for (long i = 0; i < m; i++) {
            const float *xr = x + i * ldx;
            float acc = 0.0f;
            for (long t = 0; t < k; t++) {
                union { uint32_t u; float f; } cv; cv.u = (uint32_t)wr[t] << 16;
                acc += xr[t] * cv.f;
            }
            float *out = y + i * ldy + j;
            *out = alpha * acc + (beta != 0.0f ? beta * *out : 0.0f);
        }
    }
}

#ifdef RL_X86
__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, lo);
    lo = _mm_add_ss(lo, sh);
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static inline __m256 load_bf16x8(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// C weight rows (C = 1 or 2) against R rows of x (R <= 8; R, U, C constants after inlining),
// the k loop unrolled U times (U = 2 for one or two rows): R x U x C independent FMA chains.
// Four to six rows take weight rows in pairs, halving the x loads per weight element. The
// weight rows are prefetched RL_SMALL_M_PREFETCH elements ahead: with several rows the loop
// consumes weights more slowly than a plain stream and the hardware prefetcher alone left DRAM
// latency exposed. One core, 6 x 1536 x 8960: 9.1 ms before, 6.4 with prefetch, 5.7 with pairs.
#define RL_SMALL_M_PREFETCH 512
#define RL_SMALL_M_AVX2(NAME, WTYPE, LOADW, SCALARW)                                               \
__attribute__((target("avx2,fma"), always_inline)) static inline void NAME##_tile(const float *x, long ldx, \
    const int R, const int U, const int C, const WTYPE *wr, long k, float *y, long ldy, float alpha, float beta) { \
    long step = 8 * U, kk = k - k % step;                                                      \
    __m256 a[8][2];                                                                            \
    for (int r = 0; r < 8; r++) { a[r][0] = _mm256_setzero_ps(); a[r][1] = _mm256_setzero_ps(); } \
    for (long t = 0; t < kk; t += step) {                                                      \
        if (R > 3) _mm_prefetch((const char *)(wr + t + RL_SMALL_M_PREFETCH), _MM_HINT_T0);    \
        if (C > 1) {                                                                           \
            _mm_prefetch((const char *)(wr + k + t + RL_SMALL_M_PREFETCH), _MM_HINT_T0);       \
            __m256 v0 = LOADW(wr + t), v1 = LOADW(wr + k + t);                                 \
            for (int r = 0; r < R; r++) {                                                      \
                __m256 xv = _mm256_loadu_ps(x + r * ldx + t);                                  \
                a[r][0] = _mm256_fmadd_ps(xv, v0, a[r][0]);                                    \
                a[r][1] = _mm256_fmadd_ps(xv, v1, a[r][1]);                                    \
            }                                                                                  \
        } else {                                                                               \
            for (int u = 0; u < U; u++) {                                                      \
                __m256 v = LOADW(wr + t + 8 * u);                                              \
                for (int r = 0; r < R; r++)                                                    \
                    a[r][u] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * ldx + t + 8 * u), v, a[r][u]); \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    for (int r = 0; r < R; r++) {                                                              \
        for (int c = 0; c < C; c++) {                                                          \
            __m256 acc = C > 1 ? a[r][c] : (U > 1 ? _mm256_add_ps(a[r][0], a[r][1]) : a[r][0]); \
            const WTYPE *wc = wr + c * k;                                                      \
            float s = hsum256(acc);                                                            \
            for (long t = kk; t < k; t++) s += x[r * ldx + t] * SCALARW(wc[t]);                \
            float *out = y + r * ldy + c;                                                      \
            *out = alpha * s + (beta != 0.0f ? beta * *out : 0.0f);                            \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
__attribute__((target("avx2,fma"))) static void NAME(const float *x, long ldx, long m, const WTYPE *w, \
    long k, long j0, long j1, float *y, long ldy, float alpha, float beta) {                      \
    int pairs = m >= 4 && m <= 6;                                                              \
    for (long j = j0; j < j1;) {                                                               \
        const WTYPE *wr = w + j * k;                                                           \
        if (pairs && j + 1 < j1) {                                                             \
            float *yj = y + j;                                                                 \
            switch (m) {                                                                       \
            case 4: NAME##_tile(x, ldx, 4, 1, 2, wr, k, yj, ldy, alpha, beta); break;          \
            case 5: NAME##_tile(x, ldx, 5, 1, 2, wr, k, yj, ldy, alpha, beta); break;          \
            default: NAME##_tile(x, ldx, 6, 1, 2, wr, k, yj, ldy, alpha, beta); break;         \
            }                                                                                  \
            j += 2;                                                                            \
            continue;                                                                          \
        }                                                                                      \
        /* Row groups of up to 8 reuse the weight row from L1. */                              \
        for (long i0 = 0; i0 < m; i0 += 8) {                                                   \
            const float *xi = x + i0 * ldx;                                                    \
            float *yi = y + i0 * ldy + j;                                                      \
            switch (m - i0 < 8 ? m - i0 : 8) {                                                 \
            case 1: NAME##_tile(xi, ldx, 1, 2, 1, wr, k, yi, ldy, alpha, beta); break;         \
            case 2: NAME##_tile(xi, ldx, 2, 2, 1, wr, k, yi, ldy, alpha, beta); break;         \
            case 3: NAME##_tile(xi, ldx, 3, 1, 1, wr, k, yi, ldy, alpha, beta); break;         \
            case 4: NAME##_tile(xi, ldx, 4, 1, 1, wr, k, yi, ldy, alpha, beta); break;         \
            case 5: NAME##_tile(xi, ldx, 5, 1, 1, wr, k, yi, ldy, alpha, beta); break;         \
            case 6: NAME##_tile(xi, ldx, 6, 1, 1, wr, k, yi, ldy, alpha, beta); break;         \
            case 7: NAME##_tile(xi, ldx, 7, 1, 1, wr, k, yi, ldy, alpha, beta); break;         \
            default: NAME##_tile(xi, ldx, 8, 1, 1, wr, k, yi, ldy, alpha, beta); break;        \
            }                                                                                  \
        }                                                                                      \
        j += 1;                                                                                \
    }                                                                                          \
}

// One input row: four weight rows at a time share each load of x and keep four independent
// FMA chains, so the loop streams weights at memory speed instead of waiting on one chain.
#define RL_SINGLE_ROW_AVX2(NAME, WTYPE, LOADW, SCALARW)                                            \
__attribute__((target("avx2,fma"))) static void NAME(const float *x, const WTYPE *w, long k,       \
    long j0, long j1, float *y, float alpha, float beta) {                                     \
    long k8 = k & ~7L;                                                                         \
    long j = j0;                                                                               \
    for (; j < j1; j += 4) {                                                                   \
        long rows = j1 - j < 4 ? j1 - j : 4;                                                   \
        const WTYPE *w0 = w + j * k;                                                           \
        const WTYPE *w1 = rows > 1 ? w0 + k : w0;                                              \
        const WTYPE *w2 = rows > 2 ? w0 + 2 * k : w0;                                          \
        const WTYPE *w3 = rows > 3 ? w0 + 3 * k : w0;                                          \
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                             \
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();                             \
        for (long t = 0; t < k8; t += 8) {                                                     \
            __m256 xv = _mm256_loadu_ps(x + t);                                                \
            a0 = _mm256_fmadd_ps(LOADW(w0 + t), xv, a0);                                       \
            a1 = _mm256_fmadd_ps(LOADW(w1 + t), xv, a1);                                       \
            a2 = _mm256_fmadd_ps(LOADW(w2 + t), xv, a2);                                       \
            a3 = _mm256_fmadd_ps(LOADW(w3 + t), xv, a3);                                       \
        }                                                                                      \
        float acc[4] = { hsum256(a0), hsum256(a1), hsum256(a2), hsum256(a3) };                 \
        const WTYPE *ws[4] = { w0, w1, w2, w3 };                                               \
        for (long r = 0; r < rows; r++) {                                                      \
            float s = acc[r];                                                                  \
            for (long t = k8; t < k; t++) s += x[t] * SCALARW(ws[r][t]);                      \
            float *out = y + j + r;                                                            \
            *out = alpha * s + (beta != 0.0f ? beta * *out : 0.0f);                            \
        }                                                                                      \
    }                                                                                          \
}

// AVX-512 (32 vector registers): a group of up to 6 rows of x against 4 weight rows at a time,
// 24 independent FMA chains. Per weight element, six FMA lanes are needed, so with six rows the
// loop is close to compute-bound and the weights must already be in cache when it gets there:
// they are prefetched RL_SMALL_M_PREFETCH512 elements ahead. The k tail is handled with masked
// loads. Two cores, 6 x 1536 x 8960 (one run, idle machine): 2.26 ms with the AVX2 pairs above,
// 1.85 ms here.
#define RL_SMALL_M_PREFETCH512 2048
__attribute__((target(RL_AVX512_TARGET))) static inline __m512 load_f32x16(const float *p) { return _mm512_loadu_ps(p); }
__attribute__((target(RL_AVX512_TARGET))) static inline __m512 maskload_f32x16(const float *p, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, p);
}
__attribute__((target(RL_AVX512_TARGET))) static inline __m512 load_bf16x16(const uint16_t *p) {
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
__attribute__((target(RL_AVX512_TARGET))) static inline __m512 maskload_bf16x16(const uint16_t *p, __mmask16 m) {
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#define RL_SMALL_M_AVX512(NAME, WTYPE, LOADW, MASKLOADW)                                           \
__attribute__((target(RL_AVX512_TARGET), always_inline)) static inline void NAME##_tile(const float *x, long ldx, \
    const int R, const int C, const WTYPE *wr, long k, float *y, long ldy, float alpha, float beta) { \
    __m512 a[6][4];                                                                            \
    for (int r = 0; r < R; r++)                                                                \
        for (int c = 0; c < C; c++) a[r][c] = _mm512_setzero_ps();                             \
    long kk = k & ~15L;                                                                        \
    for (long t = 0; t < kk; t += 16) {                                                        \
        __m512 v[4];                                                                           \
        for (int c = 0; c < C; c++) {                                                          \
            _mm_prefetch((const char *)(wr + c * k + t + RL_SMALL_M_PREFETCH512), _MM_HINT_T0); \
            v[c] = LOADW(wr + c * k + t);                                                      \
        }                                                                                      \
        for (int r = 0; r < R; r++) {                                                          \
            __m512 xv = _mm512_loadu_ps(x + r * ldx + t);                                      \
            for (int c = 0; c < C; c++) a[r][c] = _mm512_fmadd_ps(xv, v[c], a[r][c]);          \
        }                                                                                      \
    }                                                                                          \
    if (kk < k) {                                                                              \
        __mmask16 tail = (__mmask16)((1u << (k - kk)) - 1);                                    \
        __m512 v[4];                                                                           \
        for (int c = 0; c < C; c++) v[c] = MASKLOADW(wr + c * k + kk, tail);                   \
        for (int r = 0; r < R; r++) {                                                          \
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + r * ldx + kk);                         \
            for (int c = 0; c < C; c++) a[r][c] = _mm512_fmadd_ps(xv, v[c], a[r][c]);          \
        }                                                                                      \
    }                                                                                          \
    for (int r = 0; r < R; r++) {                                                              \
        float *out = y + r * ldy;                                                              \
        if (C == 4) {                                                                          \
            __m128 s = hsum4x512(a[r][0], a[r][1], a[r][2], a[r][3]);                          \
            s = _mm_mul_ps(s, _mm_set1_ps(alpha));                                             \
            if (beta != 0.0f) s = _mm_fmadd_ps(_mm_loadu_ps(out), _mm_set1_ps(beta), s);       \
            _mm_storeu_ps(out, s);                                                             \
        } else {                                                                               \
            float s = _mm512_reduce_add_ps(a[r][0]);                                           \
            *out = alpha * s + (beta != 0.0f ? beta * *out : 0.0f);                            \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
__attribute__((target(RL_AVX512_TARGET))) static void NAME(const float *x, long ldx, long m, const WTYPE *w, \
    long k, long j0, long j1, float *y, long ldy, float alpha, float beta) {                   \
    for (long j = j0; j < j1;) {                                                               \
        int wide = j + 4 <= j1;                                                                \
        const WTYPE *wr = w + j * k;                                                           \
        for (long i0 = 0; i0 < m; i0 += 6) {                                                   \
            const float *xi = x + i0 * ldx;                                                    \
            float *yi = y + i0 * ldy + j;                                                      \
            long rows = m - i0 < 6 ? m - i0 : 6;                                               \
            switch (rows * 2 + wide) {                                                         \
            case 2: NAME##_tile(xi, ldx, 1, 1, wr, k, yi, ldy, alpha, beta); break;            \
            case 3: NAME##_tile(xi, ldx, 1, 4, wr, k, yi, ldy, alpha, beta); break;            \
            case 4: NAME##_tile(xi, ldx, 2, 1, wr, k, yi, ldy, alpha, beta); break;            \
            case 5: NAME##_tile(xi, ldx, 2, 4, wr, k, yi, ldy, alpha, beta); break;            \
            case 6: NAME##_tile(xi, ldx, 3, 1, wr, k, yi, ldy, alpha, beta); break;            \
            case 7: NAME##_tile(xi, ldx, 3, 4, wr, k, yi, ldy, alpha, beta); break;            \
            case 8: NAME##_tile(xi, ldx, 4, 1, wr, k, yi, ldy, alpha, beta); break;            \
            case 9: NAME##_tile(xi, ldx, 4, 4, wr, k, yi, ldy, alpha, beta); break;            \
            case 10: NAME##_tile(xi, ldx, 5, 1, wr, k, yi, ldy, alpha, beta); break;           \
            case 11: NAME##_tile(xi, ldx, 5, 4, wr, k, yi, ldy, alpha, beta); break;           \
            case 12: NAME##_tile(xi, ldx, 6, 1, wr, k, yi, ldy, alpha, beta); break;           \
            default: NAME##_tile(xi, ldx, 6, 4, wr, k, yi, ldy, alpha, beta); break;           \
            }                                                                                  \
        }                                                                                      \
        j += wide ? 4 : 1;                                                                     \
    }                                                                                          \
}

// One input row, one weight row at a time with four FMA chains over it: a single sequential
// stream, which the hardware prefetcher follows best.
#define RL_ROW_STREAM_AVX2(NAME, WTYPE, LOADW, SCALARW)                                            \
__attribute__((target("avx2,fma"))) static void NAME(const float *x, const WTYPE *w, long k,       \
    long j0, long j1, float *y, float alpha, float beta) {                                     \
    long k32 = k & ~31L, k8 = k & ~7L;                                                         \
    for (long j = j0; j < j1; j++) {                                                           \
        const WTYPE *wr = w + j * k;                                                           \
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                             \
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();                             \
        long t = 0;                                                                            \
        for (; t < k32; t += 32) {                                                             \
            a0 = _mm256_fmadd_ps(LOADW(wr + t), _mm256_loadu_ps(x + t), a0);                   \
            a1 = _mm256_fmadd_ps(LOADW(wr + t + 8), _mm256_loadu_ps(x + t + 8), a1);           \
            a2 = _mm256_fmadd_ps(LOADW(wr + t + 16), _mm256_loadu_ps(x + t + 16), a2);         \
            a3 = _mm256_fmadd_ps(LOADW(wr + t + 24), _mm256_loadu_ps(x + t + 24), a3);         \
        }                                                                                      \
        for (; t < k8; t += 8) a0 = _mm256_fmadd_ps(LOADW(wr + t), _mm256_loadu_ps(x + t), a0); \
        float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));        \
        for (; t < k; t++) s += x[t] * SCALARW(wr[t]);                                         \
        y[j] = alpha * s + (beta != 0.0f ? beta * y[j] : 0.0f);                                \
    }                                                                                          \
}
static inline float bf16_scalar(uint16_t b) { union { uint32_t u; float f; } cv; cv.u = (uint32_t)b << 16; return cv.f; }
static inline float f32_scalar(float v) { return v; }
// One input row against four weight rows at a time, 16 lanes: the rows j0..j1 are cut into four
// equal parts and each pass takes one row from each part, so a core reads four sequential
// streams far apart, each prefetched RL_SINGLE_ROW_PREFETCH512 elements ahead. That keeps more
// cache-line fills in flight than one stream (four adjacent rows are one stream): on a 2-core
// Xeon (Emerald Rapids) the LM head's 151,936 x 512 f32 rows stream at 23-31 GB/s instead of
// 19-28 (C harness, best of 8, three rounds).
#define RL_SINGLE_ROW_PREFETCH512 512
#include <string.h>
#include "rl_cpu_features.h"
// On Intel Xeons with AVX-512 the 16-lane kernels also take what the AVX2 kernels took on AMD
// (where they were measured faster): one row (this kernel instead of the AVX2 row stream) and
// 4+ rows shorter than 1024. Emerald Rapids, 2 threads, mini Qwen2 f32 decode, three alternating
// rounds on the idle machine: batch 1 forward 13.5-18.0 ms against 20.9-22.9 ms, batch 6
// 14.7-19.2 ms against 18.1-22.1 ms.
static int rl_small_m_wide_on_intel(void) {
    static int cached = -1;
    if (cached < 0) {
        rl_cpu_features f;
        rl_cpu_features_read(&f);
        cached = rl_has_avx512() && strcmp(f.vendor, "GenuineIntel") == 0;
    }
    return cached;
}
#define RL_SINGLE_ROW_AVX512(NAME, WTYPE, LOADW, MASKLOADW)                                        \
__attribute__((target(RL_AVX512_TARGET))) static void NAME(const float *x, const WTYPE *w, long k,  \
    long j0, long j1, float *y, float alpha, float beta) {                                     \
    long kk = k & ~15L;                                                                        \
    __mmask16 tail = (__mmask16)((1u << (k - kk)) - 1);                                        \
    long part = (j1 - j0) / 4, rest = j0 + 4 * part;                                           \
    for (long pass = 0; pass < part + (rest < j1); pass++) {                                   \
        /* A pass's rows: one from each part, or the (fewer than four) rows after them. */     \
        long rows = pass < part ? 4 : j1 - rest, row[4];                                       \
        for (int r = 0; r < 4; r++) row[r] = pass < part ? j0 + r * part + pass : rest + (r < rows ? r : 0); \
        const WTYPE *wr[4] = { w + row[0] * k, w + row[1] * k, w + row[2] * k, w + row[3] * k }; \
        __m512 a[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() }; \
        for (long t = 0; t < kk; t += 16) {                                                    \
            __m512 xv = _mm512_loadu_ps(x + t);                                                \
            for (int r = 0; r < 4; r++) {                                                      \
                _mm_prefetch((const char *)(wr[r] + t + RL_SINGLE_ROW_PREFETCH512), _MM_HINT_T0); \
                a[r] = _mm512_fmadd_ps(LOADW(wr[r] + t), xv, a[r]);                            \
            }                                                                                  \
        }                                                                                      \
        if (kk < k) {                                                                          \
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + kk);                                   \
            for (int r = 0; r < 4; r++) a[r] = _mm512_fmadd_ps(MASKLOADW(wr[r] + kk, tail), xv, a[r]); \
        }                                                                                      \
        for (long r = 0; r < rows; r++) {                                                      \
            float s = _mm512_reduce_add_ps(a[r]);                                              \
            y[row[r]] = alpha * s + (beta != 0.0f ? beta * y[row[r]] : 0.0f);                  \
        }                                                                                      \
    }                                                                                          \
}

RL_SMALL_M_AVX2(small_m_f32_avx2, float, _mm256_loadu_ps, f32_scalar)
RL_SMALL_M_AVX2(small_m_bf16_avx2, uint16_t, load_bf16x8, bf16_scalar)
RL_SINGLE_ROW_AVX2(single_row_f32_avx2, float, _mm256_loadu_ps, f32_scalar)
RL_SINGLE_ROW_AVX2(single_row_bf16_avx2, uint16_t, load_bf16x8, bf16_scalar)
RL_ROW_STREAM_AVX2(row_stream_f32_avx2, float, _mm256_loadu_ps, f32_scalar)
RL_ROW_STREAM_AVX2(row_stream_bf16_avx2, uint16_t, load_bf16x8, bf16_scalar)
RL_SMALL_M_AVX512(small_m_f32_avx512, float, load_f32x16, maskload_f32x16)
RL_SMALL_M_AVX512(small_m_bf16_avx512, uint16_t, load_bf16x16, maskload_bf16x16)
RL_SINGLE_ROW_AVX512(single_row_f32_avx512, float, load_f32x16, maskload_f32x16)
RL_SINGLE_ROW_AVX512(single_row_bf16_avx512, uint16_t, load_bf16x16, maskload_bf16x16)

#endif

// Kernel choice for the few-row product. When the x rows are short enough to stay in L1
// (k <= 4096 floats), one weight row is streamed at a time (a single sequential stream, which
// the prefetcher follows best); longer x rows would be re-read from L2 for every weight row, so
// several weight rows share each pass over x instead. From four rows on the product is close to
// compute-bound and the AVX-512 tiles (24 accumulators) are used when the CPU has them, except
// for rows shorter than 1024, where the AVX2 pairs measured faster (6 x 512 x 151936: 12.3 ms
// against 14.3 ms on AMD EPYC; at k = 1536 and 8960 the AVX-512 tiles are 1.1-1.3x faster). On
// Intel the AVX-512 kernels take those cases too (`rl_small_m_wide_on_intel`).
#define RL_SMALL_M_SELECT(T, WTYPE)                                                                \
static void small_m_##T##_select(const float *x, long ldx, long m, const WTYPE *w, long k, long j0, long j1, \
                                 float *y, long ldy, float alpha, float beta) {                  \
    RL_SMALL_M_SELECT_X86(T)                                                                   \
    small_m_##T##_generic(x, ldx, m, w, k, j0, j1, y, ldy, alpha, beta);                       \
}
#ifdef RL_X86
#define RL_SMALL_M_SELECT_X86(T)                                                                   \
    int short_rows = k <= 4096;                                                                \
    if (m == 1 && rl_small_m_wide_on_intel()) {                                                \
        single_row_##T##_avx512(x, w, k, j0, j1, y, alpha, beta);                              \
        return;                                                                                \
    }                                                                                          \
    if (rl_has_avx2() && m == 1) {                                                             \
        if (short_rows) row_stream_##T##_avx2(x, w, k, j0, j1, y, alpha, beta);                \
        else single_row_##T##_avx2(x, w, k, j0, j1, y, alpha, beta);                           \
        return;                                                                                \
    }                                                                                          \
    if (rl_has_avx512() && (k >= 1024 || (m >= 4 && rl_small_m_wide_on_intel())) && (m >= 4 || !short_rows)) { \
        small_m_##T##_avx512(x, ldx, m, w, k, j0, j1, y, ldy, alpha, beta);                    \
        return;                                                                                \
    }                                                                                          \
    if (rl_has_avx2()) { small_m_##T##_avx2(x, ldx, m, w, k, j0, j1, y, ldy, alpha, beta); return; }
#else
#define RL_SMALL_M_SELECT_X86(T)
#endif
RL_SMALL_M_SELECT(f32, float)
RL_SMALL_M_SELECT(bf16, uint16_t)

void rl_small_m_gemm_f32(const float *x, long ldx, long m, const float *w, long k, long j0, long j1,
                         float *y, long ldy, float alpha, float beta) {
    small_m_f32_select(x, ldx, m, w, k, j0, j1, y, ldy, alpha, beta);
}

// bf16 weights, up to rl_bf16_dot_max_rows() rows with AVX512_BF16: the x rows are rounded to
// bf16 (nearest even) and multiplied with dot-product instructions, f32 sums, as llama.cpp and
// PyTorch autocast do; the products then differ from the widening kernels by the rounding of x
// (relative 2^-9 per element). RL_NO_AVX512_BF16=1 keeps the widening kernels.
void rl_small_m_gemm_bf16(const float *x, long ldx, long m, const uint16_t *w, long k, long j0, long j1,
                          float *y, long ldy, float alpha, float beta) {
#ifdef RL_X86
    if (m <= rl_bf16_dot_max_rows()) {
        rl_small_m_gemm_bf16_dot(x, ldx, m, w, k, j0, j1, y, ldy, alpha, beta);
        return;
    }
#endif
    small_m_bf16_select(x, ldx, m, w, k, j0, j1, y, ldy, alpha, beta);
}


long rl_small_m_max_rows(long k) {
#ifdef RL_X86
    if (rl_has_avx512() && k >= 1024) return 32;
#endif
    (void)k;
    return 16;
}

