import FoundationEssentials
import RLMath
import RLModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One scored completion: a line of `<output>/<task>.jsonl`.
public struct EvaluationRecord: Codable, Sendable, Hashable {
    public var task: String
    public var problemID: String
    public var sample: Int
    public var completion: String
    /// The answer RLMath found in the completion (nil when none).
    public var extractedAnswer: String?
    public var correct: Bool
    /// True when no gold answer of the problem parses; the completion then counts as wrong.
    public var goldUnparseable: Bool
    /// Why the completion is wrong (RLMath's `Verdict.Reason`), nil when correct.
    public var reason: String?
    /// Generated tokens (the stopping EOS included).
    public var tokens: Int
    /// `eos`, `length` or `stop`.
    public var finishReason: String

    public init(task: String, problemID: String, sample: Int, completion: String, extractedAnswer: String?, correct: Bool,
                goldUnparseable: Bool, reason: String?, tokens: Int, finishReason: String) {
        self.task = task
        self.problemID = problemID
        self.sample = sample
        self.completion = completion
        self.extractedAnswer = extractedAnswer
        self.correct = correct
        self.goldUnparseable = goldUnparseable
        self.reason = reason
        self.tokens = tokens
        self.finishReason = finishReason
    }

    enum CodingKeys: String, CodingKey {
        case task, problemID = "problem_id", sample, completion, extractedAnswer = "extracted_answer", correct
        case goldUnparseable = "gold_unparseable", reason, tokens, finishReason = "finish_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(task, forKey: .task)
        try c.encode(problemID, forKey: .problemID)
        try c.encode(sample, forKey: .sample)
        try c.encode(completion, forKey: .completion)
        try c.encode(extractedAnswer, forKey: .extractedAnswer)
        try c.encode(correct, forKey: .correct)
        try c.encode(goldUnparseable, forKey: .goldUnparseable)
        try c.encode(reason, forKey: .reason)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(finishReason, forKey: .finishReason)
    }

    /// The record as one JSON line (keys sorted, no trailing newline).
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Scores completions of a problem against its gold answers with RLMath in `eval` mode.
public struct EvaluationScorer: Sendable {
    public let verifier: MathVerifier

    public init(verifier: MathVerifier = MathVerifier()) {
        self.verifier = verifier
    }

    /// The golds of `problem` that RLMath can parse.
    public func parseableGolds(of problem: EvaluationProblem) -> [String] {
        problem.golds.filter { verifier.verify(gold: $0, completion: "", mode: .eval).reason != .goldUnparseable }
    }

    /// Scores `completion`: correct when it matches any parseable gold. When no gold parses, the
    /// completion is wrong and `goldUnparseable` is set, so the problem is reported, not silently scored.
    public func score(task: String, problem: EvaluationProblem, parseableGolds golds: [String], sample: Int,
                      completion: GeneratedCompletion) -> EvaluationRecord {
        var verdict: Verdict?
        for gold in golds {
            let candidate = verifier.verify(gold: gold, completion: completion.text, mode: .eval)
            if verdict == nil || candidate.isCorrect { verdict = candidate }
            if candidate.isCorrect { break }
        }
        let unparseable = golds.isEmpty
        let extracted = verdict?.extractedAnswer
            ?? (unparseable ? verifier.verify(gold: problem.golds.first ?? "", completion: completion.text, mode: .eval).extractedAnswer : nil)
        return EvaluationRecord(
            task: task, problemID: problem.id, sample: sample, completion: completion.text, extractedAnswer: extracted,
            correct: verdict?.isCorrect ?? false, goldUnparseable: unparseable,
            reason: unparseable ? Verdict.Reason.goldUnparseable.rawValue : verdict?.reason?.rawValue,
            tokens: completion.tokenCount, finishReason: completion.finishReason.rawValue)
    }
}

/// The records of one task's output file: read back on resume, appended as completions finish.
public final class EvaluationRecordFile {
    public let url: URL
    private var handle: UnsafeMutablePointer<FILE>?

    public init(url: URL) {
        self.url = url
    }

    deinit { close() }

    /// Reads the complete records of the file (none when it does not exist). A last line cut off
    /// by an interrupted run (no line break after it) is dropped and the file rewritten without
    /// it; any other line that is not a record is an error naming it (such a line used to be
    /// dropped silently, and the file rewritten without it).
    public func readRecords() throws -> [EvaluationRecord] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        var records: [EvaluationRecord] = []
        var keptLines: [Substring] = []
        var dropped = false
        let text = String(decoding: data, as: UTF8.self)
        let decoder = JSONDecoder()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where !line.isEmpty {
            if let record = try? decoder.decode(EvaluationRecord.self, from: Data(line.utf8)) {
                records.append(record)
                keptLines.append(line)
            } else if index == lines.count - 1 {
                dropped = true  // the unterminated last line of an interrupted write
            } else {
                throw EvaluationError.badRow(file: url.path, line: index + 1, reason: "not an evaluation record (only a last line "
                    + "cut off by an interrupted run is repaired); fix or delete the line, or use another output folder")
            }
        }
        if dropped || (!text.isEmpty && !text.hasSuffix("\n")) {
            let cleaned = keptLines.map { $0 + "\n" }.joined()
            do {
                try Data(cleaned.utf8).write(to: url, options: .atomic)
            } catch {
                throw EvaluationError.output("\(url.path): cannot rewrite (\(fileErrorText(error)))")
            }
        }
        return records
    }

    /// Appends one record as a line and flushes it to the operating system.
    public func append(_ record: EvaluationRecord) throws {
        if handle == nil {
            guard let opened = fopen(url.path, "a") else {
                throw EvaluationError.output("\(url.path): cannot open for appending")
            }
            handle = opened
        }
        let line = try record.jsonLine() + "\n"
        let written = line.utf8CString.withUnsafeBufferPointer { buffer in
            fwrite(buffer.baseAddress, 1, buffer.count - 1, handle)
        }
        guard written == line.utf8.count, fflush(handle) == 0 else {
            throw EvaluationError.output("\(url.path): write failed")
        }
    }

    public func close() {
        if let handle { fclose(handle) }
        handle = nil
    }
}
