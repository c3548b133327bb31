// Hot CPU loops of RLTensor's CPUBackend. Plain C so the compiler vectorises them; the
// dot-product kernels have AVX2/FMA (and, for few-row products, AVX-512) versions chosen at
// run time on x86-64. Every function works on a range of rows or elements so the caller can
// split work across threads (rl_thread_pool.h). Pointers never alias unless stated.
#ifndef RL_KERNELS_H
#define RL_KERNELS_H
#include <stdint.h>
#include "rl_thread_pool.h"
#include "rl_sampling.h"

// ---- elementwise --------------------------------------------------------------------------
enum {
    RL_UNARY_NEG = 0, RL_UNARY_EXP, RL_UNARY_LOG, RL_UNARY_SQRT, RL_UNARY_RSQRT, RL_UNARY_SIGMOID,
    RL_UNARY_SILU, RL_UNARY_ABS, RL_UNARY_SQUARE, RL_UNARY_ADD_SCALAR, RL_UNARY_MUL_SCALAR,
    RL_UNARY_POW_SCALAR, RL_UNARY_RSUB_SCALAR, RL_UNARY_RDIV_SCALAR, RL_UNARY_CLAMP, RL_UNARY_TANH,
    RL_UNARY_RECIPROCAL
};
/// y[i] = op(x[i]) for i in [0, n). p0/p1 are the scalar parameters of the *_SCALAR and CLAMP ops.
void rl_unary_f32(int op, const float *x, float *y, long n, float p0, float p1);

enum { RL_BINARY_ADD = 0, RL_BINARY_SUB, RL_BINARY_MUL, RL_BINARY_DIV, RL_BINARY_MAX, RL_BINARY_MIN,
       RL_BINARY_EQ, RL_BINARY_GT, RL_BINARY_LT, RL_BINARY_POW };
/// y[i] = a[i*sa] op b[i*sb] for i in [0, n) (strides in elements; 0 broadcasts).
void rl_binary_f32(int op, const float *a, long sa, const float *b, long sb, float *y, long n);

/// y[i] = cond[i*sc] != 0 ? a[i*sa] : b[i*sb].
void rl_select_f32(const float *cond, long sc, const float *a, long sa, const float *b, long sb, float *y, long n);

// ---- reductions ---------------------------------------------------------------------------
enum { RL_REDUCE_SUM = 0, RL_REDUCE_MAX, RL_REDUCE_MIN };
/// x is [outer, axis, inner]; y[o, i] = reduce_a x[o, a, i], for o in [o0, o1).
void rl_reduce_f32(int op, const float *x, float *y, long o0, long o1, long axis, long inner);

// ---- softmax family (rows of length cols) ------------------------------------------------
void rl_softmax_f32(const float *x, float *y, long r0, long r1, long cols, int log);
/// dx = y * (dy - sum(dy*y)) (softmax) or dy - exp(y) * sum(dy) (log-softmax; y = log-probs).
void rl_softmax_backward_f32(const float *y, const float *dy, float *dx, long r0, long r1, long cols, int log);
/// logp[r] = x[r, t] * s - logsumexp(x[r, :] * s), lse[r] = logsumexp(x[r, :] * s), s = 1/temperature.
void rl_token_logprobs_f32(const float *logits, const int32_t *targets, float *logp, float *lse,
                           long r0, long r1, long cols, float inv_temperature);
/// dlogits[r, j] = dlogp[r] * s * (onehot(t)_j - softmax(x*s)_j).
void rl_token_logprobs_backward_f32(const float *logits, const int32_t *targets, const float *lse,
                                    const float *dlogp, float *dlogits, long r0, long r1, long cols,
                                    float inv_temperature);
/// entropy[r] = entropy (nats) of softmax(x[r, :] * s), given lse[r] = logsumexp(x[r, :] * s).
void rl_row_entropy_f32(const float *logits, const float *lse, float *entropy, long r0, long r1, long cols,
                        float inv_temperature);

// ---- normalisation and activations ---------------------------------------------------------
void rl_rmsnorm_f32(const float *x, const float *w, float *y, float *rstd, long r0, long r1, long cols, float eps);
/// dx for rows [r0, r1); dw_partial (cols floats) accumulates sum_r dy*x*rstd (caller zeroes it).
void rl_rmsnorm_backward_f32(const float *dy, const float *x, const float *w, const float *rstd,
                             float *dx, float *dw_partial, long r0, long r1, long cols);
/// Rotary embedding, rotate-half convention, on x [tokens, heads, dim] with positions[tokens].
/// inverse != 0 rotates by -angle (the backward pass).
void rl_rope_f32(const float *x, const int32_t *positions, float *y, long t0, long t1, long heads,
                 long dim, float theta, int inverse);
/// Uniform fill: y[i] = low + (high - low) * u, u the 24-bit draw of Philox4x32-10's first word
/// at counter offset + i under `seed` (RLTensor's `Philox.sample`, bit for bit).
void rl_philox_uniform_f32(float *y, long n, uint64_t seed, uint64_t offset, float low, float high);
/// The same with the instruction set named (0 scalar, 1 AVX2, 2 AVX-512; one the CPU has), for tests.
void rl_philox_uniform_f32_isa(float *y, long n, uint64_t seed, uint64_t offset, float low, float high, int isa);
void rl_swiglu_f32(const float *gate, const float *up, float *y, long n);
void rl_swiglu_backward_f32(const float *gate, const float *up, const float *dy, float *dgate, float *dup, long n);

// ---- matrix-vector products for few rows ------------------------------------------------------
/// y[i, j] = sum_k x[i, k] * w[j, k] for i < m, j in [j0, j1). x rows have stride ldx, y rows ldy.
/// Reads each weight row once for all m rows (m <= 16).
void rl_small_m_gemm_f32(const float *x, long ldx, long m, const float *w, long k, long j0, long j1,
                         float *y, long ldy, float alpha, float beta);
/// The most rows for which the few-row kernels beat a blocked GEMM at inner dimension k: 32 with
/// the AVX-512 tiles (2-core Zen 4, n = 8960: 1.3-1.8x OpenBLAS at 24-48 rows for k = 1536,
/// 1.1x at 32 rows for k = 8960), else 16 (the AVX2 kernels are at parity with it there).
long rl_small_m_max_rows(long k);

/// The instruction set the library's own kernels run with: "AVX-512", "AVX2" or "portable C"
/// (RL_NO_AVX512=1 turns AVX-512 off), with the bf16 instructions used for bf16 weights, if any.
const char *rl_kernel_isa(void);
/// Same with bfloat16 weights. Up to `rl_bf16_dot_max_rows()` rows the x rows are rounded to
/// bf16 (nearest even) and multiplied with AVX512_BF16 `vdpbf16ps`, f32 sums; otherwise the
/// weights are widened to f32 in registers and x is used as is.
void rl_small_m_gemm_bf16(const float *x, long ldx, long m, const uint16_t *w, long k, long j0, long j1,
                          float *y, long ldy, float alpha, float beta);
/// 1 when bf16-weight products use AVX512_BF16 dot products: the CPU has them, AVX-512 is on,
/// and RL_NO_AVX512_BF16 is unset (checked once per process).
int rl_bf16_dot_enabled(void);
/// The most rows `rl_small_m_gemm_bf16` multiplies with AVX512_BF16 (3; 0 when
/// `rl_bf16_dot_enabled()` is 0).
long rl_bf16_dot_max_rows(void);
/// 1 when bf16-weight products of 4 or more rows use AMX tiles: `rl_bf16_dot_enabled`, the CPU has
/// AMX-BF16, RL_NO_AMX is unset, and the OS granted the tile state (checked once per process).
int rl_bf16_amx_enabled(void);
/// 1 when bf16-weight products of 4 or more rows without AMX use the AVX512_BF16 GEMM
/// (`rl_bf16_gemm`): `rl_bf16_dot_enabled`, and an AMD CPU or RL_BF16_DOT_GEMM=1 (=0 turns it off;
/// checked once per process).
int rl_bf16_dot_gemm_enabled(void);

// ---- many-row products with bf16 weights on AMX tiles ----------------------------------------
/// k rounded up to 32, the inner length of the packed operand.
long rl_amx_bf16_padded_k(long k);
/// Rounds rows of x [m, k] to bf16 and packs them as AMX B tiles: 16-row blocks, each
/// `padded_k / 2` groups of 16 (even, odd) bf16 k pairs, one per row; zeros past k and m. Packs
/// blocks b0..<b1 of the (m + 31) / 32 * 2 blocks into xp (that many * 16 * padded_k elements).
void rl_amx_bf16_pack_rows(const float *x, long ldx, long m, long k, uint16_t *xp, long b0, long b1);
/// Packs the columns of a bf16 matrix w [k, n] (row stride ldw) the same way: 16-column blocks
/// b0..<b1 of the (n + 31) / 32 * 2 blocks, the pairs from rows 2r and 2r + 1.
void rl_amx_bf16_pack_columns(const uint16_t *w, long ldw, long k, long n, uint16_t *wp, long b0, long b1);
/// s[p, q] = sum_t a[p, t] * b[q, t] for p in [p0, p1) and q < nq, where a is bf16 [*, k] with
/// row stride lda and b was packed for nq rows or columns by the functions above. Writes
/// y[q, p] (transposed != 0) or y[p, q] as alpha * s + beta * y. Requires
/// `rl_bf16_amx_enabled()`.
void rl_amx_gemm_bf16(const uint16_t *packed, long nq, const uint16_t *a, long lda, long k, long p0, long p1,
                      int transposed, float *y, long ldy, float alpha, float beta);
/// Rounds x [k, *] (row stride ldx) transposed to bf16: out[i, t] = x[t, i] for i in [i0, i1) and
/// t < k, zeros for t in [k, kp); row i of out starts at out + i * kp (kp a multiple of 32, >= k).
/// The A side of `rl_amx_gemm_bf16` for a product whose left operand is stored [k, m]. With
/// `stream` nonzero the rows are written past the caches (out 64-byte aligned).
void rl_amx_bf16_round_transposed(const float *x, long ldx, long k, uint16_t *out, long kp, long i0, long i1, int stream);
/// `rl_amx_bf16_pack_columns` for an f32 matrix w [k, n] (row stride ldw), rounding to bf16.
void rl_amx_bf16_pack_columns_f32(const float *w, long ldw, long k, long n, uint16_t *wp, long b0, long b1);

// ---- many-row products with bf16 weights on AVX512_BF16 (no AMX) ------------------------------
/// The register tile of `rl_bf16_gemm`: rows of a, and output columns (4 vectors of 16). Threads
/// that split a product should split rows or columns at multiples of these.
#define RL_BF16_GEMM_TILE_ROWS 6
#define RL_BF16_GEMM_TILE_COLUMNS 64
/// k rounded up to 32: the row stride of the rounded rows `rl_bf16_gemm` takes.
long rl_bf16_gemm_padded_k(long k);
/// Rounds rows r0..<r1 of x [*, k] (row stride ldx) to bf16, nearest even, into rows of kp
/// (`rl_bf16_gemm_padded_k(k)`) elements of xb, zeros past k.
void rl_bf16_gemm_round_rows(const float *x, long ldx, long k, uint16_t *xb, long kp, long r0, long r1);
/// y[i, j] = alpha * sum_t a[i, t] * W[t, j] + beta * y[i, j] for i in [i0, i1), j in [j0, j1),
/// with `vdpbf16ps` (f32 sums; beta == 0 does not read y). a holds rows rounded by
/// `rl_bf16_gemm_round_rows`, row stride lda >= `rl_bf16_gemm_padded_k(k)`, zeros past k. W is
/// the bf16 matrix w: [n, k] with row stride ldw when w_transposed != 0 (W[t, j] = w[j, t], a
/// Hugging Face weight in a forward), else [k, n] (W[t, j] = w[t, j], the input gradient).
/// Packs the weights it reads itself (64 columns at a time); threads take disjoint ranges of
/// rows or columns. Requires `rl_bf16_dot_enabled()`.
void rl_bf16_gemm(const uint16_t *a, long lda, long i0, long i1, const uint16_t *w, long ldw, int w_transposed,
                  long k, long j0, long j1, float *y, long ldy, float alpha, float beta);

// ---- attention helpers ------------------------------------------------------------------
/// In place over a score block s[rows, cols] (row stride lds) for queries q0..q0+rows at absolute
/// positions query_offset + q, keys 0..cols: applies the causal rule and the key mask (NULL = all
/// valid), scale, then softmax. Writes each row's logsumexp to lse (or -inf for fully-masked rows,
/// whose probabilities become 0).
void rl_attention_softmax_f32(float *s, long lds, long q0, long rows, long cols, long query_offset,
                              const int32_t *key_mask, float scale, float *lse);
/// Recomputes probabilities from raw scores and the saved logsumexp, then forms
/// ds = p * (dp - delta) * scale in place of dp (p is written over s).
void rl_attention_softmax_backward_f32(float *s, long lds, float *dp, long ldp, long q0, long rows, long cols,
                                       long query_offset, const int32_t *key_mask, float scale,
                                       const float *lse, const float *delta);

/// Decode attention over a paged KV cache, for tasks task0..<task1 (task = sequence * query_heads
/// + head). q and out are [batch, query_heads, dim]; key_pool and value_pool [blocks, block_size,
/// kv_heads, dim]; sequence b attends to its keys 0..<lengths[b], key j being slot j % block_size
/// of block block_tables[b * table_stride + j / block_size] (query head h reads kv head
/// h / (query_heads / kv_heads)). Softmax of the scaled dot products; length 0 gives zeros.
/// scores is scratch of at least max(lengths) floats.
void rl_paged_attention_decode_f32(const float *q, const float *key_pool, const float *value_pool,
                                   const int32_t *block_tables, const int32_t *lengths, float *out, long task0,
                                   long task1, long query_heads, long kv_heads, long dim, long block_size,
                                   long table_stride, float scale, float *scores);

// ---- optimiser ------------------------------------------------------------------------------
void rl_adamw_f32(float *param, const float *grad, float *m, float *v, long n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2);
/// The same with the instruction set named (0 scalar, 1 AVX2, 2 AVX-512; one the CPU has), for
/// tests: every one gives the same bits.
void rl_adamw_f32_isa(float *param, const float *grad, float *m, float *v, long n, float lr, float beta1,
                      float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2, int isa);

// ---- conversions ----------------------------------------------------------------------------
/// `accumulator += gradient` for a bf16 accumulator, stochastically rounded (elements
/// `first_index ..< first_index + n` of a tensor; `seed` picks the random bits).
void rl_accumulate_bf16(uint16_t *accumulator, const float *gradient, long n, long first_index, uint64_t seed);
/// Sum of squares of bf16 values, in double precision.
double rl_sum_squares_bf16(const uint16_t *x, long n);
/// AdamW on f32 parameters with a bf16 gradient (times `grad_scale`, e.g. a clipping factor) and
/// bf16 moments, stochastically rounded; the update itself uses the unrounded moments.
void rl_adamw_bf16_state(float *param, const uint16_t *grad, uint16_t *m, uint16_t *v, long n, long first_index,
                         float grad_scale, float lr, float beta1, float beta2, float eps, float weight_decay,
                         float bc1, float bc2, uint64_t seed);
void rl_f32_to_bf16(const float *x, uint16_t *y, long n);
void rl_bf16_to_f32(const uint16_t *x, float *y, long n);

// ---- sampling over a vocabulary row -------------------------------------------------------------
/// The largest of x[0..n) (n >= 1; NaNs ignored unless all are NaN).
float rl_max_f32(const float *x, long n);
/// y[i] = exp((x[i] - shift) * scale) for i < n (y may be NULL to only sum); returns the sum of
/// the exponentials, accumulated in double per block of floats.
double rl_exp_shifted_f32(const float *x, long n, float shift, float scale, float *y);

/// Sum of squares (for gradient-norm clipping), in double.
double rl_sum_squares_f32(const float *x, long n);

#endif
