/// A tokenizer file that could not be read or does not describe a usable byte-level BPE tokenizer.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file the problem was found in (or a short description of the in-code source).
    public let file: String
    /// What was wrong, in words.
    public let problem: String

    init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
