// f32 operands prepared for the AMX tiles, for products of two f32 matrices at bf16 precision
// (`MatmulPrecision.bfloat16`): the tiles' A side takes rows of bf16 along k, so a matrix stored
// [k, m] is transposed while it is rounded; the packed side takes 16-column blocks of k pairs,
// so a matrix stored [k, n] is packed column-wise straight from f32. Rows stored along k use the
// existing rounding (`rl_bf16_gemm_round_rows`) and packing (`rl_amx_bf16_pack_rows`).
// Rounding is to nearest even throughout (`vcvtne2ps2bf16`, `vcvtneps2bf16`).
#include "kernel_support.h"

#ifdef RL_X86
#define RL_AMX_OPERAND_TARGET "avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"

// 32 rows of x at a time (one whole 64-byte line of each output row), walking the columns
// i0..i1 within them: 32 sequential read streams, where walking all of k for each 16 columns
// read one line from each of k rows far apart. Streamed stores keep a large side out of the
// caches it would only evict from. Both together: 2.5-3x faster for the LM head's weight
// gradient (151,936 x 1536 slices, 2 Xeon cores, C harness, three rounds).
__attribute__((target(RL_AMX_OPERAND_TARGET))) void rl_amx_bf16_round_transposed(const float *x, long ldx, long k,
    uint16_t *out, long kp, long i0, long i1, int stream) {
    for (long t = 0; t < kp; t += 32) {
        for (long ib = i0; ib < i1; ib += 16) {
            long columns = i1 - ib < 16 ? i1 - ib : 16;
            __mmask16 lanes = rl_lanes16(columns);
            // Rows t..t+15, then t+16..t+31, of columns ib..ib+15: after a transpose, vector c
            // holds column ib + c along those rows.
            __m512i r[16];
            __m256i low[16];
            for (long j = 0; j < 16; j++) {
                r[j] = t + j < k ? _mm512_castps_si512(_mm512_maskz_loadu_ps(lanes, x + (t + j) * ldx + ib))
                                 : _mm512_setzero_si512();
            }
            rl_transpose16x16(r);
            for (long c = 0; c < 16; c++) low[c] = (__m256i)_mm512_cvtneps_pbh(_mm512_castsi512_ps(r[c]));
            for (long j = 0; j < 16; j++) {
                r[j] = t + 16 + j < k ? _mm512_castps_si512(_mm512_maskz_loadu_ps(lanes, x + (t + 16 + j) * ldx + ib))
                                      : _mm512_setzero_si512();
            }
            rl_transpose16x16(r);
            for (long c = 0; c < columns; c++) {
                __m256i high = (__m256i)_mm512_cvtneps_pbh(_mm512_castsi512_ps(r[c]));
                __m512i line = _mm512_inserti64x4(_mm512_castsi256_si512(low[c]), high, 1);
                uint16_t *target = out + (ib + c) * kp + t;
                if (stream) _mm512_stream_si512((__m512i *)target, line);
                else _mm512_storeu_si512(target, line);
            }
        }
    }
    // Streamed stores are weakly ordered: complete them before the threads that read `out` run.
    if (stream) _mm_sfence();
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
void rl_amx_bf16_round_transposed(const float *x, long ldx, long k, uint16_t *out, long kp, long i0, long i1, int stream) {
    (void)x; (void)ldx; (void)k; (void)out; (void)kp; (void)i0; (void)i1; (void)stream;
}
void rl_amx_bf16_pack_columns_f32(const float *w, long ldw, long k, long n, uint16_t *wp, long b0, long b1) {
    (void)w; (void)ldw; (void)k; (void)n; (void)wp; (void)b0; (void)b1;
}
#endif
