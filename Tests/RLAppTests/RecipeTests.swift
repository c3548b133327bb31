import FoundationEssentials
@testable import RLApp
import RLReasoning
import Testing

/// The repository's recipes folder.
private let recipesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("recipes")

/// A fresh temporary folder.
private func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rl-app-\(name)-\(UInt64.random(in: 0 ... .max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `text` to a temporary recipe file and reads it with `overrides`.
private func recipe(_ text: String, overrides: [(key: String, value: String)] = []) throws -> Recipe {
    let folder = try temporaryFolder("recipe")
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("recipe.yaml")
    try Data(text.utf8).write(to: url)
    return try Recipe(contentsOf: url, overrides: overrides)
}

/// The error text of `body`, or nil when it does not throw.
private func errorText(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch { return "\(error)" }
}

/// The value of `key` in a parsed YAML document.
private func yaml(_ text: String, _ key: String) throws -> RecipeValue? {
    try RecipeYAML.parse(text).first { $0.0 == key }?.1
}

/// Recipes: the Open-RS recipe file, inert and unknown keys, command-line overrides, type errors,
/// and the YAML subset the parser accepts (`docs/openrs-reference.md` §1.2, §1.4, §1.6).
@Suite("Recipes")
struct RecipeTests {
    /// §1.6, typed here from the reference, not copied from the implementation.
    static let referenceSystemPrompt = #"A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer, and put your final answer within \boxed{{}} . The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. Note that respond by English, NOT use other languages."#

    @Test("recipes/openrs-grpo.yaml reads as the reference recipe (§1.2)")
    func openRSRecipe() throws {
        let r = try Recipe(contentsOf: recipesFolder.appendingPathComponent("openrs-grpo.yaml"))
        let c = r.configuration
        #expect(c.learningRate == 1e-6)
        #expect(c.numGenerations == 6)
        #expect(c.maxPromptLength == 512)
        #expect(c.maxCompletionLength == 3584)
        #expect(c.lrSchedulerType == .cosineWithMinLR)
        #expect(c.minLRRate == 0.1)
        #expect(c.warmupRatio == 0.1)
        #expect(c.rewardFuncs == [.format, .cosine])
        #expect(c.rewardWeights == [1, 2])
        #expect(c.seed == 42)
        #expect(c.saveSteps == 50)
        #expect(c.temperature == 0.7)
        #expect(c.maxSteps == 500)
        #expect(c.gradientAccumulationSteps == 4)
        #expect(c.perDeviceTrainBatchSize == 6)
        #expect(c.gradientCheckpointing)
        #expect(c.loggingSteps == 1)
        #expect(c.logCompletions)
        #expect(c.systemPrompt == Self.referenceSystemPrompt)
        #expect(c.systemPrompt == GRPOConfiguration.openRSSystemPrompt)
        #expect(r.modelNameOrPath == "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
        #expect(r.datasetName == "knoveleng/open-rs")
        #expect(r.outputDirectory == "data/OpenRS-GRPO")
        // Left at TRL 69ad852 / script defaults: β 0.04, ε 0.2, μ 1, bnpo, group scaling, clip 1.0,
        // cosine_max_len 1000 (Exp3 passed --cosine_max_len 3584 on the command line).
        #expect(c.beta == 0.04 && c.epsilon == 0.2 && c.numIterations == 1 && c.maxGradNorm == 1)
        #expect(c.lossType == .bnpo && c.scaleRewards == .group && c.epsilonHigh == nil)
        #expect(c.cosineMaxLength == 1000 && c.cosineMinValueWrong == 0 && c.cosineMaxValueWrong == -0.5)
        #expect(c.cosineMinValueCorrect == 0.5 && c.cosineMaxValueCorrect == 1 && c.cosineVariant == .faithful)
        #expect(c.adamBeta1 == 0.9 && c.adamBeta2 == 0.999 && c.adamEpsilon == 1e-8 && c.weightDecay == 0)
        #expect(r.warnings.isEmpty, "unexpected warnings \(r.warnings)")
        #expect(c.overwriteOutputDir, "overwrite_output_dir: true applies to the output folder")
        #expect(c.matmulPrecision == .bfloat16, "bf16: true (mixed precision) gives bf16 products")
        // Every key of the file that has no effect here is reported, vllm_enforce_eager included.
        let inert: Set = ["model_revision", "torch_dtype", "attn_implementation", "use_vllm", "vllm_device",
                          "vllm_enforce_eager", "vllm_gpu_memory_utilization", "vllm_max_model_len", "do_eval",
                          "gradient_checkpointing_kwargs", "hub_model_id", "hub_strategy", "log_level", "logging_first_step",
                          "logging_strategy", "num_train_epochs", "per_device_eval_batch_size",
                          "push_to_hub", "report_to", "save_strategy"]
        #expect(Set(r.ignored) == inert)
        #expect(r.ignored.count == inert.count, "a key reported twice: \(r.ignored)")
    }

    @Test("the Open-RS schedule: warmup 50 of 500 steps, cosine down to 0.1 (§1.4)")
    func openRSSchedule() throws {
        let c = try Recipe(contentsOf: recipesFolder.appendingPathComponent("openrs-grpo.yaml")).configuration
        let schedule = c.learningRateSchedule()
        // s < 50: s/50 (the first update uses LR 0); s ≥ 50: 0.1 + 0.9·½(1 + cos(π(s − 50)/450))
        #expect(schedule.multiplier(atStep: 0) == 0)
        #expect(abs(schedule.multiplier(atStep: 25) - 0.5) <= 1e-12)
        #expect(abs(schedule.multiplier(atStep: 50) - 1) <= 1e-12)
        // s = 275: p = ½ → 0.1 + 0.45 = 0.55
        #expect(abs(schedule.multiplier(atStep: 275) - 0.55) <= 1e-12)
        // s = 500: p = 1 → 0.1
        #expect(abs(schedule.multiplier(atStep: 500) - 0.1) <= 1e-12)
    }

    @Test("inert keys go to `ignored`, unknown keys (typos) to `warnings`, and change nothing")
    func ignoredAndWarnings() throws {
        let r = try recipe("""
            use_vllm: true
            report_to: [wandb]
            learnig_rate: 5.0e-3
            num_generation: 3
            lr_scheduler_kwargs:
              min_lr_rate: 0.2
              min_lr: 1.0e-7
            """)
        #expect(r.ignored == ["use_vllm", "report_to"])
        #expect(r.warnings == ["learnig_rate", "num_generation", "lr_scheduler_kwargs.min_lr"])
        #expect(r.configuration.learningRate == 1e-6)
        #expect(r.configuration.numGenerations == 6)
        #expect(r.configuration.minLRRate == 0.2)
    }

    @Test("command-line overrides win over the file, the last one over earlier ones")
    func overrides() throws {
        let r = try recipe("""
            learning_rate: 1.0e-6
            num_generations: 6
            reward_funcs: [format, cosine]
            reward_weights: [1.0, 2.0]
            seed: 42
            system_prompt: "from the file"
            """, overrides: [("learning_rate", "2e-6"), ("num-generations", "3"), ("reward_funcs", "accuracy,format_reward"),
                             ("reward_weights", "[1, 3]"), ("cosine_max_len", "3584"), ("seed", "1"), ("seed", "2"),
                             ("system_prompt", "Think: then answer. # not a comment"), ("scale_rewards", "false"),
                             ("loss_type", "dr_grpo"), ("epsilon_high", "0.28"), ("rollout_dtype", "bfloat16"),
                             ("matmul_precision", "bfloat16")])
        let c = r.configuration
        #expect(c.learningRate == 2e-6)
        #expect(c.numGenerations == 3)
        #expect(c.rewardFuncs == [.accuracy, .format])
        #expect(c.rewardWeights == [1, 3])
        #expect(c.cosineMaxLength == 3584)
        #expect(c.seed == 2)
        #expect(c.systemPrompt == "Think: then answer. # not a comment")
        #expect(c.scaleRewards == RewardScaling.none)
        #expect(c.lossType == .drGRPO)
        #expect(c.epsilonHigh == 0.28)
        #expect(c.rolloutDtype == .bfloat16)
        #expect(c.matmulPrecision == .bfloat16)
        // Without a file, overrides alone.
        let bare = try Recipe(contentsOf: nil, overrides: [("max_steps", "7"), ("scale_rewards", "batch")])
        #expect(bare.configuration.maxSteps == 7 && bare.configuration.scaleRewards == .batch)
    }

    @Test("bf16: true gives bf16 products unless matmul_precision is given, in either order")
    func mixedPrecision() throws {
        #expect(try recipe("bf16: true\n").configuration.matmulPrecision == .bfloat16)
        #expect(try recipe("bf16: false\n").configuration.matmulPrecision == .float32)
        #expect(try recipe("max_steps: 3\n").configuration.matmulPrecision == .float32)
        #expect(try recipe("bf16: true\nmatmul_precision: float32\n").configuration.matmulPrecision == .float32)
        #expect(try recipe("matmul_precision: float32\nbf16: true\n").configuration.matmulPrecision == .float32)
        #expect(try recipe("bf16: true\n", overrides: [("matmul_precision", "float32")]).configuration.matmulPrecision == .float32)
        #expect(!(try recipe("bf16: true\n").ignored.contains("bf16")))
    }

    @Test("the paged KV cache keys: off by default, read from the file and overrides")
    func pagedKVCacheKeys() throws {
        let defaults = try recipe("").configuration
        #expect(!defaults.pagedKVCache && defaults.kvCacheBlockSize == 16 && defaults.kvCacheMemoryFraction == 0.9
                && defaults.kvCacheMaxTokens == nil)
        let c = try recipe("""
            paged_kv_cache: true
            kv_cache_block_size: 32
            kv_cache_memory_fraction: 0.5
            """, overrides: [("kv-cache-max-tokens", "200000")]).configuration
        #expect(c.pagedKVCache && c.kvCacheBlockSize == 32 && c.kvCacheMemoryFraction == 0.5 && c.kvCacheMaxTokens == 200_000)
        #expect(try recipe("kv_cache_max_tokens: null").configuration.kvCacheMaxTokens == nil)
        // Without paged_kv_cache they change nothing, and say so.
        let off = try recipe("kv_cache_block_size: 8\nkv_cache_memory_fraction: 0.5")
        #expect(off.ignored == ["kv_cache_block_size", "kv_cache_memory_fraction"])
        #expect(try recipe("paged_kv_cache: true\nkv_cache_block_size: 8").ignored.isEmpty)
    }

    @Test("a value of the wrong type is an error naming the key", arguments: [
        ("num_generations: six", "num_generations"),
        ("num_generations: 6.5", "num_generations"),
        ("learning_rate: fast", "learning_rate"),
        ("learning_rate: [1, 2]", "learning_rate"),
        ("gradient_checkpointing: 1", "gradient_checkpointing"),
        ("reward_weights: [1, heavy]", "reward_weights"),
        ("reward_funcs: {format: 1}", "reward_funcs"),
        ("lr_scheduler_kwargs: 0.1", "lr_scheduler_kwargs"),
        ("lr_scheduler_kwargs: {min_lr_rate: low}", "lr_scheduler_kwargs.min_lr_rate"),
        ("loss_type: ppo", "loss_type"),
        ("rollout_dtype: float16", "rollout_dtype"),
        ("matmul_precision: tf32", "matmul_precision"),
        ("scale_rewards: sometimes", "scale_rewards"),
        ("cosine_variant: clamped", "cosine_variant"),
        ("unparseable_gold: ignore", "unparseable_gold"),
        ("seed: -1", "seed"),
        ("save_steps: 0", "save_steps"),
        ("save_steps: 0.1", "save_steps"),
        ("reward_funcs: [format, typo_reward]", "reward_funcs"),
        ("reward_weights: [1.0]", "reward_weights"),
        ("per_device_train_batch_size: 5", "per_device_train_batch_size"),
        ("lr_scheduler_type: exponential", "lr_scheduler_type"),
        ("paged_kv_cache: 1", "paged_kv_cache"),
        ("kv_cache_block_size: 0", "kv_cache_block_size"),
        ("kv_cache_memory_fraction: 1.5", "kv_cache_memory_fraction"),
        ("kv_cache_memory_fraction: 0", "kv_cache_memory_fraction"),
        ("kv_cache_max_tokens: 64", "kv_cache_max_tokens"),
    ])
    func typeErrors(_ text: String, _ key: String) throws {
        do {
            _ = try recipe(text)
            Issue.record("'\(text)' was accepted")
        } catch let error as TrainingError {
            guard case .invalidSetting(let named, _) = error else { Issue.record("unexpected error \(error)"); return }
            #expect(named == key, "\(error)")
            #expect(error.description.contains(key))
        }
    }

    /// A misspelt choice is a parse error listing the allowed spellings.
    @Test("an unknown choice lists the allowed values", arguments: [
        ("lr_scheduler_type: cosine_min_lr", "constant, constant_with_warmup, linear, cosine, cosine_with_min_lr"),
        ("loss_type: ppo", "grpo"),
        ("cosine_variant: clamped", "faithful, fixed"),
        ("unparseable_gold: ignore", "no_score"),
    ])
    func choices(_ text: String, _ allowed: String) {
        let message = errorText { try recipe(text) }
        #expect(message?.contains(allowed) == true, "\(message ?? "accepted")")
    }

    /// Deep flow nesting is refused before the parser recurses into it, also after an apostrophe
    /// in plain text on an earlier line.
    @Test("deeply nested lists are refused")
    func deepNesting() {
        let deep = String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
        for text in ["a: \(deep)\n", "a: Don't guess\nb: \(deep)\n"] {
            let message = errorText { try recipe(text) }
            #expect(message?.contains("nested more than 32 levels deep") == true, "\(message ?? "accepted")")
        }
        #expect(throws: Never.self) { try recipe("a: Don't guess\nreward_funcs: [format]\nreward_weights: [1.0]\n") }
        // Nesting the bracket scan cannot see (an apostrophe inside a flow list hides the rest of
        // its line; block sequences and indentation have no brackets): libyaml's nesting limit
        // stops them, reported in the same words with the line.
        var indented = "a:\n"
        for level in 1..<1_500 { indented += String(repeating: " ", count: level) + "k\(level):\n" }
        for (text, line) in [("a: [it's, \(deep)]\n", 1), ("a:\n  " + String(repeating: "- ", count: 20_000) + "v\n", 2), (indented, 1_000)] {
            let message = errorText { try recipe(text) }
            #expect(message?.contains("line \(line): nested too deeply (more than 1000 levels)") == true, "\(message ?? "accepted")")
        }
    }

    /// Yams resolves an alias to the anchored node, so twelve lines of aliases of aliases stand
    /// for 9^12 values; the value budget stops them at once instead of running out of memory
    /// (found by the hardening probe).
    @Test("an alias bomb is refused, not expanded")
    func aliasBomb() {
        var text = "learning_rate: 1.0e-3\na0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<12 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        let started = ContinuousClock.now
        let message = errorText { try recipe(text) }
        #expect(message?.contains("more than 100000 values") == true, "\(message ?? "accepted")")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("a bad override is an error naming the key")
    func badOverride() {
        let text = errorText { try Recipe(contentsOf: nil, overrides: [("max_steps", "many")]) }
        #expect(text?.contains("max_steps") == true, "\(text ?? "accepted")")
    }

    // MARK: the YAML subset

    @Test("scalars: ints, floats, booleans, nulls, plain text")
    func scalars() throws {
        let doc = """
            a: 42
            b: -3
            c: 1.0e-06
            d: 0.7
            e: true
            f: False
            g: null
            h: ~
            i:
            j: cosine_with_min_lr
            k: data/OpenRS-GRPO
            l: 1e-6
            """
        #expect(try yaml(doc, "a") == .int(42))
        #expect(try yaml(doc, "b") == .int(-3))
        #expect(try yaml(doc, "c") == .double(1e-6))
        #expect(try yaml(doc, "d") == .double(0.7))
        #expect(try yaml(doc, "e") == .bool(true))
        #expect(try yaml(doc, "f") == .bool(false))
        #expect(try yaml(doc, "g") == .null)
        #expect(try yaml(doc, "h") == .null)
        #expect(try yaml(doc, "i") == .null)
        #expect(try yaml(doc, "j") == .string("cosine_with_min_lr"))
        #expect(try yaml(doc, "k") == .string("data/OpenRS-GRPO"))
        #expect(try yaml(doc, "l") == .double(1e-6))
    }

    @Test("quotes and escapes")
    func quotes() throws {
        let doc = #"""
            single: 'it''s here'
            double: "tab\tnew\nquote\" slash\\ unicode \u00e9"
            braces: "\\boxed{{}} ."
            colon: "a: b"
            "quoted key": 1
            ends_in_backslash: "C:\\"
            empty: ""
            """#
        #expect(try yaml(doc, "single") == .string("it's here"))
        #expect(try yaml(doc, "double") == .string("tab\tnew\nquote\" slash\\ unicode é"))
        #expect(try yaml(doc, "braces") == .string(#"\boxed{{}} ."#))
        #expect(try yaml(doc, "colon") == .string("a: b"))
        #expect(try yaml(doc, "quoted key") == .int(1))
        #expect(try yaml(doc, "ends_in_backslash") == .string(#"C:\"#))
        #expect(try yaml(doc, "empty") == .string(""))
    }

    @Test("comments: whole lines, after values, never inside quotes or words")
    func comments() throws {
        let doc = #"""
            # a comment line
            ---
            a: 5 # after a value
              # an indented comment line
            b: "x # inside double quotes" # after
            c: 'y # inside single quotes'   # after
            d: a#b
            e: "C:\\"  # after a string ending in a backslash
            f: Don't guess # after a plain value with an apostrophe
            g: [1, 2] # after a flow list
            """#
        #expect(try yaml(doc, "a") == .int(5))
        #expect(try yaml(doc, "b") == .string("x # inside double quotes"))
        #expect(try yaml(doc, "c") == .string("y # inside single quotes"))
        #expect(try yaml(doc, "d") == .string("a#b"))
        #expect(try yaml(doc, "e") == .string(#"C:\"#))
        #expect(try yaml(doc, "f") == .string("Don't guess"))
        #expect(try yaml(doc, "g") == .list([.int(1), .int(2)]))
        #expect(try RecipeYAML.parse(doc).map(\.0) == ["a", "b", "c", "d", "e", "f", "g"])
    }

    @Test("flow and block lists, nested and flow mappings, block scalars")
    func collections() throws {
        let doc = """
            flow: [format, "b, c", 3, 1.5]
            nested: [[1, 2], []]
            block:
              - format
              - 2.0
            flush:
            - cosine
            kwargs:
              min_lr_rate: 0.1
              inner:
                deep: true
            flow_map: {a: 1, b: [2, 3]}
            literal: |
              line one
              line two
            folded: >-
              one
              two
            after: end
            """
        #expect(try yaml(doc, "flow") == .list([.string("format"), .string("b, c"), .int(3), .double(1.5)]))
        #expect(try yaml(doc, "nested") == .list([.list([.int(1), .int(2)]), .list([])]))
        #expect(try yaml(doc, "block") == .list([.string("format"), .double(2)]))
        #expect(try yaml(doc, "flush") == .list([.string("cosine")]))
        #expect(try yaml(doc, "kwargs") == .mapping([("min_lr_rate", .double(0.1)), ("inner", .mapping([("deep", .bool(true))]))]))
        #expect(try yaml(doc, "flow_map") == .mapping([("a", .int(1)), ("b", .list([.int(2), .int(3)]))]))
        // JSON-style quoted keys lose their quotes (a colon inside them is part of the key).
        #expect(try yaml(#"m: {"min_lr_rate": 0.2, 'a: b' : "c"}"#, "m") == .mapping([("min_lr_rate", .double(0.2)), ("a: b", .string("c"))]))
        let json = try recipe(#"lr_scheduler_kwargs: {"min_lr_rate": 0.2}"#)
        #expect(json.configuration.minLRRate == 0.2)
        #expect(json.warnings.isEmpty, "\(json.warnings)")
        #expect(try yaml(doc, "literal") == .string("line one\nline two\n"))
        #expect(try yaml(doc, "folded") == .string("one two"))
        #expect(try yaml(doc, "after") == .string("end"))
    }

    @Test("block scalars are text: no comments inside, blank lines and relative indentation kept")
    func blockScalars() throws {
        let doc = """
            system_prompt: |
              Don't guess. # Headings are fine.
                indented 'more'

              after a blank line
            # a comment after the block
            folded: >
              one
              two

              three
            empty: |
            next: 1
            """
        #expect(try yaml(doc, "system_prompt") == .string("Don't guess. # Headings are fine.\n  indented 'more'\n\nafter a blank line\n"))
        #expect(try yaml(doc, "folded") == .string("one two\nthree\n"))
        #expect(try yaml(doc, "empty") == .string(""))
        #expect(try yaml(doc, "next") == .int(1))
        let r = try recipe("system_prompt: |-\n  Use # for headings.\nseed: 3\n")
        #expect(r.configuration.systemPrompt == "Use # for headings.")
        #expect(r.configuration.seed == 3)
    }

    @Test("Windows line endings and a byte-order mark read like plain LF text")
    func lineEndings() throws {
        let lf = "# recipe\nlearning_rate: 2.0e-6\n\nreward_funcs:\n- format\n- cosine\nsystem_prompt: \"x\" # c\n"
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        let expected = try RecipeYAML.parse(lf)
        #expect(expected.map(\.0) == ["learning_rate", "reward_funcs", "system_prompt"])
        let parsed = try RecipeYAML.parse(crlf)
        #expect(parsed.map(\.0) == expected.map(\.0))
        #expect(zip(parsed, expected).allSatisfy { $0.1 == $1.1 }, "\(parsed)")
        let bom = try RecipeYAML.parse("\u{FEFF}" + lf)
        #expect(bom.map(\.0) == expected.map(\.0))
        // Line numbers count CRLF lines too.
        do {
            _ = try RecipeYAML.parse("a: 1\r\nb: 2\r\nnot a mapping\r\n")
            Issue.record("accepted")
        } catch let error as RecipeYAML.ParseError {
            #expect(error.line == 3)
        }
        // And through a file.
        #expect(try recipe(crlf).configuration.learningRate == 2e-6)
    }

    @Test("malformed YAML is an error naming the line", arguments: [
        ("a: 1\nthis is not a mapping\n", 2),
        ("a: 1\nb: \"unclosed\n", 2),
        ("a: 1\n\n# comment\nb: 'unclosed\n", 4),
        ("a: [1, 2\n", 1),
        ("a: {x: 1\n", 1),
        ("a: 1\n   b: 2\n", 2),
        ("a: \"bad \\q escape\"\n", 1),
        ("a: \"x\" trailing\n", 1),
    ])
    func malformed(_ text: String, _ line: Int) throws {
        #expect(throws: (any Error).self) { try RecipeYAML.parse(text) }
        do {
            _ = try RecipeYAML.parse(text)
        } catch let error as RecipeYAML.ParseError {
            #expect(error.line == line, "\(error)")
        }
        // Through a file: the message names the file and the line.
        let message = errorText { try recipe(text) }
        #expect(message?.contains("recipe.yaml") == true && message?.contains("line \(line)") == true, "\(message ?? "accepted")")
    }
}
