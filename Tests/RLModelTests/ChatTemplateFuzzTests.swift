import FoundationEssentials
import RLTestSupport
import Testing

@testable import RLModel

/// A bounded fuzz run of the chat-template lexer, parser and interpreter: random fragment
/// concatenations and mutations of the fixture templates (fixed seed and count, a few seconds).
/// Every input must give a rendering or a `ChatTemplateError`; a trap or a hang fails the run.
@Suite("Chat template fuzz")
struct ChatTemplateFuzzTests {
    static let fragments = [
        "{{ ", " }}", "{% ", " %}", "{%- ", " -%}", "{{- ", " -}}", "{# note #}", "{#", "#}", "if ", "elif ", "else", "endif",
        "for ", " in ", "endfor", "set ", "macro ", "endmacro", "break", "continue", "generation", "endgeneration",
        "x", "m", "messages", "message", "loop.index", "loop.last", "ns", "namespace(a=1)", "ns.a", "range(", "3", "0", "-1", "2.5",
        "1e308", "9223372036854775807", "'s'", "\"t\"", "'", "\"", "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "upper", "trim",
        "length", "join", "tojson", "tojson(indent=2)", "indent(", "replace(", "'a', 'bb'", "default(", "int", "float", "abs", "first",
        "last", "list", "reverse", "items", "selectattr(", "rejectattr(", "map(", "+", "-", "*", "/", "//", "%", "**", "~", "==", "!=",
        "<", ">=", " and ", " or ", "not ", " is ", "defined", "none", "string", "true", "false", "none", "raise_exception('no')",
        "\n", " ", "  ", ".items()", ".keys()", ".split(", ".strip()", ".startswith(", "'content'", "['role']", "[::-1]", "[1:]",
        "add_generation_prompt", "bos_token", "eos_token", "message['content']", " if ", " else ", "=", "é", "\u{0}", "\\",
    ]

    /// Renders `source` with a small step budget; returns whether it rendered.
    func attempt(_ source: String) -> Bool {
        do {
            var template = try ChatTemplate(source)
            template.limits.steps = 20_000
            _ = try template.render(messages: [ChatMessage(role: "system", content: "be brief"), ChatMessage(role: "user", content: "hi")],
                                    addGenerationPrompt: true, variables: ["bos_token": "<s>", "eos_token": "</s>"])
            return true
        } catch is ChatTemplateError {
            return false
        } catch {
            Issue.record("not a ChatTemplateError: \(type(of: error)) \(error) for \(source.debugDescription)")
            return false
        }
    }

    @Test func randomTemplatesRenderOrFailWithATemplateError() throws {
        let (seed, count) = FuzzInput.settings(seed: 0x5EED_17, count: 5_000)
        var input = FuzzInput(seed: seed)
        let documents = try ["qwen3.jinja", "llama-3.2.jinja"].map {
            String(decoding: try Data(contentsOf: Fixtures.url("chat-templates/\($0)")), as: UTF8.self)
        } + ["{% for m in messages %}{{ m['role'] }}: {{ m['content'] | trim }}\n{% endfor %}",
             "{% set ns = namespace(n=0) %}{% for m in messages if m.role != 'system' %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}"]
        var rendered = 0
        for iteration in 0..<count {
            let source = iteration % 3 == 0
                ? input.mutation(of: documents[input.below(documents.count)], fragments: Self.fragments, maximum: 8)
                : input.concatenation(of: Self.fragments, maximum: 40)
            if attempt(source) { rendered += 1 }
        }
        // The run exercises both outcomes.
        #expect(rendered > count / 30 && rendered < count * 9 / 10, "\(rendered) of \(count) rendered")
    }
}
