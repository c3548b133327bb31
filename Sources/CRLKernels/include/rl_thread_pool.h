#ifndef RL_THREAD_POOL_H
#define RL_THREAD_POOL_H

/// Runs `task(context, i)` for every i in [0, tasks) on the calling thread and up to
/// `threads - 1` pool workers, and returns when all have finished.
///
/// The workers are created on first use and shared by the whole process. After a run they
/// spin briefly (about 50 microseconds, so back-to-back kernels start without a wake-up) and
/// then sleep on a condition variable, so an idle pool costs nothing. A call made from inside
/// a task, or while another thread's run is in progress, runs its tasks serially on the
/// calling thread instead of waiting. `tasks` must be below 2^20.
void rl_parallel_run(long threads, long tasks, void (*task)(void *context, long index), void *context);

#endif
