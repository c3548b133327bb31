// Which instruction set the library's own kernels run with, decided once per process.
#include "kernel_support.h"
#include "rl_cpu_features.h"

#ifdef RL_X86
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

int rl_bf16_dot_enabled(void) {
    static int cached = -1;
    if (cached < 0) cached = rl_has_avx512() && __builtin_cpu_supports("avx512bf16") && getenv("RL_NO_AVX512_BF16") == NULL;
    return cached;
}

// Linux hands out the AMX tile state only to processes that ask for it (ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA); the permission holds for every thread of the process.
static int request_amx_permission(void) {
#ifdef __linux__
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}

int rl_bf16_amx_enabled(void) {
    static int cached = -1;
    if (cached < 0) {
        rl_cpu_features f;
        rl_cpu_features_read(&f);
        cached = rl_bf16_dot_enabled() && f.amx_tile && f.amx_bf16 && getenv("RL_NO_AMX") == NULL && request_amx_permission();
    }
    return cached;
}
// The AVX512_BF16 GEMM for 4+ rows (bf16_dot_gemm.c) pays off only where vdpbf16ps multiplies
// faster than f32 FMAs on widened weights: on the Emerald Rapids Xeon it retired at a quarter of
// vfmadd231ps's rate (half the multiply-adds) and ran at 0.5-0.8x the widened path, so it is
// used by default on AMD CPUs only (Zen 4 and 5, where it is not yet measured); RL_BF16_DOT_GEMM=1
// turns it on anywhere AVX512_BF16 is enabled, RL_BF16_DOT_GEMM=0 turns it off.
int rl_bf16_dot_gemm_enabled(void) {
    static int cached = -1;
    if (cached < 0) {
        rl_cpu_features f;
        rl_cpu_features_read(&f);
        const char *choice = getenv("RL_BF16_DOT_GEMM");
        int wanted = choice != NULL ? strcmp(choice, "0") != 0 : strcmp(f.vendor, "AuthenticAMD") == 0;
        cached = rl_bf16_dot_enabled() && wanted;
    }
    return cached;
}
#else
int rl_bf16_dot_enabled(void) { return 0; }
int rl_bf16_amx_enabled(void) { return 0; }
int rl_bf16_dot_gemm_enabled(void) { return 0; }
#endif

const char *rl_kernel_isa(void) {
#ifdef RL_X86
    if (rl_bf16_amx_enabled()) return "AVX-512 (bf16 weights: AMX-BF16, AVX512_BF16)";
    if (rl_bf16_dot_gemm_enabled()) return "AVX-512 (bf16 weights: AVX512_BF16, AVX512_BF16 GEMM)";
    if (rl_bf16_dot_enabled()) return "AVX-512 (bf16 weights: AVX512_BF16)";
    if (rl_has_avx512()) return "AVX-512";
    if (rl_has_avx2()) return "AVX2";
#endif
    return "portable C";
}

