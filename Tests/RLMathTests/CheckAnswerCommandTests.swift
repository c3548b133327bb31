import Foundation
import RLMath
import RLTestSupport
import Testing

/// `check-answer --jsonl` as other tools drive it: JSON Lines on stdin, verdicts on stdout.
@Suite("check-answer --jsonl")
struct CheckAnswerCommandTests {
    struct Run {
        var status: Int32
        var lines: [String]
        var stderr: String
    }

    /// The `check-answer` built beside the test bundle.
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("check-answer")

    static func run(_ arguments: [String], input: Data? = nil, inputFile: String? = nil) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "check-answer was not built beside the tests")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let inputPipe = Pipe()
        if let inputFile {
            process.standardInput = FileHandle(forReadingAtPath: inputFile)
        } else {
            process.standardInput = inputPipe
        }
        try process.run()
        if inputFile == nil {
            // Written from another thread so a large input cannot fill both pipes and stall.
            let writer = inputPipe.fileHandleForWriting
            let bytes = input ?? Data()
            let thread = Thread {
                writer.write(bytes)
                try? writer.close()
            }
            thread.start()
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: stdout, as: UTF8.self)
        return Run(status: process.terminationStatus, lines: text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    static func line(_ object: [String: Any]) throws -> Data {
        var data = try JSONSerialization.data(withJSONObject: object)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The checker cases, three times, with malformed lines and extra fields mixed in.
    static func mixedInput() throws -> (input: Data, expected: [(gold: String, answer: String)?]) {
        var input = Data()
        var expected: [(gold: String, answer: String)?] = []
        let cases = try Fixtures.lines("checker/dev_cases.jsonl").map { try object(String($0)) }
        for round in 0..<3 {
            for (index, item) in cases.enumerated() {
                let gold = try #require(item["gold"] as? String), answer = try #require(item["answer"] as? String)
                var row: [String: Any] = ["answer": answer, "gold": gold]
                if index % 7 == round { row["id"] = ["nested": [1, 2.5e-3, true, NSNull(), "x\"y"], "n": -3] as [String: Any] }
                input.append(try line(row))
                expected.append((gold, answer))
                if index % 50 == 10 {
                    input.append(Data("{\"gold\": \"1\", \"answer\": 2}\n".utf8))  // answer is not a string
                    expected.append(nil)
                    input.append(Data("not json\n".utf8))
                    expected.append(nil)
                }
            }
        }
        return (input, expected)
    }

    @Test("verdicts equal the library's, in input order, on one thread and on four")
    func verdictsInOrder() throws {
        let (input, expected) = try Self.mixedInput()
        let verifier = MathVerifier()
        for threads in [1, 4] {
            let run = try Self.run(["--jsonl", "--threads", String(threads)], input: input)
            #expect(run.status == 0, "\(run.stderr)")
            try #require(run.lines.count == expected.count)
            for (line, item) in zip(run.lines, expected) {
                let verdict = try Self.object(line)
                guard let item else {
                    #expect((verdict["error"] as? String)?.hasPrefix("malformed input line") == true, "\(line)")
                    continue
                }
                let reference = verifier.verify(gold: item.gold, completion: item.answer, mode: .reward)
                #expect(verdict["correct"] as? Bool == reference.isCorrect)
                #expect(verdict["extracted"] as? String == reference.extractedAnswer)
                #expect(verdict["gold_extracted"] as? String == reference.parsedGold)
            }
        }
    }

    @Test("JSON escapes, surrogate pairs and non-ASCII text are decoded and written back exactly")
    func escapes() throws {
        let answer = "Tab\there,\u{1} quote \" slash / back \\ emoji 😀 é, so \\boxed{\\text{né}}"
        let input = try Self.line(["gold": "\\text{né}", "answer": answer])
        // The same line with every non-ASCII character written as \u escapes (a surrogate pair for the emoji).
        let escaped = Data(#"{"gold":"\\text{n\u00e9}","answer":"Tab\there,\u0001 quote \" slash \/ back \\ emoji \ud83d\ude00 \u00e9, so \\boxed{\\text{n\u00e9}}"}"#.utf8 + [10])
        let run = try Self.run(["--jsonl"], input: input + escaped)
        #expect(run.status == 0)
        try #require(run.lines.count == 2)
        #expect(run.lines[0] == run.lines[1])
        let verdict = try Self.object(run.lines[0])
        #expect(verdict["correct"] as? Bool == true)
        #expect(verdict["extracted"] as? String == "\\text{né}")
    }

    @Test("malformed lines get a reason and the run goes on", arguments: [
        (#"{"gold": "1"}"#, "missing string field answer"),
        (#"{"gold": "1", "answer": "\q"}"#, "invalid escape \\q"),
        (#"{"gold": "1", "answer": "\ud83d x"}"#, "unpaired surrogate"),
        (#"{"gold": "1", "answer": "1"} trailing"#, "text after the JSON object"),
        (#"[1, 2]"#, "a JSON object"),
        (#"{"gold": "1", "answer": "1", "x": [1, 2,]}"#, "invalid value"),
        (#"{"gold": "1", "answer": "1", "x": 01.}"#, "invalid number"),
        (#"{"gold": "1", "answer": "1""#, "',' or '}'"),
    ])
    func malformed(line: String, reason: String) throws {
        let run = try Self.run(["--jsonl"], input: Data((line + "\n" + #"{"gold": "2", "answer": "\\boxed{2}"}"# + "\n").utf8))
        #expect(run.status == 0)
        try #require(run.lines.count == 2)
        let error = try #require(try Self.object(run.lines[0])["error"] as? String)
        #expect(error.contains(reason), "\(error)")
        #expect(try Self.object(run.lines[1])["correct"] as? Bool == true)
    }

    @Test("invalid UTF-8, values nested too deep and overlong lines are refused line by line")
    func hostileLines() throws {
        var input = Data(#"{"gold": "1", "answer": ""#.utf8)
        input.append(contentsOf: [0xC3, 0x28])  // an invalid two-byte sequence
        input.append(Data("\"}\n".utf8))
        input.append(Data(("{\"x\": " + String(repeating: "[", count: 100_000) + "\n").utf8))
        input.append(Data(("{\"gold\": \"1\", \"answer\": \"" + String(repeating: "1+", count: 400) + "1\"}\n").utf8))
        input.append(Data("{\"gold\": \"3\", \"answer\": \"\\\\boxed{3}\"}".utf8))  // the last line has no newline
        let run = try Self.run(["--jsonl", "--max-line-bytes", "600"], input: input)
        #expect(run.status == 0)
        try #require(run.lines.count == 4, "\(run.lines)")
        #expect((try Self.object(run.lines[0])["error"] as? String)?.contains("not valid UTF-8") == true)
        #expect((try Self.object(run.lines[1])["error"] as? String)?.contains("line longer than 600 bytes") == true)
        #expect((try Self.object(run.lines[2])["error"] as? String)?.contains("line longer than 600 bytes") == true)
        #expect(try Self.object(run.lines[3])["correct"] as? Bool == true)

        let deep = try Self.run(["--jsonl"], input: Data(("{\"x\": " + String(repeating: "[", count: 100_000) + "\n").utf8))
        #expect((try Self.object(deep.lines[0])["error"] as? String)?.contains("nested deeper than 512") == true)
    }

    @Test("a stdin that cannot be read ends the run with an error and a non-zero exit")
    func readError() throws {
        let run = try Self.run(["--jsonl"], inputFile: "/")  // a directory: read() fails with EISDIR
        #expect(run.status != 0)
        #expect(run.stderr.contains("reading stdin failed"), "\(run.stderr)")
    }

    @Test("--threads and --max-line-bytes are range-checked")
    func options() throws {
        for arguments in [["--threads", "0"], ["--threads", "5000"], ["--max-line-bytes", "0"]] {
            let run = try Self.run(["--jsonl"] + arguments)
            #expect(run.status != 0)
            #expect(run.stderr.contains("must be between"), "\(run.stderr)")
        }
    }
}
