// Which instruction set the library's own kernels run with, decided once per process.
#include "kernel_support.h"

#ifdef RL_X86
int rl_has_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

int rl_has_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = rl_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && getenv("RL_NO_AVX512") == NULL;
    }
    return cached;
}
#endif

const char *rl_kernel_isa(void) {
#ifdef RL_X86
    if (rl_has_avx512()) return "AVX-512";
    if (rl_has_avx2()) return "AVX2";
#endif
    return "portable C";
}

