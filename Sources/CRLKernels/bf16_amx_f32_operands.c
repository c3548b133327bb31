// f32 operands prepared for the AMX tiles, for products of two f32 matrices at bf16 precision
// (`MatmulPrecision.bfloat16`): the tiles' A side takes rows of bf16 along k, so a matrix stored
// [k, m] is transposed while it is rounded; the packed side takes 16-column blocks of k pairs,
// so a matrix stored [k, n] is packed column-wise straight from f32. Rows stored along k use the
// existing rounding (`rl_bf16_gemm_round_rows`) and packing (`rl_amx_bf16_pack_rows`).
// Rounding is to nearest even throughout (`vcvtne2ps2bf16`, `vcvtneps2bf16`).
#include "kernel_support.h"

#ifdef RL_X86
#define RL_AMX_OPERAND_TARGET "avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"

__attribute__((target(RL_AMX_OPERAND_TARGET))) void rl_amx_bf16_round_transposed(const float *x, long ldx, long k,
    uint16_t *out, long kp, long i0, long i1) {
    for (long ib = i0; ib < i1; ib += 16) {
        long columns = i1 - ib < 16 ? i1 - ib : 16;
        __mmask16 lanes = rl_lanes16(columns);
        for (long t = 0; t < kp; t += 16) {
            // Row t + j of x, columns ib..ib+15; then vector c holds column ib + c along t.
            __m512i r[16];
            for (long j = 0; j < 16; j++) {
                r[j] = t + j < k ? _mm512_castps_si512(_mm512_maskz_loadu_ps(lanes, x + (t + j) * ldx + ib))
                                 : _mm512_setzero_si512();
            }
            rl_transpose16x16(r);
            for (long c = 0; c < columns; c++) {
                __m256bh rounded = _mm512_cvtneps_pbh(_mm512_castsi512_ps(r[c]));
                _mm256_storeu_si256((__m256i *)(out + (ib + c) * kp + t), (__m256i)rounded);
            }
        }
    }
}

__attribute__((target(RL_AMX_OPERAND_TARGET))) void rl_amx_bf16_pack_columns_f32(const float *w, long ldw, long k,
    long n, uint16_t *wp, long b0, long b1) {
    long kp = rl_amx_bf16_padded_k(k);
    // Interleaves the low 16 words (row 2r) with the high 16 (row 2r + 1): pair c = (even c, odd c).
    __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                          23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (long b = b0; b < b1; b++) {
        uint16_t *block = wp + b * 16 * kp;
        __mmask16 lanes = rl_lanes16(n - b * 16);
        for (long r = 0; r < kp / 2; r++) {
            __m512 even = 2 * r < k ? _mm512_maskz_loadu_ps(lanes, w + 2 * r * ldw + b * 16) : _mm512_setzero_ps();
            __m512 odd = 2 * r + 1 < k ? _mm512_maskz_loadu_ps(lanes, w + (2 * r + 1) * ldw + b * 16) : _mm512_setzero_ps();
            __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
            _mm512_storeu_si512(block + r * 32, _mm512_permutexvar_epi16(interleave, halves));
        }
    }
}
#else
void rl_amx_bf16_round_transposed(const float *x, long ldx, long k, uint16_t *out, long kp, long i0, long i1) {
    (void)x; (void)ldx; (void)k; (void)out; (void)kp; (void)i0; (void)i1;
}
void rl_amx_bf16_pack_columns_f32(const float *w, long ldw, long k, long n, uint16_t *wp, long b0, long b1) {
    (void)w; (void)ldw; (void)k; (void)n; (void)wp; (void)b0; (void)b1;
}
#endif
