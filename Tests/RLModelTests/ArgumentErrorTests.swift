import FoundationEssentials
import RLModel
import RLTensor
import RLTestSupport
import Testing

/// Bad input to the model-level entry points throws `LanguageModelError` naming the argument
/// instead of trapping.
@Suite("Model entry points throw on bad input")
struct ArgumentErrorTests {
    /// The argument a `LanguageModelError` names, or nil for another error.
    static func argument(_ body: () throws -> Void) -> String? {
        do { try body() } catch let LanguageModelError.invalidArgument(name, _) { return name } catch { return "other: \(error)" }
        return nil
    }

    @Test("tokenLogProbs: lastTokens outside 1..<length, ids outside the vocabulary, a mask of another shape", arguments: [
        ("lastTokens", 5), ("lastTokens", 6), ("lastTokens", 0), ("lastTokens", -1), ("inputIDs", 512), ("inputIDs", -3), ("attentionMask", 0),
    ])
    func tokenLogProbs(expected: String, value: Int) throws {
        let model = try fixturePolicy()
        var ids: [Int32] = [1, 5, 9, 13, 200]
        var lastTokens = 2
        var mask: Tensor?
        switch expected {
        case "lastTokens": lastTokens = value
        case "inputIDs": ids[2] = Int32(value)
        default: mask = Tensor([1, 1, 1] as [Int32], shape: [1, 3])
        }
        let name = Self.argument {
            _ = try model.tokenLogProbs(inputIDs: Tensor(ids, shape: [1, ids.count]), attentionMask: mask, lastTokens: lastTokens)
        }
        #expect(name == expected)
        // The entropy variant checks the same way.
        let again = Self.argument {
            _ = try model.tokenLogProbsAndEntropies(inputIDs: Tensor(ids, shape: [1, ids.count]), attentionMask: mask, lastTokens: lastTokens,
                                                    temperature: 1, recomputeLayers: false, maxLogitBytes: 1 << 20)
        }
        #expect(again == expected)
    }

    @Test("tokenLogProbs' error names the allowed range")
    func tokenLogProbsMessage() throws {
        let model = try fixturePolicy()
        #expect { _ = try model.tokenLogProbs(inputIDs: Tensor([1, 2, 3] as [Int32], shape: [1, 3]), lastTokens: 3) } throws: {
            "\($0)" == "lastTokens: must be between 1 and 2 (the sequence length 3 less one), got 3"
        }
    }

    @Test("Generator.generate: empty prompts, bad counts, stop strings without a decoder, seeds that do not match", arguments: [
        "prompts", "emptyPrompt", "vocabulary", "samplesPerPrompt", "maxNewTokens", "stopStrings", "sequenceSeeds",
    ])
    func generator(_ case: String) throws {
        let model = try fixturePolicy()
        var prompts: [[Int32]] = [[1, 5, 9]]
        var options = GenerationOptions(maxNewTokens: 4)
        var expected = `case`
        switch `case` {
        case "prompts": prompts = []
        case "emptyPrompt": prompts = [[1, 2], []]; expected = "prompts"
        case "vocabulary": prompts = [[1, 99_999]]; expected = "prompts"
        case "samplesPerPrompt": options.samplesPerPrompt = 0
        case "maxNewTokens": options.maxNewTokens = -1
        case "stopStrings": options.stopStrings = ["</answer>"]
        default: options.samplesPerPrompt = 2; options.sequenceSeeds = [1, 2, 3]
        }
        #expect(Self.argument { _ = try Generator(model: model).generate(prompts: prompts, options: options) } == expected)
    }

    @Test("an error thrown by onToken stops generation after that token and is rethrown")
    func onTokenStops() throws {
        let model = try fixturePolicy()
        var seen = 0
        #expect(throws: CancellationError.self) {
            _ = try Generator(model: model).generate(prompts: [[1, 5, 9]], options: GenerationOptions(maxNewTokens: 20)) { _, _ in
                seen += 1
                if seen == 3 { throw CancellationError() }
            }
        }
        #expect(seen == 3)
    }

    @Test("LanguageModel's async generate stops with CancellationError when its task is cancelled between tokens")
    func asyncGenerateIsCancellable() async throws {
        let folder = try LanguageModelTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = try LanguageModel.load(from: folder)
        let budget = 40
        // The model must not end on its own within the budget for the count below to mean anything.
        let full = try await lm.generate(prompt: "1, 2, 3,", maxNewTokens: budget)
        try #require(full.tokens.count == budget, "the fixture model ended early; pick another prompt")
        let outcome = await Task { () -> (tokens: Int, cancelled: Bool) in
            var tokens = 0
            do {
                _ = try await lm.generate(prompt: "1, 2, 3,", maxNewTokens: budget) { _ in
                    tokens += 1
                    if tokens == 3 { withUnsafeCurrentTask { $0?.cancel() } }
                }
                return (tokens, false)
            } catch is CancellationError {
                return (tokens, true)
            } catch {
                return (-1, false)
            }
        }.value
        #expect(outcome.cancelled)
        #expect(outcome.tokens == 3, "generation went on for \(outcome.tokens) tokens after the cancellation")
    }

    @Test("async generate in a task cancelled before it starts throws at once")
    func cancelledBeforeStart() async throws {
        let folder = try LanguageModelTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = try LanguageModel.load(from: folder)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await lm.generate(chat: [ChatMessage(role: "user", content: "Hi")], maxNewTokens: 8)
        }
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
}
