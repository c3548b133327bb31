import CRLKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits loops across `ComputeOptions.threadCount` threads (the machine's cores, `RL_NUM_THREADS`
/// or `ComputeOptions.setThreadCount(_:)`), on the process-wide worker
/// pool of `rl_parallel_run`: workers spin briefly between kernels and then sleep, so
/// back-to-back small kernels (decoding) start without a thread wake-up. Shared with the
/// package's other modules (token sampling), so all CPU work uses one set of threads.
package enum Parallel {
    /// Threads the loops use now.
    package static var threadCount: Int { count.load(ordering: .relaxed) }

    static func setThreadCount(_ threads: Int) { count.store(threads, ordering: .relaxed) }

    /// `RL_NUM_THREADS` when it is a positive number, otherwise the CPUs online.
    private static let count = Atomic<Int>({
        if let text = getenv("RL_NUM_THREADS").map({ String(cString: $0) }), let n = Int(text), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }())

    /// Calls `body(start, end)` over disjoint ranges covering `0..<total`, in parallel when each
    /// range gets at least `grain` items.
    package static func ranges(_ total: Int, grain: Int, _ body: (Int, Int) -> Void) {
        guard total > 0 else { return }
        let chunks = min(threadCount, max(1, total / max(grain, 1)))
        if chunks == 1 { body(0, total); return }
        withoutActuallyEscaping(body) { body in
            var job = RangeJob(total: total, chunks: chunks, body: body)
            withUnsafeMutablePointer(to: &job) { pointer in
                rl_parallel_run(threadCount, chunks, { context, chunk in
                    let job = context!.assumingMemoryBound(to: RangeJob.self)
                    let start = job.pointee.total * chunk / job.pointee.chunks
                    let end = job.pointee.total * (chunk + 1) / job.pointee.chunks
                    job.pointee.body(start, end)
                }, pointer)
            }
        }
    }
}

/// What the pool's tasks of one `Parallel.ranges` call share; they only touch disjoint memory.
private struct RangeJob {
    let total: Int
    let chunks: Int
    let body: (Int, Int) -> Void
}
