import FoundationEssentials
import RLDistributed
import RLModel
import RLTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GRPO training of a causal language model (any `CausalLanguageModel`), step by step as TRL 69ad852 does it (see
/// `docs/openrs-reference.md` §2), with the later TRL options as settings.
///
/// One optimizer step: for each of `gradientAccumulationSteps` micro-steps, sample
/// `numGenerations` completions for each of its prompts, score them, compute group advantages,
/// and accumulate the gradient of the GRPO loss (divided by the accumulation count); then clip
/// the global gradient norm, skip the update if anything is not finite, and apply AdamW at the
/// scheduled learning rate. A generation batch holds `stepsPerGeneration` micro-batches (default:
/// one step's) and serves `stepsPerGeneration / gradientAccumulationSteps` steps, each repeated
/// `numIterations` μ times; steps after its first use the log-probs of generation time as π_old.
///
/// Data-parallel: with a `collective` of N ranks, each rank takes a disjoint slice of every
/// micro-batch of prompts (`perDeviceTrainBatchSize` completions each, TRL's meaning), samples
/// with the seeds those completions would have in one process, and the gradients, the token
/// counts that normalise the loss, and the metrics are reduced across ranks: N ranks with batch
/// b take the same steps as one process with batch N·b.
public final class GRPOTrainer {
    public let configuration: GRPOConfiguration
    public let policy: any CausalLanguageModel
    public let tokenizer: Tokenizer
    public let dataset: PromptDataset
    /// The ranks this run trains with (`SingleProcess` unless given).
    public let collective: any Collective
    let reference: (any CausalLanguageModel)?
    let optimizer: AdamW
    let schedule: LearningRateSchedule
    let builder: RolloutBuilder
    let rewardNames: [String]
    var sampler: EpochSampler
    /// Optimizer steps taken.
    public internal(set) var step = 0
    /// Rollouts kept for reuse while μ > 1.
    var buffer: [Rollout] = []
    /// The AdamW moments each rank keeps (`zeroStage` 1 with several ranks), else nil.
    let shards: OptimizerShards?
    /// Steps skipped in a row for a non-finite loss or gradient.
    var consecutiveSkippedSteps = 0
    /// Informative groups kept for replay (`replayBufferSize`).
    var replayBuffer: ReplayBuffer
    /// Prompt and completion tokens of every generation batch so far (`num_tokens`, TRL's
    /// `num_input_tokens_seen`).
    var trainedTokens = 0
    /// A run stops after this many skipped steps in a row.
    static let maximumSkippedSteps = 5
    /// The model's `ModelFingerprint` (set it when the model comes from a folder; `grpo-train`
    /// does): recorded in each checkpoint's `RunManifest` so that `--resume` with other weights is
    /// refused. Without it only the model's shape is compared.
    public var modelFingerprint: String?
    /// Warnings found while checking the run, logged when `train(output:)` starts.
    var startWarnings: [String] = []
    /// Called with each line of progress text (printed on rank 0; other ranks are silent unless set).
    public var log: (String) -> Void = { print($0) }
    /// Called after every step with its metrics and the micro-batches' sample completions.
    public var onStep: ((StepMetrics, [CompletionSample]) -> Void)?

    /// `rewards` replaces the configuration's `rewardFuncs` with your own functions, each
    /// weighted by its `weight` (then `rewardFuncs` may be empty and `rewardWeights` must be nil).
    /// Completions end at any of the tokenizer's and the model config's end-of-sequence ids plus
    /// `extraStopTokenIDs` (pass the `generation_config.json` ids, `StopTokens`, when the model
    /// came from a folder that has one). `collective` makes this process one rank of a
    /// data-parallel run (every rank builds its trainer with the same arguments). Bad settings
    /// throw `TrainingError.invalidSetting` naming the setting as `configuration.settingNames` spells it.
    /// With `pagedKVCache` the rollouts' cache budget is planned here from the policy's device
    /// memory (`MemoryPlan.pagedCache`), and a budget that cannot hold one group is refused.
    public init(configuration: GRPOConfiguration, policy: any CausalLanguageModel, tokenizer: Tokenizer, dataset: PromptDataset,
                rewards customRewards: [any RewardFunction]? = nil, extraStopTokenIDs: Set<Int32> = [],
                collective: any Collective = SingleProcess()) throws {
        try configuration.validate()
        let n = configuration.settingName
        if collective.worldSize > 1 {
            let unsupported: [(key: String, isSet: Bool)] = [("dynamic_sampling", configuration.dynamicSampling),
                                                             ("replay_buffer_size", configuration.replayBufferSize > 0),
                                                             ("top_entropy_quantile", configuration.topEntropyQuantile < 1)]
            if let setting = unsupported.first(where: \.isSet) {
                throw TrainingError.invalidSetting(key: n(setting.key), reason: "is not supported in a run of \(collective.worldSize) processes yet "
                    + "(its choices depend on the whole batch); train it in one process")
            }
        }
        let limit = policy.config.maxPositionEmbeddings
        if configuration.maxPromptLength + configuration.maxCompletionLength > limit {
            throw TrainingError.invalidSetting(key: n("max_completion_length"), reason: "\(n("max_prompt_length")) + \(n("max_completion_length")) "
                + "(\(configuration.maxPromptLength) + \(configuration.maxCompletionLength)) exceeds the model's max_position_embeddings \(limit)")
        }
        if let row = dataset.rows.firstIndex(where: { ($0[configuration.promptColumn] ?? "").isEmpty }) {
            throw TrainingError.datasetRow(file: "the dataset given to GRPOTrainer", line: row + 1,
                                           reason: "no \"\(configuration.promptColumn)\" column (the prompt); every row needs one")
        }
        if tokenizer.vocabularySize > policy.config.vocabSize {
            throw TrainingError.invalidSetting(key: "tokenizer", reason: "the tokenizer has \(tokenizer.vocabularySize) tokens but "
                + "the model only \(policy.config.vocabSize) embeddings; they do not belong together")
        }
        var pagedCache: PagedCacheOptions?
        if configuration.memoryCheck || configuration.pagedKVCache {
            let plan = MemoryPlan(policy: policy, configuration: configuration)
            if configuration.memoryCheck && !plan.fits { throw TrainingError.insufficientMemory(plan: plan.table()) }
            try plan.checkPagedCache()
            pagedCache = plan.pagedCache
        }
        guard weightsAreFinite(policy.parameters), weightsAreFinite(policy.trainableParameters) else {
            throw TrainingError.nonFiniteWeights(reason: "the model's weights hold NaN or infinite values before training; nothing can be learned from them")
        }
        do { try tokenizer.checkChatTemplate() } catch ChatTemplateError.noTemplate { throw TrainingError.noChatTemplate(model: "tokenizer") }
        guard let eos = tokenizer.eosTokenID else {
            throw TrainingError.invalidSetting(key: "eos_token", reason: "the tokenizer names no end-of-sequence token")
        }
        self.configuration = configuration
        self.policy = policy
        self.tokenizer = tokenizer
        self.dataset = dataset
        self.collective = collective
        if collective.rank != 0 { log = { _ in } }
        if configuration.leanMemory {
            guard policy.adapters == nil else {
                throw TrainingError.invalidSetting(key: n("lean_memory"), reason: "is for full fine-tuning; a LoRA run already keeps only the adapters' state")
            }
            guard policy.device == .cpu else {
                throw TrainingError.invalidSetting(key: n("lean_memory"), reason: "needs the CPU backend (the bf16 state kernels are CPU kernels)")
            }
        }
        // With adapters the reference is the same base with them switched off: no second copy.
        // Lean runs keep it with bf16 matrices, as bf16 training does.
        if configuration.beta == 0 || policy.adapters != nil {
            reference = nil
        } else {
            reference = configuration.leanMemory ? policy.inferenceCopy(matrices: .bf16) : policy.copy()
        }
        optimizer = AdamW(beta1: configuration.adamBeta1, beta2: configuration.adamBeta2, epsilon: configuration.adamEpsilon,
                          weightDecay: configuration.weightDecay, momentType: configuration.leanMemory ? .bf16 : .f32)
        optimizer.seed = configuration.seed
        shards = configuration.zeroStage == 1 && collective.worldSize > 1
            ? OptimizerShards(parameters: policy.trainableParameters, worldSize: collective.worldSize) : nil
        if let shards {
            startWarnings.append(shards.summary(rank: collective.rank, bytesPerElement: configuration.leanMemory ? 2 : 4))
        }
        if configuration.matmulPrecision == .bfloat16 && !MatmulPrecision.bfloat16IsAvailable(on: policy.device) {
            startWarnings.append("note: \(n("matmul_precision")) bfloat16 changes nothing on \(policy.device) here: products stay f32 "
                + "(bf16 products need a CPU with AMX-BF16)")
        }
        schedule = configuration.learningRateSchedule()
        let rewards: [any RewardFunction]
        let weights: [Float]
        if let customRewards {
            if let given = configuration.rewardWeights {
                throw TrainingError.invalidSetting(key: n("reward_weights"), reason: "is \(given), but it weights \(n("reward_funcs")); custom "
                    + "rewards bring their own (RewardFunction.weight): set it to nil")
            }
            rewards = customRewards
            weights = customRewards.map(\.weight)
        } else {
            rewards = try configuration.rewardFuncs.map { try RewardRegistry.make($0, configuration: configuration) }
            weights = configuration.rewardWeights ?? rewards.map { _ in 1 }
        }
        guard !rewards.isEmpty else {
            throw TrainingError.invalidSetting(key: n("reward_funcs"), reason: "name at least one reward function (or give GRPOTrainer custom rewards)")
        }
        if let bad = weights.first(where: { !$0.isFinite }) {
            throw TrainingError.invalidSetting(key: customRewards == nil ? n("reward_weights") : "rewards", reason: "weights must be finite, got \(bad)")
        }
        rewardNames = rewards.map(\.name)
        // A reward that needs the gold answer must find one: none at all is an error (the reward
        // would silently score nothing), some rows without one a warning when training starts.
        for reward in rewards {
            let columns: GoldColumns? = (reward as? AccuracyReward)?.goldColumns ?? (reward as? CosineReward)?.goldColumns
                ?? (reward as? LengthReward)?.goldColumns
            guard let columns else { continue }
            let missing = dataset.rows.indices.filter { columns.gold(in: dataset.rows[$0]) == nil }
            if missing.count == dataset.rows.count {
                let seen = Set(dataset.rows.flatMap(\.keys)).sorted().prefix(12).joined(separator: ", ")
                throw TrainingError.invalidSetting(key: n("gold_columns"), reason: "reward '\(reward.name)' needs a gold answer, but no row has "
                    + "a non-empty \(columns.names.joined(separator: " or ")) column (the rows have: \(seen)); name the answer column in \(n("gold_columns"))")
            }
            if let first = missing.first, !startWarnings.contains(where: { $0.contains("no gold answer") }) {
                startWarnings.append("warning: \(missing.count) of \(dataset.rows.count) rows have no gold answer "
                    + "(\(columns.names.joined(separator: " or ")); e.g. row \(first + 1)); reward '\(reward.name)' gives their completions no score")
            }
        }
        builder = RolloutBuilder(configuration: configuration, tokenizer: tokenizer,
                                 rewards: rewards, weights: weights,
                                 endTokenIDs: extraStopTokenIDs.union(StopTokens.resolve(tokenizer: tokenizer, config: policy.config, generationConfig: nil)),
                                 padTokenID: tokenizer.padTokenID ?? eos, pagedCache: pagedCache)
        sampler = EpochSampler(count: dataset.rows.count, seed: configuration.seed)
        replayBuffer = ReplayBuffer(capacity: configuration.replayBufferSize)
    }

    /// The learning rate of the next update.
    public var currentLearningRate: Double { configuration.learningRate * schedule.multiplier(atStep: step) }

    /// The seed of a generation batch: a function of the run's seed and position only, so a
    /// resumed run samples exactly what an uninterrupted one would.
    func generationSeed(micro: Int, atStep generationStep: Int? = nil) -> UInt64 {
        Generator.sequenceSeed(configuration.seed ^ 0x5EED, (generationStep ?? step) * 1_000 + micro)
    }

    /// The model a generation batch samples from (`rollout_dtype`): the policy, or a copy with
    /// bf16 matrices made from its current weights when it holds f32 matrices.
    func rolloutPolicy() -> any CausalLanguageModel {
        guard configuration.rolloutDtype == .bfloat16,
              policy.parameters.values.contains(where: { $0.rank == 2 && $0.dtype == .f32 }) else { return policy }
        return policy.inferenceCopy(matrices: .bf16)
    }

    /// Optimizer steps one generation batch serves: `steps_per_generation / gradient_accumulation_steps`
    /// passes over it, each repeated `num_iterations` times.
    var stepsPerGenerationBatch: Int {
        let c = configuration
        return (c.stepsPerGeneration ?? c.gradientAccumulationSteps) / c.gradientAccumulationSteps * c.numIterations
    }

    /// Takes one optimizer step and returns its metrics.
    @discardableResult
    public func trainStep() throws -> StepMetrics {
        let c = configuration
        let accumulation = c.gradientAccumulationSteps
        var generationTime = 0.0, trainingTime = 0.0
        let scoringTemperature = c.temperatureConsistentLogProbs ? max(c.temperature, 1e-6) : 1
        var droppedGroups = 0, extraRounds = 0, generatedTokens = 0, replayedGroups = 0, newTokens = 0
        let (rank, world) = (collective.rank, collective.worldSize)
        let perGeneration = c.stepsPerGeneration ?? accumulation
        let cycle = stepsPerGenerationBatch
        if step % cycle == 0 || buffer.count != perGeneration {
            let generationStep = step - step % cycle
            if step != generationStep {
                log("step \(step + 1) is inside a generation batch (resumed): generating that batch again with the current weights")
            }
            buffer = []
            let sampling = rolloutPolicy()
            for micro in 0..<perGeneration {
                let started = monotonicSeconds()
                var rollout: Rollout
                if c.dynamicSampling {
                    let sampled = try dynamicallySampledGroups(micro: micro, generationStep: generationStep, policy: sampling)
                    droppedGroups += sampled.dropped
                    extraRounds += sampled.extraRounds
                    generatedTokens += sampled.generatedTokens
                    replayedGroups += sampled.replayed
                    rollout = builder.assemble(sampled.groups, device: policy.device)
                } else {
                    // Every rank draws the whole micro-batch's prompts and keeps its slice.
                    let prompts = c.promptsPerMicroStep
                    let rows = sampler.next(prompts * world)[(rank * prompts)..<((rank + 1) * prompts)].map { dataset.rows[$0] }
                    var groups = try builder.generate(rows: rows, policy: sampling, seed: generationSeed(micro: micro, atStep: generationStep),
                                                      firstSequence: rank * prompts * c.numGenerations)
                    generatedTokens += groups.generatedTokens
                    if c.replayBufferSize > 0 {
                        let generated = groups
                        let filled = replayBuffer.fillUninformative(generated)
                        groups = filled.groups
                        replayedGroups += filled.replaced
                        replayBuffer.add(generated)
                    }
                    let batchScores = world > 1 ? try gatheredScores(groups.scores, label: "rewards, step \(step + 1)") : nil
                    rollout = builder.assemble(groups, device: policy.device, batchScores: batchScores,
                                               offset: rank * c.promptsPerMicroStep * c.numGenerations)
                }
                if c.beta != 0 {
                    rollout.referenceLogProbs = try MatmulPrecision.withValue(c.matmulPrecision) {
                        try referenceLogProbs(rollout, temperature: scoringTemperature)
                    }
                }
                // Later steps of this batch see an updated policy: their ratios need the log-probs of now.
                if cycle > 1 {
                    rollout.oldLogProbs = try MatmulPrecision.withValue(c.matmulPrecision) {
                        try policy.tokenLogProbs(inputIDs: rollout.inputIDs, attentionMask: rollout.attentionMask,
                                                 lastTokens: rollout.completionLength, temperature: scoringTemperature,
                                                 maxLogitBytes: c.logitsChunkBytes)
                    }
                }
                newTokens += rollout.promptTokens + rollout.completionTokens.reduce(0, +)
                buffer.append(rollout)
                generationTime += monotonicSeconds() - started
            }
        }
        let started = monotonicSeconds()
        // Gradients go straight into one accumulator per trainable tensor (no second set per micro-step).
        let trainable = policy.trainableParameters
        let gradientType: DType = c.leanMemory ? .bf16 : .f32
        var gradients = trainable.mapValues { Tensor.zeros($0.shape, dtype: gradientType, device: $0.device) }
        var lossSum = 0.0
        var outputs: [GRPOLossOutput] = []
        // This step's micro-batches: the next gradient_accumulation_steps of the generation batch.
        let first = (step % cycle) % (perGeneration / accumulation) * accumulation
        let batch = Array(buffer[first..<(first + accumulation)])
        // The loss denominators count the tokens of every rank's share of each micro-batch.
        var tokenCounts = batch.map { Double($0.countedTokens.reduce(0, +)) }
        try collective.allReduce(&tokenCounts, label: "token counts, step \(step + 1)")
        let lossConfiguration = lossConfiguration(batch, tokenCounts: tokenCounts)
        for (index, rollout) in batch.enumerated() {
            var output: GRPOLossOutput?
            policy.adapters?.dropoutSeed = Generator.sequenceSeed(configuration.seed ^ 0xD80F, step * 1_000 + index)
            let loss = try MatmulPrecision.withValue(c.matmulPrecision) {
                try valueAndAccumulatedGrad(at: trainable, into: gradients, seed: generationSeed(micro: index) ^ 0xACC) {
                    let scored = try policy.tokenLogProbsAndEntropies(inputIDs: rollout.inputIDs, attentionMask: rollout.attentionMask,
                                                                  lastTokens: rollout.completionLength, temperature: scoringTemperature,
                                                                  recomputeLayers: c.gradientCheckpointing, maxLogitBytes: c.logitsChunkBytes)
                    var configuration = lossConfiguration
                    if world > 1 {
                        configuration.batchTokenCount = Float(tokenCounts[index])
                        configuration.batchRows = rollout.advantages.count * world
                    }
                    let result = try grpoLoss(logProbs: scored.logProbs, oldLogProbs: rollout.oldLogProbs, referenceLogProbs: rollout.referenceLogProbs,
                                          advantages: rollout.advantages, mask: rollout.completionMask, entropies: scored.entropies,
                                          configuration: configuration)
                    output = result
                    // dapo's and cispo's denominator already covers the step's accumulated batch.
                    return [.dapo, .cispo].contains(c.lossType) ? result.loss : result.loss * (1 / Float(batch.count))
                }
            }
            lossSum += Double(loss.item())
            if let output { outputs.append(output) }
        }
        if world > 1 {
            // Each rank's loss is its share of the batch's: the sums are the one-process values.
            try collective.allReduce(tensors: trainable.keys.sorted().map { gradients[$0]! }, label: "gradients, step \(step + 1)")
            var sums = [lossSum, Double(generatedTokens), Double(newTokens)]
            try collective.allReduce(&sums, label: "loss and token counts, step \(step + 1)")
            (lossSum, generatedTokens, newTokens) = (sums[0], Int(sums[1]), Int(sums[2]))
            var slowest = [generationTime]
            try collective.allReduce(&slowest, operation: .max, label: "generation time, step \(step + 1)")
            generationTime = slowest[0]
            outputs = try averagedAcrossRanks(outputs, label: "loss metrics, step \(step + 1)")
        }
        trainedTokens += newTokens
        // bf16 accumulators are not rescaled in place: the clipping factor goes into the update.
        let norm = c.leanMemory ? globalGradientNorm(gradients) : clipGradientNorm(&gradients, maxNorm: c.maxGradNorm)
        let gradientScale = c.leanMemory && norm.isFinite && norm > c.maxGradNorm ? Float(c.maxGradNorm / (norm + 1e-6)) : 1
        let learningRate = currentLearningRate
        let skipped = !norm.isFinite || !lossSum.isFinite
        if skipped {
            consecutiveSkippedSteps += 1
            log("step \(step + 1): loss \(lossSum) / gradient norm \(norm) is not finite; update skipped, weights unchanged")
            if consecutiveSkippedSteps >= Self.maximumSkippedSteps {
                throw TrainingError.nonFiniteWeights(reason: "step \(step + 1): \(consecutiveSkippedSteps) steps in a row had a non-finite "
                    + "loss or gradient; stopping (likely causes: learning_rate \(configuration.learningRate) too high, "
                    + "temperature \(configuration.temperature), or weights already damaged). The last saved checkpoint is intact.")
            }
        } else {
            consecutiveSkippedSteps = 0
            if let shards {
                // Each rank updates the tensors whose moments it keeps, then sends them to the others.
                let mine = Set(shards.names(of: rank))
                optimizer.update(trainable.filter { mine.contains($0.key) }, gradients: gradients.filter { mine.contains($0.key) },
                                 learningRate: Float(learningRate), gradientScale: gradientScale)
                for owner in 0..<world {
                    try collective.broadcast(tensors: shards.names(of: owner).map { trainable[$0]! }, root: owner,
                                             label: "weights updated by rank \(owner), step \(step + 1)")
                }
            } else {
                optimizer.update(trainable, gradients: gradients, learningRate: Float(learningRate), gradientScale: gradientScale)
            }
            // The update itself can overflow: never go on (or save) with destroyed weights.
            guard weightsAreFinite(policy.trainableParameters) else {
                throw TrainingError.nonFiniteWeights(reason: "step \(step + 1): the update made weights non-finite; stopping without "
                    + "saving them (likely causes: learning_rate \(configuration.learningRate), adam_epsilon \(configuration.adamEpsilon), "
                    + "adam_beta2 \(configuration.adamBeta2)). The last saved checkpoint is intact; resume from it with other settings.")
            }
        }
        trainingTime = monotonicSeconds() - started
        step += 1
        let statistics = try batch.enumerated().map { index, rollout in
            try gathered(rollout.statistics, label: "metrics, step \(step), micro-batch \(index)")
        }
        var metrics = summarize(statistics, loss: lossSum, losses: outputs, gradNorm: norm, learningRate: learningRate, skipped: skipped,
                                generationTime: generationTime, trainingTime: trainingTime, generatedTokens: generatedTokens)
        metrics.worldSize = world
        metrics.droppedGroups = droppedGroups
        metrics.extraGenerationRounds = extraRounds
        metrics.replayedGroups = replayedGroups
        let samples = batch.flatMap { r in
            zip(r.completionTexts.indices, r.completionTexts).prefix(1).map { (i, text) in
                CompletionSample(step: step, prompt: r.prompts[i / configuration.numGenerations], completion: text, reward: r.totalRewards[i])
            }
        }
        onStep?(metrics, samples)
        return metrics
    }

    /// The reference model's log-probs of a rollout's completions: the frozen copy, or the
    /// policy with its adapters switched off.
    func referenceLogProbs(_ rollout: Rollout, temperature: Float) throws -> Tensor {
        func score(_ model: any CausalLanguageModel) throws -> Tensor {
            try model.tokenLogProbs(inputIDs: rollout.inputIDs, attentionMask: rollout.attentionMask,
                                lastTokens: rollout.completionLength, temperature: temperature, maxLogitBytes: configuration.logitsChunkBytes)
        }
        if let reference { return try score(reference) }
        guard let adapters = policy.adapters else { preconditionFailure("internal: beta > 0 without a reference model") }
        return try adapters.withoutAdapters { try score(policy) }
    }

    /// The loss settings of this step; `tokenCounts` are the counted tokens of each micro-batch
    /// across all ranks.
    func lossConfiguration(_ batch: [Rollout], tokenCounts: [Double]) -> GRPOLossConfiguration {
        let c = configuration
        var loss = GRPOLossConfiguration(beta: c.beta, epsilon: c.epsilon, epsilonHigh: c.epsilonHigh,
                                         lossType: c.lossType, maxCompletionLength: c.maxCompletionLength)
        // dapo and cispo normalise by the token count of the step's accumulated batch, all ranks together.
        loss.dapoTokenCount = Float(tokenCounts.reduce(0, +))
        loss.importanceSamplingLevel = c.importanceSamplingLevel
        loss.delta = c.delta
        loss.sapoTemperaturePositive = c.sapoTemperaturePositive
        loss.sapoTemperatureNegative = c.sapoTemperatureNegative
        loss.useBiasCorrectionKL = c.useBiasCorrectionKL
        loss.topEntropyQuantile = c.topEntropyQuantile
        return loss
    }

    /// One micro-batch's groups under dynamic sampling: generates for the next prompts, keeps the
    /// groups whose rewards differ, and generates for further prompts (at most
    /// `maxDynamicSamplingRounds` more rounds) until `promptsPerMicroStep` groups are kept. When
    /// the rounds run out it trains on the informative groups it has, or on the last round's
    /// groups when none was informative. Seeds depend on the step, micro-batch and round only.
    /// `sampling` is the model completions are drawn from (`rolloutPolicy()`).
    func dynamicallySampledGroups(micro: Int, generationStep: Int, policy sampling: any CausalLanguageModel) throws
        -> (groups: ScoredGroups, dropped: Int, extraRounds: Int, generatedTokens: Int, replayed: Int) {
        let c = configuration
        let wanted = c.promptsPerMicroStep
        var kept: ScoredGroups?
        var dropped = 0, round = 0, generated = 0
        var last: ScoredGroups?
        while (kept?.groupCount ?? 0) < wanted && round <= c.maxDynamicSamplingRounds {
            let needed = wanted - (kept?.groupCount ?? 0)
            let rows = sampler.next(needed).map { dataset.rows[$0] }
            let base = generationSeed(micro: micro, atStep: generationStep)
            let seed = round == 0 ? base : Generator.sequenceSeed(base, 7_919 * round)
            let groups = try builder.generate(rows: rows, policy: sampling, seed: seed)
            generated += groups.generatedTokens
            let informative = groups.informative.indices.filter { groups.informative[$0] }
            dropped += groups.groupCount - informative.count
            let selected = groups.selecting(informative)
            kept = kept.map { $0.appending(selected) } ?? selected
            last = groups
            round += 1
        }
        var replayed = 0
        if let fresh = kept { replayBuffer.add(fresh) }
        if (kept?.groupCount ?? 0) < wanted, let stored = replayBuffer.take(wanted - (kept?.groupCount ?? 0)) {
            replayed = stored.groupCount
            kept = kept.map { $0.appending(stored) } ?? stored
        }
        if (kept?.groupCount ?? 0) < wanted {
            log("dynamic sampling: \(kept?.groupCount ?? 0) of \(wanted) groups informative after \(round) rounds; training on those")
        }
        guard let kept, kept.groupCount > 0 else {
            // Nothing informative at all: the last round's groups (zero advantages, loss from KL only).
            return (last!, dropped - last!.groupCount, round - 1, generated, 0)  // the loop ran at least once
        }
        return (kept, dropped, round - 1, generated, replayed)
    }

    func summarize(_ rollouts: [RolloutStatistics], loss: Double, losses: [GRPOLossOutput], gradNorm: Double, learningRate: Double,
                   skipped: Bool, generationTime: Double, trainingTime: Double, generatedTokens: Int) -> StepMetrics {
        let totals = rollouts.flatMap(\.totalRewards)
        let stds = rollouts.flatMap { r in r.groupStandardDeviations.flatMap { Array(repeating: $0, count: configuration.numGenerations) } }
        var perFunction: [String: Double] = [:]
        for (k, name) in rewardNames.enumerated() {
            let values = rollouts.flatMap { $0.rewardScores[k] }.compactMap { $0 }
            if !values.isEmpty { perFunction[name] = values.reduce(0.0) { $0 + Double($1) } / Double(values.count) }
        }
        var perFunctionStd: [String: Double] = [:]
        for (k, name) in rewardNames.enumerated() {
            let values = rollouts.flatMap { $0.rewardScores[k] }.compactMap { $0 }
            if values.count > 1 { perFunctionStd[name] = unbiasedStandardDeviation(values[...]) }
        }
        let counted = rollouts.flatMap(\.countedTokens)
        func mean(_ v: [Float]) -> Double { v.isEmpty ? 0 : v.reduce(0.0) { $0 + Double($1) } / Double(v.count) }
        func lossMean(_ value: (GRPOLossOutput) -> Float) -> Double { mean(losses.map(value)) }
        let lengths = rollouts.flatMap(\.completionTokens)
        let truncated = rollouts.flatMap(\.truncated)
        let terminated = zip(lengths, truncated).filter { !$0.1 }.map { Float($0.0) }
        let groupStds = rollouts.flatMap(\.groupStandardDeviations)
        var metrics = StepMetrics(
            step: step, epoch: Double(sampler.position) / Double(dataset.rows.count), loss: loss, gradNorm: gradNorm,
            learningRate: learningRate, reward: mean(totals), rewardStd: mean(stds), rewards: perFunction,
            kl: lossMean(\.meanKL), clipRatio: lossMean(\.clipRatio),
            completionLength: counted.isEmpty ? 0 : Double(counted.reduce(0, +)) / Double(counted.count),
            truncatedFraction: Double(truncated.filter { $0 }.count) / Double(max(totals.count, 1)),
            generationSeconds: generationTime, trainingSeconds: trainingTime,
            tokensPerSecond: generationTime > 0 ? Double(generatedTokens) / generationTime : 0, skipped: skipped,
            unparseableGolds: rollouts.reduce(0) { $0 + $1.unparseableGolds })
        metrics.rewardStds = perFunctionStd
        metrics.clipRatioLow = lossMean(\.clipRatioLow)
        metrics.clipRatioHigh = lossMean(\.clipRatioHigh)
        metrics.clipRatioRegion = lossMean(\.clipRatioRegion)
        metrics.entropy = lossMean { $0.meanEntropy ?? 0 }
        metrics.fracRewardZeroStd = Double(groupStds.filter { $0 == 0 }.count) / Double(max(groupStds.count, 1))
        metrics.completionMeanLength = mean(lengths.map(Float.init))
        metrics.completionMinLength = Double(lengths.min() ?? 0)
        metrics.completionMaxLength = Double(lengths.max() ?? 0)
        metrics.completionMeanTerminatedLength = mean(terminated)
        metrics.numTokens = trainedTokens
        metrics.generatedTokens = generatedTokens
        return metrics
    }
}
