import ArgumentParser
import FoundationEssentials
import RLApp
import RLModel
import RLReasoning
import RLTensor

/// The README's main job: a tiny Qwen2 model learns multi-step arithmetic by GRPO on a CPU, with
/// nothing downloaded. A supervised warm-start on an impatient teacher's demonstrations (half of
/// them skip the working) teaches the answer format; then GRPO with accuracy and format rewards
/// finds that working the steps out pays, and sharpens the working.
@main
struct TinyGRPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiny-grpo",
        abstract: "Train a tiny Qwen2 model on arithmetic with GRPO and show the held-out accuracy before and after.")

    @Option(help: "Seed for the model, the data and the sampling.")
    var seed: UInt64 = 1

    @Option(help: "Folder for the trained model, metrics and report.")
    var output: String = "tiny-grpo-output"

    @Flag(help: "A one-minute version for the test suite.")
    var quick = false

    @Option(help: "GRPO steps (default 150, or 60 with --quick).")
    var steps: Int?

    @Option(help: "Operations per problem.")
    var operations = 3

    @Option(help: "Share of warm-start demonstrations that answer without working.")
    var directFraction = 0.5

    @Option(help: "GRPO learning rate (default 2e-4, or 2e-3 with --lora).")
    var learningRate: Double?

    @Flag(help: "GRPO trains LoRA adapters on every projection; the warm-started weights stay frozen.")
    var lora = false

    @Option(help: "LoRA rank with --lora (lora_alpha is twice the rank).")
    var loraRank = 8

    @Option(help: "Supervised warm-start steps (default 600).")
    var warmStartSteps: Int?

    @Option(name: .customLong("loss_type"), help: "GRPO loss: bnpo (default), grpo, dr_grpo, dapo, cispo or sapo.")
    var lossType: GRPOLossType = .bnpo

    @Option(name: .customLong("importance_sampling_level"), help: "token (default) or sequence (GSPO).")
    var importanceSamplingLevel: ImportanceSamplingLevel = .token

    @Option(name: .customLong("epsilon_high"), help: "Upper clip range (default: epsilon 0.2; cispo: the ratio cap, default 5).")
    var epsilonHigh: Float?

    @Flag(name: .customLong("dynamic_sampling"), help: "DAPO's dynamic sampling: train only on groups whose rewards differ.")
    var dynamicSampling = false

    @Option(name: .customLong("num_iterations"), help: "μ: each step of a generation batch is taken this many times (default 1, on-policy).")
    var numIterations = 1

    @Option(help: "Measure the held-out accuracy every this many steps too (written to curve.jsonl with the tokens generated so far).")
    var evalEvery: Int?

    /// Every option is checked before the warm start spends its half minute.
    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard (1...8).contains(operations) else { throw ValidationError("--operations must be between 1 and 8, got \(operations)") }
        guard (0...1).contains(directFraction) else { throw ValidationError("--direct-fraction must be between 0 and 1, got \(directFraction)") }
        if let learningRate, !(learningRate > 0 && learningRate <= 1) {
            throw ValidationError("--learning-rate must be in (0, 1], got \(learningRate)")
        }
        guard loraRank >= 1 && loraRank <= 64 else { throw ValidationError("--lora-rank must be between 1 and 64, got \(loraRank)") }
        if let warmStartSteps, warmStartSteps < 0 { throw ValidationError("--warm-start-steps must be at least 0, got \(warmStartSteps)") }
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be at least 1, got \(evalEvery)") }
        guard (1...16).contains(numIterations) else { throw ValidationError("--num_iterations must be between 1 and 16, got \(numIterations)") }
        if let epsilonHigh, !(epsilonHigh > 0 && epsilonHigh <= 10) { throw ValidationError("--epsilon_high must be in (0, 10], got \(epsilonHigh)") }
    }

    mutating func run() throws {
        let started = monotonicSeconds()
        let tokenizer = try TinyTokenizer.make()
        let task = ArithmeticTask(maxOperand: 9, operations: operations, directAnswerFraction: directFraction)
        let config = ModelConfig(vocabSize: tokenizer.vocabularySize, hiddenSize: 64, intermediateSize: 192, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 2048,
                                 eosTokenID: .single(Int(tokenizer.eosTokenID!)))
        let model = DecoderModel(randomWeights: config, seed: seed, initStd: 0.05)
        let promptIDs: (String) throws -> [Int32] = { question in
            tokenizer.encode(try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: question)], addGenerationPrompt: true),
                             addSpecialTokens: false)
        }
        let heldOut = task.problems(count: quick ? 100 : 300, seed: seed &* 7 &+ 12_345)
        // Training problems never repeat a held-out question.
        let heldOutQuestions = Set(heldOut.map(\.question))
        let training = task.problems(count: 5_000, seed: seed &* 7 &+ 11).filter { !heldOutQuestions.contains($0.question) }
        let evaluation = HeldOutEvaluation(problems: heldOut, promptIDs: promptIDs)
        let maxNewTokens = 40

        let warmSteps = warmStartSteps ?? 600
        print("tiny-grpo: \(config.numHiddenLayers)-layer Qwen2, hidden \(config.hiddenSize), vocab \(config.vocabSize); seed \(seed)")
        print("warm-start: \(warmSteps) supervised steps on demonstrations that show the working in \(percent(1 - directFraction)) of cases")
        _ = try WarmStart(model: model, tokenizer: tokenizer, promptIDs: promptIDs).run(
            problems: training, steps: warmSteps, batchSize: 32, learningRate: 3e-3) { step, loss in
            if step % 25 == 0 || step == warmSteps { print("  warm-start step \(step)/\(warmSteps)  loss \(String(format2: loss))") }
        }
        let before = try evaluation.accuracy(of: model, tokenizer: tokenizer, maxNewTokens: maxNewTokens)
        print("held-out accuracy before GRPO: \(percent(before)) (\(heldOut.count) problems, greedy)")

        var grpo = GRPOConfiguration()
        grpo.learningRate = learningRate ?? (lora ? 2e-3 : 2e-4)
        grpo.lrSchedulerType = .constant
        grpo.warmupRatio = 0
        grpo.maxSteps = steps ?? (quick ? 60 : 150)
        grpo.gradientAccumulationSteps = 1
        grpo.numGenerations = 8
        grpo.perDeviceTrainBatchSize = 64
        grpo.maxPromptLength = 64
        grpo.maxCompletionLength = maxNewTokens
        grpo.temperature = 1
        grpo.beta = 0
        grpo.rewardFuncs = [.accuracy, .format]
        grpo.rewardWeights = [1, 0.2]
        grpo.systemPrompt = nil
        grpo.goldColumns = ["answer"]
        grpo.gradientCheckpointing = false
        grpo.seed = seed
        grpo.overwriteOutputDir = true  // the demo reruns into its own folder
        // Only the final checkpoint (the trainer copies its configuration when it is created).
        grpo.saveSteps = grpo.maxSteps
        grpo.saveTotalLimit = 1
        grpo.lossType = lossType
        grpo.importanceSamplingLevel = importanceSamplingLevel
        grpo.epsilonHigh = epsilonHigh ?? (lossType == .cispo ? 5 : nil)
        grpo.dynamicSampling = dynamicSampling
        grpo.numIterations = numIterations
        if lora {
            let settings = try LoRAConfiguration(rank: loraRank, alpha: Double(2 * loraRank), dropout: 0, targetModules: ["all-linear"])
            try model.attachAdapters(LoRAAdapters(configuration: settings, model: config, seed: seed))
            print("LoRA: rank \(loraRank) on every projection, \(model.trainableParameters.values.reduce(0) { $0 + $1.count }) trainable parameters; the base is frozen")
        }
        let dataset = try PromptDataset(rows: training.map { ["problem": $0.question, "answer": String($0.answer)] })
        let trainer = try GRPOTrainer(configuration: grpo, policy: model, tokenizer: tokenizer, dataset: dataset)
        let outputFolder = URL(fileURLWithPath: output)
        print("GRPO: \(grpo.maxSteps) steps x \(grpo.promptsPerMicroStep) prompts x \(grpo.numGenerations) samples, rewards accuracy + format, "
            + "loss_type \(lossType.rawValue)\(importanceSamplingLevel == .sequence ? " (sequence level)" : "")\(dynamicSampling ? ", dynamic sampling" : "")")
        // The accuracy against tokens generated so far, for comparing sampling methods (--eval-every).
        var curve: [String] = []
        var generatedSoFar = 0
        if let evalEvery {
            let previous = trainer.onStep
            trainer.onStep = { metrics, samples in
                previous?(metrics, samples)
                generatedSoFar += metrics.generatedTokens
                guard metrics.step % evalEvery == 0 || metrics.step == grpo.maxSteps else { return }
                let accuracy = (try? evaluation.accuracy(of: model, tokenizer: tokenizer, maxNewTokens: maxNewTokens)) ?? .nan
                curve.append("{\"step\": \(metrics.step), \"generated_tokens\": \(generatedSoFar), \"accuracy\": \(accuracy)}")
                print("  held-out accuracy at step \(metrics.step): \(percent(accuracy)) after \(generatedSoFar) generated tokens")
            }
        }
        // Writes metrics.jsonl, completions.jsonl, report.html and the final checkpoint as it goes.
        _ = TrainingRunReporter(trainer: trainer, output: outputFolder) { print($0) }
        try trainer.train(output: outputFolder)
        let after = try evaluation.accuracy(of: model, tokenizer: tokenizer, maxNewTokens: maxNewTokens)
        print("held-out accuracy after GRPO:  \(percent(after)) (before \(percent(before)), gain \(String(format: "%+.1f", (after - before) * 100)) points)")

        let modelFolder = outputFolder.appendingPathComponent("model")
        if let adapters = model.adapters {
            // The adapters as PEFT reads them, the frozen base they apply to, and (below) the
            // model with them folded in.
            try adapters.save(to: outputFolder.appendingPathComponent("adapter"))
            let base = outputFolder.appendingPathComponent("base")
            try DecoderModel(config: model.config, parameters: model.parameters).save(to: base)
            try tokenizer.save(to: base)
        }
        try model.mergingAdapters().save(to: modelFolder, generationConfig: GenerationConfig(eosTokenID: .single(Int(tokenizer.eosTokenID!))))
        try tokenizer.save(to: modelFolder)
        let summary = "{\"seed\": \(seed), \"loss_type\": \"\(lossType.rawValue)\", \"importance_sampling_level\": \"\(importanceSamplingLevel.rawValue)\", "
            + "\"dynamic_sampling\": \(dynamicSampling), \"num_iterations\": \(numIterations), \"accuracy_before\": \(before), \"accuracy_after\": \(after), "
            + "\"seconds\": \(Int(monotonicSeconds() - started))}\n"
        try Data(summary.utf8).write(to: outputFolder.appendingPathComponent("summary.json"))
        if !curve.isEmpty {
            try Data((curve.joined(separator: "\n") + "\n").utf8).write(to: outputFolder.appendingPathComponent("curve.jsonl"))
        }
        print("saved the model to \(modelFolder.path); curves in \(outputFolder.path)/report.html; \(Int(monotonicSeconds() - started)) s in all")
    }
}

extension GRPOLossType: ExpressibleByArgument {}
extension ImportanceSamplingLevel: ExpressibleByArgument {}
