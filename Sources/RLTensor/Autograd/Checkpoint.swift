/// Activation checkpointing: runs `body` without keeping its intermediate activations, and
/// recomputes them during the backward pass. Gradients equal those of calling `body` directly.
///
/// `body` must be deterministic and may use any tensors it captures (e.g. a decoder layer's
/// weights): gradients for the parameters of the enclosing `valueAndGrad` flow through it.
public func checkpoint(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> [Tensor]) -> [Tensor] {
    guard let tape = Tape.current else { return body(inputs) }
    let outputs = Tape.$current.withValue(nil) { body(inputs) }
    let trackedInputs = inputs.map(tape.isTracked)
    recordMultiple(outputs, inputs: inputs, force: true) { outputGradients in
        let replay = Tape(parameters: tape.parameterIDs)
        let freshInputs = inputs.map { $0.withNewIdentity() }
        for (input, isTracked) in zip(freshInputs, trackedInputs) where isTracked { replay.track(input) }
        let recomputed = Tape.$current.withValue(replay) { body(freshInputs) }
        var seeds: [TensorID: Tensor] = [:]
        for (output, gradient) in zip(recomputed, outputGradients) {
            guard let gradient, replay.isTracked(output) else { continue }
            seeds[output.id] = gradient
        }
        let wanted = Set(freshInputs.map(\.id))
        let gradients = replay.backward(seeds: seeds, extra: wanted)
        for id in tape.parameterIDs { if let g = gradients[id] { tape.addParameterGradient(g, for: id) } }
        return freshInputs.map { gradients[$0.id] }
    }
    return outputs
}

/// Checkpoints a block with one input and one output.
public func checkpoint(_ input: Tensor, _ body: @escaping (Tensor) -> Tensor) -> Tensor {
    checkpoint([input]) { [body($0[0])] }[0]
}
