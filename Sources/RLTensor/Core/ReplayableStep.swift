/// A computation run many times over inputs that keep their memory: recorded on its first run
/// where the backend records work (`ComputeBackend.recordWork(_:)`, CUDA graphs) and replayed
/// afterwards, run afresh each time elsewhere (the CPU).
///
/// `body` must read everything that changes between runs from tensors whose storage outlives the
/// step and is written in place between runs (`Tensor.overwrite(with:)`), never from host values
/// it captured: a replay repeats the recorded kernels with the recorded arguments. It must not
/// read device memory back, upload or synchronize. Its results are the same tensors on every
/// replay, rewritten by each one: read them before the next `run()`.
public final class ReplayableStep: @unchecked Sendable {
    private let backend: any ComputeBackend
    private let body: () -> [Tensor]
    /// The recording and the outputs its work writes, after a first run that recorded.
    private var recording: (work: any RecordedWork, outputs: [Tensor])?
    private var triedRecording = false

    /// A step on `device` (not run yet).
    public init(device: Device, body: @escaping () -> [Tensor]) {
        backend = BackendRegistry.backend(for: device)
        self.body = body
    }

    /// Whether the step is recorded and `run()` replays it (false until a first run recorded it,
    /// and always on a backend that does not record).
    public var isRecorded: Bool { recording != nil }

    /// Runs the step and returns its outputs: the first run records it when the backend can and
    /// then replays the recording; later runs replay it, or call `body` again when there is no
    /// recording. Throws the backend's error when a replay cannot be issued.
    public func run() throws -> [Tensor] {
        if let recording {
            try recording.work.replay()
            return recording.outputs
        }
        if !triedRecording {
            triedRecording = true
            var outputs: [Tensor] = []
            if let work = backend.recordWork({ outputs = body() }) {
                recording = (work, outputs)
                try work.replay()
                return outputs
            }
        }
        return body()
    }
}
