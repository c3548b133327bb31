/// Device work recorded once by `ComputeBackend.recordWork(_:)` and issued again as a whole: on
/// CUDA an instantiated graph, launched with one driver call instead of one per kernel.
///
/// A replay repeats the recorded work exactly: the same kernels with the same arguments on the
/// same memory. What changes between replays must therefore be read by the kernels from memory
/// that keeps its address (inputs written in place before the replay, e.g. with
/// `Tensor.overwrite(with:)`); the memory the work allocated while it was recorded belongs to the
/// recording and keeps its address for as long as the recording lives.
public protocol RecordedWork: AnyObject, Sendable {
    /// Issues the recorded work again, in order with the backend's other work. Throws the
    /// backend's error when the work cannot be issued.
    func replay() throws
}
