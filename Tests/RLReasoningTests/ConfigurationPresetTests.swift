import FoundationEssentials
import RLModel
import RLReasoning
import RLTestSupport
import Testing

/// `GRPOConfiguration()` is neutral, `.openRS` is the paper's recipe, and errors name settings
/// the way the configuration was made.
@Suite("GRPOConfiguration: neutral defaults, the Open-RS preset, setting names")
struct ConfigurationPresetTests {
    @Test("GRPOConfiguration() has no system prompt, no KL, the accuracy reward weighted 1, TRL's 256 tokens at temperature 1")
    func neutral() throws {
        let c = GRPOConfiguration()
        #expect(c.systemPrompt == nil)
        #expect(c.beta == 0)
        #expect(c.rewardFuncs == [.accuracy] && c.rewardWeights == nil)
        #expect(c.maxCompletionLength == 256 && c.temperature == 1)
        #expect(c.settingNames == .swift)
        #expect(throws: Never.self) { try c.validate() }
    }

    @Test(".openRS is the paper's recipe and differs from GRPOConfiguration() only in its six settings")
    func openRS() throws {
        let paper = GRPOConfiguration.openRS
        #expect(paper.systemPrompt == GRPOConfiguration.openRSSystemPrompt)
        #expect(paper.beta == 0.04)
        #expect(paper.rewardFuncs == [.format, .cosine] && paper.rewardWeights == [1, 2])
        #expect(paper.maxCompletionLength == 3584 && paper.temperature == 0.7)
        var neutral = paper
        neutral.systemPrompt = nil
        neutral.beta = 0
        neutral.rewardFuncs = [.accuracy]
        neutral.rewardWeights = nil
        neutral.maxCompletionLength = 256
        neutral.temperature = 1
        #expect(neutral == GRPOConfiguration())
    }

    @Test("validate() names the Swift property for a configuration built in Swift, the recipe key for a recipe's")
    func settingNamesInErrors() throws {
        var c = GRPOConfiguration()
        c.rewardWeights = [1, 2]
        #expect { try c.validate() } throws: { "\($0)".hasPrefix("setting 'rewardWeights': 2 weights for 1 reward functions (rewardFuncs)") }
        c.settingNames = .recipe
        #expect { try c.validate() } throws: { "\($0)".hasPrefix("setting 'reward_weights': 2 weights for 1 reward functions (reward_funcs)") }
        var d = GRPOConfiguration()
        d.perDeviceTrainBatchSize = 7
        #expect { try d.validate() } throws: { "\($0)" == "setting 'perDeviceTrainBatchSize': 7 is not a multiple of numGenerations (6)" }
        d.perDeviceTrainBatchSize = 6
        d.overlongBufferLength = 10_000
        #expect { try d.validate() } throws: { "\($0)".hasPrefix("setting 'overlongBufferLength': must be between 0 and maxCompletionLength (256)") }
    }

    @Test("every Swift name errors use is a property of GRPOConfiguration")
    func propertyNamesExist() {
        let properties = Set(Mirror(reflecting: GRPOConfiguration()).children.compactMap(\.label))
        let keys = ["learning_rate", "adam_beta1", "min_lr_rate", "max_grad_norm", "memory_limit_gib", "sapo_temperature_pos",
                    "sapo_temperature_neg", "overlong_buffer_len", "cosine_max_len", "repetition_n_grams", "reward_funcs",
                    "reward_weights", "gold_columns", "lean_memory", "top_entropy_quantile", "max_dynamic_sampling_rounds",
                    "steps_per_generation", "num_generations", "per_device_train_batch_size", "logits_chunk_bytes", "save_total_limit",
                    "paged_kv_cache", "kv_cache_block_size", "kv_cache_memory_fraction", "kv_cache_max_tokens"]
        for key in keys {
            let name = GRPOConfiguration().settingName(key)
            #expect(properties.contains(name), "\(key) -> \(name)")
        }
        #expect(GRPOConfiguration().settingName("tokenizer") == "tokenizer")
    }

    @Test("custom rewards bring their weights; rewardFuncs may then be empty, rewardWeights must be nil")
    func customRewardWeights() throws {
        var c = smallConfiguration()
        c.rewardFuncs = []
        c.rewardWeights = nil
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: try arithmeticDataset(), rewards: [CharacterSumReward()])
        #expect(trainer.manifest.entries["reward_weights"] == "none")
        #expect(trainer.manifest.entries["reward_funcs"] == "character_sum")

        c.rewardFuncs = [.format]
        c.rewardWeights = [1]
        #expect {
            _ = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                dataset: try arithmeticDataset(), rewards: [CharacterSumReward()])
        } throws: { "\($0)".hasPrefix("setting 'rewardWeights': is [1.0], but it weights rewardFuncs") }

        c.rewardFuncs = []
        c.rewardWeights = nil
        #expect {
            _ = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: try arithmeticDataset())
        } throws: { "\($0)".hasPrefix("setting 'rewardFuncs': name at least one reward function") }
        c.settingNames = .recipe
        #expect {
            _ = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: try arithmeticDataset())
        } throws: { "\($0)".hasPrefix("setting 'reward_funcs': name at least one reward function") }
    }

    struct Weighted: RewardFunction {
        let name = "weighted"
        let weight: Float = 3
        func scores(_ batch: RewardBatch) -> [Float?] { batch.completions.map { _ in 1 } }
    }

    @Test("a custom reward's weight scales its contribution and is recorded in the run manifest")
    func customWeightIsUsed() throws {
        var c = smallConfiguration()
        c.rewardWeights = nil
        c.maxSteps = 1
        c.gradientAccumulationSteps = 1
        let trainer = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(),
                                      dataset: try arithmeticDataset(), rewards: [Weighted()])
        trainer.log = { _ in }
        #expect(trainer.manifest.entries["reward_weights"] == "3.0")
        let metrics = try trainer.trainStep()
        #expect(metrics.reward == 3, "1 per completion, weighted 3")
    }
}
