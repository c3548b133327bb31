// Row softmax / log-softmax and token log-probabilities (forward and backward).
#include "kernel_support.h"

static inline float row_max(const float *x, long n, float scale) {
    float m = -INFINITY;
    for (long j = 0; j < n; j++) m = fmaxf(m, x[j] * scale);
    return m;
}

RL_BODY softmax_f32_body(const float *x, float *y, long r0, long r1, long cols, int log) {
#pragma clang fp reassociate(on)
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = row_max(xr, cols, 1.0f);
        float sum = 0.0f;
        for (long j = 0; j < cols; j++) { float e = rl_expf(xr[j] - m); yr[j] = e; sum += e; }
        if (log) {
            // (x - m) - log(sum): x - m is exact for nearby values, while x - (m + log(sum))
            // loses the low bits of log(sum) when the logits are large.
            float log_sum = logf(sum);
            for (long j = 0; j < cols; j++) yr[j] = (xr[j] - m) - log_sum;
        } else {
            float inv = 1.0f / sum;
            for (long j = 0; j < cols; j++) yr[j] *= inv;
        }
    }
}
RL_DISPATCH(rl_softmax_f32, softmax_f32_body,
            (const float *x, float *y, long r0, long r1, long cols, int log),
            (x, y, r0, r1, cols, log))

RL_BODY softmax_backward_f32_body(const float *y, const float *dy, float *dx, long r0, long r1, long cols, int log) {
#pragma clang fp reassociate(on)
    for (long r = r0; r < r1; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        float s = 0.0f;
        if (log) {
            for (long j = 0; j < cols; j++) s += dyr[j];
            for (long j = 0; j < cols; j++) dxr[j] = dyr[j] - rl_expf(yr[j]) * s;
        } else {
            for (long j = 0; j < cols; j++) s += dyr[j] * yr[j];
            for (long j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - s);
        }
    }
}
RL_DISPATCH(rl_softmax_backward_f32, softmax_backward_f32_body,
            (const float *y, const float *dy, float *dx, long r0, long r1, long cols, int log),
            (y, dy, dx, r0, r1, cols, log))

static inline float row_logsumexp(const float *x, long cols, float s) {
#pragma clang fp reassociate(on)
    float m = row_max(x, cols, s);
    if (m == -INFINITY) return -INFINITY;
    float sum = 0.0f;
    for (long j = 0; j < cols; j++) sum += rl_expf(x[j] * s - m);
    return m + logf(sum);
}

RL_BODY token_logprobs_f32_body(const float *logits, const int32_t *targets, float *logp, float *lse,
                           long r0, long r1, long cols, float s) {
    for (long r = r0; r < r1; r++) {
        const float *xr = logits + r * cols;
        float l = row_logsumexp(xr, cols, s);
        lse[r] = l;
        logp[r] = xr[targets[r]] * s - l;
    }
}
RL_DISPATCH(rl_token_logprobs_f32, token_logprobs_f32_body,
            (const float *logits, const int32_t *targets, float *logp, float *lse, long r0, long r1, long cols, float s),
            (logits, targets, logp, lse, r0, r1, cols, s))

RL_BODY token_logprobs_backward_f32_body(const float *logits, const int32_t *targets, const float *lse,
                                    const float *dlogp, float *dlogits, long r0, long r1, long cols, float s) {
    for (long r = r0; r < r1; r++) {
        const float *xr = logits + r * cols;
        float *dr = dlogits + r * cols;
        float g = dlogp[r] * s, l = lse[r];
        for (long j = 0; j < cols; j++) dr[j] = -g * rl_expf(xr[j] * s - l);
        dr[targets[r]] += g;
    }
}
RL_DISPATCH(rl_token_logprobs_backward_f32, token_logprobs_backward_f32_body,
            (const float *logits, const int32_t *targets, const float *lse, const float *dlogp, float *dlogits, long r0, long r1, long cols, float s),
            (logits, targets, lse, dlogp, dlogits, r0, r1, cols, s))


// Entropy (nats) of each row's distribution softmax(logits[r] * s), from the row logsumexp the
// forward of token_logprobs saved: H = lse - s * sum_j p_j x_j with p_j = exp(x_j s - lse).
RL_BODY row_entropy_f32_body(const float *logits, const float *lse, float *entropy, long r0, long r1, long cols, float s) {
#pragma clang fp reassociate(on)
    for (long r = r0; r < r1; r++) {
        const float *xr = logits + r * cols;
        float l = lse[r], weighted = 0.0f;
        for (long j = 0; j < cols; j++) {
            float p = rl_expf(xr[j] * s - l);
            // A -inf logit has probability 0 and adds nothing (0 * -inf would be NaN).
            if (p > 0.0f) weighted += p * xr[j];
        }
        entropy[r] = l - s * weighted;
    }
}
RL_DISPATCH(rl_row_entropy_f32, row_entropy_f32_body,
            (const float *logits, const float *lse, float *entropy, long r0, long r1, long cols, float s),
            (logits, lse, entropy, r0, r1, cols, s))
