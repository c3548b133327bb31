import FoundationEssentials
import RLReasoning
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A self-contained HTML page (inline SVG, no scripts or downloads) plotting a run's curves and
/// showing sample completions; rewritten after every step.
public enum TrainingReport {
    /// The page for `metrics` (in step order) and the most recent `samples`. `zeroByConfiguration`
    /// names the series that are 0 because of a setting, with the reason (see
    /// `zeroSeries(configuration:)`); such a series is shown as that sentence, not a flat line.
    public static func html(title: String, metrics: [StepMetrics], samples: [CompletionSample],
                            zeroByConfiguration: [String: String] = [:]) -> String {
        var series: [(String, [Double])] = [
            ("reward", metrics.map(\.reward)),
            ("reward_std", metrics.map(\.rewardStd)),
        ]
        let rewardNames = Set(metrics.flatMap { $0.rewards.keys }).sorted()
        for name in rewardNames { series.append(("rewards/\(name)/mean", metrics.map { $0.rewards[name] ?? .nan })) }
        for name in rewardNames { series.append(("rewards/\(name)/std", metrics.map { $0.rewardStds[name] ?? .nan })) }
        series += [
            ("frac_reward_zero_std", metrics.map(\.fracRewardZeroStd)),
            ("kl", metrics.map(\.kl)),
            ("entropy", metrics.map(\.entropy)),
            ("loss", metrics.map(\.loss)),
            ("grad_norm", metrics.map(\.gradNorm)),
            ("learning_rate", metrics.map(\.learningRate)),
            ("clip_ratio", metrics.map(\.clipRatio)),
            ("clip_ratio/low_mean", metrics.map(\.clipRatioLow)),
            ("clip_ratio/high_mean", metrics.map(\.clipRatioHigh)),
            ("clip_ratio/region_mean", metrics.map(\.clipRatioRegion)),
            ("completion_length", metrics.map(\.completionLength)),
            ("completions/mean_length", metrics.map(\.completionMeanLength)),
            ("completions/min_length", metrics.map(\.completionMinLength)),
            ("completions/max_length", metrics.map(\.completionMaxLength)),
            ("completions/mean_terminated_length", metrics.map(\.completionMeanTerminatedLength)),
            ("completions/clipped_ratio", metrics.map(\.truncatedFraction)),
            ("num_tokens", metrics.map { Double($0.numTokens) }),
            ("generation_seconds", metrics.map(\.generationSeconds)),
            ("training_seconds", metrics.map(\.trainingSeconds)),
            ("tokens_per_second", metrics.map(\.tokensPerSecond)),
            ("dynamic_sampling/dropped_groups", metrics.map { Double($0.droppedGroups) }),
        ]
        let steps = metrics.map { Double($0.step) }
        let charts = series.map { name, values in
            if let reason = zeroByConfiguration[name], values.allSatisfy({ $0 == 0 || !$0.isFinite }) {
                return "<figure><figcaption>\(escape(name))</figcaption><p class=\"note\">0 by configuration: \(escape(reason))</p></figure>"
            }
            return chart(name: name, x: steps, y: values)
        }.joined(separator: "\n")
        let rows = samples.suffix(8).reversed().map { s in
            "<tr><td>\(s.step)</td><td><pre>\(escape(s.prompt))</pre></td><td><pre>\(escape(s.completion))</pre></td><td>\(format(Double(s.reward)))</td></tr>"
        }.joined(separator: "\n")
        let last = metrics.last.map { "step \($0.step): reward \(format($0.reward)), kl \(format($0.kl)), completion length \(format($0.completionLength))" } ?? "no steps yet"
        return """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>body{font-family:sans-serif;margin:24px;color:#222}.charts{display:flex;flex-wrap:wrap;gap:12px}
        figure{margin:0;border:1px solid #ddd;padding:6px}figcaption{font-size:13px;font-weight:bold}
        table{border-collapse:collapse;margin-top:16px;font-size:12px}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}
        pre{white-space:pre-wrap;max-width:520px;margin:0}.note{width:300px;font-size:12px;color:#666}</style></head>
        <body><h1>\(escape(title))</h1><p>\(escape(last))</p>
        <div class="charts">
        \(charts)
        </div>
        <h2>Sample completions</h2>
        <table><tr><th>step</th><th>prompt</th><th>completion</th><th>reward</th></tr>
        \(rows)
        </table></body></html>

        """
    }

    /// The series a configuration keeps at 0, with the setting that does it.
    public static func zeroSeries(configuration c: GRPOConfiguration) -> [String: String] {
        var zero: [String: String] = [:]
        if c.beta == 0 { zero["kl"] = "beta is 0 (no reference model)" }
        if [.cispo, .sapo].contains(c.lossType) {
            for name in ["clip_ratio", "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean"] {
                zero[name] = "loss_type \(c.lossType.rawValue) does not clip"
            }
        }
        if !c.dynamicSampling { zero["dynamic_sampling/dropped_groups"] = "dynamic_sampling is off" }
        return zero
    }

    /// Writes the page atomically.
    public static func write(_ html: String, to url: URL) throws {
        try Data(html.utf8).write(to: url, options: .atomic)
    }

    static func chart(name: String, x: [Double], y: [Double]) -> String {
        let width = 300.0, height = 160.0, pad = 34.0
        let points = zip(x, y).filter { $0.1.isFinite }
        guard let minX = points.map(\.0).min(), let maxX = points.map(\.0).max(),
              var minY = points.map(\.1).min(), var maxY = points.map(\.1).max() else {
            return "<figure><figcaption>\(escape(name))</figcaption><svg width=\"\(Int(width))\" height=\"\(Int(height))\"></svg></figure>"
        }
        if maxY - minY <= Swift.abs(maxY) * 1e-6 {
            // A flat line: centre it, with a tenth of the value on each side (or ±1 around 0), and
            // label the axis with the value itself so it reads as "constant at v".
            let pad = maxY == 0 ? 1 : Swift.abs(maxY) * 0.1
            let value = maxY
            minY = value - pad
            maxY = value + pad
        }
        func px(_ v: Double) -> Double { pad + (maxX > minX ? (v - minX) / (maxX - minX) : 0.5) * (width - pad - 6) }
        func py(_ v: Double) -> Double { height - 18 - (v - minY) / (maxY - minY) * (height - 30) }
        let path = points.map { "\(format(px($0.0))),\(format(py($0.1)))" }.joined(separator: " ")
        return """
        <figure><figcaption>\(escape(name))</figcaption>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))">
        <line x1="\(pad)" y1="\(height - 18)" x2="\(width - 6)" y2="\(height - 18)" stroke="#999"/>
        <line x1="\(pad)" y1="12" x2="\(pad)" y2="\(height - 18)" stroke="#999"/>
        <text x="2" y="16" font-size="10">\(format(maxY))</text><text x="2" y="\(height - 20)" font-size="10">\(format(minY))</text>
        <text x="\(pad)" y="\(height - 4)" font-size="10">\(Int(minX))</text><text x="\(width - 30)" y="\(height - 4)" font-size="10">\(Int(maxX))</text>
        <polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="\(path)"/>
        </svg></figure>
        """
    }

    static func format(_ v: Double) -> String {
        if !v.isFinite { return "nan" }
        if v == 0 { return "0" }
        let magnitude = Swift.abs(v)
        if magnitude >= 1000 || magnitude < 0.001 {
            let exponent = Int((log10(magnitude)).rounded(.down))
            let mantissa = v / pow(10, Double(exponent))
            return "\(round3(mantissa))e\(exponent)"
        }
        return "\(round3(v))"
    }

    private static func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
