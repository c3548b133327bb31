import RLTensor

extension Collective {
    /// Sums `tensors` across ranks, in place, in buckets of `defaultBucketBytes` (see
    /// `allReduce(tensors:bucketBytes:label:)`).
    public func allReduce(tensors: [Tensor], label: String) throws {
        try allReduce(tensors: tensors, bucketBytes: defaultBucketBytes, label: label)
    }

    /// Copies rank `root`'s `tensors` into every rank's, in buckets of `defaultBucketBytes`.
    public func broadcast(tensors: [Tensor], root: Int = 0, label: String) throws {
        try broadcast(tensors: tensors, root: root, bucketBytes: defaultBucketBytes, label: label)
    }

    /// 4 MiB: host buckets that stay in cache; Open MPI's all-reduce over shared memory runs
    /// 5–6 GB/s up to 4 MiB and under 1 GB/s from 16 MiB on the machines measured
    /// (`Benchmarks/results/distributed.md`).
    public var defaultBucketBytes: Int { 4 << 20 }

    public func allReduce(tensors: [Tensor], bucketBytes: Int, label: String) throws {
        try hostAllReduce(tensors: tensors, bucketBytes: bucketBytes, label: label)
    }

    public func broadcast(tensors: [Tensor], root: Int, bucketBytes: Int, label: String) throws {
        try hostBroadcast(tensors: tensors, root: root, bucketBytes: bucketBytes, label: label)
    }

    /// Sums `tensors` across ranks, in place: they are packed in the order given into host
    /// buckets of at most `bucketBytes` as f32, each bucket is all-reduced in one call, and the
    /// sums are written back (in the tensors' own dtype). Every rank must pass tensors of the
    /// same shapes in the same order; the fixed order makes runs reproducible.
    public func hostAllReduce(tensors: [Tensor], bucketBytes: Int, label: String) throws {
        guard worldSize > 1 else { return }
        try forEachBucket(tensors, bucketBytes: bucketBytes) { bucket, index in
            try bucket.withUnsafeMutableBytes {
                try allReduce($0.baseAddress!, count: $0.count / 4, element: .float32, operation: .sum, label: "\(label), bucket \(index)")
            }
        }
    }

    /// Copies rank `root`'s `tensors` into every rank's through host buckets (same shapes and
    /// order on every rank).
    public func hostBroadcast(tensors: [Tensor], root: Int, bucketBytes: Int, label: String) throws {
        guard worldSize > 1 else { return }
        try forEachBucket(tensors, bucketBytes: bucketBytes) { bucket, index in
            try bucket.withUnsafeMutableBytes { try broadcast($0.baseAddress!, byteCount: $0.count, root: root, label: "\(label), bucket \(index)") }
        }
    }

    /// Packs consecutive tensors into f32 buckets, runs `body` on each, and writes each bucket
    /// back into its tensors. A tensor larger than a bucket gets a bucket of its own.
    private func forEachBucket(_ tensors: [Tensor], bucketBytes: Int, _ body: (inout [Float], Int) throws -> Void) throws {
        let limit = Swift.max(1, bucketBytes / 4)
        var start = 0, index = 0
        while start < tensors.count {
            var end = start, elements = 0
            while end < tensors.count && (end == start || elements + tensors[end].count <= limit) {
                elements += tensors[end].count
                end += 1
            }
            var bucket = [Float](repeating: 0, count: elements)
            var offset = 0
            for tensor in tensors[start..<end] {
                bucket.withUnsafeMutableBytes { bytes in
                    let slot = UnsafeMutableRawBufferPointer(rebasing: bytes[(offset * 4)..<((offset + tensor.count) * 4)])
                    if let packed = packedF32(tensor) {
                        packed.storage.backend.download(packed.storage.buffer, byteOffset: packed.offset * 4, into: slot)
                    } else {
                        tensor.toFloatArray().withUnsafeBytes { slot.copyMemory(from: $0) }
                    }
                }
                offset += tensor.count
            }
            try body(&bucket, index)
            offset = 0
            for tensor in tensors[start..<end] {
                bucket.withUnsafeBytes { bytes in
                    let slot = UnsafeRawBufferPointer(rebasing: bytes[(offset * 4)..<((offset + tensor.count) * 4)])
                    if let packed = packedF32(tensor) {
                        packed.storage.backend.upload(slot, to: packed.storage.buffer, byteOffset: packed.offset * 4)
                    } else {
                        let update = Tensor(Array(slot.bindMemory(to: Float.self)), shape: tensor.shape, device: tensor.device)
                        tensor.assign(update.cast(to: tensor.dtype))
                    }
                }
                offset += tensor.count
            }
            start = end
            index += 1
        }
    }

    /// The tensor itself when it is packed f32 (its elements can be moved as bytes), else nil.
    private func packedF32(_ tensor: Tensor) -> Tensor? {
        tensor.dtype == .f32 && tensor.isContiguous ? tensor : nil
    }
}
