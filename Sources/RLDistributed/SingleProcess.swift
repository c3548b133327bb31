/// One process alone: rank 0 of 1, and every collective leaves the data as it is.
public final class SingleProcess: Collective {
    public init() {}

    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public var summary: String { "one process" }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, element: CollectiveElement, operation: ReduceOperation,
                          label: String) throws {}

    public func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int, label: String) throws {
        guard root == 0 else { throw CollectiveError(rank: 0, operation: "broadcast (\(label))", reason: "root \(root) of a 1-process group") }
    }

    public func allGather(_ send: UnsafeRawPointer, byteCount: Int, into result: UnsafeMutableRawPointer, label: String) throws {
        if result != UnsafeMutableRawPointer(mutating: send) { result.copyMemory(from: send, byteCount: byteCount) }
    }

    public func reduceScatter(_ send: UnsafeRawPointer, into result: UnsafeMutableRawPointer, count: Int, element: CollectiveElement,
                              label: String) throws {
        if result != UnsafeMutableRawPointer(mutating: send) { result.copyMemory(from: send, byteCount: count * element.byteSize) }
    }

    public func barrier(label: String) throws {}
}
