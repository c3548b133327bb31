import FoundationEssentials
import RLTensor
import RLTestSupport
import Testing

@testable import RLModel

/// LoRA against PEFT on the adapters it wrote for the tiny Qwen2 checkpoint
/// (`Tests/Fixtures/lora/*`, `tools/fixtures/make_lora_fixture.py`): logits of a left-padded
/// batch, adapter gradients, the merged model, the KV-cache path, and our saved files.
@Suite("LoRA parity with PEFT")
struct LoRAParityTests {
    static let adapters = ["all-linear", "rslora-qv"]

    func load(_ adapter: String, base weightType: DType = .f32) throws -> (DecoderModel, LoRAAdapters, ModelParityTests.Expected) {
        let model = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"), weightType: weightType)
        let folder = Fixtures.url("lora/\(adapter)")
        let adapters = try LoRAAdapters.load(from: folder, model: model.config)
        try model.attachAdapters(adapters)
        return (model, adapters, ModelParityTests.Expected(reader: try CheckpointReader(at: folder.appendingPathComponent("expected.safetensors"))))
    }

    func batch(_ expected: ModelParityTests.Expected) throws -> (ids: Tensor, mask: Tensor) {
        let shape = try expected.shape("input_ids")
        return (Tensor(try expected.ints("input_ids"), shape: shape), Tensor(try expected.ints("attention_mask"), shape: shape))
    }

    /// Logits at the positions of real tokens (PEFT's logits at padding are not compared).
    func realTokenLogits(_ logits: [Float], mask: [Int32], vocab: Int) -> [Float] {
        mask.enumerated().filter { $0.element != 0 }.flatMap { logits[($0.offset * vocab)..<(($0.offset + 1) * vocab)] }
    }

    @Test("configuration read from PEFT's adapter_config.json", arguments: adapters)
    func configuration(_ adapter: String) throws {
        let (_, adapters, _) = try load(adapter)
        let c = adapters.configuration
        if adapter == "all-linear" {
            #expect(c.rank == 4 && c.alpha == 8 && !c.useRSLoRA && c.targetModules == LoRAConfiguration.linearModules)
            #expect(c.scaling == 2)
            #expect(adapters.parameters.count == 2 * 7 * 2)
        } else {
            #expect(c.rank == 2 && c.alpha == 3 && c.useRSLoRA && c.targetModules == ["q_proj", "v_proj"])
            #expect(abs(c.scaling - 3 / Float(2).squareRoot()) < 1e-6)
            #expect(adapters.parameters.count == 2 * 2 * 2)
        }
    }

    @Test("logits and merged logits match PEFT", arguments: adapters)
    func logits(_ adapter: String) throws {
        let (model, _, expected) = try load(adapter)
        let (ids, mask) = try batch(expected)
        let vocab = model.config.vocabSize, maskValues = mask.toInt32Array()
        let ours = realTokenLogits(model.logits(inputIDs: ids, attentionMask: mask).toFloatArray(), mask: maskValues, vocab: vocab)
        let theirs = realTokenLogits(try expected.floats("logits"), mask: maskValues, vocab: vocab)
        #expect(ModelParityTests.maxAbsDifference(ours, theirs) <= 1e-4)
        // The adapters matter: the base model's logits are far from these.
        let base = withExtendedLifetime(model) { model.adapters!.withoutAdapters { model.logits(inputIDs: ids, attentionMask: mask) } }
        #expect(ModelParityTests.maxAbsDifference(realTokenLogits(base.toFloatArray(), mask: maskValues, vocab: vocab), theirs) > 1e-2)
        let merged = model.mergingAdapters()
        #expect(merged.adapters == nil)
        let mergedLogits = realTokenLogits(merged.logits(inputIDs: ids, attentionMask: mask).toFloatArray(), mask: maskValues, vocab: vocab)
        #expect(ModelParityTests.maxAbsDifference(mergedLogits, realTokenLogits(try expected.floats("merged_logits"), mask: maskValues, vocab: vocab)) <= 1e-4)
    }

    @Test("adapter gradients match PEFT; base weights get none", arguments: adapters)
    func gradients(_ adapter: String) throws {
        let (model, adapters, expected) = try load(adapter)
        let (ids, mask) = try batch(expected)
        let weights = Tensor([1, -2, 0.5, 3, -1, 2, 1, 0.25], shape: [2, 4])
        #expect(Set(model.trainableParameters.keys) == Set(adapters.parameters.keys))
        for recompute in [false, true] {
            let (loss, grads) = try valueAndGrad(at: model.trainableParameters) {
                -(try model.tokenLogProbs(inputIDs: ids, attentionMask: mask, lastTokens: 4, recomputeLayers: recompute) * weights).sum()
            }
            #expect(abs(loss.item() - (try expected.floats("loss"))[0]) <= 1e-4)
            for (name, grad) in grads {
                let error = ModelParityTests.relativeError(grad.toFloatArray(), try expected.floats("grad." + name))
                #expect(error <= 1e-3, "\(adapter) \(name) (recompute \(recompute)): relative error \(error)")
            }
        }
    }

    @Test("a bf16 base gives PEFT's logits and gradients to bf16 precision")
    func bf16Base() throws {
        let (model, _, expected) = try load("all-linear", base: .bf16)
        #expect(model.parameters["model.layers.0.self_attn.q_proj.weight"]!.dtype == .bf16)
        let (ids, mask) = try batch(expected)
        let vocab = model.config.vocabSize, maskValues = mask.toInt32Array()
        let ours = realTokenLogits(model.logits(inputIDs: ids, attentionMask: mask).toFloatArray(), mask: maskValues, vocab: vocab)
        #expect(ModelParityTests.relativeError(ours, realTokenLogits(try expected.floats("logits"), mask: maskValues, vocab: vocab)) <= 2e-2)
        let weights = Tensor([1, -2, 0.5, 3, -1, 2, 1, 0.25], shape: [2, 4])
        let (_, grads) = try valueAndGrad(at: model.trainableParameters) {
            -(try model.tokenLogProbs(inputIDs: ids, attentionMask: mask, lastTokens: 4) * weights).sum()
        }
        for (name, grad) in grads {
            let error = ModelParityTests.relativeError(grad.toFloatArray(), try expected.floats("grad." + name))
            #expect(error <= 5e-2, "\(name): relative error \(error)")
        }
    }

    @Test("the KV-cache path applies live adapters: prefill + decode equal the full forward")
    func cachedDecoding() throws {
        let (model, _, expected) = try load("all-linear")
        let ids = try expected.ints("input_ids").prefix(9).map { $0 }
        let full = model.logits(inputIDs: Tensor(ids, shape: [1, 9])).toFloatArray()
        let vocab = model.config.vocabSize
        let cache = model.makeCache(batch: 1, capacity: 9)
        var last = model.forward(tokens: Array(ids[0..<5]), cache: cache).toFloatArray()
        #expect(ModelParityTests.maxAbsDifference(last, Array(full[(4 * vocab)..<(5 * vocab)])) <= 1e-4)
        for t in 5..<9 {
            last = model.forward(tokens: [ids[t]], cache: cache).toFloatArray()
            #expect(ModelParityTests.maxAbsDifference(last, Array(full[(t * vocab)..<((t + 1) * vocab)])) <= 1e-4)
        }
        // A bf16 inference copy shares the adapters.
        #expect(model.inferenceCopy(matrices: .bf16).adapters === model.adapters)
    }

    @Test("saved adapters reload to the same tensors, with PEFT's config keys", arguments: adapters)
    func saveAndReload(_ adapter: String) throws {
        let (model, adapters, _) = try load(adapter)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-save-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        adapters.baseModelNameOrPath = "tiny/base"
        try adapters.save(to: folder)
        let config = String(decoding: try Data(contentsOf: folder.appendingPathComponent("adapter_config.json")), as: UTF8.self)
        for key in ["\"peft_type\" : \"LORA\"", "\"task_type\" : \"CAUSAL_LM\"", "\"r\" : \(adapters.configuration.rank)",
                    "\"lora_alpha\"", "\"target_modules\"", "\"use_rslora\" : \(adapters.configuration.useRSLoRA)",
                    "\"bias\" : \"none\"", "\"base_model_name_or_path\" : \"tiny\\/base\""] {
            #expect(config.contains(key), "adapter_config.json lacks \(key):\n\(config)")
        }
        let reloaded = try LoRAAdapters.load(from: folder, model: model.config)
        #expect(reloaded.configuration == adapters.configuration)
        #expect(reloaded.baseModelNameOrPath == "tiny/base")
        // The same tensor names PEFT wrote, with the same values.
        let peftNames = try CheckpointReader(at: Fixtures.url("lora/\(adapter)/adapter_model.safetensors")).tensorNames
        #expect(try CheckpointReader(at: folder.appendingPathComponent("adapter_model.safetensors")).tensorNames == peftNames)
        for (name, tensor) in adapters.parameters { #expect(reloaded.parameters[name]!.toFloatArray() == tensor.toFloatArray()) }
    }
}
