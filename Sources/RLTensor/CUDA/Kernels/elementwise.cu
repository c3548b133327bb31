// Elementwise kernels: copy, fill, cast, unary, binary, select, SwiGLU, AdamW.
#include "rl_common.cuh"

// Strided copy of 2-, 4- or 8-byte elements; operand 0 is the source, 1 the destination.
#define RL_COPY(NAME, T)                                                                      \
extern "C" __global__ void NAME(const T *src, T *dst, RLStrides s, i64 n) {                  \
    RL_GRID_STRIDE(i, n) { dst[rl_offset(s, 1, i)] = src[rl_offset(s, 0, i)]; }              \
}
RL_COPY(rl_copy_b16, u16)
RL_COPY(rl_copy_b32, u32)
RL_COPY(rl_copy_b64, u64)

// Contiguous fills with a bit pattern computed on the host.
extern "C" __global__ void rl_fill_b16(u16 *dst, u64 bits, i64 n) { RL_GRID_STRIDE(i, n) dst[i] = (u16)bits; }
extern "C" __global__ void rl_fill_b32(u32 *dst, u64 bits, i64 n) { RL_GRID_STRIDE(i, n) dst[i] = (u32)bits; }
extern "C" __global__ void rl_fill_b64(u64 *dst, u64 bits, i64 n) { RL_GRID_STRIDE(i, n) dst[i] = bits; }

// dtype codes: 0 f32, 1 bf16, 2 f16, 3 i32, 4 i64 (RLTensor's DType order).
__device__ __forceinline__ double rl_load(const void *p, int t, i64 i) {
    switch (t) {
    case 0: return (double)((const float *)p)[i];
    case 1: return (double)rl_bf16_to_f32(((const u16 *)p)[i]);
    case 2: return (double)rl_f16_to_f32(((const u16 *)p)[i]);
    case 3: return (double)((const int *)p)[i];
    default: return (double)((const i64 *)p)[i];
    }
}
extern "C" __global__ void rl_cast(const void *src, int from, void *dst, int to, i64 n) {
    RL_GRID_STRIDE(i, n) {
        if (from == 0 && to == 1) { ((u16 *)dst)[i] = rl_f32_to_bf16(((const float *)src)[i]); continue; }
        if (from == 1 && to == 0) { ((float *)dst)[i] = rl_bf16_to_f32(((const u16 *)src)[i]); continue; }
        double v = rl_load(src, from, i);
        bool finite = v == v && v != (double)RL_INF && v != -(double)RL_INF;
        switch (to) {
        case 0: ((float *)dst)[i] = (float)v; break;
        case 1: ((u16 *)dst)[i] = rl_f32_to_bf16((float)v); break;
        case 2: ((u16 *)dst)[i] = rl_f32_to_f16((float)v); break;
        case 3: {
            double t = trunc(v);
            ((int *)dst)[i] = !finite ? 0 : (t >= 2147483647.0 ? 2147483647 : (t <= -2147483648.0 ? (-2147483647 - 1) : (int)t));
            break;
        }
        default: {
            double t = trunc(v);
            ((i64 *)dst)[i] = (finite && fabs(v) < 9.2e18) ? (i64)t : 0;
            break;
        }
        }
    }
}

// Unary op codes follow rl_kernels.h (RL_UNARY_*).
extern "C" __global__ void rl_unary(int op, const float *x, float *y, i64 n, float p0, float p1) {
    RL_GRID_STRIDE(i, n) {
        float v = x[i], r;
        switch (op) {
        case 0: r = -v; break;
        case 1: r = expf(v); break;
        case 2: r = logf(v); break;
        case 3: r = sqrtf(v); break;
        case 4: r = 1.0f / sqrtf(v); break;
        case 5: r = rl_sigmoid(v); break;
        case 6: r = v * rl_sigmoid(v); break;
        case 7: r = fabsf(v); break;
        case 8: r = v * v; break;
        case 9: r = v + p0; break;
        case 10: r = v * p0; break;
        case 11: r = powf(v, p0); break;
        case 12: r = p0 - v; break;
        case 13: r = p0 / v; break;
        case 14: { float c = v < p0 ? p0 : v; r = c > p1 ? p1 : c; break; }
        case 15: r = tanhf(v); break;
        default: r = 1.0f / v; break;
        }
        y[i] = r;
    }
}

__device__ __forceinline__ float rl_binary_op(int op, float u, float w) {
    switch (op) {
    case 0: return u + w;
    case 1: return u - w;
    case 2: return u * w;
    case 3: return u / w;
    case 4: return u > w ? u : w;
    case 5: return u < w ? u : w;
    case 6: return u == w ? 1.0f : 0.0f;
    case 7: return u > w ? 1.0f : 0.0f;
    case 8: return u < w ? 1.0f : 0.0f;
    default: return powf(u, w);
    }
}

// out (contiguous) = a op b, operands 0 and 1 strided (stride 0 broadcasts); all three of dtype
// code t (f32 or bf16), computed in f32.
extern "C" __global__ void rl_binary(int op, const void *a, const void *b, void *out, RLStrides s, i64 n, int t) {
    RL_GRID_STRIDE(i, n) { rl_act_store(out, t, i, rl_binary_op(op, rl_act_load(a, t, rl_offset(s, 0, i)), rl_act_load(b, t, rl_offset(s, 1, i)))); }
}
// Fast path: both operands contiguous.
extern "C" __global__ void rl_binary_contiguous(int op, const void *a, const void *b, void *out, i64 n, int t) {
    RL_GRID_STRIDE(i, n) { rl_act_store(out, t, i, rl_binary_op(op, rl_act_load(a, t, i), rl_act_load(b, t, i))); }
}

extern "C" __global__ void rl_select(const float *c, const float *a, const float *b, float *out, RLStrides s, i64 n) {
    RL_GRID_STRIDE(i, n) {
        out[i] = c[rl_offset(s, 0, i)] != 0.0f ? a[rl_offset(s, 1, i)] : b[rl_offset(s, 2, i)];
    }
}

// y = silu(gate) * up, all of dtype code t (f32 or bf16), computed in f32.
extern "C" __global__ void rl_swiglu(const void *gate, const void *up, void *y, i64 n, int t) {
    RL_GRID_STRIDE(i, n) { float g = rl_act_load(gate, t, i); rl_act_store(y, t, i, g * rl_sigmoid(g) * rl_act_load(up, t, i)); }
}

extern "C" __global__ void rl_swiglu_backward(const float *gate, const float *up, const float *dy, float *dgate, float *dup, i64 n) {
    RL_GRID_STRIDE(i, n) {
        float g = gate[i], sg = rl_sigmoid(g), silu = g * sg;
        dup[i] = dy[i] * silu;
        dgate[i] = dy[i] * up[i] * (sg * (1.0f + g * (1.0f - sg)));
    }
}

// AdamW with decoupled weight decay; bc1, bc2 are the bias corrections 1 - beta^step.
extern "C" __global__ void rl_adamw(float *param, const float *grad, float *m, float *v, i64 n, float lr, float beta1,
                                    float beta2, float eps, float weight_decay, float bc1, float bc2) {
    float decay = 1.0f - lr * weight_decay;
    float step = lr / bc1;
    float inv_sqrt_bc2 = 1.0f / sqrtf(bc2);
    RL_GRID_STRIDE(i, n) {
        float g = grad[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = param[i] * decay - step * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    }
}
