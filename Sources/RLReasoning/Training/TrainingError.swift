/// Errors of a training or evaluation run; each says what was wrong and what to do.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidSetting(key: String, reason: String)
    /// Bad input to a function (e.g. `grpoLoss`): the argument's name and what is allowed.
    case invalidArgument(name: String, reason: String)
    case datasetRow(file: String, line: Int, reason: String)
    /// No row could be used; `reason` says why (no files, empty files, every row skipped and the first reason).
    case emptyDataset(file: String, reason: String)
    case noChatTemplate(model: String)
    case checkpoint(path: String, reason: String)
    /// The weights are not finite (from the start, or the run stopped before saving them).
    case nonFiniteWeights(reason: String)
    /// Another run holds the output folder.
    case outputInUse(path: String)
    /// A new run into a folder an earlier run wrote to, without `overwriteOutputDir` or resuming.
    case outputNotEmpty(path: String, contents: [String])
    /// `--resume` from a checkpoint whose `RunManifest` differs from this run's in `keys`
    /// (`differences` says how, e.g. `learning_rate 0.001 -> 0.002`).
    case resumeMismatch(path: String, differences: String, keys: [String])
    /// The run's planned peak memory exceeds what the machine has; `plan` is `MemoryPlan.table()`.
    case insufficientMemory(plan: String)

    public var description: String {
        switch self {
        case let .invalidSetting(key, reason): return "setting '\(key)': \(reason)"
        case let .invalidArgument(name, reason): return "\(name): \(reason)"
        case let .datasetRow(file, line, reason): return "\(file):\(line): \(reason)"
        case let .emptyDataset(file, reason): return "\(file): no usable rows: \(reason)"
        case let .noChatTemplate(model): return "\(model): the tokenizer has no chat_template; add one to tokenizer_config.json"
        case let .checkpoint(path, reason): return "\(path): \(reason)"
        case let .nonFiniteWeights(reason): return reason
        case let .outputInUse(path): return "\(path): another run is writing to this folder; wait for it or choose another --output"
        case let .outputNotEmpty(path, contents):
            return "\(path): holds an earlier run (\(contents.joined(separator: ", "))); pass --resume to continue it or "
                + "--overwrite_output_dir true to replace it"
        case let .resumeMismatch(path, differences, keys):
            return "\(path): made by a run with other settings or inputs (\(differences)); resume with the same ones, "
                + "allow the change with --resume-allow-changes \(keys.joined(separator: ",")) if it is deliberate, or use a new --output"
        case let .insufficientMemory(plan):
            return "this run would not fit in memory; lower per_device_train_batch_size or max_completion_length, "
                + "turn on gradient_checkpointing or use_peft, or set memory_check false to try anyway\n" + plan
        }
    }
}
