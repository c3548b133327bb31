import RLTensor

/// Keeps the paged decode step of one batch shape recorded, for
/// `CausalLanguageModel.forward(tokens:pagedCache:sequences:graph:)`: on CUDA the ~500 kernel
/// launches of a step become one graph launch (plus one upload of the step's inputs), recorded
/// when a step of a new shape comes (a new number of sequences or a wider block table) and
/// replayed while the shape stays. Elsewhere (the CPU) every step runs as the eager forward does.
///
/// A graph serves one model and one cache while the model's weights and adapters stay as they
/// are (a recording reads the weights it saw): make one per generation run, and use it from one
/// thread at a time.
public final class PagedDecodeGraph: @unchecked Sendable {
    /// The narrowest block table a step uses: tables are padded to it, so a run whose sequences
    /// never need more blocks (prompt plus new tokens) records once per batch size.
    public let minimumTableWidth: Int

    /// What a recording is valid for.
    struct Key: Equatable {
        var model: ObjectIdentifier
        var cache: ObjectIdentifier
        var batch: Int
        var tableWidth: Int
    }

    private var current: (key: Key, inputs: PagedStepTensors, step: ReplayableStep)?
    /// How many step shapes have been prepared (each recorded once where the backend records).
    private(set) var preparedShapes = 0

    /// A graph whose steps' block tables are at least `minimumTableWidth` blocks wide (≥ 0).
    public init(minimumTableWidth: Int = 0) {
        self.minimumTableWidth = max(minimumTableWidth, 0)
    }

    /// The inputs and step for `key`: the current ones when `key` matches, else new ones from
    /// `make` (the previous recording and its memory are let go).
    func step(for key: Key, make: () -> (PagedStepTensors, ReplayableStep)) -> (PagedStepTensors, ReplayableStep) {
        if let current, current.key == key { return (current.inputs, current.step) }
        current = nil
        let (inputs, step) = make()
        current = (key, inputs, step)
        preparedShapes += 1
        return (inputs, step)
    }
}
