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
            try runJSONLines(verifier)
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

    /// Streams stdin line by line; a malformed or overlong line yields `{"error": …}` and the run
    /// continues. A read error (stdin a directory, an I/O error) ends the run with a message on
    /// stderr and exit status 1, never with exit 0 and missing answers.
    private func runJSONLines(_ verifier: MathVerifier) throws {
        let decoder = JSONDecoder()
        var reader = StandardInputLines()
        while true {
            let next: StandardInputLines.Line?
            do { next = try reader.next() } catch {
                FileHandleStandardError.write("check-answer: cannot read standard input: \(error)")
                throw ExitCode.failure
            }
            guard let line = next else { return }
            let output: String
            switch line {
            case .tooLong:
                output = "{\"error\": \(jsonString("input line longer than \(StandardInputLines.maximumLineBytes) bytes"))}"
            case .text(let bytes):
                do {
                    let item = try decoder.decode(Case.self, from: Data(bytes))
                    let verdict = verifier.verify(gold: item.gold, completion: item.answer, mode: mode)
                    output = "{\"correct\": \(verdict.isCorrect), \"extracted\": \(jsonString(verdict.extractedAnswer)), \"gold_extracted\": \(jsonString(verdict.parsedGold))}"
                } catch {
                    output = "{\"error\": \(jsonString("malformed input line: expected a JSON object with string fields gold and answer"))}"
                }
            }
            print(output)
            fflush(nil)  // one answer per line as it is ready, for callers that talk over a pipe
        }
    }
}

/// Lines of standard input read with `read(2)`, so that a read error is seen (Swift's
/// `readLine()` reports it as the end of input) and a line's length is bounded.
struct StandardInputLines {
    enum Line { case text([UInt8]), tooLong }
    struct ReadError: Error, CustomStringConvertible {
        let code: Int32
        var description: String { String(cString: strerror(code)) }
    }

    /// The longest line kept (a longer one is reported as `.tooLong` and skipped).
    static let maximumLineBytes = 16 << 20
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false

    /// The next line without its line break, or nil at the end of input.
    mutating func next() throws -> Line? {
        var overlong = false
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                if overlong { return .tooLong }
                return .text(line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line)
            }
            if buffer.count - start > Self.maximumLineBytes {
                overlong = true
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            if finished {
                guard start < buffer.count else { return overlong ? .tooLong : nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return overlong ? .tooLong : .text(line)
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(code: errno)
            }
            if count == 0 { finished = true } else { buffer.append(contentsOf: chunk[..<count]) }
        }
    }
}

/// One line to standard error.
enum FileHandleStandardError {
    static func write(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
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
