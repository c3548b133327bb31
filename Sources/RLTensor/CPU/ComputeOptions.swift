import CRLKernels
import Synchronization

/// Process-wide settings of the CPU backend, in code as well as through the environment.
///
/// - Threads: the library runs its CPU work (products, attention, elementwise kernels, token
///   sampling) on one worker pool of ``threadCount`` threads: `RL_NUM_THREADS` when set,
///   otherwise the CPUs online. ``setThreadCount(_:)`` changes it at any time; later kernels use
///   the new count. Results are reproducible for a given count; between counts they can differ
///   in the last bits (products and sums are split across threads differently), and sampled
///   tokens can then differ too.
/// - OpenBLAS: inside the library OpenBLAS runs single-threaded (products are split across the
///   worker pool instead, so two pools never compete for cores). The setting is process-wide, so
///   while ``setsOpenBLASThreads`` is true (the default) the library calls
///   `openblas_set_num_threads(1)` before its products when OpenBLAS is not already at 1, and a
///   host program's own OpenBLAS calls then run single-threaded too. Set it to false and the
///   library never changes OpenBLAS's thread count (keep it at 1 yourself, or the two pools
///   compete). ``openBLASThreadCount`` reads the current value.
/// - The device is chosen per model or tensor (`Device.cpu`, `Device.cuda(_:)`,
///   `Device.named(_:)`). The kernel set (`RL_NO_AVX512`) and OpenBLAS's library and core
///   (`RL_OPENBLAS_LIBRARY`, `RL_OPENBLAS_CORETYPE`) are read once, when the backend loads, from
///   the environment only.
public enum ComputeOptions {
    /// Threads of the CPU worker pool (≥ 1).
    public static var threadCount: Int { Parallel.threadCount }

    /// Sets the CPU worker pool's thread count, 1...4096; anything else throws
    /// `ComputeOptionsError.invalidThreadCount`. Safe to call from any thread.
    public static func setThreadCount(_ count: Int) throws(ComputeOptionsError) {
        guard (1...4_096).contains(count) else { throw .invalidThreadCount(count) }
        Parallel.setThreadCount(count)
    }

    /// Whether the library sets OpenBLAS's process-wide thread count to 1 before its products
    /// (default true; see the type's notes).
    public static var setsOpenBLASThreads: Bool {
        get { setsBLASThreads.load(ordering: .relaxed) }
        set { setsBLASThreads.store(newValue, ordering: .relaxed) }
    }

    /// OpenBLAS's current process-wide thread count (loads OpenBLAS if needed).
    public static var openBLASThreadCount: Int {
        _ = BLASLibrary.status
        return Int(rl_blas_get_num_threads())
    }

    private static let setsBLASThreads = Atomic<Bool>(true)
}

/// A bad `ComputeOptions` value.
public enum ComputeOptionsError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidThreadCount(Int)

    public var description: String {
        switch self {
        case .invalidThreadCount(let count): return "threadCount: must be between 1 and 4096, got \(count)"
        }
    }
}
