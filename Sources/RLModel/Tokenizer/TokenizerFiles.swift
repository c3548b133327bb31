import FoundationEssentials

/// Reads the Hugging Face tokenizer files of a model folder.
enum TokenizerFiles {
    /// Reads `tokenizer.json` (plus `tokenizer_config.json` when present), or else
    /// `vocab.json` + `merges.txt` (+ `tokenizer_config.json`).
    static func read(directory: URL) throws -> TokenizerDefinition {
        let fileManager = FileManager.default
        let tokenizerJSON = directory.appending(path: "tokenizer.json")
        let configURL = directory.appending(path: "tokenizer_config.json")
        let config = fileManager.fileExists(atPath: configURL.path) ? try readJSON(configURL) : nil
        if fileManager.fileExists(atPath: tokenizerJSON.path) {
            return try readTokenizerJSON(tokenizerJSON, config: config, configPath: configURL.path)
        }
        let vocabURL = directory.appending(path: "vocab.json")
        let mergesURL = directory.appending(path: "merges.txt")
        for url in [vocabURL, mergesURL] where !fileManager.fileExists(atPath: url.path) {
            throw TokenizerError(
                file: url.path,
                problem: "missing: a tokenizer folder needs tokenizer.json, or vocab.json and merges.txt")
        }
        return try readVocabularyAndMerges(vocab: vocabURL, merges: mergesURL, config: config, configPath: configURL.path)
    }

    // MARK: tokenizer.json

    private static func readTokenizerJSON(_ url: URL, config: JSONValue?, configPath: String) throws -> TokenizerDefinition {
        let file = url.path
        let json = try readJSON(url)
        guard let model = json["model"], model.object != nil else {
            throw TokenizerError(file: file, problem: "has no \"model\" object")
        }
        if let type = model["type"]?.string, type != "BPE" {
            throw TokenizerError(file: file, problem: "model type \"\(type)\" is not supported (only byte-level BPE)")
        }
        if model["byte_fallback"]?.bool == true {
            throw TokenizerError(file: file, problem: "BPE byte_fallback is not supported (byte-level BPE needs none)")
        }
        if model["ignore_merges"]?.bool == true {
            throw TokenizerError(file: file, problem: "BPE ignore_merges = true is not supported")
        }
        if !(model["continuing_subword_prefix"]?.string ?? "").isEmpty || !(model["end_of_word_suffix"]?.string ?? "").isEmpty {
            throw TokenizerError(file: file, problem: "BPE continuing_subword_prefix / end_of_word_suffix are not supported")
        }
        let vocabulary = try tokenIDs(model["vocab"], file: file, name: "model.vocab")
        guard let mergeValues = model["merges"]?.array else {
            throw TokenizerError(file: file, problem: "model.merges must be an array")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeValues.count)
        for (index, value) in mergeValues.enumerated() {
            // A merge is written "a b" or ["a", "b"].
            let pair: (String, String)?
            if let parts = value.array?.compactMap(\.string), parts.count == 2, value.array?.count == 2 {
                pair = (parts[0], parts[1])
            } else {
                pair = value.string.flatMap { splitMerge($0[...]) }
            }
            guard let pair else {
                throw TokenizerError(file: file, problem: "merge \(index) \(describe(value)) is malformed (expected two tokens)")
            }
            merges.append(pair)
        }
        var addedTokens: [AddedToken] = []
        for (index, entry) in (json["added_tokens"]?.array ?? []).enumerated() {
            guard let id = entry["id"]?.int32, let content = entry["content"]?.string else {
                throw TokenizerError(file: file, problem: "added_tokens[\(index)] needs an integer id and a content")
            }
            addedTokens.append(addedToken(id: id, content: content, flags: entry))
        }
        let (prefix, suffix) = try postProcessorTokens(json["post_processor"], file: file)
        try checkDecoder(json["decoder"], file: file)
        return TokenizerDefinition(
            vocabulary: vocabulary, merges: merges, sources: (file, file, config == nil ? file : configPath),
            addedTokens: addedTokens,
            normalizesNFC: try normalizesNFC(json["normalizer"], file: file),
            preTokenizer: try preTokenizer(json["pre_tokenizer"], file: file),
            prefixTokens: prefix, suffixTokens: suffix,
            bosToken: tokenContent(config?["bos_token"]), eosToken: tokenContent(config?["eos_token"]),
            padToken: tokenContent(config?["pad_token"]), chatTemplate: chatTemplate(config))
    }

    /// A token -> id object (vocab.json, or tokenizer.json's model.vocab).
    private static func tokenIDs(_ value: JSONValue?, file: String, name: String) throws -> [String: Int32] {
        guard let object = value?.object else {
            throw TokenizerError(file: file, problem: "\(name) must be an object of token: id")
        }
        // mapValues keeps the parsed table: no key is hashed again.
        return try object.mapValues { id in
            guard let id = id.int32 else {
                let token = object.first { $0.value == id }?.key ?? "?"
                throw TokenizerError(file: file, problem: "\(name): the id of token \"\(token)\" is not an integer")
            }
            return id
        }
    }

    private static func addedToken(id: Int32, content: String, flags: JSONValue) -> AddedToken {
        AddedToken(id: id, content: content, special: flags["special"]?.bool ?? false,
                   normalized: flags["normalized"]?.bool ?? false, lstrip: flags["lstrip"]?.bool ?? false,
                   rstrip: flags["rstrip"]?.bool ?? false, singleWord: flags["single_word"]?.bool ?? false)
    }

    /// "a b" -> ("a", "b"); nil unless exactly two non-empty parts separated by one space.
    private static func splitMerge(_ line: Substring) -> (String, String)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    private static func describe(_ value: JSONValue) -> String {
        if let string = value.string { return "\"\(string)\"" }
        if let parts = value.array { return "[" + parts.map(describe).joined(separator: ", ") + "]" }
        return "\(value)"
    }

    private static func normalizesNFC(_ normalizer: JSONValue?, file: String) throws -> Bool {
        guard let normalizer, !normalizer.isNull else { return false }
        switch normalizer["type"]?.string {
        case "NFC":
            return true
        case "Sequence":
            var nfc = false
            for item in normalizer["normalizers"]?.array ?? [] { nfc = try normalizesNFC(item, file: file) || nfc }
            return nfc
        case let type:
            throw TokenizerError(file: file, problem: "normalizer \"\(type ?? "?")\" is not supported (only NFC)")
        }
    }

    private static func preTokenizer(_ value: JSONValue?, file: String) throws -> PreTokenizer {
        let steps: [JSONValue]
        switch value?["type"]?.string {
        case "Sequence": steps = value?["pretokenizers"]?.array ?? []
        case .some: steps = [value!]
        case nil: steps = []
        }
        var scanner: PreTokenizer?
        for step in steps {
            switch step["type"]?.string {
            case "Split":
                guard let pattern = step["pattern"]?["Regex"]?.string, let found = PreTokenizer(pattern: pattern) else {
                    throw TokenizerError(file: file, problem: "Split pre-tokenizer pattern \(step["pattern"].map { "\($0)" } ?? "?") is not supported (Qwen2 and Llama 3 regexes are)")
                }
                guard step["behavior"]?.string == "Isolated", step["invert"]?.bool != true else {
                    throw TokenizerError(file: file, problem: "Split pre-tokenizer behaviour must be Isolated, not inverted")
                }
                scanner = found
            case "ByteLevel":
                if step["use_regex"]?.bool != false || step["add_prefix_space"]?.bool == true {
                    throw TokenizerError(file: file, problem: "ByteLevel pre-tokenizer with use_regex or add_prefix_space is not supported")
                }
            case let type:
                throw TokenizerError(file: file, problem: "pre-tokenizer \"\(type ?? "?")\" is not supported")
            }
        }
        guard let scanner else {
            throw TokenizerError(file: file, problem: "pre_tokenizer has no Split regex (expected Split + ByteLevel)")
        }
        return scanner
    }

    private static func checkDecoder(_ decoder: JSONValue?, file: String) throws {
        guard let decoder, !decoder.isNull else { return }
        guard decoder["type"]?.string == "ByteLevel" else {
            throw TokenizerError(file: file, problem: "decoder \"\(decoder["type"]?.string ?? "?")\" is not supported (only ByteLevel)")
        }
    }

    /// The special tokens a TemplateProcessing post-processor puts around a single sequence.
    private static func postProcessorTokens(_ value: JSONValue?, file: String) throws -> ([String], [String]) {
        guard let value, !value.isNull else { return ([], []) }
        switch value["type"]?.string {
        case "ByteLevel":
            return ([], [])
        case "Sequence":
            var prefix: [String] = [], suffix: [String] = []
            for item in value["processors"]?.array ?? [] {
                let (p, s) = try postProcessorTokens(item, file: file)
                prefix += p
                suffix = s + suffix
            }
            return (prefix, suffix)
        case "TemplateProcessing":
            var prefix: [String] = [], suffix: [String] = []
            var seenSequence = false
            for piece in value["single"]?.array ?? [] {
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let name = piece["SpecialToken"]?["id"]?.string {
                    let tokens = value["special_tokens"]?[name]?["tokens"]?.array?.compactMap(\.string) ?? [name]
                    if seenSequence { suffix += tokens } else { prefix += tokens }
                }
            }
            return (prefix, suffix)
        case let type:
            throw TokenizerError(file: file, problem: "post-processor \"\(type ?? "?")\" is not supported")
        }
    }

    // MARK: vocab.json + merges.txt

    private static func readVocabularyAndMerges(vocab: URL, merges: URL, config: JSONValue?, configPath: String) throws -> TokenizerDefinition {
        let vocabulary = try tokenIDs(try readJSON(vocab), file: vocab.path, name: "vocab.json")
        let mergeData = try readData(merges)
        var mergeList: [(String, String)] = []
        var lineNumber = 0
        for line in String(decoding: mergeData, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let text = line.hasSuffix("\r") ? line.dropLast() : line
            if text.isEmpty || (lineNumber == 1 && text.hasPrefix("#version")) { continue }
            guard let pair = splitMerge(text) else {
                throw TokenizerError(file: merges.path, problem: "line \(lineNumber): malformed merge \"\(text)\" (expected two tokens separated by one space)")
            }
            mergeList.append(pair)
        }
        var addedTokens: [AddedToken] = []
        for (key, entry) in config?["added_tokens_decoder"]?.object ?? [:] {
            guard let id = Int32(key), let content = entry["content"]?.string else {
                throw TokenizerError(file: configPath, problem: "added_tokens_decoder entry \"\(key)\" needs an integer id and a content")
            }
            addedTokens.append(addedToken(id: id, content: content, flags: entry))
        }
        let bos = tokenContent(config?["bos_token"])
        let eos = tokenContent(config?["eos_token"])
        // Special tokens the config names are matched whole, as transformers does, even without an
        // added_tokens_decoder entry (GPT-2 style `<|endoftext|>` in vocab.json).
        for name in ["bos_token", "eos_token", "pad_token", "unk_token"] {
            guard let content = tokenContent(config?[name]), let id = vocabulary[content],
                  !addedTokens.contains(where: { $0.content == content }) else { continue }
            addedTokens.append(AddedToken(id: id, content: content, special: true))
        }
        addedTokens.sort { $0.id < $1.id }
        return TokenizerDefinition(
            vocabulary: vocabulary, merges: mergeList, sources: (vocab.path, merges.path, configPath),
            addedTokens: addedTokens,
            normalizesNFC: true, preTokenizer: PreTokenizer(pattern: PreTokenizer.qwen2Pattern)!,
            prefixTokens: config?["add_bos_token"]?.bool == true ? bos.map { [$0] } ?? [] : [],
            suffixTokens: config?["add_eos_token"]?.bool == true ? eos.map { [$0] } ?? [] : [],
            bosToken: bos, eosToken: eos, padToken: tokenContent(config?["pad_token"]),
            chatTemplate: chatTemplate(config))
    }

    // MARK: tokenizer_config.json

    /// A special token named in tokenizer_config.json: a string or an AddedToken object.
    private static func tokenContent(_ value: JSONValue?) -> String? {
        value?.string ?? value?["content"]?.string
    }

    /// The chat template: a string, or the one named "default" in a list of named templates.
    private static func chatTemplate(_ config: JSONValue?) -> String? {
        guard let value = config?["chat_template"] else { return nil }
        if let template = value.string { return template }
        let named = value.array ?? []
        return named.first { $0["name"]?.string == "default" }?["template"]?.string
    }

    // MARK: files

    private static func readData(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError(file: url.path, problem: "cannot be read (\(fileErrorText(error)))")
        }
    }

    private static func readJSON(_ url: URL) throws -> JSONValue {
        let data = try readData(url)
        do {
            return try data.withUnsafeBytes { try JSONReader.parse($0.bindMemory(to: UInt8.self)) }
        } catch let failure as JSONReader.Failure {
            throw TokenizerError(file: url.path, problem: "malformed JSON: \(failure.message)")
        }
    }
}
