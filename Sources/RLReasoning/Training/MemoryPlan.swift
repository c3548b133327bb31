import FoundationEssentials
import RLModel
import RLTensor

/// What a GRPO run will hold in memory at its peak, part by part, worked out from the model's
/// shapes and the settings before anything is allocated — and whether that fits.
///
/// A step has three phases, and the peak is the largest: generation (weights, KV cache for every
/// completion of a micro-step at prompt + completion length, or with `paged_kv_cache` the paged
/// cache's planned budget), scoring without gradients
/// (reference and old-policy log-probs: one layer's activations and the logits), and the
/// training forward and backward (gradients and the activations autograd keeps — each layer's
/// input only with `gradient_checkpointing` — then first the logits and their gradient, then one
/// recomputed layer at a time).
/// Every part is computed from the tensors this library allocates for it; `Benchmarks/` compares
/// the plan with measured peaks.
public struct MemoryPlan: Sendable {
    /// One line of the plan.
    public struct Part: Sendable, Equatable {
        public let name: String
        public let bytes: Int
        /// Which phase holds it (`all` for what lives through the run).
        public let phase: String
        public let detail: String
    }

    /// What lives through the whole run, then each phase's own parts.
    public let parts: [Part]
    /// The largest phase: resident parts plus that phase's parts.
    public let peakBytes: Int
    /// The phase that reaches `peakBytes`.
    public let peakPhase: String
    /// Memory the run may use (nil when unknown): see `availableMemory(on:)`.
    public let availableBytes: Int?
    /// Where the run's tensors live: host memory for `.cpu`, the GPU's memory for `.cuda`.
    public let device: Device
    /// The paged KV cache rollouts use when `paged_kv_cache` is on (nil when it is off), its
    /// `maxCachedTokens` planned: `kv_cache_max_tokens`, else `kv_cache_memory_fraction` of what
    /// the peak of the other parts leaves of `availableBytes`, at most every group of a
    /// micro-step at once (nil when memory is unknown and no cap is set: every group at once).
    /// The "KV cache" part is that budget's bytes. See `checkPagedCache()`.
    public let pagedCache: PagedCacheOptions?
    /// The memory `kv_cache_memory_fraction` was taken of (nil when it was not used).
    let pagedCacheSpareBytes: Int?

    /// The inputs the plan was made from.
    let model: ModelConfig
    let configuration: GRPOConfiguration
    let lora: LoRAConfiguration?
    let baseWeightType: DType

    /// A plan for training a model of `model`'s shapes with `configuration`: all weights (f32)
    /// when `lora` is nil, else LoRA adapters over a frozen base whose matrices are held as
    /// `baseWeightType`, on `device` (default `.cpu`; a GPU's plan leaves out the host-only
    /// runtime part). `availableBytes` defaults to this machine's available host memory; pass
    /// `availableMemory(on:)` for a GPU. The configuration's `memoryLimit` caps it.
    public init(model: ModelConfig, configuration: GRPOConfiguration, lora: LoRAConfiguration? = nil,
                baseWeightType: DType = .bf16, device: Device = .cpu, availableBytes: Int? = MemoryPlan.availableHostMemory()) {
        self.model = model
        self.device = device
        self.configuration = configuration
        self.lora = lora
        self.baseWeightType = lora == nil ? .f32 : baseWeightType
        switch (availableBytes, configuration.memoryLimit) {
        case let (available?, limit?): self.availableBytes = min(available, limit)
        case let (available, limit): self.availableBytes = available ?? limit
        }
        let planned = MemoryPlan.parts(model: model, configuration: configuration, lora: lora, baseWeightType: self.baseWeightType,
                                       device: device)
        if configuration.pagedKVCache {
            let paged = MemoryPlan.pagedCache(parts: planned, model: model, configuration: configuration, availableBytes: self.availableBytes)
            (parts, pagedCache, pagedCacheSpareBytes) = (paged.parts, paged.options, paged.spareBytes)
        } else {
            (parts, pagedCache, pagedCacheSpareBytes) = (planned, nil, nil)
        }
        (peakPhase, peakBytes) = MemoryPlan.peak(of: parts)
    }

    /// The largest phase of `parts`: its name and bytes (resident parts included).
    static func peak(of parts: [Part]) -> (phase: String, bytes: Int) {
        let resident = parts.filter { $0.phase == "all" }.reduce(0) { $0 + $1.bytes }
        var best = (phase: "generation", bytes: 0)
        for (phase, members) in MemoryPlan.phases {
            let total = resident + parts.filter { members.contains($0.phase) }.reduce(0) { $0 + $1.bytes }
            if total > best.bytes { best = (phase, total) }
        }
        return best
    }

    /// The moments of a step whose memory is summed, with the part phases alive then (`all`
    /// parts live throughout).
    static let phases: [(name: String, parts: Set<String>)] = [
        ("generation", ["generation"]), ("scoring", ["scoring"]),
        ("training: logits and LM head", ["training", "head"]), ("training: layers", ["training", "layers"]),
    ]

    /// The plan for `policy` as it is set up: its adapters (if any), the type of its matrices and
    /// its device, against `availableBytes` (nil: unknown).
    public init(policy: any CausalLanguageModel, configuration: GRPOConfiguration, availableBytes: Int?) {
        let matrixType = policy.parameters.values.first { $0.rank == 2 }?.dtype ?? .f32
        self.init(model: policy.config, configuration: configuration, lora: policy.adapters?.configuration,
                  baseWeightType: matrixType, device: policy.device, availableBytes: availableBytes)
    }

    /// The plan for `policy` against what `availableMemory(on:)` reports for its device.
    public init(policy: any CausalLanguageModel, configuration: GRPOConfiguration) {
        self.init(policy: policy, configuration: configuration, availableBytes: MemoryPlan.availableMemory(on: policy.device))
    }

    /// Whether the peak fits the available memory (true when that is unknown).
    public var fits: Bool { availableBytes.map { peakBytes <= $0 } ?? true }

    /// `fits`, and a paged cache planned from free memory holds one group (what the largest
    /// settings that fit must also meet).
    var fitsWithPagedCache: Bool { fits && !pagedCacheTooSmall }

    /// The largest `per_device_train_batch_size` (a multiple of `num_generations`) that fits,
    /// other settings unchanged; nil when not even one group fits or memory is unknown.
    public var largestCompletionsPerMicroStep: Int? {
        guard let availableBytes else { return nil }
        let group = max(configuration.numGenerations, 1)
        var best: Int?
        var groups = 1
        while groups <= 4096 {
            var c = configuration
            c.perDeviceTrainBatchSize = groups * group
            guard MemoryPlan(model: model, configuration: c, lora: lora, baseWeightType: baseWeightType, device: device, availableBytes: availableBytes).fitsWithPagedCache
            else { break }
            best = groups * group
            groups *= 2
        }
        guard var low = best else { return nil }
        var high = low * 2  // does not fit (or past the search's end)
        while high - low > group {
            let middle = (low + high) / 2 / group * group
            var c = configuration
            c.perDeviceTrainBatchSize = middle
            if MemoryPlan(model: model, configuration: c, lora: lora, baseWeightType: baseWeightType, device: device, availableBytes: availableBytes).fitsWithPagedCache {
                low = middle
            } else {
                high = middle
            }
        }
        return low
    }

    /// The largest `max_completion_length` that fits (within the model's positions), other
    /// settings unchanged; nil when none does or memory is unknown.
    public var largestCompletionLength: Int? {
        guard availableBytes != nil else { return nil }
        func fits(_ length: Int) -> Bool {
            var c = configuration
            c.maxCompletionLength = length
            return MemoryPlan(model: model, configuration: c, lora: lora, baseWeightType: baseWeightType, device: device, availableBytes: availableBytes).fitsWithPagedCache
        }
        // At most max_completion_length's own limit (a config may claim billions of positions).
        var low = 0, high = max(1, min(model.maxPositionEmbeddings, 1 << 20) - configuration.maxPromptLength)
        if fits(high) { return high }
        while high - low > 1 {
            let middle = (low + high) / 2
            if fits(middle) { low = middle } else { high = middle }
        }
        return low > 0 ? low : nil
    }

    /// The plan as a table, with the verdict and the largest settings that fit.
    public func table() -> String {
        func gib(_ bytes: Int) -> String { MemoryPlan.gibibytes(bytes) }
        let full = configuration.leanMemory ? "full fine-tuning, lean (f32 weights, bf16 state)" : "full fine-tuning (f32)"
        let mode = lora.map { "LoRA r=\($0.rank) on \($0.targetModules.joined(separator: ",")), base \(baseWeightType)" } ?? full
        var lines = ["memory plan: \(mode); \(configuration.perDeviceTrainBatchSize) completions per micro-step, "
                     + "prompt \(configuration.maxPromptLength) + completion \(configuration.maxCompletionLength) tokens"]
        let width = max(parts.map(\.name.count).max() ?? 0, 10)
        func row(_ name: String, _ bytes: Int, _ phase: String, _ detail: String) -> String {
            let columns: [String] = [name.rightPadded(to: width), gib(bytes).leftPadded(to: 9), phase.rightPadded(to: 10), detail]
            return "  " + columns.joined(separator: "  ")
        }
        for part in parts where part.bytes > 0 { lines.append(row(part.name, part.bytes, part.phase, part.detail)) }
        lines.append(row("peak", peakBytes, peakPhase, ""))
        if let availableBytes {
            let place = device == .cpu ? "" : " on \(device)"
            lines.append("  available\(place): \(gib(availableBytes)) — " + (fits ? "fits" : "does NOT fit"))
            if let batch = largestCompletionsPerMicroStep {
                lines.append("  largest per_device_train_batch_size that fits: \(batch)")
            } else {
                lines.append("  not even one group of \(configuration.numGenerations) completions fits")
            }
            if let length = largestCompletionLength { lines.append("  largest max_completion_length that fits: \(length)") }
        }
        if let pagedCacheSummary { lines.append(pagedCacheSummary) }
        return lines.joined(separator: "\n")
    }

    static func gibibytes(_ bytes: Int) -> String {
        let value = Double(bytes) / Double(1 << 30)
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) GiB"
    }

    /// Memory a run on `device` may use: `availableHostMemory()` for the CPU; for a GPU, the
    /// driver's free memory plus what this process's allocator already holds there (the plan
    /// counts those tensors itself). Nil when the device has no backend yet or the driver
    /// cannot say.
    public static func availableMemory(on device: Device) -> Int? {
        guard device != .cpu else { return availableHostMemory() }
        guard let gpu = BackendRegistry.registeredBackend(for: device) as? CUDABackend,
              let memory = try? gpu.deviceMemoryInfo() else { return nil }
        return memory.free + gpu.memoryStatistics.reservedBytes
    }

    /// Memory this process may still use: `MemAvailable` of `/proc/meminfo` plus what the process
    /// already holds, capped by a cgroup limit (`memory.max`) when one is set; nil elsewhere.
    public static func availableHostMemory() -> Int? {
        SystemMemory.freeBytes().map { $0 + (SystemMemory.residentBytes() ?? 0) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    fileprivate func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
