#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What Linux says about memory: `/proc/meminfo`, `/proc/self/status` and the cgroup v2 limit.
/// Every answer is nil where those files are missing (other systems).
package enum SystemMemory {
    /// Bytes the system can still give this process: `MemAvailable`, capped by what the cgroup's
    /// `memory.max` leaves above its `memory.current` when a limit is set.
    package static func freeBytes() -> Int? {
        guard let available = text("/proc/meminfo").flatMap({ procField($0, "MemAvailable") }) else { return nil }
        guard let cap = text("/sys/fs/cgroup/memory.max").flatMap(firstInteger) else { return available }
        let used = text("/sys/fs/cgroup/memory.current").flatMap(firstInteger) ?? 0
        return min(available, cap - used)
    }

    /// Bytes this process holds in memory (`VmRSS`).
    package static func residentBytes() -> Int? {
        text("/proc/self/status").flatMap { procField($0, "VmRSS") }
    }

    /// The value of `key` in a `/proc` status or meminfo text, in bytes (`VmRSS:\t12345678 kB`:
    /// the number may follow the tab directly, or spaces).
    package static func procField(_ text: String, _ key: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }

    /// The integer a cgroup file starts with (nil for `max`, no limit).
    private static func firstInteger(_ text: String) -> Int? {
        Int(text.split(separator: "\n").first ?? "")
    }

    /// The start (at most 64 KiB) of a small system file.
    private static func text(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 64 << 10)
        let count = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}
