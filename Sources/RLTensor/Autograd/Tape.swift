/// The record of differentiable ops made inside `valueAndGrad`, replayed backwards.
///
/// A tape is active only inside `valueAndGrad` (and while a checkpointed block recomputes), so
/// rollouts, evaluation and reference-model passes record nothing and keep no activations alive.
/// A tape belongs to the thread that runs the closure.
final class Tape: @unchecked Sendable {
    struct Node {
        /// The inputs' identities and shapes only: a tensor stays alive after its op only if the
        /// gradient rule captured it (add and subtract, for example, keep neither operand).
        let inputs: [Input]
        let outputIDs: [TensorID]
        /// Maps the outputs' gradients (nil = none arrived) to the inputs' gradients.
        let backward: ([Tensor?]) -> [Tensor?]
    }

    /// What a node remembers of one input.
    struct Input {
        let id: TensorID
        let shape: [Int]
        init(_ tensor: Tensor) { id = tensor.id; shape = tensor.shape }
    }

    @TaskLocal static var current: Tape?

    private var nodes: [Node?] = []
    private var tracked: Set<TensorID>
    /// The leaves gradients are wanted for.
    let parameterIDs: Set<TensorID>
    /// Gradients produced out of band during `backward` (by checkpointed blocks, for the
    /// parameters and other tracked tensors they capture), merged after each node.
    private var outOfBandGradients: [TensorID: Tensor] = [:]
    /// Parameter → accumulator: each gradient contribution of that parameter is added into its
    /// accumulator as soon as it is produced instead of being kept (`valueAndAccumulatedGrad`).
    var accumulators: [TensorID: Tensor] = [:]
    /// Seeds the stochastic rounding of bf16 accumulators.
    var accumulationSeed: UInt64 = 0
    /// Per parameter: its position (sorted by name, set by the caller) and contributions so far,
    /// so each contribution's random bits do not depend on the order parameters are visited.
    var accumulatorKeys: [TensorID: (position: UInt64, contributions: UInt64)] = [:]

    /// The tape whose backward runs this one (a checkpointed block's replay): it owns the
    /// accumulators the replay's direct contributions go to.
    weak var enclosing: Tape?

    /// Adds one gradient contribution into `accumulator` (f32, or bf16 stochastically rounded).
    private func addToAccumulator(_ accumulator: Tensor, _ gradient: Tensor, for id: TensorID) {
        guard accumulator.dtype == .bf16 else { return accumulator.addInPlace(gradient) }
        accumulator.accumulateStochastically(gradient, seed: nextContributionSeed(for: id))
    }

    /// The rounding seed of parameter `id`'s next contribution; counts it.
    private func nextContributionSeed(for id: TensorID) -> UInt64 {
        let key = accumulatorKeys[id] ?? (0, 0)
        accumulatorKeys[id] = (key.position, key.contributions + 1)
        return accumulationSeed ^ (key.position &* 0x9E37_79B9_7F4A_7C15) ^ (key.contributions &* 0xC2B2_AE3D_27D4_EB4F)
    }

    /// Whether parameter `id`'s gradient goes into an accumulator (of this tape or of the one
    /// whose backward replays it), so an op may add its contribution there piece by piece.
    func accumulatesDirectly(_ id: TensorID) -> Bool {
        accumulators[id] != nil || enclosing?.accumulatesDirectly(id) == true
    }

    /// One contribution to parameter `id`'s gradient, added in pieces: `addPieces` receives the
    /// accumulator and the contribution's rounding seed, and adds every element exactly once
    /// (`accumulateStochastically(_:seed:firstIndex:)` for a bf16 accumulator). Requires `accumulatesDirectly(id)`.
    func accumulateDirectly(into id: TensorID, _ addPieces: (_ accumulator: Tensor, _ seed: UInt64) -> Void) {
        guard let accumulator = accumulators[id] else {
            guard let enclosing else { preconditionFailure("internal: no accumulator for a direct gradient contribution") }
            return enclosing.accumulateDirectly(into: id, addPieces)
        }
        addPieces(accumulator, accumulator.dtype == .bf16 ? nextContributionSeed(for: id) : 0)
    }

    init(parameters: Set<TensorID>, tracking alsoTracked: Set<TensorID> = []) {
        parameterIDs = parameters
        tracked = parameters.union(alsoTracked)
    }

    /// Every tensor whose gradient this tape can propagate.
    var trackedIDs: Set<TensorID> { tracked }

    func isTracked(_ tensor: Tensor) -> Bool { tracked.contains(tensor.id) }

    func track(_ tensor: Tensor) { tracked.insert(tensor.id) }

    func append(_ node: Node) {
        nodes.append(node)
        for id in node.outputIDs { tracked.insert(id) }
    }

    /// Adds a gradient for a tracked tensor that is not an input of the node being run backwards.
    func addGradient(_ gradient: Tensor, for id: TensorID) {
        Tape.accumulate(gradient, into: &outOfBandGradients, for: id)
    }

    private static func accumulate(_ gradient: Tensor, into gradients: inout [TensorID: Tensor], for id: TensorID) {
        if let existing = gradients[id] {
            gradients[id] = Tape.$current.withValue(nil) { existing + gradient }
        } else {
            gradients[id] = gradient
        }
    }

    /// Runs the recorded ops backwards from `seeds` (output id → its gradient) and returns the
    /// gradients of every parameter (and of every tensor in `extra`) that received one.
    func backward(seeds: [TensorID: Tensor], extra: Set<TensorID> = []) -> [TensorID: Tensor] {
        var gradients = seeds
        for index in nodes.indices.reversed() {
            guard let node = nodes[index] else { continue }
            nodes[index] = nil
            let outputGradients = node.outputIDs.map { gradients.removeValue(forKey: $0) }
            if outputGradients.allSatisfy({ $0 == nil }) { continue }
            let inputGradients = Tape.$current.withValue(nil) { node.backward(outputGradients) }
            precondition(inputGradients.count == node.inputs.count, "internal: gradient rule returned the wrong count")
            for (input, gradient) in zip(node.inputs, inputGradients) {
                guard let gradient, tracked.contains(input.id) else { continue }
                precondition(gradient.shape == input.shape,
                             "internal: gradient shape \(gradient.shape) does not match input shape \(input.shape)")
                if let accumulator = accumulators[input.id] { addToAccumulator(accumulator, gradient, for: input.id); continue }
                Tape.accumulate(gradient, into: &gradients, for: input.id)
            }
            for (id, gradient) in outOfBandGradients {
                if let accumulator = accumulators[id] { addToAccumulator(accumulator, gradient, for: id); continue }
                Tape.accumulate(gradient, into: &gradients, for: id)
            }
            outOfBandGradients = [:]
        }
        var result: [TensorID: Tensor] = [:]
        for id in extra.union(parameterIDs) { result[id] = gradients[id] }
        return result
    }
}

extension Tensor {
    /// Records `self` as the result of an op on `inputs` when a tape is active and any input is
    /// tracked. `backward` maps the result's gradient to one gradient per input (nil = none).
    func recorded(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard let tape = Tape.current, inputs.contains(where: tape.isTracked) else { return self }
        tape.append(.init(inputs: inputs.map(Tape.Input.init), outputIDs: [id]) { gradients in backward(gradients[0]!) })
        return self
    }
}

extension Tensor {
    /// `recorded`, for ops whose gradient rule can skip work: `backward` also receives, per
    /// input, whether that input's gradient is wanted (it is tracked by the tape). A frozen
    /// weight's gradient, for instance, is never computed.
    func recorded(_ inputs: [Tensor], _ backward: @escaping (Tensor, _ wanted: [Bool]) -> [Tensor?]) -> Tensor {
        guard let tape = Tape.current, inputs.contains(where: tape.isTracked) else { return self }
        let wanted = inputs.map(tape.isTracked)
        tape.append(.init(inputs: inputs.map(Tape.Input.init), outputIDs: [id]) { gradients in backward(gradients[0]!, wanted) })
        return self
    }
}

/// Records an op with several results (split, checkpointed blocks).
func recordMultiple(_ outputs: [Tensor], inputs: [Tensor], force: Bool = false, _ backward: @escaping ([Tensor?]) -> [Tensor?]) {
    guard let tape = Tape.current, force || inputs.contains(where: tape.isTracked) else { return }
    tape.append(.init(inputs: inputs.map(Tape.Input.init), outputIDs: outputs.map(\.id), backward: backward))
}
