import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the CUDA stack, with the library's own text (`cuGetErrorString`, the NVRTC
/// log, `cublasGetStatusString`) and what to do about it where that is known.
public struct CUDAError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// NVRTC, loaded at run time: compiles CUDA C++ to a CUBIN for one `sm_XY`.
public final class NVRTC: @unchecked Sendable {
    typealias Program = OpaquePointer
    typealias VersionFn = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    typealias CreateFn = @convention(c) (
        UnsafeMutablePointer<Program?>, UnsafePointer<CChar>, UnsafePointer<CChar>?, Int32,
        UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?
    ) -> Int32
    typealias CompileFn = @convention(c) (Program, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    typealias SizeFn = @convention(c) (Program, UnsafeMutablePointer<Int>) -> Int32
    typealias BytesFn = @convention(c) (Program, UnsafeMutablePointer<CChar>) -> Int32
    typealias DestroyFn = @convention(c) (UnsafeMutablePointer<Program?>) -> Int32
    typealias ErrorStringFn = @convention(c) (Int32) -> UnsafePointer<CChar>?

    /// Where the library was found.
    public let path: String
    /// NVRTC's version, e.g. (13, 0).
    public let version: (major: Int, minor: Int)
    /// The `libnvrtc-builtins` opened from NVRTC's folder before its first compile, or nil when
    /// there was none there (NVRTC then finds it by soname itself, through its RPATH or the loader).
    public let builtinsPath: String?

    private let create: CreateFn, compileProgram: CompileFn, destroy: DestroyFn
    private let logSize: SizeFn, log: BytesFn, cubinSize: SizeFn, cubin: BytesFn
    private let errorString: ErrorStringFn

    private static let cached = LockedBox<Result<NVRTC, CUDAError>?>(nil)

    /// The process-wide NVRTC, or why it cannot be loaded.
    public static func load() -> Result<NVRTC, CUDAError> {
        cached.withLock { state in
            if let state { return state }
            let result = NVRTC.open()
            state = result
            return result
        }
    }

    private static func open() -> Result<NVRTC, CUDAError> {
        // Without a driver (CI compiling the kernels) every NVRTC will do; with one, not an NVRTC
        // of a newer CUDA major version: the driver could not load what it compiles.
        let driverVersion = CUDABackend.driverVersion()
        switch CUDALibraries.open("NVRTC", sonames: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"], driverVersion: driverVersion) {
        case .failure(let e): return .failure(CUDAError(e.description))
        case .success(let h):
            do {
                let nvrtc = try NVRTC(handle: h)
                if let driverVersion, nvrtc.version.major > driverVersion / 1000 {
                    return .failure(CUDAError("NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) at \(nvrtc.path) is newer than the NVIDIA driver (CUDA \(CUDALibraries.versionText(driverVersion))), which could not load what it compiles; use an NVRTC of CUDA \(driverVersion / 1000) (RLTENSOR_CUDA_PATH) or update the driver"))
                }
                return .success(nvrtc)
            } catch let e as CUDAError { return .failure(e) } catch {
                return .failure(CUDAError("\(error)"))
            }
        }
    }

    private init(handle h: CUDALibraries.Handle) throws {
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = h.symbol(name) else { throw CUDAError("NVRTC at \(h.path) lacks \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        path = h.path
        let versionFn = try sym("nvrtcVersion", VersionFn.self)
        create = try sym("nvrtcCreateProgram", CreateFn.self)
        compileProgram = try sym("nvrtcCompileProgram", CompileFn.self)
        destroy = try sym("nvrtcDestroyProgram", DestroyFn.self)
        logSize = try sym("nvrtcGetProgramLogSize", SizeFn.self)
        log = try sym("nvrtcGetProgramLog", BytesFn.self)
        cubinSize = try sym("nvrtcGetCUBINSize", SizeFn.self)
        cubin = try sym("nvrtcGetCUBIN", BytesFn.self)
        errorString = try sym("nvrtcGetErrorString", ErrorStringFn.self)
        var major: Int32 = 0, minor: Int32 = 0
        let status = versionFn(&major, &minor)
        guard status == 0 else { throw CUDAError("nvrtcVersion failed with status \(status)") }
        version = (Int(major), Int(minor))
        // NVRTC opens libnvrtc-builtins.so.<major>.<minor> by soname at its first compile; open it
        // now from NVRTC's own folder (see CUDALibraries.preloadNVRTCBuiltins).
        let folder: String?
        if let slash = h.path.lastIndex(of: "/") {
            folder = String(h.path[..<slash])
        } else {
            folder = CUDALibraries.folder(of: h)
        }
        if let folder {
            builtinsPath = CUDALibraries.preloadNVRTCBuiltins(folder: folder, major: Int(major), minor: Int(minor))
        } else {
            builtinsPath = nil
        }
    }

    private func text(_ status: Int32) -> String {
        errorString(status).map { String(cString: $0) } ?? "NVRTC status \(status)"
    }

    /// The options used for one architecture (`sm_90` etc.).
    public static func options(architecture: String) -> [String] {
        ["--gpu-architecture=\(architecture)", "--std=c++17", "-default-device", "--extra-device-vectorization"]
    }

    /// Compiles `source` (named `name` in messages) with in-memory `headers` (name, text) to a CUBIN.
    /// Throws with NVRTC's log when the source does not compile.
    public func compile(source: String, name: String, headers: [(name: String, text: String)], options: [String]) throws -> [UInt8] {
        try compileWithLog(source: source, name: name, headers: headers, options: options).cubin
    }

    /// `compile`, also returning NVRTC's log (ptxas statistics with `--ptxas-options=-v`).
    public func compileWithLog(source: String, name: String, headers: [(name: String, text: String)], options: [String]) throws -> (cubin: [UInt8], log: String) {
        var program: Program?
        let cStrings = (headers.map(\.text) + headers.map(\.name) + options).map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let n = headers.count
        let headerTexts = (0..<n).map { UnsafePointer(cStrings[$0]) }
        let headerNames = (0..<n).map { UnsafePointer(cStrings[n + $0]) }
        let optionPointers = (0..<options.count).map { UnsafePointer(cStrings[2 * n + $0]) }
        var status = headerTexts.withUnsafeBufferPointer { texts in
            headerNames.withUnsafeBufferPointer { names in
                create(&program, source, name, Int32(n), texts.baseAddress, names.baseAddress)
            }
        }
        guard status == 0, let program else { throw CUDAError("nvrtcCreateProgram(\(name)): \(text(status))") }
        defer { var p: Program? = program; _ = destroy(&p) }
        status = optionPointers.withUnsafeBufferPointer { compileProgram(program, Int32(options.count), $0.baseAddress) }
        if status != 0 {
            throw CUDAError("NVRTC could not compile \(name) (\(options.joined(separator: " "))): \(text(status))\n\(programLog(program))")
        }
        var size = 0
        status = cubinSize(program, &size)
        guard status == 0, size > 0 else { throw CUDAError("nvrtcGetCUBINSize(\(name)): \(text(status))") }
        var bytes = [UInt8](repeating: 0, count: size)
        status = bytes.withUnsafeMutableBytes { cubin(program, $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        guard status == 0 else { throw CUDAError("nvrtcGetCUBIN(\(name)): \(text(status))") }
        return (bytes, programLog(program))
    }

    private func programLog(_ program: Program) -> String {
        var size = 0
        guard logSize(program, &size) == 0, size > 1 else { return "" }
        var buffer = [CChar](repeating: 0, count: size + 1)
        guard log(program, &buffer) == 0 else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// A value behind a lock.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try mutex.withLock { value in try body(&value) }
    }
}
