// Causal grouped-query attention, fused and memory-efficient (flash-style online softmax):
// no [T, T] score matrix is ever written to global memory.
//
// Layout (RLTensor's AttentionDescriptor): queries [B, Lq, Hq, D], keys/values [B, Lk, Hkv, D],
// each with its own batch and token strides (heads and dims packed). Query i sits at absolute
// position queryOffset + i and sees key j iff j <= queryOffset + i and keyMask[b, j] != 0.
// Outputs and gradients are contiguous. LSE is [B, Hq, Lq], -inf for a query that sees no key.
// The forward and decode kernels read queries, keys and values and write outputs of the dtype
// code in RLAttention.dtype (f32 or bf16: a bf16 KV cache), always computing in f32; LSE, the
// flash-decoding partials and the backward kernels are f32.
//
// Work split: a block is RL_ATT_WARPS warps; each warp owns one "row" (a query row in the
// forward and dQ kernels, a key row in the dK/dV kernel) and its lanes own the head dimensions
// d = lane + 32 t (t < RL_ATT_DPL, so D <= 256). Tiles of 32 keys (or queries) are staged in
// shared memory (rows padded to D + 1 floats against bank conflicts); within a tile lane j scores
// key j, and the warp then accumulates p_j * V[j] with shuffles.
#include "rl_common.cuh"

#define RL_ATT_WARPS 4
#define RL_ATT_TILE 32
#define RL_ATT_DPL 8

struct RLAttention {
    i64 batch, queryLength, keyLength, queryHeads, kvHeads, headDim, queryOffset;
    i64 qBatch, qToken, kBatch, kToken, vBatch, vToken, maskStride;
    i64 hasMask;
    float scale;
    int dtype;  // 0 f32, 1 bf16
};

__device__ __forceinline__ bool rl_att_visible(const RLAttention &a, const int *mask, i64 b, i64 i, i64 j) {
    if (i < 0 || i >= a.queryLength || j < 0 || j >= a.keyLength || j > a.queryOffset + i) return false;
    return !a.hasMask || mask[b * a.maskStride + j] != 0;
}

// Loads rows [r0, r0 + 32) of a strided [rows, D] matrix of dtype code t into shared memory as f32
// (stride D + 1), zero-filling rows at or past `rows`.
__device__ __forceinline__ void rl_att_load_tile(float *dst, const void *src, int t, i64 rowStride, i64 r0, i64 rows, i64 D) {
    for (i64 e = threadIdx.x; e < RL_ATT_TILE * D; e += blockDim.x) {
        i64 r = e / D, d = e % D;
        dst[r * (D + 1) + d] = (r0 + r < rows) ? rl_act_load(src, t, (r0 + r) * rowStride + d) : 0.0f;
    }
}

// Folds one staged tile (keys kt, values vt; lane j scores key j when `vis`) into this warp's
// online softmax: running max m, sum l and unnormalised output acc (the lane's dims
// d = lane + 32 t).
__device__ __forceinline__ void rl_att_fold_tile(const float *qw, const float *kt, const float *vt, i64 D, float scale,
                                                 bool vis, float &m, float &l, float *acc) {
    const i64 Dp = D + 1;
    const int lane = threadIdx.x & 31;
    float s = -RL_INF;
    if (vis) {
        float dot = 0.0f;
        for (i64 d = 0; d < D; ++d) dot += qw[d] * kt[lane * Dp + d];
        s = dot * scale;
    }
    const float mNew = fmaxf(m, rl_warp_max(s));
    if (mNew == -RL_INF) return;  // nothing visible yet
    const float p = vis ? expf(s - mNew) : 0.0f;
    const float corr = expf(m - mNew);
    l = l * corr + rl_warp_sum(p);
    for (int t = 0; t < RL_ATT_DPL; ++t) acc[t] *= corr;
    for (int jj = 0; jj < RL_ATT_TILE; ++jj) {
        const float pj = __shfl_sync(0xffffffffu, p, jj);
        if (pj == 0.0f) continue;
        for (int t = 0; t < RL_ATT_DPL; ++t) {
            const i64 d = lane + 32 * t;
            if (d < D) acc[t] += pj * vt[jj * Dp + d];
        }
    }
    m = mNew;
}

// The online softmax of this warp's query row (token i) against kv head `g` over keys
// [jBegin, jEnd) (rl_att_fold_tile's m, l, acc). Every warp of the block calls it with the same
// range, since the tiles are loaded together; inactive warps only help load.
__device__ __forceinline__ void rl_att_accumulate(const RLAttention &a, const int *mask, const void *kb, const void *vb, i64 b,
                                                  i64 i, bool active, const float *qw, float *kt, float *vt, i64 jBegin,
                                                  i64 jEnd, float &m, float &l, float *acc) {
    const i64 D = a.headDim;
    const int lane = threadIdx.x & 31;
    for (i64 j0 = jBegin; j0 < jEnd; j0 += RL_ATT_TILE) {
        __syncthreads();
        rl_att_load_tile(kt, kb, a.dtype, a.kToken, j0, jEnd, D);
        rl_att_load_tile(vt, vb, a.dtype, a.vToken, j0, jEnd, D);
        __syncthreads();
        if (!active) continue;
        const i64 j = j0 + lane;
        rl_att_fold_tile(qw, kt, vt, D, a.scale, j < jEnd && rl_att_visible(a, mask, b, i, j), m, l, acc);
    }
}

// Forward. grid = (ceil(Lq * group / WARPS), Hkv, B); row r = token r / group, head g * group + r % group.
extern "C" __global__ void rl_attention_forward(RLAttention a, const void *q, const void *k, const void *v,
                                                const int *mask, void *out, float *lse) {
    extern __shared__ float smem[];
    const i64 D = a.headDim, Dp = D + 1, group = a.queryHeads / a.kvHeads;
    float *kt = smem, *vt = kt + RL_ATT_TILE * Dp, *qs = vt + RL_ATT_TILE * Dp;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 b = blockIdx.z, g = blockIdx.y;
    const i64 row0 = (i64)blockIdx.x * RL_ATT_WARPS;
    const i64 row = row0 + warp;
    const bool active = row < a.queryLength * group;
    const i64 i = active ? row / group : 0, h = g * group + (active ? row % group : 0);
    float *qw = qs + warp * D;
    if (active) {
        const i64 qr = b * a.qBatch + i * a.qToken + h * D;
        for (i64 d = lane; d < D; d += 32) qw[d] = rl_act_load(q, a.dtype, qr + d);
    }
    // Keys any row of this block can see.
    i64 lastRow = row0 + RL_ATT_WARPS - 1;
    if (lastRow >= a.queryLength * group) lastRow = a.queryLength * group - 1;
    i64 keyEnd = a.queryOffset + lastRow / group + 1;
    if (keyEnd > a.keyLength) keyEnd = a.keyLength;
    float m = -RL_INF, l = 0.0f, acc[RL_ATT_DPL];
    for (int t = 0; t < RL_ATT_DPL; ++t) acc[t] = 0.0f;
    rl_att_accumulate(a, mask, rl_act_at(k, a.dtype, b * a.kBatch + g * D), rl_act_at(v, a.dtype, b * a.vBatch + g * D), b, i,
                      active, qw, kt, vt, 0, keyEnd, m, l, acc);
    if (!active) return;
    const i64 o = ((b * a.queryLength + i) * a.queryHeads + h) * D;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int t = 0; t < RL_ATT_DPL; ++t) {
        const i64 d = lane + 32 * t;
        if (d < D) rl_act_store(out, a.dtype, o + d, acc[t] * inv);
    }
    if (lane == 0) lse[(b * a.queryHeads + h) * a.queryLength + i] = l > 0.0f ? m + logf(l) : -RL_INF;
}

// Flash-decoding, for one query per sequence (queryLength 1) over a long key range: the keys a
// query sees are cut into `splits` ranges of `splitLength` (a multiple of the tile), each range's
// blocks write a partial result, and a second kernel combines them, so that even batch 1 keeps
// many multiprocessors busy. Partial s of (b, h) is partial[((b * Hq + h) * splits + s) * (D + 2)
// ...]: the unnormalised output (D floats), then the running max and sum (-inf and 0 for a range
// with no visible key).
// grid = (ceil(group / WARPS), Hkv, B * splits); rows as the forward's.
extern "C" __global__ void rl_attention_decode_split(RLAttention a, const void *q, const void *k, const void *v,
                                                     const int *mask, float *partial, i64 splits, i64 splitLength) {
    extern __shared__ float smem[];
    const i64 D = a.headDim, Dp = D + 1, group = a.queryHeads / a.kvHeads;
    float *kt = smem, *vt = kt + RL_ATT_TILE * Dp, *qs = vt + RL_ATT_TILE * Dp;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 b = blockIdx.z / splits, split = blockIdx.z % splits, g = blockIdx.y;
    const i64 row = (i64)blockIdx.x * RL_ATT_WARPS + warp;
    const bool active = row < group;
    const i64 h = g * group + (active ? row : 0);
    float *qw = qs + warp * D;
    if (active) {
        const i64 qr = b * a.qBatch + h * D;
        for (i64 d = lane; d < D; d += 32) qw[d] = rl_act_load(q, a.dtype, qr + d);
    }
    i64 keyEnd = a.queryOffset + 1 < a.keyLength ? a.queryOffset + 1 : a.keyLength;
    const i64 jBegin = split * splitLength;
    const i64 jEnd = jBegin + splitLength < keyEnd ? jBegin + splitLength : keyEnd;
    float m = -RL_INF, l = 0.0f, acc[RL_ATT_DPL];
    for (int t = 0; t < RL_ATT_DPL; ++t) acc[t] = 0.0f;
    rl_att_accumulate(a, mask, rl_act_at(k, a.dtype, b * a.kBatch + g * D), rl_act_at(v, a.dtype, b * a.vBatch + g * D), b, 0,
                      active, qw, kt, vt, jBegin, jEnd, m, l, acc);
    if (!active) return;
    float *p = partial + ((b * a.queryHeads + h) * splits + split) * (D + 2);
    for (int t = 0; t < RL_ATT_DPL; ++t) {
        const i64 d = lane + 32 * t;
        if (d < D) p[d] = acc[t];
    }
    if (lane == 0) { p[D] = m; p[D + 1] = l; }
}

// Combines the partials of rl_attention_decode_split into the forward's output and logsumexp:
// out = sum_s acc_s e^(m_s - M) / L with M = max_s m_s, L = sum_s l_s e^(m_s - M), lse = M + log L.
// One warp per (b, h); grid = ceil(B * Hq / WARPS).
extern "C" __global__ void rl_attention_decode_combine(RLAttention a, const float *partial, i64 splits, void *out, float *lse) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 row = (i64)blockIdx.x * RL_ATT_WARPS + warp;  // b * Hq + h
    if (row >= a.batch * a.queryHeads) return;
    const i64 D = a.headDim;
    const float *p = partial + row * splits * (D + 2);
    float M = -RL_INF;
    for (i64 s = 0; s < splits; ++s) M = fmaxf(M, p[s * (D + 2) + D]);
    float L = 0.0f;
    for (i64 s = 0; s < splits; ++s) {
        const float ms = p[s * (D + 2) + D];
        if (ms != -RL_INF) L += p[s * (D + 2) + D + 1] * expf(ms - M);
    }
    const float inv = L > 0.0f ? 1.0f / L : 0.0f;
    for (i64 d = lane; d < D; d += 32) {
        float o = 0.0f;
        for (i64 s = 0; s < splits; ++s) {
            const float ms = p[s * (D + 2) + D];
            if (ms != -RL_INF) o += p[s * (D + 2) + d] * expf(ms - M);
        }
        rl_act_store(out, a.dtype, row * D + d, o * inv);
    }
    if (lane == 0) lse[row] = L > 0.0f ? M + logf(L) : -RL_INF;
}

// Decode attention over a paged KV cache (RLTensor's PagedAttentionDescriptor): one query per
// sequence, q and out [B, Hq, D]; key and value pools [blocks, blockSize, Hkv, D]; sequence b
// sees its keys [0, lengths[b]), key j in slot j % blockSize of block
// tables[b * tableStride + j / blockSize]. Tiles of 32 keys are gathered through the block table
// into shared memory and folded like the forward's; length 0 gives zeros. q, the pools and out are
// of dtype code RLPagedAttention.dtype (f32 or bf16), computed in f32.
// grid = (ceil(group / WARPS), Hkv, B); warp w of block x serves query head g * group + x * WARPS + w.
struct RLPagedAttention {
    i64 batch, queryHeads, kvHeads, headDim, blockSize, tableStride;
    float scale;
    int dtype;  // 0 f32, 1 bf16
};

// Loads keys [j0, j0 + 32) of kv head g of one sequence through its block table (shared stride
// D + 1), zero-filling keys at or past `end`.
__device__ __forceinline__ void rl_paged_load_tile(float *dst, const void *pool, const int *table, const RLPagedAttention &a,
                                                   i64 g, i64 j0, i64 end) {
    const i64 D = a.headDim;
    for (i64 e = threadIdx.x; e < RL_ATT_TILE * D; e += blockDim.x) {
        const i64 r = e / D, d = e % D, j = j0 + r;
        dst[r * (D + 1) + d] = j < end
            ? rl_act_load(pool, a.dtype, (((i64)table[j / a.blockSize] * a.blockSize + j % a.blockSize) * a.kvHeads + g) * D + d) : 0.0f;
    }
}

extern "C" __global__ void rl_paged_attention_decode(RLPagedAttention a, const void *q, const void *keyPool, const void *valuePool,
                                                     const int *tables, const int *lengths, void *out) {
    extern __shared__ float smem[];
    const i64 D = a.headDim, Dp = D + 1, group = a.queryHeads / a.kvHeads;
    float *kt = smem, *vt = kt + RL_ATT_TILE * Dp, *qs = vt + RL_ATT_TILE * Dp;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 b = blockIdx.z, g = blockIdx.y;
    const i64 row = (i64)blockIdx.x * RL_ATT_WARPS + warp;
    const bool active = row < group;
    const i64 h = g * group + (active ? row : 0);
    float *qw = qs + warp * D;
    if (active) {
        const i64 qr = (b * a.queryHeads + h) * D;
        for (i64 d = lane; d < D; d += 32) qw[d] = rl_act_load(q, a.dtype, qr + d);
    }
    const int *table = tables + b * a.tableStride;
    const i64 n = lengths[b];
    float m = -RL_INF, l = 0.0f, acc[RL_ATT_DPL];
    for (int t = 0; t < RL_ATT_DPL; ++t) acc[t] = 0.0f;
    for (i64 j0 = 0; j0 < n; j0 += RL_ATT_TILE) {
        __syncthreads();
        rl_paged_load_tile(kt, keyPool, table, a, g, j0, n);
        rl_paged_load_tile(vt, valuePool, table, a, g, j0, n);
        __syncthreads();
        if (active) rl_att_fold_tile(qw, kt, vt, D, a.scale, j0 + lane < n, m, l, acc);
    }
    if (!active) return;
    const i64 o = (b * a.queryHeads + h) * D;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int t = 0; t < RL_ATT_DPL; ++t) {
        const i64 d = lane + 32 * t;
        if (d < D) rl_act_store(out, a.dtype, o + d, acc[t] * inv);
    }
}

// delta[b, h, i] = sum_d out * dOut (one warp per query row; grid = ceil(B * Lq * Hq / WARPS)).
extern "C" __global__ void rl_attention_backward_delta(RLAttention a, const float *out, const float *dout, float *delta) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 row = (i64)blockIdx.x * RL_ATT_WARPS + warp;  // (b, i, h) in output order
    if (row >= a.batch * a.queryLength * a.queryHeads) return;
    const i64 D = a.headDim;
    float s = 0.0f;
    for (i64 d = lane; d < D; d += 32) s += out[row * D + d] * dout[row * D + d];
    s = rl_warp_sum(s);
    const i64 h = row % a.queryHeads, bi = row / a.queryHeads, i = bi % a.queryLength, b = bi / a.queryLength;
    if (lane == 0) delta[(b * a.queryHeads + h) * a.queryLength + i] = s;
}

// dQ = sum_j dS_ij K_j with dS = P (dP - delta) scale, dP = dO V^T. Grid as the forward.
extern "C" __global__ void rl_attention_backward_dq(RLAttention a, const float *q, const float *k, const float *v,
                                                    const int *mask, const float *lse, const float *delta,
                                                    const float *dout, float *dq) {
    extern __shared__ float smem[];
    const i64 D = a.headDim, Dp = D + 1, group = a.queryHeads / a.kvHeads;
    float *kt = smem, *vt = kt + RL_ATT_TILE * Dp, *qs = vt + RL_ATT_TILE * Dp, *dos = qs + RL_ATT_WARPS * D;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 b = blockIdx.z, g = blockIdx.y;
    const i64 row0 = (i64)blockIdx.x * RL_ATT_WARPS, row = row0 + warp;
    const bool active = row < a.queryLength * group;
    const i64 i = active ? row / group : 0, h = g * group + (active ? row % group : 0);
    float *qw = qs + warp * D, *dow = dos + warp * D;
    float L = -RL_INF, dl = 0.0f;
    if (active) {
        const float *qr = q + b * a.qBatch + i * a.qToken + h * D;
        const float *dr = dout + ((b * a.queryLength + i) * a.queryHeads + h) * D;
        for (i64 d = lane; d < D; d += 32) { qw[d] = qr[d]; dow[d] = dr[d]; }
        L = lse[(b * a.queryHeads + h) * a.queryLength + i];
        dl = delta[(b * a.queryHeads + h) * a.queryLength + i];
    }
    i64 lastRow = row0 + RL_ATT_WARPS - 1;
    if (lastRow >= a.queryLength * group) lastRow = a.queryLength * group - 1;
    i64 keyEnd = a.queryOffset + lastRow / group + 1;
    if (keyEnd > a.keyLength) keyEnd = a.keyLength;
    float acc[RL_ATT_DPL];
    for (int t = 0; t < RL_ATT_DPL; ++t) acc[t] = 0.0f;
    const float *kb = k + b * a.kBatch + g * D, *vb = v + b * a.vBatch + g * D;
    for (i64 j0 = 0; j0 < keyEnd; j0 += RL_ATT_TILE) {
        __syncthreads();
        rl_att_load_tile(kt, kb, 0, a.kToken, j0, a.keyLength, D);
        rl_att_load_tile(vt, vb, 0, a.vToken, j0, a.keyLength, D);
        __syncthreads();
        if (!active || L == -RL_INF) continue;
        const i64 j = j0 + lane;
        float ds = 0.0f;
        if (rl_att_visible(a, mask, b, i, j)) {
            float s = 0.0f, dp = 0.0f;
            for (i64 d = 0; d < D; ++d) { s += qw[d] * kt[lane * Dp + d]; dp += dow[d] * vt[lane * Dp + d]; }
            const float p = expf(s * a.scale - L);
            ds = p * (dp - dl) * a.scale;
        }
        for (int jj = 0; jj < RL_ATT_TILE; ++jj) {
            const float dsj = __shfl_sync(0xffffffffu, ds, jj);
            if (dsj == 0.0f) continue;
            for (int t = 0; t < RL_ATT_DPL; ++t) {
                const i64 d = lane + 32 * t;
                if (d < D) acc[t] += dsj * kt[jj * Dp + d];
            }
        }
    }
    if (!active) return;
    float *o = dq + ((b * a.queryLength + i) * a.queryHeads + h) * D;
    for (int t = 0; t < RL_ATT_DPL; ++t) {
        const i64 d = lane + 32 * t;
        if (d < D) o[d] = acc[t];
    }
}

// dK_j = sum_(h in group, i) dS_ij Q_i and dV_j = sum P_ij dO_i; one warp per key, deterministic
// (no atomics). grid = (ceil(Lk / WARPS), Hkv, B).
extern "C" __global__ void rl_attention_backward_dkv(RLAttention a, const float *q, const float *k, const float *v,
                                                     const int *mask, const float *lse, const float *delta,
                                                     const float *dout, float *dk, float *dv) {
    extern __shared__ float smem[];
    const i64 D = a.headDim, Dp = D + 1, group = a.queryHeads / a.kvHeads;
    float *qt = smem, *dot = qt + RL_ATT_TILE * Dp, *ks = dot + RL_ATT_TILE * Dp, *vs = ks + RL_ATT_WARPS * D;
    float *ls = vs + RL_ATT_WARPS * D, *dls = ls + RL_ATT_TILE;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 b = blockIdx.z, g = blockIdx.y;
    const i64 j0 = (i64)blockIdx.x * RL_ATT_WARPS, j = j0 + warp;
    const bool active = j < a.keyLength && (!a.hasMask || mask[b * a.maskStride + j] != 0);
    float *kw = ks + warp * D, *vw = vs + warp * D;
    if (j < a.keyLength) {
        const float *kr = k + b * a.kBatch + j * a.kToken + g * D, *vr = v + b * a.vBatch + j * a.vToken + g * D;
        for (i64 d = lane; d < D; d += 32) { kw[d] = kr[d]; vw[d] = vr[d]; }
    }
    // The first query that can see key j0.
    i64 iStart = j0 - a.queryOffset;
    if (iStart < 0) iStart = 0;
    iStart = iStart / RL_ATT_TILE * RL_ATT_TILE;
    float dkAcc[RL_ATT_DPL], dvAcc[RL_ATT_DPL];
    for (int t = 0; t < RL_ATT_DPL; ++t) { dkAcc[t] = 0.0f; dvAcc[t] = 0.0f; }
    for (i64 hh = 0; hh < group; ++hh) {
        const i64 h = g * group + hh;
        const float *qb = q + b * a.qBatch + h * D;
        const float *db = dout + b * a.queryLength * a.queryHeads * D + h * D;
        const float *lb = lse + (b * a.queryHeads + h) * a.queryLength;
        const float *deb = delta + (b * a.queryHeads + h) * a.queryLength;
        for (i64 i0 = iStart; i0 < a.queryLength; i0 += RL_ATT_TILE) {
            __syncthreads();
            rl_att_load_tile(qt, qb, 0, a.qToken, i0, a.queryLength, D);
            rl_att_load_tile(dot, db, 0, a.queryHeads * D, i0, a.queryLength, D);
            if (threadIdx.x < RL_ATT_TILE) {
                const i64 i = i0 + threadIdx.x;
                ls[threadIdx.x] = i < a.queryLength ? lb[i] : -RL_INF;
                dls[threadIdx.x] = i < a.queryLength ? deb[i] : 0.0f;
            }
            __syncthreads();
            if (!active) continue;
            const i64 i = i0 + lane;
            float p = 0.0f, ds = 0.0f;
            if (rl_att_visible(a, mask, b, i, j) && ls[lane] != -RL_INF) {
                float s = 0.0f, dp = 0.0f;
                for (i64 d = 0; d < D; ++d) { s += qt[lane * Dp + d] * kw[d]; dp += dot[lane * Dp + d] * vw[d]; }
                p = expf(s * a.scale - ls[lane]);
                ds = p * (dp - dls[lane]) * a.scale;
            }
            for (int ii = 0; ii < RL_ATT_TILE; ++ii) {
                const float pi = __shfl_sync(0xffffffffu, p, ii), dsi = __shfl_sync(0xffffffffu, ds, ii);
                if (pi == 0.0f && dsi == 0.0f) continue;
                for (int t = 0; t < RL_ATT_DPL; ++t) {
                    const i64 d = lane + 32 * t;
                    if (d < D) {
                        dvAcc[t] += pi * dot[ii * Dp + d];
                        dkAcc[t] += dsi * qt[ii * Dp + d];
                    }
                }
            }
        }
    }
    if (j >= a.keyLength) return;
    const i64 base = ((b * a.keyLength + j) * a.kvHeads + g) * D;
    for (int t = 0; t < RL_ATT_DPL; ++t) {
        const i64 d = lane + 32 * t;
        if (d < D) { dk[base + d] = dkAcc[t]; dv[base + d] = dvAcc[t]; }
    }
}
