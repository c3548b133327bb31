import FoundationEssentials
import RLDistributed
import RLModel

/// Settings of an evaluation run that are not the generator's.
public struct EvaluationConfiguration: Sendable {
    /// Where task files are read from; nil (the default) reads the benchmark files built into the
    /// package (see `EvaluationTask.openRS`).
    public var dataDirectory: URL?
    /// Where `<task>.jsonl` and `summary.json` are written.
    public var outputDirectory: URL
    /// Samples per problem (1 = the paper's protocol).
    public var samples: Int
    public var seed: UInt64
    /// Only the first `limit` problems of each task.
    public var limit: Int?
    /// pass@k values to report (default: 1, powers of two below `samples`, `samples`).
    public var passKs: [Int]?
    /// A name for the model in the summary.
    public var modelName: String
    /// The model's content identity (`ModelFingerprint.of(folder:)`, combined with the adapter's
    /// when there is one; `evaluate` sets it). It keys resuming: completions in the output folder
    /// are reused only for the same fingerprint. When nil, `modelName` keys it instead.
    public var modelFingerprint: String?
    /// Generation settings recorded in the summary (temperature, top_p, ...).
    public var settings: [String: String]
    /// How problems are put to the model (default: the reference's template).
    public var promptStyle: EvaluationPromptStyle

    public init(dataDirectory: URL? = nil, outputDirectory: URL, samples: Int = 1, seed: UInt64 = 1234, limit: Int? = nil,
                passKs: [Int]? = nil, modelName: String = "model", modelFingerprint: String? = nil, settings: [String: String] = [:],
                promptStyle: EvaluationPromptStyle = .mathQuery) {
        self.modelFingerprint = modelFingerprint
        self.dataDirectory = dataDirectory
        self.outputDirectory = outputDirectory
        self.samples = samples
        self.seed = seed
        self.limit = limit
        self.passKs = passKs
        self.modelName = modelName
        self.settings = settings
        self.promptStyle = promptStyle
    }
}

/// Progress of a run, reported after every completion.
public struct EvaluationProgress: Sendable {
    public var task: String
    /// Completions finished in this invocation, over all tasks.
    public var done: Int
    /// Completions this invocation has to generate, over all tasks (done ones are skipped).
    public var total: Int
}

/// Runs the benchmark tasks: prompts every problem, samples completions in batches through a
/// `CompletionGenerator`, scores them with RLMath, appends each to `<output>/<task>.jsonl` as it
/// finishes (skipping what an earlier run with the same output folder finished), and writes the
/// summary.
public final class EvaluationRunner {
    public let generator: any CompletionGenerator
    public let configuration: EvaluationConfiguration
    public let scorer: EvaluationScorer
    /// The ranks that share the work (default: this process alone). Each rank generates every
    /// N-th batch of prompts; rank 0 alone reads and writes the output folder and reports
    /// progress, so the records, the summary and resuming are those of one process.
    public var collective: any Collective = SingleProcess()
    /// Called after every completion and once at the start.
    public var onProgress: ((EvaluationProgress) -> Void)?
    /// Called with notes worth showing (resumed counts, unparseable golds).
    public var log: ((String) -> Void)?

    /// Throws `TrainingError.invalidSetting` when `configuration.samples` is below 1.
    public init(generator: any CompletionGenerator, configuration: EvaluationConfiguration, scorer: EvaluationScorer = EvaluationScorer()) throws {
        guard configuration.samples >= 1 else {
            throw TrainingError.invalidSetting(key: "samples", reason: "must be at least 1, got \(configuration.samples)")
        }
        self.generator = generator
        self.configuration = configuration
        self.scorer = scorer
    }

    /// The problems of `task` after `limit`.
    public func problems(of task: EvaluationTask) throws -> [EvaluationProblem] {
        let all = try task.loadProblems(dataDirectory: configuration.dataDirectory)
        if let limit = configuration.limit { return Array(all.prefix(max(0, limit))) }
        return all
    }

    private struct Pending {
        var problem: EvaluationProblem
        var golds: [String]
        var samples: [Int]
    }

    /// Runs `tasks` and writes `summary.json`; returns the summary (RLApp renders it as `summary.md`).
    @discardableResult
    public func run(tasks: [EvaluationTask]) throws -> EvaluationSummary {
        let output = configuration.outputDirectory
        let (rank, world) = (collective.rank, collective.worldSize)
        let isFirstRank = rank == 0
        try collective.together("checking \(output.path)") {
            guard isFirstRank else { return }
            do {
                try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            } catch {
                throw EvaluationError.output("\(output.path): cannot create the folder (\(fileErrorText(error)))")
            }
            try checkRunSettings(in: output)
        }
        let log = isFirstRank ? self.log : nil
        let onProgress = isFirstRank ? self.onProgress : nil
        let n = configuration.samples
        // Read every task and its finished records first, so the progress total is known.
        var plans: [(task: EvaluationTask, problems: [EvaluationProblem], file: EvaluationRecordFile, pending: [Pending])] = []
        for task in tasks {
            let problems = try problems(of: task)
            let file = EvaluationRecordFile(url: output.appendingPathComponent("\(task.name).jsonl"))
            // Rank 0 reads what is done; every rank plans from its list.
            let finishedKeys = try collective.together("reading \(file.url.lastPathComponent)") {
                isFirstRank ? try file.readRecords().map { "\($0.sample)#\($0.problemID)" }.joined(separator: "\n") : ""
            }
            let shared = try collective.broadcast(bytes: Array(finishedKeys.utf8), label: "finished completions of \(task.name)")
            var done: [String: Set<Int>] = [:]
            for key in String(decoding: shared, as: UTF8.self).split(separator: "\n") {
                guard let hash = key.firstIndex(of: "#"), let sample = Int(key[..<hash]) else { continue }
                done[String(key[key.index(after: hash)...]), default: []].insert(sample)
            }
            var pending: [Pending] = []
            var unparseable: [String] = []
            for problem in problems {
                let missing = (0..<n).filter { !(done[problem.id]?.contains($0) ?? false) }
                if missing.isEmpty { continue }
                let golds = scorer.parseableGolds(of: problem)
                if golds.isEmpty { unparseable.append(problem.id) }
                pending.append(Pending(problem: problem, golds: golds, samples: missing))
            }
            let finished = problems.count * n - pending.map(\.samples.count).reduce(0, +)
            if finished > 0 { log?("\(task.name): \(finished) completions already in \(file.url.path), skipping them") }
            if !unparseable.isEmpty {
                log?("\(task.name): RLMath cannot parse the gold answer of \(unparseable.count) problem(s): \(unparseable.joined(separator: ", ")) (scored as wrong, listed in the summary)")
            }
            plans.append((task, problems, file, pending))
        }
        // Every pending prompt is checked (its length, the generator's cache) before the first batch.
        for plan in plans {
            let messages = { (items: [Pending]) in items.map { self.configuration.promptStyle.message(for: $0.problem.problem) } }
            try generator.check(messages: messages(plan.pending.filter { $0.samples.count == n }), samplesPerPrompt: n)
            try generator.check(messages: messages(plan.pending.filter { $0.samples.count < n }), samplesPerPrompt: 1)
        }
        let total = plans.flatMap(\.pending).map(\.samples.count).reduce(0, +)
        var done = 0
        onProgress?(EvaluationProgress(task: (plans.first { !$0.pending.isEmpty } ?? plans.first)?.task.name ?? "", done: 0, total: total))
        var timing: [String: EvaluationTiming] = [:]

        for plan in plans {
            defer { plan.file.close() }
            let started = ContinuousClock.now
            var generated = EvaluationTiming()
            // Problems missing all samples share a prompt's prefill across their samples; the
            // leftovers of an interrupted run go one sample per prompt.
            let whole = plan.pending.filter { $0.samples.count == n }
            let partial = plan.pending.filter { $0.samples.count < n }.flatMap { item in
                item.samples.map { Pending(problem: item.problem, golds: item.golds, samples: [$0]) }
            }
            let batch = generator.preferredBatchSize
            var groups: [(items: [Pending], samplesPerPrompt: Int)] = []
            for start in stride(from: 0, to: whole.count, by: batch) {
                groups.append((Array(whole[start..<min(start + batch, whole.count)]), n))
            }
            let singleBatch = max(1, batch * n)
            for start in stride(from: 0, to: partial.count, by: singleBatch) {
                groups.append((Array(partial[start..<min(start + singleBatch, partial.count)]), 1))
            }
            // Rank r takes groups r, r + N, ...; after each round of N groups the records go to rank 0.
            for round in stride(from: 0, to: groups.count, by: world) {
                let roundGroups = groups[round..<min(round + world, groups.count)]
                var produced: [EvaluationRecord] = []
                if round + rank < groups.count {
                    try generate(groups[round + rank], task: plan.task.name) { record in
                        if world == 1 { try plan.file.append(record) } else { produced.append(record) }
                        done += 1
                        onProgress?(EvaluationProgress(task: plan.task.name, done: done, total: total))
                    }
                }
                if world > 1 {
                    let encoded = try produced.map { try $0.jsonLine() }.joined(separator: "\n")
                    let all = try collective.allGather(bytes: Array(encoded.utf8), label: "\(plan.task.name) records")
                    let lines = all.flatMap { String(decoding: $0, as: UTF8.self).split(separator: "\n") }
                    done += lines.count - produced.count
                    try collective.together("writing \(plan.file.url.lastPathComponent)") {
                        guard isFirstRank else { return }
                        for line in lines { try plan.file.append(try JSONDecoder().decode(EvaluationRecord.self, from: Data(line.utf8))) }
                    }
                    onProgress?(EvaluationProgress(task: plan.task.name, done: done, total: total))
                }
                generated.completionsGenerated += roundGroups.reduce(0) { $0 + $1.items.count * $1.samplesPerPrompt }
                generated.problemsGenerated += roundGroups.reduce(0) { $0 + Set($1.items.map(\.problem.id)).count }
            }
            let elapsed = ContinuousClock.now - started
            generated.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if generated.completionsGenerated > 0 { timing[plan.task.name] = generated }
        }
        // Rank 0 summarises; the others receive its summary.
        let summaryJSON = try collective.together("summarising") { () -> [UInt8] in
            guard isFirstRank else { return [] }
            return Array(try summarize(plans.map { ($0.task, $0.problems, $0.file) }, timing: timing).jsonData())
        }
        let shared = try collective.broadcast(bytes: summaryJSON, label: "summary")
        do {
            return try JSONDecoder().decode(EvaluationSummary.self, from: Data(shared))
        } catch {
            throw EvaluationError.output("the summary rank 0 sent cannot be read: \(error)")
        }
    }

    /// One batch of prompts: each completion's seed depends only on (run seed, task, problem,
    /// sample), so a resumed run, another batch size or another rank draws the same samples.
    private func generate(_ group: (items: [Pending], samplesPerPrompt: Int), task: String,
                          record: (EvaluationRecord) throws -> Void) throws {
        let seeds = group.items.flatMap { item in
            (0..<group.samplesPerPrompt).map { s in
                Self.sampleSeed(configuration.seed, task: task, problemID: item.problem.id,
                                sample: group.samplesPerPrompt == 1 ? item.samples[0] : s)
            }
        }
        try generator.generate(messages: group.items.map { configuration.promptStyle.message(for: $0.problem.problem) },
                               samplesPerPrompt: group.samplesPerPrompt, seeds: seeds) { promptIndex, sampleIndex, completion in
            let item = group.items[promptIndex]
            let sample = group.samplesPerPrompt == 1 ? item.samples[0] : sampleIndex
            try record(scorer.score(task: task, problem: item.problem, parseableGolds: item.golds, sample: sample, completion: completion))
        }
    }

    /// Writes `summary.json` from the task files and returns the summary.
    private func summarize(_ plans: [(task: EvaluationTask, problems: [EvaluationProblem], file: EvaluationRecordFile)],
                           timing: [String: EvaluationTiming]) throws -> EvaluationSummary {
        let n = configuration.samples
        let summaries = try plans.map { plan in
            TaskSummary(task: plan.task, problems: plan.problems, records: try plan.file.readRecords(), samples: n,
                        ks: configuration.passKs)
        }
        var settings = configuration.settings
        settings["samples"] = String(n)
        settings["seed"] = String(configuration.seed)
        settings["prompt"] = configuration.promptStyle.rawValue
        if let limit = configuration.limit { settings["limit"] = String(limit) }
        let summary = EvaluationSummary(model: configuration.modelName, settings: settings, tasks: summaries, timing: timing)
        do {
            try summary.jsonData().write(to: configuration.outputDirectory.appendingPathComponent("summary.json"), options: .atomic)
        } catch {
            throw EvaluationError.output("\(configuration.outputDirectory.path): cannot write the summary (\(fileErrorText(error)))")
        }
        return summary
    }

    /// Settings that change what a completion is; an output folder holds completions of one
    /// combination only, so resuming never mixes runs. The model is `model_fingerprint` (its
    /// content) when known, else `model` (its name).
    public var identity: [String: String] {
        var identity = configuration.settings.filter { !["batch_size", "backend", "limit", "samples"].contains($0.key) }
        if let fingerprint = configuration.modelFingerprint {
            identity["model_fingerprint"] = fingerprint
        } else {
            identity["model"] = configuration.modelName
        }
        identity["seed"] = String(configuration.seed)
        identity["prompt"] = configuration.promptStyle.rawValue
        return identity
    }

    /// Writes `run.json` (the `identity`) into a fresh output folder, or checks that a resumed
    /// folder was written with the same settings.
    func checkRunSettings(in output: URL) throws {
        let url = output.appendingPathComponent("run.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = FileManager.default.contents(atPath: url.path) {
            guard let stored = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw EvaluationError.output("\(url.path) is not a settings file; use another output folder")
            }
            let differences = Set(stored.keys).union(identity.keys).sorted().filter { stored[$0] != identity[$0] }
            if !differences.isEmpty, let name = stored["model"], stored["model_fingerprint"] == nil, identity["model_fingerprint"] != nil {
                throw EvaluationError.output("\(output.path) holds completions of a model known only by its folder name (\"\(name)\", "
                    + "written by an earlier evaluate), so they cannot be matched to this model's weights; use another output folder, "
                    + "or delete \(url.lastPathComponent) there if they came from exactly these weights")
            }
            guard differences.isEmpty else {
                let list = differences.map { key in
                    key == "model_fingerprint" ? "model_fingerprint (other weights or tokenizer)"
                        : "\(key) \(stored[key] ?? "unset") -> \(identity[key] ?? "unset")"
                }.joined(separator: ", ")
                throw EvaluationError.output("\(output.path) holds completions made with other settings (\(list)); use another output folder")
            }
        } else {
            do {
                try encoder.encode(identity).write(to: url, options: .atomic)
            } catch {
                throw EvaluationError.output("\(url.path): cannot write (\(fileErrorText(error)))")
            }
        }
    }

    /// The seed of one completion: the run seed mixed with the task, the problem and the sample
    /// index.
    static func sampleSeed(_ seed: UInt64, task: String, problemID: String, sample: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in (task + "\u{0}" + problemID + "\u{0}" + String(sample)).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        var z = seed ^ hash
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
