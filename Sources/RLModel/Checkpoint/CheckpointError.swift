/// Everything that can go wrong reading or writing safetensors files, shard indexes and configs.
///
/// Every case names the file (or folder) involved; the description says what was wrong and,
/// where it helps, what to do.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, inspected, mapped or read.
    case unreadable(file: String, reason: String)
    /// A safetensors file shorter than its 8-byte header-length prefix.
    case fileTooSmall(file: String, size: Int)
    /// The header length prefix points past the end of the file or over the size limit.
    case headerLengthInvalid(file: String, headerLength: UInt64, fileSize: Int, limit: Int)
    /// The header is not a UTF-8 JSON object of tensor entries.
    case invalidHeader(file: String, reason: String)
    /// `__metadata__` is not a map from strings to strings.
    case invalidMetadata(file: String, reason: String)
    /// A tensor entry names a dtype this library does not know.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A shape entry is negative or the element count overflows.
    case invalidShape(file: String, tensor: String, shape: [Int])
    /// `data_offsets` are not an ordered pair inside the data section.
    case offsetsOutOfBounds(file: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// The byte range of a tensor disagrees with its shape and dtype.
    case sizeMismatch(file: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    /// Two tensors share bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// Bytes of the data section that no tensor covers (the format forbids holes).
    case unindexedBytes(file: String, begin: Int, end: Int)
    /// A tensor was asked for that the file or checkpoint does not hold.
    case tensorNotFound(file: String, tensor: String)
    /// A decoding helper was asked for a conversion the tensor's dtype does not allow.
    case unsupportedConversion(tensor: String, dtype: SafetensorsDType, target: String)
    /// An integer value does not fit the requested narrower type.
    case valueOutOfRange(tensor: String, value: Int64, target: String)
    /// A folder holds neither `model.safetensors` nor `model.safetensors.index.json`.
    case noCheckpoint(folder: String)
    /// `model.safetensors.index.json` is not a valid index.
    case invalidIndex(file: String, reason: String)
    /// The index points at a shard file that does not exist.
    case missingShard(index: String, shard: String)
    /// The index maps a tensor to a shard that does not contain it.
    case tensorMissingFromShard(index: String, tensor: String, shard: String)
    /// Two tensors with the same name were given to a writer.
    case duplicateTensorName(file: String, tensor: String)
    /// Writing, syncing or renaming failed; nothing was left at the destination.
    case writeFailed(file: String, reason: String)
    /// A config file is not JSON, misses a key, or has a key of the wrong type.
    case invalidConfig(file: String, key: String, reason: String)
    /// A config file asks for a model or setting this library does not implement.
    case unsupportedConfig(file: String, key: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the file: \(reason)"
        case let .fileTooSmall(file, size):
            return "\(file): not a safetensors file: \(size) bytes, fewer than the 8-byte header length; the file is truncated"
        case let .headerLengthInvalid(file, length, size, limit):
            return "\(file): header length \(length) does not fit the file (\(size) bytes) or exceeds the \(limit)-byte limit; the file is truncated or not safetensors"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidMetadata(file, reason):
            return "\(file): invalid __metadata__: \(reason); it must map strings to strings"
        case let .unknownDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)'; supported: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .invalidShape(file, tensor, shape):
            return "\(file): tensor '\(tensor)' has invalid shape \(shape): entries must be non-negative and their product must fit in memory"
        case let .offsetsOutOfBounds(file, tensor, begin, end, dataSize):
            return "\(file): tensor '\(tensor)' has data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section; the file is truncated or corrupt"
        case let .sizeMismatch(file, tensor, expected, actual):
            return "\(file): tensor '\(tensor)' covers \(actual) bytes but its shape and dtype need \(expected)"
        case let .overlappingTensors(file, first, second):
            return "\(file): tensors '\(first)' and '\(second)' overlap"
        case let .unindexedBytes(file, begin, end):
            return "\(file): data bytes [\(begin), \(end)) belong to no tensor; the file is corrupt or has trailing data"
        case let .tensorNotFound(file, tensor):
            return "\(file): no tensor named '\(tensor)'"
        case let .unsupportedConversion(tensor, dtype, target):
            return "tensor '\(tensor)': cannot decode \(dtype.rawValue) as \(target)"
        case let .valueOutOfRange(tensor, value, target):
            return "tensor '\(tensor)': value \(value) does not fit \(target)"
        case let .noCheckpoint(folder):
            return "\(folder): no model.safetensors or model.safetensors.index.json; point at a Hugging Face model folder"
        case let .invalidIndex(file, reason):
            return "\(file): invalid shard index: \(reason)"
        case let .missingShard(index, shard):
            return "\(index): shard '\(shard)' does not exist; the download is incomplete"
        case let .tensorMissingFromShard(index, tensor, shard):
            return "\(index): tensor '\(tensor)' is mapped to '\(shard)', which does not contain it"
        case let .duplicateTensorName(file, tensor):
            return "\(file): tensor name '\(tensor)' given twice"
        case let .writeFailed(file, reason):
            return "\(file): write failed: \(reason); the previous file, if any, is unchanged"
        case let .invalidConfig(file, key, reason):
            return key.isEmpty ? "\(file): \(reason)" : "\(file): key '\(key)': \(reason)"
        case let .unsupportedConfig(file, key, reason):
            return "\(file): key '\(key)': unsupported: \(reason)"
        }
    }
}
