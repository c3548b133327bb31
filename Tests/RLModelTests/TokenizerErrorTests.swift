import FoundationEssentials
import RLModel
import Testing

/// Broken or missing tokenizer files give a `TokenizerError` naming the file and the problem.
@Suite("Tokenizer bad input")
struct TokenizerErrorTests {
    /// A folder with the tiny vocabulary as vocab.json, the given merges.txt text and tokenizer_config.json.
    func folder(merges: String, vocab: String? = nil, config: String? = nil) throws -> URL {
        let directory = try makeTemporaryDirectory()
        let vocabText = vocab ?? "{" + tinyVocabulary.map { "\(jsonString($0.key)): \($0.value)" }.joined(separator: ", ") + "}"
        try Data(vocabText.utf8).write(to: directory.appending(path: "vocab.json"))
        try Data(merges.utf8).write(to: directory.appending(path: "merges.txt"))
        if let config { try Data(config.utf8).write(to: directory.appending(path: "tokenizer_config.json")) }
        return directory
    }

    func loadError(_ directory: URL) throws -> TokenizerError {
        try #require(throws: TokenizerError.self) { try Tokenizer(directory: directory) }
    }

    @Test("the tiny vocab.json + merges.txt folder loads (control for the cases below)")
    func validFolderLoads() throws {
        let tokenizer = try Tokenizer(directory: try folder(merges: "#version: 0.2\nh e\nl l\nhe ll\nhell o\nĠ hello\n"))
        #expect(tokenizer.encode("hello hello") == [259, 260])
    }

    @Test("a merge whose part is not in the vocabulary")
    func mergePartMissing() throws {
        let error = try loadError(try folder(merges: "#version: 0.2\nh e\nq zz\n"))
        #expect(error.file.hasSuffix("merges.txt"))
        #expect(error.problem.contains("\"zz\" is not in the vocabulary"))
    }

    @Test("a merge whose result is not in the vocabulary")
    func mergeResultMissing() throws {
        let error = try loadError(try folder(merges: "h e\nx y\n"))
        #expect(error.file.hasSuffix("merges.txt"))
        #expect(error.problem.contains("result \"xy\" is not in the vocabulary"))
    }

    @Test("a malformed merges.txt line")
    func malformedMergeLine() throws {
        let error = try loadError(try folder(merges: "#version: 0.2\nh e\nhe ll o\n"))
        #expect(error.file.hasSuffix("merges.txt"))
        #expect(error.problem.contains("line 3"))
        #expect(error.problem.contains("malformed merge"))
    }

    @Test("malformed vocab.json")
    func malformedVocabulary() throws {
        let error = try loadError(try folder(merges: "h e\n", vocab: "{\"a\": 0, \"b\": "))
        #expect(error.file.hasSuffix("vocab.json"))
        #expect(error.problem.contains("malformed JSON"))
    }

    @Test("vocab.json without the byte-level alphabet")
    func missingByteTokens() throws {
        let error = try loadError(try folder(merges: "", vocab: "{\"a\": 0, \"b\": 1}"))
        #expect(error.file.hasSuffix("vocab.json"))
        #expect(error.problem.contains("lacks the byte-level token"))
    }

    @Test("vocab.json with a negative or huge id")
    func badIDs() throws {
        for id in ["-1", "2000000000"] {
            let error = try loadError(try folder(merges: "", vocab: "{\"a\": \(id)}"))
            #expect(error.file.hasSuffix("vocab.json"))
            #expect(error.problem.contains("token \"a\" has id \(id), outside 0...16777216"))
        }
    }

    @Test("malformed tokenizer_config.json")
    func malformedConfig() throws {
        let error = try loadError(try folder(merges: "h e\n", config: "{\"bos_token\": [}"))
        #expect(error.file.hasSuffix("tokenizer_config.json"))
        #expect(error.problem.contains("malformed JSON"))
    }

    @Test("tokenizer_config.json naming a BOS that is neither in the vocabulary nor added")
    func unknownSpecialToken() throws {
        // The DeepSeek config as shipped has no added_tokens_decoder: its BOS is not in vocab.json.
        let config = String(decoding: try Data(contentsOf: deepSeekConfigURL), as: UTF8.self)
        let error = try loadError(try folder(merges: "h e\n", config: config))
        #expect(error.file.hasSuffix("tokenizer_config.json"))
        #expect(error.problem.contains("bos_token \"<｜begin▁of▁sentence｜>\" is neither in the vocabulary nor an added token"))
    }

    @Test("a folder with no tokenizer files")
    func missingFiles() throws {
        let error = try loadError(try makeTemporaryDirectory())
        #expect(error.file.hasSuffix("vocab.json"))
        #expect(error.problem.contains("missing"))
    }

    @Test("malformed tokenizer.json")
    func malformedTokenizerJSON() throws {
        let directory = try makeTemporaryDirectory()
        try Data("{\"model\": {\"vocab\": {}, \"merges\": [".utf8).write(to: directory.appending(path: "tokenizer.json"))
        let error = try loadError(directory)
        #expect(error.file.hasSuffix("tokenizer.json"))
        #expect(error.problem.contains("malformed JSON"))
    }

    @Test("tokenizer.json with a broken merge and with unsupported parts")
    func tokenizerJSONProblems() throws {
        func load(_ members: String, merges: String = "[]") throws -> TokenizerError {
            let directory = try makeTemporaryDirectory()
            let vocabulary = tinyVocabulary.map { "\(jsonString($0.key)): \($0.value)" }.joined(separator: ", ")
            let json = "{\(members) \"model\": {\"type\": \"BPE\", \"vocab\": {\(vocabulary)}, \"merges\": \(merges)}}"
            try Data(json.utf8).write(to: directory.appending(path: "tokenizer.json"))
            return try loadError(directory)
        }
        let split = "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \(jsonString(qwen2Pattern))}, \"behavior\": \"Isolated\", \"invert\": false},"
        #expect(try load(split, merges: "[[\"h\", \"e\", \"x\"]]").problem.contains("merge 0 [\"h\", \"e\", \"x\"] is malformed"))
        #expect(try load(split, merges: "[\"h q\"]").problem.contains("merge 0 \"h q\": result \"hq\" is not in the vocabulary"))
        #expect(try load(split + "\"normalizer\": {\"type\": \"Lowercase\"},").problem.contains("normalizer \"Lowercase\" is not supported"))
        let otherRegex = "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false},"
        #expect(try load(otherRegex).problem.contains("Split pre-tokenizer pattern"))
        #expect(try load("").problem.contains("pre_tokenizer has no Split regex"))
    }

    @Test("the error text names the file and the problem")
    func description() throws {
        let directory = try folder(merges: "h e\nhe ll o\n")
        let error = try loadError(directory)
        #expect(error.description == directory.appending(path: "merges.txt").path
            + ": line 2: malformed merge \"he ll o\" (expected two tokens separated by one space)")
    }
}
