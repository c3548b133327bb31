// Elementwise, reduction, normalisation, rotary, SwiGLU and conversion loops.
#include "kernel_support.h"

RL_BODY unary_f32_body(int op, const float *x, float *y, long n, float p0, float p1) {
    long i;
    switch (op) {
    case RL_UNARY_NEG: for (i = 0; i < n; i++) y[i] = -x[i]; break;
    case RL_UNARY_EXP: for (i = 0; i < n; i++) y[i] = rl_expf(x[i]); break;
    case RL_UNARY_LOG: for (i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case RL_UNARY_SQRT: for (i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case RL_UNARY_RSQRT: for (i = 0; i < n; i++) y[i] = 1.0f / sqrtf(x[i]); break;
    case RL_UNARY_SIGMOID: for (i = 0; i < n; i++) y[i] = rl_sigmoidf(x[i]); break;
    case RL_UNARY_SILU: for (i = 0; i < n; i++) y[i] = x[i] * rl_sigmoidf(x[i]); break;
    case RL_UNARY_ABS: for (i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case RL_UNARY_SQUARE: for (i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
    case RL_UNARY_ADD_SCALAR: for (i = 0; i < n; i++) y[i] = x[i] + p0; break;
    case RL_UNARY_MUL_SCALAR: for (i = 0; i < n; i++) y[i] = x[i] * p0; break;
    case RL_UNARY_POW_SCALAR: for (i = 0; i < n; i++) y[i] = powf(x[i], p0); break;
    case RL_UNARY_RSUB_SCALAR: for (i = 0; i < n; i++) y[i] = p0 - x[i]; break;
    case RL_UNARY_RDIV_SCALAR: for (i = 0; i < n; i++) y[i] = p0 / x[i]; break;
    case RL_UNARY_CLAMP: for (i = 0; i < n; i++) { float v = x[i] < p0 ? p0 : x[i]; y[i] = v > p1 ? p1 : v; } break;
    case RL_UNARY_TANH: for (i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case RL_UNARY_RECIPROCAL: for (i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
    default: break;
    }
}
RL_DISPATCH(rl_unary_f32, unary_f32_body,
            (int op, const float *x, float *y, long n, float p0, float p1),
            (op, x, y, n, p0, p1))

#define RL_BINARY_LOOP(EXPR)                                                           \
    if (sa == 1 && sb == 1) { for (i = 0; i < n; i++) { float u = a[i], w = b[i]; y[i] = (EXPR); } } \
    else if (sa == 1 && sb == 0) { float w = b[0]; for (i = 0; i < n; i++) { float u = a[i]; y[i] = (EXPR); } } \
    else if (sa == 0 && sb == 1) { float u = a[0]; for (i = 0; i < n; i++) { float w = b[i]; y[i] = (EXPR); } } \
    else { for (i = 0; i < n; i++) { float u = a[i * sa], w = b[i * sb]; y[i] = (EXPR); } }

void rl_binary_f32(int op, const float *a, long sa, const float *b, long sb, float *y, long n) {
    long i;
    switch (op) {
    case RL_BINARY_ADD: RL_BINARY_LOOP(u + w) break;
    case RL_BINARY_SUB: RL_BINARY_LOOP(u - w) break;
    case RL_BINARY_MUL: RL_BINARY_LOOP(u * w) break;
    case RL_BINARY_DIV: RL_BINARY_LOOP(u / w) break;
    case RL_BINARY_MAX: RL_BINARY_LOOP(u > w ? u : w) break;
    case RL_BINARY_MIN: RL_BINARY_LOOP(u < w ? u : w) break;
    case RL_BINARY_EQ: RL_BINARY_LOOP(u == w ? 1.0f : 0.0f) break;
    case RL_BINARY_GT: RL_BINARY_LOOP(u > w ? 1.0f : 0.0f) break;
    case RL_BINARY_LT: RL_BINARY_LOOP(u < w ? 1.0f : 0.0f) break;
    case RL_BINARY_POW: RL_BINARY_LOOP(powf(u, w)) break;
    default: break;
    }
}

void rl_select_f32(const float *cond, long sc, const float *a, long sa, const float *b, long sb, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = cond[i * sc] != 0.0f ? a[i * sa] : b[i * sb];
}

void rl_reduce_f32(int op, const float *x, float *y, long o0, long o1, long axis, long inner) {
    for (long o = o0; o < o1; o++) {
        const float *base = x + o * axis * inner;
        float *out = y + o * inner;
        if (op == RL_REDUCE_SUM) {
            for (long i = 0; i < inner; i++) out[i] = 0.0f;
            for (long a = 0; a < axis; a++) {
                const float *row = base + a * inner;
                for (long i = 0; i < inner; i++) out[i] += row[i];
            }
        } else {
            for (long i = 0; i < inner; i++) out[i] = base[i];
            for (long a = 1; a < axis; a++) {
                const float *row = base + a * inner;
                if (op == RL_REDUCE_MAX) {
                    for (long i = 0; i < inner; i++) out[i] = row[i] > out[i] ? row[i] : out[i];
                } else {
                    for (long i = 0; i < inner; i++) out[i] = row[i] < out[i] ? row[i] : out[i];
                }
            }
        }
    }
}


RL_BODY rmsnorm_f32_body(const float *x, const float *w, float *y, float *rstd, long r0, long r1, long cols, float eps) {
#pragma clang fp reassociate(on)
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float ss = 0.0f;
        for (long j = 0; j < cols; j++) ss += xr[j] * xr[j];
        float inv = 1.0f / sqrtf(ss / (float)cols + eps);
        rstd[r] = inv;
        for (long j = 0; j < cols; j++) yr[j] = xr[j] * inv * w[j];
    }
}
RL_DISPATCH(rl_rmsnorm_f32, rmsnorm_f32_body,
            (const float *x, const float *w, float *y, float *rstd, long r0, long r1, long cols, float eps),
            (x, w, y, rstd, r0, r1, cols, eps))

RL_BODY rmsnorm_backward_f32_body(const float *dy, const float *x, const float *w, const float *rstd,
                             float *dx, float *dw, long r0, long r1, long cols) {
#pragma clang fp reassociate(on)
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        float inv = rstd[r];
        // y = x * inv * w; dx = inv * (w*dy) - x * inv^3 * mean(w*dy*x)
        float dot = 0.0f;
        for (long j = 0; j < cols; j++) { dot += dyr[j] * w[j] * xr[j]; dw[j] += dyr[j] * xr[j] * inv; }
        float c = dot * inv * inv * inv / (float)cols;
        for (long j = 0; j < cols; j++) dxr[j] = dyr[j] * w[j] * inv - xr[j] * c;
    }
}
RL_DISPATCH(rl_rmsnorm_backward_f32, rmsnorm_backward_f32_body,
            (const float *dy, const float *x, const float *w, const float *rstd, float *dx, float *dw, long r0, long r1, long cols),
            (dy, x, w, rstd, dx, dw, r0, r1, cols))

void rl_rope_f32(const float *x, const int32_t *positions, float *y, long t0, long t1, long heads,
                 long dim, float theta, int inverse) {
    long half = dim / 2;
    float cosv[1024], sinv[1024];  // dim <= 2048
    for (long t = t0; t < t1; t++) {
        double pos = (double)positions[t];
        for (long i = 0; i < half; i++) {
            double freq = pow((double)theta, -2.0 * (double)i / (double)dim);
            double angle = pos * freq;
            cosv[i] = (float)cos(angle);
            sinv[i] = inverse ? -(float)sin(angle) : (float)sin(angle);
        }
        for (long h = 0; h < heads; h++) {
            const float *xr = x + (t * heads + h) * dim;
            float *yr = y + (t * heads + h) * dim;
            for (long i = 0; i < half; i++) {
                float a = xr[i], b = xr[i + half];
                yr[i] = a * cosv[i] - b * sinv[i];
                yr[i + half] = b * cosv[i] + a * sinv[i];
            }
        }
    }
}

RL_BODY swiglu_f32_body(const float *gate, const float *up, float *y, long n) {
    for (long i = 0; i < n; i++) { float g = gate[i]; y[i] = g * rl_sigmoidf(g) * up[i]; }
}
RL_DISPATCH(rl_swiglu_f32, swiglu_f32_body,
            (const float *gate, const float *up, float *y, long n),
            (gate, up, y, n))

RL_BODY swiglu_backward_f32_body(const float *gate, const float *up, const float *dy, float *dgate, float *dup, long n) {
    for (long i = 0; i < n; i++) {
        float g = gate[i], sg = rl_sigmoidf(g), silu = g * sg;
        dup[i] = dy[i] * silu;
        dgate[i] = dy[i] * up[i] * (sg * (1.0f + g * (1.0f - sg)));
    }
}
RL_DISPATCH(rl_swiglu_backward_f32, swiglu_backward_f32_body,
            (const float *gate, const float *up, const float *dy, float *dgate, float *dup, long n),
            (gate, up, dy, dgate, dup, n))

void rl_f32_to_bf16(const float *x, uint16_t *y, long n) {
    for (long i = 0; i < n; i++) {
        union { float f; uint32_t u; } cv; cv.f = x[i];
        if (x[i] != x[i]) { y[i] = (uint16_t)((cv.u >> 16) | 0x40); continue; }
        uint32_t lsb = (cv.u >> 16) & 1u;
        y[i] = (uint16_t)((cv.u + 0x7FFFu + lsb) >> 16);
    }
}

void rl_bf16_to_f32(const uint16_t *x, float *y, long n) {
    for (long i = 0; i < n; i++) { union { uint32_t u; float f; } cv; cv.u = (uint32_t)x[i] << 16; y[i] = cv.f; }
}

static inline __attribute__((always_inline)) float max_f32_body(const float *x, long n) {
    float lanes[8];
    for (int l = 0; l < 8; l++) lanes[l] = -INFINITY;
    long n8 = n & ~7L;
    for (long i = 0; i < n8; i += 8)
        for (int l = 0; l < 8; l++) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
    float m = -INFINITY;
    for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
    for (long i = n8; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static inline __attribute__((always_inline)) double exp_shifted_f32_body(const float *x, long n, float shift, float scale, float *y) {
    // Eight float lanes summed over blocks of 8 x 512 values, then added in double.
    const long block = 8 * 512;
    double total = 0.0;
    for (long b0 = 0; b0 < n; b0 += block) {
        long b1 = b0 + block < n ? b0 + block : n;
        long b8 = b0 + ((b1 - b0) & ~7L);
        float lanes[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
        if (y) {
            // Written first, then summed from L1: the fused loop did not vectorise.
            for (long i = b0; i < b8; i++) y[i] = rl_expf((x[i] - shift) * scale);
            for (long i = b0; i < b8; i += 8)
                for (int l = 0; l < 8; l++) lanes[l] += y[i + l];
        } else {
            for (long i = b0; i < b8; i += 8)
                for (int l = 0; l < 8; l++) lanes[l] += rl_expf((x[i + l] - shift) * scale);
        }
        for (long i = b8; i < b1; i++) {
            float e = rl_expf((x[i] - shift) * scale);
            if (y) y[i] = e;
            total += e;
        }
        for (int l = 0; l < 8; l++) total += lanes[l];
    }
    return total;
}

#ifdef RL_X86
__attribute__((target(RL_AVX512_TARGET))) static float max_f32_avx512(const float *x, long n) { return max_f32_body(x, n); }
__attribute__((target(RL_AVX512_TARGET))) static double exp_shifted_f32_avx512(const float *x, long n, float shift, float scale, float *y) {
    return exp_shifted_f32_body(x, n, shift, scale, y);
}
__attribute__((target("avx2,fma"))) static double exp_shifted_f32_avx2(const float *x, long n, float shift, float scale, float *y) {
    return exp_shifted_f32_body(x, n, shift, scale, y);
}
#endif

float rl_max_f32(const float *x, long n) {
#ifdef RL_X86
    if (rl_has_avx512()) return max_f32_avx512(x, n);
#endif
    return max_f32_body(x, n);
}

// Sampling's hot loop (twice per token over the vocabulary): the AVX2+FMA build is about twice
// as fast as the SSE2 one, the AVX-512 build faster again.
double rl_exp_shifted_f32(const float *x, long n, float shift, float scale, float *y) {
#ifdef RL_X86
    if (rl_has_avx512()) return exp_shifted_f32_avx512(x, n, shift, scale, y);
    if (rl_has_avx2()) return exp_shifted_f32_avx2(x, n, shift, scale, y);
#endif
    return exp_shifted_f32_body(x, n, shift, scale, y);
}

double rl_sum_squares_f32(const float *x, long n) {
    double acc = 0.0;
    for (long i = 0; i < n; i++) acc += (double)x[i] * (double)x[i];
    return acc;
}
