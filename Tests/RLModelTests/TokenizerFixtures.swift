import FoundationEssentials
import RLModel
import Testing
import RLTestSupport

let qwen2TokenizerDirectory = Fixtures.url("tokenizer/qwen2")
let deepSeekConfigURL = Fixtures.url("model-configs/deepseek-r1-distill-qwen-1.5b/tokenizer_config.json")

/// The added tokens of DeepSeek-R1-Distill-Qwen-1.5B, as listed in Tests/Fixtures/README.md (tokenizer/qwen2).
let deepSeekAddedTokens: [(id: Int32, content: String, special: Bool)] = [
    (151643, "<｜end▁of▁sentence｜>", true), (151644, "<｜User｜>", false), (151645, "<｜Assistant｜>", false),
    (151646, "<｜begin▁of▁sentence｜>", true), (151647, "<|EOT|>", false), (151648, "<think>", false),
    (151649, "</think>", false), (151650, "<|quad_start|>", true), (151651, "<|quad_end|>", true),
    (151652, "<|vision_start|>", true), (151653, "<|vision_end|>", true), (151654, "<|vision_pad|>", true),
    (151655, "<|image_pad|>", true), (151656, "<|video_pad|>", true), (151657, "<tool_call>", false),
    (151658, "</tool_call>", false), (151659, "<|fim_prefix|>", false), (151660, "<|fim_middle|>", false),
    (151661, "<|fim_suffix|>", false), (151662, "<|fim_pad|>", false), (151663, "<|repo_name|>", false),
    (151664, "<|file_sep|>", false),
]

/// One row of encode_cases.jsonl.
struct TokenizerCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Message: Decodable, Sendable {
        var role: String
        var content: String
    }

    var id: String
    var kind: String
    var text: String
    var ids: [Int32]
    var ids_with_bos: [Int32]
    var decoded: String
    var decoded_skip_special: String
    var messages: [Message]?
    var add_generation_prompt: Bool?
    var template: String?

    var testDescription: String { "\(id) (\(kind))" }
}

let tokenizerCases: [TokenizerCase] = {
    let url = qwen2TokenizerDirectory.appending(path: "encode_cases.jsonl")
    guard let data = try? Data(contentsOf: url) else { return [] }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
        try? JSONDecoder().decode(TokenizerCase.self, from: Data($0.utf8))
    }
}()

/// A fresh temporary folder.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appending(path: "rl-tokenizer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The DeepSeek tokenizer_config.json with an `added_tokens_decoder` holding the README's added-token table.
func deepSeekConfigWithAddedTokens() throws -> Data {
    let config = String(decoding: try Data(contentsOf: deepSeekConfigURL), as: UTF8.self)
    let entries = deepSeekAddedTokens.map { token in
        "\"\(token.id)\": {\"content\": \"\(token.content)\", \"lstrip\": false, \"normalized\": false, "
            + "\"rstrip\": false, \"single_word\": false, \"special\": \(token.special)}"
    }
    let table = "\"added_tokens_decoder\": {" + entries.joined(separator: ", ") + "},\n"
    // Insert the table as the first member of the top-level object.
    let brace = config.firstIndex(of: "{")!
    return Data((String(config[...brace]) + "\n  " + table + String(config[config.index(after: brace)...])).utf8)
}

/// The DeepSeek-R1-Distill-Qwen tokenizer folder: the fixture vocab.json and merges.txt, plus the
/// tokenizer_config.json with its added tokens.
func makeDeepSeekTokenizerDirectory() throws -> URL {
    let directory = try makeTemporaryDirectory()
    for name in ["vocab.json", "merges.txt"] {
        try FileManager.default.createSymbolicLink(
            at: directory.appending(path: name), withDestinationURL: qwen2TokenizerDirectory.appending(path: name))
    }
    try deepSeekConfigWithAddedTokens().write(to: directory.appending(path: "tokenizer_config.json"))
    return directory
}

/// Loaded once and shared by the tests.
let deepSeekTokenizer: Result<Tokenizer, any Error> = Result {
    try Tokenizer(directory: try makeDeepSeekTokenizerDirectory())
}
