import FoundationEssentials

/// Writes safetensors files the way the reference writer does: tensors ordered by alignment
/// then name, compact JSON header padded with spaces to a multiple of 8 bytes, written
/// atomically.
public enum SafetensorsWriter {
    /// The metadata transformers' `save_pretrained` writes into every weight file.
    public static let transformersMetadata = ["format": "pt"]

    /// Writes `tensors` to `url` atomically. `metadata` becomes the header's `__metadata__`
    /// (omitted when nil).
    public static func write(
        _ tensors: [(name: String, tensor: SafetensorsTensor)],
        metadata: [String: String]? = transformersMetadata,
        to url: URL
    ) throws(CheckpointError) {
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted {
            throw .duplicateTensorName(file: url.path, tensor: name)
        }
        let ordered = tensors.sorted {
            ($0.tensor.dtype.layoutRank, $1.name) > ($1.tensor.dtype.layoutRank, $0.name)
        }
        var header = Array(headerJSON(ordered, metadata: metadata).utf8)
        while (header.count % 8) != 0 { header.append(UInt8(ascii: " ")) }
        let prefix = Swift.withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }

        let file = try AtomicFileWriter(destination: url)
        try file.append(prefix + header)
        for (_, tensor) in ordered {
            try tensor.withUnsafeBytes { (raw) throws(CheckpointError) in try file.append(raw) }
        }
        try file.commit()
    }

    /// The compact JSON header: `__metadata__` first, then the tensors in file order.
    private static func headerJSON(_ ordered: [(name: String, tensor: SafetensorsTensor)], metadata: [String: String]?) -> String {
        var parts: [String] = []
        if let metadata {
            let pairs = metadata.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in ordered {
            let end = offset + tensor.byteCount
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSONText.quoted(name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}

