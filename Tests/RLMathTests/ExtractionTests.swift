import Testing
import RLMath

/// A completion and the answer a careful reader takes from it (nil: no final answer given).
struct ExtractionCase: Sendable, CustomTestStringConvertible {
    var completion: String
    var expected: String?
    var testDescription: String { completion.count > 60 ? String(completion.suffix(60)) : completion }

    init(_ completion: String, _ expected: String?) {
        self.completion = completion
        self.expected = expected
    }
}

@Suite struct ExtractionTests {
    /// Cases where the reward-mode answer is unambiguous; `expected` is compared by value.
    static let rewardCases: [ExtractionCase] = [
        ExtractionCase("so \\boxed{5}", "5"),
        ExtractionCase("first $\\boxed{3}$, wait, actually $\\boxed{4}$", "4"),
        ExtractionCase("nested \\boxed{\\frac{1}{\\sqrt{2}}} done", "\\frac{\\sqrt2}{2}"),
        ExtractionCase("bare \\boxed 5 here", "5"),
        ExtractionCase("\\fbox{104}.", "104"),
        ExtractionCase("\\boxed{\\text{(C)}}", "\\text{(C)}"),
        ExtractionCase("\\boxed{5} (not \\boxed{6})", "5"),
        ExtractionCase("The roots are $\\boxed{2}$, $\\boxed{3}$", "2,3"),
        ExtractionCase("The final answer is $\\frac{3}{4}$.", "0.75"),
        ExtractionCase("Final Answer: The final answer is $12$. I hope it is correct.", "12"),
        ExtractionCase("Therefore, the final answer is: $\\boxed{7}$. I hope it is correct.", "7"),
        ExtractionCase("<think>\nthe answer might be 3\n</think>\n<answer> 25 </answer>", "25"),
        ExtractionCase("<answer>\nThe final answer is 12\n</answer>", "12"),
        ExtractionCase("blah\nFinal answer: 204", "204"),
        ExtractionCase("Answer: $m=110$", "110"),
        ExtractionCase("**Answer:** 25", "25"),
        ExtractionCase("The answer is **36**.", "36"),
        ExtractionCase("so the result is \\boxed{809.}", "809"),
        ExtractionCase("We get 3, then 4, and finally 5.", nil),
        ExtractionCase("the value is $x = 12$", nil),
        ExtractionCase("Truncated at the very end: \\boxed{42", "42"),
        ExtractionCase("Truncated inside a fraction: \\boxed{\\frac{1}{2", "\\frac12"),
        ExtractionCase("so $x = \\boxed{1}$ and $y = \\boxed{2}$.", "(1,2)"),
        ExtractionCase("we get \\boxed{1} and then we check \\boxed{2}", "2"),
        ExtractionCase("The answer is 12 apples.", "12"),
        ExtractionCase("<answer> The area is 25 square units </answer>", "25"),
        ExtractionCase("Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct.", "3"),
        ExtractionCase("The answer is Evelyn.", "\\text{Evelyn}"),
        ExtractionCase("so \\boxed{12}. Wait, I erred. Final Answer: The final answer is $13$. I hope it is correct.", "13"),
        ExtractionCase("\\boxed{5}. The final answer is therefore correct.", "5"),
        ExtractionCase("The answer is 2x + 3", "3 + 2x"),
        ExtractionCase("Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "120"),
        ExtractionCase("Final Answer: The smallest value of $N$ is $14{,}916$.", "14916"),
        ExtractionCase("The final answer is 12,000,023. I hope it is correct.", "12000023"),
        ExtractionCase("the answer is \\boxed{\\text{C}}", "\\text{(C)}"),
    ]

    @Test(arguments: rewardCases)
    func rewardModeFindsTheAnchoredAnswer(_ item: ExtractionCase) {
        let verdict = MathVerifier().verify(gold: item.expected ?? "1", completion: item.completion, mode: .reward)
        if item.expected != nil {
            #expect(verdict.isCorrect, "extracted \(verdict.extractedAnswer ?? "nil")")
        } else {
            #expect(!verdict.isCorrect)
            #expect(verdict.reason == .noAnswerFound)
        }
    }

    @Test func evalModeFallsBackToTheLastExpression() {
        let rambling = "We get 3, then 4, and finally $x = 12$"
        #expect(!MathVerifier().verify(gold: "12", completion: rambling, mode: .reward).isCorrect)
        #expect(MathVerifier().verify(gold: "12", completion: rambling, mode: .eval).isCorrect)
        #expect(MathVerifier().verify(gold: "5", completion: "so we get 3 and finally 5", mode: .eval).isCorrect)
        #expect(MathVerifier().verify(gold: "\\frac12", completion: "Thus\n\\[ \\frac{1}{2} \\]\n", mode: .eval).isCorrect)
        #expect(MathVerifier().verify(gold: "2/3", completion: "so P(A) = 2/3. <|im_start|>user", mode: .eval).isCorrect)
        #expect(MathVerifier().verify(gold: "1000.99", completion: "which is 1,000.99m²", mode: .eval).isCorrect)
        #expect(MathVerifier().verify(gold: "1000", completion: "it is 1 000", mode: .eval).isCorrect)
        #expect(MathVerifier().verify(gold: "10/9", completion: "Answer $ \\frac{1}{2} \\$ = \\frac{10}{9} $", mode: .eval).isCorrect)
        // A digit inside a word is not a number.
        #expect(!MathVerifier().verify(gold: "2", completion: "AZYUK2A", mode: .eval).isCorrect)
        // "answer" followed directly by math is only an anchor in eval mode.
        #expect(MathVerifier().verify(gold: "9", completion: "Answer $ 9 $", mode: .eval).isCorrect)
        #expect(!MathVerifier().verify(gold: "9", completion: "Answer $ 9 $", mode: .reward).isCorrect)
    }

    /// LaTeX without delimiters ending a completion is taken whole, never its last number
    /// (`\frac{10}{9}` gave `9`).
    @Test func bareLatexIsTakenWhole() {
        let verifier = MathVerifier()
        for completion in ["\\frac{10}{9}", "\\frac{10}{9}.", "so the value is \\frac{10}{9}", "Thus x = \\dfrac{10}{9}\n"] {
            let verdict = verifier.verify(gold: "\\frac{10}{9}", completion: completion, mode: .eval)
            #expect(verdict.isCorrect, "\(completion): extracted \(verdict.extractedAnswer ?? "nil")")
            #expect(!verifier.verify(gold: "9", completion: completion, mode: .eval).isCorrect, "\(completion)")
        }
        let negative = verifier.verify(gold: "-\\frac{10}{9}", completion: "-\\frac{10}{9}", mode: .eval)
        #expect(negative.isCorrect && negative.extractedAnswer == "-\\frac{10}{9}", "\(negative.extractedAnswer ?? "nil")")
        #expect(!verifier.verify(gold: "\\frac{10}{9}", completion: "-\\frac{10}{9}", mode: .eval).isCorrect)
        // Not an answer in reward mode; prose and plain numbers keep the number fallback.
        #expect(!verifier.verify(gold: "\\frac{10}{9}", completion: "\\frac{10}{9}", mode: .reward).isCorrect)
        #expect(verifier.verify(gold: "3", completion: "The answer has 3 parts", mode: .eval).isCorrect)
        #expect(AnswerExtractor.candidates(in: "\\frac{10}{9}", mode: .eval).map(\.source).contains(.bareMath))
    }

    @Test func hedgedProseIsNotAnAnswer() {
        #expect(!MathVerifier().verify(gold: "12", completion: "The answer is probably 12 but let me check").isCorrect)
        #expect(!MathVerifier().verify(gold: "3", completion: "Final answer: not 3 but 5").isCorrect)
    }

    @Test func boxedWinsOverLaterPhrases() {
        let candidates = AnswerExtractor.candidates(in: "\\boxed{3}. The answer is 4.", mode: .reward)
        #expect(candidates.first?.source == .boxed)
        #expect(candidates.first?.text == "3")
        #expect(candidates.contains { $0.source == .answerPhrase && $0.text == "4" })
    }

    @Test func lastPhraseWins() {
        let candidates = AnswerExtractor.candidates(in: "The answer is 3. Hmm, no. The answer is 4.", mode: .reward)
        #expect(candidates.first?.text == "4")
    }
}

@Suite struct VerdictTests {
    @Test func verdictReportsWhatWasCompared() {
        let verdict = MathVerifier().verify(gold: "\\frac{1}{2}", completion: "so \\boxed{0.5}")
        #expect(verdict.isCorrect)
        #expect(verdict.extractedAnswer == "0.5")
        #expect(verdict.parsedGold != nil)
        #expect(verdict.reason == nil)
    }

    @Test func wrongAnswerHasAReason() {
        let verdict = MathVerifier().verify(gold: "2", completion: "\\boxed{3}")
        #expect(!verdict.isCorrect)
        #expect(verdict.reason == .notEquivalent)
    }

    @Test func unparseableGoldIsReportedNotRewarded() {
        let verdict = MathVerifier().verify(gold: "\\frac{", completion: "\\boxed{\\frac{}")
        #expect(!verdict.isCorrect)
        #expect(verdict.reason == .goldUnparseable)
        #expect(verdict.parsedGold == nil)
    }

    @Test func goldMayBeAWorkedSolution() {
        let solution = "We compute $2+2 = 4$, so the answer is $\\boxed{4}$."
        #expect(MathVerifier().verify(gold: solution, completion: "\\boxed{4}").isCorrect)
        #expect(!MathVerifier().verify(gold: solution, completion: "\\boxed{2}").isCorrect)
    }

    @Test func expressionAPI() {
        let gold = MathExpression(latex: "\\sqrt{117}")
        let answer = MathExpression(latex: "3\\sqrt{13}")
        #expect(gold != nil && answer != nil)
        if let gold, let answer {
            #expect(gold.isEquivalent(to: answer))
        }
        #expect(MathExpression(latex: "\\frac{1}{") == nil)
        #expect(MathExpression(latex: "(1, 2") == nil)
    }
}
