import Foundation
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// The command-line tools on a Qwen3 and a Llama checkpoint (the tiny transformers-made fixtures,
/// with a byte-level tokenizer and the family's own chat template): `lm generate --chat`,
/// `evaluate` and two `grpo-train` steps run end to end, and the trained checkpoint keeps its family
/// and every weight name (the noise completions earn equal rewards, so the weights need not move).
@Suite("Qwen3 and Llama through lm, evaluate and grpo-train", .serialized)
struct ModelFamilyEndToEndTests {
    /// The package's executables sit next to the test bundle in the build folder.
    static func executable(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Runs a tool, its output going to `log`; returns its status and output.
    static func run(_ tool: String, _ arguments: [String], log: URL) -> (Int32, String) {
        let status = runProcess(executable(tool), arguments, log: log)
        return (status, String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))
    }

    /// Whether lm, evaluate and grpo-train are built; records an issue naming the missing one.
    static func toolsAreBuilt() -> Bool {
        for tool in ["lm", "evaluate", "grpo-train"] where !FileManager.default.isExecutableFile(atPath: executable(tool)) {
            Issue.record("\(tool) is not built at \(executable(tool)); run `swift build` first")
            return false
        }
        return true
    }

    static let families: [(fixture: String, family: ModelFamily)] = [("qwen3-tiny", .qwen3), ("llama-tiny-llama3", .llama)]

    @Test(arguments: families.indices)
    func toolsRunEndToEnd(_ index: Int) throws {
        let (fixture, family) = Self.families[index]
        guard Self.toolsAreBuilt() else { return }
        let format = family == .qwen3 ? try TestChatFormat.qwen3() : try TestChatFormat.llama3()
        let model = try tinyEvaluationCheckpoint(fixture: fixture, format: format)
        defer { try? FileManager.default.removeItem(at: model) }
        let work = try temporaryDirectory("family-\(fixture)")
        defer { try? FileManager.default.removeItem(at: work) }
        let log = work.appendingPathComponent("log.txt")
        func run(_ tool: String, _ arguments: [String]) -> (Int32, String) { Self.run(tool, arguments, log: log) }

        let (generated, generateLog) = run("lm", ["generate", "--model", model.path, "--chat", "What is 2 + 2?",
                                                  "--max-new-tokens", "5", "--greedy", "--json"])
        #expect(generated == 0, "lm generate on \(fixture): \(generateLog)")

        let results = work.appendingPathComponent("eval")
        let (evaluated, evaluateLog) = run("evaluate", ["--model", model.path, "--tasks", "aime24", "--limit", "1",
                                                       "--max-new-tokens", "4", "--output", results.path])
        #expect(evaluated == 0, "evaluate on \(fixture): \(evaluateLog)")
        #expect(try EvaluationRecordFile(url: results.appendingPathComponent("aime24.jsonl")).readRecords().count == 1)

        let dataset = work.appendingPathComponent("train.jsonl")
        let rows = (0..<4).map { #"{"problem": "What is \#($0) + 2?", "answer": "\#($0 + 2)"}"# }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: dataset)
        let recipe = work.appendingPathComponent("recipe.yaml")
        try Data("""
            learning_rate: 1.0e-3
            max_steps: 2
            save_steps: 2
            num_generations: 2
            per_device_train_batch_size: 4
            max_prompt_length: 64
            max_completion_length: 4
            beta: 0.04
            reward_funcs: [format, accuracy]
            reward_weights: [1.0, 1.0]
            system_prompt: null
            seed: 3
            """.utf8).write(to: recipe)
        let output = work.appendingPathComponent("run")
        let (trained, trainLog) = run("grpo-train", ["--recipe", recipe.path, "--model", model.path, "--dataset", dataset.path,
                                                     "--output", output.path])
        #expect(trained == 0, "grpo-train on \(fixture): \(trainLog)")
        let metrics = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").count == 2, "\(metrics)")
        let checkpoint = try ModelLoader.load(from: output.appendingPathComponent("checkpoint-2"))
        #expect(checkpoint.config.family == family)
        let original = try ModelLoader.load(from: model)
        #expect(checkpoint.parameters.keys.sorted() == original.parameters.keys.sorted())
        #expect(checkpoint.parameters.values.allSatisfy { $0.toFloatArray().allSatisfy(\.isFinite) })
    }

    @Test("LoRA through the tools: grpo-train --plan, use_peft with --merge, then evaluate and lm with --adapter")
    func loraThroughTheTools() throws {
        guard Self.toolsAreBuilt() else { return }
        let model = try tinyEvaluationCheckpoint(fixture: "qwen3-tiny", format: try TestChatFormat.qwen3())
        defer { try? FileManager.default.removeItem(at: model) }
        let work = try temporaryDirectory("lora-tools")
        defer { try? FileManager.default.removeItem(at: work) }
        let log = work.appendingPathComponent("log.txt")
        func run(_ tool: String, _ arguments: [String]) -> (Int32, String) { Self.run(tool, arguments, log: log) }
        let dataset = work.appendingPathComponent("train.jsonl")
        try Data((0..<4).map { #"{"problem": "What is \#($0) + 2?", "answer": "\#($0 + 2)"}"# }.joined(separator: "\n").utf8).write(to: dataset)
        let settings = ["--max_steps", "2", "--save_steps", "2", "--num_generations", "2", "--per_device_train_batch_size", "4",
                        "--max_prompt_length", "64", "--max_completion_length", "4", "--system_prompt", "null", "--seed", "3",
                        "--reward_funcs", "format,accuracy", "--reward_weights", "[1, 1]", "--learning_rate", "1e-2",
                        "--use_peft", "true", "--lora_r", "4", "--lora_target_modules", "all-linear"]
        let (planned, planLog) = run("grpo-train", ["--model", model.path, "--plan"] + settings)
        #expect(planned == 0 && planLog.contains("memory plan: LoRA r=4") && planLog.contains("peak"), "\(planLog)")
        let output = work.appendingPathComponent("run")
        let (trained, trainLog) = run("grpo-train", ["--model", model.path, "--dataset", dataset.path, "--output", output.path, "--merge"] + settings)
        #expect(trained == 0, "\(trainLog)")
        let checkpoint = output.appendingPathComponent("checkpoint-2")
        #expect(LoRAAdapters.isAdapterFolder(checkpoint))
        let merged = try ModelLoader.load(from: output.appendingPathComponent("merged"))
        #expect(merged.config.family == .qwen3 && merged.adapters == nil)
        let results = work.appendingPathComponent("eval")
        let (evaluated, evaluateLog) = run("evaluate", ["--model", model.path, "--adapter", checkpoint.path, "--tasks", "aime24",
                                                       "--limit", "1", "--max-new-tokens", "4", "--output", results.path])
        #expect(evaluated == 0, "\(evaluateLog)")
        let (generated, generateLog) = run("lm", ["generate", "--model", model.path, "--adapter", checkpoint.path, "--chat", "2 + 2?",
                                                  "--max-new-tokens", "3", "--greedy"])
        #expect(generated == 0, "\(generateLog)")
        // A bad adapter folder is one clear error.
        let (refused, refusedLog) = run("evaluate", ["--model", model.path, "--adapter", work.path, "--tasks", "aime24", "--limit", "1",
                                                    "--output", work.appendingPathComponent("eval2").path])
        #expect(refused != 0 && refusedLog.contains("adapter_config.json"), "\(refusedLog)")
    }
}
