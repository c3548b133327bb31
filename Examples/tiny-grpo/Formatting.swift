import RLReasoning
#if canImport(Glibc)
import Glibc
#endif

func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

func monotonicNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

extension String {
    init(format: String, _ value: Double) {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, 64, format, $0) }
        self = String(cString: buffer)
    }

    init(format2 value: Float) { self.init(format: "%.4f", Double(value)) }

    /// The live progress line of one GRPO step.
    init(format2Line m: StepMetrics, total: Int) {
        let accuracy = m.accuracy.map { String(format: "%.2f", $0) } ?? "-"
        self = "  step \(m.step)/\(total)  reward \(String(format: "%.3f", m.reward))  std \(String(format: "%.3f", m.rewardStd))"
            + "  accuracy \(accuracy)  kl \(String(format: "%.4f", m.kl))  length \(String(format: "%.1f", m.completionLength))"
            + "  \(String(format: "%.0f", m.tokensPerSecond)) tok/s  gen \(String(format: "%.1f", m.generationSeconds))s"
            + "  train \(String(format: "%.1f", m.trainingSeconds))s"
    }
}
