import Foundation

/// math-verify measured by `Benchmarks/peer/mathverify_peer.py` in the same run.
enum PeerMeasurement {
    struct Figures {
        var cases: Int
        var right: Int
        var perSecondWall: Double
        var perSecondCPU: Double
    }

    /// The peer's figures per dataset name (`dev_cases`, `MATH-500 solutions`), or why there are none.
    static func run(python: String, root: URL, rounds: Int) -> Result<[String: Figures], BenchError> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, root.appendingPathComponent("Benchmarks/peer/mathverify_peer.py").path, String(rounds), "--json"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(BenchError("cannot start \(python): \(error)")) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let last = text.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: [String: Double]] else {
            let reason = errorText.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            return .failure(BenchError("math-verify peer did not run (\(reason)); pip install math-verify==0.9.0, or pass --python"))
        }
        var figures: [String: Figures] = [:]
        for (name, values) in object {
            figures[name] = Figures(cases: Int(values["cases"] ?? 0), right: Int(values["right"] ?? 0),
                                    perSecondWall: values["per_second_wall"] ?? 0, perSecondCPU: values["per_second_cpu"] ?? 0)
        }
        print(text.split(separator: "\n").dropLast().joined(separator: "\n"))  // its tables, without the JSON line
        return .success(figures)
    }
}
