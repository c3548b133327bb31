#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a CUDA GPU can be used, and if not, why.
public struct CUDAAvailability: Sendable, CustomStringConvertible {
    public let isAvailable: Bool
    /// The GPU and libraries found, or what is missing and where it was looked for.
    public let description: String
}

/// The CUDA backend: the `ComputeBackend` contract on an NVIDIA GPU.
///
/// Nothing is linked: the driver (`libcuda.so.1`), NVRTC and cuBLAS are opened with `dlopen`
/// (search order in `CUDALibraries`), the kernels (`Kernels/*.cu`, embedded in the binary) are
/// compiled by NVRTC for the GPU's `sm_XY` and cached in memory and on disk. All work goes to one
/// stream in order; `upload`/`download` wait for it. Launch and library errors are kept and
/// thrown by the next `synchronize()`, which also surfaces asynchronous kernel faults; set
/// `RLTENSOR_CUDA_SYNC=1` to synchronize after every kernel and fail at the faulty one.
/// `recordWork` records work as a CUDA graph (`RLTENSOR_CUDA_GRAPHS=0`, or a driver without
/// the graph API, runs it eagerly instead).
public final class CUDABackend: ComputeBackend, @unchecked Sendable {
    public let device: Device
    /// The GPU's name, e.g. "NVIDIA H100 80GB HBM3".
    public let name: String
    /// `sm_XY` of the GPU; the kernels are compiled for it.
    public let architecture: String
    public let multiprocessorCount: Int
    public let totalMemory: Int
    /// Where the driver, NVRTC and cuBLAS were loaded from.
    public let libraryPaths: [String]

    let driver: CUDADriver
    let blas: CUBLAS
    let nvrtc: NVRTC
    let context: OpaquePointer?
    let stream: OpaquePointer?
    let blasHandle: OpaquePointer?
    let allocator: CUDAAllocator
    let maxSharedMemoryOptin: Int
    private let functions: [String: OpaquePointer]
    private let largeSharedConfigured = LockedBox<Set<String>>([])
    private let pendingError = LockedBox<CUDAError?>(nil)
    private let syncEveryLaunch: Bool
    /// The recording under way (`recordWork`), if any.
    let capture = LockedBox<CUDACapture?>(nil)
    /// Why work is no longer recorded (set once: by `RLTENSOR_CUDA_GRAPHS=0`, by
    /// `RLTENSOR_CUDA_SYNC=1`, by a driver without graphs, or by the first failed recording).
    let recordingDisabled = LockedBox<String?>(nil)

    // MARK: availability

    private static let driverLibrary = LockedBox<Result<CUDADriver, CUDAError>?>(nil)
    private static let computeLibraries = LockedBox<Result<(NVRTC, CUBLAS), CUDAError>?>(nil)

    /// Opens the driver once per process.
    static func loadDriver() -> Result<CUDADriver, CUDAError> {
        driverLibrary.withLock { cached in
            if let cached { return cached }
            let result: Result<CUDADriver, CUDAError>
            switch CUDALibraries.open("the CUDA driver (libcuda)", sonames: ["libcuda.so.1", "libcuda.so"], driver: true) {
            case .failure(let e): result = .failure(CUDAError("no NVIDIA driver: \(e)"))
            case .success(let h):
                do { result = .success(try CUDADriver(handle: h)) } catch let e as CUDAError { result = .failure(e) } catch {
                    result = .failure(CUDAError("\(error)"))
                }
            }
            cached = result
            return result
        }
    }

    /// The CUDA version the driver supports (`cuDriverGetVersion`: 1000 × major + 10 × minor), or
    /// nil without a driver.
    static func driverVersion() -> Int? {
        guard case .success(let driver) = loadDriver() else { return nil }
        var version: Int32 = 0
        guard driver.cuDriverGetVersion(&version) == 0, version > 0 else { return nil }
        return Int(version)
    }

    /// Opens NVRTC and cuBLAS once per process.
    static func loadComputeLibraries() -> Result<(NVRTC, CUBLAS), CUDAError> {
        computeLibraries.withLock { cached in
            if let cached { return cached }
            let result: Result<(NVRTC, CUBLAS), CUDAError>
            do {
                let nvrtc = try NVRTC.load().get()
                // cuBLAS needs cuBLASLt from the same release: the one in cuBLAS's own folder is
                // opened first, globally (when cuBLAS is found by soname, the loader finds it).
                let blasHandle = try CUDALibraries.open("cuBLAS", sonames: ["libcublas.so.13", "libcublas.so.12", "libcublas.so"],
                                                        driverVersion: driverVersion(), companions: CUDALibraries.cuBLASCompanions)
                    .mapError { CUDAError($0.description) }.get()
                result = .success((nvrtc, try CUBLAS(handle: blasHandle)))
            } catch let e as CUDAError {
                result = .failure(e)
            } catch {
                result = .failure(CUDAError("\(error)"))
            }
            cached = result
            return result
        }
    }

    /// Whether GPU `ordinal` can be used, with the reason when it cannot: no driver, the driver
    /// failing to start, no GPU, then a missing NVRTC or cuBLAS (with every place searched).
    /// Never crashes.
    public static func availability(ordinal: Int = 0) -> CUDAAvailability {
        let driver: CUDADriver
        switch loadDriver() {
        case .failure(let e): return CUDAAvailability(isAvailable: false, description: e.message)
        case .success(let d): driver = d
        }
        var status = driver.cuInit(0)
        guard status == 0 else {
            return CUDAAvailability(isAvailable: false, description: "the CUDA driver at \(driver.path) did not initialise: \(driver.describe(status))")
        }
        var count: Int32 = 0
        status = driver.cuDeviceGetCount(&count)
        guard status == 0, count > 0 else {
            return CUDAAvailability(isAvailable: false, description: "no CUDA GPU is visible (\(status == 0 ? "0 devices" : driver.describe(status)))")
        }
        guard ordinal < Int(count) else {
            return CUDAAvailability(isAvailable: false, description: "no GPU \(ordinal): \(count) visible")
        }
        switch loadComputeLibraries() {
        case .failure(let e): return CUDAAvailability(isAvailable: false, description: "\(count) GPU(s) but \(e.message)")
        case .success(let (nvrtc, blas)):
            var version: Int32 = 0
            _ = driver.cuDriverGetVersion(&version)
            let builtins = nvrtc.builtinsPath.map { " (builtins \($0))" } ?? ""
            return CUDAAvailability(isAvailable: true, description: "\(count) GPU(s), driver API \(version / 1000).\(version % 1000 / 10) at \(driver.path), NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) at \(nvrtc.path)\(builtins), cuBLAS at \(blas.path)")
        }
    }

    /// True when `availability(ordinal: 0)` is.
    public static var isAvailable: Bool { availability().isAvailable }

    private static let instances = LockedBox<[Int: CUDABackend]>([:])

    /// The backend for GPU `ordinal`, created (and registered with `BackendRegistry`) on first use.
    public static func shared(ordinal: Int = 0) throws -> CUDABackend {
        try instances.withLock { all in
            if let existing = all[ordinal] { return existing }
            let backend = try CUDABackend(ordinal: ordinal)
            all[ordinal] = backend
            BackendRegistry.register(backend)
            return backend
        }
    }

    private init(ordinal: Int) throws {
        let availability = CUDABackend.availability(ordinal: ordinal)
        guard availability.isAvailable else { throw CUDAError("CUDA is not available: \(availability.description)") }
        let driver = try CUDABackend.loadDriver().get()
        let (nvrtc, blas) = try CUDABackend.loadComputeLibraries().get()
        self.driver = driver; self.nvrtc = nvrtc; self.blas = blas
        device = .cuda(ordinal)
        libraryPaths = [driver.path, nvrtc.path, blas.path]
        syncEveryLaunch = CUDALibraries.environment("RLTENSOR_CUDA_SYNC") == "1"
        if syncEveryLaunch {
            recordingDisabled.withLock { $0 = "RLTENSOR_CUDA_SYNC=1 synchronizes after every kernel" }
        } else if CUDALibraries.environment("RLTENSOR_CUDA_GRAPHS") == "0" {
            recordingDisabled.withLock { $0 = "RLTENSOR_CUDA_GRAPHS=0" }
        } else if driver.graphs == nil {
            recordingDisabled.withLock { $0 = "the driver at \(driver.path) lacks the graph API (CUDA 11.4)" }
        }

        var dev: Int32 = 0
        try driver.check(driver.cuDeviceGet(&dev, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try driver.check(driver.cuDeviceGetName(&nameBuffer, 255, dev), "cuDeviceGetName")
        name = nameBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        func attribute(_ a: Int32) throws -> Int {
            var v: Int32 = 0
            try driver.check(driver.cuDeviceGetAttribute(&v, a, dev), "cuDeviceGetAttribute(\(a))")
            return Int(v)
        }
        let major = try attribute(CUDADriver.attributeComputeCapabilityMajor)
        let minor = try attribute(CUDADriver.attributeComputeCapabilityMinor)
        architecture = CUDALibraries.environment("RLTENSOR_CUDA_ARCH") ?? "sm_\(major)\(minor)"
        multiprocessorCount = try attribute(CUDADriver.attributeMultiprocessorCount)
        maxSharedMemoryOptin = try attribute(CUDADriver.attributeMaxSharedMemoryPerBlockOptin)
        var total = 0
        try driver.check(driver.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem")
        totalMemory = total

        var ctx: OpaquePointer?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        context = ctx
        try driver.check(driver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        var s: OpaquePointer?
        try driver.check(driver.cuStreamCreate(&s, 0), "cuStreamCreate")
        stream = s
        var handle: OpaquePointer?
        try blas.check(blas.create(&handle), "cublasCreate")
        try blas.check(blas.setStream(handle, s), "cublasSetStream")
        try blas.check(blas.setMathMode(handle, CUBLAS.defaultMath), "cublasSetMathMode")
        blasHandle = handle
        allocator = CUDAAllocator(driver: driver, context: ctx)

        // Compile (or load from the cache) every kernel file and resolve its entry points.
        var functions: [String: OpaquePointer] = [:]
        let arch = architecture
        for (file, source) in CUDAKernelSources.files {
            let cubin = try CUDAKernelSources.cubin(file: file, source: source, architecture: arch, nvrtc: nvrtc)
            var module: OpaquePointer?
            try cubin.withUnsafeBytes { try driver.check(driver.cuModuleLoadData(&module, $0.baseAddress!), "cuModuleLoadData(\(file), \(arch))") }
            for entry in CUDAKernelSources.entryPoints(in: source) {
                var f: OpaquePointer?
                try driver.check(driver.cuModuleGetFunction(&f, module, entry), "cuModuleGetFunction(\(entry))")
                functions[entry] = f
            }
        }
        self.functions = functions
    }

    /// Memory statistics of the caching allocator.
    public var memoryStatistics: CUDAMemoryStatistics { allocator.statistics }
    /// Starts peak tracking afresh.
    public func resetPeakMemory() { allocator.resetPeaks() }
    /// Returns cached blocks to the driver (after a `synchronize`).
    public func emptyCache() { allocator.emptyCache() }

    /// Free and total device memory as the driver reports them.
    public func deviceMemoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        _ = driver.cuCtxSetCurrent(context)
        try driver.check(driver.cuMemGetInfo(&free, &total), "cuMemGetInfo")
        return (free, total)
    }

    // MARK: errors

    /// Keeps the first error for the next `synchronize()`.
    func record(_ error: CUDAError) {
        // While recording, an error fails the recording (the caller then runs its work eagerly).
        if noteCaptureFailure(error.message) { return }
        pendingError.withLock { if $0 == nil { $0 = error } }
        if syncEveryLaunch { fatalError("CUDA: \(error.message)") }
    }

    func attempt(_ body: () throws -> Void) {
        do { try body() } catch let e as CUDAError { record(e) } catch { record(CUDAError("\(error)")) }
    }

    // MARK: memory

    public func allocate(byteCount: Int) -> any DeviceBuffer {
        do {
            let (address, size) = try allocator.allocate(max(byteCount, 1))
            return CUDABuffer(address: address, byteCount: byteCount, blockSize: size, allocator: allocator)
        } catch {
            fatalError("CUDA: \(error)")
        }
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: any DeviceBuffer, byteOffset: Int) {
        let b = buffer as! CUDABuffer
        precondition(byteOffset + bytes.count <= b.byteCount, "upload past the end of the buffer")
        guard bytes.count > 0, !noteCaptureFailure("an upload from the host") else { return }
        attempt {
            _ = driver.cuCtxSetCurrent(context)
            try driver.check(driver.cuMemcpyHtoDAsync(b.address + UInt64(byteOffset), bytes.baseAddress, bytes.count, stream), "cuMemcpyHtoDAsync")
            try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize after an upload")
        }
    }

    public func download(_ buffer: any DeviceBuffer, byteOffset: Int, into bytes: UnsafeMutableRawBufferPointer) {
        let b = buffer as! CUDABuffer
        precondition(byteOffset + bytes.count <= b.byteCount, "download past the end of the buffer")
        guard bytes.count > 0, !noteCaptureFailure("a download to the host") else { return }
        attempt {
            _ = driver.cuCtxSetCurrent(context)
            try driver.check(driver.cuMemcpyDtoHAsync(bytes.baseAddress, b.address + UInt64(byteOffset), bytes.count, stream), "cuMemcpyDtoHAsync")
            try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize after a download (an earlier kernel may have faulted)")
        }
    }

    public func synchronize() throws {
        if noteCaptureFailure("a synchronize") { return }
        _ = driver.cuCtxSetCurrent(context)
        let status = driver.cuStreamSynchronize(stream)
        if let e = pendingError.withLock({ e -> CUDAError? in defer { e = nil }; return e }) { throw e }
        try driver.check(status, "cuStreamSynchronize (an asynchronous kernel error)")
    }

    /// Device-to-device byte copy on the backend's stream.
    /// Every driver call first makes the backend's context current on the calling thread: ops may
    /// run on any thread (worker threads, tasks), and a thread without it gets
    /// CUDA_ERROR_INVALID_CONTEXT (or works on another context).
    func copyBytes(from source: UInt64, to destination: UInt64, count: Int) {
        guard count > 0 else { return }
        attempt {
            _ = driver.cuCtxSetCurrent(context)
            try driver.check(driver.cuMemcpyDtoDAsync(destination, source, count, stream), "cuMemcpyDtoDAsync")
        }
    }

    func zero(_ address: UInt64, bytes: Int) {
        guard bytes > 0 else { return }
        attempt {
            _ = driver.cuCtxSetCurrent(context)
            try driver.check(driver.cuMemsetD8Async(address, 0, bytes, stream), "cuMemsetD8Async")
        }
    }

    // MARK: launches

    /// One kernel argument's bytes (8-byte aligned when passed).
    struct Argument {
        let bytes: [UInt8]
        static func value<T: BitwiseCopyable>(_ v: T) -> Argument { Argument(bytes: withUnsafeBytes(of: v) { Array($0) }) }
        static func ptr(_ address: UInt64) -> Argument { .value(address) }
        static func int(_ v: Int) -> Argument { .value(Int64(v)) }
        static func i32(_ v: Int32) -> Argument { .value(v) }
        static func f32(_ v: Float) -> Argument { .value(v) }
        static func int64s(_ v: [Int64]) -> Argument { Argument(bytes: v.withUnsafeBytes { Array($0) }) }
    }

    /// Launches `kernel` on the backend's stream; errors are recorded for `synchronize()`.
    func launch(_ kernel: String, grid: (Int, Int, Int), block: Int, sharedBytes: Int = 0, _ arguments: [Argument]) {
        guard grid.0 > 0, grid.1 > 0, grid.2 > 0 else { return }
        attempt {
            guard let function = functions[kernel] else { throw CUDAError("no CUDA kernel named \(kernel)") }
            _ = driver.cuCtxSetCurrent(context)
            if sharedBytes > 48 * 1024 {
                let configured = largeSharedConfigured.withLock { $0.contains(kernel) }
                if !configured {
                    guard sharedBytes <= maxSharedMemoryOptin else {
                        throw CUDAError("\(kernel) needs \(sharedBytes) bytes of shared memory; \(name) allows \(maxSharedMemoryOptin)")
                    }
                    try driver.check(driver.cuFuncSetAttribute(function, CUDADriver.functionAttributeMaxDynamicSharedSize, Int32(maxSharedMemoryOptin)),
                                     "cuFuncSetAttribute(\(kernel))")
                    largeSharedConfigured.withLock { _ = $0.insert(kernel) }
                }
            }
            // All argument values in one block, each at a 16-byte aligned slot; cuLaunchKernel
            // copies them before it returns.
            let slots = arguments.map { ($0.bytes.count + 15) / 16 * 16 }
            let packed = UnsafeMutableRawPointer.allocate(byteCount: max(slots.reduce(0, +), 16), alignment: 16)
            defer { packed.deallocate() }
            var storage: [UnsafeMutableRawPointer?] = []
            storage.reserveCapacity(arguments.count)
            var offset = 0
            for (arg, slot) in zip(arguments, slots) {
                let p = packed + offset
                arg.bytes.withUnsafeBytes { if let base = $0.baseAddress { p.copyMemory(from: base, byteCount: $0.count) } }
                storage.append(p)
                offset += slot
            }
            let status = storage.withUnsafeMutableBufferPointer { params in
                driver.cuLaunchKernel(function, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2), UInt32(block), 1, 1,
                                      UInt32(sharedBytes), stream, params.baseAddress, nil)
            }
            try driver.check(status, "launching \(kernel) (grid \(grid), block \(block), shared \(sharedBytes))")
            if syncEveryLaunch { try driver.check(driver.cuStreamSynchronize(stream), "\(kernel)") }
        }
    }

    /// Blocks for a grid-stride loop over `n` elements.
    func blocks(_ n: Int, threads: Int = 256) -> Int {
        max(1, min((n + threads - 1) / threads, multiprocessorCount * 32))
    }

    /// Threads per block for a row kernel over `cols` columns.
    static func rowThreads(_ cols: Int) -> Int {
        cols >= 8192 ? 1024 : (cols >= 1024 ? 512 : (cols >= 256 ? 256 : 128))
    }
}
