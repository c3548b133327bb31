import RLDistributed
import RLModel
import RLReasoning
import RLTensor

/// NCCL on one GPU (a 1-rank communicator over the one-process collective): the library loads,
/// the communicator starts, an all-reduce and a broadcast of CUDA tensors run on the backend's
/// stream and leave the values as a 1-rank sum must, and a GRPO step of the trainer runs on CUDA
/// with the NCCL collective. Returns whether every check passed.
func runNCCLChecks(on device: Device) -> Bool {
    switch NCCLCollective.availability() {
    case .success(let text): say("nccl: \(text)")
    case .failure(let error):
        say("nccl: unavailable: \(error)")
        return false
    }
    do {
        let nccl = try NCCLCollective.join(over: SingleProcess())
        say("nccl: communicator \(nccl.summary)")
        let values = (0..<1_000_003).map { Float($0 % 977) * 0.5 }
        let a = Tensor(values, shape: [values.count], device: device)
        let b = Tensor([Float](repeating: 3, count: 17), shape: [17], device: device)
        let started = monotonicSeconds()
        try nccl.allReduce(tensors: [a, b], label: "nccl check")
        try nccl.broadcast(tensors: [b], root: 0, label: "nccl check")
        let seconds = monotonicSeconds() - started
        let same = a.toFloatArray() == values && b.toFloatArray() == [Float](repeating: 3, count: 17)
        say("nccl: all-reduce + broadcast of \(values.count + 17) floats on 1 rank: \(same ? "values kept" : "VALUES CHANGED") "
            + "(\(fmt(seconds * 1e3, 2)) ms)")
        guard same else { return false }
        return try ncclTrainingStep(nccl, device: device)
    } catch {
        say("nccl: failed: \(error)")
        return false
    }
}

/// One GRPO step on the qwen2-tiny fixture on CUDA, the trainer given the NCCL collective.
private func ncclTrainingStep(_ nccl: NCCLCollective, device: Device) throws -> Bool {
    let policy = try DecoderModel.load(from: fixturesFolder().appendingPathComponent("qwen2-tiny"), device: device)
    var vocabulary: [String: Int32] = [:]
    for (id, token) in Tokenizer.byteLevelAlphabet.enumerated() { vocabulary[token] = Int32(id) }
    let added = [AddedToken(id: 256, content: "<|end|>", special: true), AddedToken(id: 257, content: "<|user|>", special: false)]
    let tokenizer = try Tokenizer(vocabulary: vocabulary, merges: [], addedTokens: added, eosToken: "<|end|>", padToken: "<|end|>",
                                  chatTemplate: "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}")
    var c = GRPOConfiguration()
    c.systemPrompt = nil
    c.rewardFuncs = [.length]
    c.rewardWeights = nil
    c.beta = 0.04
    c.numGenerations = 2
    c.perDeviceTrainBatchSize = 4
    c.gradientAccumulationSteps = 1
    c.maxPromptLength = 32
    c.maxCompletionLength = 8
    c.maxSteps = 1
    c.memoryCheck = false
    let rows = (0..<4).map { ["problem": "What is \($0) + 1?", "answer": String($0 + 1)] }
    let trainer = try GRPOTrainer(configuration: c, policy: policy, tokenizer: tokenizer, dataset: PromptDataset(rows: rows),
                                  collective: nccl)
    let metrics = try trainer.trainStep()
    let finite = metrics.loss.isFinite && metrics.gradNorm.isFinite
    say("nccl: 1-rank GRPO step on \(device) with the NCCL collective: loss \(metrics.loss), grad norm \(metrics.gradNorm) "
        + "\(finite ? "(finite)" : "(NOT FINITE)")")
    return finite
}
