// Few-row products with bf16 weights on AVX512_BF16: x rows rounded to bf16 once, then
// `vdpbf16ps` multiplies 16 bf16 pairs per instruction into 16 f32 sums, twice the elements of
// an f32 FMA and without widening the weights first.
#include "kernel_support.h"

#ifdef RL_X86
#define RL_BF16_TARGET "avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
#define RL_BF16_DOT_PREFETCH 2048
// Up to three rows: x [m, 1536] times w [8960, 1536] bf16 on two threads of a 2-core Emerald
// Rapids VM (ms, median of 9; the machine is shared):
//   rows          1     2     3     4     6     8
//   widened    1.02  1.27  1.82  1.14  1.49  2.19
//   this       0.70  0.82  1.09
//   AMX tiles  0.87  0.87  0.87  0.91  0.89  0.90
// and for w [1536, 8960]: widened 0.75, 0.83, 0.95 ms, this 0.74, 0.72, 0.85, AMX 1.09, 0.99,
// 1.00 (1-3 rows). Once the rows make the product compute-bound, `vdpbf16ps` measured no
// faster than the widening FMA kernels, so from 4 rows the AMX tiles take over where the CPU
// has them, and the AVX512_BF16 GEMM of bf16_dot_gemm.c (register tiles, no horizontal sums)
// elsewhere.
#define RL_BF16_DOT_MAX_ROWS 3

// x rows [m, k] to bf16 rows of kp (k rounded up to 32) elements, zeros past k.
__attribute__((target(RL_BF16_TARGET))) static void round_rows(const float *x, long ldx, long m, long k, long kp,
                                                             uint16_t *xb) {
    for (long i = 0; i < m; i++) {
        const float *xr = x + i * ldx;
        for (long t = 0; t < kp; t += 32) {
            __m512 lo = _mm512_maskz_loadu_ps(rl_lanes16(k - t), xr + t);
            __m512 hi = _mm512_maskz_loadu_ps(rl_lanes16(k - t - 16), xr + t + 16);
            _mm512_storeu_si512(xb + i * kp + t, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

// R rows of rounded x (R <= 3) against C weight rows (1 or 4), R x C independent dot-product
// chains over k in steps of 32; the k tail of the weights is a masked load (x is zero there).
__attribute__((target(RL_BF16_TARGET), always_inline)) static inline void dot_tile(const uint16_t *xb, long kp,
    const int R, const int C, const uint16_t *wr, long k, float *y, long ldy, float alpha, float beta) {
    __m512 a[3][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) a[r][c] = _mm512_setzero_ps();
    long kk = k & ~31L;
    for (long t = 0; t < kp; t += 32) {
        __m512bh v[4];
        if (t < kk) {
            for (int c = 0; c < C; c++) {
                _mm_prefetch((const char *)(wr + c * k + t + RL_BF16_DOT_PREFETCH), _MM_HINT_T0);
                v[c] = (__m512bh)_mm512_loadu_si512(wr + c * k + t);
            }
        } else {
            __mmask32 tail = (__mmask32)((1ull << (k - kk)) - 1);
            for (int c = 0; c < C; c++) v[c] = (__m512bh)_mm512_maskz_loadu_epi16(tail, wr + c * k + t);
        }
        for (int r = 0; r < R; r++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + r * kp + t);
            for (int c = 0; c < C; c++) a[r][c] = _mm512_dpbf16_ps(a[r][c], xv, v[c]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *out = y + r * ldy;
        if (C == 4) {
            __m128 s = hsum4x512(a[r][0], a[r][1], a[r][2], a[r][3]);
            s = _mm_mul_ps(s, _mm_set1_ps(alpha));
            if (beta != 0.0f) s = _mm_fmadd_ps(_mm_loadu_ps(out), _mm_set1_ps(beta), s);
            _mm_storeu_ps(out, s);
        } else {
            float s = _mm512_reduce_add_ps(a[r][0]);
            *out = alpha * s + (beta != 0.0f ? beta * *out : 0.0f);
        }
    }
}

// All m (<= 3) rows against weight rows four at a time (one at a time at the n tail).
__attribute__((target(RL_BF16_TARGET))) static void dot_rows(const uint16_t *xb, long kp, long m, const uint16_t *w,
    long k, long j0, long j1, float *y, long ldy, float alpha, float beta) {
    for (long j = j0; j < j1;) {
        int wide = j + 4 <= j1;
        const uint16_t *wr = w + j * k;
        switch (m * 2 + wide) {
        case 2: dot_tile(xb, kp, 1, 1, wr, k, y + j, ldy, alpha, beta); break;
        case 3: dot_tile(xb, kp, 1, 4, wr, k, y + j, ldy, alpha, beta); break;
        case 4: dot_tile(xb, kp, 2, 1, wr, k, y + j, ldy, alpha, beta); break;
        case 5: dot_tile(xb, kp, 2, 4, wr, k, y + j, ldy, alpha, beta); break;
        case 6: dot_tile(xb, kp, 3, 1, wr, k, y + j, ldy, alpha, beta); break;
        default: dot_tile(xb, kp, 3, 4, wr, k, y + j, ldy, alpha, beta); break;
        }
        j += wide ? 4 : 1;
    }
}

long rl_bf16_dot_max_rows(void) { return rl_bf16_dot_enabled() ? RL_BF16_DOT_MAX_ROWS : 0; }

void rl_small_m_gemm_bf16_dot(const float *x, long ldx, long m, const uint16_t *w, long k, long j0, long j1,
                              float *y, long ldy, float alpha, float beta) {
    long kp = (k + 31) & ~31L;
    uint16_t stack[8192];
    uint16_t *xb = m * kp <= 8192 ? stack : malloc((size_t)(m * kp) * sizeof(uint16_t));
    round_rows(x, ldx, m, k, kp, xb);
    dot_rows(xb, kp, m, w, k, j0, j1, y, ldy, alpha, beta);
    if (xb != stack) free(xb);
}
#else
long rl_bf16_dot_max_rows(void) { return 0; }
#endif
