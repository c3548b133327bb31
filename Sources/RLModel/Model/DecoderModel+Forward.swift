import RLTensor

extension DecoderModel {
    /// Per-token positions for a batch: `cumsum(mask) - 1` (so left padding does not shift the
    /// real tokens' positions), 0 at padding; `[batch, length]` i32.
    public static func positions(attentionMask mask: [Int32], batch: Int, length: Int, start: [Int32]? = nil) -> [Int32] {
        var positions = [Int32](repeating: 0, count: batch * length)
        for b in 0..<batch {
            var next = start?[b] ?? 0
            for t in 0..<length where mask[b * length + t] != 0 {
                positions[b * length + t] = next
                next += 1
            }
        }
        return positions
    }

    /// One decoder layer on hidden states `[batch, length, hidden]`.
    ///
    /// Without a cache, attention reads this layer's own keys and values (training); with one,
    /// the new keys and values are written into it and attention reads it up to the new tokens
    /// (a paged cache: one new token per sequence, written and read through `paged.step`).
    func decoderLayer(_ layer: Int, _ x: Tensor, positions: RotaryPositions, keyMask: Tensor?,
                      cache: KVCache? = nil, paged: (cache: PagedKVCache, step: PagedStepTensors)? = nil) -> Tensor {
        let c = config
        let w = layers[layer]
        let (batch, length) = (x.shape[0], x.shape[1])
        let eps = Float(c.rmsNormEps)
        /// A projection, its optional bias, split into heads.
        func heads(_ input: Tensor, _ name: String, _ bias: String?, _ count: Int) -> Tensor {
            project(input, name, bias).reshaped([batch, length, count, c.headDim])
        }
        /// Qwen3's per-head RMSNorm of queries and keys, then RoPE.
        func rotated(_ projected: Tensor, norm: String?) -> Tensor {
            positions.apply(norm.map { projected.rmsNorm(weight: weight($0), eps: eps) } ?? projected)
        }
        let h = x.rmsNorm(weight: weight(w.inputNorm), eps: eps)
        let q = rotated(heads(h, w.query, w.queryBias, c.numAttentionHeads), norm: w.queryNorm)
        let k = rotated(heads(h, w.key, w.keyBias, c.numKeyValueHeads), norm: w.keyNorm)
        let v = heads(h, w.value, w.valueBias, c.numKeyValueHeads)
        let attended: Tensor
        if let paged {
            attended = paged.cache.attend(layer: layer, query: q, keys: k, values: v, step: paged.step)
        } else if let cache {
            let (keys, values, mask, offset) = cache.append(layer: layer, keys: k, values: v)
            attended = Tensor.attention(query: q, key: keys, value: values, keyMask: mask, queryOffset: offset)
        } else {
            attended = Tensor.attention(query: q, key: k, value: v, keyMask: keyMask)
        }
        let afterAttention = x + project(attended.reshaped([batch, length, c.numAttentionHeads * c.headDim]), w.output, w.outputBias)
        let h2 = afterAttention.rmsNorm(weight: weight(w.postAttentionNorm), eps: eps)
        let mlp = project(Tensor.swiglu(gate: project(h2, w.gate, w.gateBias), up: project(h2, w.up, w.upBias)), w.down, w.downBias)
        return afterAttention + mlp
    }

    /// `input` times the weight `name` (plus its bias), plus the LoRA update when adapters are
    /// attached (computed in f32 and rounded to bf16 for bf16 activations).
    func project(_ input: Tensor, _ name: String, _ bias: String?) -> Tensor {
        let output = input.linear(weight(name), bias: bias.map(weight))
        guard input.dtype == .bf16 else {
            guard let update = adapters?.update(input, weight: name) else { return output }
            return output + update
        }
        guard let update = adapters?.update(input.cast(to: .f32), weight: name) else { return output }
        return output + update.cast(to: .bf16)
    }

    /// Final hidden states `[batch, length, hidden]` for token ids `[batch, length]` (i32).
    ///
    /// `attentionMask` (`[batch, length]`, 1 = token, 0 = padding) gives left- or right-padded
    /// batches: positions come from the mask and padding keys are never attended. With
    /// `recomputeLayers`, each decoder layer's activations are recomputed during backward.
    /// Throws `LanguageModelError.invalidArgument` as `tokenLogProbs` does for bad ids or mask.
    public func hiddenStates(inputIDs: Tensor, attentionMask: Tensor? = nil, recomputeLayers: Bool = false) throws -> Tensor {
        try checkInput(inputIDs: inputIDs, attentionMask: attentionMask)
        return computeHiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, recomputeLayers: recomputeLayers)
    }

    /// `hiddenStates` of checked input.
    func computeHiddenStates(inputIDs: Tensor, attentionMask: Tensor?, recomputeLayers: Bool) -> Tensor {
        let (batch, length) = (inputIDs.shape[0], inputIDs.shape[1])
        let maskValues = attentionMask?.toInt32Array() ?? [Int32](repeating: 1, count: batch * length)
        let device = self.device
        let positions = RotaryPositions(DecoderModel.positions(attentionMask: maskValues, batch: batch, length: length),
                                        batch: batch, length: length, config: config, device: device)
        let mask = attentionMask.map { ($0.dtype == .i32 ? $0 : $0.cast(to: .i32)).to(device) }
        var x = weight("model.embed_tokens.weight").embedding(inputIDs.to(device))
        for layer in 0..<config.numHiddenLayers {
            if recomputeLayers {
                x = checkpoint(x) { [unowned self] in self.decoderLayer(layer, $0, positions: positions, keyMask: mask) }
            } else {
                x = decoderLayer(layer, x, positions: positions, keyMask: mask)
            }
        }
        return x.rmsNorm(weight: weight("model.norm.weight"), eps: Float(config.rmsNormEps))
    }

    /// Logits `[..., vocab]` of final hidden states `[..., hidden]`.
    public func logits(hiddenStates: Tensor) -> Tensor {
        hiddenStates.linear(lmHead)
    }

    /// Log-probability of each token given the ones before it, for the last `count` tokens of
    /// each row: returns `[batch, count]` where entry `t` scores token `length - count + t`.
    ///
    /// Only the needed positions go through the LM head, and the `[tokens, vocab]` log-softmax
    /// is never materialised. `temperature` divides the logits first. When the logits of all
    /// scored positions would take more than `maxLogitBytes` (f32), they are computed in row
    /// chunks under `checkpoint`: each chunk's logits exist only while it is scored, and again
    /// while its gradient is taken, at the price of one more LM-head product in the backward
    /// pass. The result and the gradients do not depend on the chunking.
    public func tokenLogProbs(inputIDs: Tensor, attentionMask: Tensor? = nil, lastTokens count: Int,
                              temperature: Float = 1, recomputeLayers: Bool = false,
                              maxLogitBytes: Int = DecoderModel.defaultMaxLogitBytes) throws -> Tensor {
        try scoreTokens(inputIDs: inputIDs, attentionMask: attentionMask, lastTokens: count, temperature: temperature,
                    recomputeLayers: recomputeLayers, maxLogitBytes: maxLogitBytes, withEntropy: false).logProbs
    }

    /// `tokenLogProbs` and the entropy (nats, no gradient) of the model's distribution at every
    /// scored position, `[batch, count]` each, from the same logits (one more read of each chunk).
    public func tokenLogProbsAndEntropies(inputIDs: Tensor, attentionMask: Tensor? = nil, lastTokens count: Int,
                                          temperature: Float = 1, recomputeLayers: Bool = false,
                                          maxLogitBytes: Int = DecoderModel.defaultMaxLogitBytes) throws -> (logProbs: Tensor, entropies: Tensor) {
        let result = try scoreTokens(inputIDs: inputIDs, attentionMask: attentionMask, lastTokens: count, temperature: temperature,
                                 recomputeLayers: recomputeLayers, maxLogitBytes: maxLogitBytes, withEntropy: true)
        return (result.logProbs, result.entropies!)  // computed when withEntropy is true
    }

    private func scoreTokens(inputIDs: Tensor, attentionMask: Tensor?, lastTokens count: Int, temperature: Float,
                             recomputeLayers: Bool, maxLogitBytes: Int, withEntropy: Bool) throws -> (logProbs: Tensor, entropies: Tensor?) {
        try checkScoring(inputIDs: inputIDs, attentionMask: attentionMask, lastTokens: count, temperature: temperature, maxLogitBytes: maxLogitBytes)
        let (batch, length) = (inputIDs.shape[0], inputIDs.shape[1])
        let hidden = computeHiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, recomputeLayers: recomputeLayers)
        let scoring = hidden.sliced(axis: 1, (length - count - 1)..<(length - 1))
        let targets = inputIDs.sliced(axis: 1, (length - count)..<length).contiguous().to(device)
        let rows = batch * count
        let chunkRows = max(1, maxLogitBytes / (config.vocabSize * MemoryLayout<Float>.size))
        /// Log-probs (and entropies) of one block of logits.
        func score(_ logits: Tensor, _ targets: Tensor) -> [Tensor] {
            guard withEntropy else { return [logits.tokenLogProbs(targets: targets, temperature: temperature)] }
            let (logProbs, entropy) = logits.tokenLogProbsAndEntropy(targets: targets, temperature: temperature)
            return [logProbs, entropy]
        }
        guard rows > chunkRows else {
            let scored = score(logits(hiddenStates: scoring), targets)
            return (scored[0], withEntropy ? scored[1] : nil)
        }
        let flatHidden = scoring.reshaped([rows, config.hiddenSize])
        let flatTargets = targets.reshaped([rows])
        var logProbPieces: [Tensor] = [], entropyPieces: [Tensor] = []
        for start in stride(from: 0, to: rows, by: chunkRows) {
            let range = start..<min(rows, start + chunkRows)
            let chunkTargets = flatTargets.sliced(axis: 0, range).contiguous()
            // Recomputed in backward; the entropy output carries no gradient.
            let scored = checkpoint([flatHidden.sliced(axis: 0, range)]) { [unowned self] chunk in
                score(self.logits(hiddenStates: chunk[0]), chunkTargets)
            }
            logProbPieces.append(scored[0])
            if withEntropy { entropyPieces.append(scored[1]) }
        }
        let logProbs = Tensor.concat(logProbPieces, axis: 0).reshaped([batch, count])
        return (logProbs, withEntropy ? Tensor.concat(entropyPieces, axis: 0).reshaped([batch, count]) : nil)
    }

    /// The default bound on the logits `tokenLogProbs` computes at once: 2 GiB.
    public static let defaultMaxLogitBytes = 2 << 30
}
