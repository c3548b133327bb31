// Many-row products with bf16 weights on AVX512_BF16, for CPUs that have `vdpbf16ps` but no AMX
// tiles (AMD Zen 4 and Zen 5, Intel Cooper Lake; any AVX512_BF16 CPU with RL_NO_AMX=1).
//
// The rows of the f32 operand are rounded to bf16 (nearest even) once, as the few-row and AMX
// kernels do. The weights, [n, k] (Hugging Face's layout, the forward) or [k, n] (the input
// gradient), are packed 64 output columns at a time into the layout `vdpbf16ps` multiplies: per
// k pair, 16 dwords per 16 columns, each the (even, odd) bf16 pair of one column. A register tile
// of up to 6 rows x 4 vectors (64 columns) keeps 24 f32 sums: each step broadcasts one bf16 pair
// of a row and multiplies it into 4 column vectors, 32 multiply-adds per instruction.
//
// Blocking (GotoBLAS order): the k dimension in blocks of `kc` (256, or all of k when the rows of
// a are few and k is at most 2048), for each block every 64-column panel of the weights is packed
// (32 KiB at kc = 256, in L1) and then multiplied by all the rows of a, whose kc-wide block stays
// in L2; y is updated once per k block (alpha times the block's sums, plus beta times y on the
// first block). While the first row tile of a panel computes, the next panel's weights are
// fetched into L2, so packing them does not wait for memory.
//
// Speed depends on how fast the CPU retires `vdpbf16ps`. On the 2-core Emerald Rapids VM this was
// written on (RL_NO_AMX=1), a loop of 24 independent `vdpbf16ps` zmm ran 0.6-1.2e9 a second on
// one core against 2.8-4.9e9 `vfmadd231ps` zmm (about 1:4 throughout): half the multiply-adds per
// second of f32 FMAs. This kernel reached that bound (51-69 GFLOP/s on one core for 512 rows,
// k = 1536), so there it is slower than widened weights through OpenBLAS for compute-bound shapes
// (0.5-0.8x; Benchmarks/results/tensor.md) and AMX is the fast path. It is meant for CPUs whose
// `vdpbf16ps` keeps up with their FMAs (Zen 4 and 5, Cooper Lake; not measured here).
#include "kernel_support.h"

long rl_bf16_gemm_padded_k(long k) { return (k + 31) & ~31L; }

#ifdef RL_X86
#define RL_BF16_GEMM_TARGET "avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
// Register tile: rows x 16-column vectors (24 sums, 4 weight vectors: 28 of the 32 registers).
#define RL_BF16_GEMM_MR RL_BF16_GEMM_TILE_ROWS
#define RL_BF16_GEMM_NR RL_BF16_GEMM_TILE_COLUMNS
#define RL_BF16_GEMM_NV (RL_BF16_GEMM_NR / 16)
// k block (a multiple of 32): a 64-column panel of it is 32 KiB packed.
#define RL_BF16_GEMM_KC 256
// With at most this many bytes of rounded a rows for all of k, and k at most
// RL_BF16_GEMM_WHOLE_K, k is not blocked: y is written once and the weights are read in whole
// rows. (One core, 6 rows: x [6, 1536] w [8960, 1536] 5.6-7.3 ms unblocked, 6.1-9.3 blocked;
// x [6, 8960] w [1536, 8960] 12.5-13.3 ms unblocked, a 1.1 MiB panel, 7.3-10.3 blocked.)
#define RL_BF16_GEMM_WHOLE_K_BYTES (256L << 10)
#define RL_BF16_GEMM_WHOLE_K 2048
// Weight rows are read 16 at a time, 64 bytes each per step: each is prefetched this many
// elements ahead (more streams than the hardware prefetcher follows).
#ifndef RL_BF16_GEMM_PREFETCH
#define RL_BF16_GEMM_PREFETCH 256
#endif

static inline __mmask32 lanes32(long left) {
    return left >= 32 ? (__mmask32)0xffffffffu : left <= 0 ? 0 : (__mmask32)((1u << left) - 1);
}

__attribute__((target(RL_BF16_GEMM_TARGET))) void rl_bf16_gemm_round_rows(const float *x, long ldx, long k,
                                                                          uint16_t *xb, long kp, long r0, long r1) {
    for (long i = r0; i < r1; i++) {
        const float *xr = x + i * ldx;
        uint16_t *out = xb + i * kp;
        for (long t = 0; t < kp; t += 32) {
            __m512 lo = _mm512_maskz_loadu_ps(rl_lanes16(k - t), xr + t);
            __m512 hi = _mm512_maskz_loadu_ps(rl_lanes16(k - t - 16), xr + t + 16);
            _mm512_storeu_si512(out + t, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

// Packs weight rows j..j+cols-1 of w [n, k] (cols <= 64), k elements t0..t0+kc, as pairs:
// bp[p * 64 + c] = (w[j + c, t0 + 2p], w[j + c, t0 + 2p + 1]), zeros past k. A row's 32 bf16
// are 16 pairs (dwords), so 16 rows transpose as 16 x 16 dwords.
__attribute__((target(RL_BF16_GEMM_TARGET))) static void pack_weight_rows(const uint16_t *w, long ldw, long k,
    long j, long cols, long t0, long kc, uint32_t *bp) {
    for (long v = 0; v * 16 < cols; v++) {
        long rows = cols - v * 16 < 16 ? cols - v * 16 : 16;
        const uint16_t *wv = w + (j + v * 16) * ldw;
        for (long t = 0; t < kc; t += 32) {
            __mmask32 lanes = lanes32(k - t0 - t);
            __m512i r[16];
            for (long i = 0; i < 16; i++) {
                if (i >= rows) { r[i] = _mm512_setzero_si512(); continue; }
                const uint16_t *src = wv + i * ldw + t0 + t;
                if (t + RL_BF16_GEMM_PREFETCH < kc)
                    _mm_prefetch((const char *)(src + RL_BF16_GEMM_PREFETCH), _MM_HINT_T0);
                r[i] = _mm512_maskz_loadu_epi16(lanes, src);
            }
            rl_transpose16x16(r);
            for (int g = 0; g < 16; g++) _mm512_store_si512(bp + (t / 2 + g) * RL_BF16_GEMM_NR + v * 16, r[g]);
        }
    }
}

// Packs columns j..j+cols-1 of w [k, n] (cols <= 64), rows t0..t0+kc, the same way: each pair
// interleaves a column's entries in rows t0 + 2p and t0 + 2p + 1.
__attribute__((target(RL_BF16_GEMM_TARGET))) static void pack_weight_columns(const uint16_t *w, long ldw, long k,
    long j, long cols, long t0, long kc, uint32_t *bp) {
    long pairs = (kc + 1) / 2;
    for (long p = 0; p < pairs; p++) {
        long t = t0 + 2 * p;
        const uint16_t *even = w + t * ldw + j, *odd = even + ldw;
        for (long v = 0; v * 16 < cols; v++) {
            __mmask16 lanes = rl_lanes16(cols - v * 16);
            __m512i e = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes, even + v * 16));
            __m512i o = t + 1 < k ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes, odd + v * 16))
                                  : _mm512_setzero_si512();
            _mm512_store_si512(bp + p * RL_BF16_GEMM_NR + v * 16, _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
        }
    }
}

// The weights of the next panel, fetched into L2 while a tile computes so that packing them
// does not wait for memory: cache lines base + i * inner + o * outer (elements) for i < count
// and o < outer_count, i fastest (a weight [n, k]: i a row, o a 32-element step along k; a
// weight [k, n]: i a 32-column step, o a row).
typedef struct { const uint16_t *base; long inner, count, outer, outer_count; } next_panel;

// R rows of a (bf16, row stride lda, from the k block's start) times V packed column vectors
// over `pairs` k pairs; y (R rows, stride ldy) = alpha * sums + beta * y, the last vector's
// columns masked by `last`. With `next`, prefetches 4 of its lines per k pair.
__attribute__((target(RL_BF16_GEMM_TARGET), always_inline)) static inline void tile(const uint16_t *a, long lda,
    const int R, const int V, const uint32_t *bp, long pairs, float *y, long ldy, float alpha, float beta,
    __mmask16 last, const next_panel *next) {
    __m512 acc[RL_BF16_GEMM_MR][RL_BF16_GEMM_NV];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
    long pi = 0, po = 0;
    for (long p = 0; p < pairs; p++) {
        // 4 lines per k pair: a panel of the weights has 4 lines per k pair (64 bf16 of 2 k).
        for (int q = 0; next && q < 4 && po < next->outer_count; q++) {
            _mm_prefetch((const char *)(next->base + pi * next->inner + po * next->outer), _MM_HINT_T1);
            if (++pi == next->count) { pi = 0; po++; }
        }
        __m512bh b[RL_BF16_GEMM_NV];
        for (int v = 0; v < V; v++) b[v] = (__m512bh)_mm512_load_si512(bp + p * RL_BF16_GEMM_NR + v * 16);
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, a + r * lda + 2 * p, sizeof pair);
            __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], b[v], x);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        float *out = y + r * ldy;
        for (int v = 0; v < V; v++) {
            __mmask16 lanes = v == V - 1 ? last : (__mmask16)0xffff;
            __m512 s = _mm512_mul_ps(acc[r][v], va);
            if (beta != 0.0f) s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, out + v * 16), vb, s);
            _mm512_mask_storeu_ps(out + v * 16, lanes, s);
        }
    }
}

#define RL_TILE_CASE(R, V) \
    case (R) * 8 + (V): tile(a, lda, R, V, bp, pairs, y, ldy, alpha, beta, last, next); break;
#define RL_TILE_ROW(R) RL_TILE_CASE(R, 1) RL_TILE_CASE(R, 2) RL_TILE_CASE(R, 3) RL_TILE_CASE(R, 4)

__attribute__((target(RL_BF16_GEMM_TARGET))) static void tile_any(const uint16_t *a, long lda, int rows, int vectors,
    const uint32_t *bp, long pairs, float *y, long ldy, float alpha, float beta, __mmask16 last,
    const next_panel *next) {
    switch (rows * 8 + vectors) {
    RL_TILE_ROW(1) RL_TILE_ROW(2) RL_TILE_ROW(3) RL_TILE_ROW(4) RL_TILE_ROW(5) RL_TILE_ROW(6)
    default: break;
    }
}

__attribute__((target(RL_BF16_GEMM_TARGET))) void rl_bf16_gemm(const uint16_t *a, long lda, long i0, long i1,
    const uint16_t *w, long ldw, int w_transposed, long k, long j0, long j1, float *y, long ldy, float alpha,
    float beta) {
    if (i1 <= i0 || j1 <= j0) return;
    long kp = rl_bf16_gemm_padded_k(k);
    int whole_k = (i1 - i0) * kp * 2 <= RL_BF16_GEMM_WHOLE_K_BYTES && kp <= RL_BF16_GEMM_WHOLE_K;
    long kc_max = whole_k ? kp : RL_BF16_GEMM_KC;
    if (kc_max < 32) kc_max = 32;
    uint32_t *bp = aligned_alloc(64, (size_t)(kc_max / 2 * RL_BF16_GEMM_NR) * sizeof(uint32_t));
    // One pass with no k (k = 0) still writes alpha * 0 + beta * y.
    for (long t0 = 0; t0 < k || t0 == 0; t0 += kc_max) {
        long kc = k - t0 < kc_max ? k - t0 : kc_max, pairs = (kc + 1) / 2;
        float b = t0 == 0 ? beta : 1.0f;
        for (long j = j0; j < j1; j += RL_BF16_GEMM_NR) {
            long cols = j1 - j < RL_BF16_GEMM_NR ? j1 - j : RL_BF16_GEMM_NR;
            int vectors = (int)((cols + 15) / 16);
            __mmask16 last = rl_lanes16(cols - (vectors - 1) * 16);
            if (w_transposed) pack_weight_rows(w, ldw, k, j, cols, t0, kc, bp);
            else pack_weight_columns(w, ldw, k, j, cols, t0, kc, bp);
            // The next panel of this k block, fetched during the first row tile.
            next_panel next = { NULL, 0, 0, 0, 0 };
            long next_cols = j1 - j - RL_BF16_GEMM_NR < RL_BF16_GEMM_NR ? j1 - j - RL_BF16_GEMM_NR : RL_BF16_GEMM_NR;
            if (next_cols > 0 && w_transposed)
                next = (next_panel){ w + (j + RL_BF16_GEMM_NR) * ldw + t0, ldw, next_cols, 32, (kc + 31) / 32 };
            else if (next_cols > 0)
                next = (next_panel){ w + t0 * ldw + j + RL_BF16_GEMM_NR, 32, (next_cols + 31) / 32, ldw, kc };
            for (long i = i0; i < i1; i += RL_BF16_GEMM_MR) {
                int rows = (int)(i1 - i < RL_BF16_GEMM_MR ? i1 - i : RL_BF16_GEMM_MR);
                tile_any(a + i * lda + t0, lda, rows, vectors, bp, pairs, y + i * ldy + j, ldy, alpha, b, last,
                         i == i0 && next.base ? &next : NULL);
            }
        }
    }
    free(bp);
}
#else
void rl_bf16_gemm_round_rows(const float *x, long ldx, long k, uint16_t *xb, long kp, long r0, long r1) {
    (void)x; (void)ldx; (void)k; (void)xb; (void)kp; (void)r0; (void)r1;
}
void rl_bf16_gemm(const uint16_t *a, long lda, long i0, long i1, const uint16_t *w, long ldw, int w_transposed,
                  long k, long j0, long j1, float *y, long ldy, float alpha, float beta) {
    (void)a; (void)lda; (void)i0; (void)i1; (void)w; (void)ldw; (void)w_transposed; (void)k; (void)j0; (void)j1;
    (void)y; (void)ldy; (void)alpha; (void)beta;
}
#endif
