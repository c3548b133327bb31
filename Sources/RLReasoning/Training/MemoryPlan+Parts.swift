import RLModel
import RLTensor

extension MemoryPlan {
    /// A process's own memory besides its tensors: the executable, the Swift runtime, the
    /// tokenizer's tables and the worker threads (0.11 GiB measured with the Qwen2 tokenizer by
    /// `grpo-memory-bench`, rounded up).
    static let runtimeBytes = 160 << 20

    /// Every part, in bytes, from the model's shapes and the settings.
    static func parts(model c: ModelConfig, configuration g: GRPOConfiguration, lora: LoRAConfiguration?,
                      baseWeightType: DType, device: Device) -> [Part] {
        let f32 = 4
        let shapes = c.checkpointTensorShapes
        let matrixCount = shapes.values.filter { $0.count == 2 }.reduce(0) { $0 + $1.reduce(1, *) }
        let vectorCount = shapes.values.filter { $0.count != 2 }.reduce(0) { $0 + $1.reduce(1, *) }
        let (hidden, inter, layers, vocab) = (c.hiddenSize, c.intermediateSize, c.numHiddenLayers, c.vocabSize)
        let queryWidth = c.numAttentionHeads * c.headDim, keyValueWidth = c.numKeyValueHeads * c.headDim
        let modules: [String: (inputs: Int, outputs: Int)] = [
            "q_proj": (hidden, queryWidth), "k_proj": (hidden, keyValueWidth), "v_proj": (hidden, keyValueWidth),
            "o_proj": (queryWidth, hidden), "gate_proj": (hidden, inter), "up_proj": (hidden, inter), "down_proj": (inter, hidden),
        ]
        let adapterCount = lora.map { l in layers * l.targetModules.reduce(0) { $0 + l.rank * (modules[$1]!.inputs + modules[$1]!.outputs) } } ?? 0
        let trainableCount = lora == nil ? matrixCount + vectorCount : adapterCount
        let baseBytes = lora == nil ? f32 : (baseWeightType == .f32 ? f32 : 2)

        // Tokens of one micro-step: completions x (prompt + completion), at the configured maxima.
        let completions = max(1, g.perDeviceTrainBatchSize)
        let generated = g.promptsPerMicroStep * max(g.numGenerations, 1)
        let length = g.maxPromptLength + g.maxCompletionLength
        let tokens = completions * length
        let scoredRows = completions * g.maxCompletionLength
        let chunkRows = min(scoredRows, max(1, g.logitsChunkBytes / (vocab * f32)))
        let lean = g.leanMemory && lora == nil
        let stateBytes = lean ? 2 : f32
        let logitBytes = chunkRows * vocab * f32

        let perToken = keptFloatsPerToken(model: c, lora: lora)
        let layerActivations = tokens * perToken * f32

        // The runtime lives in host memory; on a GPU the driver's context is already outside
        // the free memory `availableMemory(on:)` reports.
        var parts: [Part] = device == .cpu
            ? [Part(name: "runtime", bytes: runtimeBytes, phase: "all", detail: "executable, Swift runtime, tokenizer")] : []
        parts += [
            Part(name: "weights", bytes: matrixCount * baseBytes + vectorCount * f32, phase: "all",
                 detail: lora == nil ? "\(matrixCount + vectorCount) parameters, f32, trained"
                     : "\(matrixCount + vectorCount) parameters, matrices \(baseWeightType), frozen"),
        ]
        if g.beta != 0 {
            parts.append(lora == nil
                ? Part(name: "reference model", bytes: matrixCount * (lean ? 2 : f32) + vectorCount * f32, phase: "all",
                       detail: lean ? "a frozen copy for the KL term, matrices bf16" : "a frozen copy for the KL term")
                : Part(name: "reference model", bytes: 0, phase: "all", detail: "the base with the adapters off: no copy"))
        }
        if lora != nil {
            parts.append(Part(name: "LoRA adapters", bytes: adapterCount * f32, phase: "all", detail: "\(adapterCount) parameters, f32, trained"))
        }
        parts.append(Part(name: "optimizer state", bytes: 2 * trainableCount * stateBytes, phase: "all",
                          detail: lean ? "AdamW moments, bf16 (stochastic rounding)" : "AdamW moments, f32"))

        // Generation: the KV cache of every completion of a micro-step, one layer of the prompt's prefill.
        let cacheBytes = 2 * layers * generated * length * keyValueWidth * f32
        parts.append(Part(name: "KV cache", bytes: cacheBytes, phase: "generation",
                          detail: "\(generated) sequences x \(length) tokens x \(layers) layers"))
        // Without autograd a layer's intermediates live only while it runs: the MLP's three
        // intermediate-wide products and a few hidden-wide ones at most.
        let transientPerToken = 3 * inter + 4 * hidden + queryWidth + 2 * keyValueWidth
        parts.append(Part(name: "prefill", bytes: generated * g.maxPromptLength * transientPerToken * f32 + generated * vocab * f32,
                          phase: "generation", detail: "one layer of the prompts at a time, last logits"))
        if g.rolloutDtype == .bfloat16 && baseBytes == f32 {
            parts.append(Part(name: "rollout weights", bytes: matrixCount * 2, phase: "generation",
                              detail: "the policy's matrices in bf16 for sampling (rollout_dtype)"))
        }

        // Scoring without gradients (reference / old-policy log-probs): hidden states, one layer, logits.
        if g.beta != 0 || g.numIterations > 1 || (g.stepsPerGeneration ?? g.gradientAccumulationSteps) > g.gradientAccumulationSteps {
            parts.append(Part(name: "scoring pass", bytes: tokens * (hidden + transientPerToken) * f32 + logitBytes, phase: "scoring",
                              detail: "\(tokens) tokens: one layer at a time, \(chunkRows) rows of logits"))
        }

        // Training: gradients and kept activations throughout; first the logits and the LM head's
        // backward ("head"), then the layers' backward, one recomputed layer at a time ("layers").
        parts.append(Part(name: "gradients", bytes: trainableCount * stateBytes, phase: "training",
                          detail: lean ? "one bf16 accumulator per trained tensor (stochastic rounding)" : "one f32 accumulator per trained tensor"))
        if g.gradientCheckpointing {
            parts.append(Part(name: "layer inputs", bytes: (layers + 2) * tokens * hidden * f32, phase: "training",
                              detail: "\(tokens) tokens x \(layers) layers (gradient_checkpointing)"))
            parts.append(Part(name: "recomputed layer", bytes: 2 * layerActivations, phase: "layers",
                              detail: "one layer's activations and their gradients"))
        } else {
            parts.append(Part(name: "activations", bytes: layers * layerActivations + 2 * tokens * hidden * f32, phase: "training",
                              detail: "\(tokens) tokens x \(layers) layers, \(perToken) floats per token and layer"))
        }
        parts.append(Part(name: "logits", bytes: 2 * logitBytes, phase: "head",
                          detail: "\(chunkRows) of \(scoredRows) scored rows at a time, and their gradient"))
        if baseBytes == 2 {
            // A bf16 LM head's input gradient on bf16 tiles: the logits' gradient rounded to bf16
            // and at most 64 MiB of the head packed at a time.
            parts.append(Part(name: "bf16 head product", bytes: chunkRows * vocab * 2 + (64 << 20), phase: "head",
                              detail: "the logits' gradient in bf16 and a packed slice of the head"))
        }
        if baseBytes == f32 && g.matmulPrecision == .bfloat16 && MatmulPrecision.bfloat16IsAvailable(on: device) {
            // f32 products at bf16 precision on the tiles: the LM head packed (at most 256 MiB at a
            // time) and at most 64 MiB of the other operand rounded.
            parts.append(Part(name: "bf16 products", bytes: min(vocab * hidden * 2, CPUBackend.packedChunkBytes) + CPUBackend.roundedChunkBytes,
                              phase: "head",
                              detail: "operands of the LM head's products rounded to bf16 (matmul_precision)"))
        }
        if lora == nil {
            // Weight gradients go into their accumulators a block of rows at a time.
            parts.append(Part(name: "gradient block", bytes: min(vocab * hidden * f32, Tensor.weightGradientBlockBytes), phase: "head",
                              detail: "rows of the LM head's gradient before they are accumulated"))
        }
        return parts
    }

    /// Floats autograd keeps per token and decoder layer between a training forward and its
    /// backward: each tensor some recorded op's gradient rule still needs. Sums, bias additions
    /// and rotations keep nothing; a product with a frozen weight keeps nothing of its input; a
    /// product with a trained matrix keeps its input; norms keep their input; attention keeps
    /// queries, keys, values and its output; SwiGLU keeps both inputs; LoRA keeps the (dropped
    /// out) input of `A` and the rank-wide `s · A x`. Verified against `HostMemory` in the tests.
    static func keptFloatsPerToken(model c: ModelConfig, lora: LoRAConfiguration?) -> Int {
        let (hidden, inter) = (c.hiddenSize, c.intermediateSize)
        let queryWidth = c.numAttentionHeads * c.headDim, keyValueWidth = c.numKeyValueHeads * c.headDim
        let shapes = c.checkpointTensorShapes
        let targets = Set(lora?.targetModules ?? [])
        let dropout = (lora?.dropout ?? 0) > 0
        let rank = lora?.rank ?? 0
        /// Whether a projection's input must be kept: its weight is trained, or its adapter reads
        /// it directly (no dropout in between).
        func keepsInput(_ module: String) -> Bool { lora == nil || (targets.contains(module) && !dropout) }
        var floats = hidden                                   // the layer's input, kept by the first norm
        floats += hidden                                      // after attention, kept by the second norm
        floats += 2 * queryWidth + 2 * keyValueWidth          // rotated queries and keys, values, attention output
        floats += c.numAttentionHeads + 2                     // attention log-sum-exp, the norms' 1/rms
        if shapes["model.layers.0.self_attn.q_norm.weight"] != nil { floats += queryWidth + keyValueWidth }
        if ["q_proj", "k_proj", "v_proj"].contains(where: keepsInput) { floats += hidden }
        if ["gate_proj", "up_proj"].contains(where: keepsInput) { floats += hidden }
        floats += 2 * inter                                   // gate and up, kept by SwiGLU
        if keepsInput("down_proj") { floats += inter }        // SwiGLU's output
        // (o_proj's input is the attention output, kept already.)
        let inputs = ["q_proj": hidden, "k_proj": hidden, "v_proj": hidden, "o_proj": queryWidth,
                      "gate_proj": hidden, "up_proj": hidden, "down_proj": inter]
        for module in targets { floats += rank + (dropout ? inputs[module]! : 0) }
        return floats
    }
}
