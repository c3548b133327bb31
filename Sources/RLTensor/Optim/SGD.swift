/// Stochastic gradient descent with optional momentum, in place over named parameters.
public final class SGD {
    public var momentum: Float
    private var velocities: [String: Tensor] = [:]

    public init(momentum: Float = 0) {
        self.momentum = momentum
    }

    public func update(_ parameters: [String: Tensor], gradients: [String: Tensor], learningRate: Float) {
        for (name, parameter) in parameters {
            guard let gradient = gradients[name] else { continue }
            precondition(parameter.dtype == .f32 && parameter.isContiguous, "SGD: parameter \(name) must be a packed f32 tensor")
            var direction = gradient
            if momentum != 0 {
                let v = velocities[name].map { $0 * momentum + gradient } ?? gradient
                velocities[name] = v
                direction = v
            }
            let updated = withoutGradients { parameter - direction * learningRate }
            parameter.assign(updated)
        }
    }
}

extension Tensor {
    /// Overwrites this tensor's elements with `source`'s (same shape; in place).
    public func assign(_ source: Tensor) {
        precondition(source.shape == shape && source.dtype == dtype, "assign: \(source) does not match \(self)")
        backend.copy(dtype: dtype, shape: shape, from: source.stridedRef, to: stridedRef)
    }
}
