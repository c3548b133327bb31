/// Errors of a training or evaluation run; each says what was wrong and what to do.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidSetting(key: String, reason: String)
    case datasetRow(file: String, line: Int, reason: String)
    case emptyDataset(file: String)
    case noChatTemplate(model: String)
    case checkpoint(path: String, reason: String)
    /// The weights are not finite (from the start, or the run stopped before saving them).
    case nonFiniteWeights(reason: String)

    public var description: String {
        switch self {
        case let .invalidSetting(key, reason): return "setting '\(key)': \(reason)"
        case let .datasetRow(file, line, reason): return "\(file):\(line): \(reason)"
        case let .emptyDataset(file): return "\(file): no usable rows"
        case let .noChatTemplate(model): return "\(model): the tokenizer has no chat_template; add one to tokenizer_config.json"
        case let .checkpoint(path, reason): return "\(path): \(reason)"
        case let .nonFiniteWeights(reason): return reason
        }
    }
}
