import FoundationEssentials
import RLApp
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// The article "Train from a recipe in Swift" (`Sources/RLApp/RLApp.docc`), run as written with
/// the shipped recipe on the fixture model (only the paths differ).
@Suite("RLApp documentation examples")
struct DocumentationArticleTests {
    static let article = "Sources/RLApp/RLApp.docc/TrainFromARecipe.md"
    static let substitutions = ["\"recipes/openrs-grpo.yaml\"": "recipePath", "\"path/to/model\"": "modelPath",
                                "\"train.jsonl\"": "dataPath", "\"runs/openrs\"": "outputPath"]

    @Test("this test holds every line of the article's example")
    func articleMatchesTest() throws {
        #expect(try DocumentationArticle.linesMissing(article: Self.article, from: #filePath, substitutions: Self.substitutions) == [])
    }

    @Test("Train from a recipe in Swift, as the article writes it")
    func trainFromRecipe() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-doc-recipe-\(UInt64.random(in: 0 ... .max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try fixturePolicy().save(to: folder.appendingPathComponent("model"))
        try fixtureTokenizer().save(to: folder.appendingPathComponent("model"))
        let rows = (0..<4).map { #"{"problem": "What is \#($0) + 5?", "solution": "\\boxed{\#($0 + 5)}"}"# }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("train.jsonl"))
        let recipePath = Fixtures.repositoryRoot.appendingPathComponent("recipes/openrs-grpo.yaml").path
        let modelPath = folder.appendingPathComponent("model").path
        let dataPath = folder.appendingPathComponent("train.jsonl").path
        let outputPath = folder.appendingPathComponent("runs/openrs").path

        let recipe = try Recipe(contentsOf: URL(fileURLWithPath: recipePath),
                                overrides: [("max_steps", "1"), ("max_prompt_length", "64"), ("max_completion_length", "16"),
                                            ("gradient_accumulation_steps", "1")])
        for key in recipe.warnings { print("unknown recipe key:", key) }
        let lm = try LanguageModel.load(from: URL(fileURLWithPath: modelPath))
        let dataset = try PromptDataset(contentsOf: URL(fileURLWithPath: dataPath), requiredColumns: ["problem"])
        let trainer = try GRPOTrainer(configuration: recipe.configuration, policy: lm.model, tokenizer: lm.tokenizer, dataset: dataset,
                                      extraStopTokenIDs: lm.stopTokenIDs)
        try trainer.train(output: URL(fileURLWithPath: outputPath))

        #expect(recipe.warnings.isEmpty)
        #expect(trainer.step == 1)
        #expect(recipe.configuration.beta == 0.04 && recipe.configuration.rewardFuncs == [.format, .cosine])
        let metrics = MetricsLog(url: URL(fileURLWithPath: outputPath).appendingPathComponent("metrics.jsonl")).read()
        #expect(metrics.count == 1 && Set(metrics[0].rewards.keys).isSubset(of: ["format", "cosine"]))
        #expect(FileManager.default.fileExists(atPath: outputPath + "/checkpoint-1/model.safetensors"))
    }
}
