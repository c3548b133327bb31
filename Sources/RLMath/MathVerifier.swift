/// The outcome of checking one completion against a gold answer.
public struct Verdict: Sendable, Hashable {
    /// Why a verdict is false.
    public enum Reason: String, Sendable, Hashable {
        /// The gold answer could not be parsed (it is never silently rewarded).
        case goldUnparseable
        /// No anchored answer (box, tag, answer phrase) was found.
        case noAnswerFound
        /// Answers were found but none could be parsed.
        case answerUnparseable
        /// The answer parsed but is not equivalent to the gold.
        case notEquivalent
    }

    public let isCorrect: Bool
    /// The answer text as found in the completion, if any.
    public let extractedAnswer: String?
    /// The parsed gold, rendered; nil when the gold did not parse.
    public let parsedGold: String?
    /// The parsed answer, rendered.
    public let parsedAnswer: String?
    /// Set when `isCorrect` is false.
    public let reason: Reason?
}

/// Checks completions against gold answers. Stateless, `Sendable`, safe to call from any thread;
/// every call finishes in bounded time (see `Exact` limits) without timeouts or threads.
public struct MathVerifier: Sendable {
    public var options: EquivalenceOptions

    public init(options: EquivalenceOptions = EquivalenceOptions()) {
        self.options = options
    }

    /// Parses `gold` (a bare benchmark answer such as `204`, `3\sqrt{13}`, `$6m$`, or a worked
    /// solution whose last `\boxed{}` is the answer), extracts the completion's final answer
    /// according to `mode`, and compares them.
    public func verify(gold: String, completion: String, mode: VerificationMode = .reward) -> Verdict {
        let goldText = AnswerExtractor.goldText(gold)
        guard let goldNode = LatexParser.parse(goldText.utf8) else {
            let extracted = AnswerExtractor.candidates(in: completion, mode: mode).first?.text
            return Verdict(isCorrect: false, extractedAnswer: extracted, parsedGold: nil, parsedAnswer: nil, reason: .goldUnparseable)
        }
        let renderedGold = goldNode.rendered(depth: 0)
        var firstCandidate: String?
        var verdict: Verdict?
        let comparer = Comparer(options: options, acceptsRoundedDecimals: mode == .eval)
        // A gold written with a decimal comma (`2,74`) is compared in that reading with single values.
        let goldDecimalComma = goldNode.isScalar ? nil : DecimalComma.reading(of: goldText).flatMap { LatexParser.parse($0.utf8) }
        AnswerExtractor.forEachCandidate(in: completion, mode: mode) { candidate in
            if firstCandidate == nil { firstCandidate = candidate.text }
            let prose = candidate.source != .boxed && !candidate.text.utf8.contains(UInt8(ascii: "\\"))
            // The answer with its decimal comma read as a point: tried when the text does not parse as
            // written, or when its list reading cannot equal a single-valued gold.
            lazy var decimalReading = DecimalComma.reading(of: candidate.text).flatMap { LatexParser.parse($0.utf8, prose: prose) }
            guard var answerNode = LatexParser.parse(candidate.text.utf8, prose: prose) ?? decimalReading else { return false }
            var correct = comparer.equal(gold: goldNode, answer: answerNode)
            if !correct, goldNode.isScalar, !answerNode.isScalar, let decimal = decimalReading, comparer.equal(gold: goldNode, answer: decimal) {
                answerNode = decimal
                correct = true
            }
            if !correct, let goldDecimalComma, answerNode.isScalar, comparer.equal(gold: goldDecimalComma, answer: answerNode) {
                correct = true
            }
            verdict = Verdict(isCorrect: correct, extractedAnswer: candidate.text, parsedGold: renderedGold,
                              parsedAnswer: answerNode.rendered(depth: 0), reason: correct ? nil : .notEquivalent)
            return true
        }
        if let verdict { return verdict }
        guard let firstCandidate else {
            return Verdict(isCorrect: false, extractedAnswer: nil, parsedGold: renderedGold, parsedAnswer: nil, reason: .noAnswerFound)
        }
        return Verdict(isCorrect: false, extractedAnswer: firstCandidate, parsedGold: renderedGold, parsedAnswer: nil, reason: .answerUnparseable)
    }
}
