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

@Suite("Qwen2 checkpoint tensor names")
struct SafetensorsQwen2NamesTests {
    @Test("the names and shapes derived from each fixture's config.json match its checkpoint", arguments: [
        "qwen2-tiny", "qwen2-tiny-bf16", "qwen2-tiny-tied-sharded",
    ])
    func fixtureLayouts(_ fixture: String) throws {
        let folder = fixturesDirectory.appendingPathComponent(fixture)
        let config = try ModelConfig.load(from: folder.appendingPathComponent("config.json"))
        let report = WeightNameReport(expected: config.checkpointTensorShapes, checkpoint: try CheckpointReader(at: folder))
        #expect(report.isClean, "\(report)")
    }

    @Test("the tied tiny layout equals the hand-written one")
    func handWritten() throws {
        let config = try ModelConfig.load(from: fixturesDirectory.appendingPathComponent("qwen2-tiny-tied-sharded/config.json"))
        #expect(config.checkpointTensorShapes == SafetensorsWeightReportTests.tiedShapes())
    }

    @Test("DeepSeek-R1-Distill-Qwen-1.5B: 1.777 B parameters with K/V width 256 (openrs-reference.md §5)")
    func deepSeekCount() throws {
        let config = try ModelConfig.load(from: deepSeekConfigs.appendingPathComponent("config.json"))
        let shapes = config.checkpointTensorShapes
        #expect(shapes["model.layers.0.self_attn.k_proj.weight"] == [256, 1536])
        #expect(shapes["lm_head.weight"] == [151936, 1536])
        #expect(shapes.count == 2 + 1 + 28 * 12)
        let parameters = shapes.values.reduce(0) { $0 + $1.reduce(1, *) }
        #expect(abs(Double(parameters) / 1e9 - 1.777) < 0.001)
    }
}
