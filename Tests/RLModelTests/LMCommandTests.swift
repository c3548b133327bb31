import Foundation
import RLTensor
import RLTestSupport
import Testing

@testable import RLModel

/// The `lm` executable, built beside this test bundle.
private let lmExecutable: URL? = {
    let candidates = [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), Bundle.main.executableURL,
                      URL(fileURLWithPath: CommandLine.arguments[0])].compactMap { $0 }
    for candidate in candidates {
        var directory = candidate.deletingLastPathComponent()
        // On macOS the test binary sits inside a .xctest bundle.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
            directory.deleteLastPathComponent()
        }
        let binary = directory.appendingPathComponent("lm")
        if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
    }
    return nil
}()

/// What one `lm` run printed.
struct LMRun {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `lm` with `arguments` and waits for it.
func runLM(_ arguments: [String]) throws -> LMRun {
    let binary = try #require(lmExecutable, "the lm executable was not found beside the test bundle")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return LMRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                 stderr: String(decoding: stderr, as: UTF8.self))
}

@Suite("lm command")
struct LMCommandTests {
    static let tiny = fixturesDirectory.appendingPathComponent("qwen2-tiny").path
    static let tokenizerFolder = Fixtures.url("tokenizer/qwen2")

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("--max-new-tokens out of range is refused at parse time with the range")
    func maxNewTokensRange() throws {
        let run = try runLM(["generate", "--model", Self.tiny, "--prompt-ids", "1,5", "--max-new-tokens", "9223372036854775807"])
        #expect(run.status != 0 && run.stderr.contains("--max-new-tokens must be between 0 and 1048576, got 9223372036854775807"),
                "\(run.stderr)")
        // In range but past the model's 256 positions: refused after loading, without overflow.
        let long = try runLM(["generate", "--model", Self.tiny, "--prompt-ids", "1,5", "--max-new-tokens", "1048576"])
        #expect(long.status != 0 && long.stderr.contains("exceeds the model's 256 positions"), "\(long.stderr)")
    }

    @Test("generate --prompt-ids --greedy --json matches the library's greedy generation")
    func generateGreedy() throws {
        let run = try runLM(["generate", "--model", Self.tiny, "--prompt-ids", "1,5,9,13", "--max-new-tokens", "6", "--greedy", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let output = try json(run.stdout)
        let model = try DecoderModel.load(from: URL(fileURLWithPath: Self.tiny))
        let expected = try Generator(model: model).generate(prompts: [[1, 5, 9, 13]],
                                                        options: GenerationOptions(maxNewTokens: 6, stopTokenIDs: [2]))[0]
        #expect((output["ids"] as? [Int])?.map(Int32.init) == expected.tokens)
        #expect(output["finish_reason"] as? String == expected.finishReason.rawValue)
        let logProbs = try #require(output["log_probs"] as? [Double])
        #expect(zip(logProbs, expected.logProbs).allSatisfy { abs($0 - Double($1)) < 1e-4 })
        #expect(output["prompt_ids"] as? [Int] == [1, 5, 9, 13])
    }

    @Test("generate without --json prints the ids when the folder has no tokenizer; sampling is seeded")
    func generatePlain() throws {
        let arguments = ["generate", "--model", Self.tiny, "--prompt-ids", "3,4", "--max-new-tokens", "5",
                         "--temperature", "0.8", "--top-p", "0.9", "--seed", "7"]
        let first = try runLM(arguments), second = try runLM(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        let ids = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        #expect(!ids.isEmpty && ids.count <= 5 && ids.allSatisfy { Int($0) != nil })
    }

    @Test("score prints each token's log-prob given the ones before it")
    func score() throws {
        let run = try runLM(["score", "--model", Self.tiny, "--ids", "1,5,9,13,200"])
        #expect(run.status == 0, "\(run.stderr)")
        let output = try json(run.stdout)
        let logProbs = try #require(output["log_probs"] as? [Any])
        #expect(logProbs.count == 5 && logProbs[0] is NSNull)
        let model = try DecoderModel.load(from: URL(fileURLWithPath: Self.tiny))
        let expected = try withoutGradients {
            try model.tokenLogProbs(inputIDs: Tensor([1, 5, 9, 13, 200] as [Int32], shape: [1, 5]), lastTokens: 4).toFloatArray()
        }
        let printed = logProbs.dropFirst().compactMap { $0 as? Double }
        #expect(printed.count == 4 && zip(printed, expected).allSatisfy { abs($0 - Double($1)) < 1e-4 })
    }

    @Test("tokenize prints the tokenizer's ids and tokens",
          .enabled(if: FileManager.default.fileExists(atPath: tokenizerFolder.path)))
    func tokenize() throws {
        let run = try runLM(["tokenize", "--model", Self.tokenizerFolder.path, "--text", "Hello, world!"])
        #expect(run.status == 0, "\(run.stderr)")
        let output = try json(run.stdout)
        let expected = try Tokenizer(directory: Self.tokenizerFolder).encode("Hello, world!")
        #expect((output["ids"] as? [Int])?.map(Int32.init) == expected)
        #expect((output["tokens"] as? [String])?.count == expected.count)
    }

    /// Bad arguments and what the one-line error must mention.
    static let badArguments: [([String], String)] = [
        (["generate", "--prompt-ids", "1,2"], "--model"),
        (["generate", "--model", "/nonexistent/model", "--prompt-ids", "1,2"], "/nonexistent/model: no such folder"),
        (["generate", "--model", tiny, "--prompt-ids", "1,x"], "'x' is not a token id"),
        (["generate", "--model", tiny, "--prompt-ids", "1,999"], "token id 999 is outside the model's vocabulary of 512"),
        (["generate", "--model", tiny, "--prompt-ids", "1,2", "--top-p", "2"], "--top-p"),
        (["generate", "--model", tiny, "--prompt-ids", "1,2", "--prompt", "hi"], "exactly one of"),
        (["generate", "--model", tiny, "--prompt-ids", "1", "--max-new-tokens", "1000"], "256 positions"),
        (["generate", "--model", tiny, "--prompt", "hi"], "no tokenizer files"),
        (["tokenize", "--model", tiny, "--text", "hi"], "no tokenizer files"),
        (["score", "--model", tiny, "--ids", "7"], "at least two tokens"),
        (["score", "--model", tiny], "--ids"),
        (["frobnicate"], "frobnicate"),
    ]

    @Test("a bad argument gives a one-line error on stderr and a non-zero exit", arguments: badArguments)
    func badArgument(_ arguments: [String], _ fragment: String) throws {
        let run = try runLM(arguments)
        #expect(run.status != 0)
        #expect(run.stdout.isEmpty)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1 && run.stderr.hasPrefix("lm: error: "), "\(run.stderr)")
        #expect(run.stderr.contains(fragment), "\(run.stderr)")
    }

    /// Breaks a model folder in one way; returns what the error line must mention.
    enum Breakage: String, CaseIterable {
        case missingTensor, truncatedFile, missingShard, configWrongType

        func make() throws -> (BrokenModelFolder, String) {
            let query = "model.layers.0.self_attn.q_proj.weight"
            switch self {
            case .missingTensor:
                return (try BrokenModelFolder { $0.removeAll { $0.name == query } }, query)
            case .truncatedFile:
                let folder = try BrokenModelFolder()
                let file = folder.url.appendingPathComponent("model.safetensors")
                let bytes = try Data(contentsOf: file)
                try bytes.prefix(bytes.count / 2).write(to: file)
                return (folder, file.path)
            case .missingShard:
                let folder = try BrokenModelFolder(maxShardBytes: 2048)
                let shard = "model-00002-of-" + (try FileManager.default.contentsOfDirectory(atPath: folder.path)
                    .first { $0.hasPrefix("model-00001-of-") }!.dropFirst("model-00001-of-".count))
                try FileManager.default.removeItem(at: folder.url.appendingPathComponent(shard))
                return (folder, shard)
            case .configWrongType:
                let folder = try BrokenModelFolder()
                let config = folder.url.appendingPathComponent("config.json")
                let text = try String(contentsOf: config, encoding: .utf8)
                    .replacing(try Regex(#""num_hidden_layers"\s*:\s*1"#), with: #""num_hidden_layers": [1]"#)
                try Data(text.utf8).write(to: config)
                return (folder, "num_hidden_layers")
            }
        }
    }

    @Test("a broken model folder gives a one-line error naming the problem", arguments: Breakage.allCases)
    func brokenFolder(_ breakage: Breakage) throws {
        let (folder, fragment) = try breakage.make()
        for arguments in [["generate", "--prompt-ids", "1,2"], ["score", "--ids", "1,2"]] {
            let run = try runLM(arguments + ["--model", folder.path])
            #expect(run.status != 0)
            #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.hasPrefix("lm: error: "), "\(run.stderr)")
            #expect(run.stderr.contains(fragment), "\(run.stderr)")
        }
    }
}
