import FoundationEssentials
@testable import RLApp
import RLReasoning
import RLTestSupport
import Testing

/// A bounded fuzz run of the recipe reader (Yams/libyaml, the bracket scan, the key mapping and
/// validation): random fragment concatenations and mutations of the shipped recipe (fixed seed
/// and count). Every input must give a recipe or a typed error; a trap fails the run.
@Suite("Recipe fuzz")
struct RecipeFuzzTests {
    static let fragments = [
        "a", "b: ", ": ", "- ", "  ", "    ", "\n", "\r\n", "[", "]", "{", "}", ", ", "'", "\"", "# c", "&x ", "*x", "!!str ", "!!int ",
        "|", ">", "---\n", "...\n", "1", "0", "-1.5e3", "1e400", "9223372036854775808", "null", "true", "yes", ".inf", ".nan", "~",
        "learning_rate: ", "reward_funcs: ", "reward_weights: ", "max_steps: ", "num_generations: ", "use_peft: ", "lora_r: ",
        "lr_scheduler_kwargs:\n  ", "min_lr_rate: ", "seed: ", "system_prompt: ", "format", "accuracy", "\t", "\\", "? ",
        "%YAML 1.2\n", "\u{FEFF}", "é", "0x1F", "<<: ", "\u{0}", "key", "[format, accuracy]", "{a: 1}",
    ]

    /// Parses `text` as a recipe; returns whether it was accepted.
    func attempt(_ text: String) -> Bool {
        do {
            _ = try Recipe(entries: try RecipeYAML.parse(text))
            return true
        } catch is RecipeYAML.ParseError, is TrainingError {
            return false
        } catch {
            Issue.record("not a recipe error: \(type(of: error)) \(error) for \(text.debugDescription)")
            return false
        }
    }

    @Test func randomRecipesParseOrFailWithATypedError() throws {
        let (seed, count) = FuzzInput.settings(seed: 0x5EED_18, count: 5_000)
        var input = FuzzInput(seed: seed)
        let shipped = String(decoding: try Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("recipes/openrs-grpo.yaml")),
                             as: UTF8.self)
        let documents = [shipped, "learning_rate: 1.0e-6\nreward_funcs: [format]\nreward_weights: [1.0]\n",
                         "use_peft: true\nlora_r: 8\nlora_target_modules:\n  - q_proj\n  - v_proj\n"]
        var accepted = 0
        for iteration in 0..<count {
            let text = iteration % 2 == 0
                ? input.mutation(of: documents[input.below(documents.count)], fragments: Self.fragments, maximum: 6)
                : input.concatenation(of: Self.fragments, maximum: 30)
            if attempt(text) { accepted += 1 }
            // Command-line overrides go through the same reader.
            _ = try? Recipe(contentsOf: nil, overrides: [("learning_rate", input.concatenation(of: Self.fragments, maximum: 4))])
        }
        #expect(accepted > count / 100 && accepted < count * 9 / 10, "\(accepted) of \(count) accepted")
    }
}
