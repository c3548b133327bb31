import Testing
import RLModel

/// Parity with Hugging Face `tokenizers` on Tests/Fixtures/tokenizer/qwen2/encode_cases.jsonl.
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

    @Test("very long pieces (a 200,000-letter word, 100,000 spaces) encode and decode back")
    func longPieces() throws {
        let tokenizer = try deepSeekTokenizer.get()
        for text in [String(repeating: "a", count: 200_000), String(repeating: " ", count: 100_000) + "x",
                     String(repeating: "数学", count: 20_000)] {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            #expect(ids.count < text.utf8.count / 2)
            #expect(tokenizer.decode(ids) == text)
        }
    }

    @Test("encoding from many tasks at once gives the same ids")
    func concurrentEncoding() async throws {
        let tokenizer = try deepSeekTokenizer.get()
        let cases = tokenizerCases
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var bad = 0
                    for testCase in worker.isMultiple(of: 2) ? cases : cases.reversed() {
                        if tokenizer.encode(testCase.text, addSpecialTokens: false) != testCase.ids { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
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
