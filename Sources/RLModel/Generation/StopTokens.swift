import FoundationEssentials

/// The token ids that end a completion, gathered from every place a Hugging Face model folder
/// names them: the tokenizer's `eos_token`, `config.json`'s `eos_token_id` and
/// `generation_config.json`'s `eos_token_id` (one id or a list). Models disagree on which of these
/// they fill (Qwen3 and Llama 3 list extra end tokens only in `generation_config.json`), so
/// generation, training and evaluation stop at any of them.
public enum StopTokens {
    /// The union of the end-of-sequence ids of `tokenizer`, `config` and `generationConfig`
    /// (each may be absent). Empty only when none of them names one.
    public static func resolve(tokenizer: Tokenizer?, config: ModelConfig?, generationConfig: GenerationConfig?) -> Set<Int32> {
        var stops: Set<Int32> = []
        if let eos = tokenizer?.eosTokenID { stops.insert(eos) }
        for ids in [config?.eosTokenID, generationConfig?.eosTokenID] {
            // Ids are range-checked to Int32 when the configs are read.
            stops.formUnion((ids?.ids ?? []).compactMap { Int32(exactly: $0) })
        }
        return stops
    }

    /// `generation_config.json` in `folder`, or nil when the folder has none.
    public static func generationConfig(in folder: URL) throws -> GenerationConfig? {
        let url = folder.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try GenerationConfig.load(from: url)
    }
}
