#include "rl_cpu_features.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

void rl_cpu_features_read(rl_cpu_features *f) {
    memset(f, 0, sizeof *f);
    unsigned int max_leaf, a, b, c, d;
    __cpuid(0, max_leaf, b, c, d);
    memcpy(f->vendor, &b, 4);
    memcpy(f->vendor + 4, &d, 4);
    memcpy(f->vendor + 8, &c, 4);
    if (max_leaf < 1) return;
    __cpuid(1, a, b, c, d);
    int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    f->family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
    f->model = base_family == 0x6 || base_family == 0xf ? base_model | (((a >> 16) & 0xf) << 4) : base_model;
    int osxsave = (c >> 27) & 1;
    unsigned long long state = osxsave ? xcr0() : 0;
    int os_avx = (state & 0x6) == 0x6;                 // SSE and AVX state
    int os_avx512 = os_avx && (state & 0xe0) == 0xe0;  // opmask, ZMM0-15 upper halves, ZMM16-31
    int os_amx = (state & 0x60000) == 0x60000;         // XTILECFG, XTILEDATA
    f->avx = os_avx && ((c >> 28) & 1);
    f->fma = os_avx && ((c >> 12) & 1);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    int max_subleaf = (int)a;
    f->avx2 = os_avx && ((b >> 5) & 1);
    f->avx512f = os_avx512 && ((b >> 16) & 1);
    f->avx512dq = os_avx512 && ((b >> 17) & 1);
    f->avx512cd = os_avx512 && ((b >> 28) & 1);
    f->avx512bw = os_avx512 && ((b >> 30) & 1);
    f->avx512vl = os_avx512 && ((b >> 31) & 1);
    f->avx512_fp16 = os_avx512 && ((d >> 23) & 1);
    f->amx_bf16 = os_amx && ((d >> 22) & 1);
    f->amx_tile = os_amx && ((d >> 24) & 1);
    if (max_subleaf >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f->avx512_bf16 = os_avx512 && ((a >> 5) & 1);
    }
}
#else
void rl_cpu_features_read(rl_cpu_features *f) { memset(f, 0, sizeof *f); }
#endif
