#include "kernels.h"
#include <cstdio>
#include <random>
typedef long long ll;
static std::mt19937 g(7);
static std::vector<float> rnd(size_t n, float s = 1) { std::vector<float> v(n); for (auto& x : v) x = std::uniform_real_distribution<float>(-s, s)(g); return v; }
static int bad_total = 0;
static void cmp(const char* name, const std::vector<float>& ref, const std::vector<float>& got, double eps = 1e-5, double atol = 1e-5) {
    int bad = 0; ll wi = -1; double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) { double e = ref[i], x = got[i]; if ((std::isinf(e) && x == e) || (std::isnan(e) && std::isnan(x))) continue; double err = std::fabs(x - e);
        if (!(err <= atol + eps * std::fabs(e))) { bad++; if (!(err <= worst)) { worst = err; wi = i; } } }
    printf("%s %s", bad ? "FAIL" : "ok  ", name); if (bad) printf(": %d bad, [%lld] got %g ref %g", bad, wi, got[wi], ref[wi]); printf("\n");
    bad_total += bad;
}
static int gridFor(ll n) { return (int)std::max<ll>(1, std::min<ll>((n + 255) / 256, 8)); }
// bf16 activations (dtype code 1): inputs rounded to bf16, the kernels computing in f32 and
// rounding their bf16 outputs once, against double references on the same bf16 inputs; the
// tolerance is one bf16 rounding (2^-9 relative) with room for the f32 arithmetic.
static std::vector<u16> bf(const std::vector<float>& v) { std::vector<u16> r(v.size()); for (size_t i = 0; i < v.size(); ++i) r[i] = rl_f32_to_bf16(v[i]); return r; }
static std::vector<float> fl(const std::vector<u16>& v) { std::vector<float> r(v.size()); for (size_t i = 0; i < v.size(); ++i) r[i] = rl_bf16_to_f32(v[i]); return r; }
static std::vector<float> rndbf(size_t n, float s = 1) { return fl(bf(rnd(n, s))); }
static void cmpbf(const char* name, const std::vector<float>& ref, const std::vector<u16>& got) { cmp(name, ref, fl(got), 1.0 / 256, 1e-6); }
static void bf16Checks() {
    { ll R = 70, C = 96; float eps = 1e-6f; auto x = rndbf(R*C, 3), w = rnd(C); std::vector<u16> y(R*C); std::vector<float> rs(R), ry(R*C), rrs(R);
      for (ll r = 0; r < R; ++r) { double ss = 0; for (ll j = 0; j < C; ++j) ss += (double)x[r*C+j]*x[r*C+j]; double inv = 1/std::sqrt(ss/C + eps); rrs[r] = inv;
          for (ll j = 0; j < C; ++j) ry[r*C+j] = x[r*C+j]*inv*w[j]; }
      auto xb = bf(x);
      emu_launch(dim3{(unsigned)R,1,1}, 128, 0, [&]{ rl_rmsnorm(xb.data(), w.data(), y.data(), rs.data(), C, eps, 1); });
      cmpbf("bf16 rmsnorm", ry, y); cmp("bf16 rmsnorm rstd", rrs, rs); }
    { ll Tk = 3, H = 2, D = 8; float theta = 10000; auto x = rndbf(Tk*H*D); std::vector<int> pos = {0, 7, 1000}; std::vector<u16> y(x.size()); std::vector<float> ry(x.size());
      auto xb = bf(x);
      for (int inv = 0; inv < 2; ++inv) {
        for (ll t = 0; t < Tk; ++t) for (ll h = 0; h < H; ++h) for (ll i = 0; i < D/2; ++i) { double an = pos[t]*std::pow((double)theta, -2.0*i/D), c = std::cos(an), sn = inv ? -std::sin(an) : std::sin(an);
            double a = x[(t*H+h)*D+i], b = x[(t*H+h)*D+i+D/2]; ry[(t*H+h)*D+i] = a*c - b*sn; ry[(t*H+h)*D+i+D/2] = b*c + a*sn; }
        emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_rope(xb.data(), pos.data(), y.data(), Tk, H, D, theta, inv, 1); });
        cmpbf(inv ? "bf16 rope inverse" : "bf16 rope", ry, y); } }
    { ll n = 1000; auto gate = rndbf(n, 6), up = rndbf(n, 2); std::vector<float> ry(n); std::vector<u16> y(n);
      for (ll i = 0; i < n; ++i) { double g0 = gate[i]; ry[i] = g0 / (1 + std::exp(-g0)) * up[i]; }
      auto gb = bf(gate), ub = bf(up);
      emu_launch(dim3{(unsigned)gridFor(n),1,1}, 256, 0, [&]{ rl_swiglu(gb.data(), ub.data(), y.data(), n, 1); });
      cmpbf("bf16 swiglu", ry, y);
      std::vector<float> sum(n), rsum(n); for (ll i = 0; i < n; ++i) rsum[i] = (double)gate[i] + up[i];
      std::vector<u16> sb(n); emu_launch(dim3{(unsigned)gridFor(n),1,1}, 256, 0, [&]{ rl_binary_contiguous(0, gb.data(), ub.data(), sb.data(), n, 1); });
      cmpbf("bf16 binary add (residual)", rsum, sb);
      RLStrides bs{}; bs.ndim = 2; bs.shape[0] = 10; bs.shape[1] = 100; bs.stride[0][0] = 100; bs.stride[0][1] = 1; bs.stride[1][0] = 0; bs.stride[1][1] = 1;
      for (ll i = 0; i < n; ++i) rsum[i] = (double)gate[i] * up[i % 100];
      emu_launch(dim3{(unsigned)gridFor(n),1,1}, 256, 0, [&]{ rl_binary(2, gb.data(), ub.data(), sb.data(), bs, n, 1); });
      cmpbf("bf16 binary mul broadcast", rsum, sb); }
    { ll V = 9, D = 5, Nn = 4; auto tab = rnd(V*D); std::vector<int> ids = {3, 0, 8, 3}; std::vector<float> ry(Nn*D); std::vector<u16> y(Nn*D), yb(Nn*D);
      auto tb = bf(tab); auto rtb = fl(tb);
      for (ll i = 0; i < Nn; ++i) for (ll j = 0; j < D; ++j) ry[i*D+j] = rtb[ids[i]*D+j];
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_embedding(tab.data(), 0, ids.data(), y.data(), 1, Nn, D); });
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_embedding(tb.data(), 1, ids.data(), yb.data(), 1, Nn, D); });
      cmp("bf16 embedding (f32 table)", ry, fl(y), 0, 0); cmp("bf16 embedding (bf16 table)", ry, fl(yb), 0, 0);
      std::vector<int> rows = {6, 1, 8}; std::vector<u16> sc(V*D, rl_f32_to_bf16(0.25f)); std::vector<float> rsc(V*D, 0.25f);
      for (ll i = 0; i < 3; ++i) for (ll j = 0; j < D; ++j) rsc[rows[i]*D+j] = fl(y)[i*D+j];
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_scatter_rows(y.data(), rows.data(), sc.data(), 3, D, 1); });
      cmp("bf16 scatter rows (KV cache slots)", rsc, fl(sc), 0, 0); }
    for (ll K : {64LL, 37LL}) { ll M = 5, N = 50; auto x = rndbf(M*K); auto wr = rndbf(N*K, 0.1f); auto w = bf(wr);
      auto y0 = rndbf(M*N); std::vector<float> ry(M*N); float alpha = 0.7f, beta = 0.3f;
      for (ll i = 0; i < M; ++i) for (ll j = 0; j < N; ++j) { double s = 0; for (ll t = 0; t < K; ++t) s += (double)x[i*K+t]*wr[j*K+t]; ry[i*N+j] = alpha*s + beta*y0[i*N+j]; }
      auto xb = bf(x); auto y = bf(y0);
      emu_launch(dim3{(unsigned)((N+7)/8),1,1}, 256, 0, [&]{ rl_gemv_bf16(xb.data(), 1, K, M, w.data(), K, N, K, y.data(), 1, N, alpha, beta); });
      cmpbf(K == 64 ? "bf16 gemv bf16 (vector)" : "bf16 gemv bf16 (scalar)", ry, y); }
}
int main() {
    // softmax + backward, log and not
    for (int log = 0; log < 2; ++log) {
        ll R = 3, C = 300; auto x = rnd(R * C, 8), dy = rnd(R * C);
        std::vector<float> y(R * C), dx(R * C), ry(R * C), rdx(R * C);
        for (ll r = 0; r < R; ++r) { double m = -INFINITY; for (ll j = 0; j < C; ++j) m = std::max(m, (double)x[r*C+j]); double s = 0; for (ll j = 0; j < C; ++j) s += std::exp(x[r*C+j]-m);
            for (ll j = 0; j < C; ++j) ry[r*C+j] = log ? x[r*C+j] - (m + std::log(s)) : std::exp(x[r*C+j]-m)/s;
            double t = 0; for (ll j = 0; j < C; ++j) t += log ? dy[r*C+j] : dy[r*C+j]*ry[r*C+j];
            for (ll j = 0; j < C; ++j) rdx[r*C+j] = log ? dy[r*C+j] - std::exp(ry[r*C+j]) * t : ry[r*C+j]*(dy[r*C+j]-t); }
        emu_launch(dim3{(unsigned)R,1,1}, 256, 0, [&]{ rl_softmax(x.data(), y.data(), C, log); });
        emu_launch(dim3{(unsigned)R,1,1}, 256, 0, [&]{ rl_softmax_backward(y.data(), dy.data(), dx.data(), C, log); });
        cmp(log ? "log_softmax" : "softmax", ry, y, 1e-5, 1e-6); cmp(log ? "log_softmax bwd" : "softmax bwd", rdx, dx, 1e-4, 1e-6);
    }
    // token logprobs + backward
    { ll R = 4, C = 1000; float T = 0.7f, s = 1 / T; auto x = rnd(R * C, 10); std::vector<int> t = {5, 999, 0, 123}; auto gl = rnd(R);
      std::vector<float> lp(R), lse(R), d(R * C), rlp(R), rlse(R), rd(R * C);
      for (ll r = 0; r < R; ++r) { double m = -INFINITY; for (ll j = 0; j < C; ++j) m = std::max(m, (double)x[r*C+j]*s); double sum = 0; for (ll j = 0; j < C; ++j) sum += std::exp(x[r*C+j]*s - m);
          rlse[r] = m + std::log(sum); rlp[r] = x[r*C+t[r]]*s - rlse[r]; for (ll j = 0; j < C; ++j) rd[r*C+j] = -gl[r]*s*std::exp(x[r*C+j]*s - rlse[r]); rd[r*C+t[r]] += gl[r]*s; }
      emu_launch(dim3{(unsigned)R,1,1}, 256, 0, [&]{ rl_token_logprobs(x.data(), t.data(), lp.data(), lse.data(), C, s); });
      emu_launch(dim3{(unsigned)R,1,1}, 256, 0, [&]{ rl_token_logprobs_backward(x.data(), t.data(), lse.data(), gl.data(), d.data(), C, s); });
      cmp("token logprobs", rlp, lp); cmp("token lse", rlse, lse); cmp("token logprobs bwd", rd, d, 1e-4, 1e-7);
      // entropy of softmax(x * s) from the saved logsumexp
      std::vector<float> h(R), rh(R);
      for (ll r = 0; r < R; ++r) { double e = 0; for (ll j = 0; j < C; ++j) { double p = std::exp(x[r*C+j]*s - rlse[r]); e -= p * (x[r*C+j]*s - rlse[r]); } rh[r] = e; }
      emu_launch(dim3{(unsigned)R,1,1}, 256, 0, [&]{ rl_row_entropy(x.data(), lse.data(), h.data(), C, s); });
      cmp("row entropy", rh, h, 1e-4, 1e-5); }
    // rmsnorm + backward
    { ll R = 70, C = 96; float eps = 1e-6f; auto x = rnd(R*C, 3), w = rnd(C), dy = rnd(R*C);
      std::vector<float> y(R*C), rs(R), dx(R*C), dw(C, 1.0f), ry(R*C), rrs(R), rdx(R*C), rdw(C, 1.0f);
      for (ll r = 0; r < R; ++r) { double ss = 0; for (ll j = 0; j < C; ++j) ss += x[r*C+j]*x[r*C+j]; double inv = 1/std::sqrt(ss/C + eps); rrs[r] = inv;
          for (ll j = 0; j < C; ++j) ry[r*C+j] = x[r*C+j]*inv*w[j]; double dot = 0; for (ll j = 0; j < C; ++j) { dot += dy[r*C+j]*w[j]*x[r*C+j]; rdw[j] += dy[r*C+j]*x[r*C+j]*inv; }
          double cc = dot*inv*inv*inv/C; for (ll j = 0; j < C; ++j) rdx[r*C+j] = dy[r*C+j]*w[j]*inv - x[r*C+j]*cc; }
      emu_launch(dim3{(unsigned)R,1,1}, 128, 0, [&]{ rl_rmsnorm(x.data(), w.data(), y.data(), rs.data(), C, eps, 0); });
      emu_launch(dim3{(unsigned)R,1,1}, 128, 0, [&]{ rl_rmsnorm_backward_input(dy.data(), x.data(), w.data(), rs.data(), dx.data(), C); });
      emu_launch(dim3{(unsigned)((C+255)/256),(unsigned)((R+63)/64),1}, 256, 0, [&]{ rl_rmsnorm_backward_weight(dy.data(), x.data(), rs.data(), dw.data(), R, C, 64); });
      cmp("rmsnorm", ry, y); cmp("rmsnorm rstd", rrs, rs); cmp("rmsnorm dx", rdx, dx, 1e-4, 1e-5); cmp("rmsnorm dw", rdw, dw, 1e-4, 1e-4); }
    // reductions
    for (int op = 0; op < 3; ++op) {
        ll O = 3, A = 500, I = 1; auto x = rnd(O*A); std::vector<float> y(O), ry(O);
        for (ll o = 0; o < O; ++o) { double acc = op == 0 ? 0 : x[o*A]; for (ll a = op == 0 ? 0 : 1; a < A; ++a) { double v = x[o*A+a]; acc = op == 0 ? acc + v : op == 1 ? std::max(acc, v) : std::min(acc, v); } ry[o] = acc; }
        emu_launch(dim3{(unsigned)O,1,1}, 128, 0, [&]{ rl_reduce_rows(op, x.data(), y.data(), A); });
        cmp(op == 0 ? "reduce rows sum" : op == 1 ? "reduce rows max" : "reduce rows min", ry, y, 1e-5, 1e-4);
        ll O2 = 2, A2 = 7, I2 = 33; auto x2 = rnd(O2*A2*I2); std::vector<float> y2(O2*I2), ry2(O2*I2);
        for (ll o = 0; o < O2; ++o) for (ll i = 0; i < I2; ++i) { double acc = x2[o*A2*I2+i]; for (ll a = 1; a < A2; ++a) { double v = x2[(o*A2+a)*I2+i]; acc = op == 0 ? acc + v : op == 1 ? std::max(acc, v) : std::min(acc, v); } ry2[o*I2+i] = acc; }
        emu_launch(dim3{(unsigned)gridFor(O2*I2),1,1}, 256, 0, [&]{ rl_reduce_columns(op, x2.data(), y2.data(), O2, A2, I2); });
        cmp("reduce columns", ry2, y2, 1e-5, 1e-5); (void)I;
    }
    { auto x = rnd(3000); double r = 0; for (float v : x) r += (double)v*v; double out = 0;
      emu_launch(dim3{(unsigned)gridFor(3000),1,1}, 256, 0, [&]{ rl_sum_squares(x.data(), 3000, &out); });
      cmp("sum of squares", {(float)r}, {(float)out}, 1e-7, 0); }
    // gemv bf16: vector path (k % 8 == 0) and scalar path
    for (ll K : {64LL, 37LL}) { ll M = 6, N = 50; auto x = rnd(M*K); auto wf = rnd(N*K, 0.1f); std::vector<u16> w(N*K); std::vector<float> wr(N*K);
      for (ll i = 0; i < N*K; ++i) { u32 b; memcpy(&b, &wf[i], 4); u32 lsb = (b>>16)&1; w[i] = (u16)((b + 0x7FFF + lsb) >> 16); wr[i] = __uint_as_float(((u32)w[i]) << 16); }
      auto y = rnd(M*N); auto ry = y; float alpha = 0.7f, beta = 0.3f;
      for (ll i = 0; i < M; ++i) for (ll j = 0; j < N; ++j) { double s = 0; for (ll t = 0; t < K; ++t) s += x[i*K+t]*wr[j*K+t]; ry[i*N+j] = alpha*s + beta*ry[i*N+j]; }
      // the emulator has no 16-byte alignment guarantee for vectors; std::vector of u16 is 16-aligned in practice
      emu_launch(dim3{(unsigned)((N+7)/8),1,1}, 256, 0, [&]{ rl_gemv_bf16(x.data(), 0, K, M, w.data(), K, N, K, y.data(), 0, N, alpha, beta); });
      cmp(K == 64 ? "gemv bf16 (vector)" : "gemv bf16 (scalar)", ry, y, 1e-5, 1e-6); }
    // rope
    { ll Tk = 3, H = 2, D = 8; float theta = 10000; auto x = rnd(Tk*H*D); std::vector<int> pos = {0, 7, 1000}; std::vector<float> y(x.size()), ry(x.size());
      for (int inv = 0; inv < 2; ++inv) {
        for (ll t = 0; t < Tk; ++t) for (ll h = 0; h < H; ++h) for (ll i = 0; i < D/2; ++i) { double f = std::pow((double)theta, -2.0*i/D), an = pos[t]*f; float c = (float)std::cos(an), s = (float)std::sin(an); if (inv) s = -s;
            float a = x[(t*H+h)*D+i], b = x[(t*H+h)*D+i+D/2]; ry[(t*H+h)*D+i] = a*c - b*s; ry[(t*H+h)*D+i+D/2] = b*c + a*s; }
        emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_rope(x.data(), pos.data(), y.data(), Tk, H, D, theta, inv, 0); });
        cmp(inv ? "rope inverse" : "rope", ry, y, 1e-6, 1e-6); } }
    // embedding, gather, strided copy, select, binary, cast, random
    { ll V = 9, D = 5, Nn = 4; auto tab = rnd(V*D); std::vector<int> ids = {3, 0, 8, 3}; std::vector<float> y(Nn*D), ry(Nn*D), gt(V*D, 0.5f), rgt(V*D, 0.5f); auto dy = rnd(Nn*D);
      for (ll i = 0; i < Nn; ++i) for (ll j = 0; j < D; ++j) { ry[i*D+j] = tab[ids[i]*D+j]; rgt[ids[i]*D+j] += dy[i*D+j]; }
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_embedding(tab.data(), 0, ids.data(), y.data(), 0, Nn, D); });
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_embedding_backward(dy.data(), ids.data(), gt.data(), Nn, D); });
      cmp("embedding", ry, y, 0, 0); cmp("embedding bwd", rgt, gt, 1e-6, 1e-6);
      std::vector<int> rows = {6, 1, 8}; std::vector<float> sc(V*D, 0.25f), rsc(V*D, 0.25f);
      for (ll i = 0; i < 3; ++i) for (ll j = 0; j < D; ++j) rsc[rows[i]*D+j] = dy[i*D+j];
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_scatter_rows(dy.data(), rows.data(), sc.data(), 3, D, 0); });
      cmp("scatter rows", rsc, sc, 0, 0); }
    { RLStrides s{}; s.ndim = 2; s.shape[0] = 3; s.shape[1] = 4; s.stride[0][0] = 1; s.stride[0][1] = 3; s.stride[1][0] = 4; s.stride[1][1] = 1;
      auto src = rnd(12); std::vector<float> dst(12), rd(12); for (ll i = 0; i < 3; ++i) for (ll j = 0; j < 4; ++j) rd[i*4+j] = src[i + j*3];
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_copy_b32((const u32*)src.data(), (u32*)dst.data(), s, 12); });
      cmp("strided copy", rd, dst, 0, 0);
      RLStrides bs{}; bs.ndim = 2; bs.shape[0] = 3; bs.shape[1] = 4; bs.stride[0][0] = 4; bs.stride[0][1] = 1; bs.stride[1][0] = 0; bs.stride[1][1] = 1;
      auto a = rnd(12), b = rnd(4); std::vector<float> o(12), ro(12); for (ll i = 0; i < 12; ++i) ro[i] = a[i] - b[i % 4];
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_binary(1, a.data(), b.data(), o.data(), bs, 12, 0); });
      cmp("binary broadcast", ro, o, 0, 0); }
    { std::vector<float> src = {1.5f, -2.5f, NAN, INFINITY, 3e9f, -3e9f, 0.1f}; std::vector<int> di(7); std::vector<int> rdi = {1, -2, 0, 0, 2147483647, (int)-2147483648LL, 0};
      emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_cast(src.data(), 0, di.data(), 3, 7); });
      std::vector<float> a(di.begin(), di.end()), b(rdi.begin(), rdi.end()); cmp("cast f32->i32", b, a, 0, 0);
      std::vector<u16> h(7); emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_cast(src.data(), 0, h.data(), 1, 7); });
      std::vector<float> back(7); emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_cast(h.data(), 1, back.data(), 0, 7); });
      std::vector<float> rb(7); for (int i = 0; i < 7; ++i) { u32 bb; memcpy(&bb, &src[i], 4); u16 hb = src[i] != src[i] ? (u16)((bb >> 16) | 0x40) : (u16)((bb + 0x7FFF + ((bb >> 16) & 1)) >> 16); rb[i] = __uint_as_float(((u32)hb) << 16); } cmp("cast f32->bf16->f32", rb, back, 0, 0); }
    { std::vector<unsigned> words(8); emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_philox_words(words.data(), 2, 42, 7); });
      // Expected values from RLTensor's Philox (Swift, CPU backend); CUDAHostTests pins the same.
      bool philoxOK = words[0] == 0x5bbd83b1u && words[1] == 0x68784c85u && words[2] == 0x172067aau && words[3] == 0x2e6b75b7u && words[4] == 0x8c4a529cu;
      printf("%s philox words (counter 7, key 42)\n", philoxOK ? "ok  " : "FAIL"); bad_total += !philoxOK;
      std::vector<float> u(3); emu_launch(dim3{1,1,1}, 256, 0, [&]{ rl_random_fill(u.data(), 3, 0, -0.5f, 2.0f, 42, 7); });
      bool uniformOK = __float_as_uint(u[0]) == 0x3ecab390u && __float_as_uint(u[1]) == 0x3f5eb9ccu && __float_as_uint(u[2]) == 0x3e29d790u;
      printf("%s uniform stream bit-exact with the CPU (seed 42, offset 7)\n", uniformOK ? "ok  " : "FAIL"); bad_total += !uniformOK; }
    bf16Checks();
    printf(bad_total ? "SOME FAILED\n" : "all ok\n");
    return bad_total ? 1 : 0;
}
