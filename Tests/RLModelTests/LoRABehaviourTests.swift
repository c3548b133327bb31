import Foundation
import RLTensor
import RLTestSupport
import Testing

@testable import RLModel

/// LoRA beyond parity: PEFT's initialisation, dropout, frozen bases, bad adapters, and the `lm`
/// tool's `--adapter` and `merge`.
@Suite("LoRA behaviour")
struct LoRABehaviourTests {
    static let tiny = Fixtures.url("qwen2-tiny")
    let ids = Tensor([5, 9, 13, 200, 7, 44, 3, 101] as [Int32], shape: [2, 4])

    func temporaryFolder(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0...UInt32.max))")
    }

    @Test("new adapters start as the base model (B = 0), A within PEFT's Kaiming bound")
    func initialisation() throws {
        let model = try DecoderModel.load(from: Self.tiny)
        let base = model.logits(inputIDs: ids).toFloatArray()
        let adapters = LoRAAdapters(configuration: try LoRAConfiguration(rank: 4, targetModules: ["all-linear"]), model: model.config, seed: 3)
        try model.attachAdapters(adapters)
        #expect(model.logits(inputIDs: ids).toFloatArray() == base)
        for (name, tensor) in adapters.parameters {
            let values = tensor.toFloatArray()
            if name.contains("lora_B") {
                #expect(values.allSatisfy { $0 == 0 })
            } else {
                let bound = 1 / Float(tensor.shape[1]).squareRoot()
                #expect(values.allSatisfy { abs($0) <= bound } && values.contains { $0 != 0 })
            }
        }
        // Only the adapters are trainable, and they are what a step changes.
        #expect(Set(model.trainableParameters.keys) == Set(adapters.parameters.keys))
        let baseBefore = model.parameters.mapValues { $0.toFloatArray() }
        let (_, grads) = try valueAndGrad(at: model.trainableParameters) { try model.tokenLogProbs(inputIDs: ids, lastTokens: 3).sum() }
        AdamW().update(model.trainableParameters, gradients: grads, learningRate: 1e-2)
        #expect(model.parameters.mapValues { $0.toFloatArray() } == baseBefore)
        #expect(model.logits(inputIDs: ids).toFloatArray() != base)
    }

    @Test("dropout: active only when recording, same masks when layers are recomputed, no effect at p = 0")
    func dropout() throws {
        let model = try DecoderModel.load(from: Self.tiny)
        let adapters = try LoRAAdapters.load(from: Fixtures.url("lora/all-linear"), model: model.config)
        let withDropout = LoRAAdapters(configuration: try LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.3, targetModules: ["all-linear"]),
                                       model: model.config, seed: 1)
        try withDropout.assign(from: try LoRAAdapters(configuration: withDropout.configuration, model: model.config,
                                                      parameters: adapters.parameters))
        try model.attachAdapters(withDropout)
        withDropout.dropoutSeed = 42
        let inference = try model.tokenLogProbs(inputIDs: ids, lastTokens: 3).sum().item()
        func lossAndGradients(recompute: Bool) throws -> (Float, [String: [Float]]) {
            let (loss, grads) = try valueAndGrad(at: model.trainableParameters) {
                try model.tokenLogProbs(inputIDs: ids, lastTokens: 3, recomputeLayers: recompute).sum()
            }
            return (loss.item(), grads.mapValues { $0.toFloatArray() })
        }
        let plain = try lossAndGradients(recompute: false), recomputed = try lossAndGradients(recompute: true)
        #expect(plain.0 != inference, "dropout changed nothing under recording")
        #expect(abs(plain.0 - recomputed.0) <= 1e-5)
        for (name, grad) in plain.1 {
            #expect(ModelParityTests.relativeError(recomputed.1[name]!, grad) <= 1e-5, "\(name): recomputation drew other masks")
        }
        withDropout.dropoutSeed = 43
        #expect(try lossAndGradients(recompute: false).0 != plain.0, "a new seed drew the same masks")
    }

    @Test("settings and targets are checked")
    func badSettings() {
        #expect(throws: LoRAError.self) { try LoRAConfiguration(rank: 0) }
        #expect(throws: LoRAError.self) { try LoRAConfiguration(alpha: -1) }
        #expect(throws: LoRAError.self) { try LoRAConfiguration(dropout: 1) }
        #expect(throws: LoRAError.unsupportedTarget("lm_head")) { try LoRAConfiguration(targetModules: ["q_proj", "lm_head"]) }
        #expect(throws: LoRAError.self) { try LoRAConfiguration(targetModules: []) }
        #expect((try? LoRAConfiguration(targetModules: ["v_proj", "q_proj"]))?.targetModules == ["q_proj", "v_proj"])
    }

    /// A copy of the all-linear fixture adapter with `edit` applied to its config JSON text.
    func editedAdapter(_ edit: (String) -> String) throws -> URL {
        let folder = temporaryFolder("lora-bad")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = Fixtures.url("lora/all-linear")
        try FileManager.default.copyItem(at: source.appendingPathComponent("adapter_model.safetensors"),
                                         to: folder.appendingPathComponent("adapter_model.safetensors"))
        let config = String(decoding: try Data(contentsOf: source.appendingPathComponent("adapter_config.json")), as: UTF8.self)
        try Data(edit(config).utf8).write(to: folder.appendingPathComponent("adapter_config.json"))
        return folder
    }

    @Test("adapters this library cannot reproduce are refused with the reason", arguments: [
        ("\"use_dora\": false", "\"use_dora\": true", "DoRA"),
        ("\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"", "only LORA"),
        ("\"bias\": \"none\"", "\"bias\": \"all\"", "bias"),
        ("\"rank_pattern\": {}", "\"rank_pattern\": {\"q_proj\": 8}", "rank_pattern"),
        ("\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]", "modules_to_save"),
        ("\"r\": 4", "\"r\": 3", "does not fit"),
        ("\"peft_type\": \"LORA\"", "\"peft_type\": \"LORA\",,", "not a valid adapter_config.json"),
    ])
    func unsupportedAdapters(_ original: String, _ replacement: String, _ fragment: String) throws {
        let folder = try editedAdapter { text in
            #expect(text.contains(original), "fixture config lacks \(original)")
            return text.replacingOccurrences(of: original, with: replacement)
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try DecoderModel.load(from: Self.tiny).config
        #expect {
            try LoRAAdapters.load(from: folder, model: config)
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }

    @Test("missing files and other models' adapters are refused")
    func mismatchedAdapters() throws {
        let qwen3 = try DecoderModel.load(from: Fixtures.url("qwen3-tiny"))
        let error = #expect(throws: LoRAError.self) { try LoRAAdapters.load(from: Fixtures.url("lora/all-linear"), model: qwen3.config) }
        if case .tensorsDoNotMatch = error {} else if qwen3.config.hiddenSize != 64 || qwen3.config.numHiddenLayers != 2 {
            Issue.record("expected tensorsDoNotMatch, got \(String(describing: error))")
        }
        let empty = temporaryFolder("lora-empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: LoRAError.self) { try LoRAAdapters.load(from: empty, model: qwen3.config) }
        #expect(!LoRAAdapters.isAdapterFolder(empty) && LoRAAdapters.isAdapterFolder(Fixtures.url("lora/all-linear")))
        // Adapters made for one shape cannot be attached to another.
        let tiny = try DecoderModel.load(from: Self.tiny)
        let other = LoRAAdapters(configuration: try LoRAConfiguration(rank: 2), model: qwen3.config, seed: 1)
        if qwen3.config.checkpointTensorShapes != tiny.config.checkpointTensorShapes {
            #expect(throws: LoRAError.self) { try tiny.attachAdapters(other) }
        }
    }

    @Test("lm --adapter scores with the adapter; lm merge writes a folder that scores the same without it")
    func lmAdapterAndMerge() throws {
        let adapter = Fixtures.url("lora/all-linear").path
        let arguments = ["score", "--model", Self.tiny.path, "--ids", "5,9,13,200,7"]
        let base = try runLM(arguments), adapted = try runLM(arguments + ["--adapter", adapter])
        #expect(base.status == 0 && adapted.status == 0, "\(base.stderr) \(adapted.stderr)")
        #expect(base.stdout != adapted.stdout)
        let output = temporaryFolder("lm-merge")
        defer { try? FileManager.default.removeItem(at: output) }
        let merge = try runLM(["merge", "--model", Self.tiny.path, "--adapter", adapter, "--output", output.path])
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("config.json").path))
        let merged = try runLM(["score", "--model", output.path, "--ids", "5,9,13,200,7"])
        let adaptedValues = try JSONSerialization.jsonObject(with: Data(adapted.stdout.utf8)) as? [String: Any]
        let mergedValues = try JSONSerialization.jsonObject(with: Data(merged.stdout.utf8)) as? [String: Any]
        let a = (adaptedValues?["log_probs"] as? [Any])?.compactMap { $0 as? Double } ?? []
        let m = (mergedValues?["log_probs"] as? [Any])?.compactMap { $0 as? Double } ?? []
        #expect(a.count == 4 && m.count == 4 && zip(a, m).allSatisfy { abs($0 - $1) < 1e-4 }, "\(a) vs \(m)")
        // A second merge into the now non-empty folder is refused; merge without --adapter too.
        #expect(try runLM(["merge", "--model", Self.tiny.path, "--adapter", adapter, "--output", output.path]).status != 0)
        #expect(try runLM(["merge", "--model", Self.tiny.path, "--output", output.path + "-x"]).stderr.contains("--adapter"))
        #expect(try runLM(arguments + ["--adapter", "/nonexistent/adapter"]).stderr.contains("no such folder"))
    }
}
