/// Bad input to RLModel's entry points (`LanguageModel`, `CausalLanguageModel.tokenLogProbs`,
/// `Generator.generate`): the argument's name and what is allowed.
public enum LanguageModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The argument (as the API names it) and the reason, with the allowed range.
    case invalidArgument(String, String)

    public var description: String {
        switch self {
        case let .invalidArgument(name, reason): return "\(name): \(reason)"
        }
    }
}
