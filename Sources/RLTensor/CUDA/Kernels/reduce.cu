// Reductions: over one axis of [outer, axis, inner], and the f64 sum of squares.
#include "rl_common.cuh"

// op: 0 sum, 1 max, 2 min.
__device__ __forceinline__ float rl_reduce_combine(int op, float a, float b) {
    return op == 0 ? a + b : (op == 1 ? fmaxf(a, b) : fminf(a, b));
}

// One thread per output element when inner > 1 (consecutive threads read consecutive columns).
extern "C" __global__ void rl_reduce_columns(int op, const float *x, float *y, i64 outer, i64 axis, i64 inner) {
    RL_GRID_STRIDE(idx, outer * inner) {
        i64 o = idx / inner, i = idx % inner;
        const float *base = x + o * axis * inner + i;
        float acc = base[0];
        for (i64 a = 1; a < axis; ++a) {
            float v = base[a * inner];
            acc = op == 0 ? acc + v : (op == 1 ? (v > acc ? v : acc) : (v < acc ? v : acc));
        }
        y[idx] = acc;
    }
}

// One block per output row when inner == 1.
extern "C" __global__ void rl_reduce_rows(int op, const float *x, float *y, i64 axis) {
    __shared__ float scratch[32];
    const float *row = x + (i64)blockIdx.x * axis;
    float identity = op == 0 ? 0.0f : (op == 1 ? -RL_INF : RL_INF);
    float acc = identity;
    for (i64 j = threadIdx.x; j < axis; j += blockDim.x) acc = rl_reduce_combine(op, acc, row[j]);
    float r;
    if (op == 0) {
        r = rl_block_sum(acc, scratch);
    } else if (op == 1) {
        r = rl_block_max(acc, scratch);
    } else {
        r = -rl_block_max(-acc, scratch);
    }
    if (threadIdx.x == 0) y[blockIdx.x] = r;
}

// Sum of squares accumulated in double into `out` (zeroed by the host).
extern "C" __global__ void rl_sum_squares(const float *x, i64 n, double *out) {
    __shared__ double scratch[32];
    double acc = 0.0;
    RL_GRID_STRIDE(i, n) { double v = (double)x[i]; acc += v * v; }
    acc = rl_warp_sum_d(acc);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) scratch[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        acc = lane < warps ? scratch[lane] : 0.0;
        acc = rl_warp_sum_d(acc);
        if (lane == 0) atomicAdd(out, acc);
    }
}
