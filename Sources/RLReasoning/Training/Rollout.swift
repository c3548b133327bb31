import RLModel
import RLTensor

/// One micro-batch of generated completions, scored and laid out for the loss.
struct Rollout {
    /// `[rows, promptLength + completionLength]`: left-padded prompts, right-padded completions.
    let inputIDs: Tensor
    /// 1 for real tokens (prompt tokens and completion tokens through the first end token).
    let attentionMask: Tensor
    /// `[rows, completionLength]` f32: the tokens the loss counts.
    let completionMask: Tensor
    let completionLength: Int
    let advantages: [Float]
    let totalRewards: [Float]
    /// Raw scores per reward function, in `rewardNames` order.
    let rewardScores: [[Float?]]
    let groupStandardDeviations: [Float]
    let completionTexts: [String]
    let prompts: [String]
    /// Counted tokens per completion (through the first end token).
    let countedTokens: [Int]
    /// Generated tokens per completion (what TRL's `completions/*_length` measure).
    let completionTokens: [Int]
    let truncated: [Bool]
    /// Prompt tokens (without padding) of all rows.
    let promptTokens: Int
    let unparseableGolds: Int
    var referenceLogProbs: Tensor?
    var oldLogProbs: Tensor?
}

/// What a step's metrics need of one micro-batch's rollout: per completion, in batch order.
/// Data-parallel ranks gather theirs so that rank 0 logs the whole batch's metrics.
struct RolloutStatistics: Codable {
    var totalRewards: [Float]
    /// Raw scores per reward function (nil: the function gave no score).
    var rewardScores: [[Float?]]
    /// One per group.
    var groupStandardDeviations: [Float]
    var countedTokens: [Int]
    var completionTokens: [Int]
    var truncated: [Bool]
    var unparseableGolds: Int

    /// These completions followed by `other`'s.
    func appending(_ other: RolloutStatistics) -> RolloutStatistics {
        RolloutStatistics(totalRewards: totalRewards + other.totalRewards,
                          rewardScores: zip(rewardScores, other.rewardScores).map { $0 + $1 },
                          groupStandardDeviations: groupStandardDeviations + other.groupStandardDeviations,
                          countedTokens: countedTokens + other.countedTokens, completionTokens: completionTokens + other.completionTokens,
                          truncated: truncated + other.truncated, unparseableGolds: unparseableGolds + other.unparseableGolds)
    }
}

extension Rollout {
    var statistics: RolloutStatistics {
        RolloutStatistics(totalRewards: totalRewards, rewardScores: rewardScores, groupStandardDeviations: groupStandardDeviations,
                          countedTokens: countedTokens, completionTokens: completionTokens, truncated: truncated,
                          unparseableGolds: unparseableGolds)
    }
}

/// Builds rollouts: renders prompts, samples groups, scores them and computes advantages.
struct RolloutBuilder {
    let configuration: GRPOConfiguration
    let tokenizer: Tokenizer
    let rewards: [any RewardFunction]
    let weights: [Float]
    let endTokenIDs: Set<Int32>
    let padTokenID: Int32
    /// The paged KV cache generation uses (`paged_kv_cache`, its budget from `MemoryPlan.pagedCache`);
    /// nil: the contiguous cache.
    let pagedCache: PagedCacheOptions?

    /// Prompt token ids of a dataset row: the chat template applied to the system prompt and the
    /// problem, then the last `maxPromptLength` ids. The same ids are used for generation and
    /// for training (the reference truncated only the training copy).
    func promptIDs(_ row: [String: String]) throws -> [Int32] {
        var messages: [ChatMessage] = []
        if let system = configuration.systemPrompt { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: row[configuration.promptColumn] ?? ""))
        let text = try tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: true)
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        guard !ids.isEmpty else {
            throw TrainingError.invalidSetting(key: "chat_template", reason: "renders an empty prompt for the row \"\((row[configuration.promptColumn] ?? "").prefix(60))\"")
        }
        return Array(ids.suffix(configuration.maxPromptLength))
    }

    /// Samples `numGenerations` completions for each row and scores them. Completion i samples
    /// with the seed of sequence `firstSequence + i` of `seed` (a rank's offset in the whole batch).
    func generate(rows: [[String: String]], policy: any CausalLanguageModel, seed: UInt64, firstSequence: Int = 0) throws -> ScoredGroups {
        let c = configuration
        let prompts = try rows.map(promptIDs)
        let sampling = SamplingParameters(temperature: c.temperature, topP: c.topP, topK: c.topK, minP: c.minP,
                                          repetitionPenalty: c.repetitionPenalty)
        var options = GenerationOptions(maxNewTokens: c.maxCompletionLength, sampling: sampling, samplesPerPrompt: c.numGenerations,
                                        stopTokenIDs: endTokenIDs, seed: seed)
        options.pagedCache = pagedCache
        options.activationType = c.rolloutDtype.activationType(on: policy.device)
        if firstSequence != 0 {
            options.sequenceSeeds = (0..<(rows.count * c.numGenerations)).map { Generator.sequenceSeed(seed, firstSequence + $0) }
        }
        let generated = try Generator(model: policy).generate(prompts: prompts, options: options)
        let texts = generated.map { tokenizer.decode($0.tokens, skipSpecialTokens: true) }
        let batch = try RewardBatch(completions: texts, tokenCounts: generated.map(\.tokens.count), rows: generated.map { rows[$0.promptIndex] })
        return ScoredGroups(rows: rows, promptIDs: prompts, sequences: generated, texts: texts, scores: rewards.map { $0.scores(batch) },
                            groupSize: c.numGenerations, weights: weights)
    }

    /// Lays scored groups out for the loss: advantages, padded ids, masks. `batchScores` are the
    /// scores of the whole micro-batch when these groups are one rank's share of it, starting at
    /// completion `offset` (advantages that scale by the batch need all of them).
    func assemble(_ groups: ScoredGroups, device: Device, batchScores: [[Float?]]? = nil, offset: Int = 0) -> Rollout {
        let c = configuration
        let g = c.numGenerations
        let generated = groups.sequences
        let total = groups.totalRewards
        // Cannot throw: every group holds numGenerations completions, each reward scored them all, one weight each.
        let scores = batchScores ?? groups.scores
        let batchAdvantages: [Float]
        switch c.multiObjectiveAggregation {
        case .sumThenNormalize:
            let batchTotal = batchScores.map { ScoredGroups.weightedTotals($0, weights: weights, count: $0.first?.count ?? 0) } ?? total
            batchAdvantages = try! groupAdvantages(rewards: batchTotal, groupSize: g, scaling: c.scaleRewards)
        case .normalizeThenSum:
            batchAdvantages = try! normalizedThenSummedAdvantages(scores: scores, weights: weights, groupSize: g).advantages
        }
        let advantages = Array(batchAdvantages[offset..<(offset + generated.count)])
        let stds = stride(from: 0, to: total.count, by: g).map { Float(unbiasedStandardDeviation(total[$0..<($0 + g)])) }
        // Completions whose row has no gold answer RLMath can parse, whatever score the policy gave them.
        let unparseable: Int
        if let accuracy = rewards.lazy.compactMap({ $0 as? AccuracyReward }).first {
            unparseable = generated.map { groups.rows[$0.promptIndex] }.filter { row in
                guard let gold = accuracy.goldColumns.gold(in: row) else { return true }
                return accuracy.verifier.verify(gold: gold, completion: "", mode: .reward).reason == .goldUnparseable
            }.count
        } else {
            unparseable = 0
        }
        let truncated = generated.map { $0.finishReason == .length && !($0.tokens.last.map(endTokenIDs.contains) ?? false) }

        // Layout: [left-padded prompt | completion right-padded with the pad token].
        let paddedPrompts = LeftPaddedBatch(generated.map { groups.promptIDs[$0.promptIndex] }, pad: padTokenID)
        let promptLength = paddedPrompts.length
        let completionLength = max(1, generated.map(\.tokens.count).max() ?? 1)
        let mask = completionMask(generated.map(\.tokens), length: completionLength, endTokenIDs: endTokenIDs,
                                  maskTruncated: c.maskTruncatedCompletions)
        var ids: [Int32] = [], attention: [Int32] = []
        for (row, sequence) in generated.enumerated() {
            let promptRange = (row * promptLength)..<((row + 1) * promptLength)
            ids += paddedPrompts.ids[promptRange]
            attention += paddedPrompts.mask[promptRange]
            ids += sequence.tokens + [Int32](repeating: padTokenID, count: completionLength - sequence.tokens.count)
            // Completion tokens through the first end token attend; later padding does not.
            let through = sequence.tokens.firstIndex(where: endTokenIDs.contains).map { $0 + 1 } ?? sequence.tokens.count
            attention += (0..<completionLength).map { $0 < through ? 1 : 0 }
        }
        let rowsCount = generated.count, width = promptLength + completionLength
        let counted = (0..<rowsCount).map { r in Int(mask[(r * completionLength)..<((r + 1) * completionLength)].reduce(0, +)) }
        let promptTokens = paddedPrompts.mask.reduce(0) { $0 + Int($1) }
        return Rollout(
            inputIDs: Tensor(ids, shape: [rowsCount, width], device: device),
            attentionMask: Tensor(attention, shape: [rowsCount, width], device: device),
            completionMask: Tensor(mask, shape: [rowsCount, completionLength], device: device), completionLength: completionLength,
            advantages: advantages, totalRewards: total, rewardScores: groups.scores, groupStandardDeviations: stds,
            completionTexts: groups.texts, prompts: groups.rows.map { $0[c.promptColumn] ?? "" }, countedTokens: counted,
            completionTokens: generated.map(\.tokens.count), truncated: truncated,
            promptTokens: promptTokens, unparseableGolds: unparseable,
            referenceLogProbs: nil, oldLogProbs: nil)
    }
}

/// Generated groups with their rewards, before layout: what dynamic sampling filters and joins.
struct ScoredGroups: Codable {
    /// One dataset row and its prompt ids per group.
    var rows: [[String: String]]
    var promptIDs: [[Int32]]
    /// `groupSize` completions per group, group by group (`promptIndex` indexes `rows`).
    var sequences: [GeneratedSequence]
    var texts: [String]
    /// Raw scores per reward function, per completion.
    var scores: [[Float?]]
    let groupSize: Int
    let weights: [Float]

    /// Weighted sum of each completion's scores (a missing score adds nothing).
    var totalRewards: [Float] { Self.weightedTotals(scores, weights: weights, count: sequences.count) }

    /// Weighted sum of each of `count` completions' `scores` (one column per reward function).
    static func weightedTotals(_ scores: [[Float?]], weights: [Float], count: Int) -> [Float] {
        var total = [Float](repeating: 0, count: count)
        for (k, column) in scores.enumerated() {
            for i in column.indices { if let s = column[i] { total[i] += weights[k] * s } }
        }
        return total
    }

    var groupCount: Int { rows.count }

    /// Tokens generated for these groups' completions.
    var generatedTokens: Int { sequences.reduce(0) { $0 + $1.tokens.count } }

    /// Whether each group's total rewards differ (an all-equal group has zero advantages and no gradient).
    var informative: [Bool] { rewardStandardDeviations.map { $0 > 0 } }

    /// The unbiased standard deviation of each group's total rewards.
    var rewardStandardDeviations: [Double] {
        let total = totalRewards
        return stride(from: 0, to: total.count, by: groupSize).map { unbiasedStandardDeviation(total[$0..<($0 + groupSize)]) }
    }

    /// The groups at `indices`, in that order.
    func selecting(_ indices: [Int]) -> ScoredGroups {
        var result = ScoredGroups(rows: [], promptIDs: [], sequences: [], texts: [], scores: scores.map { _ in [] },
                                  groupSize: groupSize, weights: weights)
        for index in indices {
            let members = (index * groupSize)..<((index + 1) * groupSize)
            for i in members {
                var sequence = sequences[i]
                sequence.promptIndex = result.rows.count
                result.sequences.append(sequence)
                result.texts.append(texts[i])
            }
            for k in scores.indices { result.scores[k] += scores[k][members] }
            result.rows.append(rows[index])
            result.promptIDs.append(promptIDs[index])
        }
        return result
    }

    /// These groups followed by `other`'s.
    func appending(_ other: ScoredGroups) -> ScoredGroups {
        var result = self
        for var sequence in other.sequences {
            sequence.promptIndex += rows.count
            result.sequences.append(sequence)
        }
        result.texts += other.texts
        for k in scores.indices { result.scores[k] += other.scores[k] }
        result.rows += other.rows
        result.promptIDs += other.promptIDs
        return result
    }
}
