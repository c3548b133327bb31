import RLTensor

/// Preallocated keys and values of every layer for a batch of sequences, written in place as
/// tokens are processed (no per-step concatenation).
///
/// All rows share one time axis: a batch of prompts of different lengths is left-padded, and
/// padding slots are masked out of attention by `keyMask`. Rows can be selected, repeated or
/// dropped (`selectRows`) so one prefilled prompt serves several samples and finished
/// sequences stop costing compute.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    /// The element type of the cached keys and values, and of the activations of the forward
    /// passes that use this cache: f32, or bf16 (computed in f32; logits stay f32).
    public let activationType: DType
    public private(set) var batch: Int
    /// Filled time steps.
    public private(set) var length = 0
    private var keys: [Tensor]
    private var values: [Tensor]
    private var mask: [Int32]
    private var maskTensor: Tensor
    /// Real (non-padding) tokens seen per row: the next token's position.
    public private(set) var tokenCounts: [Int32]
    private var pendingLength = 0

    /// An empty cache for `batch` rows of up to `capacity` tokens of `config`'s layers on `device`,
    /// whose keys, values and forward activations are `activationType` (f32 or bf16; bf16 needs a
    /// model with bf16 matrices, `inferenceCopy(matrices: .bf16)`). A forward pass refuses a cache
    /// of any other type with `LanguageModelError.invalidArgument`.
    public init(config: ModelConfig, batch: Int, capacity: Int, device: Device = .cpu, activationType: DType = .f32) {
        self.capacity = capacity
        self.batch = batch
        self.activationType = activationType
        let shape = [batch, capacity, config.numKeyValueHeads, config.headDim]
        keys = (0..<config.numHiddenLayers).map { _ in Tensor.zeros(shape, dtype: activationType, device: device) }
        values = (0..<config.numHiddenLayers).map { _ in Tensor.zeros(shape, dtype: activationType, device: device) }
        mask = [Int32](repeating: 0, count: batch * capacity)
        maskTensor = Tensor(mask, shape: [batch, capacity], device: device)
        tokenCounts = [Int32](repeating: 0, count: batch)
    }

    private init(copying other: KVCache, keys: [Tensor], values: [Tensor], mask: [Int32], tokenCounts: [Int32], batch: Int) {
        capacity = other.capacity
        activationType = other.activationType
        self.batch = batch
        length = other.length
        self.keys = keys
        self.values = values
        self.mask = mask
        self.tokenCounts = tokenCounts
        maskTensor = Tensor(mask, shape: [batch, other.capacity], device: other.keys.first?.device ?? .cpu)
    }

    /// Layers cached.
    var layerCount: Int { keys.count }
    /// Each token's `[kvHeads, headDim]`.
    var layerShape: [Int] { Array(keys.first?.shape.dropFirst(2) ?? []) }
    /// Where the keys and values live.
    var device: Device { maskTensor.device }

    /// Room left on the time axis.
    public var remaining: Int { capacity - length }

    /// Starts a step of `count` new tokens with their padding mask (`[batch, count]`); returns
    /// their positions (`[batch, count]`).
    func beginStep(count: Int, newMask: [Int32]) -> [Int32] {
        precondition(length + count <= capacity, "KV cache full: \(length) + \(count) > capacity \(capacity)")
        precondition(newMask.count == batch * count, "KV cache: mask has \(newMask.count) entries for \(batch)x\(count)")
        let positions = DecoderModel.positions(attentionMask: newMask, batch: batch, length: count, start: tokenCounts)
        for b in 0..<batch {
            for t in 0..<count {
                let real = newMask[b * count + t]
                mask[b * capacity + length + t] = real
                if real != 0 { tokenCounts[b] += 1 }
            }
        }
        maskTensor = Tensor(mask, shape: [batch, capacity], device: maskTensor.device)
        pendingLength = count
        return positions
    }

    /// Writes a layer's new keys/values (`[batch, count, kvHeads, headDim]`) and returns the
    /// views attention reads: keys, values and mask up to the new tokens, and the query offset.
    func append(layer: Int, keys k: Tensor, values v: Tensor) -> (Tensor, Tensor, Tensor, Int) {
        let end = length + pendingLength
        keys[layer].sliced(axis: 1, length..<end).assign(k)
        values[layer].sliced(axis: 1, length..<end).assign(v)
        return (keys[layer].sliced(axis: 1, 0..<end), values[layer].sliced(axis: 1, 0..<end),
                maskTensor.sliced(axis: 1, 0..<end), length)
    }

    /// Finishes the step begun by `beginStep`.
    func commitStep() {
        length += pendingLength
        pendingLength = 0
    }

    /// Row `row`'s keys and values of `layer` over its real tokens (`[tokens, kvHeads, headDim]`
    /// views), or nil when its real tokens are not the last ones of the filled time axis (a row
    /// that is not left-padded).
    func realTokens(layer: Int, row: Int) -> (keys: Tensor, values: Tensor)? {
        let first = length - Int(tokenCounts[row])
        guard (first..<length).allSatisfy({ mask[row * capacity + $0] != 0 }) else { return nil }
        func view(_ t: Tensor) -> Tensor {
            t.sliced(axis: 0, row..<(row + 1)).sliced(axis: 1, first..<length).reshaped([length - first] + Array(t.shape.dropFirst(2)))
        }
        return (view(keys[layer]), view(values[layer]))
    }

    /// A cache holding the given rows of this one, in order; a row may repeat (one prompt's
    /// cache shared by several samples) and rows left out are dropped.
    public func selectRows(_ rows: [Int]) -> KVCache {
        let device = maskTensor.device
        func gather(_ layers: [Tensor]) -> [Tensor] {
            layers.map { source in
                let shape = [rows.count] + Array(source.shape.dropFirst())
                let result = Tensor.zeros(shape, dtype: activationType, device: device)
                for (newRow, oldRow) in rows.enumerated() where length > 0 {
                    result.sliced(axis: 0, newRow..<(newRow + 1)).sliced(axis: 1, 0..<length)
                        .assign(source.sliced(axis: 0, oldRow..<(oldRow + 1)).sliced(axis: 1, 0..<length))
                }
                return result
            }
        }
        var newMask = [Int32](repeating: 0, count: rows.count * capacity)
        for (newRow, oldRow) in rows.enumerated() {
            for t in 0..<length { newMask[newRow * capacity + t] = mask[oldRow * capacity + t] }
        }
        return KVCache(copying: self, keys: gather(keys), values: gather(values), mask: newMask,
                       tokenCounts: rows.map { tokenCounts[$0] }, batch: rows.count)
    }
}
