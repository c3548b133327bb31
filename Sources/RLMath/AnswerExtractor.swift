/// How strictly answers are located in a completion.
public enum VerificationMode: String, Sendable, CaseIterable {
    /// GRPO accuracy reward: only anchored answers count (a box, an `<answer>` tag, an answer phrase).
    case reward
    /// Benchmark scoring (lighteval style): may also fall back to a leading choice letter, the last
    /// math expression or number, and accepts a decimal that rounds the gold's value to its own
    /// places with at least two significant digits (`0.33` for 1/3, also inside intervals and matrices).
    case eval
}

/// An answer found in a completion.
public struct ExtractedAnswer: Sendable, Hashable {
    /// Where the answer was found, in priority order.
    public enum Source: String, Sendable, Hashable {
        case boxed, answerTag, finalAnswerPhrase, answerPhrase, choiceLetter, displayMath, inlineMath, bareMath, lastNumber
    }

    /// The answer text as written (box content, text after an answer phrase …).
    public let text: String
    public let source: Source
}

/// Finds candidate final answers in a model completion.
public enum AnswerExtractor {
    /// Completions longer than this are only searched in their last part.
    static let searchWindow = 64 * 1024
    /// Answers longer than this are not answers.
    static let maximumAnswerLength = 4_096

    /// Candidates in priority order (the verifier uses the first that parses):
    /// the last `\boxed{}` (adjacent boxes form one list), the last `<answer>` tag,
    /// "final answer is …", "answer: …", and in `.eval` mode a multiple-choice letter opening the
    /// completion (`A. Because …`), the last display math, inline math, LaTeX without delimiters
    /// ending the text, and number.
    public static func candidates(in completion: String, mode: VerificationMode) -> [ExtractedAnswer] {
        var results: [ExtractedAnswer] = []
        forEachCandidate(in: completion, mode: mode) { results.append($0); return false }
        return results
    }

    /// Calls `body` with each candidate in priority order until it returns true; later
    /// (more expensive) searches are skipped once a candidate is accepted.
    static func forEachCandidate(in completion: String, mode: VerificationMode, _ body: (ExtractedAnswer) -> Bool) {
        var utf8 = Array(completion.utf8)
        if utf8.count > searchWindow { utf8 = Array(utf8[(utf8.count - searchWindow)...]) }
        let scanner = CompletionScanner(bytes: utf8)
        func offer(_ bytes: ArraySlice<UInt8>?, _ source: ExtractedAnswer.Source) -> Bool {
            guard let bytes else { return false }
            let trimmed = CompletionScanner.trimAnswer(bytes)
            guard !trimmed.isEmpty, trimmed.count <= maximumAnswerLength else { return false }
            return body(ExtractedAnswer(text: String(decoding: trimmed, as: UTF8.self), source: source))
        }
        // A "final answer is …" statement after the last box restates the answer last (lighteval gives the
        // template line the same priority as boxes, right-most first).
        let boxStarts = scanner.boxStarts()
        if let lastBox = boxStarts.last, let end = scanner.phraseAnchorEnds(downTo: lastBox).final,
           scanner.mathFollows(end), offer(scanner.answerAfter(end), .finalAnswerPhrase) { return }
        let boxed = scanner.lastBoxedAnswer(boxStarts: boxStarts)
        if offer(boxed, .boxed) { return }
        // A box too long to be an answer is still the answer the model gave: no fallback to a
        // number inside it (`\boxed{1+1+…+1}` was marked correct against `1` by its last number).
        if let boxed, CompletionScanner.trimAnswer(boxed).count > maximumAnswerLength { return }
        if let tag = scanner.lastAnswerTagContent() {
            let inner = CompletionScanner(bytes: Array(tag))
            // Prose inside the tag ("The area is 25 square units") gives the part after its last " is ".
            let isProse = !tag.contains(UInt8(ascii: "\\")) && !tag.contains(UInt8(ascii: "$"))
            let content = inner.lastPhraseAnswer(finalOnly: false) ?? (isProse ? inner.answerAfter(0) : nil) ?? tag
            if offer(content, .answerTag) { return }
        }
        let anchors = scanner.phraseAnchorEnds()
        if let end = anchors.final, offer(scanner.answerAfter(end), .finalAnswerPhrase) { return }
        if let end = anchors.plain, end != anchors.final, offer(scanner.answerAfter(end), .answerPhrase) { return }
        guard mode == .eval else { return }
        if offer(scanner.leadingChoiceLetter(), .choiceLetter) { return }
        if offer(scanner.lastAnswerWordWithMath(), .answerPhrase) { return }
        if offer(scanner.lastDisplayMath(), .displayMath) { return }
        if offer(scanner.lastInlineMath(), .inlineMath) { return }
        if offer(scanner.lastBareMath(), .bareMath) { return }
        _ = offer(scanner.lastNumber(), .lastNumber)
    }

    /// The gold answer text: the last box of a worked solution, else the string itself.
    static func goldText(_ gold: String) -> String {
        let bytes = Array(gold.utf8)
        if bytes.count <= searchWindow, bytes.contains(UInt8(ascii: "\\")) {
            let scanner = CompletionScanner(bytes: bytes)
            if let boxed = scanner.lastBoxedAnswer() { return String(decoding: boxed, as: UTF8.self) }
        }
        return gold
    }
}
