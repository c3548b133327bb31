import FoundationEssentials

/// One tensor entry of a validated header: where its bytes lie in the data section.
struct SafetensorsEntry: Sendable {
    let dtype: SafetensorsDType
    let shape: [Int]
    /// Byte range relative to the start of the data section.
    let range: Range<Int>
}

/// The parsed and fully validated JSON header of a safetensors file.
struct SafetensorsHeader: Sendable {
    /// Largest header accepted, in bytes (the reference implementation uses the same bound).
    static let maxHeaderLength = 100_000_000

    let entries: [String: SafetensorsEntry]
    let metadata: [String: String]?
    /// Offset of the data section from the start of the file.
    let dataStart: Int

    /// Parses and validates the header of `file` (the whole file's bytes).
    init(file bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) {
        guard bytes.count >= 8 else { throw .fileTooSmall(file: path, size: bytes.count) }
        let length = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard length <= UInt64(Self.maxHeaderLength), Int(length) <= bytes.count - 8 else {
            throw .headerLengthInvalid(file: path, headerLength: length, fileSize: bytes.count, limit: Self.maxHeaderLength)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8 ..< 8 + Int(length)])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw .invalidHeader(file: path, reason: "does not start with '{'")
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(headerBytes))
        } catch let error as DecodingError {
            throw Self.mapDecodingError(error, path: path)
        } catch {
            throw .invalidHeader(file: path, reason: "\(error)")
        }
        dataStart = 8 + Int(length)
        metadata = raw.metadata
        entries = try Self.validate(raw.tensors, dataSize: bytes.count - dataStart, path: path)
    }

    private static func validate(_ raw: [String: RawEntry], dataSize: Int, path: String) throws(CheckpointError) -> [String: SafetensorsEntry] {
        var entries: [String: SafetensorsEntry] = [:]
        for (name, entry) in raw {
            guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
                throw .unknownDType(file: path, tensor: name, dtype: entry.dtype)
            }
            guard let count = checkedElementCount(entry.shape) else {
                throw .invalidShape(file: path, tensor: name, shape: entry.shape)
            }
            guard entry.dataOffsets.count == 2 else {
                throw .invalidHeader(file: path, reason: "tensor '\(name)': data_offsets must hold 2 integers, found \(entry.dataOffsets.count)")
            }
            let (begin, end) = (entry.dataOffsets[0], entry.dataOffsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw .offsetsOutOfBounds(file: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
            }
            let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else { throw .invalidShape(file: path, tensor: name, shape: entry.shape) }
            guard expected == end - begin else {
                throw .sizeMismatch(file: path, tensor: name, expectedBytes: expected, actualBytes: end - begin)
            }
            entries[name] = SafetensorsEntry(dtype: dtype, shape: entry.shape, range: begin ..< end)
        }
        try checkCoverage(entries, dataSize: dataSize, path: path)
        return entries
    }

    /// The tensors must tile the data section exactly: no overlaps, no holes, no trailing bytes.
    private static func checkCoverage(_ entries: [String: SafetensorsEntry], dataSize: Int, path: String) throws(CheckpointError) {
        let ordered = entries.sorted { ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key) < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key) }
        var covered = 0
        var previous: String?
        for (name, entry) in ordered {
            if entry.range.lowerBound < covered, let previous {
                throw .overlappingTensors(file: path, first: previous, second: name)
            }
            if entry.range.lowerBound > covered {
                throw .unindexedBytes(file: path, begin: covered, end: entry.range.lowerBound)
            }
            if !entry.range.isEmpty {
                covered = entry.range.upperBound
                previous = name
            }
        }
        if covered < dataSize { throw .unindexedBytes(file: path, begin: covered, end: dataSize) }
    }

    private static func mapDecodingError(_ error: DecodingError, path: String) -> CheckpointError {
        let (context, what): (DecodingError.Context, String) = switch error {
        case let .typeMismatch(type, context): (context, "expected \(type)")
        case let .valueNotFound(type, context): (context, "expected \(type), found null")
        case let .keyNotFound(key, context): (context, "missing key '\(key.stringValue)'")
        case let .dataCorrupted(context): (context, context.debugDescription)
        @unknown default: (DecodingError.Context(codingPath: [], debugDescription: ""), "\(error)")
        }
        let keys = context.codingPath.map(\.stringValue)
        if keys.first == RawHeader.metadataKey {
            return .invalidMetadata(file: path, reason: what)
        }
        if keys.isEmpty {
            return .invalidHeader(file: path, reason: "not a JSON object of tensor entries (\(what))")
        }
        return .invalidHeader(file: path, reason: "at \(keys.joined(separator: ".")): \(what)")
    }
}

/// Number of elements of `shape`, or nil when an entry is negative or the product overflows.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dim in shape {
        guard dim >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

/// The header exactly as JSON spells it, before validation.
private struct RawHeader: Decodable {
    static let metadataKey = "__metadata__"

    var tensors: [String: RawEntry] = [:]
    var metadata: [String: String]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys {
            if key.stringValue == Self.metadataKey {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                tensors[key.stringValue] = try container.decode(RawEntry.self, forKey: key)
            }
        }
    }
}

private struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

/// A coding key for JSON objects whose keys are data (tensor names).
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
