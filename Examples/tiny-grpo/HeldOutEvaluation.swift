import RLMath
import RLModel

/// Greedy accuracy on held-out problems, checked by RLMath in reward mode (a boxed answer is
/// needed).
struct HeldOutEvaluation {
    let problems: [ArithmeticTask.Problem]
    let promptIDs: (String) throws -> [Int32]

    func accuracy(of model: any CausalLanguageModel, tokenizer: Tokenizer, maxNewTokens: Int) throws -> Double {
        let prompts = try problems.map { try promptIDs($0.question) }
        let generator = Generator(model: model)
        let results = try generator.generate(prompts: prompts, options: GenerationOptions(
            maxNewTokens: maxNewTokens, sampling: .greedy, stopTokenIDs: [tokenizer.eosTokenID!]))
        let verifier = MathVerifier()
        let correct = zip(problems, results).filter { problem, result in
            verifier.verify(gold: String(problem.answer), completion: tokenizer.decode(result.tokens, skipSpecialTokens: true)).isCorrect
        }.count
        return Double(correct) / Double(problems.count)
    }
}
