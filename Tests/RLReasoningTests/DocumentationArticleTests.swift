import FoundationEssentials
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// 1 when the completion states the row's answer, no score for a row without one.
struct MentionsAnswer: PerCompletionReward {
    let name = "mentions_answer"
    let weight: Float = 2
    func score(completion: String, tokenCount: Int, row: [String: String]) -> Float? {
        guard let answer = row["answer"] else { return nil }
        return completion.contains(answer) ? 1 : 0
    }
}

/// The article "A custom reward in one GRPO step" (`Sources/RLReasoning/RLReasoning.docc`), run
/// as written on the fixture model (only the model's path differs).
@Suite("RLReasoning documentation examples")
struct DocumentationArticleTests {
    static let article = "Sources/RLReasoning/RLReasoning.docc/CustomRewardStep.md"

    @Test("this test holds every line of the article's example")
    func articleMatchesTest() throws {
        #expect(try DocumentationArticle.linesMissing(article: Self.article, from: #filePath,
                                                      substitutions: ["\"path/to/model\"": "modelPath"]) == [])
    }

    @Test("A custom reward in one GRPO step, as the article writes it")
    func customRewardStep() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-doc-reward-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try fixturePolicy().save(to: folder)
        try fixtureTokenizer().save(to: folder)
        let modelPath = folder.path

        let lm = try LanguageModel.load(from: URL(fileURLWithPath: modelPath))
        var settings = GRPOConfiguration()  // neutral: no system prompt, no KL term
        settings.maxPromptLength = 64
        settings.maxCompletionLength = 16
        settings.gradientAccumulationSteps = 1
        let dataset = try PromptDataset(rows: [["problem": "What is 7 + 5?", "answer": "12"], ["problem": "What is 3 + 4?", "answer": "7"]])
        let trainer = try GRPOTrainer(configuration: settings, policy: lm.model, tokenizer: lm.tokenizer, dataset: dataset,
                                      rewards: [MentionsAnswer()], extraStopTokenIDs: lm.stopTokenIDs)
        let metrics = try trainer.trainStep()
        print(metrics.reward, metrics.rewards["mentions_answer"] ?? 0, metrics.loss)

        #expect(trainer.step == 1 && metrics.loss.isFinite)
        // Weighted 2: the step's mean reward is twice the reward's own mean.
        #expect(abs(metrics.reward - 2 * (metrics.rewards["mentions_answer"] ?? 0)) <= 1e-9)
    }
}
