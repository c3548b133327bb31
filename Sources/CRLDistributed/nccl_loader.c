#include "nccl_loader.h"

#include <dlfcn.h>
#include <stdio.h>

typedef int (*get_version_fn)(int *);
typedef int (*get_unique_id_fn)(rl_nccl_unique_id *);
typedef int (*comm_init_rank_fn)(void **, int, rl_nccl_unique_id, int);
typedef int (*comm_fn)(void *);
typedef int (*all_reduce_fn)(const void *, void *, size_t, int, int, void *, void *);
typedef int (*broadcast_fn)(const void *, void *, size_t, int, int, void *, void *);
typedef int (*all_gather_fn)(const void *, void *, size_t, int, void *, void *);
typedef int (*group_fn)(void);
typedef const char *(*error_string_fn)(int);

static get_version_fn get_version;
static get_unique_id_fn get_unique_id;
static comm_init_rank_fn comm_init_rank;
static comm_fn comm_destroy, comm_abort;
static all_reduce_fn all_reduce, reduce_scatter;
static broadcast_fn broadcast;
static all_gather_fn all_gather;
static group_fn group_start, group_end;
static error_string_fn error_string;

int rl_nccl_bind(void *handle, char *missing, size_t missing_length) {
    static const char *const names[] = {
        "ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank", "ncclCommDestroy", "ncclCommAbort", "ncclAllReduce",
        "ncclReduceScatter", "ncclBroadcast", "ncclAllGather", "ncclGroupStart", "ncclGroupEnd", "ncclGetErrorString",
    };
    void *found[sizeof names / sizeof names[0]];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        found[i] = dlsym(handle, names[i]);
        if (!found[i]) {
            snprintf(missing, missing_length, "%s", names[i]);
            return -1;
        }
    }
    get_version = (get_version_fn)found[0];
    get_unique_id = (get_unique_id_fn)found[1];
    comm_init_rank = (comm_init_rank_fn)found[2];
    comm_destroy = (comm_fn)found[3];
    comm_abort = (comm_fn)found[4];
    all_reduce = (all_reduce_fn)found[5];
    reduce_scatter = (all_reduce_fn)found[6];
    broadcast = (broadcast_fn)found[7];
    all_gather = (all_gather_fn)found[8];
    group_start = (group_fn)found[9];
    group_end = (group_fn)found[10];
    error_string = (error_string_fn)found[11];
    return 0;
}

int rl_nccl_get_version(int *version) { return get_version(version); }
int rl_nccl_get_unique_id(rl_nccl_unique_id *id) { return get_unique_id(id); }
int rl_nccl_comm_init_rank(void **comm, int ranks, const rl_nccl_unique_id *id, int rank) {
    return comm_init_rank(comm, ranks, *id, rank);
}
int rl_nccl_comm_destroy(void *comm) { return comm_destroy(comm); }
int rl_nccl_comm_abort(void *comm) { return comm_abort(comm); }
int rl_nccl_all_reduce(const void *send, void *receive, size_t count, int type, int op, void *comm, void *stream) {
    return all_reduce(send, receive, count, type, op, comm, stream);
}
int rl_nccl_broadcast(const void *send, void *receive, size_t count, int type, int root, void *comm, void *stream) {
    return broadcast(send, receive, count, type, root, comm, stream);
}
int rl_nccl_all_gather(const void *send, void *receive, size_t count, int type, void *comm, void *stream) {
    return all_gather(send, receive, count, type, comm, stream);
}
int rl_nccl_reduce_scatter(const void *send, void *receive, size_t count, int type, int op, void *comm, void *stream) {
    return reduce_scatter(send, receive, count, type, op, comm, stream);
}
int rl_nccl_group_start(void) { return group_start(); }
int rl_nccl_group_end(void) { return group_end(); }
const char *rl_nccl_error_string(int result) { return error_string ? error_string(result) : "NCCL not loaded"; }
