#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A recording under way: the allocator's pool for its buffers (the graph's memory) and the
/// first reason it cannot be used.
struct CUDACapture {
    var pool: Int
    var failure: String?
}

extension CUDABackend {
    /// Records `body`'s work as a CUDA graph: the stream is captured (relaxed mode) while `body`
    /// runs and the graph instantiated. Buffers allocated meanwhile come from a pool of the
    /// allocator that the graph owns (`CUDACapturePool`): reused within the capture as in eager
    /// execution, kept at their addresses for the replays. No other thread may issue work on
    /// this backend while `body` runs (it would be captured too). An upload, download, synchronize or failed launch during the capture, or
    /// a failing driver call, fails the recording: the first failure is logged once to standard
    /// error and every later call returns nil at once, so callers run their work eagerly.
    public func recordWork(_ body: () -> Void) -> (any RecordedWork)? {
        guard recordingDisabled.withLock({ $0 == nil }), let graphs = driver.graphs else { return nil }
        let started = capture.withLock { state -> Bool in
            guard state == nil else { return false }
            state = CUDACapture(pool: allocator.beginPool())
            return true
        }
        guard started else { return nil }  // recordings do not nest
        _ = driver.cuCtxSetCurrent(context)
        let begin = graphs.beginCapture(stream, CUDAGraphFunctions.captureModeRelaxed)
        guard begin == 0 else {
            let pool = endCapture().pool
            allocator.dropPool(pool)
            disableRecording("cuStreamBeginCapture failed: \(driver.describe(begin))")
            return nil
        }
        body()
        var graph: OpaquePointer?
        let end = graphs.endCapture(stream, &graph)
        let state = endCapture()
        if end != 0 || state.failure != nil || graph == nil {
            if let graph { _ = graphs.destroyGraph(graph) }
            allocator.dropPool(state.pool)
            disableRecording(state.failure ?? "cuStreamEndCapture failed: \(driver.describe(end))")
            return nil
        }
        var executable: OpaquePointer?
        let instantiated = graphs.instantiate(&executable, graph, 0)
        guard instantiated == 0, executable != nil else {
            _ = graphs.destroyGraph(graph)
            allocator.dropPool(state.pool)
            disableRecording("cuGraphInstantiateWithFlags failed: \(driver.describe(instantiated))")
            return nil
        }
        return CUDAGraph(backend: self, functions: graphs, graph: graph, executable: executable, pool: state.pool)
    }

    /// Ends the recording's bookkeeping (the allocator's pool keeps its blocks) and returns it.
    private func endCapture() -> CUDACapture {
        allocator.endPool()
        return capture.withLock { state in
            defer { state = nil }
            guard let recorded = state else { preconditionFailure("internal: no recording under way") }
            return recorded
        }
    }

    /// Why `recordWork` does not record (it then returns nil and callers run eagerly): set by
    /// `RLTENSOR_CUDA_GRAPHS=0`, `RLTENSOR_CUDA_SYNC=1`, a driver without the graph API, or the
    /// first recording that failed. Nil while work is recorded as CUDA graphs.
    public var recordingFallbackReason: String? { recordingDisabled.withLock { $0 } }

    /// While a recording is under way, keeps `what` as its failure (the first one wins) and
    /// returns true: the caller must then skip the operation. False when nothing is recorded.
    func noteCaptureFailure(_ what: @autoclosure () -> String) -> Bool {
        capture.withLock { state in
            guard state != nil else { return false }
            if state?.failure == nil { state?.failure = "\(what()) while recording" }
            return true
        }
    }

    /// Stops recording for good, with one line on standard error.
    private func disableRecording(_ reason: String) {
        let first = recordingDisabled.withLock { disabled -> Bool in
            guard disabled == nil else { return false }
            disabled = reason
            return true
        }
        guard first else { return }
        let line = "RLTensor CUDA: recording work as a CUDA graph failed (\(reason)); running every step eagerly from now on\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
