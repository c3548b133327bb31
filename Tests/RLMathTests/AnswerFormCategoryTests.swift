import RLMath
import Testing

/// A gold, a whole completion, and the verdict expected in each mode.
struct ModalCase: Sendable, CustomTestStringConvertible {
    var gold: String
    var completion: String
    var reward: Bool
    var eval: Bool
    var testDescription: String { "\(gold) vs \(completion) → reward \(reward), eval \(eval)" }

    /// A case judged the same in both modes.
    init(_ gold: String, _ completion: String, _ correct: Bool) {
        self.init(gold, completion, reward: correct, eval: correct)
    }

    init(_ gold: String, _ completion: String, reward: Bool, eval: Bool) {
        self.gold = gold
        self.completion = completion
        self.reward = reward
        self.eval = eval
    }
}

private func check(_ item: ModalCase) {
    let verifier = MathVerifier()
    let reward = verifier.verify(gold: item.gold, completion: item.completion, mode: .reward)
    let eval = verifier.verify(gold: item.gold, completion: item.completion, mode: .eval)
    #expect(reward.isCorrect == item.reward, "reward: extracted \(reward.extractedAnswer ?? "nil"), parsed \(reward.parsedAnswer ?? "nil") vs \(reward.parsedGold ?? "nil")")
    #expect(eval.isCorrect == item.eval, "eval: extracted \(eval.extractedAnswer ?? "nil"), parsed \(eval.parsedAnswer ?? "nil") vs \(eval.parsedGold ?? "nil")")
}

/// Answer forms from issue 19, each with cases written for it and near misses that must stay false.
@Suite struct AnswerFormCategoryTests {
    /// Golds that label their value (`|AB| = 1`, `V_1:V_2 = 11:21`): the value side is compared.
    @Test(arguments: [
        ModalCase("S_{ABC}:S = 7:32", "So the ratio is $\\boxed{7:32}$.", true),
        ModalCase("S_{ABC}:S = 7:32", "$\\boxed{\\frac{7}{32}}$", true),
        ModalCase("S_{ABC}:S = 7:32", "$\\boxed{\\frac{S_{ABC}}{S} = \\frac{7}{32}}$", true),
        ModalCase("S_{ABC}:S = 7:32", "$\\boxed{32:7}$", false),
        ModalCase("\\frac{NO}{BO} = \\frac{1}{\\sqrt6}", "$\\boxed{\\frac{\\sqrt{6}}{6}}$", true),
        ModalCase("\\frac{NO}{BO} = \\frac{1}{\\sqrt6}", "$\\boxed{\\frac{1}{6}}$", false),
        ModalCase("|PQ| = 5", "The length is $\\boxed{5}$.", true),
        ModalCase("|PQ| = 5", "$\\boxed{|PQ| = 5}$", true),
        ModalCase("|PQ| = 5", "$\\boxed{25}$", false),
        ModalCase("V_1:V_2 = 3:8", "$\\boxed{3:8}$", true),
        ModalCase("V_1:V_2 = 3:8", "$\\boxed{0.375}$", true),
        ModalCase("V_1:V_2 = 3:8", "$\\boxed{8:3}$", false),
        ModalCase("AB^2 = 13", "$\\boxed{13}$", true),
        // An equation with a sum on its left is not a label: its number alone is not the answer.
        ModalCase("x + y = 4", "$\\boxed{4}$", false),
    ])
    func labelledGold(_ item: ModalCase) { check(item) }

    /// Several answers: golds with several values or solutions against several boxes or one list.
    @Test(arguments: [
        ModalCase("x_1 = 4, \\quad x_2 = -1", "$\\boxed{4} \\text{ and } \\boxed{-1}$", true),
        ModalCase("x_1 = 4, \\quad x_2 = -1", "$\\boxed{-1, 4}$", true),
        ModalCase("x_1 = 4, \\quad x_2 = -1", "$\\boxed{x = -1 \\text{ or } x = 4}$", true),
        ModalCase("x_1 = 4, \\quad x_2 = -1", "$\\boxed{x_1 = -1, x_2 = 4}$", true),
        ModalCase("x_1 = 4, \\quad x_2 = -1", "$\\boxed{4}$", false),
        ModalCase("x_1 = 4, \\quad x_2 = -1", "$\\boxed{4, 1}$", false),
        ModalCase("(2,5), (4,4)", "$\\boxed{(4,4), (2,5)}$", true),
        ModalCase("(2,5), (4,4)", "$\\boxed{(4,4)}$ and $\\boxed{(2,5)}$", true),
        ModalCase("(2,5), (4,4)", "$\\boxed{(5,2), (4,4)}$", false),
        ModalCase("(2,5), (4,4)", "$\\boxed{(2,5)}$", false),
        ModalCase("\\boxed{3} \\text{ and } \\boxed{8}", "$\\boxed{8, 3}$", true),
        ModalCase("\\boxed{3}, \\boxed{8}", "$\\boxed{3, 8}$", true),
        ModalCase("\\boxed{3}, \\boxed{8}", "$\\boxed{3, 9}$", false),
        // Named unknowns are still compared name by name.
        ModalCase("x = 2, y = 7", "$\\boxed{y = 7, x = 2}$", true),
        ModalCase("x = 2, y = 7", "$\\boxed{x = 7, y = 2}$", false),
    ])
    func severalAnswers(_ item: ModalCase) { check(item) }

    /// Inequalities, intervals, unions and solution groups denote the same sets.
    @Test(arguments: [
        ModalCase("-3 \\le x \\le 5", "$\\boxed{x \\in [-3, 5]}$", true),
        ModalCase("x \\in [-3, 5]", "$\\boxed{-3 \\le x \\le 5}$", true),
        ModalCase("[-3, 5]", "$\\boxed{-3 \\leq x \\leq 5}$", true),
        ModalCase("-3 \\le x \\le 5", "$\\boxed{[-3, 5]}$", true),
        ModalCase("-3 \\le x \\le 5", "$\\boxed{x \\in [-3, 5)}$", false),
        ModalCase("-3 < x \\le 5", "$\\boxed{(-3, 5]}$", true),
        ModalCase("2 \\le |w| \\le 5/2", "$\\boxed{[-\\frac52, -2] \\cup [2, \\frac52]}$", true),
        ModalCase("2 \\le |w| \\le 5/2", "$\\boxed{[2, \\frac52] \\cup [-\\frac52, -2]}$", true),
        ModalCase("2 \\le |w| \\le 5/2", "$\\boxed{[2, \\frac52]}$", false),
        ModalCase("2 \\le |w| \\le 5/2", "$\\boxed{(-\\frac52, -2] \\cup [2, \\frac52]}$", false),
        ModalCase("|t| < 3", "$\\boxed{(-3, 3)}$", true),
        ModalCase("|t| > 1", "$\\boxed{(-\\infty, -1) \\cup (1, \\infty)}$", true),
        ModalCase("|t| > 1", "$\\boxed{(1, \\infty)}$", false),
        ModalCase("a=3,b=1; a=5,b=3", "$\\boxed{(3,1),(5,3)}$", true),
        ModalCase("(3,1),(5,3)", "$\\boxed{a=5,b=3; a=3,b=1}$", true),
        ModalCase("a=3,b=1; a=5,b=3", "$\\boxed{(3,1)}$", false),
        ModalCase("a=3,b=1; a=5,b=3", "$\\boxed{(1,3),(3,5)}$", false),
    ])
    func relationsAndSets(_ item: ModalCase) { check(item) }

    /// A completion that is only LaTeX: eval extracts the whole expression (never its last
    /// number); reward requires an anchor and finds none.
    @Test(arguments: [
        ModalCase("-\\frac{7}{3}", "-\\frac{7}{3}", reward: false, eval: true),
        ModalCase("\\frac{7}{3}", "\\frac{7}{3}", reward: false, eval: true),
        ModalCase("3", "\\frac{7}{3}", false),
        ModalCase("-\\frac{7}{3}", "\\frac{7}{3}", false),
        ModalCase("2\\sqrt{5}", "The distance is 2\\sqrt{5}", reward: false, eval: true),
    ])
    func bareLatex(_ item: ModalCase) { check(item) }

    @Test("bare LaTeX is extracted whole, or not at all")
    func bareLatexExtraction() {
        let eval = MathVerifier().verify(gold: "3", completion: "\\frac{7}{3}", mode: .eval)
        #expect(eval.extractedAnswer == "\\frac{7}{3}")
        let reward = MathVerifier().verify(gold: "3", completion: "\\frac{7}{3}", mode: .reward)
        #expect(reward.extractedAnswer == nil)
        #expect(reward.reason == .noAnswerFound)
    }

    /// Decimal commas where the comma cannot be a separator; thousands and tuples keep their reading.
    @Test(arguments: [
        ModalCase("2500.75", "$\\boxed{2500,75}$", true),
        ModalCase("3.18", "The price is $\\boxed{3,18 \\$}$", true),
        ModalCase("0.875", "$\\boxed{0,875}$", true),
        ModalCase("-4.5", "$\\boxed{-4,5}$", true),
        ModalCase("2500.75", "$\\boxed{2500,76}$", false),
        ModalCase("3000000", "$\\boxed{3,000,000}$", true),
        ModalCase("3000", "$\\boxed{3,000}$", true),
        ModalCase("3.000", "$\\boxed{3,000}$", false),
        ModalCase("(4,15)", "$\\boxed{(4,15)}$", true),
        ModalCase("4.15", "$\\boxed{(4,15)}$", false),
        // A list gold keeps the list reading.
        ModalCase("4, 15", "$\\boxed{4,15}$", true),
        ModalCase("2,74", "$\\boxed{2.74}$", true),
    ])
    func decimalCommas(_ item: ModalCase) { check(item) }

    /// Rounded decimals inside intervals and matrices count in eval mode only; single values and
    /// tuples stay exact in both.
    @Test(arguments: [
        ModalCase("(\\frac25, \\frac{11}{3}]", "$\\boxed{(0.4, 3.6667]}$", reward: false, eval: true),
        ModalCase("(\\frac25, \\frac{11}{3}]", "$\\boxed{(0.4, 3.67]}$", reward: false, eval: true),
        ModalCase("(\\frac25, \\frac{11}{3}]", "$\\boxed{(0.4, 3.5]}$", false),
        ModalCase("(\\frac25, \\frac{11}{3}]", "$\\boxed{(0.4, 3.66]}$", false),
        ModalCase("(\\frac25, \\frac{11}{3}]", "$\\boxed{[0.4, 3.6667]}$", false),
        ModalCase("[\\sqrt2, \\infty)", "$\\boxed{[1.414, \\infty)}$", reward: false, eval: true),
        ModalCase("[\\sqrt2, \\infty)", "$\\boxed{[1.4, \\infty)}$", reward: false, eval: true),
        ModalCase("[\\sqrt2, \\infty)", "$\\boxed{[1.415, \\infty)}$", false),
        ModalCase("\\begin{pmatrix}\\frac23\\\\\\frac14\\end{pmatrix}", "$\\boxed{\\begin{pmatrix}0.67\\\\0.25\\end{pmatrix}}$", reward: false, eval: true),
        ModalCase("\\begin{pmatrix}\\frac23\\\\\\frac14\\end{pmatrix}", "$\\boxed{\\begin{pmatrix}0.66\\\\0.25\\end{pmatrix}}$", false),
        // One significant digit is not a rounding.
        ModalCase("\\begin{pmatrix}\\frac23\\\\\\frac14\\end{pmatrix}", "$\\boxed{\\begin{pmatrix}0.7\\\\0.25\\end{pmatrix}}$", false),
        ModalCase("\\frac{1}{7}", "$\\boxed{0.1429}$", false),
        ModalCase("(1, \\frac{\\pi}{4})", "$\\boxed{(1, 0.7854)}$", false),
    ])
    func roundedNumericsInStructures(_ item: ModalCase) { check(item) }

    /// A choice letter opening the completion, then a period or parenthesis (eval mode).
    @Test(arguments: [
        ModalCase("C", "C. The function is decreasing on the whole interval.", reward: false, eval: true),
        ModalCase("(C)", "C. Because f'(x) < 0 for x > 2.", reward: false, eval: true),
        ModalCase("C", "(C) since 12 is even.", reward: false, eval: true),
        ModalCase("C", "B. Because f'(x) < 0 for x > 2.", false),
        ModalCase("C", "Compute 3 + 4 = 7.", false),
        // An anchored answer still comes first.
        ModalCase("D", "A. is wrong, so the answer is $\\boxed{D}$.", true),
    ])
    func choiceAfterLetter(_ item: ModalCase) { check(item) }

    /// Near misses that every reading above must leave false.
    @Test(arguments: [
        ModalCase("1 - 1/e", "$\\boxed{1 + 1/e}$", false),
        ModalCase("1 - \\frac{1}{e}", "$\\boxed{1 + \\frac{1}{e}}$", false),
        ModalCase("f(x)", "$\\boxed{f(y)}$", reward: false, eval: false),
        ModalCase("\\frac{2}{5}", "$\\boxed{2:3}$", false),
        ModalCase("7", "$\\boxed{7,5}$", false),
    ])
    func nearMisses(_ item: ModalCase) { check(item) }
}
