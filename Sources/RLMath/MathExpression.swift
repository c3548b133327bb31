/// A parsed math answer: a number, expression, equation, set, tuple, interval, matrix,
/// multiple-choice letter or text.
public struct MathExpression: Sendable, Hashable, CustomStringConvertible {
    let node: MathNode

    init(node: MathNode) { self.node = node }

    /// Parses LaTeX or plain math (`\frac{1}{2}`, `3\sqrt{13}`, `(2,\infty)`, `4.5e33`, `$6m$`);
    /// nil when the text is not a well-formed answer.
    public init?(latex: String) {
        guard let node = LatexParser.parse(latex.utf8) else { return nil }
        self.node = node
    }

    /// A canonical plain-text rendering of the parsed tree.
    public var description: String { node.rendered(depth: 0) }

    /// Whether `answer` is mathematically the same as this (gold) expression.
    public func isEquivalent(to answer: MathExpression, options: EquivalenceOptions = EquivalenceOptions()) -> Bool {
        Comparer(options: options).equal(gold: node, answer: answer.node)
    }
}
