/// The evaluation prompt of the reference harness (open-rs `src/open_r1/evaluate.py`, lighteval
/// task): one user message, no system prompt, rendered with the model's chat template.
public enum EvaluationPrompt {
    /// The instruction of open-r1's `MATH_QUERY_TEMPLATE` (commit eeca246). Note the two spaces
    /// after "clearly." and the single braces around `ANSWER` (the template's are doubled for
    /// Python's `format`).
    public static let mathQueryInstruction = "Solve the following math problem efficiently and clearly.  The last line of your response should be of the following format: 'Therefore, the final answer is: $\\boxed{ANSWER}$. I hope it is correct' (without quotes) where ANSWER is just the final number or expression that solves the problem. Think step by step before answering."

    /// The user message for `problem`: the instruction, a blank line, then the problem.
    public static func mathQuery(_ problem: String) -> String {
        mathQueryInstruction + "\n\n" + problem
    }
}

/// How a problem becomes the user message.
public enum EvaluationPromptStyle: String, Sendable, CaseIterable {
    /// The reference's `MATH_QUERY_TEMPLATE` (the paper's protocol).
    case mathQuery = "math-query"
    /// The problem text alone (for models trained on bare questions, such as tiny-grpo's).
    case raw

    public func message(for problem: String) -> String {
        switch self {
        case .mathQuery: return EvaluationPrompt.mathQuery(problem)
        case .raw: return problem
        }
    }
}
