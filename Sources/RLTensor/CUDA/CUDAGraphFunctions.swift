/// The CUDA driver's stream-capture and graph entry points (`cuda.h`, CUDA 11.4 and later),
/// resolved with `dlsym`. Optional: a driver that lacks any of them leaves
/// `CUDADriver.graphs` nil and every step runs eagerly.
///
/// Signatures (CUgraph, CUgraphExec and CUstream are opaque pointers):
/// `cuStreamBeginCapture_v2(CUstream, CUstreamCaptureMode)` (what `cuStreamBeginCapture` names
/// since CUDA 10.1), `cuStreamEndCapture(CUstream, CUgraph *)`,
/// `cuGraphInstantiateWithFlags(CUgraphExec *, CUgraph, unsigned long long)` (what
/// `cuGraphInstantiate` names since CUDA 12), `cuGraphLaunch(CUgraphExec, CUstream)`,
/// `cuGraphExecDestroy(CUgraphExec)`, `cuGraphDestroy(CUgraph)`.
struct CUDAGraphFunctions: @unchecked Sendable {
    typealias Handle = OpaquePointer
    let beginCapture: @convention(c) (Handle?, Int32) -> Int32
    let endCapture: @convention(c) (Handle?, UnsafeMutablePointer<Handle?>) -> Int32
    let instantiate: @convention(c) (UnsafeMutablePointer<Handle?>, Handle?, UInt64) -> Int32
    let launch: @convention(c) (Handle?, Handle?) -> Int32
    let destroyExecutable: @convention(c) (Handle?) -> Int32
    let destroyGraph: @convention(c) (Handle?) -> Int32

    /// `CU_STREAM_CAPTURE_MODE_RELAXED`: the capturing thread may still call the driver's
    /// non-stream APIs (`cuMemAlloc` when the allocator's cache misses).
    static let captureModeRelaxed: Int32 = 2

    /// The entry points, or nil when the driver lacks one of them.
    init?(handle h: CUDALibraries.Handle) {
        func sym<T>(_ name: String, _: T.Type = T.self) -> T? { h.symbol(name).map { unsafeBitCast($0, to: T.self) } }
        guard let beginCapture = sym("cuStreamBeginCapture_v2", (@convention(c) (Handle?, Int32) -> Int32).self),
              let endCapture = sym("cuStreamEndCapture", (@convention(c) (Handle?, UnsafeMutablePointer<Handle?>) -> Int32).self),
              let instantiate = sym("cuGraphInstantiateWithFlags", (@convention(c) (UnsafeMutablePointer<Handle?>, Handle?, UInt64) -> Int32).self),
              let launch = sym("cuGraphLaunch", (@convention(c) (Handle?, Handle?) -> Int32).self),
              let destroyExecutable = sym("cuGraphExecDestroy", (@convention(c) (Handle?) -> Int32).self),
              let destroyGraph = sym("cuGraphDestroy", (@convention(c) (Handle?) -> Int32).self)
        else { return nil }
        self.beginCapture = beginCapture
        self.endCapture = endCapture
        self.instantiate = instantiate
        self.launch = launch
        self.destroyExecutable = destroyExecutable
        self.destroyGraph = destroyGraph
    }
}
