/// AdamW (decoupled weight decay, bias-corrected moments) over named parameters, updated in
/// place with one fused kernel per tensor. Defaults are PyTorch's `adamw_torch` except the
/// weight decay, which is 0 as in the Open-RS recipe.
///
/// With `momentType` `.bf16` (CPU only) the moments are held in bf16 with stochastic rounding —
/// half the memory — and gradients may be bf16 accumulators too.
public final class AdamW {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// How the moments are stored: `.f32` (default) or `.bf16`.
    public let momentType: DType
    /// Seeds the stochastic rounding of bf16 moments.
    public var seed: UInt64 = 0x5EED_ADA3
    /// Number of updates applied so far.
    public private(set) var step = 0
    /// First and second moment estimates, by parameter name (created at the first update).
    public private(set) var firstMoments: [String: Tensor] = [:]
    public private(set) var secondMoments: [String: Tensor] = [:]

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0, momentType: DType = .f32) {
        precondition(momentType == .f32 || momentType == .bf16, "AdamW: moments are f32 or bf16")
        self.momentType = momentType
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Applies one update with `learningRate` to every parameter that has a gradient, each
    /// gradient multiplied by `gradientScale` first (e.g. a clipping factor). Parameters are
    /// modified in place (every tensor sharing their storage sees the new values).
    public func update(_ parameters: [String: Tensor], gradients: [String: Tensor], learningRate: Float, gradientScale: Float = 1) {
        step += 1
        for (index, (name, parameter)) in parameters.sorted(by: { $0.key < $1.key }).enumerated() {
            guard let gradient = gradients[name] else { continue }
            precondition(parameter.dtype == .f32 && parameter.isContiguous, "AdamW: parameter \(name) must be a packed f32 tensor")
            precondition(gradient.shape == parameter.shape, "AdamW: gradient of \(name) has shape \(gradient.shape), parameter \(parameter.shape)")
            let m = firstMoments[name] ?? .zeros(parameter.shape, dtype: momentType, device: parameter.device)
            let v = secondMoments[name] ?? .zeros(parameter.shape, dtype: momentType, device: parameter.device)
            firstMoments[name] = m
            secondMoments[name] = v
            let settings = AdamWStep(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                     weightDecay: weightDecay, step: step)
            if momentType == .bf16 {
                guard let cpu = parameter.backend as? CPUBackend else { preconditionFailure("AdamW: bf16 moments need the CPU backend") }
                let g = (gradient.dtype == .bf16 ? gradient : gradient.cast(to: .bf16)).contiguous()
                let seed = seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(index) &* 0xC2B2_AE3D_27D4_EB4F)
                cpu.adamWBF16State(parameter: parameter.ref, gradient: g.ref, firstMoment: m.ref, secondMoment: v.ref,
                                   count: parameter.count, step: settings, gradientScale: gradientScale, seed: seed)
                continue
            }
            precondition(gradient.dtype == .f32, "AdamW: f32 moments take f32 gradients")
            let g = gradientScale == 1 ? gradient.contiguous() : withoutGradients { gradient * gradientScale }.contiguous()
            parameter.backend.adamW(parameter: parameter.ref, gradient: g.ref, firstMoment: m.ref, secondMoment: v.ref,
                                    count: parameter.count, step: settings)
        }
    }

    /// Restores saved state (e.g. when resuming training); moments are stored as `momentType`.
    public func restore(step: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.step = step
        let type = momentType
        self.firstMoments = firstMoments.mapValues { $0.dtype == type ? $0 : $0.cast(to: type) }
        self.secondMoments = secondMoments.mapValues { $0.dtype == type ? $0 : $0.cast(to: type) }
    }
}
