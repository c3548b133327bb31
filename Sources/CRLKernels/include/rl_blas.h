#ifndef RL_BLAS_H
#define RL_BLAS_H

/// OpenBLAS, loaded at run time (dlopen) instead of linked, so that the library can name the
/// kernel set ("core") OpenBLAS initialises with before it initialises: Debian 12's OpenBLAS
/// 0.3.21 does not know recent Xeons and falls back to its SSE3 "Prescott" kernels, five times
/// slower. Only the calls RLTensor needs are bound; matrices are row-major.

/// What `rl_blas_load` found.
typedef struct {
    /// 1 when the library and every symbol below were found.
    int loaded;
    /// The library file that was loaded (resolved), or the names tried.
    char path[512];
    /// `openblas_get_config()` and `openblas_get_corename()`.
    char config[256];
    char core[64];
    /// The core named to OpenBLAS through OPENBLAS_CORETYPE for its initialisation ("" if none).
    char named_core[64];
    /// Why loading failed.
    char error[512];
} rl_blas_info;

/// Loads OpenBLAS once per process; later calls return the first call's result. When `core` is
/// non-NULL and non-empty and the environment has no OPENBLAS_CORETYPE of the user's, it is set
/// to `core` while the library initialises and removed afterwards. `RL_OPENBLAS_LIBRARY` names the
/// file to load; otherwise libopenblas.so.0, then libopenblas.so, through the loader's search.
const rl_blas_info *rl_blas_load(const char *core);

/// `C = alpha op(A) op(B) + beta C` (cblas_sgemm, row-major). `rl_blas_load` must have succeeded.
void rl_blas_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc);

/// `y = alpha op(A) x + beta y` (cblas_sgemv, row-major). `rl_blas_load` must have succeeded.
void rl_blas_sgemv(int transpose, int m, int n, float alpha, const float *a, int lda, const float *x, int incx,
                   float beta, float *y, int incy);

/// OpenBLAS's own thread count (process-wide in that library).
void rl_blas_set_num_threads(int threads);
int rl_blas_get_num_threads(void);

#endif
