/// A Jinja chat template (from `tokenizer_config.json`), rendered as transformers'
/// `apply_chat_template(..., tokenize=False)` does.
///
/// A small interpreter covers what model templates use: `if`/`elif`/`else`, `for` (with `loop`,
/// `else`, inline `if`, `break`/`continue`), `set` (including `namespace` attributes), `macro`,
/// expressions with Python semantics, common filters (`trim`, `tojson`, `length`, ...), tests
/// (`defined`, `none`, ...), string and dict methods, `raise_exception`, and whitespace control
/// with `trim_blocks` and `lstrip_blocks` on. Anything else is a `ChatTemplateError.unsupported`.
public struct ChatTemplate: Sendable {
    private let statements: [JinjaStatement]
    /// The work, size and depth budget of a rendering.
    var limits = JinjaLimits()

    /// Parses template source.
    public init(_ source: String) throws {
        statements = try JinjaParser.parse(try JinjaLexer.tokenize(source))
    }

    /// Renders `messages` with `add_generation_prompt`; `variables` are the other strings
    /// templates read (`bos_token`, `eos_token`, `pad_token`, `date_string`, ...) and `flags`
    /// the boolean template arguments `apply_chat_template` passes on (Qwen3's
    /// `enable_thinking`). A name left out is undefined in the template.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool,
                       variables: [String: String] = [:], flags: [String: Bool] = [:]) throws -> String {
        var context: [String: JinjaValue] = variables.mapValues { .string($0) }
        for (name, value) in flags { context[name] = .boolean(value) }
        context["messages"] = .list(messages.map { message in
            .dictionary(JinjaDictionary([("role", .string(message.role)), ("content", .string(message.content))]))
        })
        context["add_generation_prompt"] = .boolean(addGenerationPrompt)
        context["tools"] = JinjaValue.none  // transformers passes tools=None and documents=None
        context["documents"] = JinjaValue.none
        return try JinjaInterpreter(context: context, limits: limits).render(statements)
    }
}

extension Tokenizer {
    /// Throws `ChatTemplateError.noTemplate` when the tokenizer has no chat template, or the
    /// error that parsing its template gave (the template is parsed once, when the tokenizer is
    /// made): a way to fail early, before any prompt is rendered.
    public func checkChatTemplate() throws {
        guard let compiledChatTemplate else { throw ChatTemplateError.noTemplate }
        _ = try compiledChatTemplate.get()
    }

    /// Renders the tokenizer's chat template with its special tokens (`bos_token`, `eos_token`,
    /// `pad_token`) and the boolean template arguments `flags` (e.g. `["enable_thinking": false]`).
    /// Encode the result with `addSpecialTokens: false`: templates emit BOS themselves.
    public func applyChatTemplate(messages: [ChatMessage], addGenerationPrompt: Bool,
                                  flags: [String: Bool] = [:]) throws -> String {
        guard let compiledChatTemplate else { throw ChatTemplateError.noTemplate }
        var variables: [String: String] = [:]
        variables["bos_token"] = bosToken
        variables["eos_token"] = eosToken
        variables["pad_token"] = padToken
        return try compiledChatTemplate.get().render(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                                     variables: variables, flags: flags)
    }
}
