@testable import RLApp
@testable import RLReasoning
import Testing

@Suite("Training report")
struct TrainingReportTests {
    func metrics(step: Int, reward: Double, learningRate: Double) -> StepMetrics {
        StepMetrics(step: step, epoch: 0, loss: 0.1, gradNorm: 1, learningRate: learningRate, reward: reward, rewardStd: 0.2,
                    rewards: ["accuracy": reward], kl: 0.01, clipRatio: 0, completionLength: 12, truncatedFraction: 0,
                    generationSeconds: 1, trainingSeconds: 1, tokensPerSecond: 10, skipped: false, unparseableGolds: 0)
    }

    @Test("one chart per logged curve, the last step summarised, completions escaped")
    func page() {
        let history = (1...5).map { metrics(step: $0, reward: Double($0) / 10, learningRate: 2e-4) }
        let html = TrainingReport.html(title: "run <1>", metrics: history,
                                       samples: [.init(step: 5, prompt: "What is 1 < 2?", completion: "<think>\nyes</think>", reward: 1)])
        let names = ["reward", "reward_std", "rewards/accuracy/mean", "frac_reward_zero_std", "kl", "entropy", "loss", "grad_norm",
                     "learning_rate", "clip_ratio", "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean",
                     "completion_length", "completions/mean_length", "completions/min_length", "completions/max_length",
                     "completions/mean_terminated_length", "completions/clipped_ratio", "num_tokens", "generation_seconds",
                     "training_seconds", "tokens_per_second", "dynamic_sampling/dropped_groups"]
        for name in names {
            #expect(html.contains("<figcaption>\(name)</figcaption>"), "no chart for \(name)")
        }
        // rewards/accuracy/std has no values here (NaN): an empty chart, no line.
        #expect(html.components(separatedBy: "<polyline").count - 1 == names.count)
        #expect(html.contains("step 5: reward 0.5"))
        #expect(html.contains("run &lt;1&gt;"))
        #expect(html.contains("What is 1 &lt; 2?"))
        #expect(html.contains("&lt;think&gt;"))
        #expect(!html.contains("<think>"))
        // A constant learning rate gets an axis around its value, not around 0.
        #expect(html.contains(">2.2e-4<") && html.contains(">1.8e-4<"))
    }

    @Test("a series kept at 0 by a setting says so instead of drawing a flat line")
    func zeroByConfiguration() {
        var configuration = GRPOConfiguration()
        configuration.beta = 0
        configuration.lossType = .cispo
        let zero = TrainingReport.zeroSeries(configuration: configuration)
        #expect(zero["kl"] != nil && zero["clip_ratio/high_mean"] != nil && zero["dynamic_sampling/dropped_groups"] != nil)
        let history = (1...3).map { step -> StepMetrics in
            var m = metrics(step: step, reward: 0.5, learningRate: 1e-4)
            m.kl = 0
            return m
        }
        let html = TrainingReport.html(title: "run", metrics: history, samples: [], zeroByConfiguration: zero)
        #expect(html.contains("0 by configuration: beta is 0 (no reference model)"))
        #expect(html.contains("0 by configuration: loss_type cispo does not clip"))
        // A series that is not 0 is drawn even when a reason is given.
        var moved = history
        moved[2].kl = 0.2
        #expect(!TrainingReport.html(title: "run", metrics: moved, samples: [], zeroByConfiguration: zero).contains("beta is 0"))
    }
}
