/// A Jinja expression.
indirect enum JinjaExpression: Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case none
    case name(String, line: Int)
    case list([JinjaExpression])
    case tuple([JinjaExpression])
    case dictionary([(JinjaExpression, JinjaExpression)])
    case attribute(JinjaExpression, String, line: Int)
    case item(JinjaExpression, JinjaExpression, line: Int)
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?, line: Int)
    case call(JinjaExpression, JinjaArguments, line: Int)
    case filter(JinjaExpression, String, JinjaArguments, line: Int)
    case test(JinjaExpression, String, JinjaArguments, negated: Bool, line: Int)
    case unary(String, JinjaExpression, line: Int)
    case binary(String, JinjaExpression, JinjaExpression, line: Int)
    case conditional(JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)
}

/// Positional and keyword arguments of a call, filter or test.
struct JinjaArguments: Sendable {
    var positional: [JinjaExpression] = []
    var keyword: [(String, JinjaExpression)] = []
}

/// A Jinja template statement.
indirect enum JinjaStatement: Sendable {
    case text(String)
    case output(JinjaExpression)
    case `if`([(JinjaExpression, [JinjaStatement])], otherwise: [JinjaStatement])
    case `for`(targets: [String], iterable: JinjaExpression, condition: JinjaExpression?,
               body: [JinjaStatement], otherwise: [JinjaStatement], line: Int)
    /// `set name = value` or `set object.attribute = value` (`attribute` non-nil), or `set a, b = value`.
    case set(targets: [String], attribute: String?, value: JinjaExpression, line: Int)
    case macro(name: String, parameters: [(String, JinjaExpression?)], body: [JinjaStatement])
    case `break`
    case `continue`
}
