// Few-row products with bf16 weights, the decode shape: y[i, j] = alpha * sum_t x[i, t] w[j, t]
// (+ beta * y[i, j]) for i < m <= 8, x [m, k] (row stride ldx) of dtype code xt, w bf16 [n, k] (row
// stride ldw), y of dtype code yt (x and y f32 or bf16 activations).
// Memory-bound: one warp per output column streams the weight row once for all m rows with
// 16-byte loads, accumulating in f32.
#include "rl_common.cuh"

#define RL_GEMV_ROWS 8

extern "C" __global__ void rl_gemv_bf16(const void *x, int xt, i64 ldx, i64 m, const u16 *w, i64 ldw, i64 n, i64 k,
                                        void *y, int yt, i64 ldy, float alpha, float beta) {
    const int lane = threadIdx.x & 31;
    const i64 warpsPerGrid = (i64)gridDim.x * (blockDim.x >> 5);
    // 16-byte loads need 8-element rows whose starts stay 16-byte aligned.
    const bool vector = (k & 7) == 0 && (ldw & 7) == 0 && (((u64)w) & 15) == 0;
    for (i64 j = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); j < n; j += warpsPerGrid) {
        const u16 *wr = w + j * ldw;
        float acc[RL_GEMV_ROWS];
#pragma unroll
        for (int i = 0; i < RL_GEMV_ROWS; ++i) acc[i] = 0.0f;
        if (vector) {
            const uint4 *wv = (const uint4 *)wr;
            for (i64 c = lane; c < k / 8; c += 32) {
                const uint4 packed = wv[c];
                float wf[8];
                wf[0] = __uint_as_float(packed.x << 16); wf[1] = __uint_as_float(packed.x & 0xffff0000u);
                wf[2] = __uint_as_float(packed.y << 16); wf[3] = __uint_as_float(packed.y & 0xffff0000u);
                wf[4] = __uint_as_float(packed.z << 16); wf[5] = __uint_as_float(packed.z & 0xffff0000u);
                wf[6] = __uint_as_float(packed.w << 16); wf[7] = __uint_as_float(packed.w & 0xffff0000u);
#pragma unroll
                for (int i = 0; i < RL_GEMV_ROWS; ++i) {
                    if (i < m) {
                        const i64 xr = i * ldx + c * 8;
#pragma unroll
                        for (int e = 0; e < 8; ++e) acc[i] += rl_act_load(x, xt, xr + e) * wf[e];
                    }
                }
            }
        } else {
            for (i64 t = lane; t < k; t += 32) {
                const float wt = rl_bf16_to_f32(wr[t]);
#pragma unroll
                for (int i = 0; i < RL_GEMV_ROWS; ++i) {
                    if (i < m) acc[i] += rl_act_load(x, xt, i * ldx + t) * wt;
                }
            }
        }
#pragma unroll
        for (int i = 0; i < RL_GEMV_ROWS; ++i) {
            const float s = rl_warp_sum(acc[i]);
            if (lane == 0 && i < m) {
                const i64 out = i * ldy + j;
                rl_act_store(y, yt, out, alpha * s + (beta != 0.0f ? beta * rl_act_load(y, yt, out) : 0.0f));
            }
        }
    }
}
