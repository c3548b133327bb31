// NCCL entry points resolved at run time (dlsym on a handle the caller opened), so the package
// neither links NCCL nor needs its header. Types and values follow nccl.h (NCCL 2.x); the
// unique id is passed by value to ncclCommInitRank, which is why this shim is C.
#ifndef RL_NCCL_LOADER_H
#define RL_NCCL_LOADER_H

#include <stddef.h>

/// ncclUniqueId: 128 opaque bytes made by rank 0 and sent to every rank.
typedef struct { char internal[128]; } rl_nccl_unique_id;

/// ncclDataType_t and ncclRedOp_t values used here.
enum { RL_NCCL_UINT8 = 1, RL_NCCL_FLOAT32 = 7, RL_NCCL_FLOAT64 = 8 };
enum { RL_NCCL_SUM = 0, RL_NCCL_MAX = 2 };

/// Resolves every entry point from `handle` (a dlopen handle). Returns 0, or -1 with the name of
/// the first missing symbol in `missing` (at most `missing_length` bytes, NUL-terminated).
int rl_nccl_bind(void *handle, char *missing, size_t missing_length);

int rl_nccl_get_version(int *version);
int rl_nccl_get_unique_id(rl_nccl_unique_id *id);
int rl_nccl_comm_init_rank(void **comm, int ranks, const rl_nccl_unique_id *id, int rank);
int rl_nccl_comm_destroy(void *comm);
int rl_nccl_comm_abort(void *comm);
int rl_nccl_all_reduce(const void *send, void *receive, size_t count, int type, int op, void *comm, void *stream);
int rl_nccl_broadcast(const void *send, void *receive, size_t count, int type, int root, void *comm, void *stream);
int rl_nccl_all_gather(const void *send, void *receive, size_t count, int type, void *comm, void *stream);
int rl_nccl_reduce_scatter(const void *send, void *receive, size_t count, int type, int op, void *comm, void *stream);
int rl_nccl_group_start(void);
int rl_nccl_group_end(void);
/// ncclGetErrorString of a result code (static text).
const char *rl_nccl_error_string(int result);

#endif
