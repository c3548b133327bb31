import ArgumentParser
import FoundationEssentials
import RLModel
import RLTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Generates text with, scores token sequences under, and tokenizes text for a Qwen2 model folder.
///
/// Every failure (a bad argument, a missing or corrupt file) is reported as one line on stderr
/// with a non-zero exit status.
@main
struct LM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Generate, score and tokenize with a Hugging Face Qwen2 model folder.",
        subcommands: [Generate.self, Score.self, Tokenize.self, Merge.self]
    )

    /// Runs the command; errors other than help and version requests become one stderr line.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = LM.message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            var line = "lm: error: \(message)\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            terminate(code.rawValue)
        }
    }
}

/// The options every subcommand shares.
struct ModelOptions: ParsableArguments {
    @Option(help: "A Hugging Face Qwen2 folder (config.json and safetensors weights; tokenizer files for text).")
    var model: String

    @Option(help: "A PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors) applied live on top of --model.")
    var adapter: String?

    var folder: URL { URL(fileURLWithPath: model) }

    func validateFolder() throws {
        guard FileManager.default.fileExists(atPath: model) else { throw LMError("\(model): no such folder") }
        guard (try? FileManager.default.contentsOfDirectory(atPath: model)) != nil else {
            throw LMError("\(model): not a folder")
        }
    }

    /// The folder's tokenizer; an error naming the folder when it has no tokenizer files.
    func tokenizer(for purpose: String) throws -> Tokenizer {
        try validateFolder()
        let names = ["tokenizer.json", "vocab.json"]
        guard names.contains(where: { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }) else {
            throw LMError("\(model): no tokenizer files (tokenizer.json, or vocab.json and merges.txt); \(purpose)")
        }
        return try Tokenizer(directory: folder)
    }

    /// Loads the weights (f32, or bf16 matrices for faster inference) and attaches `--adapter`.
    func loadModel(bf16: Bool = false) throws -> any CausalLanguageModel {
        try validateFolder()
        let model = try ModelLoader.load(from: folder, weightType: bf16 ? .bf16 : .f32)
        if let adapter {
            guard FileManager.default.fileExists(atPath: adapter) else { throw LMError("--adapter \(adapter): no such folder") }
            try model.attachAdapters(try LoRAAdapters.load(from: URL(fileURLWithPath: adapter), model: model.config))
        }
        guard weightsAreFinite(model.parameters) else {
            throw LMError("\(self.model): the weights hold NaN or infinite values; nothing it computes would be meaningful")
        }
        return model
    }
}

/// A one-line error of the `lm` tool.
struct LMError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Ends the process with `status`.
func terminate(_ status: Int32) -> Never {
    #if canImport(Glibc)
    Glibc.exit(status)
    #else
    Darwin.exit(status)
    #endif
}

/// Parses `1,2,3` into token ids.
func parseIDs(_ text: String, option: String) throws -> [Int32] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    var ids: [Int32] = []
    for part in parts {
        let trimmed = part.filter { !$0.isWhitespace }
        guard let id = Int32(trimmed), id >= 0 else {
            throw LMError("\(option): '\(trimmed)' is not a token id (expected comma-separated non-negative integers)")
        }
        ids.append(id)
    }
    return ids
}

/// Checks that every id indexes the model's vocabulary.
func checkVocabulary(_ ids: [Int32], model: any CausalLanguageModel, source: String) throws {
    if let bad = ids.first(where: { Int($0) >= model.config.vocabSize }) {
        throw LMError("\(source): token id \(bad) is outside the model's vocabulary of \(model.config.vocabSize)")
    }
}

/// Writes `value` as one line of JSON to stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data: Data
    do { data = try encoder.encode(value) } catch {
        throw LMError("the model computed non-finite log-probabilities (NaN or infinite); its weights or config are broken")
    }
    print(String(decoding: data, as: UTF8.self))
}

extension LM {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sample a completion.",
            discussion: """
                Sampling defaults come from generation_config.json when present (else temperature 1, \
                top-p 1). --prompt-ids works without tokenizer files.
                """
        )

        @OptionGroup var options: ModelOptions

        @Option(help: "Prompt text, encoded with the folder's tokenizer.")
        var prompt: String?

        @Option(help: "A user message, wrapped in the tokenizer's chat template.")
        var chat: String?

        @Option(name: .customLong("prompt-ids"), help: "Prompt token ids, comma-separated.")
        var promptIDs: String?

        @Option(help: "Tokens to generate at most.")
        var maxNewTokens = 64

        @Option(help: "Sampling temperature (0 = greedy).")
        var temperature: Float?

        @Option(help: "Nucleus sampling mass, in (0, 1].")
        var topP: Float?

        @Option(help: "Random seed.")
        var seed: UInt64 = 0

        @Flag(help: "Always pick the most likely token.")
        var greedy = false

        @Flag(help: "Store the weight matrices as bfloat16 (faster, slightly less exact).")
        var bf16 = false

        @Flag(help: "Print ids, text, finish reason and log-probs as JSON.")
        var json = false

        func validate() throws {
            let given = [prompt, chat, promptIDs].compactMap { $0 }.count
            guard given == 1 else { throw ValidationError("give exactly one of --prompt, --chat, --prompt-ids") }
            guard (0...1_048_576).contains(maxNewTokens) else {
                throw ValidationError("--max-new-tokens must be between 0 and 1048576, got \(maxNewTokens)")
            }
            if let temperature, !(temperature >= 0 && temperature.isFinite) {
                throw ValidationError("--temperature must be a finite number >= 0, got \(temperature)")
            }
            if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        }

        struct Output: Encodable {
            var promptIDs: [Int32]
            var ids: [Int32]
            var text: String?
            var finishReason: String
            var logProbs: [Float]

            enum CodingKeys: String, CodingKey {
                case promptIDs = "prompt_ids", ids, text, finishReason = "finish_reason", logProbs = "log_probs"
            }
        }

        func run() throws {
            try options.validateFolder()
            let tokenizer = promptIDs == nil ? try options.tokenizer(for: "use --prompt-ids") : nil
            let promptTokens: [Int32]
            if let promptIDs {
                promptTokens = try parseIDs(promptIDs, option: "--prompt-ids")
            } else if let chat, let tokenizer {
                let text = try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: chat)], addGenerationPrompt: true)
                promptTokens = tokenizer.encode(text, addSpecialTokens: false)
            } else {
                promptTokens = tokenizer!.encode(prompt!)
            }
            guard !promptTokens.isEmpty else { throw LMError("the prompt encodes to no tokens") }
            let model = try options.loadModel(bf16: bf16)
            try checkVocabulary(promptTokens, model: model, source: promptIDs != nil ? "--prompt-ids" : "prompt")
            let limit = model.config.maxPositionEmbeddings
            guard maxNewTokens <= limit - promptTokens.count else {
                throw LMError("prompt (\(promptTokens.count) tokens) plus --max-new-tokens \(maxNewTokens) exceeds the model's \(limit) positions")
            }

            let generationFile = options.folder.appendingPathComponent("generation_config.json")
            let defaults = FileManager.default.fileExists(atPath: generationFile.path) ? try GenerationConfig.load(from: generationFile) : nil
            var sampling = SamplingParameters(temperature: temperature ?? defaults?.temperature.map(Float.init) ?? 1,
                                              topP: topP ?? defaults?.topP.map(Float.init) ?? 1)
            if greedy || defaults?.doSample == false && temperature == nil { sampling = .greedy }
            let stops = StopTokens.resolve(tokenizer: tokenizer, config: model.config, generationConfig: defaults)

            var decode: (@Sendable ([Int32]) -> String)?
            if let tokenizer { decode = { ids in tokenizer.decode(ids) } }
            let generator = Generator(model: model, decode: decode)
            let run = GenerationOptions(maxNewTokens: maxNewTokens, sampling: sampling,
                                        stopTokenIDs: stops, seed: seed)
            let result = try generator.generate(prompts: [promptTokens], options: run)[0]
            if json {
                try printJSON(Output(promptIDs: promptTokens, ids: result.tokens, text: result.text,
                                     finishReason: result.finishReason.rawValue, logProbs: result.logProbs))
            } else {
                print(result.text ?? result.tokens.map(String.init).joined(separator: ","))
            }
        }
    }

    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print as JSON the log-probability of each token given the ones before it (null for the first)."
        )

        @OptionGroup var options: ModelOptions

        @Option(help: "Token ids, comma-separated (at least two).")
        var ids: String

        struct Output: Encodable {
            var ids: [Int32]
            var logProbs: [Float?]
            var total: Float

            enum CodingKeys: String, CodingKey { case ids, logProbs = "log_probs", total }
        }

        func run() throws {
            try options.validateFolder()
            let tokens = try parseIDs(ids, option: "--ids")
            guard tokens.count >= 2 else { throw LMError("--ids: need at least two tokens to score, got \(tokens.count)") }
            let model = try options.loadModel()
            try checkVocabulary(tokens, model: model, source: "--ids")
            guard tokens.count <= model.config.maxPositionEmbeddings else {
                throw LMError("--ids: \(tokens.count) tokens exceed the model's \(model.config.maxPositionEmbeddings) positions")
            }
            let scores = try withoutGradients {
                try model.tokenLogProbs(inputIDs: Tensor(tokens, shape: [1, tokens.count]), lastTokens: tokens.count - 1).toFloatArray()
            }
            try printJSON(Output(ids: tokens, logProbs: [nil] + scores, total: scores.reduce(0, +)))
        }
    }

    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print as JSON the token ids and tokens of a text.")

        @OptionGroup var options: ModelOptions

        @Option(help: "The text to encode.")
        var text: String

        @Flag(help: "Do not add the tokenizer's special prefix/suffix tokens.")
        var noSpecialTokens = false

        struct Output: Encodable {
            var ids: [Int32]
            var tokens: [String]
        }

        func run() throws {
            let tokenizer = try options.tokenizer(for: "tokenize needs them")
            let ids = tokenizer.encode(text, addSpecialTokens: !noSpecialTokens)
            try printJSON(Output(ids: ids, tokens: ids.map { tokenizer.token(for: $0) ?? "" }))
        }
    }
}
