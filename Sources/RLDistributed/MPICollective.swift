#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ranks of an MPI job (`mpirun -np N`, `srun`): rank and world size come from the MPI
/// runtime (`MPI_COMM_WORLD`). MPI is opened at run time (`MPILibrary`); `availability()` says
/// whether it can be. Collectives on host memory; errors are returned, not fatal
/// (`MPI_ERRORS_RETURN`), and become `CollectiveError`s.
///
/// MPI is initialised once per process (`MPI_THREAD_SERIALIZED`: calls come from one thread at a
/// time) and finalised by `finalize()` or at exit.
public final class MPICollective: Collective, @unchecked Sendable {
    public let rank: Int
    public let worldSize: Int
    public let summary: String
    let library: MPILibrary
    let watchdog: CollectiveWatchdog
    /// Messages larger than this many elements are split (MPI counts are 32-bit).
    static let maximumCount = 1 << 30

    /// The process's one MPI session.
    nonisolated(unsafe) private static var shared: MPICollective?

    /// Whether MPI can be used: the library that would be opened, or what was tried and why it
    /// failed.
    public static func availability() -> Result<String, MPIUnavailable> {
        MPILibrary.open().map { "\($0.versionLine) at \($0.path)" }
    }

    /// Whether this process was started by an MPI launcher (`mpirun`, `mpiexec`, `srun` with PMI):
    /// its environment names a rank.
    public static var launchedByMPI: Bool {
        let names = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS", "PMI_RANK"]
        return names.contains { getenv($0) != nil }
    }

    /// This process's index among the ranks on its machine, from the launcher's environment
    /// (`OMPI_COMM_WORLD_LOCAL_RANK`, `MPI_LOCALRANKID`, `SLURM_LOCALID`, `PMI_LOCAL_RANK`); 0 when none says.
    public static var localRank: Int {
        for name in ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "PMI_LOCAL_RANK"] {
            if let value = getenvString(name).flatMap({ Int($0) }) { return value }
        }
        return 0
    }

    /// Joins the MPI job (initialising MPI on first use). `timeout` (seconds) bounds every
    /// collective; default 1,800, or `RL_COLLECTIVE_TIMEOUT`.
    public static func join(timeout: Double? = nil) throws -> MPICollective {
        if let shared { return shared }
        let library: MPILibrary
        switch MPILibrary.open() {
        case .success(let opened): library = opened
        case .failure(let error): throw error
        }
        var flag: Int32 = 0
        _ = library.finalized(&flag)
        if flag != 0 { throw MPIUnavailable(reason: "MPI was already finalised in this process") }
        _ = library.initialized(&flag)
        if flag == 0 {
            var provided: Int32 = 0
            let status = library.initThread(nil, nil, MPILibrary.threadSerialized, &provided)
            guard status == 0 else { throw MPIUnavailable(reason: "MPI_Init_thread failed: \(library.describe(status))") }
            atexit { MPICollective.finalizeShared() }
        }
        _ = library.commSetErrhandler(library.commWorld, library.errorsReturn)
        var rank: Int32 = 0, size: Int32 = 0
        let rankStatus = library.commRank(library.commWorld, &rank)
        let sizeStatus = library.commSize(library.commWorld, &size)
        guard rankStatus == 0, sizeStatus == 0 else {
            throw MPIUnavailable(reason: "MPI_Comm_rank/MPI_Comm_size failed: \(library.describe(rankStatus == 0 ? sizeStatus : rankStatus))")
        }
        let limit = try timeout ?? environmentTimeout() ?? 1_800
        let collective = MPICollective(library: library, rank: Int(rank), worldSize: Int(size), timeout: limit)
        shared = collective
        return collective
    }

    /// `RL_COLLECTIVE_TIMEOUT` in seconds, if set.
    static func environmentTimeout() throws -> Double? {
        guard let raw = getenv("RL_COLLECTIVE_TIMEOUT").map({ String(cString: $0) }), !raw.isEmpty else { return nil }
        guard let value = Double(raw), value.isFinite, value > 0 else {
            throw MPIUnavailable(reason: "RL_COLLECTIVE_TIMEOUT is '\(raw)'; it must be a positive number of seconds")
        }
        return value
    }

    private init(library: MPILibrary, rank: Int, worldSize: Int, timeout: Double) {
        self.library = library
        self.rank = rank
        self.worldSize = worldSize
        summary = "MPI (\(library.versionLine)), \(worldSize) rank\(worldSize == 1 ? "" : "s")"
        watchdog = CollectiveWatchdog(rank: rank, worldSize: worldSize, timeout: timeout)
    }

    /// Finalises MPI (call once, after the last collective, on every rank).
    public func finalize() { MPICollective.finalizeShared() }

    private static func finalizeShared() {
        guard let library = shared?.library ?? (try? MPILibrary.open().get()) else { return }
        var flag: Int32 = 0
        _ = library.initialized(&flag)
        guard flag != 0 else { return }
        _ = library.finalized(&flag)
        if flag == 0 { _ = library.finalize() }
    }

    /// Ends every rank of the job with `code` (`MPI_Abort`).
    public func abort(code: Int32) -> Never {
        _ = library.abort(library.commWorld, code)
        _exit(code)
    }

    private func run(_ operation: String, _ label: String, _ call: () -> Int32) throws {
        let status = watchdog.guarding("\(operation) (\(label))", call)
        guard status == 0 else { throw CollectiveError(rank: rank, operation: "\(operation) (\(label))", reason: library.describe(status)) }
    }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, element: CollectiveElement, operation: ReduceOperation,
                          label: String) throws {
        var done = 0
        while done < count {
            let n = Swift.min(count - done, Self.maximumCount)
            let chunk = buffer + done * element.byteSize
            try run("all-reduce", label) {
                library.allreduce(library.inPlace, chunk, Int32(n), library.datatype(element), library.op(operation), library.commWorld)
            }
            done += n
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int, label: String) throws {
        guard (0..<worldSize).contains(root) else {
            throw CollectiveError(rank: rank, operation: "broadcast (\(label))", reason: "root \(root) is not a rank of \(worldSize)")
        }
        var done = 0
        while done < byteCount {
            let n = Swift.min(byteCount - done, Self.maximumCount)
            try run("broadcast", label) { library.bcast(buffer + done, Int32(n), library.byte, Int32(root), library.commWorld) }
            done += n
        }
    }

    public func allGather(_ send: UnsafeRawPointer, byteCount: Int, into result: UnsafeMutableRawPointer, label: String) throws {
        guard byteCount <= Self.maximumCount else {
            throw CollectiveError(rank: rank, operation: "all-gather (\(label))", reason: "\(byteCount) bytes per rank; at most \(Self.maximumCount)")
        }
        try run("all-gather", label) {
            library.allgather(send, Int32(byteCount), library.byte, result, Int32(byteCount), library.byte, library.commWorld)
        }
    }

    public func reduceScatter(_ send: UnsafeRawPointer, into result: UnsafeMutableRawPointer, count: Int, element: CollectiveElement,
                              label: String) throws {
        guard count <= Self.maximumCount else {
            throw CollectiveError(rank: rank, operation: "reduce-scatter (\(label))", reason: "\(count) elements per rank; at most \(Self.maximumCount)")
        }
        try run("reduce-scatter", label) {
            library.reduceScatterBlock(send, result, Int32(count), library.datatype(element), library.sum, library.commWorld)
        }
    }

    public func barrier(label: String) throws {
        try run("barrier", label) { library.barrier(library.commWorld) }
    }
}
