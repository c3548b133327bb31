/// Activation checkpointing: runs `body` without keeping its intermediate activations, and
/// recomputes them during the backward pass. Gradients equal those of calling `body` directly.
///
/// `body` must be deterministic and may use any tensors it captures (e.g. a decoder layer's
/// weights, or tensors computed from parameters earlier in the same `valueAndGrad`): gradients
/// flow through them as if `body` had been called directly.
public func checkpoint(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> [Tensor]) -> [Tensor] {
    guard let tape = Tape.current else { return body(inputs) }
    let outputs = Tape.$current.withValue(nil) { body(inputs) }
    let trackedInputs = inputs.map(tape.isTracked)
    recordMultiple(outputs, inputs: inputs, force: true) { outputGradients in
        // The replay tracks everything the enclosing tape tracks, so captured tensors get gradients.
        let outerTracked = tape.trackedIDs
        let replay = Tape(parameters: tape.parameterIDs, tracking: outerTracked)
        replay.enclosing = tape
        let freshInputs = inputs.map { $0.withNewIdentity() }
        for (input, isTracked) in zip(freshInputs, trackedInputs) where isTracked { replay.track(input) }
        let recomputed = Tape.$current.withValue(replay) { body(freshInputs) }
        var seeds: [TensorID: Tensor] = [:]
        for (output, gradient) in zip(recomputed, outputGradients) {
            guard let gradient, replay.isTracked(output) else { continue }
            seeds[output.id] = gradient
        }
        let gradients = replay.backward(seeds: seeds, extra: outerTracked.union(freshInputs.map(\.id)))
        for (id, gradient) in gradients where outerTracked.contains(id) { tape.addGradient(gradient, for: id) }
        return freshInputs.map { gradients[$0.id] }
    }
    return outputs
}

/// Checkpoints a block with one input and one output.
public func checkpoint(_ input: Tensor, _ body: @escaping (Tensor) -> Tensor) -> Tensor {
    checkpoint([input]) { [body($0[0])] }[0]
}
