/// Evaluates `body` and the gradient of its result with respect to `parameters`.
///
/// Only ops run inside `body` are recorded. The result is usually a scalar loss; a non-scalar
/// result is differentiated as the sum of its elements. Gradients come back in the order of
/// `parameters`; a parameter the result does not depend on gets zeros.
///
/// ```swift
/// let (loss, grads) = valueAndGrad(at: [w, b]) { ((x.matmul(w) + b) - y).square().mean() }
/// ```
public func valueAndGrad(at parameters: [Tensor], _ body: () throws -> Tensor) rethrows -> (value: Tensor, gradients: [Tensor]) {
    let tape = Tape(parameters: Set(parameters.map(\.id)))
    return try TrainingForward.$isActive.withValue(true) {
        let value = try Tape.$current.withValue(tape) { try body() }
        let seed = Tensor.ones(value.shape, device: value.device)
        let gradients = tape.isTracked(value) ? tape.backward(seeds: [value.id: seed]) : [:]
        let ordered = parameters.map { gradients[$0.id] ?? Tensor.zeros($0.shape, device: $0.device) }
        return (value.detached(), ordered)
    }
}

/// `valueAndGrad` over named parameters; gradients come back under the same names.
public func valueAndGrad(at parameters: [String: Tensor], _ body: () throws -> Tensor) rethrows -> (value: Tensor, gradients: [String: Tensor]) {
    let names = Array(parameters.keys)
    let (value, gradients) = try valueAndGrad(at: names.map { parameters[$0]! }, body)
    return (value, Dictionary(uniqueKeysWithValues: zip(names, gradients)))
}

/// Evaluates `body` and adds the gradient of its result with respect to each of `parameters`
/// into `accumulators` under the same name (packed f32 tensors of the parameters' shapes), part
/// by part as the backward pass produces them. No second full set of gradients is ever held:
/// memory stays at the accumulators plus one operation's gradients. Gradient accumulation over
/// micro-batches is calling this repeatedly with the same accumulators. Returns the value.
///
/// bf16 accumulators (CPU) halve that memory; contributions are added with stochastic rounding
/// whose random bits come from `seed` (the same seed and inputs give the same sums).
public func valueAndAccumulatedGrad(at parameters: [String: Tensor], into accumulators: [String: Tensor], seed: UInt64 = 0,
                                    _ body: () throws -> Tensor) rethrows -> Tensor {
    let tape = Tape(parameters: Set(parameters.values.map(\.id)))
    tape.accumulationSeed = seed
    for (position, (name, parameter)) in parameters.sorted(by: { $0.key < $1.key }).enumerated() {
        tape.accumulatorKeys[parameter.id] = (UInt64(position), 0)
        guard let accumulator = accumulators[name] else { preconditionFailure("valueAndAccumulatedGrad: no accumulator for \(name)") }
        precondition(accumulator.shape == parameter.shape && accumulator.isContiguous
                        && (accumulator.dtype == .f32 || (accumulator.dtype == .bf16 && accumulator.device == .cpu)),
                     "valueAndAccumulatedGrad: the accumulator of \(name) must be a packed f32 (or CPU bf16) tensor of shape \(parameter.shape)")
        tape.accumulators[parameter.id] = accumulator
    }
    return try TrainingForward.$isActive.withValue(true) {
        let value = try Tape.$current.withValue(tape) { try body() }
        if tape.isTracked(value) { _ = tape.backward(seeds: [value.id: Tensor.ones(value.shape, device: value.device)]) }
        return value.detached()
    }
}

/// True while ops are being recorded for a backward pass.
public var isRecordingGradients: Bool { Tape.current != nil }

/// Runs `body` with recording switched off (e.g. a rollout inside a training closure); it is
/// not a training forward.
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    try TrainingForward.$isActive.withValue(false) { try Tape.$current.withValue(nil) { try body() } }
}

/// True while the forward (or the recomputation, in backward) of a `valueAndGrad` runs, also
/// inside `checkpoint` blocks whose first pass records nothing; false in `withoutGradients` and
/// outside `valueAndGrad`. Training-only behaviour such as dropout keys on it.
public var isTrainingForward: Bool { TrainingForward.isActive }

enum TrainingForward {
    @TaskLocal static var isActive = false
}

extension Tensor {
    /// The same values, cut off from the backward pass (`stop_gradient`).
    public func detached() -> Tensor { withNewIdentity() }
}
