/// Why a model folder could not be turned into a `DecoderModel`.
public enum ModelLoadError: Error, CustomStringConvertible, Sendable {
    /// The checkpoint's tensors do not match what the config describes.
    case weightsDoNotMatch(folder: String, report: WeightNameReport)
    /// A tensor is stored in a type the model cannot use.
    case unsupportedTensorType(folder: String, tensor: String, dtype: String)

    public var description: String {
        switch self {
        case let .weightsDoNotMatch(folder, report):
            return "\(folder): the checkpoint does not match config.json: \(report)"
        case let .unsupportedTensorType(folder, tensor, dtype):
            return "\(folder): tensor \(tensor) is stored as \(dtype); expected F32, BF16 or F16"
        }
    }
}
