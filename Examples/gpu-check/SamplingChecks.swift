import RLModel
import RLTensor

/// Token sampling on the GPU against the host sampler (this binary is a release build, whose
/// exponentials the kernel reproduces): for random rows of several vocabulary sizes and
/// parameter sets, `TokenSampler.sample(rows:)` of CUDA logits (the device sampler) must pick the
/// tokens, with the log-probabilities bit for bit, that it picks from the same logits on the host.
func runSamplingChecks(on gpu: CUDABackend) -> Bool {
    let parameters: [SamplingParameters] = [
        .greedy, SamplingParameters(temperature: 0, repetitionPenalty: 1.3), SamplingParameters(temperature: 1),
        SamplingParameters(temperature: 1, topP: 0.9), SamplingParameters(temperature: 0.7, topP: 0.95, topK: 40, minP: 0.02, repetitionPenalty: 1.2),
        SamplingParameters(temperature: 1.3, topK: 3), SamplingParameters(temperature: 1, topK: 1),
        SamplingParameters(temperature: 1, minP: 0.5, repetitionPenalty: 0.8),
    ]
    var differing = 0, total = 0
    do {
        for vocab in [7, 3000, 151_936] {
            let rows = 6
            let logits = Tensor.randomNormal([rows, vocab], std: 3, seed: UInt64(vocab)).toFloatArray()
            let onDevice = Tensor(logits, shape: [rows, vocab], device: gpu.device)
            let histories = (0..<rows).map { r in [Int32(r), Int32(r), 5, Int32(vocab - 1), Int32(vocab + 1)] }
            let seeds = (0..<rows).map { 0x9E37_79B9_7F4A_7C15 &* UInt64($0 + 1) }
            for p in parameters {
                let sampler = TokenSampler(p)
                for step: UInt64 in [0, 1, 77] {
                    let device = try sampler.sample(rows: onDevice, histories: histories, seeds: seeds, step: step)
                    let host = try logits.withUnsafeBufferPointer {
                        try sampler.sample(rows: $0, vocab: vocab, histories: histories, seeds: seeds, step: step)
                    }
                    for (d, h) in zip(device, host) where d.token != h.token || d.logProb.bitPattern != h.logProb.bitPattern {
                        if differing < 5 { say("  FAIL sampling V\(vocab) \(p) step \(step): GPU \(d), host \(h)") }
                        differing += 1
                    }
                    total += rows
                }
            }
        }
    } catch {
        say("sampling checks could not run: \(error)")
        return false
    }
    say("sampling on the GPU: \(total - differing)/\(total) picks as on the host")
    return differing == 0
}
