import Testing
import RLMath

/// Hostile inputs: every call must return quickly and never trap.
@Suite struct RobustnessTests {
    /// The bound is "a few milliseconds" in release builds; debug builds (as `swift test`
    /// runs in CI) are 10-30x slower and share two cores, so their bound is generous.
    #if DEBUG
    static let bound = Duration.milliseconds(1000)
    #else
    static let bound = Duration.milliseconds(50)
    #endif

    private func timed(_ gold: String, _ completion: String, mode: VerificationMode = .reward) -> (Verdict, Duration) {
        let clock = ContinuousClock()
        var verdict: Verdict?
        let elapsed = clock.measure { verdict = MathVerifier().verify(gold: gold, completion: completion, mode: mode) }
        return (verdict!, elapsed)
    }

    @Test(arguments: [
        "5^{5^{5^5}}", "10^{10^{10}}", "2^{99999999999999999999}", "(10^{1000})!", "3000!", "\\binom{100000}{50000}",
        "9^{9^{9^{9^{9}}}} - 9^{9^{9^{9^{9}}}}", "1e99999", "\\frac{1}{0}", "0^{-1}", "\\sqrt{-1}", "\\log_1 5", "\\ln 0",
        "(-8)^{1/3}", "99999999999999999999999999999999!", "\\sqrt[1e300]{-8}", "\\sqrt[-3]{-8}", "\\sqrt[0]{2}",
        "\\binom{10^{30}}{5}", "\\lfloor 10^{400} \\rfloor", "2516_{99999999999999999999}", "(-1)^{10^{30}}", "0.\\overline{9}^{10^{9}}",
    ])
    func hugeValuesAreBounded(_ expression: String) {
        // None of these equals 7 (several equal 1, e.g. (-1)^{10^{30}} and 0.\overline{9}^{10^9}).
        let (verdict, elapsed) = timed("7", "\\boxed{\(expression)}")
        #expect(elapsed < Self.bound)
        #expect(!verdict.isCorrect)
        // The same text as a gold: parsed or reported, never a crash.
        let (asGold, goldElapsed) = timed(expression, "\\boxed{1}")
        #expect(goldElapsed < Self.bound)
        #expect(asGold.parsedGold != nil || asGold.reason == .goldUnparseable)
    }

    @Test func hugeButExactValuesAreStillDecided() {
        #expect(timed("1", "\\boxed{(-1)^{10^{30}}}").0.isCorrect)
        #expect(!timed("-1", "\\boxed{(-1)^{10^{30}}}").0.isCorrect)
        #expect(timed("1", "\\boxed{0.\\overline{9}^{10^{9}}}").0.isCorrect)
    }

    /// Found by the hardening probe: an overflowed power evaluated to infinity, so `1/10^{10^{10}}`
    /// equalled 0; a box too long to be an answer fell back (eval mode) to its last number.
    @Test func overflowAndOverlongBoxesAreNotCorrect() {
        #expect(!timed("0", "\\boxed{1/10^{10^{10}}}").0.isCorrect)
        #expect(!timed("0", "\\boxed{\\frac{1}{10^{10^{10}}}}").0.isCorrect)
        let ones = Array(repeating: "1", count: 3_000).joined(separator: "+")
        #expect(!timed("1", "\\boxed{\(ones)}", mode: .eval).0.isCorrect)
        #expect(!timed("1", "\\boxed{\(ones)}").0.isCorrect)
    }

    @Test func powerTowerIsNotEqualToANearbyValue() {
        #expect(!timed("5^{5^{5^5}}", "\\boxed{5^{5^{5^5}} + 1}").0.isCorrect)
    }

    @Test func deeplyNestedBraces() {
        let depth = 10_000
        let nested = String(repeating: "{", count: depth) + "1" + String(repeating: "}", count: depth)
        let reparsed = [String(repeating: "\\text{1 ", count: depth) + String(repeating: "}", count: depth),
                        String(repeating: "(A) ", count: depth) + "1", String(repeating: "|", count: depth)]
        for text in ["\\boxed{\(nested)}", nested, String(repeating: "\\frac{", count: depth), String(repeating: "(", count: depth) + "1"] + reparsed {
            let (_, elapsed) = timed("1", text)
            #expect(elapsed < Self.bound)
            let (_, goldElapsed) = timed(text, "\\boxed{1}")
            #expect(goldElapsed < Self.bound)
        }
    }

    /// Long chains of prefix operators, checked off the main thread (smaller stacks).
    @Test func longOperatorChainsOnABackgroundThread() async {
        let chains = [String(repeating: "-", count: 8_000) + "1", "2^" + String(repeating: "{-", count: 4_000) + "1",
                      String(repeating: "\\pm ", count: 2_000) + "1", String(repeating: "\\sqrt", count: 4_000) + "{2}",
                      String(repeating: "\\sin ", count: 4_000) + "x", String(repeating: "1+", count: 4_000) + "1"]
        for chain in chains {
            let verdict = await Task.detached { MathVerifier().verify(gold: chain, completion: "\\boxed{\(chain)}") }.value
            #expect(verdict.parsedGold != nil || verdict.reason == .goldUnparseable)
        }
    }

    @Test func megabyteInputs() {
        let junk = String(repeating: "so we get $x^2+1$ and \\frac{a}{b} then ", count: 26_000)
        #expect(junk.utf8.count > 1_000_000)
        for mode in VerificationMode.allCases {
            let (verdict, elapsed) = timed("1", junk + "\\boxed{1}", mode: mode)
            #expect(verdict.isCorrect)
            #expect(elapsed < Self.bound)
            let (_, noAnswer) = timed("1", junk, mode: mode)
            #expect(noAnswer < Self.bound)
        }
        let manyBoxes = String(repeating: "\\boxed{\\boxed{", count: 80_000)
        #expect(timed("1", manyBoxes).1 < Self.bound)
        let (_, bigGold) = timed(junk, "\\boxed{1}")
        #expect(bigGold < Self.bound)
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix(seed: 42)
        let alphabet = Array("0123456789+-*/^_{}()[]|\\$.,=<>! abcxyzefi\n".utf8) + Array("\\frac\\sqrt\\boxed\\pi".utf8)
        for round in 0..<400 {
            let length = Int(generator.next() % 200)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                let raw = generator.next()
                bytes.append(round % 2 == 0 ? alphabet[Int(raw % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: raw))
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let (_, elapsed) = timed(text, "\\boxed{" + text + "}", mode: round % 3 == 0 ? .eval : .reward)
            #expect(elapsed < Self.bound)
        }
    }
}

/// A small deterministic generator for reproducible fuzzing.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
