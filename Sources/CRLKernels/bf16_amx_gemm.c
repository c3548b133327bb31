// Many-row products with bf16 weights on AMX tiles. `tdpbf16ps` multiplies A tiles (16 rows x
// 32 bf16) by B tiles (16 k pairs x 16 columns, the pairs interleaved) into 16 x 16 f32 sums.
// Rows of a bf16 matrix along k load straight into A tiles; the other operand is packed into B
// tiles. A training forward y = x · w^T is computed as its transpose w · x^T, so the weight rows
// [n, k] are the A tiles and only x is packed (rounded to bf16); the input gradient
// dx = dy · w takes dy rounded to bf16 as A and packs w [k, n].
#include "kernel_support.h"

long rl_amx_bf16_padded_k(long k) { return (k + 31) & ~31L; }

#ifdef RL_X86
#define RL_AMX_TARGET "amx-tile,amx-bf16,avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
// Packed x per pass over the weights: at most this many bytes, to stay in L2 while a block of
// 32 weight rows meets every x block of the pass.
#define RL_AMX_PASS_BYTES (1L << 20)
// A rows are prefetched this many elements (four k steps) ahead on their first pass: with few
// x rows the tiles stream the weights, and 32 strided rows are more than the hardware
// prefetcher follows (2 threads, 6 x 1536 x 8960: 1.04-1.11 ms without, 0.89 with).
#define RL_AMX_PREFETCH 128

// A 16 x 16 f32 tile (rows r[0..15]) transposed in registers.
__attribute__((target(RL_AMX_TARGET))) static void transpose16(__m512 r[16]) {
    __m512i dwords[16];
    for (int i = 0; i < 16; i++) dwords[i] = _mm512_castps_si512(r[i]);
    rl_transpose16x16(dwords);
    for (int i = 0; i < 16; i++) r[i] = _mm512_castsi512_ps(dwords[i]);
}

// tile[p][q] (p: weight row j0 + p, q: x row i0 + q) into y[i0 + q, j0 + p], for the first
// `rows` x rows and `cols` weight rows.
__attribute__((target(RL_AMX_TARGET))) static void store_transposed(const float *tile, long rows, long cols,
    float *y, long ldy, float alpha, float beta) {
    __m512 r[16];
    for (int p = 0; p < 16; p++) r[p] = _mm512_loadu_ps(tile + 16 * p);
    transpose16(r);
    __mmask16 lanes = rl_lanes16(cols);
    for (long q = 0; q < rows; q++) {
        __m512 v = _mm512_mul_ps(r[q], _mm512_set1_ps(alpha));
        if (beta != 0.0f) v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, y + q * ldy), _mm512_set1_ps(beta), v);
        _mm512_mask_storeu_ps(y + q * ldy, lanes, v);
    }
}

__attribute__((target(RL_AMX_TARGET))) void rl_amx_bf16_pack_rows(const float *x, long ldx, long m, long k,
                                                                  uint16_t *xp, long b0, long b1) {
    long kp = rl_amx_bf16_padded_k(k);
    for (long b = b0; b < b1; b++) {
        float *block = (float *)(xp + b * 16 * kp);
        for (long t = 0; t < kp; t += 32) {
            // Row i's 16 k pairs (as 32-bit lanes), transposed: vector g holds pair g of every row.
            __m512 r[16];
            for (long i = 0; i < 16; i++) {
                long row = b * 16 + i;
                r[i] = _mm512_setzero_ps();
                if (row < m) {
                    const float *xr = x + row * ldx;
                    __m512 lo = _mm512_maskz_loadu_ps(rl_lanes16(k - t), xr + t);
                    __m512 hi = _mm512_maskz_loadu_ps(rl_lanes16(k - t - 16), xr + t + 16);
                    r[i] = (__m512)_mm512_cvtne2ps_pbh(hi, lo);
                }
            }
            transpose16(r);
            for (int g = 0; g < 16; g++) _mm512_storeu_ps(block + (t / 2 + g) * 16, r[g]);
        }
    }
}

// Packs columns c0..<c0+16 of the pair of w rows 2r, 2r+1 per group r (zeros past k and n).
__attribute__((target(RL_AMX_TARGET))) void rl_amx_bf16_pack_columns(const uint16_t *w, long ldw, long k, long n,
                                                                     uint16_t *wp, long b0, long b1) {
    long kp = rl_amx_bf16_padded_k(k);
    for (long b = b0; b < b1; b++) {
        uint32_t *block = (uint32_t *)(wp + b * 16 * kp);
        __mmask16 lanes = rl_lanes16(n - b * 16);
        for (long r = 0; r < kp / 2; r++) {
            __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
            if (2 * r < k) even = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes, w + 2 * r * ldw + b * 16));
            if (2 * r + 1 < k) odd = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes, w + (2 * r + 1) * ldw + b * 16));
            _mm512_storeu_si512(block + r * 16, _mm512_or_si512(even, _mm512_slli_epi32(odd, 16)));
        }
    }
}

// tile[p][q] into y[q, p] (transposed) or y[p, q], for q < rows_q and p < rows_p.
__attribute__((target(RL_AMX_TARGET))) static void store_tile(const float *tile, long rows_p, long rows_q,
    int transposed, float *y, long ldy, float alpha, float beta) {
    if (!transposed) {
        __mmask16 lanes = rl_lanes16(rows_q);
        for (long p = 0; p < rows_p; p++) {
            __m512 v = _mm512_mul_ps(_mm512_loadu_ps(tile + 16 * p), _mm512_set1_ps(alpha));
            if (beta != 0.0f) v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, y + p * ldy), _mm512_set1_ps(beta), v);
            _mm512_mask_storeu_ps(y + p * ldy, lanes, v);
        }
        return;
    }
    store_transposed(tile, rows_q, rows_p, y, ldy, alpha, beta);
}

// The next lines of the 32 A rows, on their first pass (from memory, 32 strided streams).
static inline void prefetch_rows(const uint16_t *p, long ld) {
    for (int r = 0; r < 32; r++) _mm_prefetch((const char *)(p + r * ld), _MM_HINT_T0);
}

typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } amx_config;

__attribute__((target(RL_AMX_TARGET))) void rl_amx_gemm_bf16(const uint16_t *packed, long nq, const uint16_t *a,
    long lda, long k, long p0, long p1, int transposed, float *y, long ldy, float alpha, float beta) {
    // Tiles 0-3: the 2 x 2 f32 sums; 4, 5: A rows p..p+15, p+16..p+31; 6, 7: two packed blocks.
    amx_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.colsb[t] = 64; config.rows[t] = 16; }
    _tile_loadconfig(&config);
    long kp = rl_amx_bf16_padded_k(k), blocks = (nq + 31) / 32 * 2;
    long pass = RL_AMX_PASS_BYTES / (32 * kp * 2) * 2;
    if (pass < 2) pass = 2;
    // A blocks that are not whole 32 x kp tiles are copied here, zero-padded.
    uint16_t *padded = NULL;
    float tiles[4][256] __attribute__((aligned(64)));
    for (long q0 = 0; q0 < blocks; q0 += pass) {
        long q1 = q0 + pass < blocks ? q0 + pass : blocks;
        for (long p = p0; p < p1; p += 32) {
            long rows = p1 - p < 32 ? p1 - p : 32;
            const uint16_t *ap = a + p * lda;
            long ld = lda;
            if (rows < 32 || kp != k) {
                if (!padded) padded = aligned_alloc(64, (size_t)(32 * kp) * sizeof(uint16_t));
                memset(padded, 0, (size_t)(32 * kp) * sizeof(uint16_t));
                for (long r = 0; r < rows; r++) memcpy(padded + r * kp, a + (p + r) * lda, (size_t)k * sizeof(uint16_t));
                ap = padded;
                ld = kp;
            }
            for (long q = q0; q < q1; q += 2) {
                const uint16_t *b = packed + q * 16 * kp;
                // Whole 32 x 32 blocks of an untransposed y with alpha 1 and beta 0 or 1 go
                // straight between the tiles and y (loaded first when beta is 1): 15-20 % faster
                // than through the f32 tile copies below.
                int direct = !transposed && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && rows == 32 && (q + 2) * 16 <= nq;
                float *block = y + p * ldy + q * 16;
                if (direct && beta == 1.0f) {
                    _tile_loadd(0, block, ldy * 4);
                    _tile_loadd(1, block + 16, ldy * 4);
                    _tile_loadd(2, block + 16 * ldy, ldy * 4);
                    _tile_loadd(3, block + 16 * ldy + 16, ldy * 4);
                } else {
                    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
                }
                if ((q + 1) * 16 < nq) {
                    for (long t = 0; t < kp; t += 32) {
                        if (q == q0) prefetch_rows(ap + t + RL_AMX_PREFETCH, ld);
                        _tile_loadd(4, ap + t, ld * 2);
                        _tile_loadd(5, ap + 16 * ld + t, ld * 2);
                        _tile_loadd(6, b + t * 16, 64);
                        _tile_loadd(7, b + 16 * kp + t * 16, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                } else {
                    // The second block is all padding (16 or fewer rows left): half the work.
                    for (long t = 0; t < kp; t += 32) {
                        if (q == q0) prefetch_rows(ap + t + RL_AMX_PREFETCH, ld);
                        _tile_loadd(4, ap + t, ld * 2);
                        _tile_loadd(5, ap + 16 * ld + t, ld * 2);
                        _tile_loadd(6, b + t * 16, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(2, 5, 6);
                    }
                }
                if (direct) {
                    _tile_stored(0, block, ldy * 4);
                    _tile_stored(1, block + 16, ldy * 4);
                    _tile_stored(2, block + 16 * ldy, ldy * 4);
                    _tile_stored(3, block + 16 * ldy + 16, ldy * 4);
                    continue;
                }
                _tile_stored(0, tiles[0], 64);
                _tile_stored(1, tiles[1], 64);
                _tile_stored(2, tiles[2], 64);
                _tile_stored(3, tiles[3], 64);
                for (int u = 0; u < 4; u++) {
                    long qi = (q + (u & 1)) * 16, pi = p + (u >> 1) * 16;
                    long rows_q = nq - qi < 16 ? nq - qi : 16, rows_p = p1 - pi < 16 ? p1 - pi : 16;
                    if (rows_q <= 0 || rows_p <= 0) continue;
                    float *out = transposed ? y + qi * ldy + pi : y + pi * ldy + qi;
                    store_tile(tiles[u], rows_p, rows_q, transposed, out, ldy, alpha, beta);
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
void rl_amx_bf16_pack_columns(const uint16_t *w, long ldw, long k, long n, uint16_t *wp, long b0, long b1) {
    (void)w; (void)ldw; (void)k; (void)n; (void)wp; (void)b0; (void)b1;
}
void rl_amx_gemm_bf16(const uint16_t *packed, long nq, const uint16_t *a, long lda, long k, long p0, long p1,
                      int transposed, float *y, long ldy, float alpha, float beta) {
    (void)packed; (void)nq; (void)a; (void)lda; (void)k; (void)p0; (void)p1; (void)transposed; (void)y; (void)ldy;
    (void)alpha; (void)beta;
}
#endif
