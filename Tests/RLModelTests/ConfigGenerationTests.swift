import FoundationEssentials
import Testing

@testable import RLModel

@Suite("GenerationConfig")
struct ConfigGenerationTests {
    @Test("DeepSeek-R1-Distill-Qwen-1.5B generation_config.json")
    func deepSeek() throws {
        let config = try GenerationConfig.load(from: deepSeekConfigs.appendingPathComponent("generation_config.json"))
        // openrs-reference.md §5: bos 151646, eos 151643, do_sample true, temperature 0.6, top_p 0.95.
        #expect(config.bosTokenID == .single(151646) && config.eosTokenID == .single(151643))
        #expect(config.doSample == true && config.temperature == 0.6 && config.topP == 0.95)
        #expect(config.topK == nil && config.maxNewTokens == nil && config.repetitionPenalty == nil)
        #expect(config.transformersVersion == "4.39.3")
    }

    @Test("the fixture's generation_config.json holds only the token ids")
    func fixture() throws {
        let config = try GenerationConfig.load(from: fixturesDirectory.appendingPathComponent("qwen2-tiny/generation_config.json"))
        #expect(config.bosTokenID == .single(1) && config.eosTokenID == .single(2))
        #expect(config.doSample == nil && config.temperature == nil)
    }

    @Test("eos as a list and every sampling key survive a write and a read")
    func roundTrip() throws {
        let config = GenerationConfig(bosTokenID: .single(1), eosTokenID: .list([2, 9]), doSample: true, temperature: 0.7,
                                      topP: 0.9, topK: 40, maxNewTokens: 128, repetitionPenalty: 1.1)
        let folder = try TemporaryFolder()
        try config.write(to: folder.file("generation_config.json"))
        #expect(try GenerationConfig.load(from: folder.file("generation_config.json")) == config)
        let written = try JSONValue.parse(config.jsonData())
        #expect(written["eos_token_id"] == .array([.number(2), .number(9)]))
        #expect(written["max_new_tokens"] == .number(128))
        #expect(written["top_k"] == .number(40))
        #expect(written["temperature"] == .number(0.7))
        #expect(written["max_length"] == nil)
    }

    @Test("a wrong type or an out-of-range value names the file and the key", arguments: [
        ("temperature", "\"hot\""), ("eos_token_id", "[1, \"x\"]"), ("top_p", "1.5"), ("top_k", "-1"), ("max_new_tokens", "0"),
    ])
    func badValues(_ key: String, _ value: String) throws {
        let data = try editedJSON(Data(contentsOf: deepSeekConfigs.appendingPathComponent("generation_config.json")), [key: value])
        guard case let .invalidConfig(file, reportedKey, _) = checkpointError({ _ = try GenerationConfig(jsonData: data, file: "g.json") }) else {
            Issue.record("expected invalidConfig")
            return
        }
        #expect(file == "g.json" && reportedKey == key)
    }
}
