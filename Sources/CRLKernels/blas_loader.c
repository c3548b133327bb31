#define _GNU_SOURCE
#include "rl_blas.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// CBLAS constants (cblas.h): row-major, no transpose, transpose.
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*text_fn)(void);

static struct {
    sgemm_fn sgemm;
    sgemv_fn sgemv;
    set_threads_fn set_threads;
    get_threads_fn get_threads;
} blas;

static rl_blas_info info;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int attempted;

static void copy_text(char *to, size_t size, const char *from) { snprintf(to, size, "%s", from ? from : ""); }

static void *open_library(void) {
    const char *chosen = getenv("RL_OPENBLAS_LIBRARY");
    const char *names[] = {chosen && *chosen ? chosen : NULL, "libopenblas.so.0", "libopenblas.so"};
    char tried[400] = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!names[i]) continue;
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", names[i]);
        if (chosen && names[i] == chosen) break;  // the user's file or nothing
    }
    snprintf(info.error, sizeof info.error, "OpenBLAS not found (tried %s): install it (Debian/Ubuntu: apt-get install "
             "libopenblas0) or set RL_OPENBLAS_LIBRARY to its file", tried);
    copy_text(info.path, sizeof info.path, tried);
    return NULL;
}

static void load(const char *core) {
    int name_core = core && *core && getenv("OPENBLAS_CORETYPE") == NULL;
    if (name_core) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        copy_text(info.named_core, sizeof info.named_core, core);
    }
    void *handle = open_library();
    if (name_core) unsetenv("OPENBLAS_CORETYPE");
    if (!handle) return;
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name) {
        char *resolved = realpath(map->l_name, NULL);
        copy_text(info.path, sizeof info.path, resolved ? resolved : map->l_name);
        free(resolved);
    }
    blas.sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    blas.sgemv = (sgemv_fn)dlsym(handle, "cblas_sgemv");
    blas.set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    blas.get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
    text_fn config = (text_fn)dlsym(handle, "openblas_get_config");
    text_fn corename = (text_fn)dlsym(handle, "openblas_get_corename");
    if (!blas.sgemm || !blas.sgemv || !blas.set_threads || !blas.get_threads || !config || !corename) {
        snprintf(info.error, sizeof info.error, "%s is not OpenBLAS (cblas_sgemm, cblas_sgemv or openblas_* missing)",
                 info.path);
        return;
    }
    copy_text(info.config, sizeof info.config, config());
    copy_text(info.core, sizeof info.core, corename());
    info.loaded = 1;
}

const rl_blas_info *rl_blas_load(const char *core) {
    pthread_mutex_lock(&load_lock);
    if (!attempted) {
        attempted = 1;
        load(core);
    }
    pthread_mutex_unlock(&load_lock);
    return &info;
}

static void require_loaded(void) {
    if (info.loaded) return;
    fprintf(stderr, "RLTensor: %s\n", info.error[0] ? info.error : "OpenBLAS was used before rl_blas_load");
    abort();
}

void rl_blas_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc) {
    require_loaded();
    blas.sgemm(ROW_MAJOR, transpose_a ? TRANS : NO_TRANS, transpose_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b,
               ldb, beta, c, ldc);
}

void rl_blas_sgemv(int transpose, int m, int n, float alpha, const float *a, int lda, const float *x, int incx,
                   float beta, float *y, int incy) {
    require_loaded();
    blas.sgemv(ROW_MAJOR, transpose ? TRANS : NO_TRANS, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

void rl_blas_set_num_threads(int threads) {
    require_loaded();
    blas.set_threads(threads);
}

int rl_blas_get_num_threads(void) {
    require_loaded();
    return blas.get_threads();
}
