/// bf16 activations on the CPU: the f32 kernels run on widened copies and their results are
/// rounded back to bf16 (bf16 storage, f32 arithmetic, as on CUDA), so the same inference path
/// runs, and is tested, on both backends.
extension CPUBackend {
    /// `count` elements of `source` (of `dtype`, f32 or bf16) as f32: `source` itself when it is
    /// f32, else a widened copy.
    func widenedToF32(_ source: BufferRef, _ dtype: DType, count: Int) -> BufferRef {
        CPUBackend.checkActivationType(dtype)
        guard dtype == .bf16 else { return source }
        let scratch = BufferRef(allocate(byteCount: max(count, 1) * 4))
        cast(source, from: .bf16, to: scratch, as: .f32, count: count)
        return scratch
    }

    /// The strided view `source` (of `dtype`) over `shape` as f32, strides kept: itself when f32,
    /// else a widened copy of the elements it spans (strides are never negative).
    func widenedToF32(_ source: StridedRef, _ dtype: DType, shape: [Int]) -> StridedRef {
        guard dtype == .bf16 else { return source }
        let span = shape.contains(0) ? 0 : 1 + zip(shape, source.strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        let widened = widenedToF32(BufferRef(source.buffer, offset: source.offset), dtype, count: span)
        return StridedRef(widened.buffer, offset: widened.offset, strides: source.strides)
    }

    /// Runs `body` on an f32 stand-in for the `count` elements of `destination` (of `dtype`) and
    /// rounds its result into `destination` when that is bf16. `keepingContents` widens the old
    /// contents first (for products that accumulate into their output).
    func intoF32(_ destination: BufferRef, _ dtype: DType, count: Int, keepingContents: Bool = false, _ body: (BufferRef) -> Void) {
        CPUBackend.checkActivationType(dtype)
        guard dtype == .bf16 else { return body(destination) }
        let scratch = keepingContents ? widenedToF32(destination, dtype, count: count) : BufferRef(allocate(byteCount: max(count, 1) * 4))
        body(scratch)
        cast(scratch, from: .f32, to: destination, as: .bf16, count: count)
    }

    static func checkActivationType(_ dtype: DType) {
        precondition(dtype == .f32 || dtype == .bf16, "activations are f32 or bf16, got \(dtype)")
    }

    /// Elements spanned by `length` rows of `width` packed elements in each of `batch` blocks,
    /// with the given batch and row strides.
    static func span(batch: Int, length: Int, width: Int, strides: (batch: Int, token: Int)) -> Int {
        batch == 0 || length == 0 ? 0 : (batch - 1) * strides.batch + (length - 1) * strides.token + width
    }
}
