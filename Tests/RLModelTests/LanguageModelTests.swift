import FoundationEssentials
import RLModel
import RLTensor
import RLTestSupport
import Testing

/// One-call loading: a model folder to generation and scoring with arrays, bad input as errors.
@Suite("LanguageModel: one-call loading")
struct LanguageModelTests {
    /// The fixture model and tokenizer saved as one folder, with a generation config naming an extra end id.
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-lm-\(UInt64.random(in: 0...UInt64.max))")
        try fixturePolicy().save(to: folder, generationConfig: GenerationConfig(eosTokenID: .list([2, 13]), doSample: false))
        try fixtureTokenizer().save(to: folder)
        return folder
    }

    @Test("load reads weights, tokenizer and generation config; stop ids come from every source")
    func load() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = try LanguageModel.load(from: folder)
        let eos = try #require(lm.tokenizer.eosTokenID)
        #expect(lm.stopTokenIDs.isSuperset(of: [eos, 2, 13]))
        #expect(lm.defaultSampling.temperature == 0, "do_sample false means greedy")
    }

    @Test("generate(chat:) equals the generator on the templated prompt; logProbs equals tokenLogProbs")
    func generateAndScore() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = try LanguageModel.load(from: folder)
        let messages = [ChatMessage(role: "user", content: "What is 3 + 4?")]
        let reply = try lm.generate(chat: messages, maxNewTokens: 6)
        let prompt = lm.tokenizer.encode(try lm.tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: true), addSpecialTokens: false)
        let expected = try Generator(model: lm.model).generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 6, stopTokenIDs: lm.stopTokenIDs))[0]
        #expect(reply.tokens == expected.tokens)
        #expect(reply.text == lm.tokenizer.decode(expected.tokens, skipSpecialTokens: true))

        let ids: [Int32] = [5, 9, 13, 40, 7]
        let scored = try lm.logProbs(ids: ids, lastTokens: 3)
        let reference = try lm.model.tokenLogProbs(inputIDs: Tensor(ids, shape: [1, 5]), lastTokens: 3).toFloatArray()
        #expect(scored == reference)
    }

    @Test("bad input throws an error naming the argument", arguments: [
        ("lastTokens", 5), ("lastTokens", 0), ("ids", -1), ("ids", 1_000_000), ("ids", 0), ("maxNewTokens", 0), ("maxNewTokens", 1 << 30),
    ])
    func badInput(argument: String, value: Int) throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = try LanguageModel.load(from: folder)
        do {
            switch argument {
            case "lastTokens": _ = try lm.logProbs(ids: [1, 2, 3, 4, 5], lastTokens: value)
            case "ids": _ = try lm.logProbs(ids: value == 0 ? [] : [1, Int32(value), 3], lastTokens: 1)
            default: _ = try lm.generate(prompt: "1 + 1 =", maxNewTokens: value)
            }
            Issue.record("\(argument) \(value) was accepted")
        } catch let error as LanguageModelError {
            guard case let .invalidArgument(name, reason) = error else { return }
            #expect(name == argument || (argument == "ids" && name == "ids"), "\(error)")
            #expect(!reason.isEmpty)
        }
    }
}

@Suite("Saving refuses what it cannot write")
struct SaveWeightTypeTests {
    @Test("save(weightType: .f16) throws instead of trapping, and writes nothing")
    func f16IsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rl-save-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: CheckpointError.self) { try fixturePolicy().save(to: folder, weightType: .f16) }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))
    }
}

/// The article "Load, score, generate" (`Sources/RLModel/RLModel.docc`), run on the fixture folder.
@Suite("RLModel documentation examples")
struct RLModelDocumentationExampleTests {
    @Test("load, generate(chat:), generate(prompt:), logProbs as the article writes them")
    func loadScoreGenerate() throws {
        let folder = try LanguageModelTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lm = try LanguageModel.load(from: folder)
        let reply = try lm.generate(chat: [ChatMessage(role: "user", content: "What is 3 + 4?")], maxNewTokens: 32)
        #expect(!reply.tokens.isEmpty && reply.tokens.count <= 32)
        let continuation = try lm.generate(prompt: "1, 2, 3,", maxNewTokens: 8)
        #expect(continuation.tokens.count <= 8)
        let ids = lm.tokenizer.encode("3 + 4 = 7")
        let logProbs = try lm.logProbs(ids: ids, lastTokens: 2)
        #expect(logProbs.count == 2 && logProbs.allSatisfy { $0 <= 0 && $0.isFinite })
    }
}
