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
        for name in ["reward", "reward_std", "rewards/accuracy", "kl", "completion_length", "loss", "grad_norm", "learning_rate", "clip_ratio"] {
            #expect(html.contains("<figcaption>\(name)</figcaption>"), "no chart for \(name)")
        }
        #expect(html.components(separatedBy: "<polyline").count - 1 == 9)
        #expect(html.contains("step 5: reward 0.5"))
        #expect(html.contains("run &lt;1&gt;"))
        #expect(html.contains("What is 1 &lt; 2?"))
        #expect(html.contains("&lt;think&gt;"))
        #expect(!html.contains("<think>"))
        // A constant learning rate gets an axis around its value, not around 0.
        #expect(html.contains(">2.2e-4<") && html.contains(">1.8e-4<"))
    }
}
