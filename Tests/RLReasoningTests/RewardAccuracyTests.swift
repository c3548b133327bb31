import RLReasoning
import Testing

/// A gold answer RLMath cannot parse (an unbalanced fraction), like a `solution` math-verify
/// extracts nothing from.
let unparseableGold = "\\frac{"

/// Scores several completions of one row in one batch.
func scores(_ reward: some RewardFunction, _ completions: [String], tokens: [Int]? = nil, row: [String: String]) -> [Float?] {
    // One row per completion; callers give one count per completion.
    reward.scores(try! RewardBatch(completions: completions, tokenCounts: tokens ?? completions.map { _ in 1 },
                              rows: completions.map { _ in row }))
}

/// The answer-checking rewards: accuracy, cosine (faithful and fixed) and length, against the
/// reference (`docs/openrs-reference.md` §1.5, open-r1 `rewards.py`). Expected values
/// are derived by hand in the comments.
@Suite("Rewards: accuracy, cosine, length")
struct RewardAccuracyTests {
    // MARK: accuracy

    @Test("accuracy: a correct anchored answer scores 1, a wrong one 0, none found 0")
    func accuracyBasics() {
        let row = ["solution": "Adding gives $2 + 2 = \\boxed{4}$."]
        let cases: [(String, Float, String)] = [
            ("<think>\n2 + 2\n</think>\nThe sum is \\boxed{4}.", 1, "boxed and equal"),
            ("\\boxed{4.0}", 1, "numerically equal"),
            ("\\boxed{5}", 0, "boxed but wrong"),
            ("We get 4.", 0, "right number but no anchor (try_extract_without_anchor=False)"),
            ("", 0, "empty completion"),
            ("\\boxed{4} first thought, then \\boxed{5}", 0, "the last box wins: 5"),
            ("<think>\nmaybe \\boxed{5}\n</think>\nso \\boxed{4}", 1, "the last box wins: 4"),
            ("<think>\nit is \\boxed{4}\n</think>\n", 1, "a box inside the think block counts"),
        ]
        let values = scores(AccuracyReward(), cases.map(\.0), row: row)
        for (value, testCase) in zip(values, cases) { #expect(value == testCase.1, "\(testCase.2)") }
    }

    @Test("accuracy: the gold comes from `solution`, else `answer`")
    func accuracyGoldColumns() {
        let reward = AccuracyReward()
        // solution present: it wins over answer (gold 5, the answer column says 4).
        #expect(score(reward, "\\boxed{5}", row: ["solution": "\\boxed{5}", "answer": "4"]) == 1)
        #expect(score(reward, "\\boxed{4}", row: ["solution": "\\boxed{5}", "answer": "4"]) == 0)
        // no solution column, or a blank one: answer is used.
        #expect(score(reward, "\\boxed{4}", row: ["answer": "4"]) == 1)
        #expect(score(reward, "\\boxed{4}", row: ["solution": "  \n", "answer": "4"]) == 1)
        #expect(score(reward, "\\boxed{5}", row: ["answer": "4"]) == 0)
        // Custom columns.
        let custom = AccuracyReward(goldColumns: GoldColumns(["target"]))
        #expect(score(custom, "\\boxed{7}", row: ["target": "7", "solution": "\\boxed{4}"]) == 1)
    }

    @Test("accuracy: an unparseable gold is 'no score' by default, 1.0 with the reference policy")
    func accuracyUnparseableGold() {
        let row = ["solution": unparseableGold]
        let completions = ["\\boxed{4}", "nothing", ""]
        #expect(scores(AccuracyReward(unparseableGold: .noScore), completions, row: row) == [nil, nil, nil])
        // Open-RS: reward 1.0 for every completion when the gold does not parse.
        #expect(scores(AccuracyReward(unparseableGold: .reference), completions, row: row) == [1, 1, 1])
        // A missing gold is treated the same way.
        #expect(score(AccuracyReward(), "\\boxed{4}", row: ["problem": "?"]) == nil)
    }

    // MARK: cosine, faithful

    // r = lo + ½(hi − lo)(1 + cos(π L / M)); correct: lo 0.5, hi 1.0; wrong: lo −0.5, hi 0.0 (the
    // Open-RS script defaults). L is the number of characters (Python len = Unicode scalars).
    // "\\boxed{4}" is 9 characters: \ b o x e d { 4 }.
    static let right = "\\boxed{4}"
    static let wrong = "\\boxed{5}"
    static let row = ["solution": "\\boxed{4}"]

    func faithful(_ maxLength: Int, _ text: String) -> Float {
        score(CosineReward(variant: .faithful, maxLength: maxLength), text, tokens: 1_000_000, row: Self.row)!
    }

    @Test("cosine (faithful): the reference's values at 0, M/2, M and the wrong-answer sign quirk")
    func cosineFaithfulValues() {
        // correct, L = M = 9: cos π = −1 → 0.5 + 0.25·0 = 0.5
        #expect(abs(faithful(9, Self.right) - 0.5) <= 1e-6)
        // correct, L = M/2 (M = 18): cos π/2 = 0 → 0.5 + 0.25·1 = 0.75
        #expect(abs(faithful(18, Self.right) - 0.75) <= 1e-6)
        // correct, L = M/4 (M = 36): cos π/4 = 0.7071068 → 0.5 + 0.25·1.7071068 = 0.9267767
        #expect(abs(faithful(36, Self.right) - 0.9267767) <= 1e-6)
        // correct, L ≪ M (M = 9·10⁶): cos ≈ 1 → 1.0 (the L = 0 value)
        #expect(abs(faithful(9_000_000, Self.right) - 1) <= 1e-6)
        // wrong, L = M = 9: −0.5 + 0.25·0 = −0.5
        #expect(abs(faithful(9, Self.wrong) - -0.5) <= 1e-6)
        // wrong, L = M/2: −0.5 + 0.25·1 = −0.25
        #expect(abs(faithful(18, Self.wrong) - -0.25) <= 1e-6)
        // wrong, L = 0 (empty text: no answer, so wrong): cos 0 = 1 → −0.5 + 0.25·2 = 0.0
        #expect(abs(faithful(18, "") - 0) <= 1e-6)
        // The quirk: with these defaults a longer wrong answer is penalised MORE.
        // "none" (L = 4, M = 18): cos(40°) = 0.7660444 → −0.5 + 0.25·1.7660444 = −0.0584889
        #expect(abs(faithful(18, "none") - -0.0584889) <= 1e-6)
        #expect(faithful(18, "none") > faithful(18, Self.wrong))
        // And a longer correct answer earns less: 0.9267767 (M = 36) > 0.75 (M = 18) for the same text
        // is the same as L/M growing.
        #expect(faithful(36, Self.right) > faithful(18, Self.right))
    }

    @Test("cosine (faithful): no clamp past max_len, period 2·max_len")
    func cosineFaithfulPeriodic() {
        // " \\boxed{4}" is 10 characters. M = 5: L = 2M → cos 2π = 1 → the L = 0 value, 1.0
        let ten = " " + Self.right
        #expect(abs(faithful(5, ten) - 1) <= 1e-6)
        // M = 10: L = M → 0.5; M = 20/3 is not an integer, so use L = 1.5 M with L = 9, M = 6:
        // cos(1.5π) = 0 → 0.75, climbing back up from 0.5 at L = M.
        #expect(abs(faithful(10, ten) - 0.5) <= 1e-6)
        #expect(abs(faithful(6, Self.right) - 0.75) <= 1e-6)
        // Wrong at L = 2M equals wrong at L = 0: 0.0 (not −0.5).
        #expect(abs(faithful(5, " " + Self.wrong) - 0) <= 1e-6)
    }

    @Test("cosine (faithful): L counts Unicode scalars like Python len, not tokens, bytes or graphemes")
    func cosineFaithfulCountsScalars() {
        // "e\u{301}" is 1 grapheme, 2 scalars, 3 UTF-8 bytes. Text = box (9) + 2 scalars = 11.
        let text = Self.right + "e\u{301}"
        // M = 11 → L = M → 0.5 exactly (10 graphemes or 12 bytes would not give cos π).
        #expect(abs(faithful(11, text) - 0.5) <= 1e-6)
        // The token count (1,000,000 here) plays no part.
        let reward = CosineReward(variant: .faithful, maxLength: 11)
        #expect(abs(score(reward, text, tokens: 3, row: Self.row)! - 0.5) <= 1e-6)
        // "😀" is one scalar (4 bytes): box + 😀 + "x" = 11 scalars.
        #expect(abs(faithful(11, Self.right + "😀x") - 0.5) <= 1e-6)
    }

    @Test("cosine (faithful): an unparseable gold scores 1.0 whatever the completion")
    func cosineFaithfulUnparseableGold() {
        let reward = CosineReward(variant: .faithful, maxLength: 9)
        #expect(scores(reward, [Self.right, Self.wrong, ""], row: ["solution": unparseableGold]) == [1, 1, 1])
    }

    @Test("cosine (faithful) with the function's own defaults reverses the wrong-answer slope")
    func cosineCustomValues() {
        // open-r1's function defaults: wrong min −0.5 (L = 0), wrong max −1.0 (L = M).
        let reward = CosineReward(variant: .faithful, maxLength: 9, minValueWrong: -0.5, maxValueWrong: -1)
        // L = M: lo = −1 → −1 + 0.5·0.5·0 = −1.0
        #expect(abs(score(reward, Self.wrong, row: Self.row)! - -1) <= 1e-6)
    }

    // MARK: cosine, fixed

    @Test("cosine (fixed): tokens, progress clamped to 1, unparseable gold gives no score")
    func cosineFixed() {
        let reward = CosineReward(variant: .fixed, maxLength: 10)
        // 5 tokens of 10: cos π/2 = 0 → correct 0.75, wrong −0.25 (the 9 characters do not matter)
        #expect(abs(score(reward, Self.right, tokens: 5, row: Self.row)! - 0.75) <= 1e-6)
        #expect(abs(score(reward, Self.wrong, tokens: 5, row: Self.row)! - -0.25) <= 1e-6)
        // 20 tokens: progress min(2, 1) = 1 → 0.5 and −0.5 (the faithful variant would give 1.0 and 0.0)
        #expect(abs(score(reward, Self.right, tokens: 20, row: Self.row)! - 0.5) <= 1e-6)
        #expect(abs(score(reward, Self.wrong, tokens: 20, row: Self.row)! - -0.5) <= 1e-6)
        // 0 tokens: 1.0 when correct
        #expect(abs(score(reward, Self.right, tokens: 0, row: Self.row)! - 1) <= 1e-6)
        #expect(score(reward, Self.right, tokens: 5, row: ["solution": unparseableGold]) == nil)
    }

    // MARK: length (Kimi 1.5)

    @Test("length: λ = 0.5 − (L − min)/(max − min); correct → λ, wrong → min(0, λ)")
    func lengthReward() {
        let row = ["solution": "\\boxed{4}"]
        // Character lengths 9, 19, 29, 14: min 9, max 29, range 20.
        let completions = [
            Self.right,                                              // L 9, correct: λ = 0.5          → 0.5
            String(repeating: "x", count: 10) + Self.right,          // L 19, correct: λ = 0.5 − 10/20 → 0.0
            String(repeating: "x", count: 20) + Self.wrong,          // L 29, wrong: λ = −0.5          → −0.5
            String(repeating: "x", count: 5) + Self.wrong,           // L 14, wrong: λ = 0.25 → min(0, 0.25) = 0
            String(repeating: "x", count: 4) + Self.right,           // L 13, correct: λ = 0.5 − 4/20 = 0.3
        ]
        let values = scores(LengthReward(), completions, row: row)
        let expected: [Float] = [0.5, 0, -0.5, 0, 0.3]
        for (value, want) in zip(values, expected) { #expect(abs(value! - want) <= 1e-6, "got \(values)") }
    }

    @Test("length: all lengths equal → all 0; an unparseable gold counts as correct")
    func lengthEdgeCases() {
        let row = ["solution": "\\boxed{4}"]
        #expect(scores(LengthReward(), [Self.right, Self.wrong, "abcdefghi"], row: row) == [0, 0, 0])
        // Unparseable gold: treated as correct (open-r1 appends True), so λ is kept even when negative.
        let values = scores(LengthReward(), ["ab", "abcd", "abcdef"], row: ["solution": unparseableGold])
        // lengths 2, 4, 6: λ = 0.5, 0, −0.5
        #expect(values == [0.5, 0, -0.5])
    }
}
