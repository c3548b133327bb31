// Layer kernels: RMSNorm, rotate-half RoPE, embedding gather / scatter-add, row scatter, gather by
// index.
#include "rl_common.cuh"

// One block per row: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps).
extern "C" __global__ void rl_rmsnorm(const float *x, const float *w, float *y, float *rstd, i64 cols, float eps) {
    __shared__ float scratch[32];
    i64 base = (i64)blockIdx.x * cols;
    float ss = 0.0f;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) { float v = x[base + j]; ss += v * v; }
    ss = rl_block_sum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)cols + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = inv;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) y[base + j] = x[base + j] * inv * w[j];
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

// Rotate-half RoPE on [tokens, heads, dim]; angles in double like the CPU backend.
extern "C" __global__ void rl_rope(const float *x, const int *positions, float *y, i64 tokens, i64 heads, i64 dim,
                                   float theta, int inverse) {
    i64 half = dim / 2;
    RL_GRID_STRIDE(idx, tokens * heads * half) {
        i64 i = idx % half, th = idx / half, t = th / heads;
        double freq = pow((double)theta, -2.0 * (double)i / (double)dim);
        double angle = (double)positions[t] * freq;
        float c = (float)cos(angle), sn = (float)sin(angle);
        if (inverse) sn = -sn;
        const float *xr = x + th * dim;
        float *yr = y + th * dim;
        float a = xr[i], b = xr[i + half];
        yr[i] = a * c - b * sn;
        yr[i + half] = b * c + a * sn;
    }
}

// y[i] = table[ids[i]] (rows of dim); the table is f32 (bf16 = 0) or bf16 (bf16 = 1).
extern "C" __global__ void rl_embedding(const void *table, int bf16, const int *ids, float *y, i64 count, i64 dim) {
    RL_GRID_STRIDE(idx, count * dim) {
        i64 i = idx / dim, j = idx % dim;
        i64 src = (i64)ids[i] * dim + j;
        y[idx] = bf16 ? rl_bf16_to_f32(((const u16 *)table)[src]) : ((const float *)table)[src];
    }
}

extern "C" __global__ void rl_embedding_backward(const float *dy, const int *ids, float *grad, i64 count, i64 dim) {
    RL_GRID_STRIDE(idx, count * dim) {
        i64 i = idx / dim, j = idx % dim;
        atomicAdd(grad + (i64)ids[i] * dim + j, dy[idx]);
    }
}

// y[rows[i]] = x[i] (rows of dim; distinct row indices).
extern "C" __global__ void rl_scatter_rows(const float *x, const int *rows, float *y, i64 count, i64 dim) {
    RL_GRID_STRIDE(idx, count * dim) {
        i64 i = idx / dim, j = idx % dim;
        y[(i64)rows[i] * dim + j] = x[idx];
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
