import FoundationEssentials
import RLDistributed
import RLTensor

extension GRPOTrainer {
    /// The whole micro-batch's reward scores: every rank's, in rank order, per reward function
    /// (every rank holds the same number of completions).
    func gatheredScores(_ scores: [[Float?]], label: String) throws -> [[Float?]] {
        let flat = scores.flatMap { $0.map { $0 ?? .nan } }
        let bytes = flat.withUnsafeBytes { Array($0) }
        let ranks = try collective.allGather(bytes: bytes, label: label)
        let perRank = ranks.map { data in data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        let count = scores.first?.count ?? 0
        return scores.indices.map { k in
            perRank.flatMap { values in values[(k * count)..<((k + 1) * count)].map { $0.isNaN ? nil : $0 } }
        }
    }

    /// Every rank's statistics of one micro-batch, joined in rank order (on every rank).
    func gathered(_ statistics: RolloutStatistics, label: String) throws -> RolloutStatistics {
        guard collective.worldSize > 1 else { return statistics }
        let parts = try collective.allGather(bytes: Array(try JSONEncoder().encode(statistics)), label: label)
        let decoded = try parts.map { try JSONDecoder().decode(RolloutStatistics.self, from: Data($0)) }
        return decoded.dropFirst().reduce(decoded[0]) { $0.appending($1) }
    }

    /// The loss metrics of each micro-batch averaged over the ranks (TRL logs the mean of the
    /// processes' values).
    func averagedAcrossRanks(_ outputs: [GRPOLossOutput], label: String) throws -> [GRPOLossOutput] {
        var values: [Float] = outputs.flatMap { output -> [Float] in
            [output.meanKL, output.clipRatio, output.clipRatioLow, output.clipRatioHigh, output.clipRatioRegion,
             output.meanEntropy ?? 0, output.entropyKeptFraction]
        }
        try collective.allReduce(&values, label: label)
        let share = 1 / Float(collective.worldSize)
        return outputs.enumerated().map { index, output in
            let v = values[(index * 7)..<(index * 7 + 7)].map { $0 * share }
            return GRPOLossOutput(loss: output.loss, meanKL: v[0], clipRatio: v[1], clipRatioLow: v[2], clipRatioHigh: v[3],
                                  clipRatioRegion: v[4], meanEntropy: output.meanEntropy == nil ? nil : v[5], entropyKeptFraction: v[6])
        }
    }

    /// Runs `body` on rank 0 alone and gives its result to every rank (errors as `Collective.together`).
    func onFirstRank(_ operation: String, _ body: () throws -> String?) throws -> String? {
        let result = try collective.together(operation) { collective.rank == 0 ? try body() : nil }
        guard collective.worldSize > 1 else { return result }
        let bytes = try collective.broadcast(bytes: result.map { [1] + Array($0.utf8) } ?? [0], label: operation)
        return bytes.first == 1 ? String(decoding: bytes.dropFirst(), as: UTF8.self) : nil
    }

    /// With sharded optimizer state: every rank's AdamW moments, on every rank, for a checkpoint
    /// (rank 0 writes them; the others drop them). nil without sharding or before the first update.
    func gatheredMoments() throws -> (first: [String: Tensor], second: [String: Tensor])? {
        guard let shards, optimizer.step > 0 else { return nil }
        let trainable = policy.trainableParameters
        var first = optimizer.firstMoments, second = optimizer.secondMoments
        for owner in 0..<collective.worldSize {
            let names = shards.names(of: owner)
            if owner != collective.rank {
                for name in names {
                    let parameter = trainable[name]!
                    first[name] = .zeros(parameter.shape, dtype: optimizer.momentType, device: parameter.device)
                    second[name] = .zeros(parameter.shape, dtype: optimizer.momentType, device: parameter.device)
                }
            }
            try collective.broadcast(tensors: names.map { first[$0]! } + names.map { second[$0]! }, root: owner,
                                     label: "optimizer state of rank \(owner)")
        }
        return (first, second)
    }

    /// With sharded optimizer state: drops the moments of the tensors other ranks keep (after a
    /// checkpoint restored all of them).
    func keepOwnShareOfMoments() {
        guard let shards else { return }
        let mine = Set(shards.names(of: collective.rank))
        optimizer.restore(step: optimizer.step, firstMoments: optimizer.firstMoments.filter { mine.contains($0.key) },
                          secondMoments: optimizer.secondMoments.filter { mine.contains($0.key) })
    }
}
