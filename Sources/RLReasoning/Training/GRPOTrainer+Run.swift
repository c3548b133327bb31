import FoundationEssentials

extension GRPOTrainer {
    /// Trains until `maxSteps`, writing to `output`: `metrics.jsonl` (one line per step),
    /// `completions.jsonl` (sample completions), `report.html` (curves, rewritten every step) and
    /// `checkpoint-<step>` folders every `saveSteps` and at the end.
    ///
    /// With `resume`, training continues from the newest complete checkpoint in `output` (a
    /// partial one from a killed save is discarded) and produces the same steps an uninterrupted
    /// run with the same seed would. `stopAfterStep` ends the call early (the schedule still
    /// spans `maxSteps`), e.g. to train in stages.
    public func train(output: URL, resume: Bool = false, stopAfterStep: Int? = nil) throws {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        TrainerCheckpoint.removePartials(in: output)
        let metricsLog = MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
        let completionsURL = output.appendingPathComponent("completions.jsonl")
        let encoder = MetricsLog.encoder
        var samples: [TrainingReport.Sample] = []
        if resume, let last = TrainerCheckpoint.complete(in: output).last {
            try TrainerCheckpoint.restore(self, from: last.url)
            try metricsLog.truncate(after: step)
            // Completions of steps after the checkpoint will be generated again.
            let kept = CompletionLogLine.read(completionsURL).filter { $0.step <= step }
            var data = Data()
            for line in kept { data.append(try encoder.encode(line)); data.append(UInt8(ascii: "\n")) }
            try data.write(to: completionsURL, options: .atomic)
            samples = kept.map { TrainingReport.Sample(step: $0.step, prompt: $0.prompt, completion: $0.completion, reward: $0.reward) }
            log("resumed from \(last.url.lastPathComponent) (step \(step) of \(configuration.maxSteps))")
        } else {
            if resume { log("no checkpoint in \(output.path); starting from step 0") }
            try? FileManager.default.removeItem(at: metricsLog.url)
            try? FileManager.default.removeItem(at: completionsURL)
        }
        var history = metricsLog.read()
        let started = monotonicSeconds()
        let firstStep = step
        let previous = onStep
        onStep = { [unowned self] metrics, stepSamples in
            previous?(metrics, stepSamples)
            history.append(metrics)
            do {
                try metricsLog.append(metrics)
                if configuration.logCompletions {
                    for s in stepSamples {
                        samples.append(TrainingReport.Sample(step: metrics.step, prompt: s.prompt, completion: s.completion, reward: s.reward))
                        let line = CompletionLogLine(step: metrics.step, prompt: s.prompt, completion: s.completion, reward: s.reward)
                        try appendLine(try encoder.encode(line), to: completionsURL)
                    }
                }
                try TrainingReport.write(TrainingReport.html(title: "GRPO run: \(output.lastPathComponent)", metrics: history, samples: samples),
                                         to: output.appendingPathComponent("report.html"))
            } catch {
                log("warning: could not write run files: \(error)")
            }
            let elapsed = monotonicSeconds() - started
            let done = metrics.step - firstStep
            let eta = done > 0 ? elapsed / Double(done) * Double(configuration.maxSteps - metrics.step) : 0
            log(ProgressLine.text(metrics, total: configuration.maxSteps, eta: eta))
        }
        defer { onStep = previous }
        let lastStep = Swift.min(configuration.maxSteps, stopAfterStep ?? configuration.maxSteps)
        while step < lastStep {
            try trainStep()
            if step % configuration.saveSteps == 0 || step == lastStep {
                let folder = try TrainerCheckpoint.save(trainer: self, to: output, keepLast: configuration.saveTotalLimit)
                log("saved \(folder.lastPathComponent)")
            }
        }
    }
}

/// One line of `completions.jsonl`.
struct CompletionLogLine: Codable {
    var step: Int
    var prompt: String
    var completion: String
    var reward: Float

    /// The lines of the file at `url` (none if it is missing).
    static func read(_ url: URL) -> [CompletionLogLine] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(CompletionLogLine.self, from: Data($0)) }
    }
}

/// The one-line progress report of a step.
public enum ProgressLine {
    public static func text(_ m: StepMetrics, total: Int, eta: Double) -> String {
        func f(_ v: Double, _ digits: Int) -> String {
            let scale = Double(Int(pow10(digits)))
            return "\((v * scale).rounded() / scale)"
        }
        let accuracy = m.accuracy.map { " | accuracy \(f($0, 3))" } ?? ""
        let skipped = m.skipped ? " | SKIPPED (non-finite)" : ""
        return "step \(m.step)/\(total) | reward \(f(m.reward, 3)) ± \(f(m.rewardStd, 3))\(accuracy) | kl \(f(m.kl, 5))"
            + " | length \(f(m.completionLength, 1)) | \(Int(m.tokensPerSecond)) tok/s | gen \(f(m.generationSeconds, 1))s"
            + " train \(f(m.trainingSeconds, 1))s | ETA \(duration(eta))\(skipped)"
    }

    static func pow10(_ digits: Int) -> Int { (0..<digits).reduce(1) { r, _ in r * 10 } }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format2: (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format2: s % 60))s" }
        return "\(s)s"
    }
}

extension String {
    /// A two-digit, zero-padded number.
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
}
