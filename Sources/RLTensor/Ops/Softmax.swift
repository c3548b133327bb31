extension Tensor {
    private var rowsAndCols: (rows: Int, cols: Int) {
        let cols = shape.last ?? 1
        return (cols == 0 ? 0 : count / cols, cols)
    }

    private func softmaxFamily(log: Bool) -> Tensor {
        requireFloat32(log ? "logSoftmax" : "softmax")
        precondition(rank >= 1, "softmax needs at least one axis")
        let x = contiguous()
        let (rows, cols) = rowsAndCols
        let y = Tensor(uninitialized: shape, dtype: .f32, device: device)
        backend.softmax(x.ref, y.ref, rows: rows, cols: cols, log: log)
        return y.recorded([x]) { g in
            let gc = g.contiguous()
            let dx = Tensor(uninitialized: y.shape, dtype: .f32, device: y.device)
            y.backend.softmaxBackward(output: y.ref, gradOutput: gc.ref, gradInput: dx.ref, rows: rows, cols: cols, log: log)
            return [dx]
        }
    }

    /// Softmax over the last axis.
    public func softmax() -> Tensor { softmaxFamily(log: false) }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Tensor { softmaxFamily(log: true) }

    /// `log_softmax(self / temperature)[..., targets]`: the log-probability of each target token.
    ///
    /// `self` is `[..., vocab]` logits and `targets` an i32 tensor of the leading shape. The
    /// `[tokens, vocab]` log-softmax is never materialised: the forward keeps one logsumexp per
    /// row and the backward writes the logits' gradient in one pass. This is the workhorse of
    /// GRPO and of cross-entropy.
    public func tokenLogProbs(targets: Tensor, temperature: Float = 1) -> Tensor {
        tokenLogProbs(targets: targets, temperature: temperature, withEntropy: false).logProbs
    }

    /// `tokenLogProbs(targets:temperature:)` and, from the same pass's logsumexp, the entropy in
    /// nats of every row's distribution `softmax(self / temperature)` (shape of `targets`). The
    /// entropy carries no gradient (TRL computes it under `no_grad` too).
    public func tokenLogProbsAndEntropy(targets: Tensor, temperature: Float = 1) -> (logProbs: Tensor, entropy: Tensor) {
        let result = tokenLogProbs(targets: targets, temperature: temperature, withEntropy: true)
        return (result.logProbs, result.entropy!)  // computed when withEntropy is true
    }

    private func tokenLogProbs(targets: Tensor, temperature: Float, withEntropy: Bool) -> (logProbs: Tensor, entropy: Tensor?) {
        requireFloat32("tokenLogProbs")
        precondition(targets.dtype == .i32, "tokenLogProbs: targets must be i32, got \(targets.dtype)")
        precondition(Array(shape.dropLast()) == targets.shape,
                     "tokenLogProbs: logits \(shape) and targets \(targets.shape) disagree")
        precondition(temperature > 0, "tokenLogProbs: temperature must be positive")
        let logits = contiguous(), ids = targets.contiguous()
        let (rows, cols) = rowsAndCols
        ids.checkIndices(below: cols, what: "tokenLogProbs target")
        let out = Tensor(uninitialized: targets.shape, dtype: .f32, device: device)
        let lse = Tensor(uninitialized: [rows], dtype: .f32, device: device)
        backend.tokenLogProbs(logits: logits.ref, targets: ids.ref, logProbs: out.ref, logSumExp: lse.ref,
                              rows: rows, cols: cols, temperature: temperature)
        var entropy: Tensor?
        if withEntropy {
            let values = Tensor(uninitialized: targets.shape, dtype: .f32, device: device)
            backend.rowEntropy(logits: logits.ref, logSumExp: lse.ref, entropy: values.ref, rows: rows, cols: cols, temperature: temperature)
            entropy = values
        }
        let logProbs = out.recorded([logits]) { g in
            let gc = g.contiguous()
            let dx = Tensor(uninitialized: logits.shape, dtype: .f32, device: logits.device)
            logits.backend.tokenLogProbsBackward(logits: logits.ref, targets: ids.ref, logSumExp: lse.ref, gradLogProbs: gc.ref,
                                                 gradLogits: dx.ref, rows: rows, cols: cols, temperature: temperature)
            return [dx]
        }
        return (logProbs, entropy)
    }

    /// Mean cross-entropy of `targets` under these logits.
    public func crossEntropy(targets: Tensor) -> Tensor {
        -tokenLogProbs(targets: targets).mean()
    }
}
