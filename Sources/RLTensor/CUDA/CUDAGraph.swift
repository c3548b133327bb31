/// An instantiated CUDA graph recorded by `CUDABackend.recordWork`, owning the allocator pool its
/// kernels' buffers came from while it was recorded (no other tensor gets that memory while the
/// graph lives). Destroyed with its last reference; a launch still in flight then finishes first
/// (the driver frees the executable graph on completion, and the pool's blocks go back to the
/// cache, reused only by later work on the same stream).
final class CUDAGraph: RecordedWork, @unchecked Sendable {
    private let backend: CUDABackend
    private let functions: CUDAGraphFunctions
    private let graph: OpaquePointer?
    private let executable: OpaquePointer?
    private let pool: Int

    init(backend: CUDABackend, functions: CUDAGraphFunctions, graph: OpaquePointer?, executable: OpaquePointer?, pool: Int) {
        self.backend = backend
        self.functions = functions
        self.graph = graph
        self.executable = executable
        self.pool = pool
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
        backend.allocator.dropPool(pool)
    }
}
