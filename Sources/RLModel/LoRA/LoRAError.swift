/// Why LoRA adapters could not be made, loaded, saved or attached.
public enum LoRAError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A setting is out of range (`rank` below 1, a negative `lora_alpha`, dropout outside [0, 1)).
    case invalidSetting(key: String, reason: String)
    /// A target module this library cannot adapt (it adapts the seven projections of a decoder layer).
    case unsupportedTarget(String)
    /// An `adapter_config.json` asks for something this library does not implement
    /// (DoRA, rank patterns, bias training, a non-LoRA PEFT method, ...).
    case unsupportedAdapter(folder: String, reason: String)
    /// The adapter folder lacks a file or a file cannot be parsed.
    case unreadable(path: String, reason: String)
    /// The adapter's tensors do not fit the model (missing, unexpected or mis-shaped).
    case tensorsDoNotMatch(folder: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSetting(key, reason): "LoRA setting \(key): \(reason)"
        case let .unsupportedTarget(name):
            "LoRA target module \"\(name)\" is not supported; choose among \(LoRAConfiguration.linearModules.joined(separator: ", ")) or all-linear"
        case let .unsupportedAdapter(folder, reason): "\(folder): adapter not supported: \(reason)"
        case let .unreadable(path, reason): "\(path): \(reason)"
        case let .tensorsDoNotMatch(folder, reason): "\(folder): the adapter does not fit this model: \(reason)"
        }
    }
}
