/// How a checkpoint's tensors compare with the names and shapes a model expects.
public struct WeightNameReport: Equatable, Sendable, CustomStringConvertible {
    /// A tensor present on both sides whose shapes differ.
    public struct ShapeMismatch: Equatable, Sendable {
        public let name: String
        public let expected: [Int]
        public let found: [Int]
    }

    /// Expected tensors the checkpoint lacks, sorted.
    public let missing: [String]
    /// Checkpoint tensors the model does not expect, sorted.
    public let unexpected: [String]
    /// Tensors with the wrong shape, sorted by name.
    public let mismatched: [ShapeMismatch]

    /// Compares `expected` with `found` (both tensor name → shape).
    public init(expected: [String: [Int]], found: [String: [Int]]) {
        missing = expected.keys.filter { found[$0] == nil }.sorted()
        unexpected = found.keys.filter { expected[$0] == nil }.sorted()
        mismatched = expected.keys.sorted().compactMap { name in
            guard let want = expected[name], let have = found[name], want != have else { return nil }
            return ShapeMismatch(name: name, expected: want, found: have)
        }
    }

    /// Compares `expected` with the tensors of `checkpoint` (headers only, no data is read).
    public init(expected: [String: [Int]], checkpoint: CheckpointReader) {
        self.init(expected: expected, found: checkpoint.shapes)
    }

    /// True when every expected tensor is present with its shape and nothing else is.
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    /// One line per problem, or "all weights match".
    public var description: String {
        if isClean { return "all weights match" }
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing (\(missing.count)): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("unexpected (\(unexpected.count)): " + unexpected.joined(separator: ", ")) }
        for item in mismatched {
            lines.append("shape mismatch: \(item.name) expected \(item.expected), found \(item.found)")
        }
        return lines.joined(separator: "\n")
    }
}
