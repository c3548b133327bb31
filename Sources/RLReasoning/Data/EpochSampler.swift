/// A seeded order over dataset rows: each epoch is a fresh Fisher-Yates shuffle drawn from
/// `seed` and the epoch number, so the order at any position is reproducible (for resume).
struct EpochSampler: Sendable, Equatable {
    let count: Int
    let seed: UInt64
    /// Rows handed out so far.
    private(set) var position = 0

    init(count: Int, seed: UInt64, position: Int = 0) {
        precondition(count > 0, "internal: PromptDataset guarantees at least one row")
        self.count = count
        self.seed = seed
        self.position = position
    }

    /// The next `n` row indices.
    mutating func next(_ n: Int) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(n)
        var epoch = position / count
        var order = EpochSampler.order(count: count, seed: seed, epoch: epoch)
        for _ in 0..<n {
            if position / count != epoch {
                epoch = position / count
                order = EpochSampler.order(count: count, seed: seed, epoch: epoch)
            }
            result.append(order[position % count])
            position += 1
        }
        return result
    }

    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var state = seed ^ (UInt64(epoch) &* 0xD6E8_FEB8_6659_FD93)
        func nextRandom() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(nextRandom() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }
}
