extension Tensor {
    /// The element type shared by the activations `tensors` of `op`: f32, or bf16 activations of
    /// inference (bf16 storage, f32 arithmetic in every kernel). bf16 activations carry no
    /// gradient: none of `recordedInputs` (the op's inputs, weights included) may be tracked by
    /// the current tape.
    static func activationType(_ op: String, _ tensors: [Tensor], recordedInputs: [Tensor] = []) -> DType {
        let dtype = tensors[0].dtype
        precondition(tensors.allSatisfy { $0.dtype == dtype }, "\(op): activations of different types \(tensors.map(\.dtype)) (cast first)")
        precondition(dtype == .f32 || dtype == .bf16, "\(op) needs f32 or bf16 activations, got \(dtype) (cast first)")
        if dtype == .bf16, let tape = Tape.current {
            precondition(!(tensors + recordedInputs).contains(where: tape.isTracked),
                         "\(op): bf16 activations are for inference; no gradient can flow through them")
        }
        return dtype
    }
}
