// Encode throughput of RLModel.Tokenizer on the problems of the repository's Data/eval/*.jsonl.
//
//   swift run -c release tokenizer-bench [--tokenizer DIR] [--save DIR] [--runs N]
//
// --tokenizer: a folder with tokenizer.json (e.g. one saved by peer/tokenizer_peer.py --save);
// default: the DeepSeek-R1-Distill-Qwen tokenizer assembled from Tests/Fixtures/tokenizer/qwen2
// (vocab.json + merges.txt) and the model's added-token table.
// --save: also write the tokenizer's files there (peer/tokenizer_peer.py --tokenizer DIR loads them).
import FoundationEssentials
import RLModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    /// The repository root (this file is `Benchmarks/Sources/tokenizer-bench/main.swift`).
    let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    var tokenizer: URL?
    var save: URL?
    var runs = 7

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--tokenizer": tokenizer = iterator.next().map { URL(filePath: $0) }
            case "--save": save = iterator.next().map { URL(filePath: $0) }
            case "--runs": runs = max(1, Int(iterator.next() ?? "") ?? runs)
            default:
                print("usage: tokenizer-bench [--tokenizer DIR] [--save DIR] [--runs N]")
                exit(2)
            }
        }
    }
}

/// The DeepSeek-R1-Distill-Qwen added tokens (Tests/Fixtures/README.md, tokenizer/qwen2).
let addedTokens: [(Int32, String, Bool)] = [
    (151643, "<｜end▁of▁sentence｜>", true), (151644, "<｜User｜>", false), (151645, "<｜Assistant｜>", false),
    (151646, "<｜begin▁of▁sentence｜>", true), (151647, "<|EOT|>", false), (151648, "<think>", false),
    (151649, "</think>", false), (151650, "<|quad_start|>", true), (151651, "<|quad_end|>", true),
    (151652, "<|vision_start|>", true), (151653, "<|vision_end|>", true), (151654, "<|vision_pad|>", true),
    (151655, "<|image_pad|>", true), (151656, "<|video_pad|>", true), (151657, "<tool_call>", false),
    (151658, "</tool_call>", false), (151659, "<|fim_prefix|>", false), (151660, "<|fim_middle|>", false),
    (151661, "<|fim_suffix|>", false), (151662, "<|fim_pad|>", false), (151663, "<|repo_name|>", false),
    (151664, "<|file_sep|>", false),
]

func loadTokenizer(_ options: Options) throws -> Tokenizer {
    if let directory = options.tokenizer { return try Tokenizer(directory: directory) }
    let source = options.root.appending(path: "Tests/Fixtures/tokenizer/qwen2")
    let directory = FileManager.default.temporaryDirectory.appending(path: "tokenizer-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for name in ["vocab.json", "merges.txt"] {
        try FileManager.default.createSymbolicLink(at: directory.appending(path: name), withDestinationURL: source.appending(path: name))
    }
    let entries = addedTokens.map { id, content, special in
        "\"\(id)\": {\"content\": \"\(content)\", \"normalized\": false, \"special\": \(special)}"
    }
    let config = "{\"added_tokens_decoder\": {\(entries.joined(separator: ", "))}, "
        + "\"bos_token\": \"<｜begin▁of▁sentence｜>\", \"eos_token\": \"<｜end▁of▁sentence｜>\", \"add_bos_token\": true}"
    try Data(config.utf8).write(to: directory.appending(path: "tokenizer_config.json"))
    defer { try? FileManager.default.removeItem(at: directory) }
    return try Tokenizer(directory: directory)
}

struct Problem: Decodable { var problem: String }

func loadProblems(_ options: Options) throws -> [(file: String, texts: [String])] {
    let eval = options.root.appending(path: "Data/eval")
    let names = try FileManager.default.contentsOfDirectory(atPath: eval.path).filter { $0.hasSuffix(".jsonl") }.sorted()
    return try names.map { name in
        let data = try Data(contentsOf: eval.appending(path: name))
        let texts = try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(Problem.self, from: Data($0.utf8)).problem
        }
        return (name, texts)
    }
}

func seconds(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let elapsed = clock.measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func format(_ value: Double, _ digits: Int = 2) -> String {
    if digits == 0 { return String(Int(value.rounded())) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    let parts = String(rounded).split(separator: ".")
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    return String(parts[0]) + "." + fraction + String(repeating: "0", count: max(0, digits - fraction.count))
}

let options = Options(CommandLine.arguments)
var tokenizer: Tokenizer!
let loadSeconds = seconds { tokenizer = try! loadTokenizer(options) }
if let directory = options.save { try tokenizer.save(to: directory) }
let files = try loadProblems(options)
let all = files.flatMap(\.texts)

print("tokenizer-bench: RLModel.Tokenizer encode (add_special_tokens=false), one thread, median of \(options.runs) runs")
print("tokenizer load: \(format(loadSeconds * 1000, 0)) ms")
print("")
print("| text | problems | MB | tokens | first run MB/s | median MB/s | median Mtokens/s |")
print("|---|---|---|---|---|---|---|")
for (name, texts) in files + [("all", all)] {
    let bytes = texts.reduce(0) { $0 + $1.utf8.count }
    var tokenCount = 0
    var times: [Double] = []
    for run in 0...options.runs {  // run 0 also warms the cache of repeated pieces
        var count = 0
        times.append(seconds { for text in texts { count += tokenizer.encode(text, addSpecialTokens: false).count } })
        if run == 0 { tokenCount = count }
    }
    let megabytes = Double(bytes) / 1e6
    let medianTime = median(Array(times.dropFirst()))
    print("| \(pad(name, 20)) | \(texts.count) | \(format(megabytes, 3)) | \(tokenCount) | \(format(megabytes / times[0])) | \(format(megabytes / medianTime)) | \(format(Double(tokenCount) / medianTime / 1e6, 3)) |")
}
