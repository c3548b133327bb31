import FoundationEssentials
import RLModel
@testable import RLReasoning
import RLTestSupport
import Testing

/// End tokens come from the tokenizer, `config.json` and `generation_config.json` together.
@Suite("Stop tokens from every source")
struct StopTokensTests {
    @Test("the union of the tokenizer's, the config's and the generation config's end ids")
    func union() throws {
        let tokenizer = try fixtureTokenizer()
        var config = try fixturePolicy().config
        config.eosTokenID = .list([2, 7])
        let generation = GenerationConfig(eosTokenID: .single(9))
        let eos = try #require(tokenizer.eosTokenID)
        #expect(StopTokens.resolve(tokenizer: tokenizer, config: config, generationConfig: generation) == [eos, 2, 7, 9])
        #expect(StopTokens.resolve(tokenizer: nil, config: nil, generationConfig: generation) == [9])
        #expect(StopTokens.resolve(tokenizer: nil, config: nil, generationConfig: nil).isEmpty)
    }

    @Test("the trainer stops completions at the model config's end ids too, and at extra ones")
    func trainerUsesEverySource() throws {
        let fixture = try fixturePolicy()
        var config = fixture.config
        config.eosTokenID = .list([2, 5])
        let policy = try DecoderModel(config: config, parameters: fixture.parameters)
        var c = smallConfiguration()
        c.rewardWeights = nil
        let trainer = try GRPOTrainer(configuration: c, policy: policy, tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset(),
                                      rewards: [CharacterSumReward()], extraStopTokenIDs: [11])
        let eos = try #require(try fixtureTokenizer().eosTokenID)
        #expect(trainer.builder.endTokenIDs == [eos, 2, 5, 11])
    }

    @Test("evaluation reads generation_config.json's end ids with the model folder")
    func evaluationReadsTheFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-stops-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = try fixturePolicy()
        try policy.save(to: folder, generationConfig: GenerationConfig(eosTokenID: .list([2, 13])))
        try fixtureTokenizer().save(to: folder)
        let generator = try ModelCompletionGenerator.load(from: folder, maxNewTokens: 4, sampling: .greedy)
        #expect(generator.stopTokenIDs.isSuperset(of: [2, 13]))
    }
}
