import FoundationEssentials

/// Deterministic random text for the bounded fuzz tests (the chat-template interpreter, the
/// recipe reader): concatenations of grammar fragments and mutations of valid documents, drawn
/// from a fixed seed so that a failure repeats exactly.
public struct FuzzInput {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The seed and iteration count of a fuzz test: `seed` and `count`, unless the environment
    /// sets `RL_FUZZ_SEED` / `RL_FUZZ_ITERATIONS` (for a longer exploration by hand).
    public static func settings(seed: UInt64, count: Int) -> (seed: UInt64, count: Int) {
        let environment = ProcessInfo.processInfo.environment
        return (environment["RL_FUZZ_SEED"].flatMap { UInt64($0) } ?? seed, environment["RL_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? count)
    }

    /// The next 64 random bits (SplitMix64).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0).
    public mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// 1 to `maximum` fragments, concatenated.
    public mutating func concatenation(of fragments: [String], maximum: Int) -> String {
        var text = ""
        for _ in 0...below(maximum) { text += fragments[below(fragments.count)] }
        return text
    }

    /// `document` with 1 to `maximum` random edits: a fragment inserted, a range deleted or
    /// duplicated, a character replaced by a random one, or two halves swapped.
    public mutating func mutation(of document: String, fragments: [String], maximum: Int) -> String {
        var scalars = Array(document.unicodeScalars)
        for _ in 0...below(maximum) {
            let position = scalars.isEmpty ? 0 : below(scalars.count + 1)
            let length = min(below(16) + 1, scalars.count - min(position, scalars.count))
            switch below(5) {
            case 0:
                scalars.insert(contentsOf: fragments[below(fragments.count)].unicodeScalars, at: position)
            case 1:
                scalars.removeSubrange(position..<position + length)
            case 2:
                scalars.insert(contentsOf: scalars[position..<position + length], at: position)
            case 3:
                if position < scalars.count, let scalar = Unicode.Scalar(UInt32(below(0x250))) { scalars[position] = scalar }
            default:
                scalars = Array(scalars[position...] + scalars[..<position])
            }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }
}
