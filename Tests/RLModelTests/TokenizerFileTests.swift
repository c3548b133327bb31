import FoundationEssentials
import RLModel
import Testing

/// A tiny byte-level vocabulary: the 256 byte tokens (id = byte position in the alphabet), then
/// "he" 256, "ll" 257, "hell" 258, "hello" 259, "Ġhello" 260.
let tinyMerges: [(String, String)] = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), ("Ġ", "hello")]
let tinyVocabulary: [String: Int32] = {
    var vocabulary: [String: Int32] = [:]
    for (id, token) in Tokenizer.byteLevelAlphabet.enumerated() { vocabulary[token] = Int32(id) }
    for (offset, token) in ["he", "ll", "hell", "hello", "Ġhello"].enumerated() { vocabulary[token] = Int32(256 + offset) }
    return vocabulary
}()

/// The id of a byte's token in the tiny vocabulary.
func byteID(_ character: Character) -> Int32 {
    Int32(Tokenizer.byteLevelAlphabet.firstIndex(of: String(UnicodeScalar(character.asciiValue!))) ?? -1)
}

@Suite("Tokenizer files: tokenizer.json, saving, building in code")
struct TokenizerFileTests {
    @Test("save writes tokenizer.json + tokenizer_config.json that load back with the same behaviour")
    func saveAndReload() throws {
        let original = try deepSeekTokenizer.get()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try original.save(to: directory)
        let reloaded = try Tokenizer(directory: directory)
        #expect(reloaded.vocabularySize == 151665)
        #expect(reloaded.bosTokenID == 151646)
        #expect(reloaded.eosTokenID == 151643)
        #expect(reloaded.padTokenID == 151643)
        #expect(reloaded.chatTemplate == original.chatTemplate)
        #expect(reloaded.addedTokens == original.addedTokens)
        for testCase in tokenizerCases {
            #expect(reloaded.encode(testCase.text, addSpecialTokens: false) == testCase.ids, "\(testCase.id)")
            #expect(reloaded.encode(testCase.text, addSpecialTokens: true) == testCase.ids_with_bos, "\(testCase.id)")
            #expect(reloaded.decode(testCase.ids, skipSpecialTokens: true) == testCase.decoded_skip_special, "\(testCase.id)")
        }
    }

    /// Writes a tokenizer.json with the tiny vocabulary (plus `extra` tokens), pair-form merges and the given Split regex.
    func writeTinyTokenizerJSON(pattern: String = qwen2Pattern, extra: [String: Int32] = [:],
                                merges mergeList: [(String, String)] = tinyMerges) throws -> URL {
        let directory = try makeTemporaryDirectory()
        let vocabulary = tinyVocabulary.merging(extra) { $1 }.sorted { $0.value < $1.value }
            .map { "\(jsonString($0.key)): \($0.value)" }.joined(separator: ", ")
        let merges = mergeList.map { "[\(jsonString($0.0)), \(jsonString($0.1))]" }.joined(separator: ", ")
        let json = """
        {"version": "1.0", "added_tokens": [
           {"id": 261, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
         "normalizer": {"type": "NFC"},
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
           {"type": "Split", "pattern": {"Regex": \(jsonString(pattern))}, "behavior": "Isolated", "invert": false},
           {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]},
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
           "special_tokens": {"<s>": {"id": "<s>", "ids": [261], "tokens": ["<s>"]}}},
         "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
         "model": {"type": "BPE", "vocab": {\(vocabulary)}, "merges": [\(merges)]}}
        """
        try Data(json.utf8).write(to: directory.appending(path: "tokenizer.json"))
        return directory
    }

    @Test("tokenizer.json with merges in the pair form [\"a\", \"b\"] and a BOS post-processor")
    func pairFormMerges() throws {
        let tokenizer = try Tokenizer(directory: try writeTinyTokenizerJSON())
        #expect(tokenizer.encode("hello hello", addSpecialTokens: false) == [259, 260])
        #expect(tokenizer.encode("hello", addSpecialTokens: true) == [261, 259])
        #expect(tokenizer.encode("<s>help", addSpecialTokens: false) == [261, 256, byteID("l"), byteID("p")])
        #expect(tokenizer.decode([261, 259, 260], skipSpecialTokens: true) == "hello hello")
        #expect(tokenizer.vocabularySize == 262)
    }

    @Test("the Llama 3 Split regex takes digits three at a time")
    func llama3Digits() throws {
        let llama3Pattern = qwen2Pattern.replacing(#"\p{N}|"#, with: #"\p{N}{1,3}|"#)
        let digits = ["12": Int32(300), "123": 301]
        let digitMerges = tinyMerges + [("1", "2"), ("12", "3")]
        let llama3 = try Tokenizer(directory: try writeTinyTokenizerJSON(pattern: llama3Pattern, extra: digits, merges: digitMerges))
        let qwen2 = try Tokenizer(directory: try writeTinyTokenizerJSON(extra: digits, merges: digitMerges))
        #expect(llama3.encode("1234", addSpecialTokens: false) == [301, byteID("4")])
        #expect(qwen2.encode("1234", addSpecialTokens: false) == [byteID("1"), byteID("2"), byteID("3"), byteID("4")])
    }

    @Test("a small tokenizer built in code encodes, decodes and saves")
    func buildInCode() throws {
        let tokenizer = try Tokenizer(
            vocabulary: tinyVocabulary, merges: tinyMerges,
            addedTokens: [AddedToken(id: 261, content: "<|end|>", special: true), AddedToken(id: 262, content: "<think>", special: false)],
            bosToken: nil, eosToken: "<|end|>", padToken: "<|end|>", chatTemplate: "{{ messages[0]['content'] }}")
        #expect(tokenizer.encode("<think>hello<|end|>") == [262, 259, 261])
        #expect(tokenizer.decode([262, 259, 261], skipSpecialTokens: true) == "<think>hello")
        #expect(tokenizer.decode([262, 259, 261], skipSpecialTokens: false) == "<think>hello<|end|>")
        #expect(tokenizer.eosTokenID == 261)
        #expect(try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true) == "hi")

        let directory = try makeTemporaryDirectory()
        try tokenizer.save(to: directory)
        let reloaded = try Tokenizer(directory: directory)
        #expect(reloaded.encode(" hello<|end|>") == [260, 261])
        #expect(reloaded.eosTokenID == 261)
        #expect(reloaded.chatTemplate == "{{ messages[0]['content'] }}")
    }

    @Test("vocab.json + merges.txt: a special token named in tokenizer_config.json is matched whole")
    func namedSpecialTokenInVocabulary() throws {
        let directory = try makeTemporaryDirectory()
        var vocabulary = tinyVocabulary
        vocabulary["<|endoftext|>"] = 261
        let vocabText = "{" + vocabulary.map { "\(jsonString($0.key)): \($0.value)" }.joined(separator: ", ") + "}"
        try Data(vocabText.utf8).write(to: directory.appending(path: "vocab.json"))
        try Data("#version: 0.2\nh e\nl l\nhe ll\nhell o\nĠ hello\n".utf8).write(to: directory.appending(path: "merges.txt"))
        try Data("{\"eos_token\": \"<|endoftext|>\"}".utf8).write(to: directory.appending(path: "tokenizer_config.json"))
        let tokenizer = try Tokenizer(directory: directory)
        #expect(tokenizer.eosTokenID == 261)
        #expect(tokenizer.encode("hello<|endoftext|>") == [259, 261])
        #expect(tokenizer.decode([259, 261], skipSpecialTokens: true) == "hello")
    }

    @Test("vocab.json written with \\u escapes (Python's json.dumps default), surrogate pairs included")
    func escapedVocabulary() throws {
        let directory = try makeTemporaryDirectory()
        var vocabulary = tinyVocabulary
        vocabulary["🙂"] = 261
        let entries = vocabulary.map { token, id in
            let escaped = token.utf16.map { unit in
                (0x20..<0x7F).contains(unit) && unit != 0x22 && unit != 0x5C ? String(UnicodeScalar(UInt8(unit))) : "\\u" + String(format4: UInt32(unit))
            }.joined()
            return "\"\(escaped)\": \(id)"
        }
        try Data(("{" + entries.joined(separator: ",\n ") + "}").utf8).write(to: directory.appending(path: "vocab.json"))
        try Data("h e\nl l\nhe ll\nhell o\nĠ hello\n".utf8).write(to: directory.appending(path: "merges.txt"))
        let tokenizer = try Tokenizer(directory: directory)
        #expect(tokenizer.encode("hello hello") == [259, 260])
        #expect(tokenizer.tokenID(for: "🙂") == 261)
        #expect(tokenizer.tokenID(for: "Ġ") == Int32(Tokenizer.byteLevelAlphabet.firstIndex(of: "Ġ")!))
    }

    @Test("added token flags: lstrip, rstrip and single_word")
    func addedTokenFlags() throws {
        let tokenizer = try Tokenizer(
            vocabulary: tinyVocabulary, merges: tinyMerges,
            addedTokens: [AddedToken(id: 261, content: "<m>", special: true, lstrip: true, rstrip: true),
                          AddedToken(id: 262, content: "he", special: false, singleWord: true)])
        // lstrip/rstrip: the spaces around <m> belong to the token.
        #expect(tokenizer.encode("hello  <m>  hello") == [259, 261, 259])
        // single_word: "he" alone is the added token, inside "hello" it is not.
        #expect(tokenizer.encode("he hello") == [262, 260])
    }
}

let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

/// A JSON string literal.
func jsonString(_ string: String) -> String {
    var result = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u" + String(format4: scalar.value)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

extension String {
    init(format4 value: UInt32) {
        let hex = String(value, radix: 16)
        self = String(repeating: "0", count: 4 - hex.count) + hex
    }
}
