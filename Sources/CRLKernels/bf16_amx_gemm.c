// Many-row products with bf16 weights on AMX tiles: y = x · w^T is computed as its transpose
// w · x^T, so the weight rows [n, k] load straight into A tiles (16 rows x 32 bf16) and only x
// is repacked, rounded to bf16, into the k-pair-interleaved B tile layout. Sums are f32.
#include "kernel_support.h"

long rl_amx_bf16_padded_k(long k) { return (k + 31) & ~31L; }

#ifdef RL_X86
#define RL_AMX_TARGET "amx-tile,amx-bf16,avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
// Packed x per pass over the weights: at most this many bytes, to stay in L2 while a block of
// 32 weight rows meets every x block of the pass.
#define RL_AMX_PASS_BYTES (1L << 20)

static inline __mmask16 lanes16(long left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

__attribute__((target(RL_AMX_TARGET))) void rl_amx_bf16_pack_rows(const float *x, long ldx, long m, long k,
                                                                  uint16_t *xp, long b0, long b1) {
    long kp = rl_amx_bf16_padded_k(k);
    const __m512i groups = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(16));
    for (long b = b0; b < b1; b++) {
        uint32_t *block = (uint32_t *)(xp + b * 16 * kp);
        for (long i = 0; i < 16; i++) {
            long row = b * 16 + i;
            const float *xr = x + row * ldx;
            for (long t = 0; t < kp; t += 32) {
                __m512i pairs = _mm512_setzero_si512();
                if (row < m) {
                    __m512 lo = _mm512_maskz_loadu_ps(lanes16(k - t), xr + t);
                    __m512 hi = _mm512_maskz_loadu_ps(lanes16(k - t - 16), xr + t + 16);
                    pairs = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                }
                // Pair g of the row goes to group t / 2 + g, lane i.
                _mm512_i32scatter_epi32(block + (t / 2) * 16 + i, groups, pairs, 4);
            }
        }
    }
}

// A 16 x 16 f32 tile (rows r[0..15]) transposed in registers.
__attribute__((target(RL_AMX_TARGET))) static void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Now lane L of r[4g + c] holds column 4L + c of rows 4g..4g+3.
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

// tile[p][q] (p: weight row j0 + p, q: x row i0 + q) into y[i0 + q, j0 + p], for the first
// `rows` x rows and `cols` weight rows.
__attribute__((target(RL_AMX_TARGET))) static void store_transposed(const float *tile, long rows, long cols,
    float *y, long ldy, float alpha, float beta) {
    __m512 r[16];
    for (int p = 0; p < 16; p++) r[p] = _mm512_loadu_ps(tile + 16 * p);
    transpose16(r);
    __mmask16 lanes = lanes16(cols);
    for (long q = 0; q < rows; q++) {
        __m512 v = _mm512_mul_ps(r[q], _mm512_set1_ps(alpha));
        if (beta != 0.0f) v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, y + q * ldy), _mm512_set1_ps(beta), v);
        _mm512_mask_storeu_ps(y + q * ldy, lanes, v);
    }
}

typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } amx_config;

__attribute__((target(RL_AMX_TARGET))) void rl_amx_gemm_bf16(const uint16_t *xp, long m, const uint16_t *w,
    long ldw, long k, long j0, long j1, float *y, long ldy, float alpha, float beta) {
    // Tiles 0-3: the 2 x 2 f32 sums; 4, 5: weight rows j..j+15, j+16..j+31; 6, 7: two x blocks.
    amx_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.colsb[t] = 64; config.rows[t] = 16; }
    _tile_loadconfig(&config);
    long kp = rl_amx_bf16_padded_k(k), blocks = (m + 31) / 32 * 2;
    long pass = RL_AMX_PASS_BYTES / (32 * kp * 2) * 2;
    if (pass < 2) pass = 2;
    // Weight blocks that are not whole 32 x kp tiles are copied here, zero-padded.
    uint16_t *padded = NULL;
    float tiles[4][256] __attribute__((aligned(64)));
    for (long q0 = 0; q0 < blocks; q0 += pass) {
        long q1 = q0 + pass < blocks ? q0 + pass : blocks;
        for (long j = j0; j < j1; j += 32) {
            long cols = j1 - j < 32 ? j1 - j : 32;
            const uint16_t *a = w + j * ldw;
            long lda = ldw;
            if (cols < 32 || kp != k) {
                if (!padded) padded = aligned_alloc(64, (size_t)(32 * kp) * sizeof(uint16_t));
                memset(padded, 0, (size_t)(32 * kp) * sizeof(uint16_t));
                for (long p = 0; p < cols; p++) memcpy(padded + p * kp, w + (j + p) * ldw, (size_t)k * sizeof(uint16_t));
                a = padded;
                lda = kp;
            }
            for (long q = q0; q < q1; q += 2) {
                const uint16_t *b = xp + q * 16 * kp;
                _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
                for (long t = 0; t < kp; t += 32) {
                    _tile_loadd(4, a + t, lda * 2);
                    _tile_loadd(5, a + 16 * lda + t, lda * 2);
                    _tile_loadd(6, b + t * 16, 64);
                    _tile_loadd(7, b + 16 * kp + t * 16, 64);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                _tile_stored(0, tiles[0], 64);
                _tile_stored(1, tiles[1], 64);
                _tile_stored(2, tiles[2], 64);
                _tile_stored(3, tiles[3], 64);
                for (int u = 0; u < 4; u++) {
                    long i = (q + (u & 1)) * 16, jj = j + (u >> 1) * 16;
                    long rows = m - i < 16 ? m - i : 16, width = j1 - jj < 16 ? j1 - jj : 16;
                    if (rows > 0 && width > 0) store_transposed(tiles[u], rows, width, y + i * ldy + jj, ldy, alpha, beta);
                }
            }
        }
    }
    _tile_release();
    free(padded);
}
#else
void rl_amx_bf16_pack_rows(const float *x, long ldx, long m, long k, uint16_t *xp, long b0, long b1) {
    (void)x; (void)ldx; (void)m; (void)k; (void)xp; (void)b0; (void)b1;
}
void rl_amx_gemm_bf16(const uint16_t *xp, long m, const uint16_t *w, long ldw, long k, long j0, long j1,
                      float *y, long ldy, float alpha, float beta) {
    (void)xp; (void)m; (void)w; (void)ldw; (void)k; (void)j0; (void)j1; (void)y; (void)ldy; (void)alpha; (void)beta;
}
#endif
