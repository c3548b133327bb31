import FoundationEssentials
import RLModel
import Testing

/// The chat cases of encode_cases.jsonl, rendered by transformers' `apply_chat_template`.
@Suite("Chat template parity with encode_cases.jsonl")
struct ChatTemplateParityTests {
    static let chatCases = tokenizerCases.filter { $0.kind == "chat" }

    /// The DeepSeek-R1-Distill template of tokenizer_config.json, and the later `<think>\n` variant
    /// (same template, generation prompt `<｜Assistant｜><think>\n`), as Tests/Fixtures/README.md describes.
    static func template(named name: String) throws -> String {
        let tokenizer = try deepSeekTokenizer.get()
        let fileTemplate = try #require(tokenizer.chatTemplate)
        guard name == "hf_main_think_variant" else { return fileTemplate }
        let oldTail = "{{'<｜Assistant｜>'}}{% endif %}"
        #expect(fileTemplate.hasSuffix(oldTail))
        return String(fileTemplate.dropLast(oldTail.count)) + "{{'<｜Assistant｜><think>\\n'}}{% endif %}"
    }

    @Test("54 chat cases")
    func chatCaseCount() {
        #expect(Self.chatCases.count == 54)
    }

    @Test("render as transformers does", arguments: chatCases)
    func render(_ testCase: TokenizerCase) throws {
        let tokenizer = try deepSeekTokenizer.get()
        let messages = (testCase.messages ?? []).map { ChatMessage(role: $0.role, content: $0.content) }
        let template = try ChatTemplate(try Self.template(named: try #require(testCase.template)))
        let rendered = try template.render(
            messages: messages, addGenerationPrompt: try #require(testCase.add_generation_prompt as Bool?),
            variables: ["bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"])
        #expect(rendered == testCase.text)
        #expect(tokenizer.encode(rendered, addSpecialTokens: false) == testCase.ids)
    }

    @Test("Tokenizer.applyChatTemplate uses tokenizer_config.json's template and tokens")
    func applyChatTemplate() throws {
        let tokenizer = try deepSeekTokenizer.get()
        for testCase in Self.chatCases where testCase.template == "tokenizer_config.json" {
            let messages = (testCase.messages ?? []).map { ChatMessage(role: $0.role, content: $0.content) }
            let rendered = try tokenizer.applyChatTemplate(
                messages: messages, addGenerationPrompt: try #require(testCase.add_generation_prompt as Bool?))
            #expect(rendered == testCase.text, "\(testCase.id)")
        }
    }
}
