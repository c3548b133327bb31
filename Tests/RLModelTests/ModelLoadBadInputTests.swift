import FoundationEssentials
import RLTensor
import Testing

@testable import RLModel

/// A small Qwen2 model folder written in a temporary directory (removed with the object), to be
/// broken on purpose.
final class BrokenModelFolder {
    let folder: TemporaryFolder
    static let config = ModelConfig(vocabSize: 32, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                                    numAttentionHeads: 2, numKeyValueHeads: 1, maxPositionEmbeddings: 64)

    var url: URL { folder.url }
    var path: String { folder.url.path }

    /// Writes `config.json` and the weights `edit` leaves of a complete zero-filled checkpoint.
    init(maxShardBytes: Int? = nil, edit: (inout [(name: String, tensor: SafetensorsTensor)]) throws -> Void = { _ in }) throws {
        folder = try TemporaryFolder()
        var tensors = try BrokenModelFolder.config.checkpointTensorShapes.sorted { $0.key < $1.key }.map { name, shape in
            (name: name, tensor: try SafetensorsTensor(shape: shape, floats: [Float](repeating: 0.01, count: shape.reduce(1, *))))
        }
        try edit(&tensors)
        try CheckpointWriter.write(tensors, to: folder.url, maxShardBytes: maxShardBytes)
        try BrokenModelFolder.config.write(to: folder.url.appendingPathComponent("config.json"))
    }

    /// Runs `DecoderModel.load` and returns the error it throws (nil, with an issue, when it loads).
    func loadError() -> (any Error)? {
        do {
            _ = try DecoderModel.load(from: url)
            Issue.record("\(path) loaded, but it is broken")
            return nil
        } catch {
            return error
        }
    }
}

/// `DecoderModel.load` on broken folders: each failure is a typed error naming the folder or file
/// and the tensor, never a crash.
@Suite("DecoderModel.load bad input")
struct ModelLoadBadInputTests {
    static let query = "model.layers.0.self_attn.q_proj.weight"

    /// The weights report inside a `weightsDoNotMatch` error (with an issue for any other error).
    func report(_ error: (any Error)?, folder: String) -> WeightNameReport? {
        guard case let .weightsDoNotMatch(errorFolder, report)? = error as? ModelLoadError else {
            Issue.record("expected ModelLoadError.weightsDoNotMatch, got \(String(describing: error))")
            return nil
        }
        #expect(errorFolder == folder)
        return report
    }

    @Test("the helper's folder loads when left unbroken")
    func cleanFolderLoads() throws {
        let clean = try BrokenModelFolder()
        let model = try DecoderModel.load(from: clean.url)
        #expect(model.parameters.count == BrokenModelFolder.config.checkpointTensorShapes.count)
    }

    @Test("a missing tensor")
    func missingTensor() throws {
        let broken = try BrokenModelFolder { $0.removeAll { $0.name == Self.query } }
        let error = broken.loadError()
        #expect(report(error, folder: broken.path)?.missing == [Self.query])
        #expect("\(error!)".contains(broken.path) && "\(error!)".contains(Self.query))
    }

    @Test("a mis-shaped tensor")
    func misShapedTensor() throws {
        let broken = try BrokenModelFolder { tensors in
            let index = tensors.firstIndex { $0.name == Self.query }!
            tensors[index].tensor = try SafetensorsTensor(shape: [16, 8], floats: [Float](repeating: 0, count: 128))
        }
        let error = broken.loadError()
        #expect(report(error, folder: broken.path)?.mismatched == [.init(name: Self.query, expected: [16, 16], found: [16, 8])])
        #expect("\(error!)".contains(Self.query))
    }

    @Test("an unexpected tensor")
    func unexpectedTensor() throws {
        let extra = "model.layers.7.self_attn.q_proj.weight"
        let broken = try BrokenModelFolder { $0.append((extra, try SafetensorsTensor(shape: [2], floats: [1, 2]))) }
        let error = broken.loadError()
        #expect(report(error, folder: broken.path)?.unexpected == [extra])
        #expect("\(error!)".contains(extra))
    }

    @Test("a tensor of the right shape in an integer dtype")
    func wrongDType() throws {
        let name = "model.embed_tokens.weight"
        let broken = try BrokenModelFolder { tensors in
            let index = tensors.firstIndex { $0.name == name }!
            tensors[index].tensor = try SafetensorsTensor(dtype: .int32, shape: [32, 16], bytes: Data(count: 32 * 16 * 4))
        }
        let error = broken.loadError()
        guard case let .unsupportedTensorType(folder, tensor, dtype)? = error as? ModelLoadError else {
            Issue.record("expected unsupportedTensorType, got \(String(describing: error))")
            return
        }
        #expect(folder == broken.path && tensor == name && dtype == "I32")
    }

    @Test("a truncated weights file")
    func truncatedFile() throws {
        let broken = try BrokenModelFolder()
        let file = broken.url.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 100).write(to: file)
        let error = broken.loadError()
        guard case let .offsetsOutOfBounds(errorFile, tensor, _, _, _)? = error as? CheckpointError else {
            Issue.record("expected offsetsOutOfBounds, got \(String(describing: error))")
            return
        }
        #expect(errorFile == file.path && !tensor.isEmpty)
    }

    @Test("a header that lies about a tensor's size")
    func lyingHeader() throws {
        let broken = try BrokenModelFolder()
        let file = try broken.folder.write("model.safetensors", safetensorsBytes(
            header: #"{"model.embed_tokens.weight":{"dtype":"F32","shape":[32,16],"data_offsets":[0,8]}}"#,
            data: Array(repeating: 0, count: 8)))
        let error = broken.loadError()
        #expect(error as? CheckpointError == .sizeMismatch(file: file.path, tensor: "model.embed_tokens.weight",
                                                            expectedBytes: 2048, actualBytes: 8))
    }

    @Test("a shard named by the index is missing")
    func missingShard() throws {
        let broken = try BrokenModelFolder(maxShardBytes: 2048)
        let shards = try FileManager.default.contentsOfDirectory(atPath: broken.path)
            .filter { $0.hasPrefix("model-") && $0.hasSuffix(".safetensors") }.sorted()
        #expect(shards.count > 2)
        try FileManager.default.removeItem(at: broken.url.appendingPathComponent(shards[1]))
        let error = broken.loadError()
        #expect(error as? CheckpointError == .missingShard(
            index: broken.url.appendingPathComponent("model.safetensors.index.json").path, shard: shards[1]))
    }

    @Test("a config value of the wrong type")
    func configWrongType() throws {
        let broken = try BrokenModelFolder()
        let configURL = broken.url.appendingPathComponent("config.json")
        let text = String(decoding: try Data(contentsOf: configURL), as: UTF8.self)
            .replacing(try Regex(#""hidden_size"\s*:\s*16"#), with: #""hidden_size": "sixteen""#)
        #expect(text.contains("sixteen"))
        try Data(text.utf8).write(to: configURL)
        let error = broken.loadError()
        guard case let .invalidConfig(file, key, _)? = error as? CheckpointError else {
            Issue.record("expected invalidConfig, got \(String(describing: error))")
            return
        }
        #expect(file == configURL.path && key == "hidden_size")
    }

    /// Sizes past any real model are refused when config.json is read, before anything computed
    /// from the shapes (parameter counts, the memory plan) can overflow (found by the hardening probe).
    @Test("config sizes beyond the library's limits", arguments: [
        ("hidden_size", "1099511627776"), ("intermediate_size", "1099511627776"), ("vocab_size", "1099511627776"),
        ("num_key_value_heads", "1073741824"),
    ])
    func configSizesBeyondTheLimits(key: String, value: String) throws {
        let broken = try BrokenModelFolder()
        let configURL = broken.url.appendingPathComponent("config.json")
        let text = String(decoding: try Data(contentsOf: configURL), as: UTF8.self)
            .replacing(try Regex("\"\(key)\"\\s*:\\s*\\d+"), with: "\"\(key)\": \(value)")
        #expect(text.contains(value))
        try Data(text.utf8).write(to: configURL)
        let error = broken.loadError()
        guard case let .invalidConfig(file, errorKey, reason)? = error as? CheckpointError else {
            Issue.record("expected invalidConfig, got \(String(describing: error))")
            return
        }
        #expect(file == configURL.path && errorKey == key, "\(errorKey): \(reason)")
    }

    /// A report of many problems lists a few of each kind and counts the rest, so the error stays short.
    @Test("a weights report lists at most a few names of each kind")
    func shortReport() throws {
        var expected: [String: [Int]] = [:], found: [String: [Int]] = [:]
        for i in 0..<50 {
            expected["missing.\(i)"] = [1]
            found["unexpected.\(i)"] = [1]
            expected["mismatch.\(i)"] = [2]
            found["mismatch.\(i)"] = [3]
        }
        let text = WeightNameReport(expected: expected, found: found).description
        #expect(text.contains("missing (50): ") && text.contains("and 46 more"), "\(text)")
        #expect(text.contains("and 46 more shape mismatches"), "\(text)")
        #expect(text.count < 800, "\(text.count) characters")
    }

    @Test("a tokenizer merge naming a token that is not in the vocabulary")
    func brokenMerge() throws {
        let folder = try TemporaryFolder()
        let vocabulary = Tokenizer.byteLevelAlphabet.enumerated().map { "\"\(jsonEscaped($1))\": \($0)" }
        _ = try folder.write("vocab.json", Array("{\(vocabulary.joined(separator: ", "))}".utf8))
        let merges = try folder.write("merges.txt", Array("#version: 0.2\na b\nab zz\n".utf8))
        do {
            _ = try Tokenizer(directory: folder.url)
            Issue.record("a tokenizer with a broken merge loaded")
        } catch let error as TokenizerError {
            #expect(error.file == merges.path)
            #expect(error.problem.contains("ab"))
        }
    }

    /// `text` as the inside of a JSON string literal.
    private func jsonEscaped(_ text: String) -> String {
        text.unicodeScalars.map { scalar in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            default: return String(scalar)  // the byte-level alphabet has no control characters
            }
        }.joined()
    }
}
