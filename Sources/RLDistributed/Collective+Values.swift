extension Collective {
    /// Combines `values` across ranks, in place (every rank must pass the same count).
    public func allReduce(_ values: inout [Double], operation: ReduceOperation = .sum, label: String) throws {
        guard worldSize > 1, !values.isEmpty else { return }
        let count = values.count
        try values.withUnsafeMutableBytes { try allReduce($0.baseAddress!, count: count, element: .float64, operation: operation, label: label) }
    }

    /// Combines `values` across ranks, in place (every rank must pass the same count).
    public func allReduce(_ values: inout [Float], operation: ReduceOperation = .sum, label: String) throws {
        guard worldSize > 1, !values.isEmpty else { return }
        let count = values.count
        try values.withUnsafeMutableBytes { try allReduce($0.baseAddress!, count: count, element: .float32, operation: operation, label: label) }
    }

    /// Every rank's `bytes`, in rank order; the ranks may pass different lengths.
    public func allGather(bytes: [UInt8], label: String) throws -> [[UInt8]] {
        guard worldSize > 1 else { return [bytes] }
        var lengths = [Double](repeating: 0, count: worldSize)
        lengths[rank] = Double(bytes.count)
        try allReduce(&lengths, label: "\(label): lengths")
        let longest = Int(lengths.max() ?? 0)
        let padded = bytes + [UInt8](repeating: 0, count: longest - bytes.count)
        var gathered = [UInt8](repeating: 0, count: longest * worldSize)
        if longest > 0 {
            try padded.withUnsafeBytes { send in
                try gathered.withUnsafeMutableBytes { try allGather(send.baseAddress!, byteCount: longest, into: $0.baseAddress!, label: label) }
            }
        }
        return (0..<worldSize).map { r in Array(gathered[(r * longest)..<(r * longest + Int(lengths[r]))]) }
    }

    /// Rank `root`'s `bytes` on every rank (the others' input is ignored; lengths may differ).
    public func broadcast(bytes: [UInt8], root: Int = 0, label: String) throws -> [UInt8] {
        guard worldSize > 1 else { return bytes }
        var length = [Double(rank == root ? bytes.count : 0)]
        try length.withUnsafeMutableBytes { try broadcast($0.baseAddress!, byteCount: 8, root: root, label: "\(label): length") }
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        if !result.isEmpty {
            try result.withUnsafeMutableBytes { try broadcast($0.baseAddress!, byteCount: $0.count, root: root, label: label) }
        }
        return result
    }
}
