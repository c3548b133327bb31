import FoundationEssentials
import Testing

@testable import RLModel

@Suite("Weight name report")
struct SafetensorsWeightReportTests {
    /// Tied-embedding Qwen2 shapes from config.json: hidden 64, 4 heads of 16, 2 KV heads,
    /// intermediate 128, vocab 512, 2 layers.
    static func tiedShapes() -> [String: [Int]] {
        var shapes = ["model.embed_tokens.weight": [512, 64], "model.norm.weight": [64]]
        for layer in 0 ..< 2 {
            let p = "model.layers.\(layer)."
            shapes[p + "self_attn.q_proj.weight"] = [64, 64]
            shapes[p + "self_attn.q_proj.bias"] = [64]
            shapes[p + "self_attn.k_proj.weight"] = [32, 64]
            shapes[p + "self_attn.k_proj.bias"] = [32]
            shapes[p + "self_attn.v_proj.weight"] = [32, 64]
            shapes[p + "self_attn.v_proj.bias"] = [32]
            shapes[p + "self_attn.o_proj.weight"] = [64, 64]
            shapes[p + "mlp.gate_proj.weight"] = [128, 64]
            shapes[p + "mlp.up_proj.weight"] = [128, 64]
            shapes[p + "mlp.down_proj.weight"] = [64, 128]
            shapes[p + "input_layernorm.weight"] = [64]
            shapes[p + "post_attention_layernorm.weight"] = [64]
        }
        return shapes
    }

    @Test("the sharded tied fixture matches the tied Qwen2 layout exactly")
    func clean() throws {
        let checkpoint = try CheckpointReader(at: fixturesDirectory.appendingPathComponent("qwen2-tiny-tied-sharded"))
        let report = WeightNameReport(expected: Self.tiedShapes(), checkpoint: checkpoint)
        #expect(report.isClean)
        #expect(report.description == "all weights match")
    }

    @Test("the untied fixture has an lm_head the tied layout does not expect; a wrong shape and a missing name are listed")
    func problems() throws {
        let checkpoint = try CheckpointReader(at: fixturesDirectory.appendingPathComponent("qwen2-tiny"))
        var expected = Self.tiedShapes()
        expected["model.norm.weight"] = [128]
        expected["model.layers.2.mlp.up_proj.weight"] = [128, 64]
        let report = WeightNameReport(expected: expected, checkpoint: checkpoint)
        #expect(report.missing == ["model.layers.2.mlp.up_proj.weight"])
        #expect(report.unexpected == ["lm_head.weight"])
        #expect(report.mismatched == [.init(name: "model.norm.weight", expected: [128], found: [64])])
        #expect(!report.isClean)
        #expect(report.description.contains("shape mismatch: model.norm.weight expected [128], found [64]"))
    }
}
