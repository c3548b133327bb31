import Foundation
import Testing

/// `check-answer --jsonl` as a pipeline runs it: one verdict per line, and a read error is an
/// error (it ended with exit status 0 and no output).
@Suite("check-answer command")
struct CheckAnswerCommandTests {
    /// The executable beside the test bundle.
    var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("check-answer")
    }

    func run(stdin: FileHandle) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--jsonl"]
        process.standardInput = stdin
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test func linesInVerdictsOutAndAReadErrorFails() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "check-answer not built at \(binary.path)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("check-answer-\(UInt64.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("cases.jsonl")
        try Data(#"{"gold": "2", "answer": "\\boxed{2}"}\#nnot json\#r\#n{"gold": "3", "answer": "\\boxed{4}"}"#.utf8).write(to: input)
        let good = try run(stdin: try FileHandle(forReadingFrom: input))
        #expect(good.status == 0, "\(good.stderr)")
        let lines = good.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix(#"{"correct": true"#) && lines[1].hasPrefix(#"{"error": "malformed"#)
                && lines[2].hasPrefix(#"{"correct": false"#), "\(good.stdout)")

        // Standard input that cannot be read (a directory): exit 1 with the reason.
        let bad = try run(stdin: try FileHandle(forReadingFrom: folder))
        #expect(bad.status == 1 && bad.stderr == "check-answer: cannot read standard input: Is a directory\n", "\(bad.status) \(bad.stderr)")
    }
}
