import Foundation
import RLModel
import RLTestSupport
import Testing

/// Qwen3's and Llama 3.2's own chat templates render as transformers renders them
/// (`Tests/Fixtures/chat-templates/*.cases.json`, made by
/// `tools/fixtures/make_chat_template_cases.py`): Qwen3's `<think>` handling (thinking kept only
/// after the last user turn, an empty block for `enable_thinking: false` and for a final answer
/// without one) and Llama 3's system header with its date line.
@Suite("Chat template parity with transformers: Qwen3, Llama 3.2")
struct ChatTemplateFamilyParityTests {
    struct CaseFile: Decodable {
        struct Case: Decodable {
            var messages: [[String: String]]
            var add_generation_prompt: Bool
            var flags: [String: Bool]
            var text: String
        }
        var template: String
        var variables: [String: String]
        var cases: [Case]
    }

    @Test(arguments: ["qwen3", "llama-3.2"])
    func rendersLikeTransformers(_ name: String) throws {
        let folder = Fixtures.url("chat-templates")
        let file = try JSONDecoder().decode(CaseFile.self, from: Data(contentsOf: folder.appendingPathComponent("\(name).cases.json")))
        let source = String(decoding: try Data(contentsOf: folder.appendingPathComponent(file.template)), as: UTF8.self)
        let template = try ChatTemplate(source)
        #expect(file.cases.count == 7)
        for (index, item) in file.cases.enumerated() {
            let messages = item.messages.map { ChatMessage(role: $0["role"] ?? "", content: $0["content"] ?? "") }
            let rendered = try template.render(messages: messages, addGenerationPrompt: item.add_generation_prompt,
                                               variables: file.variables, flags: item.flags)
            #expect(rendered == item.text, "\(name) case \(index)")
        }
    }

    /// Without a `date_string`, Llama 3.x templates call transformers' `strftime_now`: today's date.
    @Test func llamaDateLineIsToday() throws {
        let source = String(decoding: try Data(contentsOf: Fixtures.url("chat-templates/llama-3.2.jinja")), as: UTF8.self)
        let rendered = try ChatTemplate(source).render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true,
                                                       variables: ["bos_token": "<|begin_of_text|>"])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd MMM yyyy"
        #expect(rendered.contains("Today Date: \(formatter.string(from: Date()))\n"), "\(rendered)")
    }
}
