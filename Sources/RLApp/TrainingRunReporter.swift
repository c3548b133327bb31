import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor

/// What the command-line tools show of a training run: after every step, the one-line progress
/// report (with an ETA) and `report.html` in the output folder, drawn from the run's
/// `metrics.jsonl` and `completions.jsonl` (so a resumed run's report covers the whole run).
public final class TrainingRunReporter {
    private let output: URL
    private let total: Int
    private let zeroSeries: [String: String]
    private let print: (String) -> Void
    private var history: [StepMetrics]?
    private var samples: [CompletionSample] = []
    private var started: Double?
    private var firstStep = 0

    /// Attaches to `trainer` (chaining its existing `onStep`) for a run writing to `output`;
    /// progress lines go to `print`.
    public init(trainer: GRPOTrainer, output: URL, print: @escaping (String) -> Void) {
        self.output = output
        total = trainer.configuration.maxSteps
        zeroSeries = TrainingReport.zeroSeries(configuration: trainer.configuration)
        self.print = print
        let previous = trainer.onStep
        trainer.onStep = { [self] metrics, stepSamples in
            previous?(metrics, stepSamples)
            stepFinished(metrics, stepSamples)
        }
    }

    private func stepFinished(_ metrics: StepMetrics, _ stepSamples: [CompletionSample]) {
        if history == nil {
            // First step of this invocation: the run's files already hold it and every earlier step.
            history = MetricsLog(url: output.appendingPathComponent("metrics.jsonl")).read()
            samples = CompletionSample.read(output.appendingPathComponent("completions.jsonl"))
            started = monotonicSeconds()
            firstStep = metrics.step - 1
        } else {
            history?.append(metrics)
            samples += stepSamples
        }
        do {
            try TrainingReport.write(TrainingReport.html(title: "GRPO run: \(output.lastPathComponent)", metrics: history ?? [],
                                                         samples: samples, zeroByConfiguration: zeroSeries),
                                  to: output.appendingPathComponent("report.html"))
        } catch {
            print("warning: could not write report.html: \(fileErrorText(error))")
        }
        let elapsed = started.map { monotonicSeconds() - $0 } ?? 0
        let done = metrics.step - firstStep
        let eta = done > 0 ? elapsed / Double(done) * Double(total - metrics.step) : 0
        print(ProgressLine.text(metrics, total: total, eta: eta))
    }
}
