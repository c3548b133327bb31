import FoundationEssentials
import Foundation
import RLModel
import RLReasoning
import RLTensor
import Testing
import RLTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A chat template and the special tokens it uses, for the byte-level test tokenizer.
struct TestChatFormat {
    var template: String
    var bos: String?
    var eos: String
    /// Further added tokens the template emits.
    var markers: [String]

    /// A DeepSeek-R1-style template (the Open-RS model's).
    static let deepSeek = TestChatFormat(
        template: """
        {{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}<｜User｜>{{ message['content'] }}{% elif message['role'] == 'assistant' %}<｜Assistant｜>{{ message['content'] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}
        """,
        bos: "<｜begin▁of▁sentence｜>", eos: "<｜end▁of▁sentence｜>", markers: ["<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"])

    /// Qwen3's own template (`Tests/Fixtures/chat-templates/qwen3.jinja`).
    static func qwen3() throws -> TestChatFormat {
        TestChatFormat(template: try fixtureText("chat-templates/qwen3.jinja"), bos: nil, eos: "<|im_end|>",
                       markers: ["<|im_start|>", "<think>", "</think>"])
    }

    /// Llama 3.2's own template (`Tests/Fixtures/chat-templates/llama-3.2.jinja`).
    static func llama3() throws -> TestChatFormat {
        TestChatFormat(template: try fixtureText("chat-templates/llama-3.2.jinja"), bos: "<|begin_of_text|>", eos: "<|eot_id|>",
                       markers: ["<|start_header_id|>", "<|end_header_id|>"])
    }

    private static func fixtureText(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: Fixtures.url(path)), as: UTF8.self)
    }
}

/// A copy of a tiny fixture checkpoint (vocabulary 512, random weights; default `qwen2-tiny`)
/// with a byte-level tokenizer and `format`'s chat template written next to it, so the real model
/// runs the whole evaluation or training flow (its completions are noise). `positions` replaces
/// the fixture's `max_position_embeddings` (256, fewer than a benchmark prompt's tokens).
func tinyEvaluationCheckpoint(fixture: String = "qwen2-tiny", format: TestChatFormat = .deepSeek, positions: Int = 2_048) throws -> URL {
    let folder = try temporaryDirectory("checkpoint")
    let source = Fixtures.url(fixture)
    for name in try FileManager.default.contentsOfDirectory(atPath: source.path)
    where name == "config.json" || name == "generation_config.json" || name.hasSuffix(".safetensors") && name != "expected.safetensors"
        || name.hasSuffix(".index.json") {
        try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
    }
    let configURL = folder.appendingPathComponent("config.json")
    var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
    config["max_position_embeddings"] = positions
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: configURL)
    var vocabulary: [String: Int32] = [:]
    for (id, token) in Tokenizer.byteLevelAlphabet.enumerated() { vocabulary[token] = Int32(id) }
    // A few merges so the prompt is not all single bytes: "the", " the", "Ġanswer".
    var merges: [(String, String)] = []
    for (left, right) in [("t", "h"), ("th", "e"), ("Ġ", "the"), ("a", "n"), ("an", "s"), ("ans", "w"), ("answ", "e"), ("answe", "r")] {
        merges.append((left, right))
        vocabulary[left + right] = Int32(vocabulary.count)
    }
    let special = [format.bos, format.eos].compactMap { $0 }
    let added = (special + format.markers).enumerated().map { index, content in
        AddedToken(id: Int32(vocabulary.count + index), content: content, special: special.contains(content))
    }
    let tokenizer = try Tokenizer(vocabulary: vocabulary, merges: merges, addedTokens: added, bosToken: format.bos,
                                  eosToken: format.eos, padToken: format.eos, chatTemplate: format.template)
    precondition(tokenizer.vocabularySize <= 512)
    try tokenizer.save(to: folder)
    return folder
}

/// Runs `executable` with `arguments`, stdout and stderr to `log`; returns the exit status.
func runProcess(_ executable: String, _ arguments: [String], log: URL) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    // A just-copied executable can be "busy" for a moment: another thread of this test process
    // that forks at the same time (the suites run in parallel) holds the copy's write descriptor
    // until its child execs. Retry that case only.
    var spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    for _ in 0..<100 where spawned == ETXTBSY {
        usleep(20_000)
        spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    }
    guard spawned == 0 else { return -1 }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}

@Suite("Evaluation end to end", .serialized)
struct EvaluationEndToEndTests {
    /// `markdown`: the `evaluate` tool also wrote `summary.md` (the library writes data only).
    func checkOutput(_ output: URL, tasks: [String], problems: Int, samples: Int, maxNewTokens: Int, markdown: Bool = true) throws {
        for task in tasks {
            let records = try EvaluationRecordFile(url: output.appendingPathComponent("\(task).jsonl")).readRecords()
            #expect(records.count == problems * samples, "\(task)")
            #expect(Set(records.map { "\($0.problemID)#\($0.sample)" }).count == records.count)
            #expect(records.allSatisfy { $0.tokens >= 1 && $0.tokens <= maxNewTokens && ["eos", "length"].contains($0.finishReason) })
            #expect(records.allSatisfy { $0.finishReason == "eos" || $0.tokens == maxNewTokens })
            // The raw lines carry every field the issue asks for.
            let line = try #require(String(decoding: Data(contentsOf: output.appendingPathComponent("\(task).jsonl")), as: UTF8.self)
                .split(separator: "\n").first)
            for key in ["problem_id", "sample", "completion", "extracted_answer", "correct", "tokens", "finish_reason"] {
                #expect(line.contains("\"\(key)\""), "\(key)")
            }
        }
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: output.appendingPathComponent("summary.json")))
        #expect(summary.tasks.map(\.task) == tasks)
        #expect(summary.tasks.allSatisfy { $0.problems == problems && $0.completions == problems * samples && $0.incompleteProblems == 0 })
        let markdownURL = output.appendingPathComponent("summary.md")
        if markdown {
            let text = String(decoding: try Data(contentsOf: markdownURL), as: UTF8.self)
            #expect(text.contains("(this run)") && text.contains("Open-RS1 (paper)"))
        } else {
            #expect(!FileManager.default.fileExists(atPath: markdownURL.path))
        }
    }

    @Test func libraryRunOnTheTinyFixture() throws {
        let checkpoint = try tinyEvaluationCheckpoint()
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        // RL_EVAL_FIXTURE_OUT=<folder> keeps a copy of the tiny checkpoint, for trying `evaluate` by hand.
        if let keep = ProcessInfo.processInfo.environment["RL_EVAL_FIXTURE_OUT"], !keep.isEmpty,
           !FileManager.default.fileExists(atPath: keep) {
            try FileManager.default.copyItem(at: checkpoint, to: URL(fileURLWithPath: keep))
        }
        let output = checkpoint.appendingPathComponent("results")
        let generator = try ModelCompletionGenerator.load(from: checkpoint, maxNewTokens: 6,
                                                          sampling: SamplingParameters(temperature: 0.6, topP: 0.95), batchSize: 2)
        let prompt = try generator.promptTokens(message: "Hi")
        #expect(generator.tokenizer.decode(prompt) == "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n")
        let tasks = [EvaluationTask.named("aime24")!, EvaluationTask.named("minerva")!]
        let configuration = EvaluationConfiguration(outputDirectory: output, samples: 2, seed: 7,
                                                    limit: 2, modelName: "qwen2-tiny")
        let summary = try EvaluationRunner(generator: generator, configuration: configuration).run(tasks: tasks)
        try checkOutput(output, tasks: ["aime24", "minerva"], problems: 2, samples: 2, maxNewTokens: 6, markdown: false)
        #expect(summary.timing["aime24"]?.problemsGenerated == 2)
        // Same seed, same output folder: nothing left to do, same summary.
        let again = try EvaluationRunner(generator: generator, configuration: configuration).run(tasks: tasks)
        #expect(again.tasks == summary.tasks && again.timing.isEmpty)
    }

    /// A budget past the model's positions: each completion ends when prompt and completion fill
    /// them (it used to run on past `max_position_embeddings`); a prompt that fills them alone is refused.
    @Test func completionsStopAtTheModelsPositions() throws {
        let checkpoint = try tinyEvaluationCheckpoint(positions: 256)
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let generator = try ModelCompletionGenerator.load(from: checkpoint, maxNewTokens: 1_000, sampling: .greedy, batchSize: 2)
        #expect(generator.model.config.maxPositionEmbeddings == 256)
        let messages = ["Hi", String(repeating: "What is the answer? ", count: 8)]
        var finished: [(Int, GeneratedCompletion)] = []
        try generator.generate(messages: messages, samplesPerPrompt: 1, seeds: [1, 2]) { prompt, _, completion in
            finished.append((prompt, completion))
        }
        #expect(finished.count == 2)
        for (prompt, completion) in finished {
            let promptLength = try generator.promptTokens(message: messages[prompt]).count
            #expect(promptLength + completion.tokenCount <= 256, "prompt \(promptLength) + \(completion.tokenCount)")
            #expect(completion.finishReason == .eos || promptLength + completion.tokenCount == 256)
        }
        let tooLong = String(repeating: "answer ", count: 300)
        #expect { try generator.generate(messages: [tooLong], samplesPerPrompt: 1, seeds: [1]) { _, _, _ in } } throws: {
            "\($0)".contains("leaves no room in the model's max_position_embeddings (256)")
        }
    }

    /// Refusals of the command line are one line with the reason: options out of range at parse
    /// time with the range, file errors with the path and the system's words.
    @Test func commandLineRefusals() throws {
        let built = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("evaluate").path
        try #require(FileManager.default.isExecutableFile(atPath: built), "evaluate executable not found at \(built)")
        let checkpoint = try tinyEvaluationCheckpoint(positions: 1_024)
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let log = checkpoint.appendingPathComponent("log.txt")
        func run(_ arguments: [String]) -> (status: Int32, text: String) {
            let status = runProcess(built, arguments, log: log)
            return (status, String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))
        }
        let base = ["--model", checkpoint.path, "--tasks", "aime24", "--limit", "1", "--weight-type", "f32"]
        for (option, value, expected) in [("--max-new-tokens", "9223372036854775807", "--max-new-tokens must be between 1 and 1048576"),
                                          ("--samples", "100000000", "--samples must be between 1 and 4096"),
                                          ("--batch-size", "0", "--batch-size must be between 1 and 4096"),
                                          ("--kv-cache-memory-fraction", "1.5", "--kv-cache-memory-fraction must be in (0, 1], got 1.5"),
                                          ("--kv-cache-block-size", "0", "--kv-cache-block-size must be between 1 and 4096")] {
            let refused = run(base + [option, value, "--output", checkpoint.appendingPathComponent("out").path])
            #expect(refused.status != 0 && refused.text.contains(expected), "\(option) \(value): \(refused.text)")
        }
        let missing = run(["--model", checkpoint.appendingPathComponent("nowhere").path, "--tasks", "aime24"])
        #expect(missing.status != 0, "\(missing.text)")
        #expect(missing.text == "evaluate: \(checkpoint.path)/nowhere/config.json: cannot read the file: No such file or directory\n",
                "\(missing.text)")
        let notAFolder = run(base + ["--output", log.appendingPathComponent("out").path])
        #expect(notAFolder.status != 0 && notAFolder.text.contains("cannot create the folder (Not a directory)")
                && !notAFolder.text.contains("Cocoa"), "\(notAFolder.text)")
        // The default budget (32768 new tokens) on a model with 1024 positions: a notice, and
        // completions that end within the positions.
        let output = checkpoint.appendingPathComponent("default-budget")
        let defaults = run(["--model", checkpoint.path, "--tasks", "aime24", "--limit", "1", "--output", output.path, "--temperature", "0"])
        #expect(defaults.status == 0 && defaults.text.contains("note: --max-new-tokens 32768 is more than the model's max_position_embeddings (1024)"),
                "\(defaults.text)")
        let records = try EvaluationRecordFile(url: output.appendingPathComponent("aime24.jsonl")).readRecords()
        #expect(records.count == 1 && records.allSatisfy { $0.tokens < 1_024 - 700 }, "\(records.map(\.tokens))")
    }

    /// The command line as a user runs it: a copy of the `evaluate` binary in another folder (the
    /// benchmark files are compiled into it), then `--data-dir` pointing at a folder of the user's.
    @Test func commandLineRunWithLimit2() throws {
        // The test bundle sits next to the package's executables in the build folder.
        let built = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("evaluate").path
        guard FileManager.default.isExecutableFile(atPath: built) else {
            Issue.record("evaluate executable not found at \(built); build it with `swift build --product evaluate`")
            return
        }
        let checkpoint = try tinyEvaluationCheckpoint()
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let executable = checkpoint.appendingPathComponent("evaluate-copy").path
        try FileManager.default.copyItem(atPath: built, toPath: executable)
        let output = checkpoint.appendingPathComponent("results")
        let log = checkpoint.appendingPathComponent("log.txt")
        let arguments = ["--model", checkpoint.path, "--tasks", "aime24,amc23", "--limit", "2",
                         "--max-new-tokens", "8", "--output", output.path, "--weight-type", "f32"]
        let status = runProcess(executable, arguments, log: log)
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(status == 0, "\(text)")
        try checkOutput(output, tasks: ["aime24", "amc23"], problems: 2, samples: 1, maxNewTokens: 8)
        #expect(text.contains("4/4 100%") && text.contains("(this run)"), "\(text)")

        // --paged-kv-cache writes the same completions.
        let pagedOutput = checkpoint.appendingPathComponent("results-paged")
        let pagedArguments = Array(arguments.dropLast(4)) + ["--output", pagedOutput.path, "--weight-type", "f32",
                                                             "--paged-kv-cache", "--kv-cache-block-size", "4"]
        let pagedStatus = runProcess(executable, pagedArguments, log: log)
        let pagedText = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(pagedStatus == 0 && pagedText.contains("paged KV cache: "), "\(pagedText)")
        for task in ["aime24", "amc23"] {
            func completions(_ folder: URL) throws -> [String: String] {
                let records = try EvaluationRecordFile(url: folder.appendingPathComponent("\(task).jsonl")).readRecords()
                return Dictionary(uniqueKeysWithValues: records.map { ("\($0.problemID)#\($0.sample)", $0.completion) })
            }
            let paged = try completions(pagedOutput), contiguous = try completions(output)
            #expect(paged.count == 2 && paged == contiguous, "\(task)")
        }

        // Other weights in the same folder (same name): the finished completions are not reused.
        let weights = checkpoint.appendingPathComponent("model.safetensors")
        let original = try Data(contentsOf: weights)
        var changed = original
        changed[changed.count - 1] ^= 1
        try changed.write(to: weights)
        let otherWeights = runProcess(executable, arguments, log: log)
        let otherText = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(otherWeights != 0 && otherText.contains("model_fingerprint (other weights or tokenizer)"), "\(otherText)")
        try original.write(to: weights)

        // --data-dir replaces the built-in files: a folder whose aime24.jsonl holds one problem.
        let userData = checkpoint.appendingPathComponent("my-data")
        try FileManager.default.createDirectory(at: userData, withIntermediateDirectories: true)
        try Data(#"{"id": "mine-1", "problem": "What is 2 + 2?", "answer": "4"}"#.utf8)
            .write(to: userData.appendingPathComponent("aime24.jsonl"))
        let userOutput = checkpoint.appendingPathComponent("results-user")
        let userArguments = ["--model", checkpoint.path, "--tasks", "aime24", "--data-dir", userData.path,
                             "--max-new-tokens", "4", "--output", userOutput.path]
        let userStatus = runProcess(executable, userArguments, log: log)
        #expect(userStatus == 0, "\(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))")
        let records = try EvaluationRecordFile(url: userOutput.appendingPathComponent("aime24.jsonl")).readRecords()
        #expect(records.map(\.problemID) == ["mine-1"])

        // A misspelt choice is a parse error naming the allowed values.
        for (flag, value, allowed) in [("--backend", "tpu", "'cuda:N'"), ("--weight-type", "f16", "'f32'"), ("--prompt", "chat", "'raw'")] {
            let refused = runProcess(executable, arguments + [flag, value], log: log)
            let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
            #expect(refused != 0 && text.contains(allowed), "\(flag) \(value): \(text)")
        }

        // Without a usable GPU, CUDA is refused with the reason.
        guard !CUDABackend.availability().isAvailable else { return }
        let cuda = runProcess(executable, arguments + ["--backend", "cuda"], log: log)
        #expect(cuda != 0)
        let refusal = String(decoding: try Data(contentsOf: log), as: UTF8.self)
        #expect(refusal.contains("--backend cuda: CUDA is not available: "), "\(refusal)")
    }
}
