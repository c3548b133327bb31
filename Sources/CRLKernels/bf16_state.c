// Training state held in bfloat16 (gradient accumulators, AdamW moments) with stochastic
// rounding: a value is rounded up with probability equal to its distance from the lower bf16
// neighbour, so repeated small updates are kept on average instead of being rounded away
// (round-to-nearest would freeze AdamW's second moment, whose steps are 0.1 % of its value).
// The random bits come from a counter-based hash of (seed, element index), so results do not
// depend on how the work is split across threads.
#include "rl_kernels.h"
#include <math.h>

static inline uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline float bf16_value(uint16_t x) {
    union { uint32_t u; float f; } cv;
    cv.u = (uint32_t)x << 16;
    return cv.f;
}

/// `x` rounded to bf16 stochastically with the random key `key`; NaN and infinities are kept.
static inline uint16_t bf16_stochastic(float x, uint64_t key) {
    union { float f; uint32_t u; } cv;
    cv.f = x;
    if (!isfinite(x)) return (uint16_t)((cv.u >> 16) | (x != x ? 0x40u : 0u));
    uint32_t noise = (uint32_t)(mix64(key) & 0xFFFFu);
    uint32_t bits = cv.u + noise;
    // Rounding up past the largest finite magnitude would give infinity: keep the value truncated.
    if (((bits >> 23) & 0xFFu) == 0xFFu) bits = cv.u;
    return (uint16_t)(bits >> 16);
}

void rl_accumulate_bf16(uint16_t *accumulator, const float *gradient, long n, long first_index, uint64_t seed) {
    for (long i = 0; i < n; i++) {
        uint64_t key = seed ^ ((uint64_t)(first_index + i) * 0xD6E8FEB86659FD93ull);
        accumulator[i] = bf16_stochastic(bf16_value(accumulator[i]) + gradient[i], key);
    }
}

double rl_sum_squares_bf16(const uint16_t *x, long n) {
    double sum = 0;
    for (long i = 0; i < n; i++) {
        double value = bf16_value(x[i]);
        sum += value * value;
    }
    return sum;
}

void rl_adamw_bf16_state(float *param, const uint16_t *grad, uint16_t *m, uint16_t *v, long n, long first_index,
                         float grad_scale, float lr, float beta1, float beta2, float eps, float weight_decay,
                         float bc1, float bc2, uint64_t seed) {
    float decay = 1.0f - lr * weight_decay;
    float step = lr / bc1;
    float inv_sqrt_bc2 = 1.0f / sqrtf(bc2);
    for (long i = 0; i < n; i++) {
        uint64_t key = seed ^ ((uint64_t)(first_index + i) * 0xD6E8FEB86659FD93ull);
        float g = bf16_value(grad[i]) * grad_scale;
        float mi = beta1 * bf16_value(m[i]) + (1.0f - beta1) * g;
        float vi = beta2 * bf16_value(v[i]) + (1.0f - beta2) * g * g;
        m[i] = bf16_stochastic(mi, key);
        v[i] = bf16_stochastic(vi, mix64(key));
        param[i] = param[i] * decay - step * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    }
}
