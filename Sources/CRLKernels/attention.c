// The CPU attention kernels' softmax over a block of query rows (forward and backward).
#include "kernel_support.h"


static inline long visible_keys(long q, long cols, long query_offset) {
    long limit = query_offset + q + 1;
    return limit < cols ? (limit < 0 ? 0 : limit) : cols;
}

RL_BODY attention_softmax_f32_body(float *s, long lds, long q0, long rows, long cols, long query_offset,
                              const int32_t *key_mask, float scale, float *lse) {
#pragma clang fp reassociate(on)
    for (long r = 0; r < rows; r++) {
        float *sr = s + r * lds;
        long limit = visible_keys(q0 + r, cols, query_offset);
        // Scaled scores, -inf for padding keys (exp gives exactly 0 for them below). The mask
        // test is hoisted out of the loops so they vectorise.
        if (key_mask) {
            for (long j = 0; j < limit; j++) { float v = sr[j] * scale; sr[j] = key_mask[j] != 0 ? v : -INFINITY; }
        } else {
            for (long j = 0; j < limit; j++) sr[j] *= scale;
        }
        float m = -INFINITY;
        for (long j = 0; j < limit; j++) m = fmaxf(m, sr[j]);
        if (m == -INFINITY) {
            for (long j = 0; j < cols; j++) sr[j] = 0.0f;
            lse[r] = -INFINITY;
            continue;
        }
        float sum = 0.0f;
        for (long j = 0; j < limit; j++) {
            float e = rl_expf(sr[j] - m);
            sr[j] = e;
            sum += e;
        }
        for (long j = limit; j < cols; j++) sr[j] = 0.0f;
        float inv = 1.0f / sum;
        for (long j = 0; j < limit; j++) sr[j] *= inv;
        lse[r] = m + logf(sum);
    }
}
RL_DISPATCH(rl_attention_softmax_f32, attention_softmax_f32_body,
            (float *s, long lds, long q0, long rows, long cols, long query_offset, const int32_t *key_mask, float scale, float *lse),
            (s, lds, q0, rows, cols, query_offset, key_mask, scale, lse))

RL_BODY attention_softmax_backward_f32_body(float *s, long lds, float *dp, long ldp, long q0, long rows, long cols,
                                       long query_offset, const int32_t *key_mask, float scale,
                                       const float *lse, const float *delta) {
    for (long r = 0; r < rows; r++) {
        float *sr = s + r * lds, *dr = dp + r * ldp;
        long limit = visible_keys(q0 + r, cols, query_offset);
        float l = lse[r], d = delta[r];
        if (l == -INFINITY) limit = 0;
        if (key_mask) {
            for (long j = 0; j < limit; j++) { float v = sr[j] * scale - l; sr[j] = key_mask[j] != 0 ? v : -INFINITY; }
        } else {
            for (long j = 0; j < limit; j++) sr[j] = sr[j] * scale - l;
        }
        for (long j = 0; j < limit; j++) {
            float p = rl_expf(sr[j]);
            sr[j] = p;
            dr[j] = p * (dr[j] - d) * scale;
        }
        for (long j = limit; j < cols; j++) { sr[j] = 0.0f; dr[j] = 0.0f; }
    }
}
RL_DISPATCH(rl_attention_softmax_backward_f32, attention_softmax_backward_f32_body,
            (float *s, long lds, float *dp, long ldp, long q0, long rows, long cols, long query_offset, const int32_t *key_mask, float scale, const float *lse, const float *delta),
            (s, lds, dp, ldp, q0, rows, cols, query_offset, key_mask, scale, lse, delta))

