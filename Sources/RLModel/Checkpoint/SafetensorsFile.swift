import FoundationEssentials

/// A safetensors file opened for reading: memory-mapped, header validated, tensors handed out
/// as views without copying.
public struct SafetensorsFile: Sendable {
    /// The file's path.
    public let path: String
    /// The `__metadata__` map, if the file has one (transformers writes `{"format": "pt"}`).
    public let metadata: [String: String]?
    private let file: MappedFile
    private let header: SafetensorsHeader

    /// Maps the file at `url` and validates its whole header.
    public init(contentsOf url: URL) throws(CheckpointError) {
        path = url.path
        file = try MappedFile(path: path)
        header = try SafetensorsHeader(file: file.bytes, path: path)
        metadata = header.metadata
    }

    /// Names of all tensors, sorted.
    public var tensorNames: [String] { header.entries.keys.sorted() }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { header.entries[name] != nil }

    /// Shape of tensor `name`, without touching its data.
    public func shape(of name: String) -> [Int]? { header.entries[name]?.shape }

    /// The tensor named `name`, as a view into the mapped file.
    public func tensor(named name: String) throws(CheckpointError) -> SafetensorsTensor {
        guard let entry = header.entries[name] else { throw .tensorNotFound(file: path, tensor: name) }
        let start = header.dataStart + entry.range.lowerBound
        return SafetensorsTensor(mapped: file, range: start ..< start + entry.range.count,
                                 dtype: entry.dtype, shape: entry.shape)
    }
}
