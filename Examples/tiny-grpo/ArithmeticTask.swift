/// The synthetic task: multi-step integer arithmetic such as "What is 7 + 5 - 3?", answered with
/// a short worked chain inside the think block and a boxed result.
///
/// The warm-start demonstrations come from an impatient teacher: in `directAnswerFraction` of
/// them the think block is empty and the answer is written at once. A small model imitating it
/// answers many problems directly, which is mostly wrong (it cannot do several operations at
/// once), and works the others out with slips; GRPO's accuracy reward teaches it to work every
/// problem out and to make fewer slips.
struct ArithmeticTask {
    struct Problem {
        let question: String
        let answer: Int
        /// The completion the teacher wrote (after the template's "<think>\n").
        let demonstration: String
    }

    /// Operand range, number of operations and the teacher's share of unworked answers.
    let maxOperand: Int
    let operations: Int
    let directAnswerFraction: Double

    /// A deterministic stream of problems.
    func problems(count: Int, seed: UInt64) -> [Problem] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<count).map { _ in
            var value = next(maxOperand) + 1
            var question = "What is \(value)"
            var steps: [String] = []
            for _ in 0..<operations {
                let operand = next(maxOperand) + 1
                // Keep every intermediate result non-negative.
                let subtract = next(2) == 0 && operand <= value
                let result = subtract ? value - operand : value + operand
                question += subtract ? " - \(operand)" : " + \(operand)"
                steps.append("\(value)\(subtract ? "-" : "+")\(operand)=\(result)")
                value = result
            }
            question += "?"
            let worked = Double(next(1_000)) >= directAnswerFraction * 1_000
            let demonstration = (worked ? steps.joined(separator: "\n") : "") + "\n</think>\n\\boxed{\(value)}"
            return Problem(question: question, answer: value, demonstration: demonstration)
        }
    }
}
