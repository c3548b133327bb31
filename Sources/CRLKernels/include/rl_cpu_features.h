#ifndef RL_CPU_FEATURES_H
#define RL_CPU_FEATURES_H

/// The x86 vector features of this CPU, read with CPUID, each 1 only when the operating system
/// also saves the registers it needs (XGETBV). All zero on other architectures.
typedef struct {
    char vendor[13];  ///< "GenuineIntel", "AuthenticAMD", ...
    int family, model;
    int avx, avx2, fma;
    int avx512f, avx512cd, avx512bw, avx512dq, avx512vl;
    int avx512_bf16, avx512_fp16;
    int amx_tile, amx_bf16;
} rl_cpu_features;

void rl_cpu_features_read(rl_cpu_features *features);

#endif
