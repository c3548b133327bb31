/// An instantiated CUDA graph recorded by `CUDABackend.recordWork`, with the buffers its kernels
/// use that were allocated while it was recorded (held here so no other tensor gets their
/// memory while the graph may still run). Destroyed with its last reference; a launch still in
/// flight then finishes first (the driver frees the executable graph on completion, and the
/// released buffers are reused only by later work on the same stream).
final class CUDAGraph: RecordedWork, @unchecked Sendable {
    private let backend: CUDABackend
    private let functions: CUDAGraphFunctions
    private let graph: OpaquePointer?
    private let executable: OpaquePointer?
    private let buffers: [CUDABuffer]

    init(backend: CUDABackend, functions: CUDAGraphFunctions, graph: OpaquePointer?, executable: OpaquePointer?, buffers: [CUDABuffer]) {
        self.backend = backend
        self.functions = functions
        self.graph = graph
        self.executable = executable
        self.buffers = buffers
    }

    /// Launches the graph on the backend's stream (`cuGraphLaunch`).
    func replay() throws {
        let driver = backend.driver
        _ = driver.cuCtxSetCurrent(backend.context)
        try driver.check(functions.launch(executable, backend.stream), "cuGraphLaunch")
    }

    deinit {
        _ = backend.driver.cuCtxSetCurrent(backend.context)
        _ = functions.destroyExecutable(executable)
        _ = functions.destroyGraph(graph)
        withExtendedLifetime(buffers) {}
    }
}
