import CRLKernels

/// Training state held in bf16 on the CPU (gradient accumulators, AdamW moments), stochastically
/// rounded: what lean full fine-tuning keeps instead of f32 copies. Random bits come from
/// `(seed, element index)`, so results do not depend on the thread split.
extension CPUBackend {
    /// `accumulator += gradient` (bf16 += f32), `count` elements.
    /// `firstIndex` is the first element's index in the whole accumulator (it picks the random bits).
    func accumulateBF16(_ accumulator: BufferRef, _ gradient: BufferRef, count: Int, firstIndex: Int, seed: UInt64) {
        let ap = accumulator.bytes(.bf16).assumingMemoryBound(to: UInt16.self), gp = gradient.f32
        Parallel.ranges(count, grain: 1 << 16) { a, b in rl_accumulate_bf16(ap + a, gp + a, b - a, firstIndex + a, seed) }
    }

    /// Sum of squares of `count` bf16 values.
    func sumOfSquaresBF16(_ x: BufferRef, count: Int) -> Double {
        rl_sum_squares_bf16(x.bytes(.bf16).assumingMemoryBound(to: UInt16.self), count)
    }

    /// AdamW with a bf16 gradient (times `gradientScale`) and bf16 moments over f32 parameters.
    func adamWBF16State(parameter: BufferRef, gradient: BufferRef, firstMoment: BufferRef, secondMoment: BufferRef, count: Int,
                        step: AdamWStep, gradientScale: Float, seed: UInt64) {
        let pp = parameter.f32
        let gp = gradient.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let mp = firstMoment.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let vp = secondMoment.bytes(.bf16).assumingMemoryBound(to: UInt16.self)
        let bc1 = 1 - Float(libmPow(Double(step.beta1), Double(step.step)))
        let bc2 = 1 - Float(libmPow(Double(step.beta2), Double(step.step)))
        Parallel.ranges(count, grain: 1 << 15) { a, b in
            rl_adamw_bf16_state(pp + a, gp + a, mp + a, vp + a, b - a, a, gradientScale, step.learningRate, step.beta1, step.beta2,
                                step.epsilon, step.weightDecay, bc1, bc2, seed)
        }
    }
}

extension Tensor {
    /// `self += gradient` for a packed bf16 accumulator on the CPU, stochastically rounded
    /// (`seed` picks the random bits). Not recorded for gradients.
    ///
    /// `firstIndex` (default 0) is the index of `self`'s first element in the whole accumulator
    /// when `self` is a block of it (rows `i..<j` of a matrix: `i × columns`): each element's
    /// random bits depend on the seed and that index only, so adding a gradient block by block
    /// gives the same sums as adding it at once.
    public func accumulateStochastically(_ gradient: Tensor, seed: UInt64, firstIndex: Int = 0) {
        precondition(dtype == .bf16 && isContiguous && device == .cpu, "accumulateStochastically: a packed bf16 CPU tensor accumulates")
        precondition(gradient.shape == shape && gradient.dtype == .f32, "accumulateStochastically: f32 gradient of shape \(shape) expected")
        precondition(firstIndex >= 0, "accumulateStochastically: firstIndex \(firstIndex) is negative")
        let packed = gradient.contiguous()
        (backend as! CPUBackend).accumulateBF16(ref, packed.ref, count: count, firstIndex: firstIndex, seed: seed)
    }
}
