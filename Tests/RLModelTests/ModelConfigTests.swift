import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import RLModel

@Suite("ModelConfig")
struct ModelConfigTests {
    static let tinyConfig = fixturesDirectory.appendingPathComponent("qwen2-tiny/config.json")

    @Test("transformers 5 configs of the fixtures, as make_model_fixtures.py set them")
    func fixtures() throws {
        let tiny = try ModelConfig.load(from: Self.tinyConfig)
        #expect(tiny.modelType == "qwen2")
        #expect(tiny.architectures == ["Qwen2ForCausalLM"])
        #expect(tiny.vocabSize == 512 && tiny.hiddenSize == 64 && tiny.intermediateSize == 128)
        #expect(tiny.numHiddenLayers == 2 && tiny.numAttentionHeads == 4 && tiny.numKeyValueHeads == 2)
        #expect(tiny.headDim == 16)
        #expect(tiny.maxPositionEmbeddings == 256)
        #expect(tiny.rmsNormEps == 1e-6 && tiny.ropeTheta == 10000 && tiny.ropeType == "default")
        #expect(!tiny.tieWordEmbeddings && !tiny.useSlidingWindow && tiny.slidingWindow == nil)
        #expect(tiny.bosTokenID == 1 && tiny.eosTokenID == .single(2) && tiny.padTokenID == nil)
        #expect(tiny.dtype == "float32")
        #expect(tiny.layerTypes == ["full_attention", "full_attention"])
        let bf16 = try ModelConfig.load(from: fixturesDirectory.appendingPathComponent("qwen2-tiny-bf16/config.json"))
        #expect(bf16.dtype == "bfloat16")
        let tied = try ModelConfig.load(from: fixturesDirectory.appendingPathComponent("qwen2-tiny-tied-sharded/config.json"))
        #expect(tied.tieWordEmbeddings)
    }

    @Test("DeepSeek-R1-Distill-Qwen-1.5B config.json (transformers 4.x) has the reference values",
          arguments: [("config.json", "bfloat16"), ("config.github-captainphiora.json", "float16")])
    func deepSeek(_ file: String, _ dtype: String) throws {
        let config = try ModelConfig.load(from: deepSeekConfigs.appendingPathComponent(file))
        // openrs-reference.md §5.
        #expect(config.hiddenSize == 1536 && config.numHiddenLayers == 28)
        #expect(config.numAttentionHeads == 12 && config.headDim == 128 && config.numKeyValueHeads == 2)
        #expect(config.intermediateSize == 8960 && config.vocabSize == 151936)
        #expect(config.maxPositionEmbeddings == 131072)
        #expect(config.ropeTheta == 10000 && config.ropeType == "default")
        #expect(config.rmsNormEps == 1e-6 && !config.tieWordEmbeddings)
        #expect(!config.useSlidingWindow && config.slidingWindow == 4096 && config.maxWindowLayers == 21)
        #expect(config.bosTokenID == 151643 && config.eosTokenID == .single(151643))
        #expect(config.dtype == dtype)
    }

    @Test("encoding writes every key transformers wrote, with the same values",
          arguments: ["qwen2-tiny/config.json", "qwen2-tiny-tied-sharded/config.json"])
    func encodeMatchesTransformers(_ path: String) throws {
        let source = try Data(contentsOf: fixturesDirectory.appendingPathComponent(path))
        let written = try JSONValue.parse(ModelConfig(jsonData: source).jsonData())
        for (key, value) in try JSONValue.parse(source) {
            #expect(written[key] == value, "\(key)")
        }
        // 4.x readers find the same settings under their own names.
        #expect(written["rope_theta"] == .number(10000))
        #expect(written["torch_dtype"] == .string("float32"))
        #expect(written["head_dim"] == nil)
    }

    /// Qwen3 and Llama configs as transformers 5.24 wrote them: every key is written back with the
    /// same value, and a 4.x reader finds the RoPE scaling under `rope_scaling` too.
    @Test("Qwen3 and Llama configs are written back key for key",
          arguments: ["qwen3-tiny", "llama-tiny-llama3", "llama-tiny-linear"])
    func otherFamilies(_ fixture: String) throws {
        let source = try Data(contentsOf: fixturesDirectory.appendingPathComponent("\(fixture)/config.json"))
        let config = try ModelConfig(jsonData: source)
        let written = try JSONValue.parse(config.jsonData())
        for (key, value) in try JSONValue.parse(source) {
            #expect(written[key] == value, "\(fixture): \(key)")
        }
        #expect(try ModelConfig(jsonData: config.jsonData()) == config)
        switch fixture {
        case "qwen3-tiny":
            #expect(config.family == .qwen3 && config.headDim == 32 && config.tieWordEmbeddings && !config.attentionBias)
            #expect(LayerLayout(config) == LayerLayout(queryKeyValueBias: false, outputBias: false, mlpBias: false, queryKeyNorm: true))
        case "llama-tiny-llama3":
            #expect(config.family == .llama && config.attentionBias && config.mlpBias && config.ropeTheta == 500000)
            #expect(config.ropeScaling == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64))
            #expect(written["rope_scaling"] == written["rope_parameters"].map { value -> JSONValue in
                guard case .object(var fields) = value else { return value }
                fields["rope_theta"] = nil
                return .object(fields)
            })
        default:
            #expect(config.family == .llama && config.ropeScaling == .linear(factor: 2) && !config.attentionBias)
        }
    }

    /// The scaled inverse frequencies, by hand: linear divides all; llama3 keeps the short
    /// wavelengths, divides the long ones and blends in between.
    @Test("RoPE scaling inverse frequencies")
    func ropeFrequencies() {
        let plain = (0..<8).map { 1 / pow(500_000.0, Double(2 * $0) / 16) }
        #expect(RoPEScaling.linear(factor: 2).inverseFrequencies(theta: 500_000, headDim: 16) == plain.map { $0 / 2 })
        let scaled = RoPEScaling.llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64)
            .inverseFrequencies(theta: 500_000, headDim: 16)
        // Wavelengths 2π/f: 6.3 (< 16: kept), 32.5 (between 16 and 64: blended), 168 and up (> 64: divided by 8).
        #expect(scaled[0] == plain[0])
        let smooth = (64 / (2 * Double.pi / plain[1]) - 1) / 3
        #expect(abs(scaled[1] - ((1 - smooth) * plain[1] / 8 + smooth * plain[1])) < 1e-15)
        #expect(scaled[1] < plain[1] && scaled[1] > plain[1] / 8)
        #expect(zip(scaled[2...], plain[2...]).allSatisfy { $0 == $1 / 8 })
    }

    @Test("a 4.x config survives encode and decode, and is written with rope_parameters and dtype")
    func roundTrip4x() throws {
        let source = try Data(contentsOf: deepSeekConfigs.appendingPathComponent("config.json"))
        let config = try ModelConfig(jsonData: source)
        let folder = try TemporaryFolder()
        try config.write(to: folder.file("config.json"))
        var reread = try ModelConfig.load(from: folder.file("config.json"))
        #expect(reread.layerTypes == Array(repeating: "full_attention", count: 28))
        reread.layerTypes = nil
        #expect(reread == config)
        let written = try JSONValue.parse(Data(contentsOf: folder.file("config.json")))
        #expect(written["rope_parameters"] == .object(["rope_theta": .number(10000), "rope_type": .string("default")]))
        #expect(written["dtype"] == .string("bfloat16"))
        #expect(written["sliding_window"] == .number(4096))
        #expect(written["pad_token_id"] == .null)
        #expect(written["architectures"] == .array([.string("Qwen2ForCausalLM")]))
    }

    @Test("optional keys: eos as a list, explicit head_dim, KV heads defaulting to the heads")
    func variants() throws {
        let source = try Data(contentsOf: Self.tinyConfig)
        let edited = try editedJSON(source, ["eos_token_id": "[2, 7]", "head_dim": "32", "num_key_value_heads": nil,
                                            "rope_parameters": nil, "rope_theta": "1000000.0", "dtype": nil, "torch_dtype": "\"float16\""])
        let config = try ModelConfig(jsonData: edited)
        #expect(config.eosTokenID == .list([2, 7]))
        #expect(config.eosTokenID?.ids == [2, 7])
        #expect(config.headDim == 32)
        #expect(config.numKeyValueHeads == 4)
        #expect(config.ropeTheta == 1_000_000)
        #expect(config.dtype == "float16")
        let written = try JSONValue.parse(config.jsonData())
        #expect(written["head_dim"] == .number(32))
        #expect(written["eos_token_id"] == .array([.number(2), .number(7)]))
    }

    @Test("a config built in code validates and encodes")
    func builtInCode() throws {
        let config = ModelConfig(vocabSize: 512, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 256,
                                 bosTokenID: 1, eosTokenID: .single(2), dtype: "float32")
        try config.validate(file: "memory")
        #expect(config.headDim == 16)
        let fixture = try ModelConfig.load(from: Self.tinyConfig)
        var comparable = fixture
        comparable.layerTypes = nil
        comparable.transformersVersion = nil
        #expect(config == comparable)
    }

    // MARK: bad input

    private func error(_ edits: [String: String?]) throws -> CheckpointError? {
        let data = try editedJSON(Data(contentsOf: Self.tinyConfig), edits)
        return checkpointError { _ = try ModelConfig(jsonData: data, file: "/m/config.json") }
    }

    @Test("a key of the wrong type names the file and the key", arguments: [
        ("hidden_size", "\"big\""), ("tie_word_embeddings", "\"yes\""), ("eos_token_id", "\"two\""), ("rms_norm_eps", "[1]"),
        // Token ids beyond i32 (they trapped where they were converted).
        ("eos_token_id", "3000000000"), ("eos_token_id", "[2, -1]"),
    ])
    func wrongType(_ key: String, _ value: String) throws {
        guard case let .invalidConfig(file, reportedKey, _) = try error([key: value]) else {
            Issue.record("expected invalidConfig")
            return
        }
        #expect(file == "/m/config.json")
        #expect(reportedKey == key)
    }

    @Test("a nested wrong type names the full key path")
    func nestedWrongType() throws {
        guard case let .invalidConfig(_, key, _) = try error(["rope_parameters": #"{"rope_theta": "x"}"#]) else {
            Issue.record("expected invalidConfig")
            return
        }
        #expect(key == "rope_parameters.rope_theta")
    }

    @Test("a missing required key")
    func missingKey() throws {
        #expect(try error(["vocab_size": nil]) == .invalidConfig(file: "/m/config.json", key: "vocab_size", reason: "required key is missing"))
    }

    @Test("text that is not JSON")
    func notJSON() throws {
        guard case let .invalidConfig(file, key, reason) = checkpointError({ _ = try ModelConfig(jsonData: Data("{\"a\":".utf8), file: "x.json") }) else {
            Issue.record("expected invalidConfig")
            return
        }
        #expect(file == "x.json" && key == "")
        #expect(reason.hasPrefix("not valid JSON"))
    }

    @Test("an unknown model_type or an unsupported setting gives unsupportedConfig naming the key", arguments: [
        ("model_type", "\"mistral\"", "model_type"),
        ("hidden_act", "\"gelu\"", "hidden_act"),
        ("use_sliding_window", "true", "use_sliding_window"),
        ("rope_parameters", #"{"rope_theta": 10000, "rope_type": "yarn", "factor": 4}"#, "rope_scaling"),
        ("layer_types", #"["full_attention", "sliding_attention"]"#, "layer_types"),
    ])
    func unsupported(_ key: String, _ value: String, _ reportedKey: String) throws {
        guard case let .unsupportedConfig(file, errorKey, reason) = try error([key: value]) else {
            Issue.record("expected unsupportedConfig")
            return
        }
        #expect(file == "/m/config.json" && errorKey == reportedKey)
        #expect(!reason.isEmpty)
    }

    @Test("4.x rope_scaling: linear and llama3 are read, other types are unsupported, null is plain RoPE")
    func ropeScaling4x() throws {
        let source = try Data(contentsOf: deepSeekConfigs.appendingPathComponent("config.json"))
        let linear = try editedJSON(source, ["rope_scaling": #"{"type": "linear", "factor": 2.0}"#])
        #expect(try ModelConfig(jsonData: linear).ropeScaling == .linear(factor: 2))
        let llama3 = try editedJSON(source, ["rope_scaling": #"{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}"#])
        #expect(try ModelConfig(jsonData: llama3).ropeScaling
                == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192))
        let yarn = try editedJSON(source, ["rope_scaling": #"{"type": "yarn", "factor": 2.0}"#])
        #expect(checkpointError { _ = try ModelConfig(jsonData: yarn, file: "c.json") }
            == .unsupportedConfig(file: "c.json", key: "rope_scaling", reason: "RoPE scaling 'yarn'; plain, 'linear' and 'llama3' RoPE are implemented"))
        let badFactor = try editedJSON(source, ["rope_scaling": #"{"type": "linear", "factor": 0}"#])
        #expect(checkpointError { _ = try ModelConfig(jsonData: badFactor, file: "c.json") }
            == .invalidConfig(file: "c.json", key: "rope_scaling.factor", reason: "must be positive, found 0.0"))
        let plain = try editedJSON(source, ["rope_scaling": "null"])
        #expect(try ModelConfig(jsonData: plain).ropeType == "default")
    }

    @Test("inconsistent sizes are invalid")
    func inconsistentSizes() throws {
        #expect(try error(["num_key_value_heads": "3"]) == .invalidConfig(
            file: "/m/config.json", key: "num_key_value_heads", reason: "3 does not divide num_attention_heads 4"))
        guard case .invalidConfig(_, "hidden_size", _) = try error(["hidden_size": "66"]) else {
            Issue.record("expected invalidConfig for hidden_size")
            return
        }
        guard case .invalidConfig(_, "vocab_size", _) = try error(["vocab_size": "0"]) else {
            Issue.record("expected invalidConfig for vocab_size")
            return
        }
    }

    @Test("the error description names file, key and problem")
    func description() throws {
        let text = try #require(try error(["model_type": "\"mistral\""])).description
        #expect(text.hasPrefix("/m/config.json: key 'model_type': unsupported:"))
        #expect(text.contains("mistral") && text.contains("'qwen2' (Qwen2ForCausalLM), 'qwen3' (Qwen3ForCausalLM), 'llama' (LlamaForCausalLM)"))
    }
}
