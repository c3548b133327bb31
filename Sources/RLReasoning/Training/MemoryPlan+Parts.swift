import RLModel
import RLTensor

extension MemoryPlan {
    /// A process's own memory before any model is loaded: the executable, the Swift runtime,
    /// the tokenizer's tables and the worker threads (measured: see `Benchmarks/`).
    static let runtimeBytes = 300 << 20

    /// Every part, in bytes, from the model's shapes and the settings.
    static func parts(model c: ModelConfig, configuration g: GRPOConfiguration, lora: LoRAConfiguration?,
                      baseWeightType: DType) -> [Part] {
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

        // Floats autograd keeps per token in one decoder layer: every intermediate result that is
        // an input of a later recorded op (norms, projections, biases, rotations, attention,
        // residual sums, the three MLP products), plus what LoRA adds on each adapted projection
        // (A x and its scaling, B A x, the sum; with dropout the mask and the masked input).
        var perToken = 6 * hidden + 3 * queryWidth + 3 * keyValueWidth + 3 * inter
        if shapes["model.layers.0.self_attn.q_proj.bias"] != nil { perToken += queryWidth + 2 * keyValueWidth }
        if shapes["model.layers.0.self_attn.q_norm.weight"] != nil { perToken += queryWidth + keyValueWidth }
        if let lora {
            for module in lora.targetModules {
                let (inputs, outputs) = modules[module]!
                perToken += 2 * lora.rank + 2 * outputs + (lora.dropout > 0 ? 2 * inputs : 0)
            }
        }
        let layerActivations = tokens * perToken * f32

        var parts: [Part] = [
            Part(name: "runtime", bytes: runtimeBytes, phase: "all", detail: "executable, Swift runtime, tokenizer"),
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
        parts.append(Part(name: "prefill", bytes: generated * g.maxPromptLength * perToken * f32 + generated * vocab * f32,
                          phase: "generation", detail: "one layer of the prompts at a time, last logits"))

        // Scoring without gradients (reference / old-policy log-probs): hidden states, one layer, logits.
        if g.beta != 0 || g.numIterations > 1 {
            parts.append(Part(name: "scoring pass", bytes: tokens * hidden * f32 + layerActivations + logitBytes, phase: "scoring",
                              detail: "\(tokens) tokens: one layer at a time, \(chunkRows) rows of logits"))
        }

        // Training: gradients, kept activations, the recomputed layer, logits and their gradient.
        parts.append(Part(name: "gradients", bytes: trainableCount * stateBytes, phase: "training",
                          detail: lean ? "one bf16 accumulator per trained tensor (stochastic rounding)" : "one f32 accumulator per trained tensor"))
        if g.gradientCheckpointing {
            parts.append(Part(name: "layer inputs", bytes: (layers + 2) * tokens * hidden * f32, phase: "training",
                              detail: "\(tokens) tokens x \(layers) layers (gradient_checkpointing)"))
            parts.append(Part(name: "recomputed layer", bytes: 2 * layerActivations, phase: "training",
                              detail: "one layer's activations and their gradients"))
        } else {
            parts.append(Part(name: "activations", bytes: layers * layerActivations + 2 * tokens * hidden * f32, phase: "training",
                              detail: "\(tokens) tokens x \(layers) layers, \(perToken) floats per token and layer"))
        }
        parts.append(Part(name: "logits", bytes: 2 * logitBytes, phase: "training",
                          detail: "\(chunkRows) of \(scoredRows) scored rows at a time, and their gradient"))
        if lora == nil {
            parts.append(Part(name: "head gradient", bytes: vocab * hidden * f32, phase: "training",
                              detail: "one LM-head (or embedding) gradient before it is accumulated"))
        }
        return parts
    }
}
