// Counter-based random fills: Philox4x32-10 keyed by the seed, counter = offset + element index.
// The uniform stream is bit-identical to RLTensor's `Philox` on the CPU (no FMA contraction).
#include "rl_common.cuh"

// distribution 0: uniform(a, b); 1: normal(mean a, std b) by Box-Muller.
extern "C" __global__ void rl_random_fill(float *y, i64 n, int distribution, float a, float b, u64 seed, u64 offset) {
    RL_GRID_STRIDE(i, n) {
        u32 w[4];
        rl_philox(offset + (u64)i, seed, w);
        if (distribution == 0) {
            float u = __fmul_rn((float)(w[0] >> 8), 1.0f / 16777216.0f);
            y[i] = __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), u));
        } else {
            float u1 = __fmul_rn(__fadd_rn((float)(w[0] >> 8), 1.0f), 1.0f / 16777216.0f);
            float u2 = __fmul_rn((float)(w[1] >> 8), 1.0f / 16777216.0f);
            float radius = sqrtf(-2.0f * logf(u1));
            y[i] = a + b * radius * cosf(2.0f * 3.14159265358979f * u2);
        }
    }
}

// A raw block of the generator, for tests: four words per counter.
extern "C" __global__ void rl_philox_words(u32 *out, i64 n, u64 seed, u64 offset) {
    RL_GRID_STRIDE(i, n) {
        u32 w[4];
        rl_philox(offset + (u64)i, seed, w);
        out[4 * i] = w[0]; out[4 * i + 1] = w[1]; out[4 * i + 2] = w[2]; out[4 * i + 3] = w[3];
    }
}
