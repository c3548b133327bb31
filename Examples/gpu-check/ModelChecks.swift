import FoundationEssentials
import RLModel
import RLReasoning
import RLTensor

/// The Qwen2 fixtures and GRPO steps on a device, against the references transformers and
/// torch wrote (`Tests/Fixtures`, copied next to the binary by scripts/gpu-check) and against
/// the CPU backend: the model-level half of the CUDA suite.
struct ModelChecks {
    let fixtures: URL
    let device: Device
    let say: (String) -> Void
    private(set) var failures: [String] = []

    init(fixtures: URL, device: Device, say: @escaping (String) -> Void) {
        self.fixtures = fixtures
        self.device = device
        self.say = say
    }

    /// `|a - b| <= atol + |b| * rtol` for every element; records a failure naming the worst one.
    mutating func expectClose(_ what: String, _ a: [Float], _ b: [Float], atol: Float, rtol: Float) {
        guard a.count == b.count else { failures.append("\(what): \(a.count) values vs \(b.count)"); return }
        var worst: Float = 0, at = 0
        for i in a.indices {
            let excess = abs(a[i] - b[i]) / (atol + abs(b[i]) * rtol)
            if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; at = i }
        }
        let ok = worst <= 1
        say("  \(ok ? "ok  " : "FAIL") \(what): worst |a-b|/(atol+|ref|*rtol) = \(worst)\(ok ? "" : " at \(at): \(a[at]) vs \(b[at])")")
        if !ok { failures.append(what) }
    }

    /// `||a - b|| / ||b||` at most `limit`.
    mutating func expectRelative(_ what: String, _ a: [Float], _ b: [Float], limit: Double) {
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        let relative = (diff / max(norm, 1e-30)).squareRoot()
        if relative > limit || a.count != b.count { failures.append("\(what): relative error \(relative)") }
        if relative > limit { say("  FAIL \(what): relative error \(relative) > \(limit)") }
    }

    mutating func run() throws {
        for name in ["qwen2-tiny", "qwen2-tiny-bf16", "qwen2-tiny-tied-sharded"] {
            say("fixture \(name) on \(device):")
            let folder = fixtures.appendingPathComponent(name)
            let model = try DecoderModel.load(from: folder, device: device)
            let expected = try CheckpointReader(at: folder.appendingPathComponent("expected.safetensors"))
            func floats(_ key: String) throws -> [Float] { try expected.tensor(named: key).floats(name: key) }
            let idsStored = try expected.tensor(named: "input_ids")
            let ids = Tensor(try idsStored.int64s().map { Int32($0) }, shape: idsStored.shape, device: device)
            let length = idsStored.shape[1]
            expectClose("logits", try model.logits(inputIDs: ids).toFloatArray(), try floats("logits"), atol: 1e-4, rtol: 1e-4)
            let (loss, grads) = try valueAndGrad(at: model.parameters) { -(try model.tokenLogProbs(inputIDs: ids, lastTokens: length - 1)).mean() }
            expectClose("loss", [loss.item()], try floats("loss"), atol: 1e-5, rtol: 1e-5)
            for (param, grad) in grads.sorted(by: { $0.key < $1.key }) {
                expectRelative("grad \(param)", grad.toFloatArray(), try floats("grad." + param), limit: 1e-3)
            }
            say("  gradients of \(grads.count) parameters checked")
            let prompt = try expected.tensor(named: "prompt_ids").int64s().map { Int32($0) }
            let greedy = try expected.tensor(named: "greedy_ids").int64s().map { Int32($0) }
            let generated = try Generator(model: model).generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: greedy.count - prompt.count))
            let same = prompt + generated[0].tokens == greedy
            say("  \(same ? "ok  " : "FAIL") greedy generation of \(greedy.count - prompt.count) tokens")
            if !same { failures.append("\(name) greedy generation") }
            try recordedDecode(model, ids: try idsStored.int64s().map { Int32($0) }, name: name)
            if name == "qwen2-tiny" { try bf16ActivationDecode(folder: folder, prompt: prompt) }
        }
        try grpoSteps()
    }

    /// Paged generation with the decode step recorded and replayed (`PagedDecodeGraph`; CUDA
    /// graphs on a GPU) against every step launched eagerly: three prompts cut from the fixture's
    /// ids, three sampled completions each, one prompt admitted only when another group finishes.
    /// The tokens must be identical and the log-probabilities within 1e-5; the wall time of both
    /// runs is printed (a tiny model, so mostly launch overhead).
    mutating func recordedDecode(_ model: DecoderModel, ids: [Int32], name: String) throws {
        let prompts = [Array(ids.prefix(3)), Array(ids.prefix(9)), Array(ids.prefix(6))]
        var options = GenerationOptions(maxNewTokens: 24, sampling: SamplingParameters(temperature: 1.2, topP: 0.95), samplesPerPrompt: 3, seed: 3)
        options.pagedCache = PagedCacheOptions(blockSize: 4, maxCachedTokens: 4 * 24, recordsDecodeStep: false)
        var start = monotonicSeconds()
        let eager = try Generator(model: model).generate(prompts: prompts, options: options)
        let eagerSeconds = monotonicSeconds() - start
        options.pagedCache?.recordsDecodeStep = true
        start = monotonicSeconds()
        let recorded = try Generator(model: model).generate(prompts: prompts, options: options)
        let recordedSeconds = monotonicSeconds() - start
        let sameTokens = zip(eager, recorded).allSatisfy { $0.tokens == $1.tokens && $0.finishReason == $1.finishReason }
        let worst = zip(eager, recorded).flatMap { zip($0.logProbs, $1.logProbs).map { abs($0 - $1) } }.max() ?? 0
        let ok = sameTokens && worst <= 1e-5
        let fallback = (BackendRegistry.backend(for: device) as? CUDABackend)?.recordingFallbackReason
        say("  \(ok ? "ok  " : "FAIL") recorded decode steps vs eager: same tokens \(sameTokens), log-probs within \(worst); "
            + "\(fmt(recordedSeconds * 1e3)) ms vs \(fmt(eagerSeconds * 1e3)) ms eager\(fallback.map { " (not recorded: \($0))" } ?? "")")
        if !ok { failures.append("\(name) recorded decode") }
    }

    /// Logits of a prefill and three decode steps with bf16 activations and KV cache (the bf16
    /// inference copy; contiguous, then paged cache) on the device against the CPU doing the
    /// same: both round the same f32 arithmetic to bf16, so they agree to a few bf16 roundings.
    mutating func bf16ActivationDecode(folder: URL, prompt: [Int32]) throws {
        let steps: [Int32] = [3, 7, 11]
        func logits(on device: Device, paged: Bool) throws -> [Float] {
            let model = try DecoderModel.load(from: folder, device: device).inferenceCopy(matrices: .bf16)
            let cache = model.makeCache(batch: 1, capacity: prompt.count + (paged ? 0 : steps.count), activationType: .bf16)
            var out = try model.forward(tokens: prompt, mask: nil, cache: cache).toFloatArray()
            guard paged else {
                for token in steps { out += try model.forward(tokens: [token], mask: nil, cache: cache).toFloatArray() }
                return out
            }
            let pagedCache = try model.makePagedCache(blockCount: (prompt.count + steps.count) / 4 + 2, blockSize: 4, activationType: .bf16)
            let sequence = try pagedCache.addSequence(copying: cache, row: 0)
            for token in steps { out += try model.forward(tokens: [token], pagedCache: pagedCache, sequences: [sequence]).toFloatArray() }
            return out
        }
        for paged in [false, true] {
            let here = try logits(on: device, paged: paged), cpu = try logits(on: .cpu, paged: paged)
            let scale = cpu.map(abs).max() ?? 1
            expectClose("bf16-activation \(paged ? "paged" : "contiguous") decode logits vs cpu", here, cpu, atol: 0.03 * scale, rtol: 0)
        }
    }

    /// The GRPO fixture's bnpo loss and gradients, then three AdamW steps on its batch, compared
    /// with the CPU backend doing the same (bf16-level tolerance).
    mutating func grpoSteps() throws {
        say("GRPO steps on \(device) vs cpu:")
        let expected = try CheckpointReader(at: fixtures.appendingPathComponent("grpo/expected.safetensors"))
        func floats(_ key: String) throws -> [Float] { try expected.tensor(named: key).floats(name: key) }
        let idsStored = try expected.tensor(named: "input_ids")
        let ids = try idsStored.int64s().map { Int32($0) }
        let completion = idsStored.shape[1] - Int(try expected.tensor(named: "prompt_length").int64s()[0])
        let mask = try floats("completion_mask"), advantages = try floats("advantages")
        func run(on device: Device) throws -> (losses: [Float], weights: [String: [Float]], firstGrads: [String: [Float]]) {
            let policy = try DecoderModel.load(from: fixtures.appendingPathComponent("qwen2-tiny"), device: device)
            let reference = try DecoderModel.load(from: fixtures.appendingPathComponent("qwen2-tiny-bf16"), device: device)
            let input = Tensor(ids, shape: idsStored.shape, device: device)
            let maskTensor = Tensor(mask, shape: [idsStored.shape[0], completion], device: device)
            let referenceLogProbs = try reference.tokenLogProbs(inputIDs: input, lastTokens: completion)
            let optimizer = AdamW()
            var losses: [Float] = [], firstGrads: [String: [Float]] = [:]
            for step in 0..<3 {
                let (loss, grads) = try valueAndGrad(at: policy.parameters) {
                    try grpoLoss(logProbs: try policy.tokenLogProbs(inputIDs: input, lastTokens: completion), referenceLogProbs: referenceLogProbs,
                             advantages: advantages, mask: maskTensor, configuration: GRPOLossConfiguration(beta: 0.04)).loss
                }
                if step == 0 { firstGrads = grads.mapValues { $0.toFloatArray() } }
                losses.append(loss.item())
                optimizer.update(policy.parameters, gradients: grads, learningRate: 1e-3)
            }
            return (losses, policy.parameters.mapValues { $0.toFloatArray() }, firstGrads)
        }
        let here = try run(on: device), cpu = try run(on: .cpu)
        expectClose("bnpo loss vs torch", [here.losses[0]], try floats("loss.bnpo"), atol: 1e-5, rtol: 1e-4)
        for (name, grad) in here.firstGrads { expectRelative("bnpo grad \(name) vs torch", grad, try floats("grad.bnpo." + name), limit: 1e-3) }
        expectClose("losses of 3 steps vs cpu", here.losses, cpu.losses, atol: 1e-4, rtol: 1e-2)
        for (name, weights) in here.weights.sorted(by: { $0.key < $1.key }) {
            expectClose("weights after 3 steps: \(name)", weights, cpu.weights[name]!, atol: 1e-4, rtol: 1e-2)
        }
    }
}
