import FoundationEssentials
import RLTensor

extension DecoderModel {
    /// Loads a Hugging Face folder of a supported family (`config.json` plus `model.safetensors`
    /// or shards with `model.safetensors.index.json`).
    ///
    /// Every weight the config implies must be present with the right shape; missing,
    /// unexpected and mis-shaped tensors are listed in the error. `weightType` chooses the
    /// storage: `.f32` (training; bf16/f16 upcast exactly) or `.bf16` for matrices (inference);
    /// norms and biases are always f32.
    public static func load(from folder: URL, weightType: DType = .f32, device: Device = .cpu) throws -> DecoderModel {
        let config = try ModelConfig.load(from: folder.appendingPathComponent("config.json"))
        let reader = try CheckpointReader(at: folder)
        var expected = config.checkpointTensorShapes
        if config.tieWordEmbeddings, reader.contains("lm_head.weight") {
            expected["lm_head.weight"] = [config.vocabSize, config.hiddenSize]  // saved anyway; ignored
        }
        let report = WeightNameReport(expected: expected, checkpoint: reader)
        guard report.missing.isEmpty, report.unexpected.isEmpty, report.mismatched.isEmpty else {
            throw ModelLoadError.weightsDoNotMatch(folder: folder.path, report: report)
        }
        var parameters: [String: Tensor] = [:]
        for name in config.checkpointTensorShapes.keys {
            let stored = try reader.tensor(named: name)
            let dtype: DType
            switch stored.dtype {
            case .float32: dtype = .f32
            case .bfloat16: dtype = .bf16
            case .float16: dtype = .f16
            default: throw ModelLoadError.unsupportedTensorType(folder: folder.path, tensor: name, dtype: stored.dtype.rawValue)
            }
            let raw = stored.withUnsafeBytes { Tensor(bytes: $0, dtype: dtype, shape: stored.shape, device: device) }
            let target: DType = (weightType != .f32 && stored.shape.count == 2) ? weightType : .f32
            parameters[name] = raw.cast(to: target)
        }
        return try DecoderModel(config: config, parameters: parameters)
    }

    /// Saves the model as a folder transformers loads: `config.json`, `generation_config.json`
    /// (when given) and the weights (one file, or shards plus an index past `maxShardBytes`),
    /// stored as `weightType` (f32 or bf16). Files are written atomically.
    public func save(to folder: URL, weightType: DType = .f32, generationConfig: GenerationConfig? = nil,
                     maxShardBytes: Int? = nil) throws {
        guard weightType == .f32 || weightType == .bf16 else {
            throw CheckpointError.writeFailed(file: folder.path, reason: "weights are saved as f32 or bf16, not \(weightType)")
        }
        var config = self.config
        config.dtype = weightType == .bf16 ? "bfloat16" : "float32"
        let tensors: [(name: String, tensor: SafetensorsTensor)] = parameters.keys.sorted().map { name in
            // Cannot throw: the bytes are the tensor's own, of its shape and type.
            let t = parameters[name]!.cast(to: weightType)
            let bytes = t.withHostBytes { Data($0) }
            return (name, try! SafetensorsTensor(dtype: weightType == .bf16 ? .bfloat16 : .float32, shape: t.shape, bytes: bytes))
        }
        try CheckpointWriter.write(tensors, to: folder, maxShardBytes: maxShardBytes)
        try config.write(to: folder.appendingPathComponent("config.json"))
        try generationConfig?.write(to: folder.appendingPathComponent("generation_config.json"))
    }
}
