import Dispatch
import RLTensor
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ends the process when a collective operation runs longer than `timeout`: a rank that died or
/// hangs must not leave the others waiting forever. It writes one line naming the rank and the
/// operation to standard error and exits with status 75; the MPI launcher (`mpirun`, `srun`) then
/// ends every other rank.
final class CollectiveWatchdog: @unchecked Sendable {
    let rank: Int
    let worldSize: Int
    /// Seconds a collective may take.
    let timeout: Double
    /// The collective in progress and when it started.
    private let current = Mutex<(label: String, started: Double)?>(nil)
    private var timer: DispatchSourceTimer?

    init(rank: Int, worldSize: Int, timeout: Double) {
        self.rank = rank
        self.worldSize = worldSize
        self.timeout = timeout
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "rl.collective-watchdog"))
        let interval = Swift.min(1.0, Swift.max(timeout / 4, 0.05))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.check() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    /// Runs `body` (one collective) under the watchdog.
    func guarding<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        current.withLock { $0 = (label, monotonicSeconds()) }
        defer { current.withLock { $0 = nil } }
        return try body()
    }

    private func check() {
        guard let (label, started) = current.withLock({ $0 }) else { return }
        let waited = monotonicSeconds() - started
        guard waited > timeout else { return }
        let line = "error: rank \(rank) of \(worldSize): \(label) did not complete within \(Int(timeout.rounded())) s "
            + "(another rank died, hangs, or is far slower); ending every rank (raise the limit with RL_COLLECTIVE_TIMEOUT)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        _exit(75)
    }
}
