import FoundationEssentials

/// The `model.safetensors.index.json` of a sharded checkpoint: which shard file holds each tensor.
struct ShardIndex: Equatable, Sendable {
    /// The file name transformers gives the index.
    static let fileName = "model.safetensors.index.json"

    /// Tensor name → shard file name (a plain name in the index's folder).
    var weightMap: [String: String]
    /// `metadata.total_size`: bytes of tensor data over all shards, if recorded.
    var totalSize: Int?
    /// `metadata.total_parameters`: elements over all shards, if recorded (transformers 5).
    var totalParameters: Int?

    init(weightMap: [String: String], totalSize: Int?, totalParameters: Int?) {
        self.weightMap = weightMap
        self.totalSize = totalSize
        self.totalParameters = totalParameters
    }

    /// Reads and validates the index at `url`: valid JSON, and every shard a plain file name.
    init(contentsOf url: URL) throws(CheckpointError) {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: path, reason: fileErrorText(error)) }
        let raw: RawIndex
        do {
            raw = try JSONDecoder().decode(RawIndex.self, from: data)
        } catch {
            throw .invalidIndex(file: path, reason: "expected {\"metadata\": {...}, \"weight_map\": {tensor: shard}} (\(error))")
        }
        for (tensor, shard) in raw.weightMap where shard.isEmpty || shard.contains("/") || shard == ".." || shard == "." {
            throw .invalidIndex(file: path, reason: "tensor '\(tensor)' maps to '\(shard)', which is not a file name in the index's folder")
        }
        self.init(weightMap: raw.weightMap, totalSize: raw.metadata?.totalSize, totalParameters: raw.metadata?.totalParameters)
    }

    /// The shard file names, sorted.
    var shardNames: [String] { Set(weightMap.values).sorted() }

    /// The index as transformers writes it: sorted keys, two-space indent, final newline.
    func jsonData() -> Data {
        var metadata: [String] = []
        if let totalParameters { metadata.append("    \"total_parameters\": \(totalParameters)") }
        if let totalSize { metadata.append("    \"total_size\": \(totalSize)") }
        let entries = weightMap.keys.sorted().map { "    \(JSONText.quoted($0)): \(JSONText.quoted(weightMap[$0]!))" }
        let text = "{\n  \"metadata\": {\n" + metadata.joined(separator: ",\n") + "\n  },\n  \"weight_map\": {\n"
            + entries.joined(separator: ",\n") + "\n  }\n}\n"
        return Data(text.utf8)
    }
}

private struct RawIndex: Decodable {
    struct Metadata: Decodable {
        let totalSize: Int?
        let totalParameters: Int?
        enum CodingKeys: String, CodingKey {
            case totalSize = "total_size"
            case totalParameters = "total_parameters"
        }
    }

    let metadata: Metadata?
    let weightMap: [String: String]

    enum CodingKeys: String, CodingKey {
        case metadata
        case weightMap = "weight_map"
    }
}
