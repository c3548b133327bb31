#include "kernels.h"
#include <cstdio>
#include <random>
typedef long long ll;
struct Case { ll B, Lq, Lk, Hq, Hkv, D, off; bool masked; bool forwardOnly = false; };
static float frand(std::mt19937& g) { return std::uniform_real_distribution<float>(-1, 1)(g); }
// bf16 mode (dtype code 1): queries, keys and values rounded to bf16 (the references use the
// rounded values), outputs compared within one bf16 rounding; logsumexp stays f32.
static std::vector<u16> bf(const std::vector<float>& v) { std::vector<u16> r(v.size()); for (size_t i = 0; i < v.size(); ++i) r[i] = rl_f32_to_bf16(v[i]); return r; }
static void roundToBF16(std::vector<float>& v) { for (auto& x : v) x = rl_bf16_to_f32(rl_f32_to_bf16(x)); }
static void widen(const std::vector<u16>& h, std::vector<float>& out) { for (size_t i = 0; i < h.size(); ++i) out[i] = rl_bf16_to_f32(h[i]); }

int run(Case c, bool bf16 = false) {
    std::mt19937 g(42);
    ll kvs = c.Hkv * c.D + 8;  // cache-like token stride
    std::vector<float> q(c.B * c.Lq * c.Hq * c.D), k(c.B * c.Lk * kvs), v(c.B * c.Lk * kvs), dO(q.size());
    for (auto* a : {&q, &k, &v, &dO}) for (auto& x : *a) x = frand(g);
    if (bf16) for (auto* a : {&q, &k, &v}) roundToBF16(*a);
    std::vector<int> mask(c.B * c.Lk, 1);
    for (ll j = 0; j < std::min<ll>(3, c.Lk); ++j) mask[j] = 0;
    float scale = 1.0f / std::sqrt((float)c.D);
    RLAttention a{c.B, c.Lq, c.Lk, c.Hq, c.Hkv, c.D, c.off, c.Lq * c.Hq * c.D, c.Hq * c.D, c.Lk * kvs, kvs, c.Lk * kvs, kvs, c.Lk, c.masked ? 1 : 0, scale, bf16 ? 1 : 0};
    const int* mp = c.masked ? mask.data() : nullptr;
    ll group = c.Hq / c.Hkv;
    // reference
    std::vector<float> O(q.size(), 0), L(c.B * c.Hq * c.Lq), dQ(q.size(), 0), dK(c.B * c.Lk * c.Hkv * c.D, 0), dV(dK.size(), 0);
    for (ll b = 0; b < c.B; ++b) for (ll h = 0; h < c.Hq; ++h) for (ll i = 0; i < c.Lq; ++i) {
        ll gg = h / group;
        const float* qi = &q[b * a.qBatch + i * a.qToken + h * c.D];
        std::vector<double> s(c.Lk, -INFINITY), p(c.Lk, 0);
        double m = -INFINITY;
        for (ll j = 0; j < c.Lk; ++j) {
            bool vis = j <= c.off + i && (!c.masked || mask[b * c.Lk + j]);
            if (!vis) continue;
            double d = 0; for (ll t = 0; t < c.D; ++t) d += qi[t] * k[b * a.kBatch + j * kvs + gg * c.D + t];
            s[j] = d * scale; m = std::max(m, s[j]);
        }
        double sum = 0;
        if (m != -INFINITY) for (ll j = 0; j < c.Lk; ++j) if (s[j] != -INFINITY) { p[j] = std::exp(s[j] - m); sum += p[j]; }
        float* o = &O[((b * c.Lq + i) * c.Hq + h) * c.D];
        for (ll j = 0; j < c.Lk; ++j) if (p[j] > 0) { p[j] /= sum; for (ll t = 0; t < c.D; ++t) o[t] += p[j] * v[b * a.vBatch + j * kvs + gg * c.D + t]; }
        L[(b * c.Hq + h) * c.Lq + i] = m == -INFINITY ? -INFINITY : (float)(m + std::log(sum));
        const float* doi = &dO[((b * c.Lq + i) * c.Hq + h) * c.D];
        double delta = 0; for (ll t = 0; t < c.D; ++t) delta += o[t] * doi[t];
        for (ll j = 0; j < c.Lk; ++j) if (p[j] > 0) {
            double dp = 0; for (ll t = 0; t < c.D; ++t) dp += doi[t] * v[b * a.vBatch + j * kvs + gg * c.D + t];
            double ds = p[j] * (dp - delta) * scale;
            for (ll t = 0; t < c.D; ++t) {
                dQ[((b * c.Lq + i) * c.Hq + h) * c.D + t] += ds * k[b * a.kBatch + j * kvs + gg * c.D + t];
                dK[((b * c.Lk + j) * c.Hkv + gg) * c.D + t] += ds * qi[t];
                dV[((b * c.Lk + j) * c.Hkv + gg) * c.D + t] += p[j] * doi[t];
            }
        }
    }
    // kernels, launched like CUDABackend+Ops.swift
    ll W = 4, T = 32;
    std::vector<float> Og(q.size(), NAN), Lg(L.size(), NAN), dQg(q.size(), NAN), dKg(dK.size(), NAN), dVg(dK.size(), NAN), delta(c.B * c.Lq * c.Hq, NAN);
    size_t sh = (2 * T * (c.D + 1) + W * c.D) * 4;
    std::vector<u16> qh = bf(q), kh = bf(k), vh = bf(v), Oh(q.size());
    const void *qp = bf16 ? (const void*)qh.data() : q.data(), *kp = bf16 ? (const void*)kh.data() : k.data(), *vp = bf16 ? (const void*)vh.data() : v.data();
    emu_launch(dim3{(unsigned)((c.Lq * group + W - 1) / W), (unsigned)c.Hkv, (unsigned)c.B}, 32 * W, sh, [&] {
        rl_attention_forward(a, qp, kp, vp, mp, bf16 ? (void*)Oh.data() : Og.data(), Lg.data()); });
    if (bf16) widen(Oh, Og);
    ll rows = c.B * c.Lq * c.Hq;
    if (!c.forwardOnly && !bf16) {
        emu_launch(dim3{(unsigned)((rows + W - 1) / W), 1, 1}, 32 * W, 0, [&] { rl_attention_backward_delta(a, Og.data(), dO.data(), delta.data()); });
        sh = (2 * T * (c.D + 1) + 2 * W * c.D) * 4;
        emu_launch(dim3{(unsigned)((c.Lq * group + W - 1) / W), (unsigned)c.Hkv, (unsigned)c.B}, 32 * W, sh, [&] {
            rl_attention_backward_dq(a, q.data(), k.data(), v.data(), mp, Lg.data(), delta.data(), dO.data(), dQg.data()); });
        sh = (2 * T * (c.D + 1) + 2 * W * c.D + 2 * T) * 4;
        emu_launch(dim3{(unsigned)((c.Lk + W - 1) / W), (unsigned)c.Hkv, (unsigned)c.B}, 32 * W, sh, [&] {
            rl_attention_backward_dkv(a, q.data(), k.data(), v.data(), mp, Lg.data(), delta.data(), dO.data(), dKg.data(), dVg.data()); });
    }
    auto cmp = [&](const char* name, std::vector<float>& ref, std::vector<float>& got, double rtol = 1e-4) {
        int bad = 0; double worst = 0; ll wi = -1;
        for (size_t i = 0; i < ref.size(); ++i) {
            float e = ref[i], x = got[i];
            if (std::isinf(e) && x == e) continue;
            double err = std::fabs((double)x - e);
            if (!(err <= 2e-5 + rtol * std::fabs(e))) { bad++; if (!(err <= worst)) { worst = err; wi = i; } }
        }
        if (bad) printf("  %s: %d bad, worst [%lld] got %g ref %g\n", name, bad, wi, wi >= 0 ? got[wi] : 0.f, wi >= 0 ? ref[wi] : 0.f);
        return bad;
    };
    const double outTol = bf16 ? 1.0 / 256 : 1e-4;
    int bad = cmp("out", O, Og, outTol) + cmp("lse", L, Lg);
    if (!c.forwardOnly && !bf16) bad += cmp("dq", dQ, dQg) + cmp("dk", dK, dKg) + cmp("dv", dV, dVg);
    printf("%s %sB%lld Lq%lld Lk%lld H%lld/%lld D%lld off%lld mask%d\n", bad ? "FAIL" : "ok  ", bf16 ? "bf16 forward " : "", c.B, c.Lq, c.Lk, c.Hq, c.Hkv, c.D, c.off, (int)c.masked);
    if (c.Lq == 1) {
        // Flash-decoding: the visible keys in `splits` ranges of a multiple of the tile (the last
        // ones may be empty), partials combined, launched like CUDABackend+Ops.swift.
        ll visible = std::min(c.off + 1, c.Lk);
        for (ll splits : {2LL, 3LL, 7LL}) {
            ll splitLength = ((visible + splits - 1) / splits + T - 1) / T * T;
            std::vector<float> partial(c.B * c.Hq * splits * (c.D + 2), NAN), Od(q.size(), NAN), Ld(L.size(), NAN);
            sh = (2 * T * (c.D + 1) + W * c.D) * 4;
            emu_launch(dim3{(unsigned)((group + W - 1) / W), (unsigned)c.Hkv, (unsigned)(c.B * splits)}, 32 * W, sh, [&] {
                rl_attention_decode_split(a, qp, kp, vp, mp, partial.data(), splits, splitLength); });
            emu_launch(dim3{(unsigned)((c.B * c.Hq + W - 1) / W), 1, 1}, 32 * W, 0, [&] {
                rl_attention_decode_combine(a, partial.data(), splits, bf16 ? (void*)Oh.data() : Od.data(), Ld.data()); });
            if (bf16) widen(Oh, Od);
            int badSplit = cmp("decode out", O, Od, outTol) + cmp("decode lse", L, Ld);
            printf("%s   flash-decoding in %lld splits of %lld keys\n", badSplit ? "FAIL" : "ok  ", splits, splitLength);
            bad += badSplit;
        }
    }
    return bad;
}
// Paged decode attention: each sequence's keys scattered over shuffled blocks of a shared pool
// (two sequences share their first blocks, as a prompt's samples do), against the naive
// reference over the same keys laid out contiguously.
int runPaged(ll Hq, ll Hkv, ll D, ll bs, std::vector<ll> lens, bool bf16 = false) {
    std::mt19937 g(7);
    ll B = lens.size(), tableStride = 0, blocks = 0;
    for (ll n : lens) { tableStride = std::max(tableStride, (n + bs - 1) / bs); blocks += (n + bs - 1) / bs; }
    std::vector<float> q(B * Hq * D), kp(blocks * bs * Hkv * D), vp(kp.size());
    for (auto* a : {&q, &kp, &vp}) for (auto& x : *a) x = frand(g);
    if (bf16) for (auto* a : {&q, &kp, &vp}) roundToBF16(*a);
    std::vector<int> order(blocks), tables(B * tableStride, 0), lengths(lens.begin(), lens.end());
    for (ll i = 0; i < blocks; ++i) order[i] = (int)i;
    std::shuffle(order.begin(), order.end(), g);
    ll next = 0;
    for (ll b = 0; b < B; ++b) for (ll t = 0; t < (lens[b] + bs - 1) / bs; ++t)
        tables[b * tableStride + t] = (b == 1 && t < (lens[0] - 1) / bs) ? tables[t] : order[next++];
    float scale = 1.0f / std::sqrt((float)D);
    ll group = Hq / Hkv;
    std::vector<float> O(q.size(), 0);
    auto at = [&](std::vector<float>& pool, ll b, ll j, ll gg) { return &pool[(((ll)tables[b * tableStride + j / bs] * bs + j % bs) * Hkv + gg) * D]; };
    for (ll b = 0; b < B; ++b) for (ll h = 0; h < Hq; ++h) {
        ll gg = h / group, n = lens[b];
        const float* qi = &q[(b * Hq + h) * D];
        std::vector<double> s(n);
        double m = -INFINITY, sum = 0;
        for (ll j = 0; j < n; ++j) { double d = 0; for (ll t = 0; t < D; ++t) d += qi[t] * at(kp, b, j, gg)[t]; s[j] = d * scale; m = std::max(m, s[j]); }
        for (ll j = 0; j < n; ++j) { s[j] = std::exp(s[j] - m); sum += s[j]; }
        for (ll j = 0; j < n; ++j) for (ll t = 0; t < D; ++t) O[(b * Hq + h) * D + t] += s[j] / sum * at(vp, b, j, gg)[t];
    }
    ll W = 4, T = 32;
    std::vector<float> Og(q.size(), NAN);
    RLPagedAttention a{B, Hq, Hkv, D, bs, tableStride, scale, bf16 ? 1 : 0};
    size_t sh = (2 * T * (D + 1) + W * D) * 4;
    std::vector<u16> qh = bf(q), kh = bf(kp), vh = bf(vp), Oh(q.size());
    emu_launch(dim3{(unsigned)((group + W - 1) / W), (unsigned)Hkv, (unsigned)B}, 32 * W, sh, [&] {
        if (bf16) rl_paged_attention_decode(a, qh.data(), kh.data(), vh.data(), tables.data(), lengths.data(), Oh.data());
        else rl_paged_attention_decode(a, q.data(), kp.data(), vp.data(), tables.data(), lengths.data(), Og.data()); });
    if (bf16) widen(Oh, Og);
    const double rtol = bf16 ? 1.0 / 256 : 1e-4;
    int bad = 0; double worst = 0;
    for (size_t i = 0; i < O.size(); ++i) {
        double err = std::fabs((double)Og[i] - O[i]);
        if (!(err <= 2e-5 + rtol * std::fabs(O[i]))) { bad++; worst = std::max(worst, err); }
    }
    printf("%s %spaged decode H%lld/%lld D%lld block %lld lengths", bad ? "FAIL" : "ok  ", bf16 ? "bf16 " : "", Hq, Hkv, D, bs);
    for (ll n : lens) printf(" %lld", n);
    if (bad) printf(" (%d bad, worst error %g)", bad, worst);
    printf("\n");
    return bad;
}

int main() {
    int bad = 0;
    for (Case c : std::vector<Case>{{1, 5, 5, 2, 1, 4, 0, false}, {2, 70, 70, 6, 2, 40, 0, true}, {2, 1, 40, 6, 2, 64, 39, true},
                                    {1, 8, 100, 4, 4, 96, 30, false}, {1, 37, 37, 2, 1, 128, 0, true}, {1, 3, 3, 1, 1, 256, 0, false},
                                    // decode shapes (forward and flash-decoding only)
                                    {1, 1, 300, 12, 2, 128, 299, false, true}, {3, 1, 129, 8, 8, 32, 128, true, true},
                                    {2, 1, 700, 4, 1, 64, 500, true, true}, {1, 1, 1000, 2, 1, 256, 999, false, true}})
        bad += run(c);
    bad += runPaged(6, 2, 64, 16, {40, 45, 0, 1}) + runPaged(2, 1, 128, 32, {33, 64, 200}) + runPaged(8, 8, 32, 5, {17, 23})
         + runPaged(4, 1, 256, 16, {300, 310});
    // bf16 activations and KV cache: a prefill forward and the decode paths.
    for (Case c : std::vector<Case>{{2, 70, 70, 6, 2, 40, 0, true}, {1, 1, 300, 12, 2, 128, 299, false, true}, {2, 1, 700, 4, 1, 64, 500, true, true}})
        bad += run(c, true);
    bad += runPaged(6, 2, 64, 16, {40, 45, 0, 1}, true) + runPaged(4, 1, 256, 16, {300, 310}, true);
    return bad ? 1 : 0;
}
