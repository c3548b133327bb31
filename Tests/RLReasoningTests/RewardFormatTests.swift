import RLReasoning
import Testing

/// Scores one completion with a reward (row and token count as given).
func score(_ reward: some RewardFunction, _ completion: String, tokens: Int = 1, row: [String: String] = [:]) -> Float? {
    // One completion, one count, one row: the batch is always well formed.
    reward.scores(try! RewardBatch(completions: [completion], tokenCounts: [tokens], rows: [row]))[0]
}

/// The text-only rewards (format, tag_count, reasoning_steps, repetition_penalty), each against
/// the reference's definition (`docs/openrs-reference.md` §1.5, open-r1 `rewards.py`).
/// Every expected value is derived by hand in the comment beside it.
@Suite("Rewards: format, tag count, reasoning steps, repetition")
struct RewardFormatTests {
    // Open-RS format_reward: `1.0 if text.count("\n</think>\n") == 1 else 0.0`; Python's
    // str.count counts non-overlapping occurrences, left to right.
    static let formatCases: [(String, Float, String)] = [
        ("reasoning\n</think>\nThe answer is 4.", 1, "one closing tag with newlines on both sides"),
        ("<think>\nreasoning\n</think>\n\\boxed{4}", 1, "an opening tag is allowed but not needed"),
        ("", 0, "empty text: zero occurrences"),
        ("no tags at all", 0, "zero occurrences"),
        ("a\n</think>\nb\n</think>\nc", 0, "two occurrences"),
        ("reasoning</think>\nanswer", 0, "no newline before the tag"),
        ("reasoning\n</think>answer", 0, "no newline after the tag"),
        ("reasoning\n</think>", 0, "tag at the very end without the trailing newline"),
        ("reasoning\n<think>\nanswer", 0, "an opening tag is not a closing one"),
        // "\n</think>\n</think>\n": the first match consumes the shared "\n", so str.count
        // finds 1 occurrence (an overlapping count would find 2).
        ("x\n</think>\n</think>\n", 1, "non-overlapping count as Python's str.count"),
        ("<think>\nthe whole thing\n</think>\n<answer>4</answer>", 1, "answer tags are not checked"),
    ]

    @Test("format: exactly one \"\\n</think>\\n\", nothing else checked", arguments: formatCases)
    func format(_ testCase: (String, Float, String)) {
        #expect(score(FormatReward(), testCase.0) == testCase.1, "\(testCase.2)")
    }

    // Open-RS tag_count: 0.5 if text.count("<think>\n") == 1, plus 0.5 if
    // text.count("\n</think>\n") == 1.
    static let tagCountCases: [(String, Float, String)] = [
        ("<think>\nreasoning\n</think>\nanswer", 1, "both tags once: 0.5 + 0.5"),
        ("reasoning\n</think>\nanswer", 0.5, "closing tag only: 0 + 0.5"),
        ("<think>\nreasoning</think>answer", 0.5, "opening tag only (closing lacks newlines): 0.5 + 0"),
        ("<think>reasoning\n</think>\n", 0.5, "opening tag without its newline: 0 + 0.5"),
        ("<think>\n<think>\nx\n</think>\n", 0.5, "two opening tags: 0 + 0.5"),
        ("<think>\nx\n</think>\ny\n</think>\n", 0.5, "two closing tags: 0.5 + 0"),
        ("", 0, "nothing: 0 + 0"),
    ]

    @Test("tag_count: 0.5 per think tag present exactly once", arguments: tagCountCases)
    func tagCount(_ testCase: (String, Float, String)) {
        #expect(score(TagCountReward(), testCase.0) == testCase.1, "\(testCase.2)")
    }

    // open-r1 reasoning_steps_reward: k = len(re.findall(r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)", text))
    // without re.MULTILINE (so `^` is only the start of the text); reward = min(1, k / 3).
    static let reasoningCases: [(String, Float, String)] = [
        ("Step 1: add\nStep 2: carry\nStep 3: done", 1, "three 'Step n:' markers: 3/3"),
        ("Step 12: only one", 1.0 / 3, "multi-digit step number: 1/3"),
        ("Step one: words are not digits", 0, "'Step' needs digits: 0"),
        ("Step 1 no colon", 0, "'Step n' needs the colon: 0"),
        ("1. first\n2. second\n3. third", 1.0 / 3, "numbered lines: only the one at the very start counts (no MULTILINE): 1/3"),
        ("12. twelve", 1.0 / 3, "several digits then a period at the start: 1/3"),
        ("see 1. here", 0, "a number mid-text is not at ^: 0"),
        ("\n1. not at the start", 0, "after a newline is not ^ without MULTILINE: 0"),
        ("First, a. Second, b.", 2.0 / 3, "two ordinal words: 2/3"),
        ("first, lower case", 0, "the words are case-sensitive: 0"),
        ("First, Second, Next, Finally,", 1, "four words: min(1, 4/3)"),
        ("items:\n- a\n* b", 2.0 / 3, "a newline then '-' or '*': 2/3"),
        ("- at the very start", 0, "a bullet needs the newline before it: 0"),
        ("1. Step 2: then\n- bullet", 1, "one of each kind: 3/3"),
        ("", 0, "empty: 0"),
        // Python's \d in a str pattern is any Unicode decimal digit (Nd), not only 0-9.
        ("\u{0663}. Arabic-Indic three", 1.0 / 3, "an Arabic-Indic digit at the start: 1/3"),
        ("Step \u{FF12}: fullwidth two", 1.0 / 3, "a fullwidth digit after 'Step ': 1/3"),
        ("\u{00B2}. superscript", 0, "a superscript two is not Nd: 0"),
        ("é. Step 1: x", 1.0 / 3, "a non-ASCII letter first: only 'Step 1:' counts: 1/3"),
    ]

    @Test("reasoning_steps: open-r1's regex, count/3 capped at 1", arguments: reasoningCases)
    func reasoningSteps(_ testCase: (String, Float, String)) {
        let value = score(ReasoningStepsReward(), testCase.0)!
        #expect(abs(value - testCase.1) <= 1e-6, "\(testCase.2): got \(value)")
    }

    // open-r1 repetition_penalty_reward: words = text.lower().split(); if len(words) < n → 0;
    // n-grams = zip of n shifted word lists; reward = (1 - unique / total) * max_penalty.
    static let repetitionCases: [(String, Int, Float, Float, String)] = [
        // words a b c a b c → trigrams abc, bca, cab, abc: total 4, unique 3 → (1 - 3/4) * -1
        ("a b c a b c", 3, -1, -0.25, "one repeated trigram"),
        ("A b C a B c", 3, -1, -0.25, "lower-cased before counting"),
        ("a\tb\nc   a b\u{0A}c", 3, -1, -0.25, "any run of whitespace separates words"),
        // x x x x x → trigrams xxx three times: unique 1 → (1 - 1/3) * -1
        ("x x x x x", 3, -1, -2.0 / 3, "all the same"),
        ("the quick brown fox jumps", 3, -1, 0, "all trigrams unique: 0"),
        ("two words", 3, -1, 0, "fewer words than n: 0"),
        ("", 3, -1, 0, "empty: 0"),
        // n = 2, penalty -0.5: a a a → bigrams aa, aa: unique 1 of 2 → (1 - 1/2) * -0.5
        ("a a a", 2, -0.5, -0.25, "bigram size and a smaller maximum penalty"),
        // n = 3 on exactly 3 words: one trigram, unique → 0
        ("a a a", 3, -1, 0, "exactly n words: one n-gram, no repetition"),
    ]

    @Test("repetition_penalty: n-grams of lower-cased whitespace words", arguments: repetitionCases)
    func repetition(_ testCase: (String, Int, Float, Float, String)) throws {
        let reward = try RepetitionPenaltyReward(ngramSize: testCase.1, maxPenalty: testCase.2)
        let value = score(reward, testCase.0)!
        #expect(abs(value - testCase.3) <= 1e-6, "\(testCase.4): got \(value)")
    }

    @Test("per-completion rewards score a batch element by element, in order")
    func batchOrder() throws {
        let texts = ["a\n</think>\nb", "none", "x\n</think>\n", "", "two\n</think>\n\n</think>\n"]
        let batch = try RewardBatch(completions: texts, tokenCounts: texts.map { _ in 1 }, rows: texts.map { _ in [:] })
        // format: one, none, one, none, two → 1 0 1 0 0
        #expect(FormatReward().scores(batch) == [1, 0, 1, 0, 0])
    }
}
