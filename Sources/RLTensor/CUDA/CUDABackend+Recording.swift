#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A recording under way: the buffers allocated during it (they become the graph's) and the
/// first reason it cannot be used.
struct CUDACapture {
    var buffers: [CUDABuffer] = []
    var failure: String?
}

extension CUDABackend {
    /// Records `body`'s work as a CUDA graph: the stream is captured (relaxed mode) while `body`
    /// runs, the graph instantiated, and the buffers allocated meanwhile kept by it so they keep
    /// their addresses. An upload, download, synchronize or failed launch during the capture, or
    /// a failing driver call, fails the recording: the first failure is logged once to standard
    /// error and every later call returns nil at once, so callers run their work eagerly.
    public func recordWork(_ body: () -> Void) -> (any RecordedWork)? {
        guard recordingDisabled.withLock({ $0 == nil }), let graphs = driver.graphs else { return nil }
        let started = capture.withLock { state -> Bool in
            guard state == nil else { return false }
            state = CUDACapture()
            return true
        }
        guard started else { return nil }  // recordings do not nest
        _ = driver.cuCtxSetCurrent(context)
        let begin = graphs.beginCapture(stream, CUDAGraphFunctions.captureModeRelaxed)
        guard begin == 0 else {
            capture.withLock { $0 = nil }
            disableRecording("cuStreamBeginCapture failed: \(driver.describe(begin))")
            return nil
        }
        body()
        var graph: OpaquePointer?
        let end = graphs.endCapture(stream, &graph)
        let state = capture.withLock { state -> CUDACapture in
            defer { state = nil }
            return state ?? CUDACapture()
        }
        if end != 0 || state.failure != nil || graph == nil {
            if let graph { _ = graphs.destroyGraph(graph) }
            disableRecording(state.failure ?? "cuStreamEndCapture failed: \(driver.describe(end))")
            return nil
        }
        var executable: OpaquePointer?
        let instantiated = graphs.instantiate(&executable, graph, 0)
        guard instantiated == 0, executable != nil else {
            _ = graphs.destroyGraph(graph)
            disableRecording("cuGraphInstantiateWithFlags failed: \(driver.describe(instantiated))")
            return nil
        }
        return CUDAGraph(backend: self, functions: graphs, graph: graph, executable: executable, buffers: state.buffers)
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
