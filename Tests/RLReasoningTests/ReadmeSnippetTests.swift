import FoundationEssentials
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// The README's "Use it as a library" snippets, run as written on the fixture model (only the
/// paths and the step count differ).
@Suite("README library snippets")
struct ReadmeSnippetTests {
    struct Brevity: PerCompletionReward {
        let name = "brevity"
        let weight: Float = 0.5
        func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? { tokenCount < 200 ? 1 : 0 }
    }

    @Test("load, generate, score, then a custom-reward GRPO run")
    func snippets() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-readme-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = folder.appendingPathComponent("model")
        try fixturePolicy().save(to: modelFolder)
        try fixtureTokenizer().save(to: modelFolder)
        let rows = (0..<6).map { #"{"problem": "What is \#($0) + 5?"}"# }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("train.jsonl"))

        let lm = try LanguageModel.load(from: modelFolder)
        let reply = try lm.generate(chat: [ChatMessage(role: "user", content: "What is 7 + 5?")], maxNewTokens: 16)
        #expect(!reply.tokens.isEmpty)
        let logProbs = try lm.logProbs(ids: lm.tokenizer.encode("7 + 5 = 12"), lastTokens: 2)
        #expect(logProbs.count == 2 && logProbs.allSatisfy { $0 <= 0 })

        var settings = GRPOConfiguration()  // or .openRS for the paper's recipe
        settings.maxSteps = 1
        settings.maxCompletionLength = 8
        settings.maxPromptLength = 64
        settings.gradientAccumulationSteps = 1
        let trainer = try GRPOTrainer(configuration: settings, policy: lm.model, tokenizer: lm.tokenizer,
                                      dataset: try PromptDataset(contentsOf: folder.appendingPathComponent("train.jsonl"), requiredColumns: ["problem"]),
                                      rewards: [Brevity()], extraStopTokenIDs: lm.stopTokenIDs)
        trainer.log = { _ in }
        try trainer.train(output: folder.appendingPathComponent("runs/brevity"))
        #expect(trainer.step == 1)
        let metrics = try #require(MetricsLog(url: folder.appendingPathComponent("runs/brevity/metrics.jsonl")).read().first)
        #expect(metrics.rewards["brevity"] == 1 && metrics.reward == 0.5, "weighted 0.5")
    }
}
