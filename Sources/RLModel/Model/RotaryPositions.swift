import RLTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The token positions of one forward pass, ready for the rotary embedding: the i32 positions
/// the fused RoPE kernel takes, and for a scaled RoPE (`linear`, `llama3`) the cosine and sine
/// tables of the scaled frequencies, applied with differentiable elementwise ops instead.
struct RotaryPositions {
    /// `[batch, length]` i32.
    let positions: Tensor
    /// `[batch, length, 1, headDim / 2]` f32, for a scaled RoPE only.
    private let tables: (cos: Tensor, sin: Tensor)?
    /// The scaled RoPE's inverse frequencies (nil for plain RoPE).
    private let frequencies: [Double]?
    private let theta: Float

    init(_ host: [Int32], batch: Int, length: Int, config: ModelConfig, device: Device) {
        positions = Tensor(host, shape: [batch, length], device: device)
        theta = Float(config.ropeTheta)
        let frequencies = config.ropeScaling?.inverseFrequencies(theta: config.ropeTheta, headDim: config.headDim)
        self.frequencies = frequencies
        tables = frequencies.map { frequencies in
            let (cosines, sines) = RotaryPositions.cosinesAndSines(host, frequencies)
            return (Tensor(cosines, shape: [batch, length, 1, frequencies.count], device: device),
                    Tensor(sines, shape: [batch, length, 1, frequencies.count], device: device))
        }
    }

    /// Positions read from `positions` (`[batch, length]` i32, written in place by its owner),
    /// with tables that keep their memory and are written by `overwriteTables`.
    init(staged positions: Tensor, config: ModelConfig, device: Device) {
        self.positions = positions
        theta = Float(config.ropeTheta)
        let frequencies = config.ropeScaling?.inverseFrequencies(theta: config.ropeTheta, headDim: config.headDim)
        self.frequencies = frequencies
        tables = frequencies.map { frequencies in
            let shape = positions.shape + [1, frequencies.count]
            return (Tensor.zeros(shape, device: device), Tensor.zeros(shape, device: device))
        }
    }

    /// Rewrites the cosine and sine tables (a scaled RoPE's) in place for `host` positions.
    func overwriteTables(positions host: [Int32]) {
        guard let tables, let frequencies else { return }
        let (cosines, sines) = RotaryPositions.cosinesAndSines(host, frequencies)
        tables.cos.overwrite(with: cosines)
        tables.sin.overwrite(with: sines)
    }

    /// `cos` and `sin` of every position times every frequency, position-major.
    private static func cosinesAndSines(_ host: [Int32], _ frequencies: [Double]) -> (cos: [Float], sin: [Float]) {
        let half = frequencies.count
        var cosines = [Float](repeating: 0, count: host.count * half), sines = cosines
        for (index, position) in host.enumerated() {
            for (i, frequency) in frequencies.enumerated() {
                let angle = Double(position) * frequency
                cosines[index * half + i] = Float(cos(angle))
                sines[index * half + i] = Float(sin(angle))
            }
        }
        return (cosines, sines)
    }

    /// RoPE (rotate-half convention) of `[batch, length, heads, headDim]`; bf16 activations are
    /// rotated in f32 and rounded back.
    func apply(_ x: Tensor) -> Tensor {
        guard let (cos, sin) = tables else { return x.rotaryEmbedding(positions: positions, theta: theta) }
        if x.dtype == .bf16 { return apply(x.cast(to: .f32)).cast(to: .bf16) }
        let half = x.shape[3] / 2
        let first = x.sliced(axis: 3, 0..<half), second = x.sliced(axis: 3, half..<(2 * half))
        return Tensor.concat([first * cos - second * sin, second * cos + first * sin], axis: 3)
    }
}
