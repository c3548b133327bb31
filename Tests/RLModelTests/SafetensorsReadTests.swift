import FoundationEssentials
import Testing

@testable import RLModel

@Suite("Safetensors reading")
struct SafetensorsReadTests {
    @Test("model.safetensors of qwen2-tiny: every tensor has the shape config.json implies")
    func tinyShapes() throws {
        let file = try SafetensorsFile(contentsOf: fixturesDirectory.appendingPathComponent("qwen2-tiny/model.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        // config.json: vocab 512, hidden 64, intermediate 128, 2 layers, 4 heads, 2 KV heads, head_dim 16.
        var expected: [String: [Int]] = [
            "model.embed_tokens.weight": [512, 64],
            "lm_head.weight": [512, 64],
            "model.norm.weight": [64],
        ]
        for layer in 0 ..< 2 {
            let p = "model.layers.\(layer)."
            expected[p + "self_attn.q_proj.weight"] = [64, 64]
            expected[p + "self_attn.q_proj.bias"] = [64]
            expected[p + "self_attn.k_proj.weight"] = [32, 64]
            expected[p + "self_attn.k_proj.bias"] = [32]
            expected[p + "self_attn.v_proj.weight"] = [32, 64]
            expected[p + "self_attn.v_proj.bias"] = [32]
            expected[p + "self_attn.o_proj.weight"] = [64, 64]
            expected[p + "mlp.gate_proj.weight"] = [128, 64]
            expected[p + "mlp.up_proj.weight"] = [128, 64]
            expected[p + "mlp.down_proj.weight"] = [64, 128]
            expected[p + "input_layernorm.weight"] = [64]
            expected[p + "post_attention_layernorm.weight"] = [64]
        }
        #expect(Set(file.tensorNames) == Set(expected.keys))
        for name in file.tensorNames {
            let tensor = try file.tensor(named: name)
            #expect(tensor.shape == expected[name], "\(name)")
            #expect(tensor.dtype == .float32)
            #expect(tensor.byteCount == tensor.elementCount * 4)
        }
    }

    @Test("norm weights were initialised as 1 + 0.1·N(0,1): their mean is near 1")
    func normWeightsNearOne() throws {
        // make_model_fixtures.py sets every norm weight to 1 + 0.1·randn.
        for fixture in ["qwen2-tiny", "qwen2-tiny-bf16"] {
            let file = try SafetensorsFile(contentsOf: fixturesDirectory.appendingPathComponent("\(fixture)/model.safetensors"))
            let values = try file.tensor(named: "model.norm.weight").floats()
            #expect(values.count == 64)
            let mean = values.reduce(0, +) / Float(values.count)
            #expect(abs(mean - 1) < 0.05, "\(fixture): mean \(mean)")
        }
    }

    @Test("bf16 weights decode to the same Float the bits denote")
    func bfloat16Decoding() throws {
        let file = try SafetensorsFile(contentsOf: fixturesDirectory.appendingPathComponent("qwen2-tiny-bf16/model.safetensors"))
        let tensor = try file.tensor(named: "model.embed_tokens.weight")
        #expect(tensor.dtype == .bfloat16)
        let values = try tensor.floats()
        let bytes = tensor.bytes
        #expect(values.count == 512 * 64)
        for index in [0, 1, 777, values.count - 1] {
            let bits = UInt32(bytes[2 * index]) << 16 | UInt32(bytes[2 * index + 1]) << 24
            #expect(values[index].bitPattern == bits)
        }
    }

    @Test("expected.safetensors: int64 token ids lie in the vocabulary, the loss is a positive scalar")
    func expectedFile() throws {
        let file = try SafetensorsFile(contentsOf: fixturesDirectory.appendingPathComponent("qwen2-tiny/expected.safetensors"))
        #expect(file.metadata == nil)
        let inputs = try file.tensor(named: "input_ids")
        #expect(inputs.dtype == .int64)
        #expect(inputs.shape == [2, 16])
        let ids = try inputs.int64s()
        #expect(ids.allSatisfy { (0 ..< 512).contains($0) })
        // target_ids are input_ids shifted by one (FIXTURE.md: next tokens).
        let targets = try file.tensor(named: "target_ids").int32s()
        #expect(targets.map(Int64.init) == Array(ids[1 ..< 16] + ids[17 ..< 32]))
        let loss = try file.tensor(named: "loss")
        #expect(loss.shape == [])
        #expect(loss.elementCount == 1)
        let value = try loss.floats()[0]
        // Random tiny model over 512 tokens: cross entropy near ln(512) ≈ 6.24.
        #expect(value > 4 && value < 9)
        #expect(try file.tensor(named: "logits").shape == [2, 16, 512])
    }

    @Test("half-precision bits decode to known values")
    func halfDecoding() {
        #expect(floatFromHalfBits(0x3C00) == 1)
        #expect(floatFromHalfBits(0xC000) == -2)
        #expect(floatFromHalfBits(0x7BFF) == 65504)
        #expect(floatFromHalfBits(0x0001) == 0x1p-24)
        #expect(floatFromHalfBits(0x0400) == 0x1p-14)
        #expect(floatFromHalfBits(0x7C00) == .infinity)
        #expect(floatFromHalfBits(0xFC00) == -.infinity)
        #expect(floatFromHalfBits(0x7E00).isNaN)
        #expect(floatFromHalfBits(0x8000).bitPattern == (-Float.zero).bitPattern)
        #expect(floatFromHalfBits(0x3555) == 0.333251953125)
    }

    @Test("F16, I32, U8 and BOOL tensors decode through the helpers")
    func smallDTypes() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write("small.safetensors", safetensorsBytes(
            header: #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"i":{"dtype":"I32","shape":[2],"data_offsets":[4,12]},"u":{"dtype":"U8","shape":[2],"data_offsets":[12,14]},"b":{"dtype":"BOOL","shape":[2],"data_offsets":[14,16]}}"#,
            data: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 7, 0, 0, 0, 200, 3, 1, 0]))
        let file = try SafetensorsFile(contentsOf: url)
        #expect(try file.tensor(named: "h").floats() == [1, -2])
        #expect(try file.tensor(named: "i").int32s() == [-1, 7])
        #expect(try file.tensor(named: "u").int64s() == [200, 3])
        #expect(try file.tensor(named: "b").int64s() == [1, 0])
        #expect(checkpointError { _ = try file.tensor(named: "i").floats(name: "i") }
            == .unsupportedConversion(tensor: "i", dtype: .int32, target: "Float"))
        #expect(checkpointError { _ = try file.tensor(named: "missing") }
            == .tensorNotFound(file: url.path, tensor: "missing"))
    }
}
