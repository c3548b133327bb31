import ArgumentParser
import RLReasoning
import RLTensor

/// `--backend`: `cpu`, `cuda` (GPU 0) or `cuda:N`. Anything else is a parse error naming the
/// allowed spellings, before any work starts.
public struct BackendChoice: ExpressibleByArgument, Sendable, CustomStringConvertible {
    /// nil for the CPU, else the CUDA device ordinal.
    public let cudaOrdinal: Int?

    public init?(argument: String) {
        switch argument.lowercased() {
        case "cpu": cudaOrdinal = nil
        case "cuda", "gpu": cudaOrdinal = 0
        case let other where other.hasPrefix("cuda:"):
            guard let ordinal = Int(other.dropFirst(5)), ordinal >= 0 else { return nil }
            cudaOrdinal = ordinal
        default: return nil
        }
    }

    public static let cpu = BackendChoice(cudaOrdinal: nil)

    private init(cudaOrdinal: Int?) { self.cudaOrdinal = cudaOrdinal }

    public var description: String { cudaOrdinal.map { $0 == 0 ? "cuda" : "cuda:\($0)" } ?? "cpu" }
    public var defaultValueDescription: String { description }
    public static var allValueStrings: [String] { ["cpu", "cuda", "cuda:N"] }

    /// The device; for CUDA this starts its backend and throws why it cannot be used.
    public func device() throws -> Device { try Device.named(description) }
}

/// `--weight-type`: how weight matrices are stored for inference.
public enum WeightTypeChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case bf16, f32

    public var dtype: DType { self == .bf16 ? .bf16 : .f32 }
}

extension EvaluationPromptStyle: ExpressibleByArgument {}
extension PromptDataset.MalformedRowPolicy: ExpressibleByArgument {}
