#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials

/// Reads the weights of a Hugging Face model folder, one file or many shards alike, and looks
/// tensors up by name.
///
/// Opening validates every file's header and, for shards, that each tensor the index names is
/// in its shard. Tensor data stays in the mapped files until asked for.
public struct CheckpointReader: Sendable {
    /// The file that was opened: `model.safetensors` or the shard index.
    public let source: String
    private let files: [String: SafetensorsFile]
    /// Tensor name → file name (key of `files`).
    private let location: [String: String]

    /// Opens a model folder (preferring `model.safetensors` over the index, as transformers
    /// does), a `.safetensors` file, or a `model.safetensors.index.json`.
    public init(at url: URL) throws(CheckpointError) {
        let path = url.path
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            let single = url.appendingPathComponent("model.safetensors")
            let index = url.appendingPathComponent(ShardIndex.fileName)
            if FileManager.default.fileExists(atPath: single.path) {
                try self.init(singleFile: single)
            } else if FileManager.default.fileExists(atPath: index.path) {
                try self.init(index: index)
            } else {
                throw .noCheckpoint(folder: path)
            }
        } else if url.pathExtension == "json" {
            try self.init(index: url)
        } else {
            try self.init(singleFile: url)
        }
    }

    private init(singleFile url: URL) throws(CheckpointError) {
        let file = try SafetensorsFile(contentsOf: url)
        let name = url.lastPathComponent
        source = url.path
        files = [name: file]
        location = Dictionary(uniqueKeysWithValues: file.tensorNames.map { ($0, name) })
    }

    private init(index url: URL) throws(CheckpointError) {
        let index = try ShardIndex(contentsOf: url)
        let folder = url.deletingLastPathComponent()
        var files: [String: SafetensorsFile] = [:]
        for shard in index.shardNames {
            let shardURL = folder.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: shardURL.path) else {
                throw .missingShard(index: url.path, shard: shard)
            }
            files[shard] = try SafetensorsFile(contentsOf: shardURL)
        }
        for (tensor, shard) in index.weightMap where !files[shard]!.contains(tensor) {
            throw .tensorMissingFromShard(index: url.path, tensor: tensor, shard: shard)
        }
        source = url.path
        self.files = files
        location = index.weightMap
    }

    /// Names of all tensors, sorted.
    public var tensorNames: [String] { location.keys.sorted() }

    /// Shape of every tensor, read from the headers only.
    public var shapes: [String: [Int]] {
        location.reduce(into: [:]) { result, entry in result[entry.key] = files[entry.value]!.shape(of: entry.key) }
    }

    /// Whether the checkpoint holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// The tensor named `name`, as a view into its mapped file.
    public func tensor(named name: String) throws(CheckpointError) -> SafetensorsTensor {
        guard let file = location[name] else { throw .tensorNotFound(file: source, tensor: name) }
        return try files[file]!.tensor(named: name)
    }
}
