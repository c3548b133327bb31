// Layer kernels: RMSNorm, rotate-half RoPE, embedding gather / scatter-add, row scatter, gather by
// index.
#include "rl_common.cuh"

// One block per row: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps); x and y of dtype code t
// (f32 or bf16 activations), w and rstd f32, all arithmetic in f32.
extern "C" __global__ void rl_rmsnorm(const void *x, const float *w, void *y, float *rstd, i64 cols, float eps, int t) {
    __shared__ float scratch[32];
    i64 base = (i64)blockIdx.x * cols;
    float ss = 0.0f;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) { float v = rl_act_load(x, t, base + j); ss += v * v; }
    ss = rl_block_sum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)cols + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = inv;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) rl_act_store(y, t, base + j, rl_act_load(x, t, base + j) * inv * w[j]);
}

// dx per row (one block per row).
extern "C" __global__ void rl_rmsnorm_backward_input(const float *dy, const float *x, const float *w, const float *rstd,
                                                     float *dx, i64 cols) {
    __shared__ float scratch[32];
    i64 base = (i64)blockIdx.x * cols;
    float inv = rstd[blockIdx.x];
    float dot = 0.0f;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) dot += dy[base + j] * w[j] * x[base + j];
    dot = rl_block_sum(dot, scratch);
    float c = dot * inv * inv * inv / (float)cols;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) dx[base + j] = dy[base + j] * w[j] * inv - x[base + j] * c;
}

// dw[j] += sum over rows of dy * x * rstd; grid.x covers columns, grid.y chunks of `rowsPerBlock` rows.
extern "C" __global__ void rl_rmsnorm_backward_weight(const float *dy, const float *x, const float *rstd, float *dw,
                                                      i64 rows, i64 cols, i64 rowsPerBlock) {
    i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) return;
    i64 r0 = (i64)blockIdx.y * rowsPerBlock, r1 = r0 + rowsPerBlock < rows ? r0 + rowsPerBlock : rows;
    float acc = 0.0f;
    for (i64 r = r0; r < r1; ++r) acc += dy[r * cols + j] * x[r * cols + j] * rstd[r];
    atomicAdd(dw + j, acc);
}

// Rotate-half RoPE on [tokens, heads, dim] of dtype code t (f32 or bf16, computed in f32); angles
// in double like the CPU backend.
extern "C" __global__ void rl_rope(const void *x, const int *positions, void *y, i64 tokens, i64 heads, i64 dim,
                                   float theta, int inverse, int t) {
    i64 half = dim / 2;
    RL_GRID_STRIDE(idx, tokens * heads * half) {
        i64 i = idx % half, th = idx / half, tok = th / heads;
        double freq = pow((double)theta, -2.0 * (double)i / (double)dim);
        double angle = (double)positions[tok] * freq;
        float c = (float)cos(angle), sn = (float)sin(angle);
        if (inverse) sn = -sn;
        const i64 row = th * dim;
        float a = rl_act_load(x, t, row + i), b = rl_act_load(x, t, row + i + half);
        rl_act_store(y, t, row + i, a * c - b * sn);
        rl_act_store(y, t, row + i + half, b * c + a * sn);
    }
}

// y[i] = table[ids[i]] (rows of dim); the table is f32 (bf16 = 0) or bf16 (bf16 = 1), y of dtype
// code yt (f32 or bf16).
extern "C" __global__ void rl_embedding(const void *table, int bf16, const int *ids, void *y, int yt, i64 count, i64 dim) {
    RL_GRID_STRIDE(idx, count * dim) {
        i64 i = idx / dim, j = idx % dim;
        rl_act_store(y, yt, idx, rl_act_load(table, bf16, (i64)ids[i] * dim + j));
    }
}

extern "C" __global__ void rl_embedding_backward(const float *dy, const int *ids, float *grad, i64 count, i64 dim) {
    RL_GRID_STRIDE(idx, count * dim) {
        i64 i = idx / dim, j = idx % dim;
        atomicAdd(grad + (i64)ids[i] * dim + j, dy[idx]);
    }
}

// y[rows[i]] = x[i] (rows of dim elements of dtype code t, f32 or bf16; distinct row indices).
extern "C" __global__ void rl_scatter_rows(const void *x, const int *rows, void *y, i64 count, i64 dim, int t) {
    RL_GRID_STRIDE(idx, count * dim) {
        i64 i = idx / dim, j = idx % dim;
        if (t) ((u16 *)y)[(i64)rows[i] * dim + j] = ((const u16 *)x)[idx];
        else ((float *)y)[(i64)rows[i] * dim + j] = ((const float *)x)[idx];
    }
}

// y[r, j] = x[r, indices[r, j]].
extern "C" __global__ void rl_gather(const float *x, const int *indices, float *y, i64 rows, i64 cols, i64 k) {
    RL_GRID_STRIDE(idx, rows * k) { y[idx] = x[(idx / k) * cols + indices[idx]]; }
}

// dx (zeroed first) [r, indices[r, j]] += dy[r, j].
extern "C" __global__ void rl_gather_backward(const float *dy, const int *indices, float *dx, i64 rows, i64 cols, i64 k) {
    RL_GRID_STRIDE(idx, rows * k) { atomicAdd(dx + (idx / k) * cols + indices[idx], dy[idx]); }
}
