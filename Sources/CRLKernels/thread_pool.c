// A small fork-join pool for the CPU backend's kernels (see rl_thread_pool.h).
//
// One 64-bit word describes the current run: generation (24 bits) | task count (20 bits) |
// next unclaimed task (20 bits). Workers claim tasks with a compare-and-swap on that word, so a
// worker that wakes late can never claim a task of a finished run, and the task function and
// context it then reads cannot change until the task it claimed has completed.
#include "rl_thread_pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define RL_POOL_MAX_WORKERS 255
#define RL_POOL_SPIN_NS 50000L

#define GEN_SHIFT 40
#define TASKS_SHIFT 20
#define FIELD_MASK ((1ULL << 20) - 1)

static _Atomic uint64_t run_state;
static _Atomic long remaining;
static void (*_Atomic run_task)(void *, long);
static void *_Atomic run_context;

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;   // one run at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static _Atomic int sleepers;
static int worker_count;                                     // guarded by run_lock
static _Thread_local int inside_task;

static inline uint64_t generation(uint64_t state) { return state >> GEN_SHIFT; }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

// Claims and runs tasks of the current run until none is left.
static void help(void) {
    for (;;) {
        uint64_t s = atomic_load_explicit(&run_state, memory_order_acquire);
        uint64_t tasks = (s >> TASKS_SHIFT) & FIELD_MASK, next = s & FIELD_MASK;
        if (next >= tasks) return;
        if (!atomic_compare_exchange_weak_explicit(&run_state, &s, s + 1, memory_order_acq_rel, memory_order_relaxed))
            continue;
        void (*task)(void *, long) = atomic_load_explicit(&run_task, memory_order_relaxed);
        void *context = atomic_load_explicit(&run_context, memory_order_relaxed);
        inside_task = 1;
        task(context, (long)next);
        inside_task = 0;
        atomic_fetch_sub_explicit(&remaining, 1, memory_order_release);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    uint64_t seen = generation(atomic_load(&run_state));
    for (;;) {
        // Spin for new work for a short while, then sleep until a run wakes us.
        long deadline = now_ns() + RL_POOL_SPIN_NS;
        int spins = 0;
        while (generation(atomic_load_explicit(&run_state, memory_order_acquire)) == seen) {
            cpu_relax();
            if (++spins % 64 == 0 && now_ns() > deadline) {
                pthread_mutex_lock(&sleep_lock);
                atomic_fetch_add(&sleepers, 1);
                while (generation(atomic_load(&run_state)) == seen) pthread_cond_wait(&wake, &sleep_lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&sleep_lock);
            }
        }
        seen = generation(atomic_load_explicit(&run_state, memory_order_acquire));
        help();
    }
    return NULL;
}

static void run_serially(long tasks, void (*task)(void *, long), void *context) {
    for (long i = 0; i < tasks; i++) task(context, i);
}

void rl_parallel_run(long threads, long tasks, void (*task)(void *context, long index), void *context) {
    if (tasks <= 0) return;
    if (threads <= 1 || tasks == 1 || inside_task || tasks > (long)FIELD_MASK || pthread_mutex_trylock(&run_lock) != 0) {
        run_serially(tasks, task, context);
        return;
    }
    long wanted = threads - 1 < RL_POOL_MAX_WORKERS ? threads - 1 : RL_POOL_MAX_WORKERS;
    while (worker_count < wanted) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker_main, NULL) != 0) break;
        pthread_detach(thread);
        worker_count++;
    }
    if (worker_count == 0) {
        pthread_mutex_unlock(&run_lock);
        run_serially(tasks, task, context);
        return;
    }
    atomic_store_explicit(&run_task, task, memory_order_relaxed);
    atomic_store_explicit(&run_context, context, memory_order_relaxed);
    atomic_store_explicit(&remaining, tasks, memory_order_relaxed);
    uint64_t gen = (generation(atomic_load(&run_state)) + 1) & ((1ULL << 24) - 1);
    atomic_store(&run_state, (gen << GEN_SHIFT) | ((uint64_t)tasks << TASKS_SHIFT));
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    help();
    while (atomic_load_explicit(&remaining, memory_order_acquire) > 0) cpu_relax();
    pthread_mutex_unlock(&run_lock);
}
