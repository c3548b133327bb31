import Foundation

/// `check-answer --jsonl` measured end to end, as a tool that embeds it sees it: process start,
/// JSON in on stdin, JSON out on stdout.
enum CLIMeasurement {
    struct Throughput {
        var name: String
        var threads: Int
        var cases: Int
        /// Verdicts whose `correct` equals the item's expected value (or, with no label, true).
        var right: Int
        /// Cases per second of wall-clock time, process start to last verdict read.
        var perSecond: Double
    }

    struct Latency {
        var cases: Int
        /// Round trip of one line (write, verdict read back) over the pipes, µs.
        var p50: Double
        var p99: Double
        var max: Double
    }

    /// The release `check-answer` of the repository, built now so the measurement never runs a stale binary.
    static func buildExecutable(root: URL) throws -> URL {
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        build.arguments = ["swift", "build", "-c", "release", "--product", "check-answer", "--package-path", root.path]
        build.standardOutput = FileHandle.nullDevice
        try build.run()
        build.waitUntilExit()
        guard build.terminationStatus == 0 else {
            throw BenchError("swift build -c release --product check-answer failed in \(root.path)")
        }
        return root.appendingPathComponent(".build/release/check-answer")
    }

    /// Streams `rounds` copies of `items` through one `check-answer --jsonl --threads threads` process.
    static func throughput(_ name: String, _ items: [MathBench.Item], rounds: Int, threads: Int, mode: String,
                           executable: URL) throws -> Throughput {
        var input = Data()
        for _ in 0..<rounds {
            for item in items { input.append(try jsonLine(item)) }
        }
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("math-bench-\(getpid()).jsonl")
        try input.write(to: inputFile)
        defer { try? FileManager.default.removeItem(at: inputFile) }

        let process = Process()
        process.executableURL = executable
        process.arguments = ["--jsonl", "--threads", String(threads), "--mode", mode]
        process.standardInput = try FileHandle(forReadingFrom: inputFile)
        let output = Pipe()
        process.standardOutput = output
        let clock = ContinuousClock()
        let start = clock.now
        try process.run()
        let verdicts = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let elapsed = start.duration(to: clock.now)
        guard process.terminationStatus == 0 else { throw BenchError("check-answer exited with \(process.terminationStatus)") }

        let lines = verdicts.split(separator: UInt8(ascii: "\n"))
        guard lines.count == items.count * rounds else {
            throw BenchError("check-answer wrote \(lines.count) verdicts for \(items.count * rounds) lines")
        }
        var right = 0
        for (index, line) in lines.prefix(items.count).enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            if (object?["correct"] as? Bool) == items[index].expected { right += 1 }
        }
        return Throughput(name: name, threads: threads, cases: items.count, right: right,
                          perSecond: Double(lines.count) / elapsed.seconds)
    }

    /// Sends the items one line at a time to one long-running process and times each answer.
    static func latency(_ items: [MathBench.Item], rounds: Int, mode: String, executable: URL) throws -> Latency {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--jsonl", "--mode", mode]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let reader = output.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var microseconds: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<rounds {
            for item in items {
                let line = try jsonLine(item)
                let start = clock.now
                input.fileHandleForWriting.write(line)
                // Read until the verdict's newline.
                var done = false
                while !done {
                    let count = read(reader, &buffer, buffer.count)
                    guard count > 0 else { throw BenchError("check-answer closed its output early") }
                    done = buffer[count - 1] == UInt8(ascii: "\n")
                }
                microseconds.append(start.duration(to: clock.now).seconds * 1e6)
            }
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        microseconds.sort()
        func percentile(_ p: Double) -> Double { microseconds[min(microseconds.count - 1, Int(Double(microseconds.count) * p))] }
        return Latency(cases: microseconds.count, p50: percentile(0.5), p99: percentile(0.99), max: microseconds.last ?? 0)
    }

    private static func jsonLine(_ item: MathBench.Item) throws -> Data {
        var line = try JSONSerialization.data(withJSONObject: ["gold": item.gold, "answer": item.completion])
        line.append(UInt8(ascii: "\n"))
        return line
    }
}

/// A benchmark that could not run as set up.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
