import RLReasoning

/// The one-line progress report of a step.
public enum ProgressLine {
    public static func text(_ m: StepMetrics, total: Int, eta: Double) -> String {
        func f(_ v: Double, _ digits: Int) -> String {
            let scale = Double(Int(pow10(digits)))
            return "\((v * scale).rounded() / scale)"
        }
        let accuracy = m.accuracy.map { " | accuracy \(f($0, 3))" } ?? ""
        let skipped = m.skipped ? " | SKIPPED (non-finite)" : ""
        // Several ranks: the whole job's rate and each rank's share.
        let rate = m.worldSize > 1 ? "\(Int(m.tokensPerSecond)) tok/s (\(m.worldSize) ranks, \(Int(m.tokensPerSecond / Double(m.worldSize))) each)"
            : "\(Int(m.tokensPerSecond)) tok/s"
        return "step \(m.step)/\(total) | reward \(f(m.reward, 3)) ± \(f(m.rewardStd, 3))\(accuracy) | kl \(f(m.kl, 5))"
            + " | length \(f(m.completionLength, 1)) | \(rate) | gen \(f(m.generationSeconds, 1))s"
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
