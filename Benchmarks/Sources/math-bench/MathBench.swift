import Foundation
import RLMath

/// Throughput and latency of `MathVerifier.verify` on the dev cases and on MATH-500
/// solutions checked against their own gold answers (single thread).
@main
struct MathBench {
    struct Item {
        var gold: String
        var completion: String
        var expected: Bool
    }

    struct Row: Decodable {
        var gold: String?
        var answer: String?
        var solution: String?
        var expected: Bool?
    }

    /// The repository root (this file is `Benchmarks/Sources/math-bench/MathBench.swift`).
    static func repositoryRoot() -> URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url = url.deletingLastPathComponent() }
        return url
    }

    /// Rows of a JSON Lines file given relative to the repository root.
    static func load(_ path: String) -> [Row] {
        let url = repositoryRoot().appendingPathComponent(path)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            fatalError("cannot read \(url.path)")
        }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(Row.self, from: Data($0.utf8)) }
    }

    struct Result {
        var name: String
        var count: Int
        var correct: Int
        /// Throughput by wall-clock time (includes time the shared machine gave to other processes).
        var perSecondWall: Double
        /// Throughput by this thread's CPU time (what one core delivers).
        var perSecondCPU: Double
        /// Latency percentiles in thread CPU time, µs.
        var p50: Double
        var p99: Double
        var max: Double
        /// Largest wall-clock latency, µs.
        var maxWall: Double
    }

    /// This thread's CPU time in microseconds.
    static func threadCPUMicroseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1e6 + Double(time.tv_nsec) / 1e3
    }

    static func measure(_ name: String, _ items: [Item], mode: VerificationMode, rounds: Int) -> Result {
        let verifier = MathVerifier()
        var correct = 0
        for item in items where verifier.verify(gold: item.gold, completion: item.completion, mode: mode).isCorrect == item.expected {
            correct += 1
        }
        var cpuLatencies: [Double] = []
        var maxWall = 0.0
        cpuLatencies.reserveCapacity(items.count * rounds)
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUMicroseconds()
        for _ in 0..<rounds {
            for item in items {
                let before = clock.now
                let cpuBefore = threadCPUMicroseconds()
                let verdict = verifier.verify(gold: item.gold, completion: item.completion, mode: mode)
                let cpu = threadCPUMicroseconds() - cpuBefore
                let elapsed = before.duration(to: clock.now)
                if verdict.isCorrect && item.gold.isEmpty { print("unreachable") }
                cpuLatencies.append(cpu)
                maxWall = Swift.max(maxWall, Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
            }
        }
        let cpuTotal = threadCPUMicroseconds() - cpuStart
        let total = start.duration(to: clock.now)
        let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        cpuLatencies.sort()
        func percentile(_ p: Double) -> Double { cpuLatencies[Swift.min(cpuLatencies.count - 1, Int(Double(cpuLatencies.count) * p))] }
        return Result(name: name, count: items.count, correct: correct,
                      perSecondWall: Double(cpuLatencies.count) / seconds, perSecondCPU: Double(cpuLatencies.count) / (cpuTotal / 1e6),
                      p50: percentile(0.50), p99: percentile(0.99), max: cpuLatencies.last ?? 0, maxWall: maxWall)
    }

    /// Inputs built to be slow: huge powers and factorials, deep nesting, 1 MB of junk, many boxes.
    static func hostileInputs() -> [Item] {
        let depth = 10_000
        let junk = String(repeating: "so we get $x^2+1$ and \\frac{a}{b} then ", count: 26_000)
        let golds = ["5^{5^{5^5}}", "3000!", "\\frac{1}{2006!}", "\\binom{100000}{50000}", "2^{20000}", "1e2000"]
        // Deeper than the parser's nesting limit: reported as unparseable golds, never rewarded.
        let tooDeep = [String(repeating: "{", count: depth) + "1" + String(repeating: "}", count: depth),
                       String(repeating: "\\sqrt", count: 4_000) + "{2}", String(repeating: "-", count: 8_000) + "1"]
        var items = golds.map { Item(gold: $0, completion: "\\boxed{\($0)}", expected: true) }
            + tooDeep.map { Item(gold: $0, completion: "\\boxed{\($0)}", expected: false) }
        items.append(Item(gold: "1", completion: junk + "\\boxed{1}", expected: true))
        items.append(Item(gold: "1", completion: junk, expected: false))
        items.append(Item(gold: "1", completion: String(repeating: "\\boxed{\\boxed{", count: 80_000), expected: false))
        items.append(Item(gold: "\\frac{1}{2006!}", completion: "\\boxed{\\frac{1}{2004!}}", expected: false))
        return items
    }

    /// `math-bench [rounds] [--threads N] [--python PATH] [--no-peer]`: the library (one thread),
    /// `check-answer --jsonl` end to end (one thread and N threads, and one line at a time), and
    /// math-verify through `peer/mathverify_peer.py`, all in one run, with the ratios.
    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            defer { arguments.removeSubrange(index...(index + 1)) }
            return arguments[index + 1]
        }
        let threads = Int(option("--threads") ?? "") ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let python = option("--python") ?? "python3"
        let runPeer = !arguments.contains("--no-peer")
        arguments.removeAll { $0 == "--no-peer" }
        let rounds = Int(arguments.first ?? "") ?? 20

        let dev = load("Tests/Fixtures/checker/dev_cases.jsonl").map {
            Item(gold: $0.gold ?? "", completion: $0.answer ?? "", expected: $0.expected ?? false)
        }
        let math500 = load("Data/eval/math500.jsonl").map {
            Item(gold: $0.answer ?? "", completion: $0.solution ?? "", expected: true)
        }
        var results: [Result] = []
        let hostile = hostileInputs()
        for mode in VerificationMode.allCases {
            results.append(measure("dev_cases (\(mode.rawValue))", dev, mode: mode, rounds: rounds))
            results.append(measure("MATH-500 solutions (\(mode.rawValue))", math500, mode: mode, rounds: rounds))
            results.append(measure("hostile inputs (\(mode.rawValue))", hostile, mode: mode, rounds: max(1, rounds / 10)))
        }
        print("RLMath math-bench: \(rounds) rounds per dataset, one thread")
        print("Latencies are thread CPU time; the wall-clock columns include time the OS gave to other processes.")
        print("| dataset | cases | right | verifications/s (CPU) | p50 µs | p99 µs | max µs | verifications/s (wall) | max wall µs |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in results {
            print(String(format: "| %@ | %d | %d | %.0f | %.1f | %.1f | %.1f | %.0f | %.1f |", r.name, r.count, r.correct,
                         r.perSecondCPU, r.p50, r.p99, r.max, r.perSecondWall, r.maxWall))
        }

        // The command line, end to end (reward mode, as the peer's Open-RS configuration).
        let executable = try CLIMeasurement.buildExecutable(root: repositoryRoot())
        let cliRounds = max(1, rounds * 5)
        var cli: [String: [Int: CLIMeasurement.Throughput]] = [:]
        print("\ncheck-answer --jsonl end to end (process start, JSON in, JSON out; \(cliRounds) rounds per dataset in one process; reward mode)")
        print("| dataset | threads | cases | right | verifications/s (wall) |")
        print("|---|---|---|---|---|")
        for (name, items) in [("dev_cases", dev), ("MATH-500 solutions", math500)] {
            for count in Set([1, threads]).sorted() {
                let row = try CLIMeasurement.throughput(name, items, rounds: cliRounds, threads: count, mode: "reward", executable: executable)
                cli[name, default: [:]][count] = row
                print(String(format: "| %@ | %d | %d | %d | %.0f |", name, count, row.cases, row.right, row.perSecond))
            }
        }
        let latency = try CLIMeasurement.latency(dev + math500, rounds: max(1, rounds / 10), mode: "reward", executable: executable)
        print(String(format: "\nOne line at a time over pipes (write a case, read its verdict; %d cases): p50 %.1f µs, p99 %.1f µs, max %.1f µs",
                     latency.cases, latency.p50, latency.p99, latency.max))

        guard runPeer else { return }
        print("")
        switch PeerMeasurement.run(python: python, root: repositoryRoot(), rounds: 1) {
        case .failure(let error):
            print("math-verify: \(error)")
        case .success(let peer):
            print("\nRatios in this run (wall clock; math-verify on one thread)")
            print("| dataset | math-verify /s | RLMath library, 1 thread /s | ratio | check-answer CLI, \(threads) threads /s | ratio |")
            print("|---|---|---|---|---|---|")
            for (name, library) in [("dev_cases", results[0]), ("MATH-500 solutions", results[1])] {
                guard let figures = peer[name], let row = cli[name]?[threads] else { continue }
                print(String(format: "| %@ | %.0f | %.0f | %.0fx | %.0f | %.0fx |", name, figures.perSecondWall, library.perSecondWall,
                             library.perSecondWall / figures.perSecondWall, row.perSecond, row.perSecond / figures.perSecondWall))
            }
        }
    }
}
