import CRLDistributed
import RLTensor
#if canImport(Glibc)
import Glibc
#endif

/// Why NCCL cannot be used here.
public struct NCCLUnavailable: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { reason }
}

/// The ranks of an MPI job, one GPU each, reducing CUDA tensors with NCCL (`libnccl.so.2`, from
/// the `nvidia-nccl-cu12`/`-cu13` wheels, a CUDA install or `RL_NCCL_LIBRARY`; opened at run
/// time). MPI bootstraps it (rank 0's NCCL id is broadcast) and carries everything that is not a
/// CUDA tensor: `allReduce(tensors:)` and `broadcast(tensors:)` on packed f32 CUDA tensors run on
/// the GPU, on the CUDA backend's stream, grouped into one NCCL launch per call; host buffers go
/// through `host`.
public final class NCCLCollective: Collective, @unchecked Sendable {
    /// The MPI ranks this communicator spans; host-memory collectives go through it.
    public let host: any Collective
    public var rank: Int { host.rank }
    public var worldSize: Int { host.worldSize }
    public let summary: String
    private let communicator: UnsafeMutableRawPointer

    /// NCCL's version (e.g. 22703 for 2.27.3), after `load()` succeeded.
    nonisolated(unsafe) private static var loaded: Result<(path: String, version: Int32), NCCLUnavailable>?

    /// Opens NCCL once: the library that would be used and its version, or what was tried and why
    /// it failed.
    public static func availability() -> Result<String, NCCLUnavailable> {
        load().map { "NCCL \($0.version / 10_000).\($0.version / 100 % 100).\($0.version % 100) at \($0.path)" }
    }

    static func load() -> Result<(path: String, version: Int32), NCCLUnavailable> {
        if let loaded { return loaded }
        var candidates = ["libnccl.so.2", "libnccl.so"]
        if let override = getenvString("RL_NCCL_LIBRARY") { candidates.insert(override, at: 0) }
        let result = open(candidates: candidates)
        loaded = result
        return result
    }

    /// Opens the first of `candidates` (paths or sonames, searched as `CUDALibraries` searches)
    /// that is NCCL 2.x, and binds its entry points.
    static func open(candidates: [String]) -> Result<(path: String, version: Int32), NCCLUnavailable> {
        let result: Result<(path: String, version: Int32), NCCLUnavailable>
        switch CUDALibraries.open("NCCL (libnccl.so.2)", sonames: candidates) {
        case .failure(let notFound):
            result = .failure(NCCLUnavailable(reason: "\(notFound); install it with pip install nvidia-nccl-cu12 (or -cu13) "
                + "or name the file in RL_NCCL_LIBRARY"))
        case .success(let handle):
            var missing = [CChar](repeating: 0, count: 128)
            if rl_nccl_bind(handle.raw, &missing, missing.count) != 0 {
                let name = String(decoding: missing.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                result = .failure(NCCLUnavailable(reason: "\(handle.path) is not NCCL 2.x: it lacks \(name)"))
            } else {
                var version: Int32 = 0
                let status = rl_nccl_get_version(&version)
                result = status == 0 ? .success((handle.path, version))
                    : .failure(NCCLUnavailable(reason: "ncclGetVersion failed: \(describe(status))"))
            }
        }
        return result
    }

    /// Joins the NCCL communicator of `host`'s ranks (every rank calls it, after making its CUDA
    /// backend current: one GPU per rank).
    public static func join(over host: any Collective) throws -> NCCLCollective {
        let (path, version) = try load().get()
        var id = rl_nccl_unique_id()
        if host.rank == 0 {
            let status = rl_nccl_get_unique_id(&id)
            guard status == 0 else { throw NCCLUnavailable(reason: "ncclGetUniqueId failed: \(describe(status))") }
        }
        try withUnsafeMutableBytes(of: &id) { try host.broadcast($0.baseAddress!, byteCount: $0.count, root: 0, label: "NCCL id") }
        var communicator: UnsafeMutableRawPointer?
        let status = rl_nccl_comm_init_rank(&communicator, Int32(host.worldSize), &id, Int32(host.rank))
        guard status == 0, let communicator else {
            throw NCCLUnavailable(reason: "rank \(host.rank): ncclCommInitRank failed: \(describe(status))")
        }
        return NCCLCollective(host: host, communicator: communicator,
                              summary: "NCCL \(version / 10_000).\(version / 100 % 100).\(version % 100) (\(path)) over \(host.summary)")
    }

    private init(host: any Collective, communicator: UnsafeMutableRawPointer, summary: String) {
        self.host = host
        self.communicator = communicator
        self.summary = summary
    }

    deinit { _ = rl_nccl_comm_destroy(communicator) }

    static func describe(_ status: Int32) -> String {
        "\(String(cString: rl_nccl_error_string(status))) (ncclResult \(status))"
    }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, element: CollectiveElement, operation: ReduceOperation,
                          label: String) throws {
        try host.allReduce(buffer, count: count, element: element, operation: operation, label: label)
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int, label: String) throws {
        try host.broadcast(buffer, byteCount: byteCount, root: root, label: label)
    }

    public func allGather(_ send: UnsafeRawPointer, byteCount: Int, into result: UnsafeMutableRawPointer, label: String) throws {
        try host.allGather(send, byteCount: byteCount, into: result, label: label)
    }

    public func reduceScatter(_ send: UnsafeRawPointer, into result: UnsafeMutableRawPointer, count: Int, element: CollectiveElement,
                              label: String) throws {
        try host.reduceScatter(send, into: result, count: count, element: element, label: label)
    }

    public func barrier(label: String) throws { try host.barrier(label: label) }

    /// Sums packed f32 CUDA tensors in place on the GPU (one NCCL group); any other tensors go
    /// through `host`'s buckets.
    public func allReduce(tensors: [Tensor], bucketBytes: Int, label: String) throws {
        let rest = try grouped("all-reduce (\(label))", tensors) { tensor, address, stream in
            rl_nccl_all_reduce(address, address, tensor.count, Int32(RL_NCCL_FLOAT32), Int32(RL_NCCL_SUM), communicator, stream)
        }
        if !rest.isEmpty { try host.allReduce(tensors: rest, bucketBytes: bucketBytes, label: label) }
    }

    /// Copies rank `root`'s packed f32 CUDA tensors to every rank on the GPU; others through `host`.
    public func broadcast(tensors: [Tensor], root: Int, bucketBytes: Int, label: String) throws {
        let rest = try grouped("broadcast (\(label))", tensors) { tensor, address, stream in
            rl_nccl_broadcast(address, address, tensor.count, Int32(RL_NCCL_FLOAT32), Int32(root), communicator, stream)
        }
        if !rest.isEmpty { try host.broadcast(tensors: rest, root: root, bucketBytes: bucketBytes, label: label) }
    }

    /// Runs `call` (one NCCL operation) on each packed f32 CUDA tensor inside one group, waits
    /// for the stream, and returns the tensors it could not take (other dtypes or devices).
    private func grouped(_ operation: String, _ tensors: [Tensor],
                         _ call: (Tensor, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32) throws -> [Tensor] {
        let onDevice = tensors.compactMap { tensor in tensor.dtype == .f32 ? tensor.cudaMemory.map { (tensor, $0) } : nil }
        let rest = tensors.filter { $0.dtype != .f32 || $0.cudaMemory == nil }
        guard let first = onDevice.first else { return rest }
        var status = rl_nccl_group_start()
        for (tensor, memory) in onDevice where status == 0 {
            status = call(tensor, UnsafeMutableRawPointer(bitPattern: UInt(memory.address)), UnsafeMutableRawPointer(memory.stream))
        }
        let ended = rl_nccl_group_end()
        if status == 0 { status = ended }
        guard status == 0 else { throw CollectiveError(rank: rank, operation: operation, reason: Self.describe(status)) }
        try first.0.storage.backend.synchronize()
        return rest
    }
}

/// An environment variable's value, nil when unset or empty.
func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}
