/// The CUDA driver API and cuBLAS entry points RLTensor uses, resolved with `dlsym`.
///
/// Types follow `cuda.h` / `cublas_api.h` (declared here by hand, so no CUDA header is needed at
/// build time): `CUresult`/`cublasStatus_t` are `Int32`, `CUdevice` is `Int32`, `CUdeviceptr` is
/// `UInt64`, handles are opaque pointers. Device pointers passed where cuBLAS takes `void *` are
/// `UInt64` (same register class in the C calling convention of the 64-bit targets we support).
final class CUDADriver: @unchecked Sendable {
    typealias Handle = OpaquePointer

    let path: String
    let cuInit: @convention(c) (UInt32) -> Int32
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Int32
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Int32
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Int32
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<Handle?>, Int32) -> Int32
    let cuCtxSetCurrent: @convention(c) (Handle?) -> Int32
    let cuCtxSynchronize: @convention(c) () -> Int32
    let cuStreamCreate: @convention(c) (UnsafeMutablePointer<Handle?>, UInt32) -> Int32
    let cuStreamSynchronize: @convention(c) (Handle?) -> Int32
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<UInt64>, Int) -> Int32
    let cuMemFree: @convention(c) (UInt64) -> Int32
    let cuMemGetInfo: @convention(c) (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> Int32
    let cuMemcpyHtoDAsync: @convention(c) (UInt64, UnsafeRawPointer?, Int, Handle?) -> Int32
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer?, UInt64, Int, Handle?) -> Int32
    let cuMemcpyDtoDAsync: @convention(c) (UInt64, UInt64, Int, Handle?) -> Int32
    let cuMemsetD8Async: @convention(c) (UInt64, UInt8, Int, Handle?) -> Int32
    let cuModuleLoadData: @convention(c) (UnsafeMutablePointer<Handle?>, UnsafeRawPointer) -> Int32
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<Handle?>, Handle?, UnsafePointer<CChar>) -> Int32
    let cuFuncSetAttribute: @convention(c) (Handle?, Int32, Int32) -> Int32
    let cuLaunchKernel: @convention(c) (Handle?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, Handle?,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32
    let cuGetErrorString: @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32
    let cuGetErrorName: @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32
    /// Stream capture and graphs, nil on a driver without them.
    let graphs: CUDAGraphFunctions?

    // CUdevice_attribute and CUfunction_attribute values used here (cuda.h).
    static let attributeMultiprocessorCount: Int32 = 16
    static let attributeComputeCapabilityMajor: Int32 = 75
    static let attributeComputeCapabilityMinor: Int32 = 76
    static let attributeMaxSharedMemoryPerBlockOptin: Int32 = 97
    static let functionAttributeMaxDynamicSharedSize: Int32 = 8
    static let errorOutOfMemory: Int32 = 2

    init(handle h: CUDALibraries.Handle) throws {
        func sym<T>(_ name: String, _: T.Type = T.self) throws -> T {
            guard let p = h.symbol(name) else { throw CUDAError("the CUDA driver at \(h.path) lacks \(name); update the NVIDIA driver") }
            return unsafeBitCast(p, to: T.self)
        }
        path = h.path
        cuInit = try sym("cuInit")
        cuDriverGetVersion = try sym("cuDriverGetVersion")
        cuDeviceGetCount = try sym("cuDeviceGetCount")
        cuDeviceGet = try sym("cuDeviceGet")
        cuDeviceGetName = try sym("cuDeviceGetName")
        cuDeviceGetAttribute = try sym("cuDeviceGetAttribute")
        cuDeviceTotalMem = try sym("cuDeviceTotalMem_v2")
        cuDevicePrimaryCtxRetain = try sym("cuDevicePrimaryCtxRetain")
        cuCtxSetCurrent = try sym("cuCtxSetCurrent")
        cuCtxSynchronize = try sym("cuCtxSynchronize")
        cuStreamCreate = try sym("cuStreamCreate")
        cuStreamSynchronize = try sym("cuStreamSynchronize")
        cuMemAlloc = try sym("cuMemAlloc_v2")
        cuMemFree = try sym("cuMemFree_v2")
        cuMemGetInfo = try sym("cuMemGetInfo_v2")
        cuMemcpyHtoDAsync = try sym("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try sym("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try sym("cuMemcpyDtoDAsync_v2")
        cuMemsetD8Async = try sym("cuMemsetD8Async")
        cuModuleLoadData = try sym("cuModuleLoadData")
        cuModuleGetFunction = try sym("cuModuleGetFunction")
        cuFuncSetAttribute = try sym("cuFuncSetAttribute")
        cuLaunchKernel = try sym("cuLaunchKernel")
        cuGetErrorString = try sym("cuGetErrorString")
        cuGetErrorName = try sym("cuGetErrorName")
        graphs = CUDAGraphFunctions(handle: h)
    }

    /// `cuGetErrorName: cuGetErrorString` for a status.
    func describe(_ status: Int32) -> String {
        var name: UnsafePointer<CChar>?, text: UnsafePointer<CChar>?
        _ = cuGetErrorName(status, &name)
        _ = cuGetErrorString(status, &text)
        let n = name.map { String(cString: $0) } ?? "CUDA error \(status)"
        return text.map { "\(n): \(String(cString: $0))" } ?? n
    }

    /// Throws `CUDAError("<what>: <driver text>")` unless `status` is CUDA_SUCCESS.
    func check(_ status: Int32, _ what: @autoclosure () -> String) throws {
        if status != 0 { throw CUDAError("\(what()) failed: \(describe(status))") }
    }
}

/// cuBLAS (v2 API) entry points.
final class CUBLAS: @unchecked Sendable {
    typealias Handle = OpaquePointer
    let path: String
    let create: @convention(c) (UnsafeMutablePointer<Handle?>) -> Int32
    let setStream: @convention(c) (Handle?, OpaquePointer?) -> Int32
    let setMathMode: @convention(c) (Handle?, Int32) -> Int32
    let sgemmStridedBatched: @convention(c) (
        Handle?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UInt64, Int32, Int64, UInt64, Int32, Int64,
        UnsafePointer<Float>, UInt64, Int32, Int64, Int32
    ) -> Int32
    let gemmStridedBatchedEx: @convention(c) (
        Handle?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer, UInt64, Int32, Int32, Int64, UInt64, Int32, Int32, Int64,
        UnsafeRawPointer, UInt64, Int32, Int32, Int64, Int32, Int32, Int32
    ) -> Int32
    let statusString: (@convention(c) (Int32) -> UnsafePointer<CChar>?)?

    // cudaDataType_t / cublasComputeType_t / cublasOperation_t / cublasMath_t values.
    static let r32F: Int32 = 0, r16BF: Int32 = 14, r16F: Int32 = 2
    static let compute32F: Int32 = 68
    static let gemmDefault: Int32 = -1
    static let opN: Int32 = 0, opT: Int32 = 1
    static let defaultMath: Int32 = 0

    init(handle h: CUDALibraries.Handle) throws {
        func sym<T>(_ name: String, _: T.Type = T.self) throws -> T {
            guard let p = h.symbol(name) else { throw CUDAError("cuBLAS at \(h.path) lacks \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        path = h.path
        create = try sym("cublasCreate_v2")
        setStream = try sym("cublasSetStream_v2")
        setMathMode = try sym("cublasSetMathMode")
        sgemmStridedBatched = try sym("cublasSgemmStridedBatched")
        gemmStridedBatchedEx = try sym("cublasGemmStridedBatchedEx")
        statusString = h.symbol("cublasGetStatusString").map { unsafeBitCast($0, to: (@convention(c) (Int32) -> UnsafePointer<CChar>?).self) }
    }

    func check(_ status: Int32, _ what: @autoclosure () -> String) throws {
        guard status != 0 else { return }
        let text = statusString?(status).map { String(cString: $0) } ?? "cuBLAS status \(status)"
        throw CUDAError("\(what()) failed: \(text)")
    }
}
