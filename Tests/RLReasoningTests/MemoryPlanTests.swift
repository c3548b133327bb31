import FoundationEssentials
import RLModel
import RLTensor
import Testing
import RLTestSupport
@testable import RLReasoning

/// The memory plan: its parts against what the library actually allocates, the modes, what fits,
/// and the refusal of runs that would not fit.
@Suite("Memory plan")
struct MemoryPlanTests {
    static let huge = 1 << 50

    func bytes(_ tensors: [String: Tensor]) -> Int { tensors.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize } }
    func part(_ plan: MemoryPlan, _ name: String) -> Int? { plan.parts.first { $0.name == name }?.bytes }

    @Test("weights, adapters, reference, optimizer and gradient parts equal what the library allocates")
    func partsMatchAllocations() throws {
        let policy = try fixturePolicy()
        var c = smallConfiguration()
        c.beta = 0.04
        let full = MemoryPlan(policy: policy, configuration: c, availableBytes: Self.huge)
        #expect(part(full, "weights") == bytes(policy.parameters))
        #expect(part(full, "reference model") == bytes(policy.copy().parameters))
        #expect(part(full, "optimizer state") == 2 * bytes(policy.parameters))

        let base = try DecoderModel.load(from: Fixtures.url("qwen2-tiny"), weightType: .bf16)
        let settings = try LoRAConfiguration(rank: 4, targetModules: ["all-linear"])
        try base.attachAdapters(LoRAAdapters(configuration: settings, model: base.config, seed: 1))
        let lora = MemoryPlan(policy: base, configuration: c, availableBytes: Self.huge)
        #expect(part(lora, "weights") == bytes(base.parameters))
        #expect(part(lora, "LoRA adapters") == bytes(base.adapters!.parameters))
        #expect(part(lora, "reference model") == 0)
        #expect(part(lora, "optimizer state") == 2 * bytes(base.adapters!.parameters))
        #expect(part(lora, "gradients") == bytes(base.adapters!.parameters))

        c.leanMemory = true
        let lean = MemoryPlan(policy: policy, configuration: c, availableBytes: Self.huge)
        #expect(part(lean, "optimizer state") == part(full, "optimizer state")! / 2)
        #expect(part(lean, "gradients") == part(full, "gradients")! / 2)
        #expect(part(lean, "reference model") == bytes(policy.inferenceCopy(matrices: .bf16).parameters))
    }

    @Test("the 1.5B: full f32 fine-tuning does not fit 22 GiB, lean and LoRA do; the largest settings are consistent")
    func paperModel() throws {
        let config = try ModelConfig.load(from: Fixtures.url("model-configs/deepseek-r1-distill-qwen-1.5b/config.json"))
        var c = GRPOConfiguration()
        c.perDeviceTrainBatchSize = 6
        c.numGenerations = 6
        c.maxPromptLength = 256
        c.maxCompletionLength = 512
        c.memoryLimit = 22 << 30
        let full = MemoryPlan(model: config, configuration: c, availableBytes: Self.huge)
        #expect(!full.fits && full.largestCompletionsPerMicroStep == nil)
        #expect(full.table().contains("does NOT fit"))
        let settings = try LoRAConfiguration(rank: 16, targetModules: ["all-linear"])
        let lora = MemoryPlan(model: config, configuration: c, lora: settings, availableBytes: Self.huge)
        #expect(lora.fits && lora.peakBytes < 10 << 30)
        // The lean mode at the benchmark's shape: 1 prompt of 64 tokens x 6 completions of 256.
        var lean = c
        lean.leanMemory = true
        lean.maxPromptLength = 64
        lean.maxCompletionLength = 256
        let leanPlan = MemoryPlan(model: config, configuration: lean, availableBytes: Self.huge)
        #expect(leanPlan.fits, "\(leanPlan.table())")
        // The largest batch fits and the next group does not.
        let batch = try #require(lora.largestCompletionsPerMicroStep)
        var next = c
        next.perDeviceTrainBatchSize = batch
        #expect(MemoryPlan(model: config, configuration: next, lora: settings, availableBytes: Self.huge).fits)
        next.perDeviceTrainBatchSize = batch + 6
        #expect(!MemoryPlan(model: config, configuration: next, lora: settings, availableBytes: Self.huge).fits)
        let length = try #require(lora.largestCompletionLength)
        var longer = c
        longer.maxCompletionLength = length + 1
        #expect(length == config.maxPositionEmbeddings - c.maxPromptLength
                || !MemoryPlan(model: config, configuration: longer, lora: settings, availableBytes: Self.huge).fits)
    }

    @Test("the activations a training forward keeps are the plan's, within 5 %",
          arguments: ["full", "lora", "lora-dropout", "lora-qv-dropout", "qwen3-full", "qwen3-lora-dropout"])
    func keptActivations(_ setting: String) throws {
        let config = ModelConfig(family: setting.hasPrefix("qwen3") ? .qwen3 : .qwen2, vocabSize: 300, hiddenSize: 96, intermediateSize: 320,
                                 numHiddenLayers: 3, numAttentionHeads: 6, numKeyValueHeads: 2, maxPositionEmbeddings: 128)
        let model = DecoderModel(randomWeights: config, seed: 4)
        var lora: LoRAConfiguration?
        if setting.contains("lora") {
            lora = try LoRAConfiguration(rank: 4, dropout: setting.contains("dropout") ? 0.1 : 0,
                                         targetModules: setting.contains("qv") ? ["q_proj", "v_proj"] : ["all-linear"])
            try model.attachAdapters(LoRAAdapters(configuration: lora!, model: config, seed: 1))
        }
        let (batch, length) = (4, 48)
        let ids = Tensor((0..<(batch * length)).map { Int32($0 * 7 % 300) }, shape: [batch, length])
        var kept = 0
        let scope = HostMemory.Scope()
        _ = try valueAndGrad(at: model.trainableParameters) {
            let hidden = try scope.measure { try model.hiddenStates(inputIDs: ids) }
            kept = scope.liveBytes
            return hidden.sum()
        }
        let tokens = batch * length
        // Per layer, plus the final norm's kept input and its output.
        let predicted = (config.numHiddenLayers * MemoryPlan.keptFloatsPerToken(model: config, lora: lora) + 2 * config.hiddenSize) * tokens * 4
        let error = abs(Double(kept - predicted)) / Double(predicted)
        #expect(error <= 0.05, "\(setting): measured \(kept) bytes kept, plan \(predicted) (\(Int(error * 100)) % off)")
    }

    @Test("a GPU's plan: no host runtime part, the device named beside the memory available there; without a backend nothing is claimed")
    func devicePlan() throws {
        let config = try ModelConfig.load(from: Fixtures.url("model-configs/deepseek-r1-distill-qwen-1.5b/config.json"))
        var c = GRPOConfiguration()
        c.perDeviceTrainBatchSize = 96
        c.numGenerations = 16
        c.maxPromptLength = 512
        c.maxCompletionLength = 3584
        let host = MemoryPlan(model: config, configuration: c, availableBytes: 80 << 30)
        let gpu = MemoryPlan(model: config, configuration: c, device: .cuda(0), availableBytes: 80 << 30)
        #expect(part(host, "runtime") == MemoryPlan.runtimeBytes && part(gpu, "runtime") == nil)
        #expect(gpu.peakBytes == host.peakBytes - MemoryPlan.runtimeBytes)
        #expect(gpu.table().contains("available on cuda:0: 80.00 GiB"), "\(gpu.table())")
        #expect(!host.table().contains(" on cuda"))
        // The largest batch is searched on the same device: it fits there and the next group does not.
        let batch = try #require(gpu.largestCompletionsPerMicroStep)
        var next = c
        next.perDeviceTrainBatchSize = batch + c.numGenerations
        #expect(!MemoryPlan(model: config, configuration: next, device: .cuda(0), availableBytes: 80 << 30).fits)
        #expect(MemoryPlan.availableMemory(on: .cuda(7)) == nil)
        #expect(MemoryPlan.availableMemory(on: .cpu).map { $0 > 0 } ?? true)
    }

    @Test("the host's available memory is what the system has free plus what this process holds")
    func availableHostMemory() throws {
        guard let free = SystemMemory.freeBytes(), let resident = SystemMemory.residentBytes() else {
            #expect(MemoryPlan.availableHostMemory() == nil, "no /proc here, so nothing is known")
            return
        }
        let available = try #require(MemoryPlan.availableHostMemory())
        // Both reads move a little between the calls (other processes, this one's allocations).
        #expect(abs(available - (free + resident)) < 256 << 20, "\(available) against \(free) + \(resident)")
    }

    @Test("a run that would not fit is refused with the plan before anything is trained")
    func refusal() throws {
        var c = smallConfiguration()
        c.memoryLimit = 4 << 20
        let error = #expect(throws: TrainingError.self) {
            try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
        }
        let text = "\(String(describing: error))"
        #expect(text.contains("would not fit") && text.contains("memory plan") && text.contains("peak"), "\(text)")
        c.memoryCheck = false
        _ = try GRPOTrainer(configuration: c, policy: try fixturePolicy(), tokenizer: try fixtureTokenizer(), dataset: arithmeticDataset())
    }
}
