// rl_sample_tokens (sampling.cu) against the CPU sampler: the real CRLKernels C code
// (sampling.c's ranking and draw, elementwise.c's max and exponentials, built like a release
// build) driven the way TokenSampler.pick drives it. Token ids must be equal and log-probs
// bit-identical, over random rows with ties, tiny vocabularies and many parameter sets.
#include "kernels.h"
#include <cstdio>
#include <random>
#include <set>
extern "C" {
#include "rl_sampling.h"
float rl_max_f32(const float *x, long n);
double rl_exp_shifted_f32(const float *x, long n, float shift, float scale, float *y);
int rl_has_avx2(void);
}
typedef long long ll;

struct Params { float temperature, topP; ll topK; float minP, penalty; };

// TokenSampler.pick (RLModel/Generation/TokenSampler.swift) over the C functions it calls.
static std::pair<int, float> cpuPick(const float *raw, ll V, const std::vector<int> &history, Params P, u64 seed, u64 step) {
    float maxValue = rl_max_f32(raw, V);
    float logNormaliser = maxValue + (float)std::log(rl_exp_shifted_f32(raw, V, maxValue, 1, nullptr));
    std::vector<float> logits(raw, raw + V);
    if (P.penalty != 1) {
        for (int t : std::set<int>(history.begin(), history.end())) {
            if (t >= V) continue;
            float v = logits[t];
            logits[t] = v > 0 ? v / P.penalty : v * P.penalty;
        }
    }
    ll chosen = 0;
    if (P.temperature <= 0) {
        for (ll i = 1; i < V; ++i) if (logits[i] > logits[chosen]) chosen = i;
    } else {
        float top = rl_max_f32(logits.data(), V);
        std::vector<float> p(V);
        double total = rl_exp_shifted_f32(logits.data(), V, top, 1 / P.temperature, p.data());
        u32 w[4];
        rl_philox(step, seed, w);
        double u = ((double)w[0] * 4294967296.0 + (double)w[1]) / 18446744073709551616.0;
        float floor = std::max(P.minP, 0.0f);
        rl_rank_cutoff kept = {-1, INT64_MAX}, cutoff = kept;
        double keptTotal = total, mass = 0, keptMass = -1;
        int leavesOut = 0;
        if (P.topK > 0) {
            rl_rank_prefix(p.data(), V, floor, kept, P.topK, 0, &cutoff, &mass, &leavesOut);
            if (leavesOut) { kept = cutoff; keptTotal = mass; }
            keptMass = mass;
        }
        if (P.topP < 1) {
            rl_rank_prefix(p.data(), V, floor, kept, 0, (double)P.topP * keptTotal, &cutoff, &mass, &leavesOut);
            kept = cutoff;
            keptMass = mass;
        }
        if (keptMass < 0) keptMass = rl_rank_mass(p.data(), V, floor, kept);
        chosen = rl_rank_draw(p.data(), V, floor, kept, u * keptMass);
    }
    return {(int)chosen, raw[chosen] - logNormaliser};
}

static int bad_total = 0, checked = 0;

// Samples `rows` rows of `V` logits with parameters P on `threads` threads per block, row r with
// seeds[r], and checks the kernel's picks against the CPU's; returns the CPU's.
static std::vector<std::pair<int, float>> check(const char *name, const std::vector<float> &logits, ll rows, ll V, Params P,
                                                const std::vector<std::vector<int>> &histories, int threads, u64 step,
                                                const std::vector<u64> &seeds) {
    std::vector<int> flat, offsets = {0};
    for (auto &h : histories) { flat.insert(flat.end(), h.begin(), h.end()); offsets.push_back((int)flat.size()); }
    bool penalised = P.penalty != 1;
    std::vector<float> work(rows * V, NAN), logProbs(rows, NAN);
    std::vector<int> tokens(rows, -1);
    emu_launch(dim3{(unsigned)rows, 1, 1}, threads, 0, [&] {
        rl_sample_tokens(logits.data(), work.data(), V, penalised ? flat.data() : nullptr, penalised ? offsets.data() : nullptr,
                         P.penalty, seeds.data(), step, P.temperature <= 0 ? 1 : 0, P.temperature <= 0 ? 1.0f : 1 / P.temperature,
                         P.topK, P.topP, std::max(P.minP, 0.0f), tokens.data(), logProbs.data());
    });
    int bad = 0;
    std::vector<std::pair<int, float>> picks;
    for (ll r = 0; r < rows; ++r) {
        auto [token, logProb] = cpuPick(&logits[r * V], V, histories[r], P, seeds[r], step);
        picks.push_back({token, logProb});
        checked++;
        if (token != tokens[r] || __float_as_uint(logProb) != __float_as_uint(logProbs[r])) {
            if (bad++ < 3) printf("  row %lld: gpu %d (%.9g) cpu %d (%.9g)\n", r, tokens[r], logProbs[r], token, logProb);
        }
    }
    printf("%s %s: V%lld rows %lld T %g top-k %lld top-p %g min-p %g penalty %g, %d threads\n", bad ? "FAIL" : "ok  ", name, V, rows,
           P.temperature, P.topK, P.topP, P.minP, P.penalty, threads);
    bad_total += bad;
    return picks;
}

static std::vector<u64> seedsFor(ll rows, u64 salt) {
    std::vector<u64> seeds(rows);
    for (ll r = 0; r < rows; ++r) seeds[r] = 0x9E3779B97F4A7C15ull * (u64)(r + 1) ^ salt;
    return seeds;
}

// The rows, parameters and picks TokenSamplerTensorTests.pinnedPicks (Tests/RLModelTests) shares,
// so the reference above is the Swift sampler's: three rows of 3000 logits on a 1/128 grid,
// seeds 0x9E3779B97F4A7C15 * (r + 1), step 5, histories {r, r, 17, 2999, 3001}.
static void checkPinned() {
    ll rows = 3, V = 3000;
    std::vector<float> logits(rows * V);
    for (ll r = 0; r < rows; ++r)
        for (ll i = 0; i < V; ++i) logits[r * V + i] = (float)(((u32)i * 2654435761u + (u32)r * 2246822519u) >> 21) / 128.0f - 8.0f;
    std::vector<std::vector<int>> histories;
    for (int r = 0; r < rows; ++r) histories.push_back({r, r, 17, 2999, 3001});
    std::vector<Params> params = {{0, 1, 0, 0, 1}, {0, 1, 0, 0, 1.3f}, {1, 0.9f, 0, 0, 1}, {0.7f, 0.95f, 40, 0.02f, 1.2f},
                                  {1.3f, 1, 3, 0, 1}, {1, 1, 1, 0, 1}, {1, 1, 0, 0.5f, 0.8f}};
    const std::pair<int, float> pinned[] = {
        {987, -5.23752213f}, {1080, -5.2357378f}, {2160, -5.23555946f}, {987, -5.23752213f}, {1080, -5.2357378f}, {2160, -5.23555946f}, {2160, -5.97970963f}, {2177, -5.5013628f}, {2731, -6.87618446f}, {2173, -5.42502213f}, {2122, -5.3685503f}, {2681, -5.30587196f}, {2584, -5.23752213f}, {2067, -5.2435503f}, {2160, -5.23555946f}, {987, -5.23752213f}, {1080, -5.2357378f}, {2160, -5.23555946f}, {2173, -5.42502213f}, {2177, -5.5013628f}, {2736, -5.43868446f}};
    std::vector<std::pair<int, float>> all;
    for (auto &P : params) {
        auto picks = check("pinned", logits, rows, V, P, histories, 128, 5, seedsFor(rows, 0));
        all.insert(all.end(), picks.begin(), picks.end());
    }
    int bad = 0;
    for (size_t k = 0; k < all.size(); ++k) bad += k >= sizeof pinned / sizeof pinned[0] || all[k].first != pinned[k].first || all[k].second != pinned[k].second;
    printf("%s the CPU reference makes the picks TokenSamplerTensorTests pins:", bad ? "FAIL" : "ok  ");
    for (auto &[t, l] : all) printf(" {%d, %.9gf},", t, l);
    printf("\n");
    bad_total += bad;
}

int main() {
    if (!rl_has_avx2()) { printf("FAIL the CPU sampler reference needs a CPU with AVX2 and FMA (the kernel matches that build)\n"); return 1; }
    std::mt19937 g(11);
    std::normal_distribution<float> normal(0, 1);
    // Rows: Gaussian logits (scale 3), logits on a coarse grid (many exact ties), one dominant
    // token, and -inf entries (masked tokens).
    auto rowsOf = [&](ll rows, ll V, int kind) {
        std::vector<float> x(rows * V);
        for (ll i = 0; i < rows * V; ++i) {
            float v = normal(g) * 3;
            x[i] = kind == 1 ? std::round(v) : kind == 2 && i % V == 3 ? 40.0f : kind == 3 && i % 5 == 1 ? -INFINITY : v;
        }
        return x;
    };
    auto historiesOf = [&](ll rows, ll V) {
        std::vector<std::vector<int>> h(rows);
        for (ll r = 0; r < rows; ++r) for (int j = 0; j < 12; ++j) h[r].push_back((int)(g() % (V + 2)));  // repeats, and ids past the vocabulary
        if (rows > 0) h[0].clear();
        return h;
    };
    std::vector<Params> params = {
        {0, 1, 0, 0, 1}, {0, 1, 0, 0, 1.3f}, {1, 1, 0, 0, 1}, {0.7f, 1, 0, 0, 1}, {1, 1, 1, 0, 1}, {1, 1, 5, 0, 1},
        {1, 0.9f, 0, 0, 1}, {0.8f, 0.5f, 0, 0, 1}, {1, 0, 0, 0, 1}, {1, 1, 0, 0.05f, 1}, {1, 0.95f, 40, 0.02f, 1},
        {1.3f, 0.9f, 20, 0.1f, 1.2f}, {0.6f, 0.7f, 3, 0, 0.8f}, {1, 0.99999f, 0, 0, 1}, {1, 1, 100000, 0, 1}, {2, 0.3f, 0, 0.5f, 1},
        {0.01f, 0.9f, 0, 0, 1}, {1, 0.5f, 5, 1.5f, 1},  // a near-greedy temperature; min-p above 1 keeps nothing (token 0)
    };
    checkPinned();
    u64 step = 0;
    for (ll V : {1LL, 2LL, 7LL, 300LL, 5000LL, 9001LL}) {
        for (int kind = 0; kind < 4; ++kind) {
            if (V < 7 && kind == 3) continue;
            ll rows = V >= 5000 ? 3 : 6;
            auto logits = rowsOf(rows, V, kind);
            auto histories = historiesOf(rows, V);
            const char *name = kind == 0 ? "gaussian" : kind == 1 ? "ties" : kind == 2 ? "dominant" : "masked";
            for (auto &P : params) check(name, logits, rows, V, P, histories, V >= 5000 ? 128 : 64, ++step, seedsFor(rows, (u64)V * 131));
        }
    }
    // The backend's launch shape (1024 threads) on a vocabulary-sized row.
    {
        ll V = 151936, rows = 2;
        auto logits = rowsOf(rows, V, 0);
        auto histories = historiesOf(rows, V);
        for (auto P : {Params{0, 1, 0, 0, 1.1f}, Params{1, 0.9f, 50, 0.01f, 1}, Params{0.7f, 0.95f, 0, 0, 1.05f}})
            check("vocabulary-sized", logits, rows, V, P, histories, 1024, ++step, seedsFor(rows, 1));
    }
    printf("%s: %d rows sampled, %d differ\n", bad_total ? "SOME FAILED" : "all ok", checked, bad_total);
    return bad_total ? 1 : 0;
}
