import RLMath
import Testing

/// The examples of the RLMath DocC catalog (`Sources/RLMath/RLMath.docc`), with the results they show.
@Suite("RLMath documentation examples")
struct DocumentationExampleTests {
    @Test("the landing page's example")
    func landingPage() {
        let verifier = MathVerifier()
        let verdict = verifier.verify(gold: "\\frac{1}{2}", completion: "so the answer is \\boxed{0.5}", mode: .reward)
        #expect(verdict.isCorrect)
        #expect(verdict.extractedAnswer == "0.5")
        #expect(verdict.parsedGold == "1/2")
    }

    @Test("Embedding the checker: the three cases and their printed results")
    func embeddingTheChecker() {
        let verifier = MathVerifier()
        let cases: [(gold: String, completion: String)] = [
            ("204", "Adding the parts gives \\boxed{204}."),
            ("x \\in [-2, 7]", "The solution set is $-2 \\le x \\le 7$, so \\boxed{[-2,7]}"),
            ("\\frac{1}{6}", "The probability is \\boxed{0.1667}"),
        ]
        let lines = cases.map { item -> String in
            let verdict = verifier.verify(gold: item.gold, completion: item.completion, mode: .reward)
            return "\(verdict.isCorrect) \(verdict.extractedAnswer ?? "-") \(verdict.reason?.rawValue ?? "")"
        }
        #expect(lines == ["true 204 ", "true [-2,7] ", "false 0.1667 notEquivalent"])
    }
}
