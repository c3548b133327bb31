import FoundationEssentials
import Testing

@testable import RLModel

@Suite("Checkpoints: single file and shards")
struct SafetensorsCheckpointTests {
    static let sharded = fixturesDirectory.appendingPathComponent("qwen2-tiny-tied-sharded")

    /// Parameter names in the order `Qwen2ForCausalLM.named_parameters()` yields them
    /// (tied embeddings: no lm_head).
    static func qwen2ParameterOrder(layers: Int) -> [String] {
        var names = ["model.embed_tokens.weight"]
        for layer in 0 ..< layers {
            let p = "model.layers.\(layer)."
            names += ["q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias", "o_proj.weight"]
                .map { p + "self_attn." + $0 }
            names += ["gate_proj.weight", "up_proj.weight", "down_proj.weight"].map { p + "mlp." + $0 }
            names += [p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
        }
        return names + ["model.norm.weight"]
    }

    @Test("the sharded fixture opens through its index and every tensor is found")
    func readSharded() throws {
        let checkpoint = try CheckpointReader(at: Self.sharded)
        #expect(checkpoint.source.hasSuffix(ShardIndex.fileName))
        #expect(checkpoint.tensorNames == Self.qwen2ParameterOrder(layers: 2).sorted())
        #expect(!checkpoint.contains("lm_head.weight"))
        #expect(checkpoint.shapes["model.embed_tokens.weight"] == [512, 64])
        #expect(checkpoint.shapes["model.layers.1.self_attn.k_proj.bias"] == [32])
        let index = try ShardIndex(contentsOf: Self.sharded.appendingPathComponent(ShardIndex.fileName))
        var bytes = 0, elements = 0
        for name in checkpoint.tensorNames {
            let tensor = try checkpoint.tensor(named: name)
            bytes += tensor.byteCount
            elements += tensor.elementCount
        }
        #expect(bytes == index.totalSize)
        #expect(elements == index.totalParameters)
        #expect(index.shardNames.count == 8)
    }

    @Test("a folder with model.safetensors, the file itself, and the index path all open")
    func openingForms() throws {
        let folder = try CheckpointReader(at: fixturesDirectory.appendingPathComponent("qwen2-tiny"))
        let file = try CheckpointReader(at: fixturesDirectory.appendingPathComponent("qwen2-tiny/model.safetensors"))
        #expect(folder.tensorNames == file.tensorNames)
        #expect(folder.tensorNames.count == 2 + 2 * 12 + 1)
        let index = try CheckpointReader(at: Self.sharded.appendingPathComponent(ShardIndex.fileName))
        #expect(index.tensorNames.count == 1 + 2 * 12 + 1)
        #expect(checkpointError { _ = try folder.tensor(named: "nope") } == .tensorNotFound(file: folder.source, tensor: "nope"))
    }

    @Test("writing the sharded fixture with a 60 KB limit in parameter order reproduces it byte for byte")
    func rewriteSharded() throws {
        let original = try CheckpointReader(at: Self.sharded)
        let tensors = try Self.qwen2ParameterOrder(layers: 2).map { (name: $0, tensor: try original.tensor(named: $0)) }
        let folder = try TemporaryFolder()
        // make_model_fixtures.py saved with max_shard_size="60KB" (60 000 bytes).
        try CheckpointWriter.write(tensors, to: folder.url, maxShardBytes: 60_000)
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.sharded.path)
            .filter { $0.hasSuffix(".safetensors") && $0 != "expected.safetensors" || $0 == ShardIndex.fileName }
        #expect(names.count == 9)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.url.path)) == Set(names))
        for name in names {
            #expect(try Data(contentsOf: folder.file(name)) == Data(contentsOf: Self.sharded.appendingPathComponent(name)), "\(name)")
        }
        let reread = try CheckpointReader(at: folder.url)
        for (name, tensor) in tensors {
            #expect(try reread.tensor(named: name).bytes == tensor.bytes)
        }
    }

    @Test("a save without a limit writes one model.safetensors and removes the old shards")
    func resaveUnsharded() throws {
        let original = try CheckpointReader(at: Self.sharded)
        let tensors = try original.tensorNames.map { (name: $0, tensor: try original.tensor(named: $0)) }
        let folder = try TemporaryFolder()
        try CheckpointWriter.write(tensors, to: folder.url, maxShardBytes: 60_000)
        try CheckpointWriter.write(tensors, to: folder.url)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["model.safetensors"])
        let reread = try CheckpointReader(at: folder.url)
        #expect(reread.tensorNames == original.tensorNames)
        #expect(try reread.tensor(named: "model.norm.weight").bytes == original.tensor(named: "model.norm.weight").bytes)
    }

    @Test("shard file names count from 1 with five digits")
    func shardNames() throws {
        #expect(CheckpointWriter.shardFileName(2, of: 8) == "model-00002-of-00008.safetensors")
        #expect(CheckpointWriter.shardFileName(12, of: 123_456) == "model-00012-of-123456.safetensors")
    }

    // MARK: bad input

    /// A copy of the sharded fixture in a temporary folder, with `index` as its index text.
    private func shardedCopy(index: String?, dropping dropped: String? = nil) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.sharded.path)
        where name.hasPrefix("model-") && name != dropped {
            try FileManager.default.copyItem(at: Self.sharded.appendingPathComponent(name), to: folder.file(name))
        }
        let indexText = try index ?? String(decoding: Data(contentsOf: Self.sharded.appendingPathComponent(ShardIndex.fileName)), as: UTF8.self)
        try Data(indexText.utf8).write(to: folder.file(ShardIndex.fileName))
        return folder
    }

    @Test("a missing shard")
    func missingShard() throws {
        let folder = try shardedCopy(index: nil, dropping: "model-00003-of-00008.safetensors")
        #expect(checkpointError { _ = try CheckpointReader(at: folder.url) }
            == .missingShard(index: folder.file(ShardIndex.fileName).path, shard: "model-00003-of-00008.safetensors"))
    }

    @Test("an index pointing to a tensor absent from its shard")
    func tensorAbsentFromShard() throws {
        let folder = try shardedCopy(index: #"{"metadata": {}, "weight_map": {"model.norm.weight": "model-00001-of-00008.safetensors"}}"#)
        #expect(checkpointError { _ = try CheckpointReader(at: folder.url) }
            == .tensorMissingFromShard(index: folder.file(ShardIndex.fileName).path, tensor: "model.norm.weight", shard: "model-00001-of-00008.safetensors"))
    }

    @Test("an index that is not JSON, lacks weight_map, or escapes its folder", arguments: [
        "{\"weight_map\": ", #"{"metadata": {}}"#, #"{"weight_map": {"a": 3}}"#, #"{"weight_map": {"a": "../model.safetensors"}}"#,
    ])
    func invalidIndex(_ text: String) throws {
        let folder = try shardedCopy(index: text)
        guard case .invalidIndex(let file, _) = checkpointError({ _ = try CheckpointReader(at: folder.url) }) else {
            Issue.record("expected invalidIndex")
            return
        }
        #expect(file == folder.file(ShardIndex.fileName).path)
    }

    @Test("a corrupt shard is reported with the shard's own path")
    func corruptShard() throws {
        let folder = try shardedCopy(index: nil)
        let shard = folder.file("model-00004-of-00008.safetensors")
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count - 100).write(to: shard)
        guard case .offsetsOutOfBounds(let file, _, _, _, _) = checkpointError({ _ = try CheckpointReader(at: folder.url) }) else {
            Issue.record("expected offsetsOutOfBounds")
            return
        }
        #expect(file == shard.path)
    }

    @Test("a folder without weights")
    func emptyFolder() throws {
        let folder = try TemporaryFolder()
        #expect(checkpointError { _ = try CheckpointReader(at: folder.url) } == .noCheckpoint(folder: folder.url.path))
    }
}

@Suite("Checkpoints: opening rules")
struct SafetensorsCheckpointOpeningTests {
    @Test("a folder with both model.safetensors and an index opens model.safetensors, as transformers does")
    func prefersSingleFile() throws {
        let folder = try TemporaryFolder()
        try CheckpointWriter.write([(name: "single", tensor: try SafetensorsTensor(shape: [1], floats: [1]))], to: folder.url)
        try FileManager.default.copyItem(at: SafetensorsCheckpointTests.sharded.appendingPathComponent(ShardIndex.fileName),
                                         to: folder.file(ShardIndex.fileName))
        let reader = try CheckpointReader(at: folder.url)
        #expect(reader.tensorNames == ["single"])
    }

    @Test("an I64 value outside Int32 is reported, not truncated")
    func int32Range() throws {
        var bytes = Data()
        for value: Int64 in [1, 1 << 40] { Swift.withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        let tensor = try SafetensorsTensor(dtype: .int64, shape: [2], bytes: bytes)
        #expect(try tensor.int64s() == [1, 1 << 40])
        #expect(checkpointError { _ = try tensor.int32s(name: "ids") } == .valueOutOfRange(tensor: "ids", value: 1 << 40, target: "Int32"))
    }
}
