import FoundationEssentials

/// Writes model weights into a folder the way transformers' `save_pretrained` does: one
/// `model.safetensors`, or shards `model-0000i-of-0000n.safetensors` plus
/// `model.safetensors.index.json` when a shard size limit splits them.
public enum CheckpointWriter {
    /// Writes `tensors` into `folder` (created if needed). With `maxShardBytes`, tensors are
    /// packed into shards in the given order, a new shard starting whenever the next tensor
    /// would pass the limit; a tensor larger than the limit gets a shard of its own. Weight
    /// files of an earlier save that the new one does not use are removed afterwards.
    public static func write(
        _ tensors: [(name: String, tensor: SafetensorsTensor)],
        to folder: URL,
        maxShardBytes: Int? = nil,
        metadata: [String: String] = SafetensorsWriter.transformersMetadata
    ) throws(CheckpointError) {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(file: folder.path, reason: "cannot create the folder: \(fileErrorText(error))")
        }
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted {
            throw .duplicateTensorName(file: folder.path, tensor: name)
        }
        let shards = maxShardBytes.map { shard(tensors, limit: $0) } ?? [tensors]
        var written: Set<String>
        if shards.count <= 1 {
            let name = "model.safetensors"
            try SafetensorsWriter.write(tensors, metadata: metadata, to: folder.appendingPathComponent(name))
            written = [name]
        } else {
            var weightMap: [String: String] = [:]
            written = [ShardIndex.fileName]
            for (number, shard) in shards.enumerated() {
                let name = shardFileName(number + 1, of: shards.count)
                try SafetensorsWriter.write(shard, metadata: metadata, to: folder.appendingPathComponent(name))
                for (tensor, _) in shard { weightMap[tensor] = name }
                written.insert(name)
            }
            let index = ShardIndex(weightMap: weightMap,
                                   totalSize: tensors.reduce(0) { $0 + $1.tensor.byteCount },
                                   totalParameters: tensors.reduce(0) { $0 + $1.tensor.elementCount })
            let file = try AtomicFileWriter(destination: folder.appendingPathComponent(ShardIndex.fileName))
            try file.append(Array(index.jsonData()))
            try file.commit()
        }
        removeStaleWeightFiles(in: folder, keeping: written)
    }

    /// `model-00002-of-00008.safetensors` style names.
    static func shardFileName(_ number: Int, of count: Int) -> String {
        func padded(_ value: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        }
        return "model-\(padded(number))-of-\(padded(count)).safetensors"
    }

    /// Greedy packing in the given order.
    private static func shard(_ tensors: [(name: String, tensor: SafetensorsTensor)], limit: Int) -> [[(name: String, tensor: SafetensorsTensor)]] {
        var shards: [[(name: String, tensor: SafetensorsTensor)]] = []
        var current: [(name: String, tensor: SafetensorsTensor)] = []
        var currentBytes = 0
        for entry in tensors {
            let size = entry.tensor.byteCount
            if size > limit {
                shards.append([entry])
                continue
            }
            if currentBytes + size > limit, !current.isEmpty {
                shards.append(current)
                current = []
                currentBytes = 0
            }
            current.append(entry)
            currentBytes += size
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        return shards
    }

    /// Removes `model.safetensors`, the index and `model-*-of-*.safetensors` files not in `keep`,
    /// so that a reader never mixes an old save with the new one.
    private static func removeStaleWeightFiles(in folder: URL, keeping keep: Set<String>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where !keep.contains(name) {
            let isWeightFile = name == "model.safetensors" || name == ShardIndex.fileName
                || (name.hasPrefix("model-") && name.hasSuffix(".safetensors") && name.contains("-of-"))
            if isWeightFile {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }
}
