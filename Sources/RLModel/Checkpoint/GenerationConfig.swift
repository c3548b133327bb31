import FoundationEssentials

/// Default generation settings from a model's `generation_config.json`.
///
/// Every field is optional, exactly as the file gives it; transformers' defaults for absent
/// fields are do_sample false, temperature 1, top_p 1, top_k 50, repetition_penalty 1,
/// max_length 20.
public struct GenerationConfig: Codable, Equatable, Sendable {
    public var bosTokenID: TokenIDs?
    public var eosTokenID: TokenIDs?
    public var padTokenID: Int?
    public var doSample: Bool?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var maxNewTokens: Int?
    public var maxLength: Int?
    public var repetitionPenalty: Double?
    public var transformersVersion: String?

    public init(
        bosTokenID: TokenIDs? = nil, eosTokenID: TokenIDs? = nil, padTokenID: Int? = nil,
        doSample: Bool? = nil, temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil,
        maxNewTokens: Int? = nil, maxLength: Int? = nil, repetitionPenalty: Double? = nil,
        transformersVersion: String? = nil
    ) {
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.padTokenID = padTokenID
        self.doSample = doSample
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxNewTokens = maxNewTokens
        self.maxLength = maxLength
        self.repetitionPenalty = repetitionPenalty
        self.transformersVersion = transformersVersion
    }

    /// Reads and validates the `generation_config.json` at `url`.
    public static func load(from url: URL) throws(CheckpointError) -> GenerationConfig {
        let config = try ConfigJSON.load(GenerationConfig.self, from: url)
        try config.validate(file: url.path)
        return config
    }

    /// Parses and validates `generation_config.json` text; `file` names the source in errors.
    public init(jsonData: Data, file: String = "generation_config.json") throws(CheckpointError) {
        self = try ConfigJSON.decode(GenerationConfig.self, from: jsonData, file: file)
        try validate(file: file)
    }

    /// The config as `generation_config.json` text (only the fields that are set).
    public func jsonData() -> Data { ConfigJSON.encode(self) }

    /// Writes `jsonData()` to `url` atomically.
    public func write(to url: URL) throws(CheckpointError) {
        try ConfigJSON.write(jsonData(), to: url)
    }

    /// Checks the sampling values are in range: temperature ≥ 0, top_p in (0, 1], top_k ≥ 0,
    /// repetition_penalty > 0, token counts positive.
    public func validate(file: String) throws(CheckpointError) {
        func invalid(_ key: String, _ reason: String) -> CheckpointError {
            .invalidConfig(file: file, key: key, reason: reason)
        }
        if let temperature, !(temperature >= 0) { throw invalid("temperature", "must be at least 0, found \(temperature)") }
        if let topP, !(topP > 0 && topP <= 1) { throw invalid("top_p", "must be in (0, 1], found \(topP)") }
        if let topK, topK < 0 { throw invalid("top_k", "must be at least 0, found \(topK)") }
        if let repetitionPenalty, !(repetitionPenalty > 0) {
            throw invalid("repetition_penalty", "must be positive, found \(repetitionPenalty)")
        }
        if let maxNewTokens, maxNewTokens <= 0 { throw invalid("max_new_tokens", "must be positive, found \(maxNewTokens)") }
        if let maxLength, maxLength <= 0 { throw invalid("max_length", "must be positive, found \(maxLength)") }
    }

    enum CodingKeys: String, CodingKey {
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
        case doSample = "do_sample", temperature, topP = "top_p", topK = "top_k"
        case maxNewTokens = "max_new_tokens", maxLength = "max_length"
        case repetitionPenalty = "repetition_penalty", transformersVersion = "transformers_version"
    }
}
