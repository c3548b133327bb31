// Decode attention over a paged KV cache (one query per sequence, keys found through a block
// table); see rl_paged_attention_decode_f32 in rl_kernels.h.
#include "kernel_support.h"

RL_BODY paged_attention_decode_f32_body(const float *q, const float *key_pool, const float *value_pool,
                                        const int32_t *block_tables, const int32_t *lengths, float *out,
                                        long task0, long task1, long query_heads, long kv_heads, long dim,
                                        long block_size, long table_stride, float scale, float *scores) {
#pragma clang fp reassociate(on)
    const long group = query_heads / kv_heads, token_stride = kv_heads * dim, block_stride = block_size * token_stride;
    for (long task = task0; task < task1; task++) {
        const long b = task / query_heads, h = task % query_heads, g = h / group;
        const float *qh = q + task * dim;
        float *oh = out + task * dim;
        const int32_t *table = block_tables + b * table_stride;
        const long n = lengths[b];
        for (long d = 0; d < dim; d++) oh[d] = 0.0f;
        if (n <= 0) continue;
        float m = -INFINITY;
        for (long j0 = 0; j0 < n; j0 += block_size) {
            const float *kb = key_pool + (long)table[j0 / block_size] * block_stride + g * dim;
            const long slots = n - j0 < block_size ? n - j0 : block_size;
            for (long s = 0; s < slots; s++) {
                const float *kj = kb + s * token_stride;
                float dot = 0.0f;
                for (long d = 0; d < dim; d++) dot += qh[d] * kj[d];
                scores[j0 + s] = dot * scale;
                m = fmaxf(m, scores[j0 + s]);
            }
        }
        float sum = 0.0f;
        for (long j = 0; j < n; j++) {
            float e = rl_expf(scores[j] - m);
            scores[j] = e;
            sum += e;
        }
        for (long j0 = 0; j0 < n; j0 += block_size) {
            const float *vb = value_pool + (long)table[j0 / block_size] * block_stride + g * dim;
            const long slots = n - j0 < block_size ? n - j0 : block_size;
            for (long s = 0; s < slots; s++) {
                const float *vj = vb + s * token_stride;
                const float p = scores[j0 + s];
                for (long d = 0; d < dim; d++) oh[d] += p * vj[d];
            }
        }
        const float inv = 1.0f / sum;
        for (long d = 0; d < dim; d++) oh[d] *= inv;
    }
}
RL_DISPATCH(rl_paged_attention_decode_f32, paged_attention_decode_f32_body,
            (const float *q, const float *key_pool, const float *value_pool, const int32_t *block_tables,
             const int32_t *lengths, float *out, long task0, long task1, long query_heads, long kv_heads, long dim,
             long block_size, long table_stride, float scale, float *scores),
            (q, key_pool, value_pool, block_tables, lengths, out, task0, task1, query_heads, kv_heads, dim, block_size,
             table_stride, scale, scores))
