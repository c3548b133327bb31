import FoundationEssentials
import RLReasoning

/// A terminal progress line with ETA: rewritten in place (`\r`) on a terminal, printed as plain
/// lines every few percent (or every 30 s) otherwise.
public final class ProgressBar {
    public let total: Int
    public let isTerminal: Bool
    private let write: (String) -> Void
    private let started = ContinuousClock.now
    private var lastPrinted: ContinuousClock.Instant?
    private var lastPercent = -1
    private var lastWidth = 0

    public init(total: Int, isTerminal: Bool, write: @escaping (String) -> Void) {
        self.total = total
        self.isTerminal = isTerminal
        self.write = write
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(r))" : "\(two(m)):\(two(r))"
    }

    /// The line for `done` of `total` after `elapsed` seconds.
    public static func line(done: Int, total: Int, elapsed: Double, label: String, width: Int = 30) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : .nan
        return "[\(bar)] \(done)/\(total) \(Int(fraction * 100))% elapsed \(clock(elapsed)) ETA \(clock(eta)) \(label)"
    }

    /// Reports progress; on a non-terminal only every 5 % or 30 s, and at the end.
    public func update(done: Int, label: String) {
        let now = ContinuousClock.now
        let elapsed = Double((now - started).components.seconds) + Double((now - started).components.attoseconds) * 1e-18
        let text = Self.line(done: done, total: total, elapsed: elapsed, label: label)
        if isTerminal {
            let padding = String(repeating: " ", count: max(0, lastWidth - text.count))
            write("\r" + text + padding)
            lastWidth = text.count
        } else {
            let percent = total > 0 ? done * 100 / total : 100
            let due = lastPrinted.map { now - $0 >= .seconds(30) } ?? true
            if percent / 5 != lastPercent / 5 || due || done == total {
                write(text + "\n")
                lastPercent = percent
                lastPrinted = now
            }
        }
    }

    /// Ends the line on a terminal.
    public func finish() {
        if isTerminal { write("\n") }
    }
}
