/// A chat template that cannot be parsed or rendered.
public enum ChatTemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The template text is not valid Jinja.
    case syntax(String, line: Int)
    /// The template uses a Jinja construct this interpreter does not implement (tag, filter, test, method).
    case unsupported(String, line: Int)
    /// Rendering failed (wrong types, undefined values, ...).
    case runtime(String, line: Int)
    /// The template called `raise_exception(message)`.
    case raised(String)
    /// The tokenizer has no chat template.
    case noTemplate

    public var description: String {
        switch self {
        case .syntax(let message, let line): "chat template syntax error on line \(line): \(message)"
        case .unsupported(let construct, let line): "chat template line \(line): unsupported Jinja construct: \(construct)"
        case .runtime(let message, let line): "chat template line \(line): \(message)"
        case .raised(let message): "chat template raised an exception: \(message)"
        case .noTemplate: "the tokenizer has no chat_template (tokenizer_config.json)"
        }
    }
}
