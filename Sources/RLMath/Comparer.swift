/// Compares a gold answer tree with a predicted one.
struct Comparer {
    let options: EquivalenceOptions
    /// Whether the ends of an interval and the entries of a matrix may be decimals that round the
    /// gold's values (`(0.6, 2.6667]` for `(\frac35, \frac83]`): each must equal the gold's value
    /// rounded to its own places and carry at least two significant digits. Benchmark scoring
    /// (`.eval`) allows it; the training reward does not. A single value or a tuple stays exact
    /// (`0.1667` is not 1/6, `(3, 1.5708)` is not `(3, \frac{\pi}{2})`), as the labelled dev cases say.
    var acceptsRoundedDecimals = false
    /// Set while comparing the ends of intervals and the entries of matrices.
    private var comparingRoundableEntries = false

    init(options: EquivalenceOptions, acceptsRoundedDecimals: Bool = false) {
        self.options = options
        self.acceptsRoundedDecimals = acceptsRoundedDecimals
    }

    /// This comparer for the entries of an interval or matrix.
    private var forRoundableEntries: Comparer {
        var copy = self
        copy.comparingRoundableEntries = acceptsRoundedDecimals
        return copy
    }
    private static let maximumDepth = 40
    private static let maximumItems = 256

    func equal(gold: MathNode, answer: MathNode) -> Bool {
        // Two lists of assignments are compared equation by equation, names included;
        // otherwise `x = 1, y = 2` is read as the tuple (1, 2) and `x = 1, x = 2` as {1, 2}.
        let keepAssignments = isAssignmentList(gold) && isAssignmentList(answer)
        return equal(normalize(gold, keepAssignments: keepAssignments), normalize(answer, keepAssignments: keepAssignments), depth: 0)
    }

    private func isAssignmentList(_ node: MathNode) -> Bool {
        guard case .list(let items) = node, let values = assignmentValues(items) else { return false }
        if case .set = values, items.count > 1 { return false }  // `x = 1, x = 2`, `x_1 = 1, x_2 = 2`: a set of values
        return true
    }

    // MARK: Normal forms

    /// Expands `±`, turns answer lists into tuples or sets, unwraps one-element sets, reduces
    /// equation chains and evaluates matrix arithmetic.
    private func normalize(_ node: MathNode, keepAssignments: Bool) -> MathNode {
        switch node {
        case .list(let items):
            // Groups (`p=5, q=2; p=7, q=2`) become one value each: a tuple of their assignments.
            let grouped = items.map { item -> MathNode in
                if case .list = item { return normalize(item, keepAssignments: false) }
                return item
            }
            let expanded = grouped.map(simplifiedRelation).flatMap(alternatives)
            if !keepAssignments, let assignments = assignmentValues(expanded) { return assignments }
            return expanded.count == 1 ? expanded[0] : .list(expanded)
        case .set(let items):
            let expanded = items.map(simplifiedRelation).flatMap(alternatives)
            return expanded.count == 1 ? expanded[0] : .set(expanded)
        case .choice(let letter, let value?):
            return .choice(letter: letter, value: normalize(value, keepAssignments: keepAssignments))
        default:
            if let rows = matrixValue(node, depth: 0) { return .matrix(rows) }
            let expanded = alternatives(simplifiedRelation(node))
            return expanded.count == 1 ? expanded[0] : .set(expanded)
        }
    }

    /// `x = 5+5+1 = 11` → `x = 11`; `x \approx 11` → `x = 11`; `\frac{17}{50} = 0.34` → `0.34`.
    private func simplifiedRelation(_ node: MathNode) -> MathNode {
        guard case .relation(let first, let rest) = node, let lastStep = rest.last,
              rest.allSatisfy({ $0.relation == .equal || $0.relation == .approximately }) else { return node }
        if labelName(first) != nil {
            let target = rest.last(where: { $0.relation == .equal })?.rhs ?? lastStep.rhs
            return .relation(first: first, rest: [RelationStep(relation: .equal, rhs: target)])
        }
        // A chain of values (`\frac{17}{50} = 0.34`) ends in the answer; `7 = 11a+c` stays an equation.
        if !node.containsVariable() && rest.allSatisfy({ $0.relation == .equal }) { return lastStep.rhs }
        return node
    }

    /// The entries of a matrix expression (`-M`, `2M`, `A + B`, `AB`), or nil when it is not one.
    private func matrixValue(_ node: MathNode, depth: Int) -> [[MathNode]]? {
        if depth > Comparer.maximumDepth { return nil }
        switch node {
        case .matrix(let rows):
            return rows
        case .negation(let inner):
            return matrixValue(inner, depth: depth + 1).map { $0.map { $0.map { .negation($0) } } }
        case .sum(let terms):
            let matrices = terms.map { matrixValue($0, depth: depth + 1) }
            guard let first = matrices.first ?? nil else { return nil }
            var result = first
            for next in matrices.dropFirst() {
                guard let m = next, m.count == result.count, zip(m, result).allSatisfy({ $0.count == $1.count }) else { return nil }
                result = zip(result, m).map { zip($0, $1).map { .sum([$0, $1]) } }
            }
            return result
        case .product(let factors):
            var result: [[MathNode]]?
            var scalars: [MathNode] = []
            for factor in factors {
                if let m = matrixValue(factor, depth: depth + 1) {
                    guard let left = result else { result = m; continue }
                    // Row-by-column product; the inner dimensions must agree.
                    guard let width = left.first?.count, width == m.count, let columns = m.first?.count,
                          left.count * columns * width <= 4_096 else { return nil }
                    result = left.map { row in
                        (0..<columns).map { column in .sum((0..<width).map { .product([row[$0], m[$0][column]]) }) }
                    }
                } else if factor.isScalar {
                    scalars.append(factor)
                } else {
                    return nil
                }
            }
            guard let matrix = result else { return nil }
            return scalars.isEmpty ? matrix : matrix.map { $0.map { .product(scalars + [$0]) } }
        default:
            return nil
        }
    }

    /// `x = 1, x = -2` → {1, -2}; `x = 15, y = -29` → (15, -29). Nil when the items are not all assignments.
    private func assignmentValues(_ items: [MathNode]) -> MathNode? {
        var names: [String] = []
        var values: [MathNode] = []
        for item in items {
            guard case .relation(let lhs, let rest) = item, rest.count == 1, rest[0].relation == .equal,
                  let name = labelName(lhs) else { return nil }
            names.append(name)
            values.append(rest[0].rhs)
        }
        if Set(names).count == 1 || isSolutionFamily(names) { return .set(values) }
        if Set(names).count == names.count { return .tuple(values) }
        return nil
    }

    /// Whether distinct names number the solutions of one unknown: `x_1, x_2` (or `x_{1}, x_{2}`).
    private func isSolutionFamily(_ names: [String]) -> Bool {
        guard names.count > 1, Set(names).count == names.count else { return false }
        var bases: Set<Substring> = []
        for name in names {
            guard let underscore = name.firstIndex(of: "_") else { return false }
            let index = name[name.index(after: underscore)...].filter { $0 != "{" && $0 != "}" }
            guard !index.isEmpty, index.allSatisfy(\.isNumber) else { return false }
            bases.insert(name[..<underscore])
        }
        return bases.count == 1
    }

    /// Every reading of `±` (at most 16), or the node itself.
    private func alternatives(_ node: MathNode) -> [MathNode] {
        var results = [node]
        var expansions = 0
        while expansions < 4, let index = results.firstIndex(where: { containsPlusMinus($0, depth: 0) }) {
            let target = results.remove(at: index)
            results.insert(contentsOf: [expandFirstPlusMinus(target, sign: 1), expandFirstPlusMinus(target, sign: -1)], at: index)
            expansions += 1
            if results.count > 16 { break }
        }
        return results
    }

    private func containsPlusMinus(_ node: MathNode, depth: Int) -> Bool {
        if depth > Comparer.maximumDepth { return false }
        switch node {
        case .plusMinus: return true
        case .sum(let items), .product(let items), .function(_, let items): return items.contains { containsPlusMinus($0, depth: depth + 1) }
        case .negation(let a), .degrees(let a), .percent(let a), .currency(let a): return containsPlusMinus(a, depth: depth + 1)
        case .quotient(let a, let b), .power(let a, let b): return containsPlusMinus(a, depth: depth + 1) || containsPlusMinus(b, depth: depth + 1)
        default: return false
        }
    }

    /// Replaces the first `±` found (depth-first) with `+` (sign 1) or `−` (sign −1).
    private func expandFirstPlusMinus(_ node: MathNode, sign: Int) -> MathNode {
        var done = false
        func walk(_ n: MathNode, _ depth: Int) -> MathNode {
            if done || depth > Comparer.maximumDepth { return n }
            switch n {
            case .plusMinus(let a, let b):
                done = true
                return sign > 0 ? .sum([a, b]) : .sum([a, .negation(b)])
            case .sum(let items): return .sum(items.map { walk($0, depth + 1) })
            case .product(let items): return .product(items.map { walk($0, depth + 1) })
            case .function(let f, let items): return .function(f, items.map { walk($0, depth + 1) })
            case .negation(let a): return .negation(walk(a, depth + 1))
            case .degrees(let a): return .degrees(walk(a, depth + 1))
            case .percent(let a): return .percent(walk(a, depth + 1))
            case .currency(let a): return .currency(walk(a, depth + 1))
            case .quotient(let a, let b):
                let x = walk(a, depth + 1)
                return .quotient(x, walk(b, depth + 1))
            case .power(let a, let b):
                let x = walk(a, depth + 1)
                return .power(x, walk(b, depth + 1))
            default: return n
            }
        }
        return walk(node, 0)
    }

    /// The name of an equation's left side when it only labels the value: `x`, `f(x)`, `m_{\max}`.
    private func labelName(_ node: MathNode) -> String? {
        switch node {
        case .variable(let name):
            // `f(x)` and `f(n)` name the same function.
            if let open = name.firstIndex(of: "("), name.hasSuffix(")") { return String(name[..<open]) + "()" }
            return name
        case .tuple(let items) where items.allSatisfy({ if case .variable = $0 { return true } else { return false } }):
            return "(" + items.map { labelName($0) ?? "" }.joined(separator: ",") + ")"
        case .product(let factors) where factors.count == 2 && isArgumentList(factors[1]):
            if case .variable(let f) = factors[0] { return f + "()" }
            return nil
        case .product(let factors) where factors.count > 1:
            // A run of letters naming a quantity: `\angle BEA_1`, `m_{\max}`.
            var name = ""
            for factor in factors {
                guard case .variable(let part) = factor else { return nil }
                name += part
            }
            return name
        default: return nil
        }
    }

    /// Whether `lhs = value` states a value under a label: a name (`x`, `f(x)`), or a quantity built
    /// from names alone (`|AB|`, `\frac{NO}{BO}`, `S_{ABC}:S`) equal to a value without unknowns.
    /// Then the value side is what an answer is compared with.
    private func labels(_ lhs: MathNode, value: MathNode) -> Bool {
        if labelName(lhs) != nil { return true }
        return isNamedQuantity(lhs, depth: 0) && !value.containsVariable()
    }

    /// Products, quotients, powers and absolute values of names only (no numbers, no sums).
    private func isNamedQuantity(_ node: MathNode, depth: Int) -> Bool {
        if depth > 8 { return false }
        switch node {
        case .variable: return true
        case .product(let factors): return factors.allSatisfy { isNamedQuantity($0, depth: depth + 1) }
        case .quotient(let a, let b): return isNamedQuantity(a, depth: depth + 1) && isNamedQuantity(b, depth: depth + 1)
        case .power(let base, .number): return isNamedQuantity(base, depth: depth + 1)
        case .function(.absolute, let items): return items.count == 1 && isNamedQuantity(items[0], depth: depth + 1)
        default: return false
        }
    }

    /// The argument name of a function label (`f(x)` → `x`), if it is a single letter.
    private func functionArgument(_ node: MathNode) -> String? {
        switch node {
        case .variable(let name):
            guard let open = name.firstIndex(of: "("), name.hasSuffix(")") else { return nil }
            let argument = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
            return argument.utf8.count == 1 && argument.utf8.first?.isASCIILetter == true ? argument : nil
        case .product(let factors) where factors.count == 2:
            if case .variable(let argument) = factors[1] { return argument }
            return nil
        default:
            return nil
        }
    }

    private func isArgumentList(_ node: MathNode) -> Bool {
        switch node {
        case .variable: return true
        case .tuple(let items): return items.allSatisfy { if case .variable = $0 { return true } else { return false } }
        default: return false
        }
    }

    // MARK: Structural comparison

    private func equal(_ gold: MathNode, _ answer: MathNode, depth: Int) -> Bool {
        if depth > Comparer.maximumDepth { return false }
        if gold == answer { return true }
        switch (gold, answer) {
        // Text and choices.
        case (.choice(let g, _), .text(let a)):
            return a.utf8.count == 1 && a.utf8.first.map { $0 & ~0x20 } == g
        case (.text(let g), .choice(let a, _)):
            return g.utf8.count == 1 && g.utf8.first.map { $0 & ~0x20 } == a
        case (.text(let g), _):
            if case .text(let a) = answer { return letters(g) == letters(a) }
            return spelledWord(answer).map { $0 == letters(g) } ?? false
        case (_, .text(let a)):
            return spelledWord(gold).map { $0 == letters(a) } ?? false
        case (.choice(let g, let gv), .choice(let a, let av)):
            if g == a { return true }
            if let gv, let av { return equal(gv, av, depth: depth + 1) }
            return false
        case (.choice(let g, _), .variable(let name)):
            return name.utf8.count == 1 && name.utf8.first == g
        case (.choice(_, let value), _):
            guard let value else { return false }
            return equal(value, answer, depth: depth + 1)
        case (_, .choice(_, let value)):
            guard let value else { return false }
            return equal(gold, value, depth: depth + 1)

        // Relations.
        case (.relation, .relation):
            return equalRelations(gold, answer, depth: depth)
        case (.relation(let lhs, let rest), _):
            if let interval = intervalForm(gold) { return equal(interval, answer, depth: depth + 1) }
            guard rest.count == 1, rest[0].relation == .equal, labels(lhs, value: rest[0].rhs) else { return false }
            return equal(rest[0].rhs, answer, depth: depth + 1)
        case (_, .relation(let lhs, let rest)) where rest.contains(where: { $0.relation == .approximately }):
            // `\frac{1}{6} \approx 0.167`: the exact form counts; its stated approximation counts only
            // when it really approximates the exact form (within 1%), so `\frac16 \approx 0.2` is not 1/5.
            let exact = rest.prefix { $0.relation != .approximately }
            let exactPart: MathNode = exact.isEmpty ? lhs : .relation(first: lhs, rest: Array(exact))
            if equal(gold, exactPart, depth: depth + 1) { return true }
            let approximations = rest.filter { $0.relation == .approximately }.map(\.rhs)
            return approximations.contains { approximation in
                equal(gold, approximation, depth: depth + 1) && roughlyEqual(exact.last?.rhs ?? lhs, approximation)
            }
        case (_, .relation(let lhs, let rest)):
            if let interval = intervalForm(answer) { return equal(gold, interval, depth: depth + 1) }
            guard rest.allSatisfy({ $0.relation == .equal }), let last = rest.last else { return false }
            if labels(lhs, value: last.rhs) || !lhs.containsVariable() { return equal(gold, last.rhs, depth: depth + 1) }
            return false

        // Collections.
        case (.tuple(let g), .tuple(let a)), (.list(let g), .tuple(let a)), (.tuple(let g), .list(let a)):
            return g.count == a.count && zip(g, a).allSatisfy { equal($0, $1, depth: depth + 1) }
        case (.set(let g), .set(let a)), (.list(let g), .list(let a)), (.set(let g), .list(let a)), (.list(let g), .set(let a)):
            return equalUnordered(g, a, depth: depth)
        case (.union(let g), .union(let a)):
            return equalUnordered(g, a, depth: depth)
        case (.interval, .interval):
            return forRoundableEntries.equalIntervals(gold, answer, depth: depth)
        case (.interval(let lo, let hi, false, false), .tuple(let a)) where a.count == 2:
            return equal(lo, a[0], depth: depth + 1) && equal(hi, a[1], depth: depth + 1)
        case (.tuple(let g), .interval(let lo, let hi, false, false)) where g.count == 2:
            return equal(g[0], lo, depth: depth + 1) && equal(g[1], hi, depth: depth + 1)
        case (.matrix(let g), .matrix(let a)):
            let entries = forRoundableEntries
            return g.count == a.count && zip(g, a).allSatisfy { row in
                row.0.count == row.1.count && zip(row.0, row.1).allSatisfy { entries.equal($0, $1, depth: depth + 1) }
            }
        case (.matrix(let g), .tuple(let a)):
            let entries = g.count == 1 ? g[0] : (g.allSatisfy { $0.count == 1 } ? g.map { $0[0] } : [])
            return entries.count == a.count && zip(entries, a).allSatisfy { equal($0, $1, depth: depth + 1) }
        case (.tuple, .matrix):
            return equal(answer, gold, depth: depth + 1)

        // Markers: money, percent, degrees, bases.
        case (.currency(let g), .currency(let a)):
            return equal(g, a, depth: depth + 1)
        case (.currency, .percent), (.percent, .currency):
            return false
        case (.currency(let g), _):
            return equal(g, answer, depth: depth + 1)
        case (_, .currency(let a)):
            return equal(gold, a, depth: depth + 1)
        case (.percent(let g), .percent(let a)):
            return equal(g, a, depth: depth + 1)
        case (.percent(let g), _):
            if equal(g, answer, depth: depth + 1) { return true }
            return options.percentAsFraction && equal(.quotient(g, .number(Rational(100))), answer, depth: depth + 1)
        case (_, .percent(let a)):
            // A percent sign the gold lacks changes the value: `\frac16\%` is 1/600, `50\%` is 1/2.
            return options.percentAsFraction && equal(gold, .quotient(a, .number(Rational(100))), depth: depth + 1)
        case (.degrees(let g), .degrees(let a)):
            return equal(g, a, depth: depth + 1)
        case (.degrees(let g), _):
            return equal(g, answer, depth: depth + 1) || equal(radians(g), answer, depth: depth + 1)
        case (_, .degrees(let a)):
            return equal(gold, a, depth: depth + 1) || equal(gold, radians(a), depth: depth + 1)
        case (.baseNumeral(let gd, let gb), .baseNumeral(let ad, let ab)):
            return gb == ab ? gd == ad : scalarEqual(gold, answer)
        case (.baseNumeral(let digits, _), .number(let value)), (.number(let value), .baseNumeral(let digits, _)):
            return value.isInteger && value.numerator.description == digits

        default:
            guard gold.isScalar && answer.isScalar else { return false }
            if gold.isInfinite || answer.isInfinite { return infinitySign(gold) == infinitySign(answer) && infinitySign(gold) != 0 }
            return scalarEqual(gold, answer)
        }
    }

    private func radians(_ degrees: MathNode) -> MathNode {
        .quotient(.product([degrees, .constant(.pi)]), .number(Rational(180)))
    }

    private func infinitySign(_ node: MathNode) -> Int {
        switch node {
        case .constant(.infinity): return 1
        case .negation(let inner): return -infinitySign(inner)
        default: return 0
        }
    }

    /// Multiset equality: every gold item matched by a distinct answer item.
    private func equalUnordered(_ gold: [MathNode], _ answer: [MathNode], depth: Int) -> Bool {
        guard gold.count == answer.count, gold.count <= Comparer.maximumItems else { return false }
        var used = [Bool](repeating: false, count: answer.count)
        for g in gold {
            guard let match = answer.indices.first(where: { !used[$0] && equal(g, answer[$0], depth: depth + 1) }) else { return false }
            used[match] = true
        }
        return true
    }

    private func equalIntervals(_ gold: MathNode, _ answer: MathNode, depth: Int) -> Bool {
        guard case .interval(let gl, let gh, let glc, let ghc) = gold,
              case .interval(let al, let ah, let alc, let ahc) = answer else { return false }
        // An infinite end is open however it was written.
        let goldLowClosed = glc && !gl.isInfinite, goldHighClosed = ghc && !gh.isInfinite
        let answerLowClosed = alc && !al.isInfinite, answerHighClosed = ahc && !ah.isInfinite
        return goldLowClosed == answerLowClosed && goldHighClosed == answerHighClosed
            && equal(gl, al, depth: depth + 1) && equal(gh, ah, depth: depth + 1)
    }

    /// `x > 2` → (2, ∞); `a \le x < b` → [a, b); `x \in I` → I; `1 \le |z| \le 2` → [-2, -1] ∪ [1, 2].
    /// Nil for other relations.
    private func intervalForm(_ node: MathNode) -> MathNode? {
        guard case .relation(let first, let rest) = node else { return nil }
        if let absolute = absoluteValueRange(first, rest) { return absolute }
        // `-x > -1` is `x < 1`.
        if rest.count == 1, case .negation(let inner) = first, case .variable = inner {
            return intervalForm(.relation(first: inner, rest: [RelationStep(relation: rest[0].relation.flipped, rhs: .negation(rest[0].rhs))]))
        }
        let infinity = MathNode.constant(.infinity)
        if rest.count == 1 {
            let step = rest[0]
            if step.relation == .elementOf, case .variable = first { return step.rhs }
            if case .variable = first {
                switch step.relation {
                case .greater: return .interval(lower: step.rhs, upper: infinity, lowerClosed: false, upperClosed: false)
                case .greaterOrEqual: return .interval(lower: step.rhs, upper: infinity, lowerClosed: true, upperClosed: false)
                case .less: return .interval(lower: .negation(infinity), upper: step.rhs, lowerClosed: false, upperClosed: false)
                case .lessOrEqual: return .interval(lower: .negation(infinity), upper: step.rhs, lowerClosed: false, upperClosed: true)
                default: return nil
                }
            }
            if case .variable = step.rhs {
                return intervalForm(.relation(first: step.rhs, rest: [RelationStep(relation: step.relation.flipped, rhs: first)]))
            }
            return nil
        }
        if rest.count == 2, case .variable = rest[0].rhs {
            let lowRelation = rest[0].relation, highRelation = rest[1].relation
            if (lowRelation == .less || lowRelation == .lessOrEqual) && (highRelation == .less || highRelation == .lessOrEqual) {
                return .interval(lower: first, upper: rest[1].rhs, lowerClosed: lowRelation == .lessOrEqual, upperClosed: highRelation == .lessOrEqual)
            }
            if (lowRelation == .greater || lowRelation == .greaterOrEqual) && (highRelation == .greater || highRelation == .greaterOrEqual) {
                return .interval(lower: rest[1].rhs, upper: first, lowerClosed: highRelation == .greaterOrEqual, upperClosed: lowRelation == .greaterOrEqual)
            }
        }
        return nil
    }

    /// The set a bound on `|x|` describes: `|x| < b` → (-b, b), `|x| \ge a` → (-∞, -a] ∪ [a, ∞),
    /// `a \le |x| < b` → (-b, -a] ∪ [a, b) (for a > 0; [0 … is one interval). Nil unless the bounds
    /// are numbers and the relation has that shape.
    private func absoluteValueRange(_ first: MathNode, _ rest: [RelationStep]) -> MathNode? {
        func variableInAbsolute(_ node: MathNode) -> Bool {
            if case .function(.absolute, let items) = node, items.count == 1, case .variable = items[0] { return true }
            return false
        }
        func value(_ node: MathNode) -> Double? {
            guard !node.containsVariable() else { return nil }
            var evaluator = Evaluator(point: SamplePoint.standard[0])
            guard let number = evaluator.evaluate(node)?.complex, number.isFinite, abs(number.imaginary) < 1e-12 else { return nil }
            return number.real
        }
        var lower: (bound: MathNode, closed: Bool)?
        var upper: (bound: MathNode, closed: Bool)?
        if rest.count == 1, variableInAbsolute(first) {
            switch rest[0].relation {
            case .less, .lessOrEqual: upper = (rest[0].rhs, rest[0].relation == .lessOrEqual)
            case .greater, .greaterOrEqual: lower = (rest[0].rhs, rest[0].relation == .greaterOrEqual)
            default: return nil
            }
        } else if rest.count == 2, variableInAbsolute(rest[0].rhs) {
            let low = rest[0].relation, high = rest[1].relation
            if [.less, .lessOrEqual].contains(low) && [.less, .lessOrEqual].contains(high) {
                lower = (first, low == .lessOrEqual)
                upper = (rest[1].rhs, high == .lessOrEqual)
            } else if [.greater, .greaterOrEqual].contains(low) && [.greater, .greaterOrEqual].contains(high) {
                lower = (rest[1].rhs, high == .greaterOrEqual)
                upper = (first, low == .greaterOrEqual)
            } else {
                return nil
            }
        } else {
            return nil
        }
        let infinity = MathNode.constant(.infinity)
        // No lower bound, or one at or below zero that is met by every |x| (`|x| \ge 0`, `0 \le |x|`).
        if let bound = lower, let a = value(bound.bound), a < 0 || (a == 0 && bound.closed) { lower = nil }
        if let bound = lower, value(bound.bound) == nil { return nil }
        if let bound = upper, value(bound.bound) == nil { return nil }
        switch (lower, upper) {
        case (nil, let upper?):
            return .interval(lower: .negation(upper.bound), upper: upper.bound, lowerClosed: upper.closed, upperClosed: upper.closed)
        case (let lower?, nil):
            return .union([.interval(lower: .negation(infinity), upper: .negation(lower.bound), lowerClosed: false, upperClosed: lower.closed),
                           .interval(lower: lower.bound, upper: infinity, lowerClosed: lower.closed, upperClosed: false)])
        case (let lower?, let upper?):
            return .union([.interval(lower: .negation(upper.bound), upper: .negation(lower.bound), lowerClosed: upper.closed, upperClosed: lower.closed),
                           .interval(lower: lower.bound, upper: upper.bound, lowerClosed: lower.closed, upperClosed: upper.closed)])
        case (nil, nil):
            return nil
        }
    }

    private func equalRelations(_ gold: MathNode, _ answer: MathNode, depth: Int) -> Bool {
        if let g = intervalForm(gold), let a = intervalForm(answer) { return equal(g, a, depth: depth + 1) }
        guard case .relation(let gl, let gRest) = gold, case .relation(let al, let aRest) = answer,
              gRest.count == 1, aRest.count == 1 else { return false }
        let gr = gRest[0].rhs, ar = aRest[0].rhs
        let gRelation = gRest[0].relation, aRelation = aRest[0].relation
        if gRelation == .equal && aRelation == .equal {
            if let g = labelName(gl), g == labelName(al) {
                // `f(n) = n` and `f(x) = x` define the same function: rename the argument first.
                var answerSide = ar
                if let goldArgument = functionArgument(gl), let answerArgument = functionArgument(al), goldArgument != answerArgument {
                    answerSide = ar.renamingVariable(answerArgument, to: goldArgument, depth: 0)
                }
                if equal(gr, answerSide, depth: depth + 1) { return true }
            }
            return proportional(.sum([gl, .negation(gr)]), .sum([al, .negation(ar)]))
        }
        if gRelation == aRelation { return equal(gl, al, depth: depth + 1) && equal(gr, ar, depth: depth + 1) }
        if gRelation == aRelation.flipped { return equal(gl, ar, depth: depth + 1) && equal(gr, al, depth: depth + 1) }
        return false
    }

    // MARK: Values

    private func isClose(_ a: Complex, _ b: Complex) -> Bool {
        guard a.isFinite && b.isFinite else { return false }
        let difference = (a - b).magnitude
        let scale = max(a.magnitude, b.magnitude)
        return difference <= options.relativeTolerance * scale
    }

    /// Equality of scalar expressions: exactly when both evaluate to rationals, else at sample points.
    private func scalarEqual(_ gold: MathNode, _ answer: MathNode) -> Bool {
        let points = SamplePoint.points(for: [gold, answer])
        let symbolic = points.count > 1
        var compared = 0
        for point in points {
            var evaluator = Evaluator(point: point)
            guard let g = evaluator.evaluate(gold), let a = evaluator.evaluate(answer) else {
                if symbolic { continue }
                return false
            }
            if case .exact(let x) = g, case .exact(let y) = a {
                if x != y && !isLongDecimalRounding(of: x, y) && !isLongDecimalRounding(of: y, x)
                    && !(comparingRoundableEntries && !symbolic && isRounding(y, of: .exact(x))) { return false }
            } else if !isClose(g.complex, a.complex) {
                guard comparingRoundableEntries, !symbolic, case .exact(let y) = a, isRounding(y, of: g) else { return false }
            }
            compared += 1
        }
        return compared >= (symbolic ? points.count / 2 : 1)
    }

    /// Whether `decimal` is a terminating decimal of at least 10 places that equals `value` up to
    /// one unit in its last place (`0.0833333333333333` for 1/12; `0.1667` stays a rounding).
    private func isLongDecimalRounding(of value: Rational, _ decimal: Rational) -> Bool {
        guard let places = decimalPlaces(decimal), places >= 10 else { return false }
        let difference = (value - decimal) * Rational(Exact.powerOfTen(places))
        return !(Rational.one < (difference.isNegative ? -difference : difference))
    }

    /// Whether `decimal` (a terminating decimal of 1–15 places and at least two significant digits)
    /// is `value` rounded to its places: within half a unit in its last place.
    private func isRounding(_ decimal: Rational, of value: ScalarValue) -> Bool {
        guard let places = decimalPlaces(decimal), places >= 1, places <= 15 else { return false }
        let scale = Rational(Exact.powerOfTen(places))
        let scaled = decimal * scale
        let magnitude = scaled.isNegative ? -scaled : scaled
        guard !(magnitude < Rational(10)) else { return false }  // two significant digits
        let half = Rational(numerator: BigInt(1), denominator: BigInt(2)) ?? .one  // never nil
        switch value {
        case .exact(let exact):
            let difference = (exact - decimal) * scale
            return !(half < (difference.isNegative ? -difference : difference))
        case .approximate(let complex):
            guard complex.isFinite, abs(complex.imaginary) <= 1e-12 * max(1, abs(complex.real)) else { return false }
            let unit = 1 / scale.doubleValue
            return abs(complex.real - decimal.doubleValue) <= 0.5 * unit * (1 + 1e-9)
        }
    }

    /// The number of decimal places of a terminating decimal (0 for integers), nil for others.
    private func decimalPlaces(_ value: Rational) -> Int? {
        var denominator = value.denominator
        var twos = 0, fives = 0
        while twos < 80, let (q, r) = denominator.quotientAndRemainder(dividingBy: BigInt(2)), r.isZero {
            denominator = q
            twos += 1
        }
        while fives < 80, let (q, r) = denominator.quotientAndRemainder(dividingBy: BigInt(5)), r.isZero {
            denominator = q
            fives += 1
        }
        return denominator == .one ? max(twos, fives) : nil
    }

    /// Whether two variable-free values agree within 1% (a stated approximation of an exact value).
    private func roughlyEqual(_ first: MathNode, _ second: MathNode) -> Bool {
        var evaluator = Evaluator(point: SamplePoint.standard[0])
        guard let x = evaluator.evaluate(first)?.complex, let y = evaluator.evaluate(second)?.complex,
              x.isFinite, y.isFinite else { return false }
        return (x - y).magnitude <= 0.01 * max(x.magnitude, y.magnitude)
    }

    /// Whether two expressions are non-zero constant multiples of each other (equations `A = 0`).
    private func proportional(_ first: MathNode, _ second: MathNode) -> Bool {
        var ratio: Complex?
        var informative = 0
        let points = SamplePoint.points(for: [first, second])
        for point in points {
            var evaluator = Evaluator(point: point)
            guard let x = evaluator.evaluate(first)?.complex, let y = evaluator.evaluate(second)?.complex,
                  x.isFinite, y.isFinite else { continue }
            let xZero = x.magnitude <= 1e-12, yZero = y.magnitude <= 1e-12
            if xZero && yZero { informative += 1; continue }
            if xZero != yZero { return false }
            let r = x / y
            if let ratio, !isClose(ratio, r) { return false }
            ratio = r
            informative += 1
        }
        return informative >= min(2, points.count)
    }

    // MARK: Words

    private func letters(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0.isASCIILetter || $0.isASCIIDigit || $0 >= 0x80 }.map { $0 >= 0x80 ? $0 : $0 | 0x20 }, as: UTF8.self)
    }

    /// A product of single letters read back as a word (`even` parses as e·v·e·n).
    private func spelledWord(_ node: MathNode) -> String? {
        func letter(_ n: MathNode) -> String? {
            switch n {
            case .variable(let name) where name.utf8.count == 1: return name.lowercased()
            case .constant(.e): return "e"
            case .constant(.imaginaryUnit): return "i"
            default: return nil
            }
        }
        if let single = letter(node) { return single }
        guard case .product(let factors) = node else { return nil }
        var word = ""
        for factor in factors {
            guard let l = letter(factor) else { return nil }
            word += l
        }
        return word
    }
}
