import ArgumentParser
import FoundationEssentials
import RLMath
import RLApp
import RLDistributed
import RLModel
import RLReasoning
import RLTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Evaluates a Qwen2 checkpoint on the Open-RS benchmarks (AIME24, MATH-500, AMC23, Minerva,
/// OlympiadBench) with the reference harness's prompt and sampling settings.
@main
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a checkpoint on the Open-RS math benchmarks (zero-shot accuracy, pass@k).",
        discussion: """
            Writes <output>/<task>.jsonl (one line per completion, as it finishes), summary.json and
            summary.md (a table next to the paper's Table 2). Rerunning with the same --output skips
            completions already written.

              evaluate --model path/to/checkpoint --tasks aime24,amc23 --max-new-tokens 4096
              evaluate --model ckpt --tasks my.jsonl --problem-column question --answer-column final
            """
    )

    @Option(help: "Checkpoint folder: config.json, safetensors weights, tokenizer files with a chat template.")
    var model: String

    @Option(help: "A PEFT LoRA adapter folder (e.g. a LoRA run's checkpoint) applied live on top of --model.")
    var adapter: String?

    @Option(help: "Comma-separated tasks: aime24, math500, amc23, minerva, olympiadbench, all, or paths of .jsonl files.")
    var tasks: String = "all"

    @Option(help: "Folder of the task files (default: the benchmark files built into this program, the package's Data/eval).")
    var dataDir: String?

    @Option(help: "Samples per problem (1 = the paper's protocol; more gives pass@k).")
    var samples: Int = 1

    @Option(help: "Generation budget per completion (the reference allows 32768 minus the prompt).")
    var maxNewTokens: Int = 32768

    @Option(help: "Sampling temperature (0 = greedy).")
    var temperature: Float = 0.6

    @Option(help: "Nucleus sampling threshold.")
    var topP: Float = 0.95

    @Option(help: "Seed of the sampling.")
    var seed: UInt64 = 1234

    @Option(help: "cpu, cuda or cuda:N.")
    var backend: BackendChoice = .cpu

    @Option(help: "Name of the model in the summary (default: the model folder's name).")
    var name: String?

    @Option(help: "Output folder (default: eval-results/<name>).")
    var output: String?

    @Option(help: "Only the first N problems of each task.")
    var limit: Int?

    @Option(help: "Prompts generated together in one batch (each with all its samples).")
    var batchSize: Int = 8

    @Flag(help: "Keep keys and values in a paged KV cache: each prompt stored once for its samples, finished completions' memory reused, prompts beyond the budget generated as memory frees up. The same completions as without it.")
    var pagedKVCache = false

    @Option(help: "Tokens per block of the paged KV cache (with --paged-kv-cache).")
    var kvCacheBlockSize: Int = 16

    @Option(help: "The paged KV cache's share, in (0, 1], of the memory the device has left beside the weights (with --paged-kv-cache).")
    var kvCacheMemoryFraction: Double = 0.9

    @Option(help: "The paged KV cache's size in tokens, instead of the memory share (with --paged-kv-cache).")
    var kvCacheMaxTokens: Int?

    @Option(help: "Weight storage for matrices: bf16 (as the reference) or f32.")
    var weightType: WeightTypeChoice = .bf16

    @Option(help: "Comma-separated k for pass@k (default: 1, powers of two below --samples, --samples).")
    var passK: String?

    @Option(help: "math-query (the reference's MATH_QUERY_TEMPLATE, default) or raw (the problem text alone).")
    var prompt: EvaluationPromptStyle = .mathQuery

    @Option(help: "Question column of .jsonl tasks given by path.")
    var problemColumn: String = "problem"

    @Option(help: "Gold answer column of .jsonl tasks given by path.")
    var answerColumn: String = "answer"

    @Option(help: "Id column of .jsonl tasks given by path (line numbers when absent).")
    var idColumn: String = "id"

    @Option(help: "Column of further accepted answers (a list) of .jsonl tasks given by path.")
    var altAnswersColumn: String?

    mutating func validate() throws {
        // Ranges one process can hold, so a typo is an error rather than an out-of-memory abort.
        guard (1...4_096).contains(samples) else { throw ValidationError("--samples must be between 1 and 4096, got \(samples)") }
        guard (1...1_048_576).contains(maxNewTokens) else {
            throw ValidationError("--max-new-tokens must be between 1 and 1048576, got \(maxNewTokens)")
        }
        guard (1...4_096).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 4096, got \(batchSize)") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be >= 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard (1...4_096).contains(kvCacheBlockSize) else {
            throw ValidationError("--kv-cache-block-size must be between 1 and 4096, got \(kvCacheBlockSize)")
        }
        guard kvCacheMemoryFraction > 0 && kvCacheMemoryFraction <= 1 else {
            throw ValidationError("--kv-cache-memory-fraction must be in (0, 1], got \(kvCacheMemoryFraction)")
        }
        if let kvCacheMaxTokens, kvCacheMaxTokens < kvCacheBlockSize {
            throw ValidationError("--kv-cache-max-tokens must hold at least one block (--kv-cache-block-size \(kvCacheBlockSize)), got \(kvCacheMaxTokens)")
        }
        if let ks = try parsedPassK(), let bad = ks.first(where: { $0 < 1 || $0 > samples }) {
            throw ValidationError("--pass-k \(bad) is not between 1 and --samples (\(samples))")
        }
    }

    func parsedPassK() throws -> [Int]? {
        guard let passK else { return nil }
        return try passK.split(separator: ",").map {
            guard let k = Int($0.trimmingSpaces) else { throw ValidationError("--pass-k: \"\($0)\" is not a number") }
            return k
        }
    }

    func resolvedTasks() throws -> [EvaluationTask] {
        let names = tasks.split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        var result: [EvaluationTask] = []
        for name in names {
            if name == "all" {
                result += EvaluationTask.openRS
            } else if let task = EvaluationTask.named(name) {
                result.append(task)
            } else if name.hasSuffix(".jsonl") {
                let url = URL(fileURLWithPath: name)
                let stem = String(url.lastPathComponent.dropLast(".jsonl".count))
                result.append(EvaluationTask(name: stem, file: url.path, idColumn: idColumn, problemColumn: problemColumn,
                                             answerColumn: answerColumn, alternativeAnswersColumn: altAnswersColumn))
            } else {
                throw EvaluationError.unknownTask(name)
            }
        }
        guard !result.isEmpty else { throw ValidationError("--tasks names no task") }
        return result
    }

    func run() throws {
        // Started by mpirun/srun: this process is one rank; the ranks split the problems.
        var collective: any Collective = SingleProcess()
        do {
            if MPICollective.launchedByMPI { collective = try MPICollective.join() }
        } catch {
            printError("evaluate: started by an MPI launcher, but \(error)")
            throw ExitCode.failure
        }
        do {
            try evaluate(collective: collective)
            (collective as? MPICollective)?.finalize()
        } catch let error as ValidationError {
            throw error
        } catch {
            // One line for every refusal (file, config, tokenizer and evaluation errors alike).
            printError("evaluate: \(collective.worldSize > 1 ? "rank \(collective.rank): " : "")\(error)")
            throw ExitCode.failure
        }
    }

    func evaluate(collective: any Collective) throws {
        // Rank 0 alone reports and writes; the others print errors only.
        let isFirstRank = collective.rank == 0
        func printError(_ text: String) { if isFirstRank { writeAll(2, text + "\n") } }
        func print(_ text: String) { if isFirstRank { Swift.print(text) } }
        let device: Device
        do { device = try backend.device() } catch {
            throw EvaluationError.backendUnavailable("--backend \(backend): \(error)")
        }
        let tasks = try resolvedTasks()
        let modelURL = URL(fileURLWithPath: model)
        let dataDirectory = dataDir.map { URL(fileURLWithPath: $0) }
        let adapterURL = adapter.map { URL(fileURLWithPath: $0) }
        let modelName = name ?? (adapterURL ?? modelURL).standardizedFileURL.lastPathComponent
        let outputURL = URL(fileURLWithPath: output ?? "eval-results/\(modelName)")

        let loadStart = ContinuousClock.now
        let sampling = temperature == 0 ? SamplingParameters.greedy : SamplingParameters(temperature: temperature, topP: topP)
        var generator = try ModelCompletionGenerator.load(from: modelURL, adapter: adapterURL, weightType: weightType.dtype, device: device,
                                                          maxNewTokens: maxNewTokens, sampling: sampling, batchSize: batchSize)
        let positions = generator.model.config.maxPositionEmbeddings
        if maxNewTokens >= positions {
            printError("note: --max-new-tokens \(maxNewTokens) is more than the model's max_position_embeddings (\(positions)); "
                + "each completion ends (finish reason length) when prompt and completion fill the \(positions) positions")
        }
        printError("loaded \(modelName) (\(generator.model.config.numHiddenLayers) layers, hidden \(generator.model.config.hiddenSize)) in \(Self.seconds(since: loadStart)) s")
        if pagedKVCache {
            let paged = kvCacheMaxTokens.map { PagedCacheOptions(blockSize: kvCacheBlockSize, maxCachedTokens: $0) }
                ?? generator.pagedCache(memoryFraction: kvCacheMemoryFraction, blockSize: kvCacheBlockSize)
            generator.pagedCache = paged
            printError("paged KV cache: " + (paged.maxCachedTokens.map { "\($0) tokens" } ?? "every prompt of a batch at once (free memory unknown)")
                + " in blocks of \(kvCacheBlockSize)")
        }

        // Resuming is keyed on the weights' content, not the folder's name.
        var fingerprint = try ModelFingerprint.of(folder: modelURL)
        if let adapterURL { fingerprint = SHA256.hex(fingerprint + "+adapter:" + (try ModelFingerprint.of(folder: adapterURL))) }
        let settings = ["temperature": String(temperature), "top_p": String(topP), "max_new_tokens": String(maxNewTokens),
                        "backend": backend.description, "weight_type": weightType.rawValue, "batch_size": String(batchSize)]
        let configuration = EvaluationConfiguration(
            dataDirectory: dataDirectory, outputDirectory: outputURL, samples: samples, seed: seed, limit: limit,
            passKs: try parsedPassK(), modelName: modelName, modelFingerprint: fingerprint, settings: settings,
            promptStyle: prompt)
        let runner = try EvaluationRunner(generator: generator, configuration: configuration)
        runner.collective = collective
        if collective.worldSize > 1 { printError("data-parallel: \(collective.summary); each rank generates every \(collective.worldSize)th batch") }
        var bar: ProgressBar?
        let terminal = isatty(1) != 0
        runner.log = { printError($0) }
        runner.onProgress = { progress in
            if bar == nil { bar = ProgressBar(total: progress.total, isTerminal: terminal, write: { writeOut($0) }) }
            bar?.update(done: progress.done, label: progress.task)
        }
        let started = ContinuousClock.now
        let summary = try runner.run(tasks: tasks)
        guard isFirstRank else { return }
        do { try summary.writeMarkdown(to: outputURL) } catch {
            throw EvaluationError.output("\(outputURL.path): cannot write summary.md (\(fileErrorText(error)))")
        }
        bar?.finish()
        print("")
        print(summary.markdown())
        print("wrote \(outputURL.appendingPathComponent("summary.md").path) and summary.json in \(Self.seconds(since: started)) s")
    }

    static func seconds(since start: ContinuousClock.Instant) -> String {
        let d = ContinuousClock.now - start
        return String(Double(Int((Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) * 10)) / 10)
    }
}

/// Writes to a file descriptor directly (unbuffered, so the progress line shows at once).
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}

func writeOut(_ text: String) { writeAll(1, text) }

func printError(_ text: String) { writeAll(2, text + "\n") }

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
