import FoundationEssentials
import RLTensor
import Testing

@testable import RLModel

/// Parity with Hugging Face transformers on the checkpoints it wrote for each model family
/// (`Tests/Fixtures/{qwen2,qwen3,llama}-tiny*`, `tools/fixtures/make_model_fixtures.py`): logits,
/// token log-probs, loss, every parameter gradient, greedy generations, left padding and the KV
/// cache against the full forward.
@Suite("Model parity with transformers")
struct ModelParityTests {
    static let fixtures = ["qwen2-tiny", "qwen2-tiny-bf16", "qwen2-tiny-tied-sharded", "qwen3-tiny", "llama-tiny-llama3",
                           "llama-tiny-linear"]

    struct Expected {
        let reader: CheckpointReader
        func floats(_ name: String) throws -> [Float] { try reader.tensor(named: name).floats(name: name) }
        func ints(_ name: String) throws -> [Int32] { try reader.tensor(named: name).int64s(name: name).map { Int32($0) } }
        func shape(_ name: String) throws -> [Int] { try reader.tensor(named: name).shape }
    }

    func load(_ fixture: String) throws -> (any CausalLanguageModel, Expected) {
        let folder = fixturesDirectory.appendingPathComponent(fixture)
        let model = try ModelLoader.load(from: folder)
        let expected = Expected(reader: try CheckpointReader(at: folder.appendingPathComponent("expected.safetensors")))
        return (model, expected)
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    /// `||a - b|| / ||b||`.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (diff / max(norm, 1e-30)).squareRoot()
    }

    @Test("logits, token log-probs and loss", arguments: fixtures)
    func forward(_ fixture: String) throws {
        let (model, expected) = try load(fixture)
        let ids = try expected.ints("input_ids"), shape = try expected.shape("input_ids")
        let input = Tensor(ids, shape: shape)
        let logits = model.logits(inputIDs: input)
        #expect(logits.shape == (try expected.shape("logits")))
        #expect(Self.maxAbsDifference(logits.toFloatArray(), try expected.floats("logits")) <= 1e-4)
        let logProbs = try model.tokenLogProbs(inputIDs: input, lastTokens: shape[1] - 1)
        #expect(Self.maxAbsDifference(logProbs.toFloatArray(), try expected.floats("token_logprobs")) <= 1e-4)
        let loss = -logProbs.mean().item()
        #expect(abs(loss - (try expected.floats("loss"))[0]) <= 1e-5)
        // Logits computed three rows at a time give the same log-probs.
        let chunked = try model.tokenLogProbs(inputIDs: input, lastTokens: shape[1] - 1, maxLogitBytes: Self.threeRows(model))
        #expect(Self.maxAbsDifference(chunked.toFloatArray(), try expected.floats("token_logprobs")) <= 1e-4)
    }

    /// A logits budget of three rows, so `tokenLogProbs` scores in chunks.
    static func threeRows(_ model: any CausalLanguageModel) -> Int { 3 * model.config.vocabSize * MemoryLayout<Float>.size }

    @Test("every parameter gradient of the loss", arguments: fixtures)
    func gradients(_ fixture: String) throws {
        let (model, expected) = try load(fixture)
        let ids = try expected.ints("input_ids"), shape = try expected.shape("input_ids")
        let input = Tensor(ids, shape: shape)
        for (recomputeLayers, chunkedLogits) in [(false, false), (true, false), (false, true)] {
            let budget = chunkedLogits ? Self.threeRows(model) : DecoderModel.defaultMaxLogitBytes
            let (_, grads) = try valueAndGrad(at: model.parameters) {
                -(try model.tokenLogProbs(inputIDs: input, lastTokens: shape[1] - 1, recomputeLayers: recomputeLayers,
                                          maxLogitBytes: budget)).mean()
            }
            for (name, grad) in grads {
                let reference = try expected.floats("grad." + name)
                let error = Self.relativeError(grad.toFloatArray(), reference)
                #expect(error <= 1e-3, "\(fixture) \(name) (checkpointed: \(recomputeLayers), chunked logits: \(chunkedLogits)): relative error \(error)")
            }
        }
    }

    @Test("greedy generation", arguments: fixtures)
    func greedy(_ fixture: String) throws {
        let (model, expected) = try load(fixture)
        let prompt = try expected.ints("prompt_ids")
        let reference = try expected.ints("greedy_ids")
        let generated = try Generator(model: model).generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: reference.count - prompt.count))
        #expect(prompt + generated[0].tokens == reference)
        #expect(generated[0].finishReason == .length)
    }

    /// With per-sequence seeds, a sequence's sampled tokens do not depend on the other sequences
    /// in the call; with only the run seed they follow the sequence's index in the call.
    @Test("sequence seeds make sampled tokens independent of the batch")
    func sequenceSeeds() throws {
        let (model, expected) = try load("qwen2-tiny")
        let ids = try expected.ints("input_ids"), shape = try expected.shape("input_ids")
        let first = Array(ids[0..<shape[1]]), second = Array(ids[shape[1]..<(2 * shape[1])])
        var options = GenerationOptions(maxNewTokens: 12, sampling: SamplingParameters(temperature: 1.5), samplesPerPrompt: 2)
        options.sequenceSeeds = [11, 12, 21, 22]
        let together = try Generator(model: model).generate(prompts: [first, second], options: options)
        options.sequenceSeeds = [21, 22]
        let alone = try Generator(model: model).generate(prompts: [second], options: options)
        #expect(together[2].tokens == alone[0].tokens && together[3].tokens == alone[1].tokens)
        #expect(together[2].tokens != together[3].tokens, "two seeds drew the same 12 tokens")
        // Without them, the second prompt's samples take the streams of indices 0 and 1 when alone.
        options.sequenceSeeds = nil
        let unseeded = try Generator(model: model).generate(prompts: [second], options: options)
        options.sequenceSeeds = [Generator.sequenceSeed(0, 0), Generator.sequenceSeed(0, 1)]
        #expect(try Generator(model: model).generate(prompts: [second], options: options).map(\.tokens) == unseeded.map(\.tokens))
    }

    @Test("a left-padded batch gives each row's own logits", arguments: fixtures)
    func leftPadding(_ fixture: String) throws {
        let (model, expected) = try load(fixture)
        let ids = try expected.ints("input_ids"), shape = try expected.shape("input_ids")
        let row = Array(ids[0..<shape[1]])
        let pad = 3
        let paddedIDs = [Int32](repeating: 0, count: pad) + row
        let mask = [Int32](repeating: 0, count: pad) + [Int32](repeating: 1, count: row.count)
        let logits = model.logits(inputIDs: Tensor(paddedIDs, shape: [1, pad + row.count]),
                                  attentionMask: Tensor(mask, shape: [1, pad + row.count]))
        let vocab = model.config.vocabSize
        let realPart = Array(logits.toFloatArray()[(pad * vocab)...])
        let reference = Array(try expected.floats("logits")[0..<(row.count * vocab)])
        #expect(Self.maxAbsDifference(realPart, reference) <= 1e-4, "\(fixture)")
    }

    /// The family comes from `model_type`; each fixture is the family it was written as.
    @Test("each fixture loads as its family", arguments: fixtures)
    func family(_ fixture: String) throws {
        let (model, _) = try load(fixture)
        let expected: ModelFamily = fixture.hasPrefix("qwen3") ? .qwen3 : fixture.hasPrefix("llama") ? .llama : .qwen2
        #expect(model.config.family == expected)
    }

    @Test("KV-cache decoding matches the full forward", arguments: fixtures)
    func cacheMatchesFullForward(_ fixture: String) throws {
        let (model, expected) = try load(fixture)
        let ids = Array(try expected.ints("input_ids")[0..<16])
        let full = model.logits(inputIDs: Tensor(ids, shape: [1, 16])).toFloatArray()
        let cache = model.makeCache(batch: 1, capacity: 16)
        let vocab = model.config.vocabSize
        var last = model.forward(tokens: Array(ids[0..<10]), cache: cache).toFloatArray()
        #expect(Self.maxAbsDifference(last, Array(full[(9 * vocab)..<(10 * vocab)])) <= 1e-4)
        for t in 10..<16 {
            last = model.forward(tokens: [ids[t]], cache: cache).toFloatArray()
            #expect(Self.maxAbsDifference(last, Array(full[(t * vocab)..<((t + 1) * vocab)])) <= 1e-4)
        }
    }
}
