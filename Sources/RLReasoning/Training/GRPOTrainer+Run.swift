import FoundationEssentials
import RLModel
import RLTensor

extension GRPOTrainer {
    /// Trains until `maxSteps`, writing to `output`: `metrics.jsonl` (one line per step),
    /// `completions.jsonl` (sample completions, when `logCompletions`) and `checkpoint-<step>`
    /// folders every `saveSteps` and at the end. `onStep` is called after each step's lines are
    /// written (an application draws its report and progress from it; see RLApp).
    ///
    /// With `resume`, training continues from the newest complete checkpoint in `output` (a
    /// partial one from a killed save is discarded) and produces the same steps an uninterrupted
    /// run with the same seed would. `stopAfterStep` ends the call early (the schedule still
    /// spans `maxSteps`), e.g. to train in stages.
    ///
    /// The checkpoint's `RunManifest` must match this run's: a different model, tokenizer,
    /// dataset or math setting is refused (`TrainingError.resumeMismatch`, naming the keys)
    /// unless its key is in `allowedChanges` (e.g. `["learning_rate"]` to change the learning
    /// rate deliberately). A name in `allowedChanges` that is no manifest key is refused too.
    ///
    /// The folder is locked for the call (a second run into it is refused), and a new run into a
    /// folder an earlier run wrote to is refused unless `overwriteOutputDir` is set.
    public func train(output: URL, resume: Bool = false, allowedChanges: Set<String> = [], stopAfterStep: Int? = nil) throws {
        try run(output: output, resume: resume, allowedChanges: allowedChanges, stopAfterStep: stopAfterStep, beforeStep: {})
    }

    /// `train(output:)` for async code: before each step it checks for cancellation and throws
    /// `CancellationError` when its task is cancelled. The step in progress finishes first;
    /// checkpoints already saved stay intact (resume from the newest with `resume: true`). The
    /// steps run on the calling task's thread; start a long run in its own `Task` so it does not
    /// hold up other work of the cooperative pool.
    public func train(output: URL, resume: Bool = false, allowedChanges: Set<String> = [], stopAfterStep: Int? = nil) async throws {
        try run(output: output, resume: resume, allowedChanges: allowedChanges, stopAfterStep: stopAfterStep,
                beforeStep: { try Task.checkCancellation() })
    }

    /// The run; `beforeStep` is called before every step and may end it by throwing.
    private func run(output: URL, resume: Bool, allowedChanges: Set<String>, stopAfterStep: Int?, beforeStep: () throws -> Void) throws {
        let current = manifest
        if let unknown = allowedChanges.subtracting(current.entries.keys).subtracting(RunManifest.optionalKeys).sorted().first {
            throw TrainingError.invalidSetting(key: "resume_allow_changes", reason: "'\(unknown)' is not a run manifest key; "
                + "the keys are \(current.entries.keys.sorted().joined(separator: ", "))")
        }
        let isFirstRank = collective.rank == 0
        var lock: OutputLock?
        defer { withExtendedLifetime(lock) {} }
        let metricsLog = MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
        let completionsURL = output.appendingPathComponent("completions.jsonl")
        let encoder = MetricsLog.encoder
        // Rank 0 alone prepares the folder and picks the checkpoint to resume from; every rank then
        // loads it (the folder must be on storage every rank sees).
        let resumeFrom = try onFirstRank("preparing \(output.path)") { () -> String? in
            do {
                try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            } catch {
                throw TrainingError.checkpoint(path: output.path, reason: "cannot create the output folder (\(fileErrorText(error)))")
            }
            lock = try OutputLock(folder: output)
            for warning in startWarnings { log(warning) }
            TrainerCheckpoint.removePartials(in: output)
            if resume, let last = TrainerCheckpoint.complete(in: output).last {
                if let stored = try RunManifest.read(from: last.url) {
                    let differences = current.differences(from: stored).filter { !allowedChanges.contains($0) }
                    guard differences.isEmpty else {
                        throw TrainingError.resumeMismatch(path: last.url.path, differences: current.describe(differences, stored: stored),
                                                           keys: differences)
                    }
                } else {
                    log("warning: \(last.url.lastPathComponent) has no \(RunManifest.fileName) (an earlier version wrote it); "
                        + "only the model's shape and the seed are checked")
                }
                return last.url.lastPathComponent
            }
            if resume { log("no checkpoint in \(output.path); starting from step 0") }
            let earlier = ((try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? [])
                .filter { $0.hasPrefix("checkpoint-") || $0 == "metrics.jsonl" || $0 == "completions.jsonl" }.sorted()
            if !earlier.isEmpty && !resume && !configuration.overwriteOutputDir {
                throw TrainingError.outputNotEmpty(path: output.path, contents: earlier)
            }
            for name in earlier {
                let url = output.appendingPathComponent(name)
                if name.hasPrefix("checkpoint-") { TrainerCheckpoint.remove(url, in: output) } else { try? FileManager.default.removeItem(at: url) }
            }
            return nil
        }
        if let resumeFrom {
            let checkpoint = output.appendingPathComponent(resumeFrom)
            try collective.together("restoring \(resumeFrom)") {
                try TrainerCheckpoint.restore(self, from: checkpoint)
                keepOwnShareOfMoments()
                guard isFirstRank else { return }
                try metricsLog.truncate(after: step)
                // Completions of steps after the checkpoint will be generated again.
                let kept = CompletionSample.read(completionsURL).filter { $0.step <= step }
                var data = Data()
                for line in kept { data.append(try encoder.encode(line)); data.append(UInt8(ascii: "\n")) }
                try data.write(to: completionsURL, options: .atomic)
            }
            log("resumed from \(resumeFrom) (step \(step) of \(configuration.maxSteps))")
        }
        let previous = onStep
        defer { onStep = previous }
        // Rank 0 alone writes the run's files.
        if isFirstRank { onStep = { [unowned self] metrics, samples in
            do {
                try metricsLog.append(metrics)
                if configuration.logCompletions {
                    for sample in samples { try appendLine(try encoder.encode(sample), to: completionsURL) }
                }
            } catch {
                log("warning: could not write run files: \(fileErrorText(error))")
            }
            previous?(metrics, samples)
        } }
        let lastStep = Swift.min(configuration.maxSteps, stopAfterStep ?? configuration.maxSteps)
        let firstStep = step
        while step < lastStep {
            // A cancelled rank stops every rank (the others would wait on it in the step's collectives).
            try collective.together("starting step \(step + 1)") { try beforeStep() }
            try trainStep()
            if step % configuration.saveSteps == 0 || step == lastStep {
                guard weightsAreFinite(policy.trainableParameters) else {
                    throw TrainingError.nonFiniteWeights(reason: "step \(step): the weights are not finite; not saving them "
                        + "(the last saved checkpoint is intact)")
                }
                // Every rank holds the same weights and state: rank 0 writes them, the others wait.
                let moments = try gatheredMoments()
                let folder = try onFirstRank("saving checkpoint-\(step)") {
                    try TrainerCheckpoint.save(trainer: self, to: output, keepLast: configuration.saveTotalLimit, moments: moments).lastPathComponent
                }
                log("saved \(folder ?? TrainerCheckpoint.folderName(step: step))")
            }
        }
        // A run shorter than `maximumSkippedSteps` whose every step was skipped trained nothing:
        // that is not "done" (found by the hardening probe: lora_alpha 1e308 ended with exit 0).
        if step > firstStep && consecutiveSkippedSteps >= step - firstStep {
            throw TrainingError.nonFiniteWeights(reason: "every step of this run (\(step - firstStep)) had a non-finite loss or gradient; "
                + "nothing was learned (likely causes: learning_rate \(configuration.learningRate), temperature "
                + "\(configuration.temperature), lora_alpha, or damaged weights). The saved checkpoint holds the unchanged weights.")
        }
    }
}

