import Foundation
import Testing

/// `tiny-grpo` refuses bad options at once (they were found only after the warm start, or
/// divided by zero).
@Suite("tiny-grpo options")
struct TinyGRPOCommandTests {
    @Test(arguments: [("--operations", "0", "--operations"), ("--steps", "0", "--steps"), ("--learning-rate", "nan", "--learning-rate"),
                      ("--learning-rate", "inf", "--learning-rate"), ("--direct-fraction", "2", "--direct-fraction")])
    func badOptionIsRefusedAtOnce(_ flag: String, _ value: String, _ named: String) throws {
        let executable = ModelFamilyEndToEndTests.executable("tiny-grpo")
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            Issue.record("tiny-grpo is not built at \(executable); run `swift build` first")
            return
        }
        let folder = try temporaryDirectory("tiny-options")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = folder.appendingPathComponent("log.txt")
        let started = Date()
        let status = runProcess(executable, [flag, value, "--output", folder.appendingPathComponent("out").path], log: log)
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(status != 0 && text.contains(named), "\(text)")
        #expect(Date().timeIntervalSince(started) < 10, "refused only after work started")
    }
}
