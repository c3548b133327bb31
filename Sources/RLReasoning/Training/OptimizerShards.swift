import RLTensor

/// ZeRO stage 1: which rank keeps (and updates) the AdamW moments of each trainable tensor.
/// Tensors go largest first to the rank holding the fewest elements so far (ties to the lower
/// rank, names in order), so every rank computes the same split and holds about 1/N of the state.
struct OptimizerShards {
    /// The owning rank of each trainable tensor.
    let owner: [String: Int]
    let worldSize: Int
    /// Elements owned by each rank.
    let elements: [Int]

    init(parameters: [String: Tensor], worldSize: Int) {
        var owner: [String: Int] = [:]
        var elements = [Int](repeating: 0, count: worldSize)
        let largestFirst = parameters.sorted { ($0.value.count, $1.key) > ($1.value.count, $0.key) }
        for (name, tensor) in largestFirst {
            let rank = elements.indices.min { (elements[$0], $0) < (elements[$1], $1) }!  // worldSize >= 1
            owner[name] = rank
            elements[rank] += tensor.count
        }
        self.owner = owner
        self.worldSize = worldSize
        self.elements = elements
    }

    /// The tensors `rank` owns, in name order.
    func names(of rank: Int) -> [String] {
        owner.filter { $0.value == rank }.keys.sorted()
    }

    /// One line for the log: this rank's share of the moments against the whole.
    func summary(rank: Int, bytesPerElement: Int) -> String {
        let mib = { (elements: Int) in String(Double(elements * 2 * bytesPerElement * 10 / (1 << 20)) / 10) }
        let total = elements.reduce(0, +)
        return "optimizer state sharded over \(worldSize) ranks (zero_stage 1): rank \(rank) keeps the AdamW moments of "
            + "\(names(of: rank).count) of \(owner.count) tensors, \(mib(elements[rank])) MiB of \(mib(total)) MiB "
            + "(largest share \(mib(elements.max() ?? 0)) MiB)"
    }
}
