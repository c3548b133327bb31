extension MathNode {
    /// Plain-text rendering used in verdicts and the CLI (fully parenthesized, bounded depth).
    func rendered(depth: Int) -> String {
        if depth > 50 { return "…" }
        func r(_ node: MathNode) -> String { node.rendered(depth: depth + 1) }
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
        case .sum(let terms): return "(" + joined(terms, " + ") + ")"
        case .product(let factors): return joined(factors, "*")
        case .negation(let inner): return "-" + r(inner)
        case .quotient(let a, let b): return "(" + r(a) + ")/(" + r(b) + ")"
        case .power(let a, let b): return "(" + r(a) + ")^(" + r(b) + ")"
        case .function(let function, let arguments): return function.rawValue + "(" + joined(arguments, ", ") + ")"
        case .plusMinus(let a, let b): return "(" + r(a) + " ± " + r(b) + ")"
        case .degrees(let inner): return r(inner) + "°"
        case .percent(let inner): return r(inner) + "%"
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
        case .list(let items): return joined(items, ", ")
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
