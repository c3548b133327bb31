import RLApp
import RLReasoning
import Testing

/// A recipe's unset keys keep the Open-RS values (`GRPOConfiguration.openRS`), and its errors name recipe keys.
@Suite("Recipe defaults and setting names")
struct RecipeDefaultsTests {
    @Test("an empty recipe is GRPOConfiguration.openRS, named by recipe keys")
    func emptyRecipeIsOpenRS() throws {
        let recipe = try Recipe(entries: [])
        var expected = GRPOConfiguration.openRS
        expected.settingNames = .recipe
        #expect(recipe.configuration == expected)
        #expect(recipe.configuration.beta == 0.04 && recipe.configuration.rewardWeights == [1, 2])
    }

    @Test("a recipe's bad setting is named by its recipe key")
    func recipeKeysInErrors() throws {
        #expect { _ = try Recipe(entries: [("reward_weights", .list([.double(1)]))]) } throws: {
            "\($0)".hasPrefix("setting 'reward_weights': 1 weights for 2 reward functions (reward_funcs)")
        }
        #expect { _ = try Recipe(entries: [("per_device_train_batch_size", .int(7))]) } throws: {
            "\($0)" == "setting 'per_device_train_batch_size': 7 is not a multiple of num_generations (6)"
        }
        // No built-in rewards (custom ones replace them) is a valid recipe.
        let recipe = try Recipe(entries: [("reward_funcs", .list([])), ("reward_weights", .null)])
        #expect(recipe.configuration.rewardFuncs.isEmpty && recipe.configuration.rewardWeights == nil)
        #expect(recipe.configuration.settingName("reward_funcs") == "reward_funcs")
    }
}
