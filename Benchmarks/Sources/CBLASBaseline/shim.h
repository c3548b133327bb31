#ifndef CBLAS_BASELINE_SHIM_H
#define CBLAS_BASELINE_SHIM_H
#include <cblas.h>
#endif
