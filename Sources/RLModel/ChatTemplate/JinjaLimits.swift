/// The work a chat template may do when rendered, so that a hostile template (they come with
/// downloaded model folders) ends in a `ChatTemplateError` naming its line instead of hanging,
/// exhausting memory or overflowing the stack.
struct JinjaLimits: Sendable {
    /// Statements executed, loop iterations and expression evaluations (nested `range(10**7)`
    /// loops stop here; Qwen3's template renders a 1,000-message conversation in under 100,000).
    var steps = 1_000_000
    /// The longest output and the longest string a template may build (string doubling, huge
    /// `indent`, `replace` or `join` stop here).
    var outputBytes = JinjaBuiltins.maximumStringBytes
    /// Nested expression evaluations, macro calls included (the parser already bounds one
    /// expression's depth; this bounds macros that call macros).
    var evaluationDepth = 1_000
    /// Lists, dicts and namespaces nested in a value a template stores (`set`); checked on every
    /// `set`, so that no loop can build a value too deep to print, compare or free.
    var valueDepth = 100
}
