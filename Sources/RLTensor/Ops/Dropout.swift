extension Tensor {
    /// Inverted dropout: each element is zeroed with probability `probability` and the others
    /// scaled by `1 / (1 - probability)`. The mask is drawn from `seed` (counter-based, so the
    /// same seed and shape give the same mask) and drawn again in backward instead of being
    /// kept: the op keeps nothing alive for its gradient. `probability` in [0, 1).
    public func dropout(probability: Float, seed: UInt64) -> Tensor {
        precondition(probability >= 0 && probability < 1, "dropout: probability must be in [0, 1), got \(probability)")
        guard probability > 0 else { return self }
        let keep = 1 / (1 - probability)
        func mask(_ shape: [Int], _ device: Device) -> Tensor {
            let draw = Tensor.randomUniform(shape, seed: seed, device: device)
            return Tensor.rawBinary(.greater, draw, Tensor(scalar: probability, device: device)).rawUnary(.mulScalar(keep))
        }
        let out = Tensor.rawBinary(.mul, self, mask(shape, device))
        return out.recorded([self]) { [shape, device] g in [Tensor.rawBinary(.mul, g, mask(shape, device))] }
    }
}
