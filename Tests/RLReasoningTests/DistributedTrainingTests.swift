import Foundation
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// `mpirun` on this machine, or nil (the suite is then skipped, saying why).
let mpirunPath: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun", "/opt/openmpi/bin/mpirun"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Whether this machine lets the tests make network namespaces (root, iproute2, CAP_SYS_ADMIN).
let networkNamespacesWork: Bool = {
    guard mpirunPath != nil, getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
            || FileManager.default.isExecutableFile(atPath: "/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/usr/bin/ip") else { return false }
    let name = "rl-probe-\(getpid())"
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).log")
    defer { try? FileManager.default.removeItem(at: log) }
    guard runProcess("/usr/bin/env", ["ip", "netns", "add", name], log: log) == 0 else { return false }
    _ = runProcess("/usr/bin/env", ["ip", "netns", "del", name], log: log)
    return true
}()

/// `grpo-train` as N MPI ranks against one process: the same steps, a resumable checkpoint, and a
/// killed rank ending the job. The tiny random model's completions are noise, so the reward is
/// the faithful cosine reward, whose value follows each completion's character length.
@Suite("Data-parallel grpo-train under mpirun", .serialized,
       .enabled(if: mpirunPath != nil, "needs mpirun: apt install openmpi-bin (CI installs it)"))
struct DistributedTrainingTests {
    static let recipe = """
        learning_rate: 3.0e-2
        max_steps: 3
        save_steps: 3
        num_generations: 2
        max_prompt_length: 64
        max_completion_length: 12
        temperature: 1.0
        beta: 0.04
        reward_funcs: [cosine]
        reward_weights: [1.0]
        cosine_max_len: 12
        system_prompt: null
        seed: 5
        """

    /// A work folder with the tiny model, eight prompts and the recipe.
    struct Work {
        let folder: URL, model: URL, dataset: URL, recipe: URL
        init(_ name: String, lossType: String = "bnpo") throws {
            folder = try temporaryDirectory(name)
            model = try tinyEvaluationCheckpoint()
            dataset = folder.appendingPathComponent("train.jsonl")
            let rows = (0..<8).map { #"{"problem": "What is \#($0) + \#($0 % 3)?", "answer": "\#($0 + $0 % 3)"}"# }
            try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: dataset)
            recipe = folder.appendingPathComponent("recipe.yaml")
            try Data((DistributedTrainingTests.recipe + "\nloss_type: \(lossType)\n").utf8).write(to: recipe)
        }
        func remove() {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: model)
        }
        func arguments(output: String, batch: Int, extra: [String] = []) -> [String] {
            ["--recipe", recipe.path, "--model", model.path, "--dataset", dataset.path, "--output", folder.appendingPathComponent(output).path,
             "--per_device_train_batch_size", String(batch)] + extra
        }
        func metrics(_ output: String) throws -> [[String: Any]] {
            let text = try String(contentsOf: folder.appendingPathComponent(output).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            return try text.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        }
        func weights(_ output: String, step: Int) throws -> [String: [Float]] {
            try ModelLoader.load(from: folder.appendingPathComponent(output).appendingPathComponent("checkpoint-\(step)")).parameters
                .mapValues { $0.toFloatArray() }
        }
    }

    /// How `train` starts `grpo-train`.
    enum Launch {
        case oneProcess
        /// `mpirun -np N` on this machine.
        case ranks(Int)
        /// One rank in each of two network namespaces, MPI over TCP (`scripts/mpi-two-namespaces`).
        case twoNamespaces
    }

    /// Runs `grpo-train` as `launch` says, one thread per process.
    static func train(_ work: Work, ranks launch: Launch, _ arguments: [String]) -> (Int32, String) {
        let tool = ModelFamilyEndToEndTests.executable("grpo-train")
        let log = work.folder.appendingPathComponent("log-\(UUID().uuidString).txt")
        let status: Int32
        setenv("RL_NUM_THREADS", "1", 1)
        defer { unsetenv("RL_NUM_THREADS") }
        switch launch {
        case .oneProcess:
            status = runProcess(tool, arguments, log: log)
        case .ranks(let ranks):
            status = runProcess(mpirunPath ?? "mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), tool] + arguments, log: log)
        case .twoNamespaces:
            let script = Fixtures.repositoryRoot.appendingPathComponent("scripts/mpi-two-namespaces").path
            status = runProcess(script, [tool] + arguments, log: log)
        }
        return (status, String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))
    }

    /// Per-step values of one run against another's, within float summation tolerance.
    static func expectSameSteps(_ a: [[String: Any]], _ b: [[String: Any]], keys: [String], tolerance: Double = 1e-4) {
        #expect(a.count == b.count)
        for (step, (x, y)) in zip(a, b).enumerated() {
            for key in keys {
                let u = (x[key] as? Double) ?? .nan, v = (y[key] as? Double) ?? .nan
                #expect(abs(u - v) <= tolerance * max(1, abs(u)), "step \(step + 1) \(key): \(u) vs \(v)")
            }
        }
    }

    static let compared = ["loss", "reward", "reward_std", "grad_norm", "num_tokens", "completion_length"]

    @Test("2 ranks × batch 2 take the same steps as 1 process × batch 4",
          arguments: ["bnpo", "grpo", "dapo", "bnpo, zero_stage 1"])
    func twoRanksEqualOneProcess(setting: String) throws {
        let lossType = String(setting.prefix { $0 != "," })
        let sharded = setting.hasSuffix("zero_stage 1")
        let work = try Work("dp-\(lossType)", lossType: lossType)
        defer { work.remove() }
        let (single, singleLog) = Self.train(work, ranks: .oneProcess, work.arguments(output: "one", batch: 4))
        try #require(single == 0, "\(singleLog)")
        let (double, doubleLog) = Self.train(work, ranks: .ranks(2), work.arguments(output: "two", batch: 2,
                                                                                    extra: sharded ? ["--zero_stage", "1"] : []))
        try #require(double == 0, "\(doubleLog)")
        #expect(doubleLog.contains("data-parallel: MPI") && doubleLog.contains("2 ranks"), "\(doubleLog)")
        if sharded {
            #expect(doubleLog.contains("optimizer state sharded over 2 ranks (zero_stage 1): rank 0 keeps"), "\(doubleLog)")
            // The checkpoint holds every rank's moments, as the one-process run's.
            let moments = try ["one", "two"].map { name in
                try CheckpointReader(at: work.folder.appendingPathComponent("\(name)/checkpoint-3/optimizer.safetensors"))
            }
            #expect(moments[0].tensorNames.sorted() == moments[1].tensorNames.sorted())
            for name in moments[0].tensorNames {
                let a = try moments[0].tensor(named: name).floats(name: name), b = try moments[1].tensor(named: name).floats(name: name)
                let differ = zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0
                #expect(differ <= 1e-6 * max(1, Double(a.map { abs($0) }.max() ?? 0)), "\(name): \(differ)")
            }
        }
        let one = try work.metrics("one"), two = try work.metrics("two")
        #expect(one.contains { ($0["reward_std"] as? Double ?? 0) > 0 }, "the rewards must differ for the steps to train: \(one)")
        Self.expectSameSteps(one, two, keys: Self.compared)
        #expect(two.allSatisfy { $0["world_size"] as? Int == 2 })
        let a = try work.weights("one", step: 3), b = try work.weights("two", step: 3)
        let initial = try ModelLoader.load(from: work.model).parameters.mapValues { $0.toFloatArray() }
        #expect(a.keys.sorted() == b.keys.sorted())
        var moved = 0.0, differ = 0.0
        for (name, values) in a {
            let other = try #require(b[name]), start = try #require(initial[name])
            moved = max(moved, zip(values, start).map { Double(abs($0 - $1)) }.max() ?? 0)
            differ = max(differ, zip(values, other).map { Double(abs($0 - $1)) }.max() ?? 0)
        }
        #expect(moved > 1e-3, "training must move the weights for the comparison to mean anything")
        #expect(differ < 1e-5, "largest weight difference between 1 process and 2 ranks: \(differ)")
    }

    @Test("Two ranks on two network namespaces (MPI over TCP) take the same steps as one process",
          .enabled(if: networkNamespacesWork, "needs root and network namespaces (ip netns); CI runs as root"))
    func twoHostsEqualOneProcess() throws {
        let work = try Work("dp-netns")
        defer { work.remove() }
        let (single, singleLog) = Self.train(work, ranks: .oneProcess, work.arguments(output: "one", batch: 4))
        try #require(single == 0, "\(singleLog)")
        let (double, doubleLog) = Self.train(work, ranks: .twoNamespaces, work.arguments(output: "two", batch: 2))
        try #require(double == 0, "\(doubleLog)")
        #expect(doubleLog.contains("rank 1 in rl-b-") && doubleLog.contains("MPI over TCP"), "\(doubleLog)")
        Self.expectSameSteps(try work.metrics("one"), try work.metrics("two"), keys: Self.compared)
        let a = try work.weights("one", step: 3), b = try work.weights("two", step: 3)
        let differ = a.map { name, values in zip(values, b[name] ?? []).map { Double(abs($0 - $1)) }.max() ?? .infinity }.max() ?? .infinity
        #expect(differ < 1e-5, "largest weight difference between 1 process and 2 hosts: \(differ)")
    }

    @Test("A 2-rank checkpoint (sharded optimizer state) resumes in one process with batch 4 and continues with the same steps")
    func twoRankCheckpointResumesInOneProcess() throws {
        let work = try Work("dp-resume")
        defer { work.remove() }
        let schedule = ["--max_steps", "4", "--save_steps", "2"]
        // Sharded optimizer state: the checkpoint must still hold every rank's moments.
        let (trained, trainLog) = Self.train(work, ranks: .ranks(2), work.arguments(output: "run", batch: 2,
                                                                                    extra: schedule + ["--zero_stage", "1"]))
        try #require(trained == 0, "\(trainLog)")
        let uninterrupted = try work.metrics("run")
        let finalWeights = try work.weights("run", step: 4)
        try FileManager.default.removeItem(at: work.folder.appendingPathComponent("run/checkpoint-4"))
        let (resumed, resumeLog) = Self.train(work, ranks: .oneProcess, work.arguments(output: "run", batch: 4, extra: schedule + ["--resume"]))
        try #require(resumed == 0, "\(resumeLog)")
        #expect(resumeLog.contains("resumed from checkpoint-2"), "\(resumeLog)")
        let continued = try work.metrics("run")
        #expect(continued.count == 4)
        Self.expectSameSteps(Array(uninterrupted.dropFirst(2)), Array(continued.dropFirst(2)), keys: Self.compared)
        #expect(continued.dropFirst(2).allSatisfy { $0["world_size"] as? Int == 1 })
        let weights = try work.weights("run", step: 4)
        let differ = weights.map { name, values in zip(values, finalWeights[name] ?? []).map { Double(abs($0 - $1)) }.max() ?? .infinity }.max() ?? .infinity
        #expect(differ < 1e-5, "largest weight difference after resuming on one process: \(differ)")
        // Another global batch is another run: refused, naming the keys.
        try FileManager.default.removeItem(at: work.folder.appendingPathComponent("run/checkpoint-4"))
        let (refused, refusedLog) = Self.train(work, ranks: .oneProcess, work.arguments(output: "run", batch: 2, extra: schedule + ["--resume"]))
        #expect(refused != 0 && refusedLog.contains("per_device_train_batch_size × ranks 2×2 -> 2×1"), "\(refusedLog)")
    }

    @Test("A killed rank ends the whole job with an error naming it, and leaves only complete checkpoints")
    func killedRankEndsTheJob() throws {
        let work = try Work("dp-kill")
        defer { work.remove() }
        let output = work.folder.appendingPathComponent("run")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(mpirunPath))
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", ModelFamilyEndToEndTests.executable("grpo-train")]
            + work.arguments(output: "run", batch: 2, extra: ["--max_steps", "400", "--save_steps", "1"])
        var environment = ProcessInfo.processInfo.environment
        environment["RL_NUM_THREADS"] = "1"
        process.environment = environment
        let log = work.folder.appendingPathComponent("kill-log.txt")
        try Data().write(to: log)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Wait for two steps, then kill rank 1 (found by the rank Open MPI puts in its environment).
        let metrics = output.appendingPathComponent("metrics.jsonl")
        let started = Date()
        while ((try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2 {
            try #require(process.isRunning && Date().timeIntervalSince(started) < 120, "the run did not reach step 2")
            usleep(100_000)
        }
        let rankOne = try #require(Self.childProcesses(of: process.processIdentifier).first { pid in
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=1" }
        }, "no rank-1 process under mpirun")
        kill(rankOne, SIGKILL)
        let killed = Date()
        while process.isRunning && Date().timeIntervalSince(killed) < 60 { usleep(100_000) }
        let ended = !process.isRunning
        if !ended { process.terminate() }
        process.waitUntilExit()
        try handle.close()
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(ended, "the job was still running 60 s after rank 1 died")
        #expect(process.terminationStatus != 0)
        #expect(text.contains("rank 1"), "the error must name the dead rank: \(text)")
        // Every checkpoint that looks complete is complete (a save cut short is a hidden partial folder).
        let names = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasPrefix("checkpoint-") }
        #expect(!names.isEmpty)
        for name in names {
            let checkpoint = output.appendingPathComponent(name)
            #expect(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("trainer_state.json").path), "\(name)")
            _ = try ModelLoader.load(from: checkpoint)
        }
    }

    /// The direct children of `pid` (from /proc).
    static func childProcesses(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    @Test("evaluate on 2 ranks writes the records and summary one process writes, and resumes")
    func evaluateSplitsProblemsAcrossRanks() throws {
        let work = try Work("dp-eval")
        defer { work.remove() }
        let tool = ModelFamilyEndToEndTests.executable("evaluate")
        func evaluate(ranks: Int?, output: String, limit: Int) -> (Int32, String) {
            let log = work.folder.appendingPathComponent("eval-\(output)-\(limit).txt")
            let arguments = ["--model", work.model.path, "--tasks", "aime24,amc23", "--limit", String(limit), "--samples", "2",
                             "--temperature", "0.8", "--batch-size", "1", "--max-new-tokens", "5",
                             "--output", work.folder.appendingPathComponent(output).path]
            let status = ranks.map { runProcess(mpirunPath ?? "mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", String($0), tool] + arguments, log: log) }
                ?? runProcess(tool, arguments, log: log)
            return (status, String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))
        }
        func records(_ output: String, _ task: String) throws -> Set<String> {
            Set(try EvaluationRecordFile(url: work.folder.appendingPathComponent("\(output)/\(task).jsonl")).readRecords()
                .map { "\($0.problemID)#\($0.sample)#\($0.completion)#\($0.correct)" })
        }
        let (single, singleLog) = evaluate(ranks: nil, output: "one", limit: 3)
        try #require(single == 0, "\(singleLog)")
        // Two ranks, interrupted after two problems and resumed to three.
        let (first, firstLog) = evaluate(ranks: 2, output: "two", limit: 2)
        try #require(first == 0, "\(firstLog)")
        let (second, secondLog) = evaluate(ranks: 2, output: "two", limit: 3)
        try #require(second == 0, "\(secondLog)")
        #expect(secondLog.contains("4 completions already in"), "\(secondLog)")
        for task in ["aime24", "amc23"] {
            let one = try records("one", task), two = try records("two", task)
            #expect(one.count == 6)
            #expect(one == two, "\(task): \(one.symmetricDifference(two))")
        }
        let summaries = try ["one", "two"].map { name in
            try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: work.folder.appendingPathComponent("\(name)/summary.json")))
        }
        #expect(summaries[0].tasks == summaries[1].tasks)
    }
}
