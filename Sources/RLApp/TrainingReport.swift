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
    /// The page for `metrics` (in step order) and the most recent `samples`.
    public static func html(title: String, metrics: [StepMetrics], samples: [CompletionSample]) -> String {
        var series: [(String, [Double])] = [
            ("reward", metrics.map(\.reward)),
            ("reward_std", metrics.map(\.rewardStd)),
        ]
        let rewardNames = Set(metrics.flatMap { $0.rewards.keys }).sorted()
        for name in rewardNames { series.append(("rewards/\(name)", metrics.map { $0.rewards[name] ?? .nan })) }
        series += [
            ("kl", metrics.map(\.kl)),
            ("completion_length", metrics.map(\.completionLength)),
            ("loss", metrics.map(\.loss)),
            ("grad_norm", metrics.map(\.gradNorm)),
            ("learning_rate", metrics.map(\.learningRate)),
            ("clip_ratio", metrics.map(\.clipRatio)),
        ]
        let steps = metrics.map { Double($0.step) }
        let charts = series.map { chart(name: $0.0, x: steps, y: $0.1) }.joined(separator: "\n")
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
        pre{white-space:pre-wrap;max-width:520px;margin:0}</style></head>
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
        if maxY - minY <= Swift.abs(maxY) * 1e-9 {
            // A flat line: give the axis a tenth of the value on each side (or ±1 around 0).
            let pad = maxY == 0 ? 1 : Swift.abs(maxY) * 0.1
            minY -= pad
            maxY += pad
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
