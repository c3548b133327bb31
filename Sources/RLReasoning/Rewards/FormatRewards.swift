/// Open-RS `format_reward`: 1 when the text contains "\n</think>\n" exactly once, else 0. Nothing
/// else is checked (the chat template already emits `<think>`).
public struct FormatReward: PerCompletionReward {
    public let name = "format"
    public init() {}
    public func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        occurrences(of: "\n</think>\n", in: completion) == 1 ? 1 : 0
    }
}

/// Open-RS `tag_count_reward`: 0.5 for exactly one "<think>\n" plus 0.5 for exactly one
/// "\n</think>\n".
public struct TagCountReward: PerCompletionReward {
    public let name = "tag_count"
    public init() {}
    public func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        (occurrences(of: "<think>\n", in: completion) == 1 ? 0.5 : 0)
            + (occurrences(of: "\n</think>\n", in: completion) == 1 ? 0.5 : 0)
    }
}

/// open-r1 `reasoning_steps_reward`: `min(1, k / 3)` where k counts step markers: "Step N:",
/// a number and a period at the very start of the text, a newline followed by "-" or "*", and
/// "First,", "Second,", "Next,", "Finally," (non-overlapping, left to right). Digits are what
/// Python's `\d` matches in a str pattern: any Unicode decimal digit (category Nd).
public struct ReasoningStepsReward: PerCompletionReward {
    public let name = "reasoning_steps"
    public init() {}

    public func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        Swift.min(1, Float(Self.stepMarkers(in: Array(completion.unicodeScalars))) / 3)
    }

    static func stepMarkers(in text: [Unicode.Scalar]) -> Int {
        let words: [[Unicode.Scalar]] = ["First,", "Second,", "Next,", "Finally,"].map { Array($0.unicodeScalars) }
        let step = Array("Step ".unicodeScalars)
        func isDigit(_ c: Unicode.Scalar) -> Bool { c.properties.numericType == .decimal }
        func match(at i: Int) -> Int? {  // length of a marker starting at i
            if text[i...].starts(with: step) {
                var j = i + step.count
                while j < text.count && isDigit(text[j]) { j += 1 }
                if j > i + step.count && j < text.count && text[j] == ":" { return j + 1 - i }
            }
            if i == 0 && isDigit(text[0]) {
                var j = 0
                while j < text.count && isDigit(text[j]) { j += 1 }
                if j < text.count && text[j] == "." { return j + 1 }
            }
            if text[i] == "\n" && i + 1 < text.count && (text[i + 1] == "-" || text[i + 1] == "*") {
                return 2
            }
            for word in words where text[i...].starts(with: word) { return word.count }
            return nil
        }
        var count = 0, i = 0
        while i < text.count {
            if let length = match(at: i) { count += 1; i += length } else { i += 1 }
        }
        return count
    }
}

/// open-r1 `repetition_penalty_reward`: `(1 - unique n-grams / n-grams) * maxPenalty` over the
/// lower-cased whitespace-separated words; 0 for texts with fewer than `n` words.
public struct RepetitionPenaltyReward: PerCompletionReward {
    public let name = "repetition_penalty"
    public let ngramSize: Int
    public let maxPenalty: Float

    /// `ngramSize` ≥ 1 and `maxPenalty` ≤ 0, else throws `TrainingError.invalidArgument`.
    public init(ngramSize: Int = 3, maxPenalty: Float = -1) throws {
        guard ngramSize >= 1 else { throw TrainingError.invalidArgument(name: "ngramSize", reason: "must be at least 1, got \(ngramSize)") }
        guard maxPenalty <= 0 else { throw TrainingError.invalidArgument(name: "maxPenalty", reason: "must be at most 0, got \(maxPenalty)") }
        self.ngramSize = ngramSize
        self.maxPenalty = maxPenalty
    }

    public func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        let words = completion.lowercased().split(whereSeparator: { $0.isWhitespace })
        guard words.count >= ngramSize, ngramSize > 0 else { return 0 }
        var unique = Set<[Substring]>()
        let total = words.count - ngramSize + 1
        for start in 0..<total { unique.insert(Array(words[start..<(start + ngramSize)])) }
        return (1 - Float(unique.count) / Float(total)) * maxPenalty
    }
}
