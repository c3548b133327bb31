extension MathNode {
    /// Plain-text rendering used in verdicts and the CLI (fully parenthesized, bounded depth).
    func rendered(depth: Int) -> String {
        if depth > 50 { return "…" }
        func r(_ node: MathNode) -> String { node.rendered(depth: depth + 1) }
        /// Operands of `*`, `/`, `^` and `-` are parenthesized unless they are atoms.
        func operand(_ node: MathNode) -> String {
            switch node {
            case .number(let value) where value.isInteger && !value.isNegative: return r(node)
            case .variable, .constant, .function, .baseNumeral, .tuple, .set, .matrix: return r(node)
            default: return "(" + r(node) + ")"
            }
        }
        func joined(_ items: [MathNode], _ separator: String) -> String { items.map(r).joined(separator: separator) }
        switch self {
        case .number(let value): return value.description
        case .variable(let name): return name
        case .constant(let constant):
            switch constant {
            case .pi: return "pi"
            case .e: return "E"
            case .imaginaryUnit: return "I"
            case .infinity: return "oo"
            }
        case .sum(let terms):
            var text = ""
            for (index, term) in terms.enumerated() {
                if index > 0, case .negation(let inner) = term {
                    text += " - " + operand(inner)
                } else {
                    text += (index > 0 ? " + " : "") + r(term)
                }
            }
            return text
        case .product(let factors): return factors.map(operand).joined(separator: "*")
        case .negation(let inner): return "-" + operand(inner)
        case .quotient(let a, let b): return operand(a) + "/" + operand(b)
        case .power(let a, let b): return operand(a) + "^" + operand(b)
        case .function(.root, let arguments) where arguments.count == 2 && arguments[1] == .number(Rational(2)):
            return "sqrt(" + r(arguments[0]) + ")"
        case .function(let function, let arguments): return function.rawValue + "(" + joined(arguments, ", ") + ")"
        case .plusMinus(let a, let b): return r(a) + " ± " + operand(b)
        case .degrees(let inner): return r(inner) + "°"
        case .percent(let inner): return r(inner) + "%"
        case .currency(let inner): return "$" + r(inner)
        case .baseNumeral(let digits, let base): return digits + "_" + String(base)
        case .tuple(let items): return "(" + joined(items, ", ") + ")"
        case .set(let items): return "{" + joined(items, ", ") + "}"
        case .interval(let lower, let upper, let lowerClosed, let upperClosed):
            return (lowerClosed ? "[" : "(") + r(lower) + ", " + r(upper) + (upperClosed ? "]" : ")")
        case .union(let parts): return joined(parts, " U ")
        case .matrix(let rows): return "Matrix([" + rows.map { "[" + joined($0, ", ") + "]" }.joined(separator: ", ") + "])"
        case .relation(let first, let rest):
            return r(first) + rest.map { " " + $0.relation.symbol + " " + r($0.rhs) }.joined()
        case .text(let text): return "\"" + text + "\""
        case .choice(let letter, let value):
            return "(" + String(UnicodeScalar(letter)) + ")" + (value.map { " " + r($0) } ?? "")
        case .list(let items):
            // Groups written with semicolons (`p = 5, q = 2; p = 7, q = 2`) keep them.
            return joined(items, items.contains { if case .list = $0 { return true } else { return false } } ? "; " : ", ")
        }
    }
}

extension Relation {
    var symbol: String {
        switch self {
        case .equal: return "="
        case .notEqual: return "!="
        case .less: return "<"
        case .lessOrEqual: return "<="
        case .greater: return ">"
        case .greaterOrEqual: return ">="
        case .elementOf: return "in"
        case .approximately: return "≈"
        }
    }
}
