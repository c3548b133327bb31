/// AdamW (decoupled weight decay, bias-corrected moments) over named parameters, updated in
/// place with one fused kernel per tensor. Defaults are PyTorch's `adamw_torch` except the
/// weight decay, which is 0 as in the Open-RS recipe.
public final class AdamW {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// Number of updates applied so far.
    public private(set) var step = 0
    /// First and second moment estimates, by parameter name (created at the first update).
    public private(set) var firstMoments: [String: Tensor] = [:]
    public private(set) var secondMoments: [String: Tensor] = [:]

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Applies one update with `learningRate` to every parameter that has a gradient. Parameters
    /// are modified in place (every tensor sharing their storage sees the new values).
    public func update(_ parameters: [String: Tensor], gradients: [String: Tensor], learningRate: Float) {
        step += 1
        for (name, parameter) in parameters.sorted(by: { $0.key < $1.key }) {
            guard let gradient = gradients[name] else { continue }
            precondition(parameter.dtype == .f32 && parameter.isContiguous, "AdamW: parameter \(name) must be a packed f32 tensor")
            precondition(gradient.shape == parameter.shape, "AdamW: gradient of \(name) has shape \(gradient.shape), parameter \(parameter.shape)")
            let m = firstMoments[name] ?? .zeros(parameter.shape, device: parameter.device)
            let v = secondMoments[name] ?? .zeros(parameter.shape, device: parameter.device)
            firstMoments[name] = m
            secondMoments[name] = v
            let g = gradient.contiguous()
            parameter.backend.adamW(parameter: parameter.ref, gradient: g.ref, firstMoment: m.ref, secondMoment: v.ref,
                                    count: parameter.count,
                                    step: AdamWStep(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                    weightDecay: weightDecay, step: step))
        }
    }

    /// Restores saved state (e.g. when resuming training).
    public func restore(step: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}
