import FoundationEssentials
import Testing

@testable import RLModel

/// Hostile chat templates (they come with downloaded model folders) end in a template error
/// naming the line: a depth limit while parsing and evaluating (no stack overflow), a size
/// limit on strings and output (no out-of-memory), a step limit (no hang).
@Suite("Chat template budgets")
struct ChatTemplateBudgetTests {
    func render(_ source: String) throws -> String {
        try ChatTemplate(source).render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
    }

    /// The error of `body` as text ("" when it succeeded).
    func failure(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return ""
    }

    @Test func deepExpressionsAreSyntaxErrorsNamingTheLine() throws {
        let tooDeep = "expression nested too deeply (more than \(JinjaParser.maximumExpressionDepth) levels)"
        let cases = [
            "{{ " + Array(repeating: "1", count: 30_000).joined(separator: "+") + " }}",        // 30k terms
            "{{ 'a'" + String(repeating: "|trim", count: 100_000) + " }}",                      // 100k chained filters
            "{{ " + String(repeating: "- ", count: 100_000) + "1 }}",                           // 100k unary minus
            "{{ " + String(repeating: "not ", count: 100_000) + "true }}",
            "{{ 1 " + String(repeating: "if true else 2 ", count: 50_000) + "}}",
            "{{ x" + String(repeating: ".a", count: 50_000) + " }}",
            "{{ 1 " + String(repeating: "< 2 ", count: 50_000) + "}}",
            "{{ 1 " + String(repeating: "~ 1 ", count: 50_000) + "}}",
        ]
        for source in cases {
            let text = failure { _ = try render("line one\n" + source) }
            #expect(text == "chat template syntax error on line 2: \(tooDeep)", "\(source.prefix(30)): \(text)")
        }
        // Within the limit, long chains still work.
        #expect(try render("{{ " + Array(repeating: "1", count: 150).joined(separator: "+") + " }}") == "150")
        #expect(try render("{{ 'a'" + String(repeating: "|upper|lower", count: 70) + " }}") == "a")
    }

    @Test func hugeStringsAreRuntimeErrorsNotOutOfMemory() {
        let cases: [(String, String)] = [
            // String doubling in a loop.
            ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}", "bytes"),
            ("{% set ns = namespace(s=['ab']) %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}", "steps of work"),
            // Huge indentation of many lines, replace and join blow-ups.
            ("{{ ('\\n' * 300000)|indent(64) }}", "indent would make a string"),
            ("{{ ('a' * 2000000)|replace('a', 'aaaaaaaaaa') }}", "replace would make a string"),
            ("{{ ('a' * 2000000).replace('a', 'aaaaaaaaaa') }}", "replace would make a string"),
            ("{% set big = 'a' * 6000000 %}{{ [big, big, big]|join }}", "join would make a string"),
            // The output itself.
            ("{% for i in range(20) %}{{ 'a' * 1000000 }}{% endfor %}", "output exceeds"),
        ]
        for (source, expected) in cases {
            let text = failure { _ = try render("\n" + source) }
            #expect(text.hasPrefix("chat template line 2: "), "\(source): \(text)")
            #expect(text.contains(expected), "\(source): \(text)")
        }
    }

    @Test func endlessWorkIsARuntimeErrorNotAHang() throws {
        // The default budget, with a smaller step count so that the test is quick in debug builds.
        var template = try ChatTemplate("{% for i in range(1000) %}\n{% for j in range(1000) %}{% endfor %}{% endfor %}")
        #expect(template.limits.steps == 1_000_000)
        template.limits.steps = 100_000
        let text = failure { _ = try template.render(messages: [], addGenerationPrompt: false) }
        #expect(text == "chat template line 2: the template does more than 100000 steps of work (an endless or huge loop?)", "\(text)")
        // A list a call builds counts one step per item: range(10**7) alone is over the default budget.
        let huge = failure { _ = try render("{% for i in range(10**7) %}{% endfor %}") }
        #expect(huge == "chat template line 1: the template does more than 1000000 steps of work (an endless or huge loop?)", "\(huge)")
    }

    @Test func aLongConversationIsWellWithinTheStepBudget() throws {
        // Qwen3's template (the fixture) over 1,000 messages.
        var template = try ChatTemplate(String(decoding: try Data(contentsOf: fixturesDirectory.appendingPathComponent("chat-templates/qwen3.jinja")),
                                               as: UTF8.self))
        template.limits.steps = 100_000
        let messages = (0..<1_000).map { ChatMessage(role: $0 % 2 == 0 ? "user" : "assistant", content: "message \($0)") }
        let text = try template.render(messages: messages, addGenerationPrompt: true)
        #expect(text.contains("message 999"))
    }

    @Test func deeplyNestedOrCyclicValuesAreRefusedWhenStored() throws {
        // Such values overflowed the stack when printed, compared or freed.
        for tail in ["{{ ns.x|length }}", "{{ ns.x }}", "{{ ns.x|tojson }}"] {
            let text = failure {
                _ = try render("{% set ns = namespace(x=[]) %}\n{% for i in range(200000) %}{% set ns.x = [ns.x] %}{% endfor %}" + tail)
            }
            #expect(text == "chat template line 2: a value nests lists, dicts or namespaces deeper than 100 levels", "\(text)")
        }
        for source in ["{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns|tojson }}",
                       "{% set a = namespace() %}{% set b = namespace(x=a) %}{% set a.y = [{'k': b}] %}{{ a }}"] {
            #expect(failure { _ = try render(source) } == "chat template line 1: a namespace cannot hold itself", "\(source)")
        }
        // Ordinary nesting is fine.
        #expect(try render("{% set ns = namespace(x=[]) %}{% for i in range(50) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x|length }}") == "1")
    }

    @Test func recursiveMacrosAreBounded() {
        let text = failure {
            _ = try render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        }
        #expect(text.contains("macro calls nested deeper than 64"), "\(text)")
        // Each call inside an expression 190 levels deep: the evaluation depth limit ends it
        // before the stack does (in debug builds too, on a test thread).
        let deep = failure {
            _ = try render("{% macro f(n) %}{{ " + String(repeating: "- ", count: 190) + "f(n + 1) }}{% endmacro %}{{ f(0) }}")
        }
        #expect(deep.contains("expressions and macro calls nested deeper than 1000"), "\(deep)")
    }
}
