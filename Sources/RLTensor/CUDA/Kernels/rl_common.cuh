// Shared helpers for RLTensor's CUDA kernels. NVRTC receives this file as an in-memory header
// (`#include "rl_common.cuh"`); the kernels need no CUDA headers, so they compile with NVRTC
// alone. All sizes are `long long` so the host passes one integer type (Int64).
#pragma once

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;

#define RL_INF __int_as_float(0x7f800000)
#define RL_MAX_DIMS 8

// bfloat16 <-> f32, bit-exact with the CPU backend (round to nearest even; NaN stays quiet NaN).
__device__ __forceinline__ float rl_bf16_to_f32(u16 b) { return __uint_as_float(((u32)b) << 16); }
__device__ __forceinline__ u16 rl_f32_to_bf16(float f) {
    u32 bits = __float_as_uint(f);
    if (f != f) return (u16)((bits >> 16) | 0x40u);
    u32 lsb = (bits >> 16) & 1u;
    return (u16)((bits + 0x7FFFu + lsb) >> 16);
}
// Activations stored as f32 (dtype code 0) or bf16 (code 1) and computed in f32: element i of p.
__device__ __forceinline__ float rl_act_load(const void *p, int t, i64 i) {
    return t ? rl_bf16_to_f32(((const u16 *)p)[i]) : ((const float *)p)[i];
}
__device__ __forceinline__ void rl_act_store(void *p, int t, i64 i, float v) {
    if (t) ((u16 *)p)[i] = rl_f32_to_bf16(v);
    else ((float *)p)[i] = v;
}
// The address of element i of an activation array of dtype code t.
__device__ __forceinline__ const void *rl_act_at(const void *p, int t, i64 i) { return (const char *)p + i * (t ? 2 : 4); }
// IEEE half through PTX conversions (round to nearest even), no cuda_fp16.h needed.
__device__ __forceinline__ float rl_f16_to_f32(u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ u16 rl_f32_to_f16(float f) {
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float rl_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// Warp and block reductions (blockDim.x a multiple of 32, at most 1024).
__device__ __forceinline__ float rl_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float rl_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ double rl_warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
// `scratch` holds 32 floats; every thread of the block gets the result.
__device__ __forceinline__ float rl_block_sum(float v, float *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = rl_warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return rl_warp_sum(v);
}
__device__ __forceinline__ float rl_block_max(float v, float *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = rl_warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -RL_INF;
    return rl_warp_max(v);
}

// Philox4x32-10 (random fills and token sampling): the block of `counter` under `key`,
// bit-identical to RLTensor's `Philox` on the CPU.
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

// A strided view of up to RL_MAX_DIMS dimensions, passed by value (all 64-bit fields).
struct RLStrides {
    i64 ndim;
    i64 shape[RL_MAX_DIMS];
    i64 stride[4][RL_MAX_DIMS];  // one row of strides per operand
};

// Element offset of linear index `idx` for operand `op`.
__device__ __forceinline__ i64 rl_offset(const RLStrides &s, int op, i64 idx) {
    i64 off = 0;
    for (int d = (int)s.ndim - 1; d >= 0; --d) {
        i64 n = s.shape[d];
        i64 i = idx % n;
        idx /= n;
        off += i * s.stride[op][d];
    }
    return off;
}

#define RL_GRID_STRIDE(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)
