// Counter-based random fills: Philox4x32-10 keyed by the seed, counter = offset + element index.
// The uniform stream is bit-identical to RLTensor's `Philox` on the CPU (no FMA contraction).
#include "rl_common.cuh"

__device__ __forceinline__ void rl_philox(u64 counter, u64 key, u32 out[4]) {
    u32 c0 = (u32)counter, c1 = (u32)(counter >> 32), c2 = 0, c3 = 0;
    u32 k0 = (u32)key, k1 = (u32)(key >> 32);
    for (int r = 0; r < 10; ++r) {
        u32 lo0 = 0xD2511F53u * c0, hi0 = __umulhi(0xD2511F53u, c0);
        u32 lo1 = 0xCD9E8D57u * c2, hi1 = __umulhi(0xCD9E8D57u, c2);
        u32 n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

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
