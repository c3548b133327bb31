import Testing
import RLMath
import RLTestSupport

/// The 163 labelled completions of `Tests/Fixtures/checker/dev_cases.jsonl`, scored on `expected`
/// (a careful human judgement). math-verify 0.9.0 gets 142 of them right.
@Suite struct DevCasesTests {
    static let cases = (try? TestData.rows("checker/dev_cases.jsonl", as: DevCase.self)) ?? []

    @Test func allCasesAreLoaded() {
        #expect(Self.cases.count == 163, "fixture missing? looked in \(Fixtures.directory.path)")
    }

    @Test(arguments: cases)
    func rewardModeMatchesHumanJudgement(_ devCase: DevCase) {
        let verdict = MathVerifier().verify(gold: devCase.gold, completion: devCase.answer, mode: .reward)
        #expect(verdict.isCorrect == devCase.expected,
                "extracted \(verdict.extractedAnswer ?? "nil") → \(verdict.parsedAnswer ?? "nil"), gold \(verdict.parsedGold ?? "nil")")
    }

    @Test(arguments: cases)
    func evalModeMatchesHumanJudgement(_ devCase: DevCase) {
        // Every dev completion has an anchored answer, so the eval fallbacks must not change a verdict.
        let verdict = MathVerifier().verify(gold: devCase.gold, completion: devCase.answer, mode: .eval)
        #expect(verdict.isCorrect == devCase.expected)
    }

    /// The verifier is a value type without shared state: concurrent calls agree with serial ones.
    @Test func concurrentVerificationMatchesSerial() async {
        let verifier = MathVerifier()
        let serial = Self.cases.map { verifier.verify(gold: $0.gold, completion: $0.answer).isCorrect }
        let concurrent = await withTaskGroup(of: (Int, Bool).self) { group in
            for (index, devCase) in Self.cases.enumerated() {
                group.addTask { (index, verifier.verify(gold: devCase.gold, completion: devCase.answer).isCorrect) }
            }
            var results = [Bool](repeating: false, count: Self.cases.count)
            for await (index, verdict) in group { results[index] = verdict }
            return results
        }
        #expect(concurrent == serial)
    }

    @Test func beatsMathVerifyOnTheCasesItGetsWrong() {
        let disagreements = Self.cases.filter { $0.mathverify_openrs != $0.expected }
        #expect(disagreements.count == 21)
        let ours = disagreements.filter {
            MathVerifier().verify(gold: $0.gold, completion: $0.answer).isCorrect == $0.expected
        }
        #expect(ours.count == disagreements.count)
    }
}
