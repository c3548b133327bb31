import RLReasoning
import Testing
import RLTestSupport

/// Building rewards by recipe name from a configuration, and combining them with
/// `reward_weights` in the trainer's rollout (nil = "no score" is left out; §2.3, §2.9).
@Suite("Rewards: registry and weighted combination")
struct RewardRegistryTests {
    @Test("every built-in name builds a reward with that name")
    func everyName() throws {
        let c = GRPOConfiguration()
        for name in RewardName.allCases {
            #expect(try RewardRegistry.make(name, configuration: c).name == name.rawValue, "\(name)")
        }
    }

    @Test("open-r1 spellings map to the built-in names; unknown ones to nothing")
    func recipeNames() throws {
        #expect(RewardName(recipeName: "format_reward") == .format)
        #expect(RewardName(recipeName: "accuracy_reward") == .accuracy)
        #expect(RewardName(recipeName: "len_reward") == .length)
        #expect(RewardName(recipeName: "len") == .length)
        #expect(RewardName(recipeName: "cosine") == .cosine)
        #expect(RewardName(recipeName: "tag_count") == .tagCount)
        #expect(RewardName(recipeName: "english") == nil)
    }

    @Test("the configuration's reward settings reach the rewards it builds")
    func configured() throws {
        var c = GRPOConfiguration()
        c.cosineVariant = .fixed
        c.cosineMaxLength = 10
        c.cosineMinValueCorrect = 0.2
        c.repetitionNGramSize = 2
        c.repetitionMaxPenalty = -0.5
        c.unparseableGold = .reference
        c.goldColumns = ["answer"]
        let gold = ["solution": "\\boxed{5}", "answer": "4"]
        // cosine, fixed, M = 10 tokens, lo = 0.2: 5 tokens → cos π/2 = 0 → 0.2 + ½(0.8)(1) = 0.6;
        // the gold is read from `answer` (4), so "\\boxed{4}" is correct.
        let cosine = try RewardRegistry.make(.cosine, configuration: c)
        #expect(abs(score(cosine, "\\boxed{4}", tokens: 5, row: gold)! - 0.6) <= 1e-6)
        // repetition, n = 2, penalty −0.5: "a a a" → bigrams aa, aa: (1 − 1/2)(−0.5) = −0.25
        #expect(score(try RewardRegistry.make(.repetitionPenalty, configuration: c), "a a a") == -0.25)
        // accuracy reads `answer` and scores an unparseable gold 1 under the reference policy.
        let accuracy = try RewardRegistry.make(.accuracy, configuration: c)
        #expect(score(accuracy, "\\boxed{4}", row: gold) == 1)
        #expect(score(accuracy, "\\boxed{5}", row: gold) == 0)
        #expect(score(accuracy, "\\boxed{5}", row: ["answer": unparseableGold]) == 1)
        // length reads `answer` too: lengths 9 and 19, "\\boxed{5}" wrong → min(0, 0.5) = 0; the
        // longer correct one λ = 0.5 − 1 = −0.5.
        let length = try RewardRegistry.make(.length, configuration: c)
        let values = scores(length, ["\\boxed{5}", String(repeating: "x", count: 10) + "\\boxed{4}"], row: gold)
        #expect(values == [0, -0.5])
    }

    /// Scores every even completion of a batch 1 and has no opinion (nil) on the odd ones.
    struct EvenOnly: RewardFunction {
        let name = "even_only"
        let weight: Float = 2
        func scores(_ batch: RewardBatch) -> [Float?] { batch.completions.indices.map { $0 % 2 == 0 ? 1 : nil } }
    }

    /// The same score for every completion.
    struct Constant: RewardFunction {
        let name: String
        let value: Float?
        var weight: Float = 1
        func scores(_ batch: RewardBatch) -> [Float?] { batch.completions.map { _ in value } }
    }

    @Test("rollouts weight each custom reward by its own weight and leave 'no score' out")
    func weightedCombination() throws {
        var c = smallConfiguration()
        c.rewardFuncs = []  // the custom rewards below replace them
        c.rewardWeights = nil
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: arithmeticDataset(),
                                      rewards: [EvenOnly(), Constant(name: "half", value: 0.5), Constant(name: "silent", value: nil, weight: 5)])
        trainer.log = { _ in }
        let m = try trainer.trainStep()
        // Each micro-batch is 2 prompts × 3 completions, indices 0…5. Totals r = 2·even_only + 1·half + 5·silent:
        // even index: 2·1 + 0.5 = 2.5; odd index: 0 + 0.5 = 0.5 (nil contributes nothing).
        // reward = mean of [2.5, 0.5, 2.5, 0.5, 2.5, 0.5] = 1.5
        #expect(abs(m.reward - 1.5) <= 1e-6)
        // Groups [2.5, 0.5, 2.5] and [0.5, 2.5, 0.5]: mean 5.5/3 and 3.5/3; squared deviations 4/9 + 16/9 + 4/9 = 24/9;
        // unbiased variance 12/9 → std 2/√3 = 1.1547005 for every completion.
        #expect(abs(m.rewardStd - 1.1547005) <= 1e-5)
        // Per-function means count only scored completions: even_only 1 (not 0.5), half 0.5; a
        // function that never scored is not logged.
        #expect(m.rewards["even_only"] == 1)
        #expect(m.rewards["half"] == 0.5)
        #expect(m.rewards["silent"] == nil)
    }
}
