import RLTensor

/// What changes from one paged decode step to the next, on the host (`PagedKVCache.beginStep`):
/// per sequence the new token's position and pool slot, its block table (padded to
/// `tableWidth`, flattened) and its length with the new token.
struct PagedStepValues {
    var positions: [Int32]
    var slots: [Int32]
    var tables: [Int32]
    var lengths: [Int32]
    var tableWidth: Int
}

/// A paged decode step's inputs on the device, the only memory the step reads that changes
/// between steps: token ids `[batch, 1]`, rotary positions, slots `[batch]`, block tables
/// `[batch, tableWidth]` and lengths `[batch]` (i32). Fresh tensors for an eager step, or
/// tensors that keep their addresses and are rewritten in place before each run of a recorded
/// step (`staged`): there all the i32 inputs are views of one tensor, written with one upload.
struct PagedStepTensors {
    let ids: Tensor
    let rotary: RotaryPositions
    let slots: Tensor
    let tables: Tensor
    let lengths: Tensor
    /// A bound on the lengths (sizes the CPU kernel's scratch; the CUDA kernel reads the lengths).
    let maxLength: Int
    /// The tensor the i32 inputs are views of (staged inputs only).
    private let packed: Tensor?

    /// Fresh tensors holding `values` and `tokens`.
    init(tokens: [Int32], values: PagedStepValues, config: ModelConfig, device: Device) {
        let batch = tokens.count
        ids = Tensor(tokens, shape: [batch, 1], device: device)
        rotary = RotaryPositions(values.positions, batch: batch, length: 1, config: config, device: device)
        slots = Tensor(values.slots, shape: [batch], device: device)
        tables = Tensor(values.tables, shape: [batch, values.tableWidth], device: device)
        lengths = Tensor(values.lengths, shape: [batch], device: device)
        maxLength = Int(values.lengths.max() ?? 0)
        packed = nil
    }

    /// Uninitialised inputs for `batch` sequences with tables `tableWidth` blocks of `blockSize`
    /// tokens wide, to be written by `overwrite` before each run.
    init(staged batch: Int, tableWidth: Int, blockSize: Int, config: ModelConfig, device: Device) {
        let all = Tensor.zeros([batch * (4 + tableWidth)], dtype: .i32, device: device)
        func part(_ index: Int, _ shape: [Int]) -> Tensor { all.sliced(axis: 0, (index * batch)..<((index + 1) * batch)).reshaped(shape) }
        ids = part(0, [batch, 1])
        rotary = RotaryPositions(staged: part(1, [batch, 1]), config: config, device: device)
        slots = part(2, [batch])
        lengths = part(3, [batch])
        tables = all.sliced(axis: 0, (4 * batch)..<all.count).reshaped([batch, tableWidth])
        maxLength = tableWidth * blockSize
        packed = all
    }

    /// Writes `tokens` and `values` (of the shape the tensors were staged for) in place.
    func overwrite(tokens: [Int32], values: PagedStepValues) {
        guard let packed else { preconditionFailure("internal: only staged paged-step inputs are rewritten") }
        precondition(values.tableWidth == tables.shape[1] && tokens.count == slots.count, "internal: paged-step inputs of another shape")
        packed.overwrite(with: tokens + values.positions + values.slots + values.lengths + values.tables)
        rotary.overwriteTables(positions: values.positions)
    }
}
