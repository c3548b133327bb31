// Minimal CPU emulation of the CUDA features RLTensor's kernels use (for logic checks only).
#pragma once
#include <cmath>
#include <cstring>
#include <cstdint>
#include <thread>
#include <vector>
#include <barrier>
#include <mutex>
#include <functional>
#include <memory>
#include <algorithm>
struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct uint4 { unsigned x, y, z, w; };
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* emu_block_barrier = nullptr;
inline std::vector<std::unique_ptr<std::barrier<>>> emu_warp_barriers;
inline double emu_slots[1024];
inline float* emu_dynamic_smem = nullptr;
inline std::mutex emu_atomic_mutex;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }
template <class T> T emu_shfl(T v, int src_lane) {
    int t = threadIdx.x, warp = t / 32, lane = t % 32;
    auto& bar = *emu_warp_barriers[warp];
    emu_slots[t] = (double)v;
    bar.arrive_and_wait();
    T r = (T)emu_slots[warp * 32 + (src_lane & 31)];
    bar.arrive_and_wait();
    (void)lane;
    return r;
}
template <class T> T __shfl_xor_sync(unsigned, T v, int o) { return emu_shfl(v, (threadIdx.x % 32) ^ o); }
template <class T> T __shfl_sync(unsigned, T v, int src) { return emu_shfl(v, src); }
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline int atomicAdd(int* p, int v) { std::lock_guard<std::mutex> g(emu_atomic_mutex); int o = *p; *p = o + v; return o; }
inline float atomicAdd(float* p, float v) { std::lock_guard<std::mutex> g(emu_atomic_mutex); float o = *p; *p = o + v; return o; }
inline double atomicAdd(double* p, double v) { std::lock_guard<std::mutex> g(emu_atomic_mutex); double o = *p; *p = o + v; return o; }

template <class F> void emu_launch(dim3 grid, int threads, size_t shared, F kernel) {
    gridDim = grid; blockDim = dim3{(unsigned)threads, 1, 1};
    std::vector<float> smem(shared / 4 + 1);
    emu_dynamic_smem = smem.data();
    for (unsigned bz = 0; bz < grid.z; ++bz) for (unsigned by = 0; by < grid.y; ++by) for (unsigned bx = 0; bx < grid.x; ++bx) {
        std::barrier<> block(threads);
        emu_block_barrier = &block;
        emu_warp_barriers.clear();
        for (int w = 0; w < (threads + 31) / 32; ++w) emu_warp_barriers.emplace_back(std::make_unique<std::barrier<>>(std::min(32, threads - 32 * w)));
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { threadIdx = dim3{(unsigned)t, 0, 0}; blockIdx = dim3{bx, by, bz}; kernel(); });
        for (auto& th : ts) th.join();
    }
}
