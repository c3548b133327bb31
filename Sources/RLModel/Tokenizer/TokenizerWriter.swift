import FoundationEssentials

extension Tokenizer {
    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if needed),
    /// in the Hugging Face format that `transformers` (`AutoTokenizer.from_pretrained`) and
    /// `Tokenizer(directory:)` load.
    public func save(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TokenizerError(file: directory.path, problem: "cannot create the folder (\(fileErrorText(error)))")
        }
        try write(tokenizerJSON(), to: directory.appending(path: "tokenizer.json"))
        try write(tokenizerConfigJSON(), to: directory.appending(path: "tokenizer_config.json"))
    }

    private func write(_ text: String, to url: URL) throws {
        do {
            try Data(text.utf8).write(to: url)
        } catch {
            throw TokenizerError(file: url.path, problem: "cannot be written (\(fileErrorText(error)))")
        }
    }

    private func addedTokenFlags(_ token: AddedToken) -> [(String, String)] {
        [("content", JSONText.quoted(token.content)), ("single_word", JSONText.bool(token.singleWord)),
         ("lstrip", JSONText.bool(token.lstrip)), ("rstrip", JSONText.bool(token.rstrip)),
         ("normalized", JSONText.bool(token.normalized)), ("special", JSONText.bool(token.special))]
    }

    func tokenizerJSON() -> String {
        let byteLevel = JSONText.object([
            ("type", "\"ByteLevel\""), ("add_prefix_space", "false"), ("trim_offsets", "false"), ("use_regex", "false"),
        ], indent: "  ")
        let addedTokenObjects = addedTokens.map { token in
            JSONText.object([("id", String(token.id))] + addedTokenFlags(token), indent: "    ")
        }
        let pattern = preTokenizer.maxDigits == 1 ? PreTokenizer.qwen2Pattern : PreTokenizer.llama3Pattern
        let split = JSONText.object([
            ("type", "\"Split\""), ("pattern", "{\"Regex\": \(JSONText.quoted(pattern))}"),
            ("behavior", "\"Isolated\""), ("invert", "false"),
        ], indent: "      ")
        let preTokenizerJSON = JSONText.object([
            ("type", "\"Sequence\""), ("pretokenizers", JSONText.array([split, byteLevel], indent: "    ")),
        ], indent: "  ")

        let addedIDs = Set(addedTokens.map(\.id))
        var vocabulary = "{"
        vocabulary.reserveCapacity(vocabularySize * 16)
        var first = true
        for id in 0..<Int32(vocabularySize) where !addedIDs.contains(id) {
            guard let token = token(for: id) else { continue }
            vocabulary += (first ? "\n      " : ",\n      ") + JSONText.quoted(token) + ": " + String(id)
            first = false
        }
        vocabulary += first ? "}" : "\n    }"
        var merges = "["
        merges.reserveCapacity(mergePairs.count * 16)
        for (index, (left, right)) in mergePairs.enumerated() {
            merges += (index == 0 ? "\n      " : ",\n      ") + JSONText.quoted(token(for: left)! + " " + token(for: right)!)
        }
        merges += mergePairs.isEmpty ? "]" : "\n    ]"
        let model = JSONText.object([
            ("type", "\"BPE\""), ("dropout", "null"), ("unk_token", "null"), ("continuing_subword_prefix", "\"\""),
            ("end_of_word_suffix", "\"\""), ("fuse_unk", "false"), ("byte_fallback", "false"), ("ignore_merges", "false"),
            ("vocab", vocabulary), ("merges", merges),
        ], indent: "  ")

        return JSONText.object([
            ("version", "\"1.0\""), ("truncation", "null"), ("padding", "null"),
            ("added_tokens", JSONText.array(addedTokenObjects, indent: "  ")),
            ("normalizer", normalizesNFC ? "{\"type\": \"NFC\"}" : "null"),
            ("pre_tokenizer", preTokenizerJSON),
            ("post_processor", postProcessorJSON() ?? byteLevel),
            ("decoder", byteLevel),
            ("model", model),
        ]) + "\n"
    }

    /// A TemplateProcessing post-processor that adds the prefix and suffix tokens, or nil when there are none.
    private func postProcessorJSON() -> String? {
        guard !prefixIDs.isEmpty || !suffixIDs.isEmpty else { return nil }
        func special(_ id: Int32, typeID: Int) -> String {
            "{\"SpecialToken\": {\"id\": \(JSONText.quoted(token(for: id)!)), \"type_id\": \(typeID)}}"
        }
        func sequence(_ name: String, typeID: Int) -> String {
            "{\"Sequence\": {\"id\": \"\(name)\", \"type_id\": \(typeID)}}"
        }
        let single = prefixIDs.map { special($0, typeID: 0) } + [sequence("A", typeID: 0)] + suffixIDs.map { special($0, typeID: 0) }
        let pair = single + prefixIDs.map { special($0, typeID: 1) } + [sequence("B", typeID: 1)] + suffixIDs.map { special($0, typeID: 1) }
        var specialTokens: [(String, String)] = []
        for id in prefixIDs + suffixIDs where !specialTokens.contains(where: { $0.0 == token(for: id)! }) {
            let content = JSONText.quoted(token(for: id)!)
            specialTokens.append((token(for: id)!, "{\"id\": \(content), \"ids\": [\(id)], \"tokens\": [\(content)]}"))
        }
        return JSONText.object([
            ("type", "\"TemplateProcessing\""),
            ("single", JSONText.array(single, indent: "    ")),
            ("pair", JSONText.array(pair, indent: "    ")),
            ("special_tokens", JSONText.object(specialTokens, indent: "    ")),
        ], indent: "  ")
    }

    func tokenizerConfigJSON() -> String {
        var members: [(String, String)] = [
            ("added_tokens_decoder", JSONText.object(addedTokens.map { token in
                (String(token.id), JSONText.object(addedTokenFlags(token), indent: "    "))
            }, indent: "  ")),
        ]
        if let bosToken { members.append(("bos_token", JSONText.quoted(bosToken))) }
        if let chatTemplate { members.append(("chat_template", JSONText.quoted(chatTemplate))) }
        members.append(("clean_up_tokenization_spaces", "false"))
        if let eosToken { members.append(("eos_token", JSONText.quoted(eosToken))) }
        if let padToken { members.append(("pad_token", JSONText.quoted(padToken))) }
        members.append(("tokenizer_class", "\"PreTrainedTokenizerFast\""))
        return JSONText.object(members) + "\n"
    }
}
