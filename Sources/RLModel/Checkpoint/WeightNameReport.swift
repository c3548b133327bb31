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

    /// The most names or mismatches listed per kind of problem; the rest are counted.
    static let listed = 4

    /// One line per kind of problem (at most `listed` items each, then a count), or "all weights match".
    public var description: String {
        if isClean { return "all weights match" }
        func names(_ all: [String]) -> String {
            all.prefix(Self.listed).joined(separator: ", ") + (all.count > Self.listed ? " and \(all.count - Self.listed) more" : "")
        }
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing (\(missing.count)): " + names(missing)) }
        if !unexpected.isEmpty { lines.append("unexpected (\(unexpected.count)): " + names(unexpected)) }
        for item in mismatched.prefix(Self.listed) {
            lines.append("shape mismatch: \(item.name) expected \(item.expected), found \(item.found)")
        }
        if mismatched.count > Self.listed { lines.append("and \(mismatched.count - Self.listed) more shape mismatches") }
        return lines.joined(separator: "\n")
    }
}
