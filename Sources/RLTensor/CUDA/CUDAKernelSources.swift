#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CUDA C++ kernels embedded in the binary (`Sources/RLTensor/CUDA/Kernels/*.cu`, through
/// SwiftPM's `.embedInCode` resources) and their compilation to CUBIN with a memory and disk cache.
public enum CUDAKernelSources {
    /// The shared header every kernel file includes as `"rl_common.cuh"`.
    public static var commonHeader: String { String(decoding: PackageResources.rl_common_cuh, as: UTF8.self) }

    /// Each kernel file's name and source.
    public static var files: [(name: String, source: String)] {
        [
            ("elementwise.cu", String(decoding: PackageResources.elementwise_cu, as: UTF8.self)),
            ("reduce.cu", String(decoding: PackageResources.reduce_cu, as: UTF8.self)),
            ("random.cu", String(decoding: PackageResources.random_cu, as: UTF8.self)),
            ("softmax.cu", String(decoding: PackageResources.softmax_cu, as: UTF8.self)),
            ("layers.cu", String(decoding: PackageResources.layers_cu, as: UTF8.self)),
            ("attention.cu", String(decoding: PackageResources.attention_cu, as: UTF8.self)),
            ("gemv.cu", String(decoding: PackageResources.gemv_cu, as: UTF8.self)),
            ("sampling.cu", String(decoding: PackageResources.sampling_cu, as: UTF8.self)),
        ]
    }

    /// The `extern "C" __global__` entry points declared in a source.
    public static func entryPoints(in source: String) -> [String] {
        var names: [String] = []
        func split(_ line: String, by marker: String) -> [String] { line.splitOn(marker) }
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Expand the copy macro's instances (RL_COPY(name, type)).
        for line in lines where line.hasPrefix("RL_COPY(") {
            let inside = line.dropFirst("RL_COPY(".count)
            if let comma = inside.firstIndex(of: ",") { names.append(String(inside[..<comma])) }
        }
        lines = lines.filter { !$0.hasPrefix("#define") }
        for line in lines {
            let marker = "__global__ void "
            let parts = split(line, by: marker)
            guard parts.count > 1 else { continue }
            let rest = parts[1]
            guard let paren = rest.firstIndex(of: "(") else { continue }
            let name = String(rest[..<paren])
            if !name.contains("NAME") { names.append(name) }
        }
        return names
    }

    /// Compiles one file to a CUBIN for `architecture` (`sm_90` ...), from the memory cache, the
    /// disk cache or NVRTC, in that order. The key covers the source, the header, the options
    /// and the NVRTC version.
    public static func cubin(file: String, source: String, architecture: String, nvrtc: NVRTC, useDiskCache: Bool = true) throws -> [UInt8] {
        try cubin(file: file, source: source, architecture: architecture, nvrtc: nvrtc, diskCache: useDiskCache ? cacheFolder() : nil)
    }

    /// `cubin` with an explicit disk-cache folder (nil: memory cache only).
    static func cubin(file: String, source: String, architecture: String, nvrtc: NVRTC, diskCache folder: String?) throws -> [UInt8] {
        let options = NVRTC.options(architecture: architecture)
        let key = cacheKey(parts: [source, commonHeader, options.joined(separator: " "), "nvrtc \(nvrtc.version.major).\(nvrtc.version.minor)"])
        let id = "\(file)-\(architecture)-\(key)"
        if let hit = memoryCache.withLock({ $0[id] }) { return hit }
        let diskPath = folder.map { $0 + "/" + id + ".cubin" }
        if let diskPath, let bytes = readFile(diskPath), !bytes.isEmpty {
            memoryCache.withLock { $0[id] = bytes }
            return bytes
        }
        let bytes = try nvrtc.compile(source: source, name: file, headers: [("rl_common.cuh", commonHeader)], options: options)
        memoryCache.withLock { $0[id] = bytes }
        if let diskPath { writeFileAtomically(diskPath, bytes) }
        return bytes
    }

    private static let memoryCache = LockedBox<[String: [UInt8]]>([:])

    /// Forgets the in-memory CUBINs (tests of the disk cache).
    static func clearMemoryCache() { memoryCache.withLock { $0 = [:] } }

    /// FNV-1a 64 over the parts (separated so that boundaries matter), in hex.
    static func cacheKey(parts: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            h = (h ^ 0xff) &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// `RLTENSOR_CUDA_CACHE`, else `$XDG_CACHE_HOME/rltensor-cuda`, else `~/.cache/rltensor-cuda`;
    /// nil (no disk cache) when none can be created. `RLTENSOR_CUDA_CACHE=off` turns it off.
    static func cacheFolder() -> String? {
        let folder: String
        if let explicit = CUDALibraries.environment("RLTENSOR_CUDA_CACHE") {
            if explicit == "off" { return nil }
            folder = explicit
        } else if let xdg = CUDALibraries.environment("XDG_CACHE_HOME") {
            folder = xdg + "/rltensor-cuda"
        } else if let home = CUDALibraries.environment("HOME") {
            folder = home + "/.cache/rltensor-cuda"
        } else {
            return nil
        }
        var path = ""
        for component in folder.split(separator: "/") {
            path += "/" + component
            if access(path, F_OK) != 0 && mkdir(path, 0o755) != 0 && errno != EEXIST { return nil }
        }
        return folder.hasPrefix("/") ? path : String(path.dropFirst())
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) {
        let temporary = path + ".tmp.\(getpid())"
        guard let f = fopen(temporary, "wb") else { return }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
        if written == bytes.count { rename(temporary, path) } else { unlink(temporary) }
    }
}

extension String {
    /// Splits at every occurrence of `marker` (no Foundation).
    func splitOn(_ marker: String) -> [String] {
        let m = Array(marker.utf8), u = Array(self.utf8)
        var parts: [String] = [], start = 0, i = 0
        while i + m.count <= u.count {
            if u[i..<(i + m.count)].elementsEqual(m) {
                parts.append(String(decoding: u[start..<i], as: UTF8.self))
                i += m.count; start = i
            } else { i += 1 }
        }
        parts.append(String(decoding: u[start...], as: UTF8.self))
        return parts
    }
}
