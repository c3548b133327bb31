import ArgumentParser
import FoundationEssentials
import RLMath
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks model answers against gold answers with RLMath.
@main
struct CheckAnswer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-answer",
        abstract: "Check whether a completion's final answer equals a gold answer.",
        discussion: """
            Single check:  check-answer --gold '\\frac{1}{2}' --answer 'so \\boxed{0.5}'
            Batch:         check-answer --jsonl < cases.jsonl   (objects with string fields gold and answer)
            """
    )

    @Option(help: "Gold answer (LaTeX or plain), or a worked solution whose last \\boxed{} is the answer.")
    var gold: String?

    @Option(help: "Model completion to check.")
    var answer: String?

    @Flag(help: "Read JSON Lines from stdin and write one JSON verdict per line.")
    var jsonl = false

    @Option(help: "reward (anchored answers only) or eval (may fall back to the last expression).")
    var mode: VerificationMode = .reward

    mutating func validate() throws {
        if !jsonl && (gold == nil || answer == nil) {
            throw ValidationError("Pass --gold and --answer, or --jsonl.")
        }
    }

    func run() throws {
        let verifier = MathVerifier()
        if jsonl {
            runJSONLines(verifier)
            return
        }
        let verdict = verifier.verify(gold: gold ?? "", completion: answer ?? "", mode: mode)
        print("correct: \(verdict.isCorrect)")
        print("extracted: \(verdict.extractedAnswer ?? "(none)")")
        print("parsed answer: \(verdict.parsedAnswer ?? "(none)")")
        print("parsed gold: \(verdict.parsedGold ?? "(unparseable)")")
        if let reason = verdict.reason { print("reason: \(reason.rawValue)") }
    }

    private struct Case: Decodable {
        var gold: String
        var answer: String
    }

    /// Streams stdin line by line; a malformed line yields `{"error": …}` and the run continues.
    private func runJSONLines(_ verifier: MathVerifier) {
        let decoder = JSONDecoder()
        while let line = readLine(strippingNewline: true) {
            let output: String
            do {
                let item = try decoder.decode(Case.self, from: Data(line.utf8))
                let verdict = verifier.verify(gold: item.gold, completion: item.answer, mode: mode)
                output = "{\"correct\": \(verdict.isCorrect), \"extracted\": \(jsonString(verdict.extractedAnswer)), \"gold_extracted\": \(jsonString(verdict.parsedGold))}"
            } catch {
                output = "{\"error\": \(jsonString("malformed input line: expected a JSON object with string fields gold and answer"))}"
            }
            print(output)
            fflush(nil)  // one answer per line as it is ready, for callers that talk over a pipe
        }
    }
}

extension VerificationMode: ExpressibleByArgument {}

/// A JSON string literal (or `null`).
private func jsonString(_ value: String?) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    // Encoding a string or nil cannot fail.
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}
