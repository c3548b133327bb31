import RLTensor

/// How an all-reduce combines the ranks' values.
public enum ReduceOperation: Sendable, Equatable {
    case sum
    case max
}

/// The element types the collectives move.
public enum CollectiveElement: Sendable, Equatable {
    case float32
    case float64
    case byte

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float64: return 8
        case .byte: return 1
        }
    }
}

/// A group of cooperating processes (ranks `0..<worldSize`) and the collective operations of
/// data-parallel training: all-reduce, broadcast, all-gather, reduce-scatter and barrier.
///
/// Every rank must call the same operations in the same order with the same sizes (the MPI
/// rule); `label` names the call in error and timeout messages (e.g. `"gradients, step 3"`).
/// Buffers are host memory; `Collective+Tensors` moves tensors of any backend through them.
/// Implementations: `SingleProcess` (the default; every operation is the identity) and
/// `MPICollective` (MPI loaded at run time). A collective that does not complete within its
/// timeout ends the process with one line naming the rank and the operation.
public protocol Collective: AnyObject, Sendable {
    /// This process's index, `0..<worldSize`.
    var rank: Int { get }
    /// The number of processes.
    var worldSize: Int { get }
    /// What runs the collectives, for logs (e.g. `"MPI (Open MPI v4.1.4), 2 ranks"`).
    var summary: String { get }

    /// Combines `count` elements of every rank's `buffer` with `operation`, in place: afterwards
    /// every rank holds the result. The combination order is fixed for a given world size, so
    /// runs are reproducible.
    func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, element: CollectiveElement, operation: ReduceOperation,
                   label: String) throws
    /// Copies `byteCount` bytes of rank `root`'s `buffer` into every rank's `buffer`.
    func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int, label: String) throws
    /// Gathers `byteCount` bytes from every rank into `result` (`worldSize × byteCount` bytes,
    /// rank 0's first).
    func allGather(_ send: UnsafeRawPointer, byteCount: Int, into result: UnsafeMutableRawPointer, label: String) throws
    /// Sums `worldSize × count` elements across ranks and leaves rank r with the sum's r-th block
    /// of `count` elements in `result`.
    func reduceScatter(_ send: UnsafeRawPointer, into result: UnsafeMutableRawPointer, count: Int, element: CollectiveElement,
                       label: String) throws
    /// Returns once every rank has called it.
    func barrier(label: String) throws
    /// Sums `tensors` across ranks, in place, in buckets of at most `bucketBytes` (same shapes
    /// and order on every rank). The default packs them into host buffers (`hostAllReduce`).
    func allReduce(tensors: [Tensor], bucketBytes: Int, label: String) throws
    /// Copies rank `root`'s `tensors` into every rank's. The default goes through host buffers.
    func broadcast(tensors: [Tensor], root: Int, bucketBytes: Int, label: String) throws
}

/// A collective operation that failed: the rank, the operation and why.
public struct CollectiveError: Error, CustomStringConvertible, Sendable {
    public let rank: Int
    public let operation: String
    public let reason: String

    public init(rank: Int, operation: String, reason: String) {
        self.rank = rank
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "rank \(rank): \(operation) failed: \(reason)" }
}
