import FoundationEssentials
import RLTensor

/// A decoder-only language model, as everything above RLModel uses it: the generator, the GRPO
/// trainer, rollouts, evaluation and the command-line tools. `DecoderModel` implements it for the
/// families of `ModelFamily`; `ModelLoader.load(from:)` picks the family from `config.json`.
///
/// Weights are a dictionary keyed by Hugging Face names, so checkpoints, gradients and optimizer
/// state line up by name.
public protocol CausalLanguageModel: AnyObject, Sendable {
    /// The architecture (`config.json`).
    var config: ModelConfig { get }
    /// Weights by Hugging Face name (f32 for training; bf16 matrices in inference copies).
    var parameters: [String: Tensor] { get }
    /// Where the weights live; inputs are moved here.
    var device: Device { get }

    /// Final hidden states `[batch, length, hidden]` of i32 ids `[batch, length]`, under autograd.
    /// `attentionMask` (1 = token, 0 = padding) allows left- or right-padded rows; with
    /// `recomputeLayers` each decoder layer is recomputed during backward. Throws
    /// `LanguageModelError.invalidArgument` for ids that are not i32 `[batch, length]` within the
    /// vocabulary or a mask of another shape.
    func hiddenStates(inputIDs: Tensor, attentionMask: Tensor?, recomputeLayers: Bool) throws -> Tensor
    /// Logits `[..., vocab]` of hidden states `[..., hidden]`.
    func logits(hiddenStates: Tensor) -> Tensor
    /// Log-probability (natural log) of each of the last `lastTokens` tokens of every row given
    /// the ones before it, `[batch, lastTokens]`; logits divided by `temperature`, computed in
    /// LM-head chunks (recomputed in backward) of at most `maxLogitBytes` bytes of f32 logits.
    ///
    /// Requires i32 `inputIDs` `[batch, length]` with every id below `config.vocabSize`, an
    /// `attentionMask` (1 = token, 0 = padding) of the same shape when given,
    /// 1 ≤ `lastTokens` < length, `temperature` > 0 and `maxLogitBytes` > 0; otherwise throws
    /// `LanguageModelError.invalidArgument` naming the argument and the allowed range.
    func tokenLogProbs(inputIDs: Tensor, attentionMask: Tensor?, lastTokens: Int, temperature: Float,
                       recomputeLayers: Bool, maxLogitBytes: Int) throws -> Tensor
    /// `tokenLogProbs` plus the entropy in nats (no gradient) of the model's distribution at each
    /// scored position, both `[batch, lastTokens]`, from the same logits. Same requirements.
    func tokenLogProbsAndEntropies(inputIDs: Tensor, attentionMask: Tensor?, lastTokens: Int, temperature: Float,
                                   recomputeLayers: Bool, maxLogitBytes: Int) throws -> (logProbs: Tensor, entropies: Tensor)
    /// Runs `tokens` (`[cache.batch, count]` row-major, padding `mask`) through the model, appends
    /// them to `cache` and returns the last position's logits `[batch, vocab]`. No autograd.
    /// Throws `LanguageModelError.invalidArgument` for tokens that do not fill whole rows, ids
    /// outside the vocabulary, a mask of another size or a cache without room for them.
    func forward(tokens: [Int32], mask: [Int32]?, cache: KVCache) throws -> Tensor
    /// An empty KV cache for `batch` sequences of up to `capacity` tokens on the model's device,
    /// whose keys, values and forward activations are `activationType` (f32 or bf16).
    func makeCache(batch: Int, capacity: Int, activationType: DType) -> KVCache
    /// Runs one token per sequence (`tokens[i]` continues `sequences[i]` of `pagedCache`), appends
    /// them to the cache and returns their logits `[sequences.count, vocab]`. No autograd. Throws
    /// `LanguageModelError.invalidArgument` unless there is one token per sequence (at least one),
    /// ids are in the vocabulary, the sequences are distinct live ones and enough blocks are free.
    func forward(tokens: [Int32], pagedCache: PagedKVCache, sequences: [Int]) throws -> Tensor
    /// `forward(tokens:pagedCache:sequences:)` that may replay the step `graph` keeps recorded
    /// for the batch shape (`PagedDecodeGraph`): the same logits, which on a backend that records
    /// work are rewritten by the next step through `graph`. Same errors.
    func forward(tokens: [Int32], pagedCache: PagedKVCache, sequences: [Int], graph: PagedDecodeGraph) throws -> Tensor
    /// Replaces weights by name (same names and shapes, else throws
    /// `LanguageModelError.invalidArgument` and replaces nothing), e.g. to sync a reference copy.
    func replaceParameters(_ new: [String: Tensor]) throws
    /// A deep copy of the weights, cast to `dtype` when given (e.g. a frozen reference model),
    /// with a copy of the adapters when attached.
    func copy(as dtype: DType?) -> Self
    /// A copy for inference whose matrices are stored as `dtype` (bf16 halves decode traffic);
    /// it shares the attached adapters.
    func inferenceCopy(matrices dtype: DType) -> Self
    /// The LoRA adapters applied on top of the weights, or nil.
    var adapters: LoRAAdapters? { get }
    /// Attaches LoRA adapters made for this model (nil detaches them); the weights stay as they are.
    func attachAdapters(_ adapters: LoRAAdapters?) throws(LoRAError)
    /// A copy without adapters whose weights have the attached adapters folded in.
    func mergingAdapters() -> Self
    /// Writes a Hugging Face folder (config, generation config when given, safetensors) with the
    /// weights stored as `weightType` (f32 or bf16), sharded past `maxShardBytes`.
    func save(to folder: URL, weightType: DType, generationConfig: GenerationConfig?, maxShardBytes: Int?) throws
}

extension CausalLanguageModel {
    public func hiddenStates(inputIDs: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
        try hiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, recomputeLayers: false)
    }

    /// Logits for every position: `[batch, length, vocab]` (same requirements as `hiddenStates`).
    public func logits(inputIDs: Tensor, attentionMask: Tensor? = nil, recomputeLayers: Bool = false) throws -> Tensor {
        logits(hiddenStates: try hiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, recomputeLayers: recomputeLayers))
    }

    /// `tokenLogProbs` with defaults: no mask (no padding), temperature 1, no recomputation,
    /// `DecoderModel.defaultMaxLogitBytes` of logits at a time.
    public func tokenLogProbs(inputIDs: Tensor, attentionMask: Tensor? = nil, lastTokens count: Int, temperature: Float = 1,
                              recomputeLayers: Bool = false, maxLogitBytes: Int = DecoderModel.defaultMaxLogitBytes) throws -> Tensor {
        try tokenLogProbs(inputIDs: inputIDs, attentionMask: attentionMask, lastTokens: count, temperature: temperature,
                      recomputeLayers: recomputeLayers, maxLogitBytes: maxLogitBytes)
    }

    public func forward(tokens: [Int32], cache: KVCache) throws -> Tensor { try forward(tokens: tokens, mask: nil, cache: cache) }

    public func copy() -> Self { copy(as: nil) }

    /// What a trainer updates: the adapters' tensors when adapters are attached (the weights are
    /// then frozen), all weights otherwise.
    public var trainableParameters: [String: Tensor] { adapters?.parameters ?? parameters }

    public func save(to folder: URL, weightType: DType = .f32, generationConfig: GenerationConfig? = nil) throws {
        try save(to: folder, weightType: weightType, generationConfig: generationConfig, maxShardBytes: nil)
    }

    public func makeCache(batch: Int, capacity: Int, activationType: DType = .f32) -> KVCache {
        KVCache(config: config, batch: batch, capacity: capacity, device: device, activationType: activationType)
    }

    /// The eager paged forward: a model without recorded steps ignores `graph`.
    public func forward(tokens: [Int32], pagedCache: PagedKVCache, sequences: [Int], graph: PagedDecodeGraph) throws -> Tensor {
        try forward(tokens: tokens, pagedCache: pagedCache, sequences: sequences)
    }

    /// An empty paged KV cache of `blockCount` blocks of `blockSize` tokens on the model's device,
    /// of `activationType` (f32 or bf16); throws `LanguageModelError.invalidArgument` unless both
    /// counts are ≥ 1 and the type is f32 or bf16.
    public func makePagedCache(blockCount: Int, blockSize: Int = 16, activationType: DType = .f32) throws -> PagedKVCache {
        try PagedKVCache(config: config, blockCount: blockCount, blockSize: blockSize, device: device, activationType: activationType)
    }
}

/// Loads Hugging Face model folders of any supported family.
public enum ModelLoader {
    /// The model in `folder` (`config.json` plus safetensors weights): the family comes from
    /// `model_type`; an unsupported one is a `CheckpointError` naming the supported families.
    /// `weightType` `.f32` for training, `.bf16` for matrices in inference.
    public static func load(from folder: URL, weightType: DType = .f32, device: Device = .cpu) throws -> any CausalLanguageModel {
        try DecoderModel.load(from: folder, weightType: weightType, device: device)
    }
}
