import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a run's output folder (`flock` on `<folder>/.lock`), held while a
/// `train(output:)` call runs: a second run into the same folder is refused instead of
/// interleaving its files with the first one's. The kernel drops the lock when the process
/// ends, however it ends, so a killed run leaves no stale lock behind.
final class OutputLock {
    private let descriptor: Int32

    init(folder: URL) throws {
        let path = folder.appendingPathComponent(".lock").path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw TrainingError.checkpoint(path: path, reason: "cannot create the lock file (\(String(cString: strerror(errno))))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw TrainingError.outputInUse(path: folder.path)
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
