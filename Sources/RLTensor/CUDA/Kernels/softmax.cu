// Row softmax / log-softmax and the token log-probability (log-softmax-gather) kernels.
// One block per row; all arithmetic in f32.
#include "rl_common.cuh"

extern "C" __global__ void rl_softmax(const float *x, float *y, i64 cols, int log) {
    __shared__ float scratch[32];
    const float *xr = x + (i64)blockIdx.x * cols;
    float *yr = y + (i64)blockIdx.x * cols;
    float m = -RL_INF;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, xr[j]);
    m = rl_block_max(m, scratch);
    float s = 0.0f;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) s += expf(xr[j] - m);
    s = rl_block_sum(s, scratch);
    if (log) {
        float lse = m + logf(s);
        for (i64 j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = xr[j] - lse;
    } else {
        float inv = 1.0f / s;
        for (i64 j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = expf(xr[j] - m) * inv;
    }
}

extern "C" __global__ void rl_softmax_backward(const float *y, const float *dy, float *dx, i64 cols, int log) {
    __shared__ float scratch[32];
    i64 base = (i64)blockIdx.x * cols;
    float s = 0.0f;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) s += log ? dy[base + j] : dy[base + j] * y[base + j];
    s = rl_block_sum(s, scratch);
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) {
        float yv = y[base + j], d = dy[base + j];
        dx[base + j] = log ? d - expf(yv) * s : yv * (d - s);
    }
}

// logp[r] = logits[r, t] * s - logsumexp(logits[r] * s), s = 1 / temperature.
extern "C" __global__ void rl_token_logprobs(const float *logits, const int *targets, float *logp, float *lse,
                                             i64 cols, float s) {
    __shared__ float scratch[32];
    i64 r = blockIdx.x;
    const float *xr = logits + r * cols;
    float m = -RL_INF;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, xr[j] * s);
    m = rl_block_max(m, scratch);
    float sum = 0.0f;
    if (m != -RL_INF) {
        for (i64 j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(xr[j] * s - m);
    }
    sum = rl_block_sum(sum, scratch);
    if (threadIdx.x == 0) {
        float l = m == -RL_INF ? -RL_INF : m + logf(sum);
        lse[r] = l;
        logp[r] = xr[targets[r]] * s - l;
    }
}

extern "C" __global__ void rl_token_logprobs_backward(const float *logits, const int *targets, const float *lse,
                                                      const float *dlogp, float *dlogits, i64 cols, float s) {
    i64 r = blockIdx.x;
    const float *xr = logits + r * cols;
    float *dr = dlogits + r * cols;
    float g = dlogp[r] * s, l = lse[r];
    int t = targets[r];
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) {
        float v = -g * expf(xr[j] * s - l);
        dr[j] = j == t ? v + g : v;
    }
}

// entropy[r] = lse[r] - s * sum_j p_j x_j, p_j = exp(x_j s - lse[r]): the entropy (nats) of
// softmax(logits[r] * s) from the logsumexp rl_token_logprobs saved.
extern "C" __global__ void rl_row_entropy(const float *logits, const float *lse, float *entropy, i64 cols, float s) {
    __shared__ float scratch[32];
    i64 r = blockIdx.x;
    const float *xr = logits + r * cols;
    float l = lse[r], weighted = 0.0f;
    for (i64 j = threadIdx.x; j < cols; j += blockDim.x) {
        float p = expf(xr[j] * s - l);
        if (p > 0.0f) weighted += p * xr[j];
    }
    weighted = rl_block_sum(weighted, scratch);
    if (threadIdx.x == 0) entropy[r] = l - s * weighted;
}
