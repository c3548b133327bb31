import FoundationEssentials
import RLModel
import RLTensor

/// What a checkpoint records besides the weights: enough to continue exactly where it stopped.
struct TrainerState: Codable, Equatable {
    var globalStep: Int
    var dataPosition: Int
    var seed: UInt64
    var optimizerStep: Int
    /// Tokens trained on so far (`num_tokens`); absent in checkpoints of earlier versions.
    var numTokens: Int?

    enum CodingKeys: String, CodingKey {
        case globalStep = "global_step", dataPosition = "data_position", seed, optimizerStep = "optimizer_step"
        case numTokens = "num_tokens"
    }
}

/// Checkpoint folders `checkpoint-<step>` under a run's output folder, each a Hugging Face model
/// folder (config, weights, generation config, tokenizer) — or, when training LoRA adapters, a
/// PEFT adapter folder (adapter_config.json, adapter_model.safetensors) and the tokenizer — plus
/// `optimizer.safetensors`, `run_manifest.json` (`RunManifest`) and `trainer_state.json`.
///
/// A checkpoint is written into a hidden `.checkpoint-<step>.partial` folder and renamed into
/// place only when complete (`trainer_state.json` last), so a run killed mid-save leaves the
/// previous checkpoints intact and the partial folder is ignored and removed on resume.
enum TrainerCheckpoint {
    static let stateFile = "trainer_state.json"
    static let optimizerFile = "optimizer.safetensors"

    static func folderName(step: Int) -> String { "checkpoint-\(step)" }

    /// Complete checkpoints in `output`, oldest first.
    static func complete(in output: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("checkpoint-"), let step = Int(name.dropFirst("checkpoint-".count)) else { return nil }
            let url = output.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(stateFile).path) else { return nil }
            return (step, url)
        }.sorted { $0.0 < $1.0 }
    }

    /// Deletes a checkpoint so that a kill at any moment never leaves a folder that looks
    /// complete but lacks files: it is first renamed to a partial name (atomic), which
    /// `removePartials` clears on the next start if the deletion was cut short.
    static func remove(_ checkpoint: URL, in output: URL) {
        let doomed = output.appendingPathComponent(".\(checkpoint.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: doomed)
        guard (try? FileManager.default.moveItem(at: checkpoint, to: doomed)) != nil else { return }
        try? FileManager.default.removeItem(at: doomed)
    }

    static func removePartials(in output: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        for name in names where name.hasPrefix(".checkpoint-") && name.hasSuffix(".partial") {
            try? FileManager.default.removeItem(at: output.appendingPathComponent(name))
        }
    }

    /// Writes a checkpoint of `trainer`; `moments` replaces its optimizer's (all ranks' moments
    /// when they are sharded).
    static func save(trainer: GRPOTrainer, to output: URL, keepLast: Int?,
                     moments: (first: [String: Tensor], second: [String: Tensor])? = nil) throws -> URL {
        let step = trainer.step
        let final = output.appendingPathComponent(folderName(step: step))
        let partial = output.appendingPathComponent(".\(folderName(step: step)).partial")
        try? FileManager.default.removeItem(at: partial)
        do {
            if let adapters = trainer.policy.adapters {
                // As TRL with PEFT: the adapters only, loadable by PeftModel.from_pretrained.
                try adapters.save(to: partial)
            } else {
                try trainer.policy.save(to: partial, generationConfig: GenerationConfig(
                    bosTokenID: trainer.tokenizer.bosTokenID.map { .single(Int($0)) },
                    eosTokenID: trainer.tokenizer.eosTokenID.map { .single(Int($0)) }))
            }
            try trainer.tokenizer.save(to: partial)
            var tensors: [(name: String, tensor: SafetensorsTensor)] = []
            let (firstMoments, secondMoments) = moments ?? (trainer.optimizer.firstMoments, trainer.optimizer.secondMoments)
            for (name, moment) in firstMoments.sorted(by: { $0.key < $1.key }) {
                tensors.append(("exp_avg." + name, try SafetensorsTensor(shape: moment.shape, floats: moment.toFloatArray())))
                let second = secondMoments[name]!
                tensors.append(("exp_avg_sq." + name, try SafetensorsTensor(shape: second.shape, floats: second.toFloatArray())))
            }
            try SafetensorsWriter.write(tensors, to: partial.appendingPathComponent(optimizerFile))
            try trainer.replayBuffer.save(to: partial)
            try trainer.manifest.write(to: partial)
            let state = TrainerState(globalStep: step, dataPosition: trainer.sampler.position, seed: trainer.configuration.seed,
                                     optimizerStep: trainer.optimizer.step, numTokens: trainer.trainedTokens)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(state).write(to: partial.appendingPathComponent(stateFile), options: .atomic)
            try? FileManager.default.removeItem(at: final)
            try FileManager.default.moveItem(at: partial, to: final)
        } catch {
            throw TrainingError.checkpoint(path: final.path, reason: "could not be written: \(fileErrorText(error))")
        }
        if let keepLast, keepLast > 0 {
            for old in complete(in: output).dropLast(keepLast) { remove(old.url, in: output) }
        }
        return final
    }

    /// Throws unless `stored` holds exactly the tensors of `current`, with the same shapes.
    static func checkShapes(of stored: [String: Tensor], against current: [String: Tensor], what: String, checkpoint: URL,
                            layers: (stored: Int, current: Int)) throws {
        if layers.stored != layers.current {
            throw TrainingError.checkpoint(path: checkpoint.path, reason: "holds \(what) of a model with \(layers.stored) layers; "
                + "this model has \(layers.current) (num_hidden_layers); resume with the model the run started from")
        }
        let missing = Set(current.keys).subtracting(stored.keys).sorted()
        let extra = Set(stored.keys).subtracting(current.keys).sorted()
        let reshaped = current.keys.sorted().filter { name in stored[name].map { $0.shape != current[name]!.shape } ?? false }
        guard missing.isEmpty && extra.isEmpty && reshaped.isEmpty else {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("lacks \(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? ", ..." : "")") }
            if !extra.isEmpty { parts.append("has unknown \(extra.prefix(3).joined(separator: ", "))\(extra.count > 3 ? ", ..." : "")") }
            if let name = reshaped.first {
                parts.append("\(name) is \(stored[name]!.shape), this model's \(current[name]!.shape)")
            }
            throw TrainingError.checkpoint(path: checkpoint.path, reason: "holds \(what) that do not fit this model (\(parts.joined(separator: "; "))); "
                + "resume with the model the run started from")
        }
    }

    /// Loads weights, optimizer moments and position from `checkpoint` into `trainer`.
    static func restore(_ trainer: GRPOTrainer, from checkpoint: URL) throws {
        do {
            let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: checkpoint.appendingPathComponent(stateFile)))
            guard state.seed == trainer.configuration.seed else {
                throw TrainingError.checkpoint(path: checkpoint.path, reason: "was made with seed \(state.seed), this run uses \(trainer.configuration.seed)")
            }
            if let adapters = trainer.policy.adapters {
                guard LoRAAdapters.isAdapterFolder(checkpoint) else {
                    throw TrainingError.checkpoint(path: checkpoint.path, reason: "holds full weights, but this run trains LoRA adapters")
                }
                try adapters.assign(from: try LoRAAdapters.load(from: checkpoint, model: trainer.policy.config, device: trainer.policy.device))
            } else {
                guard !LoRAAdapters.isAdapterFolder(checkpoint) else {
                    throw TrainingError.checkpoint(path: checkpoint.path, reason: "holds LoRA adapters, but this run trains all weights")
                }
                let loaded = try ModelLoader.load(from: checkpoint)
                try checkShapes(of: loaded.parameters, against: trainer.policy.parameters, what: "weights", checkpoint: checkpoint,
                                layers: (loaded.config.numHiddenLayers, trainer.policy.config.numHiddenLayers))
                for (name, target) in trainer.policy.parameters {
                    guard let tensor = loaded.parameters[name] else { continue }
                    target.assign(tensor.dtype == target.dtype && tensor.device == target.device ? tensor
                                  : tensor.to(target.device).cast(to: target.dtype))
                }
            }
            let moments = try CheckpointReader(at: checkpoint.appendingPathComponent(optimizerFile))
            var first: [String: Tensor] = [:], second: [String: Tensor] = [:]
            for name in moments.tensorNames {
                let stored = try moments.tensor(named: name)
                let tensor = Tensor(try stored.floats(name: name), shape: stored.shape)
                if name.hasPrefix("exp_avg_sq.") { second[String(name.dropFirst("exp_avg_sq.".count))] = tensor }
                else if name.hasPrefix("exp_avg.") { first[String(name.dropFirst("exp_avg.".count))] = tensor }
            }
            let trainable = trainer.policy.trainableParameters
            for (moments, kind) in [(first, "exp_avg"), (second, "exp_avg_sq")] {
                if let name = moments.keys.sorted().first(where: { trainable[$0]?.shape != moments[$0]?.shape }) {
                    throw TrainingError.checkpoint(path: checkpoint.path, reason: "its optimizer state (\(kind).\(name)) does not match "
                        + "this model's trainable weights; it was made for another model")
                }
            }
            trainer.optimizer.restore(step: state.optimizerStep, firstMoments: first, secondMoments: second)
            trainer.sampler = EpochSampler(count: trainer.dataset.rows.count, seed: trainer.configuration.seed, position: state.dataPosition)
            trainer.step = state.globalStep
            trainer.trainedTokens = state.numTokens ?? 0
            trainer.replayBuffer = try ReplayBuffer.load(from: checkpoint, capacity: trainer.configuration.replayBufferSize)
            trainer.buffer = []
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.checkpoint(path: checkpoint.path, reason: "could not be read: \(fileErrorText(error))")
        }
    }
}
