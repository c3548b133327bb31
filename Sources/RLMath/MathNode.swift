/// The expression tree the parser builds and the comparer walks.
indirect enum MathNode: Sendable, Hashable {
    /// An exact number (integers, decimals, fractions of literals).
    case number(Rational)
    /// A named unknown, with its subscript folded into the name (`r_0`, `rho_0`).
    case variable(String)
    case constant(MathConstant)
    case sum([MathNode])
    case product([MathNode])
    case negation(MathNode)
    case quotient(MathNode, MathNode)
    case power(MathNode, MathNode)
    case function(MathFunction, [MathNode])
    /// `a ± b`; a unary `±b` has `a = 0`.
    case plusMinus(MathNode, MathNode)
    /// An angle written in degrees (`45^\circ`).
    case degrees(MathNode)
    case percent(MathNode)
    /// An amount of money (`\$18.90`).
    case currency(MathNode)
    /// A numeral in another base, kept as written (`2516_8`).
    case baseNumeral(digits: String, base: Int)
    case tuple([MathNode])
    case set([MathNode])
    case interval(lower: MathNode, upper: MathNode, lowerClosed: Bool, upperClosed: Bool)
    case union([MathNode])
    case matrix([[MathNode]])
    /// A chain `a op b op c …` of equations and inequalities.
    case relation(first: MathNode, rest: [RelationStep])
    case text(String)
    /// A multiple-choice letter, optionally followed by the option's value (`(C) 3`).
    case choice(letter: UInt8, value: MathNode?)
    /// Several answers given together (`1, -2`, `x = 1 \text{ or } x = -2`).
    case list([MathNode])
}

struct RelationStep: Sendable, Hashable {
    var relation: Relation
    var rhs: MathNode
}

enum Relation: Sendable, Hashable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual, elementOf
    /// `\approx`: the right side restates the left side approximately.
    case approximately

    /// The same relation read right to left (`a < b` is `b > a`).
    var flipped: Relation {
        switch self {
        case .less: return .greater
        case .lessOrEqual: return .greaterOrEqual
        case .greater: return .less
        case .greaterOrEqual: return .lessOrEqual
        default: return self
        }
    }
}

enum MathConstant: Sendable, Hashable {
    case pi, e, imaginaryUnit, infinity
}

enum MathFunction: String, Sendable, Hashable {
    case sin, cos, tan, cot, sec, csc
    case arcsin, arccos, arctan
    case sinh, cosh, tanh
    case exp, ln
    /// Arguments: base, value.
    case log
    /// Arguments: radicand, degree.
    case root
    case factorial, binomial, absolute, floor, ceiling
    /// Any number of arguments.
    case minimum, maximum, gcd, lcm
}

extension MathNode {
    static let zero = MathNode.number(.zero)
    static let one = MathNode.number(.one)

    /// True for nodes that hold a single value (not a list, set, tuple, relation …).
    var isScalar: Bool {
        switch self {
        case .tuple, .set, .interval, .union, .matrix, .relation, .text, .choice, .list: return false
        default: return true
        }
    }

    /// `\infty` or `-\infty`.
    var isInfinite: Bool {
        switch self {
        case .constant(.infinity): return true
        case .negation(let inner): return inner.isInfinite
        default: return false
        }
    }

    /// Whether the tree applies floor, ceiling, factorial or binomial to something with a variable.
    func hasIntegerFunctionOfVariable(depth: Int = 0) -> Bool {
        if depth > 200 { return false }
        switch self {
        case .function(let function, let items):
            if [.floor, .ceiling, .factorial, .binomial].contains(function), items.contains(where: { $0.containsVariable() }) { return true }
            return items.contains { $0.hasIntegerFunctionOfVariable(depth: depth + 1) }
        case .sum(let items), .product(let items): return items.contains { $0.hasIntegerFunctionOfVariable(depth: depth + 1) }
        case .negation(let a), .degrees(let a), .percent(let a), .currency(let a): return a.hasIntegerFunctionOfVariable(depth: depth + 1)
        case .quotient(let a, let b), .power(let a, let b), .plusMinus(let a, let b):
            return a.hasIntegerFunctionOfVariable(depth: depth + 1) || b.hasIntegerFunctionOfVariable(depth: depth + 1)
        default: return false
        }
    }

    /// The tree with every occurrence of variable `from` named `to` (bounded by `depth`).
    func renamingVariable(_ from: String, to: String, depth: Int) -> MathNode {
        if depth > 200 { return self }
        func r(_ node: MathNode) -> MathNode { node.renamingVariable(from, to: to, depth: depth + 1) }
        switch self {
        case .variable(let name): return name == from ? .variable(to) : self
        case .sum(let items): return .sum(items.map(r))
        case .product(let items): return .product(items.map(r))
        case .negation(let a): return .negation(r(a))
        case .quotient(let a, let b): return .quotient(r(a), r(b))
        case .power(let a, let b): return .power(r(a), r(b))
        case .function(let f, let items): return .function(f, items.map(r))
        case .plusMinus(let a, let b): return .plusMinus(r(a), r(b))
        case .degrees(let a): return .degrees(r(a))
        case .percent(let a): return .percent(r(a))
        case .currency(let a): return .currency(r(a))
        case .tuple(let items): return .tuple(items.map(r))
        case .set(let items): return .set(items.map(r))
        case .list(let items): return .list(items.map(r))
        default: return self
        }
    }

    /// Whether the tree takes the absolute value of something with a variable (`|x|`).
    func hasAbsoluteValueOfVariable(depth: Int = 0) -> Bool {
        if depth > 200 { return false }
        switch self {
        case .function(let function, let items):
            if function == .absolute, items.contains(where: { $0.containsVariable() }) { return true }
            return items.contains { $0.hasAbsoluteValueOfVariable(depth: depth + 1) }
        case .sum(let items), .product(let items): return items.contains { $0.hasAbsoluteValueOfVariable(depth: depth + 1) }
        case .negation(let a), .degrees(let a), .percent(let a), .currency(let a): return a.hasAbsoluteValueOfVariable(depth: depth + 1)
        case .quotient(let a, let b), .power(let a, let b), .plusMinus(let a, let b):
            return a.hasAbsoluteValueOfVariable(depth: depth + 1) || b.hasAbsoluteValueOfVariable(depth: depth + 1)
        default: return false
        }
    }

    /// Whether any variable occurs in the tree (bounded by `depth`).
    func containsVariable(depth: Int = 0) -> Bool {
        if depth > 200 { return true }
        switch self {
        case .variable: return true
        case .number, .constant, .baseNumeral, .text: return false
        case .sum(let items), .product(let items), .tuple(let items), .set(let items), .union(let items), .list(let items):
            return items.contains { $0.containsVariable(depth: depth + 1) }
        case .function(_, let items): return items.contains { $0.containsVariable(depth: depth + 1) }
        case .negation(let a), .degrees(let a), .percent(let a), .currency(let a): return a.containsVariable(depth: depth + 1)
        case .quotient(let a, let b), .power(let a, let b), .plusMinus(let a, let b):
            return a.containsVariable(depth: depth + 1) || b.containsVariable(depth: depth + 1)
        case .interval(let a, let b, _, _): return a.containsVariable(depth: depth + 1) || b.containsVariable(depth: depth + 1)
        case .matrix(let rows): return rows.contains { $0.contains { $0.containsVariable(depth: depth + 1) } }
        case .relation(let first, let rest):
            return first.containsVariable(depth: depth + 1) || rest.contains { $0.rhs.containsVariable(depth: depth + 1) }
        case .choice(_, let value): return value?.containsVariable(depth: depth + 1) ?? false
        }
    }
}
