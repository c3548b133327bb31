/// How errors about a `GRPOConfiguration` name its settings: as the Swift property a program
/// sets, or as the recipe key a recipe file gives.
public enum SettingNames: String, Sendable, Equatable, CaseIterable {
    /// Swift property names (`rewardWeights`): a configuration built in code (the default).
    case swift
    /// Recipe keys (`reward_weights`): a configuration read from a recipe (RLApp's `Recipe`).
    case recipe
}

extension GRPOConfiguration {
    /// The setting with recipe key `key` as `settingNames` spells it (`reward_weights` or
    /// `rewardWeights`). Keys with no property of that name (e.g. `tokenizer`) stay as they are.
    public func settingName(_ key: String) -> String {
        settingNames == .recipe ? key : Self.propertyNames[key] ?? key
    }

    /// Recipe key → property, for every key whose spelling differs beyond snake case.
    static let propertyNames: [String: String] = {
        var names: [String: String] = [
            "lr_scheduler_type": "lrSchedulerType", "min_lr_rate": "minLRRate", "max_grad_norm": "maxGradNorm",
            "memory_limit_gib": "memoryLimit", "sapo_temperature_pos": "sapoTemperaturePositive",
            "sapo_temperature_neg": "sapoTemperatureNegative", "use_bias_correction_kl": "useBiasCorrectionKL",
            "overlong_buffer_len": "overlongBufferLength", "cosine_max_len": "cosineMaxLength",
            "repetition_n_grams": "repetitionNGramSize", "dataset_prompt_column": "promptColumn",
            "prompt_column": "promptColumn", "temperature_consistent_logprobs": "temperatureConsistentLogProbs",
            "paged_kv_cache": "pagedKVCache",
        ]
        for key in snakeCaseKeys { names[key] = camelCase(key) }
        return names
    }()

    /// Recipe keys that are their property's name in snake case.
    private static let snakeCaseKeys = [
        "learning_rate", "adam_beta1", "adam_beta2", "adam_epsilon", "weight_decay", "warmup_ratio", "max_steps",
        "gradient_accumulation_steps", "per_device_train_batch_size", "gradient_checkpointing", "num_generations",
        "max_prompt_length", "max_completion_length", "top_p", "top_k", "min_p", "repetition_penalty", "epsilon_high",
        "loss_type", "scale_rewards", "importance_sampling_level", "top_entropy_quantile", "multi_objective_aggregation",
        "num_iterations", "steps_per_generation", "mask_truncated_completions", "dynamic_sampling",
        "max_dynamic_sampling_rounds", "replay_buffer_size", "reward_funcs", "reward_weights", "cosine_min_value_wrong",
        "cosine_max_value_wrong", "cosine_min_value_correct", "cosine_max_value_correct", "cosine_variant",
        "repetition_max_penalty", "unparseable_gold", "overlong_penalty_factor", "system_prompt", "gold_columns",
        "save_steps", "save_total_limit", "overwrite_output_dir", "memory_check", "lean_memory", "rollout_dtype", "matmul_precision", "logits_chunk_bytes",
        "logging_steps", "log_completions", "zero_stage", "kv_cache_block_size", "kv_cache_memory_fraction", "kv_cache_max_tokens",
    ]

    private static func camelCase(_ key: String) -> String {
        let parts = key.split(separator: "_")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }
}
