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

    @Option(help: "Checking threads for --jsonl (default: the CPUs this process may use). Verdicts stay in input order.")
    var threads: Int?

    @Option(help: "Longest --jsonl input line in bytes; a longer line gets an error verdict.")
    var maxLineBytes = 64 << 20

    mutating func validate() throws {
        if !jsonl && (gold == nil || answer == nil) {
            throw ValidationError("Pass --gold and --answer, or --jsonl.")
        }
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be between 1 and 1024 (got \(threads)).")
        }
        if !(1...(1 << 30)).contains(maxLineBytes) {
            throw ValidationError("--max-line-bytes must be between 1 and \(1 << 30) (got \(maxLineBytes)).")
        }
    }

    func run() throws {
        let verifier = MathVerifier()
        if jsonl {
            let session = JSONLinesSession(verifier: verifier, mode: mode, threads: threads ?? availableCPUs(),
                                           maximumLineBytes: maxLineBytes)
            do {
                try session.run()
            } catch {
                let message = Array("check-answer: \(error)\n".utf8)
                _ = message.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
                throw ExitCode(1)
            }
            return
        }
        let verdict = verifier.verify(gold: gold ?? "", completion: answer ?? "", mode: mode)
        print("correct: \(verdict.isCorrect)")
        print("extracted: \(verdict.extractedAnswer ?? "(none)")")
        print("parsed answer: \(verdict.parsedAnswer ?? "(none)")")
        print("parsed gold: \(verdict.parsedGold ?? "(unparseable)")")
        if let reason = verdict.reason { print("reason: \(reason.rawValue)") }
    }
}

extension VerificationMode: ExpressibleByArgument {}

/// The CPUs online.
private func availableCPUs() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}
