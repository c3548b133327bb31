#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials

/// Writes a file atomically: the bytes go to a temporary file in the destination folder, which
/// is fsynced and then renamed over the destination. Readers see the old file or the new one,
/// never a partial one.
final class AtomicFileWriter {
    private let destination: String
    private let temporary: String
    private var fd: Int32
    private var finished = false

    init(destination url: URL) throws(CheckpointError) {
        destination = url.path
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        temporary = folder + "/.\(name).\(getpid()).\(UInt32.random(in: 0 ... .max)).tmp"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(file: destination, reason: "create \(temporary): \(errnoText())") }
    }

    /// Appends `bytes`, retrying short writes.
    func append(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw fail("write: \(errnoText())")
            }
            offset += written
        }
    }

    /// Appends `bytes`.
    func append(_ bytes: [UInt8]) throws(CheckpointError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(CheckpointError) in try append(raw) } }.get()
    }

    /// Flushes the data to disk and moves the file into place.
    func commit() throws(CheckpointError) {
        guard fsync(fd) == 0 else { throw fail("fsync: \(errnoText())") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw fail("close: \(errnoText())") }
        guard rename(temporary, destination) == 0 else { throw fail("rename: \(errnoText())") }
        finished = true
        syncFolder(of: destination)
    }

    /// Removes the temporary file and returns the error to throw.
    private func fail(_ reason: String) -> CheckpointError {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporary)
        finished = true
        return .writeFailed(file: destination, reason: reason)
    }

    deinit {
        if !finished {
            if fd >= 0 { close(fd) }
            unlink(temporary)
        }
    }
}

/// Fsyncs the folder holding `path` so that a rename into it survives a crash (best effort).
private func syncFolder(of path: String) {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}
