import FoundationEssentials
import RLTensor

/// `adapter_config.json` as PEFT writes it: the keys this library reads and writes. Keys PEFT
/// adds that change nothing here are ignored when read.
struct PEFTAdapterConfig: Codable {
    var peftType: String?
    var taskType: String?
    var r: Int?
    var loraAlpha: Double?
    var loraDropout: Double?
    var targetModules: TargetModules?
    var useRslora: Bool?
    var bias: String?
    var fanInFanOut: Bool?
    var useDora: Bool?
    var loraBias: Bool?
    var modulesToSave: [String]?
    var layersToTransform: [Int]?
    var rankPattern: [String: Int]?
    var alphaPattern: [String: Double]?
    var baseModelNameOrPath: String?
    var inferenceMode: Bool?
    var initLoraWeights: Bool?

    /// PEFT stores a list of module names, or one string (`all-linear`, or a regular expression).
    enum TargetModules: Codable {
        case list([String]), pattern(String)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([String].self) { self = .list(list) } else { self = .pattern(try container.decode(String.self)) }
        }
        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .list(names): try container.encode(names)
            case let .pattern(text): try container.encode(text)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", taskType = "task_type", r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout"
        case targetModules = "target_modules", useRslora = "use_rslora", bias, fanInFanOut = "fan_in_fan_out"
        case useDora = "use_dora", loraBias = "lora_bias", modulesToSave = "modules_to_save"
        case layersToTransform = "layers_to_transform", rankPattern = "rank_pattern", alphaPattern = "alpha_pattern"
        case baseModelNameOrPath = "base_model_name_or_path", inferenceMode = "inference_mode", initLoraWeights = "init_lora_weights"
    }

    /// The configuration, or why this library cannot use the adapter.
    func configuration(folder: String) throws(LoRAError) -> LoRAConfiguration {
        func refuse(_ reason: String) -> LoRAError { .unsupportedAdapter(folder: folder, reason: reason) }
        guard (peftType ?? "LORA").uppercased() == "LORA" else { throw refuse("peft_type is \(peftType ?? ""), only LORA is supported") }
        if let taskType, taskType != "CAUSAL_LM" { throw refuse("task_type is \(taskType), expected CAUSAL_LM") }
        if useDora == true { throw refuse("use_dora (DoRA) is not supported") }
        if loraBias == true { throw refuse("lora_bias is not supported") }
        if let bias, bias != "none" { throw refuse("bias \"\(bias)\" (trained biases) is not supported; only \"none\"") }
        if fanInFanOut == true { throw refuse("fan_in_fan_out is for GPT-2 style Conv1D layers, not these models") }
        if let modulesToSave, !modulesToSave.isEmpty { throw refuse("modules_to_save \(modulesToSave) is not supported") }
        if layersToTransform != nil { throw refuse("layers_to_transform is not supported (adapters go on every layer)") }
        if let rankPattern, !rankPattern.isEmpty { throw refuse("rank_pattern is not supported") }
        if let alphaPattern, !alphaPattern.isEmpty { throw refuse("alpha_pattern is not supported") }
        guard let r else { throw refuse("adapter_config.json has no \"r\"") }
        let targets: [String]
        switch targetModules {
        case let .list(names): targets = names
        case let .pattern(text) where text == "all-linear" || LoRAConfiguration.linearModules.contains(text): targets = [text]
        case let .pattern(text): throw refuse("target_modules as a regular expression (\(text)) is not supported; list the module names")
        case nil: throw refuse("adapter_config.json has no target_modules")
        }
        do {
            return try LoRAConfiguration(rank: r, alpha: loraAlpha ?? 8, dropout: loraDropout ?? 0, targetModules: targets,
                                         useRSLoRA: useRslora ?? false)
        } catch {
            throw refuse(error.description)
        }
    }
}

extension LoRAAdapters {
    static let configFile = "adapter_config.json"
    static let weightsFile = "adapter_model.safetensors"

    /// Whether `folder` holds an adapter (`adapter_config.json`).
    public static func isAdapterFolder(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(configFile).path)
    }

    /// Reads a PEFT LoRA folder (`adapter_config.json`, `adapter_model.safetensors`) for a model
    /// of `config`. Adapters this library cannot reproduce exactly (DoRA, rank patterns, trained
    /// biases, other PEFT methods) are refused, as are tensors that do not fit the model.
    public static func load(from folder: URL, model config: ModelConfig, device: Device = .cpu) throws(LoRAError) -> LoRAAdapters {
        let configURL = folder.appendingPathComponent(configFile)
        let data: Data
        do { data = try Data(contentsOf: configURL) } catch {
            throw .unreadable(path: configURL.path, reason: "no adapter_config.json (is this a PEFT adapter folder?)")
        }
        let peft: PEFTAdapterConfig
        do { peft = try JSONDecoder().decode(PEFTAdapterConfig.self, from: data) } catch {
            throw .unreadable(path: configURL.path, reason: "not a valid adapter_config.json: \(error)")
        }
        let configuration = try peft.configuration(folder: folder.path)
        let weightsURL = folder.appendingPathComponent(weightsFile)
        var tensors: [String: Tensor] = [:]
        do {
            let reader = try CheckpointReader(at: weightsURL)
            for name in reader.tensorNames {
                let stored = try reader.tensor(named: name)
                tensors[name] = Tensor(try stored.floats(name: name), shape: stored.shape, device: device)
            }
        } catch {
            throw .unreadable(path: weightsURL.path, reason: fileErrorText(error))
        }
        let adapters = try LoRAAdapters(configuration: configuration, model: config, parameters: tensors, source: folder.path)
        adapters.baseModelNameOrPath = peft.baseModelNameOrPath
        return adapters
    }

    /// Writes the adapters as PEFT does: `adapter_config.json` and `adapter_model.safetensors`
    /// (f32), atomically, with `baseModelNameOrPath` as `base_model_name_or_path`.
    public func save(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tensors = try parameters.keys.sorted().map { name in
            (name: name, tensor: try SafetensorsTensor(shape: parameters[name]!.shape, floats: parameters[name]!.toFloatArray()))
        }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent(LoRAAdapters.weightsFile))
        let c = configuration
        let peft = PEFTAdapterConfig(
            peftType: "LORA", taskType: "CAUSAL_LM", r: c.rank, loraAlpha: c.alpha, loraDropout: c.dropout,
            targetModules: .list(c.targetModules), useRslora: c.useRSLoRA, bias: "none", fanInFanOut: false, useDora: false,
            loraBias: false, modulesToSave: nil, layersToTransform: nil, rankPattern: [:], alphaPattern: [:],
            baseModelNameOrPath: baseModelNameOrPath, inferenceMode: true, initLoraWeights: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let file = try AtomicFileWriter(destination: folder.appendingPathComponent(LoRAAdapters.configFile))
        try file.append(Array(try encoder.encode(peft)))
        try file.commit()
    }
}
