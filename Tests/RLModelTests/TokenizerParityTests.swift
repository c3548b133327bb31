import Testing
import RLModel

/// Parity with Hugging Face `tokenizers` on shared/data/tokenizer/qwen2/encode_cases.jsonl.
@Suite("Tokenizer parity with encode_cases.jsonl")
struct TokenizerParityTests {
    @Test("all 323 cases are present")
    func caseCount() {
        #expect(tokenizerCases.count == 323)
    }

    @Test("encode without special tokens", arguments: tokenizerCases)
    func encode(_ testCase: TokenizerCase) throws {
        let tokenizer = try deepSeekTokenizer.get()
        #expect(tokenizer.encode(testCase.text, addSpecialTokens: false) == testCase.ids)
    }

    @Test("encode with BOS", arguments: tokenizerCases)
    func encodeWithBOS(_ testCase: TokenizerCase) throws {
        let tokenizer = try deepSeekTokenizer.get()
        #expect(tokenizer.encode(testCase.text, addSpecialTokens: true) == testCase.ids_with_bos)
    }

    @Test("decode", arguments: tokenizerCases)
    func decode(_ testCase: TokenizerCase) throws {
        let tokenizer = try deepSeekTokenizer.get()
        #expect(tokenizer.decode(testCase.ids, skipSpecialTokens: false) == testCase.decoded)
        #expect(tokenizer.decode(testCase.ids, skipSpecialTokens: true) == testCase.decoded_skip_special)
    }

    @Test("special token ids")
    func specialTokenIDs() throws {
        let tokenizer = try deepSeekTokenizer.get()
        #expect(tokenizer.bosTokenID == 151646)
        #expect(tokenizer.eosTokenID == 151643)
        #expect(tokenizer.padTokenID == 151643)
        #expect(tokenizer.vocabularySize == 151665)
        #expect(tokenizer.tokenID(for: "Ġthe") == 279)
        #expect(tokenizer.token(for: 151648) == "<think>")
        #expect(tokenizer.isSpecialToken(151646))
        #expect(!tokenizer.isSpecialToken(151648))
    }
}
