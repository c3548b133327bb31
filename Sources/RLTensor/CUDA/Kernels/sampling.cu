// Token sampling on the device: one block per row of logits picks the same token as the CPU's
// TokenSampler (RLModel, CRLKernels' sampling.c) for the same logits, seed and step, and returns
// it with its log-probability under the unmodified distribution, so only 8 bytes per row leave
// the GPU.
//
// What is reproduced exactly: the exponentials (the CPU's polynomial exp as its release build
// evaluates it on a CPU with FMA: x86-64 with AVX2, arm64), the float-lane order of the CPU's
// probability total, the ranking (probability descending, ties by token id) and the Philox
// block (key = seed, counter = step). What is not: the order in which masses of kept tokens are
// added in double (bins here, other bins on the CPU), so a draw or a top-p boundary can differ
// only when a running mass lies within about 1e-16 of its target; and log() in double may differ
// by one ulp before it is rounded to float.
#include "rl_common.cuh"

// CRLKernels' rl_expf with the multiply-adds its release build contracts made explicit.
__device__ __forceinline__ float rl_cpu_expf(float x) {
    const float hi = 88.3762626647949f, lo = -87.3365447504f;
    float c = x > hi ? hi : (x < lo ? lo : x);
    float n = __fsub_rn(fmaf(c, 1.44269504088896341f, 12582912.0f), 12582912.0f);
    float r = fmaf(-n, 0.693359375f, c);
    r = fmaf(-n, -2.12194440e-4f, r);
    float p = 1.9875691500E-4f;
    p = fmaf(p, r, 1.3981999507E-3f);
    p = fmaf(p, r, 8.3334519073E-3f);
    p = fmaf(p, r, 4.1665795894E-2f);
    p = fmaf(p, r, 1.6666665459E-1f);
    p = fmaf(p, r, 5.0000001201E-1f);
    p = __fadd_rn(fmaf(__fmul_rn(p, r), r, r), 1.0f);
    int e = (int)n + 127;
    float y = __fmul_rn(p, __int_as_float(e << 23));
    y = x < lo ? 0.0f : y;
    return x > hi ? RL_INF : y;
}

// The CPU's sum of exp((x[i] - shift) * scale) (CRLKernels' rl_exp_shifted_f32): per block of
// 4096 values, eight float lanes (value i in lane i % 8) each summed in order, then, in double,
// the block's last (length % 8) values (only the row's last block has them) and the eight lanes.
// The exponentials are written to y first, by all threads (y may be x), and the lanes then add
// them up. Every thread gets the total.
__device__ double rl_cpu_exp_sum(const float *x, i64 n, float shift, float scale, float *y, float *laneSums, double *total) {
    const i64 block = 4096;
    i64 pairs = (n + block - 1) / block * 8;
    __syncthreads();
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) y[i] = rl_cpu_expf(__fmul_rn(__fsub_rn(x[i], shift), scale));
    if (threadIdx.x == 0) *total = 0.0;
    __syncthreads();
    for (i64 first = 0; first < pairs; first += blockDim.x) {
        i64 q = first + threadIdx.x;
        if (q < pairs) {
            i64 b0 = q / 8 * block, b1 = b0 + block < n ? b0 + block : n, b8 = b0 + ((b1 - b0) & ~7LL);
            float s = 0.0f;
            for (i64 i = b0 + q % 8; i < b8; i += 8) s = __fadd_rn(s, y[i]);
            laneSums[threadIdx.x] = s;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            double t = *total;
            for (i64 k = 0; k < (i64)blockDim.x && first + k < pairs; ++k) {
                i64 qk = first + k;
                if (qk % 8 == 0) {
                    i64 b0 = qk / 8 * block, b1 = b0 + block < n ? b0 + block : n, b8 = b0 + ((b1 - b0) & ~7LL);
                    for (i64 i = b8; i < b1; ++i) t = __dadd_rn(t, (double)y[i]);
                }
                t = __dadd_rn(t, (double)laneSums[k]);
            }
            *total = t;
        }
        __syncthreads();
    }
    return *total;
}

// The largest value, NaNs ignored (CRLKernels' rl_max_f32).
__device__ float rl_row_max(const float *x, i64 n, float *scratch) {
    float m = -RL_INF;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, x[i]);
    return rl_block_max(m, scratch);
}

// Of two (value, index) candidates (index -1: none), the larger value, ties to the lower index.
__device__ __forceinline__ void rl_better(float &v, i64 &i, float ov, i64 oi) {
    if (oi >= 0 && (i < 0 || ov > v || (ov == v && oi < i))) { v = ov; i = oi; }
}

// The first index of the largest value as the CPU's sequential scan finds it: 0 when x[0] is NaN
// (nothing compares greater), else the first index of the largest non-NaN value.
__device__ i64 rl_row_argmax(const float *x, i64 n, float *values, i64 *indices) {
    float v = 0.0f;
    i64 idx = -1;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) {
        if (x[i] == x[i]) rl_better(v, idx, x[i], i);
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        i64 oi = __shfl_xor_sync(0xffffffffu, idx, o);
        rl_better(v, idx, ov, oi);
    }
    __syncthreads();
    if ((threadIdx.x & 31) == 0) { values[threadIdx.x >> 5] = v; indices[threadIdx.x >> 5] = idx; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x + 31) >> 5; ++w) rl_better(v, idx, values[w], indices[w]);
        indices[0] = (idx < 0 || x[0] != x[0]) ? 0 : idx;
    }
    __syncthreads();
    return indices[0];
}

// A prefix of the ranking (probability descending, ties by index): the tokens with probability
// above `probability`, or equal to it with index <= `index` (rl_sampling.h's rl_rank_cutoff).
struct RLCutoff {
    float probability;
    i64 index;
};

// 0 for the top probability (and anything at or above 1), growing as p shrinks.
__device__ __forceinline__ u32 rl_rank_key(float p) {
    u32 bits = __float_as_uint(p);
    return bits >= 0x3F800000u ? 0u : 0x3F800000u - bits;
}

__device__ __forceinline__ bool rl_is_kept(float p, i64 i, float floor, RLCutoff c) {
    return p >= floor && p > 0.0f && (p > c.probability || (p == c.probability && i <= c.index));
}

__device__ __forceinline__ bool rl_is_done(i64 count, double mass, i64 countTarget, double massTarget) {
    return countTarget > 0 ? count >= countTarget : mass >= massTarget;
}

// Block-shared state of the ranking steps.
struct RLRankState {
    i64 count, eligible, chosen;
    double mass;
    u32 key, mask;
    int found;
    RLCutoff cutoff;
};

// Per-block scratch in shared memory.
struct RLSamplingScratch {
    float laneSums[1024];
    int chunkCounts[1024];
    double chunkMasses[1024];
    int counts[256];
    double masses[256];
    float values[32];
    i64 indices[32];
    double total;
    RLRankState state;
};

// Each thread's contiguous share of the row, [first, end).
__device__ __forceinline__ void rl_chunk(i64 n, i64 t, i64 &first, i64 &end) {
    i64 size = (n + blockDim.x - 1) / blockDim.x;
    first = t * size < n ? t * size : n;
    end = first + size < n ? first + size : n;
}

// rl_rank_prefix (rl_sampling.h) over probabilities p: the shortest prefix of the eligible tokens
// within `limit` holding `countTarget` tokens (when > 0) or else reaching `massTarget`. Writes
// state.cutoff, state.mass (the prefix's mass, or the whole mass within `limit` when no prefix
// does) and returns whether the prefix leaves eligible tokens out. The ranking key is refined
// eight bits at a time (bins of one key byte, each bin's mass exact in double as its values
// share at most two binades); the tokens of the final key are walked in index order.
__device__ bool rl_rank_prefix(const float *p, i64 n, float floor, RLCutoff limit, i64 countTarget, double massTarget,
                               RLSamplingScratch *s) {
    RLRankState *st = &s->state;
    __syncthreads();
    if (threadIdx.x == 0) { st->count = 0; st->mass = 0.0; st->key = 0; st->mask = 0; st->found = 1; }
    for (int level = 0; level < 4; ++level) {
        int shift = 24 - 8 * level;
        for (int b = threadIdx.x; b < 256; b += blockDim.x) { s->counts[b] = 0; s->masses[b] = 0.0; }
        __syncthreads();
        u32 key = st->key, mask = st->mask;
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) {
            float v = p[i];
            u32 k = rl_rank_key(v);
            if (!rl_is_kept(v, i, floor, limit) || (k & mask) != key) continue;
            atomicAdd(&s->counts[(k >> shift) & 255u], 1);
            atomicAdd(&s->masses[(k >> shift) & 255u], (double)v);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            if (level == 0) {
                i64 eligible = 0;
                for (int b = 0; b < 256; ++b) eligible += s->counts[b];
                st->eligible = eligible;
            }
            i64 count = st->count;
            double mass = st->mass;
            int boundary = -1, last = -1;
            for (int b = 0; b < 256; ++b) {
                if (s->counts[b] == 0) continue;
                last = b;
                if (rl_is_done(count + s->counts[b], __dadd_rn(mass, s->masses[b]), countTarget, massTarget)) { boundary = b; break; }
                count += s->counts[b];
                mass = __dadd_rn(mass, s->masses[b]);
            }
            if (boundary < 0 && level == 0) {
                st->found = 0;
            } else if (boundary < 0) {  // the bin's parts summed short of what the bin reached: its last part
                boundary = last;
                count -= s->counts[last];
                mass = __dsub_rn(mass, s->masses[last]);
            }
            st->count = count;
            st->mass = mass;
            if (boundary >= 0) { st->key |= (u32)boundary << shift; st->mask |= 255u << shift; }
        }
        __syncthreads();
        if (!st->found) break;
    }
    if (!st->found) {
        if (threadIdx.x == 0) st->cutoff = limit;
        __syncthreads();
        return false;
    }
    // The final key's tokens in index order, each thread counting its share first.
    u32 key = st->key;
    i64 first, end;
    rl_chunk(n, threadIdx.x, first, end);
    int members = 0;
    for (i64 i = first; i < end; ++i) members += rl_is_kept(p[i], i, floor, limit) && rl_rank_key(p[i]) == key;
    s->chunkCounts[threadIdx.x] = members;
    __syncthreads();
    if (threadIdx.x == 0) {
        i64 all = 0, seen = 0;
        for (int t = 0; t < (int)blockDim.x; ++t) all += s->chunkCounts[t];
        i64 count = st->count;
        double mass = st->mass;
        bool ended = false;
        for (int t = 0; t < (int)blockDim.x && !ended; ++t) {
            if (s->chunkCounts[t] == 0) continue;
            rl_chunk(n, t, first, end);
            for (i64 i = first; i < end; ++i) {
                if (!rl_is_kept(p[i], i, floor, limit) || rl_rank_key(p[i]) != key) continue;
                count += 1;
                mass = __dadd_rn(mass, (double)p[i]);
                seen += 1;
                if (rl_is_done(count, mass, countTarget, massTarget) || seen == all) {
                    st->cutoff.probability = p[i];
                    st->cutoff.index = i;
                    ended = true;
                    break;
                }
            }
        }
        st->count = count;
        st->mass = mass;
    }
    __syncthreads();
    return st->count < st->eligible;
}

// The mass of the eligible tokens within `cutoff`, in double; every thread gets it.
__device__ double rl_rank_mass(const float *p, i64 n, float floor, RLCutoff cutoff, RLSamplingScratch *s) {
    double m = 0.0;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) m += rl_is_kept(p[i], i, floor, cutoff) ? (double)p[i] : 0.0;
    m = rl_warp_sum_d(m);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) s->chunkMasses[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0.0;
        for (int w = 0; w < (int)(blockDim.x + 31) >> 5; ++w) total += s->chunkMasses[w];
        s->total = total;
    }
    __syncthreads();
    return s->total;
}

// rl_rank_draw: walking the eligible tokens within `cutoff` in index order, the first where the
// running `target` minus their probabilities goes below zero (the last kept one if it never
// does, 0 if none is kept). Whole shares of the row are skipped by their sums.
__device__ i64 rl_rank_draw(const float *p, i64 n, float floor, RLCutoff cutoff, double target, RLSamplingScratch *s) {
    i64 first, end;
    rl_chunk(n, threadIdx.x, first, end);
    double share = 0.0;
    for (i64 i = first; i < end; ++i) {
        if (rl_is_kept(p[i], i, floor, cutoff)) share = __dadd_rn(share, (double)p[i]);
    }
    __syncthreads();
    s->chunkMasses[threadIdx.x] = share;
    __syncthreads();
    if (threadIdx.x == 0) {
        i64 last = 0, lastSkipped = -1, chosen = -1;
        for (int t = 0; t < (int)blockDim.x && chosen < 0; ++t) {
            double m = s->chunkMasses[t];
            if (m == 0.0) continue;
            if (__dsub_rn(target, m) >= 0.0) {
                target = __dsub_rn(target, m);
                lastSkipped = t;
                continue;
            }
            rl_chunk(n, t, first, end);
            for (i64 i = first; i < end; ++i) {
                if (!rl_is_kept(p[i], i, floor, cutoff)) continue;
                target = __dsub_rn(target, (double)p[i]);
                if (target < 0.0) { chosen = i; break; }
                last = i;
                lastSkipped = -1;
            }
        }
        if (chosen < 0 && lastSkipped >= 0) {  // the target outlasted every token: the last kept one
            rl_chunk(n, lastSkipped, first, end);
            for (i64 i = end - 1; i >= first && chosen < 0; --i) {
                if (rl_is_kept(p[i], i, floor, cutoff)) chosen = i;
            }
        }
        s->state.chosen = chosen < 0 ? last : chosen;
    }
    __syncthreads();
    return s->state.chosen;
}

// One token per row of `logits` ([rows, vocab], one block per row, blockDim.x a multiple of 32
// up to 1024): repetition penalty (when `history` is not null: row r's tokens are
// history[historyOffsets[r] ..< historyOffsets[r + 1]], repeats allowed, ids outside the
// vocabulary ignored; a token's logit v becomes v / penalty if v > 0 else v * penalty), then the
// argmax when `greedy`, else a draw from softmax(logits * scale) restricted by min-p (`floor`),
// top-k (`topK` > 0) and top-p (`topP` < 1), with u from Philox block (counter `step`, key
// `seeds[r]`). `work` ([rows, vocab]) holds the penalised logits and then the probabilities.
// Writes tokens[r] and logProbs[r] = log_softmax(logits[r])[token].
extern "C" __global__ void rl_sample_tokens(const float *logits, float *work, i64 vocab, const int *history,
                                            const int *historyOffsets, float penalty, const u64 *seeds, u64 step,
                                            int greedy, float scale, i64 topK, float topP, float floor, int *tokens,
                                            float *logProbs) {
    __shared__ RLSamplingScratch s;
    i64 r = blockIdx.x;
    const float *raw = logits + r * vocab;
    float *w = work + r * vocab;

    float rawMax = rl_row_max(raw, vocab, s.values);
    double rawTotal = rl_cpu_exp_sum(raw, vocab, rawMax, 1.0f, w, s.laneSums, &s.total);
    float logNormaliser = __fadd_rn(rawMax, (float)log(rawTotal));

    const float *x = raw;
    if (history) {
        __syncthreads();  // the exponentials in w are summed
        for (i64 i = threadIdx.x; i < vocab; i += blockDim.x) w[i] = raw[i];
        __syncthreads();
        for (i64 j = historyOffsets[r] + threadIdx.x; j < historyOffsets[r + 1]; j += blockDim.x) {
            i64 t = history[j];
            if (t < 0 || t >= vocab) continue;
            float v = raw[t];  // from the raw logit, so a repeated token is penalised once
            w[t] = v > 0.0f ? __fdiv_rn(v, penalty) : __fmul_rn(v, penalty);
        }
        __syncthreads();
        x = w;
    }

    i64 chosen;
    if (greedy) {
        chosen = rl_row_argmax(x, vocab, s.values, s.indices);
    } else {
        float top = rl_row_max(x, vocab, s.values);
        double total = rl_cpu_exp_sum(x, vocab, top, scale, w, s.laneSums, &s.total);
        const float *p = w;
        u32 words[4];
        rl_philox(step, seeds[r], words);
        double u = __dadd_rn((double)words[0] * 4294967296.0, (double)words[1]) / 18446744073709551616.0;

        // TokenSampler.truncation: top-k, then top-p of what top-k kept (of its mass when it cut).
        RLCutoff kept = {-1.0f, 0x7fffffffffffffffLL};
        double keptTotal = total, keptMass = 0.0;
        bool haveMass = false;
        if (topK > 0) {
            bool leavesOut = rl_rank_prefix(p, vocab, floor, kept, topK, 0.0, &s);
            if (leavesOut) {
                kept = s.state.cutoff;
                keptTotal = s.state.mass;
            }
            keptMass = s.state.mass;
            haveMass = true;
        }
        if (topP < 1.0f) {
            rl_rank_prefix(p, vocab, floor, kept, 0, __dmul_rn((double)topP, keptTotal), &s);
            kept = s.state.cutoff;
            keptMass = s.state.mass;
            haveMass = true;
        }
        if (!haveMass) keptMass = rl_rank_mass(p, vocab, floor, kept, &s);
        chosen = rl_rank_draw(p, vocab, floor, kept, __dmul_rn(u, keptMass), &s);
    }
    if (threadIdx.x == 0) {
        tokens[r] = (int)chosen;
        logProbs[r] = __fsub_rn(raw[chosen], logNormaliser);
    }
}
