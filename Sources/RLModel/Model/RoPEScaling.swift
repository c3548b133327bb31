import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A rotary-embedding frequency scaling, as `rope_parameters` / `rope_scaling` describe it.
public enum RoPEScaling: Equatable, Sendable {
    /// Every frequency divided by `factor` (positions stretched).
    case linear(factor: Double)
    /// Llama 3.1's scheme: low frequencies divided by `factor`, high ones kept, a smooth blend
    /// between wavelengths `originalMaxPositions / lowFrequencyFactor` and
    /// `originalMaxPositions / highFrequencyFactor`.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)

    /// The `rope_type` spelling.
    public var ropeType: String {
        switch self {
        case .linear: "linear"
        case .llama3: "llama3"
        }
    }

    /// The inverse frequencies `theta^(-2i/headDim)` for i in 0..<headDim/2, scaled.
    public func inverseFrequencies(theta: Double, headDim: Int) -> [Double] {
        let plain = (0..<(headDim / 2)).map { 1 / pow(theta, Double(2 * $0) / Double(headDim)) }
        switch self {
        case .linear(let factor):
            return plain.map { $0 / factor }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Double(original) / low, highWavelength = Double(original) / high
            return plain.map { frequency in
                let wavelength = 2 * Double.pi / frequency
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / factor }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
        }
    }

    func validate(file: String) throws(CheckpointError) {
        switch self {
        case .linear(let factor):
            guard factor > 0 else { throw .invalidConfig(file: file, key: "rope_scaling.factor", reason: "must be positive, found \(factor)") }
        case .llama3(let factor, let low, let high, let original):
            guard factor > 0, low > 0, original > 0 else {
                throw .invalidConfig(file: file, key: "rope_scaling", reason: "llama3 factor, low_freq_factor and original_max_position_embeddings must be positive")
            }
            guard high > low else {
                throw .invalidConfig(file: file, key: "rope_scaling.high_freq_factor", reason: "must exceed low_freq_factor (\(high) <= \(low))")
            }
        }
    }
}
