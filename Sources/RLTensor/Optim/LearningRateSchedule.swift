#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Learning-rate multipliers by optimizer step (0-based, one per update), as Hugging Face
/// transformers computes them.
public enum LearningRateSchedule: Sendable, Equatable {
    /// Always 1.
    case constant
    /// `step / warmup` during warmup, then 1.
    case constantWithWarmup(warmupSteps: Int)
    /// Linear warmup, then linear decay to 0 at `totalSteps`.
    case linear(warmupSteps: Int, totalSteps: Int)
    /// Linear warmup, then half a cosine down to 0 at `totalSteps`.
    case cosine(warmupSteps: Int, totalSteps: Int)
    /// Linear warmup, then half a cosine from 1 down to `minLRRate` (transformers'
    /// `cosine_with_min_lr`, the Open-RS schedule). The first update uses a multiplier of 0.
    case cosineWithMinLR(warmupSteps: Int, totalSteps: Int, minLRRate: Double)

    /// The multiplier applied to the peak learning rate at `step`.
    public func multiplier(atStep step: Int) -> Double {
        func warmup(_ w: Int) -> Double? { step < w ? Double(step) / Double(Swift.max(1, w)) : nil }
        func progress(_ w: Int, _ total: Int) -> Double { Double(step - w) / Double(Swift.max(1, total - w)) }
        switch self {
        case .constant:
            return 1
        case .constantWithWarmup(let w):
            return warmup(w) ?? 1
        case .linear(let w, let total):
            if let m = warmup(w) { return m }
            return Swift.max(0, Double(total - step) / Double(Swift.max(1, total - w)))
        case .cosine(let w, let total):
            if let m = warmup(w) { return m }
            return Swift.max(0, 0.5 * (1 + cos(Double.pi * progress(w, total))))
        case .cosineWithMinLR(let w, let total, let minRate):
            if let m = warmup(w) { return m }
            let factor = 0.5 * (1 + cos(Double.pi * progress(w, total)))
            return factor * (1 - minRate) + minRate
        }
    }

    /// Warmup steps as transformers derives them from a ratio: `ceil(ratio * totalSteps)`.
    public static func warmupSteps(ratio: Double, totalSteps: Int) -> Int {
        Int((ratio * Double(totalSteps)).rounded(.up))
    }
}
