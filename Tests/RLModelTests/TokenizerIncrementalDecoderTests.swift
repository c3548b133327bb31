import RLModel
import Testing

@Suite("IncrementalDecoder")
struct TokenizerIncrementalDecoderTests {
    @Test("streamed pieces join to the full decode and never split a character")
    func streaming() throws {
        let tokenizer = try deepSeekTokenizer.get()
        for testCase in tokenizerCases where ["unicode", "repeat", "special", "external_reference"].contains(testCase.kind) {
            for skip in [false, true] {
                var decoder = IncrementalDecoder(tokenizer: tokenizer, skipSpecialTokens: skip)
                var pieces: [String] = []
                for id in testCase.ids { pieces.append(decoder.append(id)) }
                pieces.append(decoder.finish())
                let expected = skip ? testCase.decoded_skip_special : testCase.decoded
                #expect(pieces.joined() == expected, "\(testCase.id)")
                #expect(!pieces.contains { $0.contains("\u{FFFD}") }, "\(testCase.id)")
            }
        }
    }

    @Test("an unfinished character is held back, then flushed as U+FFFD")
    func unfinishedCharacter() throws {
        let tokenizer = try deepSeekTokenizer.get()
        // "Ⅻ roman numeral": the first token holds two of the three bytes of "Ⅻ".
        let numeral = try #require(tokenizerCases.first { $0.text == "Ⅻ roman numeral" })
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        #expect(decoder.append(numeral.ids[0]) == "")
        #expect(decoder.finish() == "\u{FFFD}")
        #expect(decoder.append(numeral.ids[0]) == "")
        #expect(decoder.append(numeral.ids[1]) == "Ⅻ")
    }
}
