import Foundation
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// `mpirun` on this machine, or nil (the suite is then skipped, saying why).
let mpirunPath: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun", "/opt/openmpi/bin/mpirun"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

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

    /// Runs `grpo-train` in one process (`ranks` nil) or as `ranks` MPI ranks, one thread each.
    static func train(_ work: Work, ranks: Int?, _ arguments: [String]) -> (Int32, String) {
        let tool = ModelFamilyEndToEndTests.executable("grpo-train")
        let log = work.folder.appendingPathComponent("log-\(UUID().uuidString).txt")
        let status: Int32
        setenv("RL_NUM_THREADS", "1", 1)
        defer { unsetenv("RL_NUM_THREADS") }
        if let ranks, let mpirunPath {
            status = runProcess(mpirunPath, ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), tool] + arguments, log: log)
        } else {
            status = runProcess(tool, arguments, log: log)
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

    @Test("2 ranks × batch 2 take the same steps as 1 process × batch 4", arguments: ["bnpo", "grpo", "dapo"])
    func twoRanksEqualOneProcess(lossType: String) throws {
        let work = try Work("dp-\(lossType)", lossType: lossType)
        defer { work.remove() }
        let (single, singleLog) = Self.train(work, ranks: nil, work.arguments(output: "one", batch: 4))
        try #require(single == 0, "\(singleLog)")
        let (double, doubleLog) = Self.train(work, ranks: 2, work.arguments(output: "two", batch: 2))
        try #require(double == 0, "\(doubleLog)")
        #expect(doubleLog.contains("data-parallel: MPI") && doubleLog.contains("2 ranks"), "\(doubleLog)")
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
}
