import RLModel
import RLTensor

/// Supervised warm-start: teaches the answer format (and some arithmetic) by maximising the
/// log-probability of demonstration completions given their prompts.
struct WarmStart {
    let model: DecoderModel
    let tokenizer: Tokenizer
    let promptIDs: (String) throws -> [Int32]

    /// Runs `steps` AdamW updates on batches of `batchSize` demonstrations; returns the last loss.
    func run(problems: [ArithmeticTask.Problem], steps: Int, batchSize: Int, learningRate: Float,
             report: (Int, Float) -> Void) throws -> Float {
        let optimizer = AdamW()
        let eos = tokenizer.eosTokenID!
        var lastLoss: Float = .nan
        for step in 0..<steps {
            let batch = (0..<batchSize).map { problems[(step * batchSize + $0) % problems.count] }
            let prompts = try batch.map { try promptIDs($0.question) }
            let completions = batch.map { tokenizer.encode($0.demonstration, addSpecialTokens: false) + [eos] }
            let promptLength = prompts.map(\.count).max()!, completionLength = completions.map(\.count).max()!
            var ids: [Int32] = [], attention: [Int32] = [], lossMask: [Float] = []
            for (prompt, completion) in zip(prompts, completions) {
                let left = promptLength - prompt.count, right = completionLength - completion.count
                ids += [Int32](repeating: eos, count: left) + prompt + completion + [Int32](repeating: eos, count: right)
                attention += [Int32](repeating: 0, count: left) + [Int32](repeating: 1, count: prompt.count + completion.count)
                    + [Int32](repeating: 0, count: right)
                lossMask += [Float](repeating: 1, count: completion.count) + [Float](repeating: 0, count: right)
            }
            let width = promptLength + completionLength
            let input = Tensor(ids, shape: [batchSize, width]), mask = Tensor(attention, shape: [batchSize, width])
            let weights = Tensor(lossMask, shape: [batchSize, completionLength])
            let tokens = Float(lossMask.reduce(0, +))
            let (loss, gradients) = try valueAndGrad(at: model.parameters) {
                -(try model.tokenLogProbs(inputIDs: input, attentionMask: mask, lastTokens: completionLength) * weights).sum() / tokens
            }
            optimizer.update(model.parameters, gradients: gradients, learningRate: learningRate)
            lastLoss = loss.item()
            report(step + 1, lastLoss)
        }
        return lastLoss
    }
}
