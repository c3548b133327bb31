import RLModel
import Testing

/// Jinja semantics (as documented by Jinja2 and used by transformers) on small templates.
@Suite("Chat template interpreter")
struct ChatTemplateInterpreterTests {
    func render(_ source: String, _ messages: [ChatMessage] = [], addGenerationPrompt: Bool = false,
                variables: [String: String] = [:]) throws -> String {
        try ChatTemplate(source).render(messages: messages, addGenerationPrompt: addGenerationPrompt, variables: variables)
    }

    let conversation = [
        ChatMessage(role: "system", content: "Be brief."),
        ChatMessage(role: "user", content: "Hi"),
        ChatMessage(role: "assistant", content: "Hello!"),
    ]

    /// The Qwen2 / Qwen2.5 ChatML layout: `<|im_start|>role\ncontent<|im_end|>\n`, and a default
    /// system turn when the conversation has none (Qwen2-Instruct's template).
    static let qwen2Template = """
    {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
    """

    @Test("Qwen2 ChatML template")
    func qwen2ChatML() throws {
        let user = [ChatMessage(role: "user", content: "Hi")]
        #expect(try render(Self.qwen2Template, user, addGenerationPrompt: true)
            == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(try render(Self.qwen2Template, conversation)
            == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n")
    }

    @Test("trim_blocks and lstrip_blocks: block tags leave no blank lines or indentation")
    func blockWhitespace() throws {
        let template = "<ul>\n  {% for x in [1, 2] %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n"
        #expect(try render(template) == "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>")
        #expect(try render("a  {{- ' b ' -}}  c") == "a b c")
        #expect(try render("x {#- comment -#} y") == "xy")
    }

    @Test("loop variables, for-else, inline filter, break and continue")
    func loops() throws {
        let items = "{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %} {% endfor %}"
        #expect(try render(items, conversation) == "1/3F 2/3 3/3L ")
        #expect(try render("{% for x in [] %}a{% else %}empty{% endfor %}") == "empty")
        #expect(try render("{% for m in messages if m.role != 'system' %}{{ m.role }},{% endfor %}", conversation) == "user,assistant,")
        #expect(try render("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}") == "02")
        #expect(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;")
    }

    @Test("set, namespace and scoping")
    func setAndNamespace() throws {
        let template = "{% set ns = namespace(found=false) %}{% set x = 1 %}{% for m in messages %}{% set x = 2 %}{% if m.role == 'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ x }} {{ ns.found }}"
        #expect(try render(template, conversation) == "1 True")
    }

    @Test("expressions: strings, slices, comparisons, arithmetic, conditional, tests")
    func expressions() throws {
        #expect(try render("{{ 'a</think>b</think>c'.split('</think>')[-1] }}") == "c")
        #expect(try render("{{ '  x  ' | trim }}|{{ 'Hi'.startswith('H') }}|{{ 'abc'[1:] }}|{{ [1, 2, 3][::-1] }}") == "x|True|bc|[3, 2, 1]")
        #expect(try render("{{ 7 // 2 }} {{ 7 / 2 }} {{ -7 % 3 }} {{ 2 ** 3 }} {{ 'a' ~ 1 }}") == "3 3.5 2 8 a1")
        #expect(try render("{{ (1,) }} {{ {'a': 1}.items() | list }} {{ (1, 2) == [1, 2] }} {{ (1, 2) + (3,) }}")
            == "(1,) [('a', 1)] False (1, 2, 3)")
        #expect(try render("{{ 3 > 2 > 1 }} {{ 1 < 3 > 2 == 2 }} {{ 1 == 1.0 }} {{ [1, 2] + [3] }}") == "True True True [1, 2, 3]")
        #expect(try render("{{ 'yes' if 'b' in 'abc' else 'no' }} {{ 1 not in [1] }} {{ x is defined }} {{ none is none }}") == "yes False False True")
        #expect(try render("{{ messages | length }} {{ messages[0].content | upper }} {{ [1, 'a'] | tojson }}", conversation)
            == "3 BE BRIEF. [1, \"a\"]")
        #expect(try render("{{ {'name': 'f', 'arguments': {'x': 1}} | tojson }}") == "{\"name\": \"f\", \"arguments\": {\"x\": 1}}")
        #expect(try render("{{ bos_token }}{{ undefined_name }}!", variables: ["bos_token": "<s>"]) == "<s>!")
    }

    @Test("macros")
    func macros() throws {
        #expect(try render("{% macro tag(name, text='x') %}<{{ name }}>{{ text }}{% endmacro %}{{ tag('a') }}{{ tag('b', text='y') }}")
            == "<a>x<b>y")
    }

    @Test("raise_exception stops rendering with the template's message")
    func raiseException() {
        #expect(throws: ChatTemplateError.raised("Conversation roles must alternate")) {
            try render("{% if messages[0].role == 'assistant' %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}",
                       [ChatMessage(role: "assistant", content: "x")])
        }
    }

    @Test("unsupported constructs are named in the error")
    func unsupported() {
        #expect(throws: ChatTemplateError.unsupported("tag `include`", line: 1)) { try render("{% include 'x' %}") }
        #expect(throws: ChatTemplateError.unsupported("filter `wordwrap`", line: 2)) { try render("a\n{{ 'x' | wordwrap }}") }
        #expect(throws: ChatTemplateError.unsupported("test `escaped`", line: 1)) { try render("{{ 'x' is escaped }}") }
        #expect(throws: ChatTemplateError.unsupported("function `now`", line: 1)) { try render("{{ now('%Y') }}") }
        #expect(throws: ChatTemplateError.unsupported("method `zfill` of str", line: 1)) { try render("{{ 'x'.zfill(3) }}") }
    }

    @Test("syntax errors give the line")
    func syntaxErrors() {
        #expect(throws: ChatTemplateError.syntax("missing `elif` or `else` or `endif`", line: 2)) { try render("{% if true %}\nx") }
        #expect(throws: ChatTemplateError.syntax("tag is never closed", line: 1)) { try render("{{ x ") }
        #expect(throws: ChatTemplateError.syntax("unexpected `endfor`", line: 1)) { try render("{% endfor %}") }
    }

    @Test("a runtime type error names the operands")
    func runtimeError() {
        #expect(throws: ChatTemplateError.runtime("unsupported operand types for +: 'str' and 'int'", line: 1)) {
            try render("{{ 'a' + 1 }}")
        }
    }

    @Test("runaway arithmetic is an error, not a crash")
    func runaway() {
        #expect(throws: ChatTemplateError.runtime("integer overflow in **", line: 1)) { try render("{{ 2 ** 64 }}") }
        #expect(throws: ChatTemplateError.runtime("integer overflow in *", line: 1)) { try render("{{ 9223372036854775807 * 2 }}") }
        #expect(throws: ChatTemplateError.runtime("range() is too long", line: 1)) { try render("{{ range(10 ** 12) | length }}") }
        #expect(throws: ChatTemplateError.runtime("string repetition is too long", line: 1)) { try render("{{ 'ab' * 10 ** 12 }}") }
        #expect((try? render("{{ 2 ** 62 }} {{ (-1) ** 1000001 }} {{ 0 ** 0 }}")) == "4611686018427387904 -1 1")
        #expect(throws: ChatTemplateError.runtime("macro calls nested deeper than 64", line: 1)) {
            try render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
        }
        #expect(throws: ChatTemplateError.syntax("brackets nested too deeply", line: 1)) {
            try render("{{ " + String(repeating: "(", count: 65) + "1" + String(repeating: ")", count: 65) + " }}")
        }
        #expect((try? render("{{ " + String(repeating: "[", count: 64) + "1" + String(repeating: "]", count: 64) + " | length }}")) == "1")
        #expect(throws: ChatTemplateError.syntax("blocks nested too deeply", line: 1)) {
            try render(String(repeating: "{% if true %}", count: 300) + String(repeating: "{% endif %}", count: 300))
        }
    }

    /// The hostile inputs that trapped the process before: each is now one template error.
    @Test("integer edge cases and huge indents are errors, not traps")
    func checkedEdges() {
        #expect(throws: ChatTemplateError.runtime("int() of 1e+300 is out of range", line: 1)) { try render("{{ 1e300 | int }}") }
        #expect(throws: ChatTemplateError.runtime("integer overflow in //", line: 1)) { try render("{{ (-9223372036854775807 - 1) // -1 }}") }
        #expect(throws: ChatTemplateError.runtime("integer overflow in %", line: 1)) { try render("{{ (-9223372036854775807 - 1) % -1 }}") }
        #expect(throws: ChatTemplateError.runtime("integer overflow in abs()", line: 1)) { try render("{{ (-9223372036854775807 - 1) | abs }}") }
        #expect(throws: ChatTemplateError.runtime("indent width must be between 0 and 64, got -2", line: 1)) { try render("{{ 'ab' | indent(-2) }}") }
        #expect(throws: ChatTemplateError.runtime("tojson indent must be between 0 and 64, got 1000000000", line: 1)) {
            try render("{{ [1] | tojson(indent=1000000000) }}")
        }
        // Python's floor division and modulo, signs included; huge but exact integers stay exact.
        #expect((try? render("{{ 7 // -2 }} {{ 7 % -2 }} {{ -7 // 2 }} {{ -7 % 2 }} {{ 9007199254740993 // 1 }}")) == "-4 -1 -4 1 9007199254740993")
        #expect((try? render("{{ 10 is divisibleby(-1) }} {{ 2.9 | int }} {{ -2.9 | int }}")) == "True 2 -2")
    }

    @Test("a tokenizer without a template")
    func noTemplate() throws {
        let tokenizer = try Tokenizer(vocabulary: tinyVocabulary, merges: tinyMerges)
        #expect(throws: ChatTemplateError.noTemplate) {
            try tokenizer.applyChatTemplate(messages: [], addGenerationPrompt: true)
        }
    }
}
