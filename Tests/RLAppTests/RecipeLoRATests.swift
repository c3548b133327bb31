import FoundationEssentials
@testable import RLApp
import RLModel
import RLReasoning
import RLTensor
import Testing

/// TRL/open-r1's PEFT keys in a recipe.
@Suite("Recipe LoRA keys")
struct RecipeLoRATests {
    func recipe(_ text: String) throws -> Recipe {
        try Recipe(entries: try RecipeYAML.parse(text))
    }

    @Test("use_peft with TRL's keys builds the LoRA configuration")
    func keys() throws {
        let r = try recipe("""
            use_peft: true
            lora_r: 32
            lora_alpha: 64
            lora_dropout: 0.1
            lora_target_modules: [q_proj, k_proj, down_proj]
            use_rslora: true
            lora_task_type: CAUSAL_LM
            torch_dtype: float32
            """)
        let lora = try #require(r.lora)
        #expect(lora.rank == 32 && lora.alpha == 64 && lora.dropout == 0.1 && lora.useRSLoRA)
        #expect(lora.targetModules == ["q_proj", "k_proj", "down_proj"])
        #expect(r.loraBaseWeightType == .f32)
        #expect(abs(lora.scaling - 64 / Float(32).squareRoot()) < 1e-5)
    }

    @Test("TRL's defaults: r 16, alpha 32, dropout 0.05, q_proj and v_proj, a bf16 base; all-linear expands")
    func defaults() throws {
        let lora = try #require(try recipe("use_peft: true").lora)
        #expect(lora.rank == 16 && lora.alpha == 32 && lora.dropout == 0.05 && !lora.useRSLoRA)
        #expect(lora.targetModules == ["q_proj", "v_proj"])
        #expect(try recipe("use_peft: true").loraBaseWeightType == .bf16)
        let all = try #require(try recipe("use_peft: true\nlora_target_modules: all-linear").lora)
        #expect(all.targetModules == LoRAConfiguration.linearModules)
    }

    @Test("without use_peft the LoRA keys are listed as having no effect")
    func withoutPEFT() throws {
        let r = try recipe("lora_r: 8\nuse_rslora: true")
        #expect(r.lora == nil)
        #expect(r.ignored.contains { $0.hasPrefix("lora_r") } && r.ignored.contains { $0.hasPrefix("use_rslora") })
    }

    @Test("bad LoRA values are errors naming the problem", arguments: [
        ("use_peft: true\nlora_r: 0", "lora_r"), ("use_peft: true\nlora_dropout: 1.5", "lora_dropout"),
        ("use_peft: true\nlora_target_modules: [q_proj, lm_head]", "lm_head"), ("use_peft: true\nlora_alpha: -2", "lora_alpha"),
        ("use_peft: maybe", "use_peft"), ("torch_dtype: int8", "torch_dtype"), ("lora_task_type: SEQ_CLS", "lora_task_type"),
    ])
    func badValues(_ text: String, _ fragment: String) {
        #expect { try recipe(text) } throws: { "\($0)".contains(fragment) }
    }
}
